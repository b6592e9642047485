/**
 * The case folding of `contains`, `not_contains`, `starts_with` and `ends_with` (both sides): each code
 * point lower-cased on its own, then the final sigma ς read as σ.
 *
 * Why not `toLowerCase()`: it applies Unicode's special casing, which DuckDB's lower() does not. İ
 * becomes "i" + U+0307 there (so "İstanbul" would not contain "istanbul"), and a word's last Σ becomes
 * ς (so "ΟΔΟΣ" would contain "οδος" in JavaScript and ClickHouse but not in DuckDB). The instant lane
 * decides with the reference evaluator in JavaScript while the other lanes run SQL, so the three must
 * agree or a profile can be entered by one and exited by the next. Each code point on its own gives
 * İ → i as DuckDB does; ς → σ makes "οδος" and "ΟΔΟΣ" match whichever sigma a word ends with. The
 * dialects' `foldCase` do the same in SQL (DuckDB and this differ only on ~50 letters added in Unicode
 * 16 and later, and on U+FEFF, which DuckDB drops).
 */
export function foldCase(s: string): string {
  if (/^[\u0000-\u007f]*$/.test(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const lower = ch.toLowerCase();
    const first = lower.codePointAt(0);
    out += first === undefined ? lower : String.fromCodePoint(first);
  }
  return out.replaceAll('ς', 'σ');
}

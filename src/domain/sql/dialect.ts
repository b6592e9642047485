/**
 * A SQL dialect: capability flags and a few hooks, nothing more. The segment compiler writes one plan
 * and asks the dialect how to spell JSON access, conditional aggregates, arrays and hashing. Values
 * never appear in SQL text: `Params.bind` returns a placeholder and keeps the value. Identifiers go
 * through `quoteIdent` (sql/identifiers.ts), the only quoting function.
 */
export type ParamType = 'string' | 'int' | 'float' | 'bool' | 'string[]';

export interface BoundParam {
  name: string;
  type: ParamType;
  value: string | number | boolean | string[];
}

/** Collects the bound values of one statement; the dialect names the placeholders. */
export class Params {
  readonly list: BoundParam[] = [];
  private readonly memo = new Map<string, string>();
  constructor(private readonly dialect: Dialect) {}

  bind(value: string | number | boolean | string[], type: ParamType): string {
    const key = type + '\u0000' + JSON.stringify(value);
    const hit = this.memo.get(key);
    if (hit !== undefined) return hit;
    if ((type === 'int' || type === 'float') && (typeof value !== 'number' || !Number.isFinite(value))) throw new Error(`bind: ${type} parameter must be a finite number`);
    const name = `p${this.list.length + 1}`;
    this.list.push({ name, type, value });
    const ph = this.dialect.placeholder(name, this.list.length, type);
    this.memo.set(key, ph);
    return ph;
  }
  /**
   * The text with every placeholder replaced by its type and value: the same expression compiled in
   * two statements (where numbering differs) gets the same canonical text (state column names).
   */
  canonical(text: string): string {
    let out = text;
    for (let i = this.list.length; i >= 1; i--) {
      const b = this.list[i - 1] as BoundParam;
      out = out.split(this.dialect.placeholder(b.name, i, b.type)).join(`\u00ab${b.type}:${JSON.stringify(b.value)}\u00bb`);
    }
    return out;
  }
  /** Whether `text` uses the placeholder `ph` ($1 is not $12). */
  static mentions(text: string, ph: string): boolean {
    if (!ph.startsWith('$')) return text.includes(ph);
    return new RegExp(`\\${ph}(?![0-9])`).test(text);
  }
  str(v: string): string { return this.bind(v, 'string'); }
  int(v: number): string { return this.bind(Math.trunc(v), 'int'); }
  float(v: number): string { return this.bind(v, 'float'); }
}

export type AggFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'count_distinct' | 'list_distinct' | 'any';

/**
 * How partial aggregates of one profile combine (incremental state): counts and sums add, minima and
 * maxima take the extreme, sets of values unite.
 */
export type MergeKind = 'count' | 'sum' | 'min' | 'max' | 'union';

export interface Dialect {
  readonly name: 'duckdb' | 'clickhouse';
  placeholder(name: string, position: number, type: ParamType): string;
  ident(name: string): string;
  /** Epoch milliseconds (BIGINT / Int64) of a timestamp column. */
  epochMs(col: string): string;
  /** JSON access on a JSON-text expression by object keys (bound by the dialect), [] = the value itself. */
  /** 'string' | 'number' | 'bool' | 'array' | 'object' | 'null' type test as a boolean SQL expression. */
  jsonIs(p: Params, doc: string, keys: string[], kind: 'string' | 'number' | 'bool' | 'array' | 'object' | 'null'): string;
  jsonString(p: Params, doc: string, keys: string[]): string;
  jsonFloat(p: Params, doc: string, keys: string[]): string;
  jsonBool(p: Params, doc: string, keys: string[]): string;
  /** Raw JSON text of the value (NULL when missing). */
  jsonRaw(p: Params, doc: string, keys: string[]): string;
  /** Array of raw JSON texts of the array at keys ([] when missing or not an array). */
  jsonArray(p: Params, doc: string, keys: string[]): string;
  arrayExists(arr: string, v: string, body: string): string;
  arrayFilter(arr: string, v: string, body: string): string;
  arrayMap(arr: string, v: string, body: string): string;
  /**
   * Map arrays of equal length element-wise: `body` reads element k of the current position through
   * zipElement(v, k). One vectorized pass, where an indexed lambda reads every other array by index.
   */
  arrayZipMap(arrays: string[], v: string, body: string): string;
  zipElement(v: string, k: number): string;
  /** Conditional aggregate: `fn(expr)` over rows where `cond`; NULL when no non-NULL input except count (0). */
  agg(fn: AggFn, expr: string, cond: string): string;
  /** The value of `expr` at the greatest `time` among rows where `cond` (NULL when none). */
  aggLatest(expr: string, time: string, cond: string): string;
  /** Aggregates over an array expression: sum (0 when empty), min/max/avg (NULL when empty), distinct. */
  arrayAgg(fn: 'sum' | 'min' | 'max' | 'avg', arr: string): string;
  /** Combine partial aggregates of a group (see MergeKind); NULL partials are ignored. */
  mergeAgg(kind: MergeKind, col: string): string;
  /** The distinct non-NULL elements of the arrays of a group's rows where `cond` (NULL or empty when none). */
  aggFlattenDistinct(arr: string, cond: string): string;
  /** Sorted, first n, of an array of strings. */
  arraySortLimit(arr: string, n: number): string;
  arrayLength(arr: string): string;
  /** Drop NULL elements. */
  arrayCompact(arr: string): string;
  /** Join an array of strings with a separator. */
  arrayJoin(arr: string, sep: string): string;
  /** An empty array of the type jsonArray returns. */
  emptyArray(): string;
  /** A record of the values (one line item's fields); `structField(v, i)` reads the i-th (from 0). */
  struct(values: string[]): string;
  structField(v: string, index: number): string;
  /** Text of a JSON column (VARCHAR / String). */
  toText(expr: string): string;
  /** Keep only numeric strings / finite numbers: NULL otherwise. */
  numericString(expr: string): string;
  isFinite(expr: string): string;
  /** Text to a double, NULL when it is not a number. */
  tryDouble(expr: string): string;
  regexFull(expr: string, pattern: string): string;
  /** Replace the first match of a regular expression (\\1 … in the replacement are its groups). */
  regexReplace(expr: string, pattern: string, replacement: string): string;
  /** The text case-folded as `foldCase` (segments/fold.ts) does it. */
  foldCase(expr: string): string;
  contains(hay: string, needle: string): string;
  startsWith(s: string, prefix: string): string;
  endsWith(s: string, suffix: string): string;
  /** Parse an ISO-8601 date string to epoch ms (NULL when not a date). */
  parseDateMs(expr: string): string;
  /** Epoch ms of midnight UTC of a YYYY-MM-DD string (NULL when not a date). */
  parseDateOnlyMs(expr: string): string;
  /** Length of a string in characters. */
  stringLength(expr: string): string;
  /** month * 100 + day (UTC) of an epoch-ms expression. */
  monthDay(ms: string): string;
  /** (first 8 hex digits of md5(expr)) as an unsigned integer, mod 100. */
  md5Bucket(expr: string): string;
  concat(...parts: string[]): string;
  /**
   * A row's key for the latest (max) or earliest (min) value of `raw` (JSON text, NULL when missing)
   * at time `ts`: ordered by time, then present above missing, then by the text, so that ties resolve
   * the same way on every engine (reference.ts). `edgeRaw` reads the text back out of the aggregated
   * key (NULL when the edge row had none).
   */
  edgeKey(ts: string, raw: string): string;
  edgeRaw(key: string): string;
  /** Aggregate: the `value` of the row whose tuple `keys` is smallest (compared element by element). */
  argMinTuple(value: string, keys: string[]): string;
  intDiv(a: string, b: string): string;
  greatest(a: string, b: string): string;
  /** Membership test of an expression in an array parameter. */
  inArray(expr: string, arrParam: string): string;
  /** Whether the array `arr` holds any element of the array parameter (false, not NULL, when none). */
  arrayHasAny(arr: string, arrParam: string): string;
  /** Whether the array `arr` holds the value (a parameter); NULL when `arr` is NULL. */
  arrayContains(arr: string, value: string): string;
  /** A row filter "column in this list" that lets the engine prune (semi join / primary key). */
  inList(column: string, arrParam: string): string;
  /** Appended to a SELECT (ClickHouse settings such as join_use_nulls). */
  readonly selectSuffix: string;
  /** Written between `name AS` and a CTE's body so that each reader computes it (not materialized once). */
  readonly inlineCte: string;
  /** The same, so that it is computed once and stored (null: the engine has no such choice). */
  readonly materializedCte: string | null;
}

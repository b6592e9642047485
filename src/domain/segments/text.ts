/**
 * The readable text form of the segment language, for people who write segments by hand (marketers,
 * the CLI, segments kept as code). The JSON form (ast.ts) stays canonical; this module only translates:
 *
 *   parseSegmentText(text)  → { condition?, diagnostics }   (condition only when there is no error)
 *   printSegmentText(json)  → text                           (canonical: parse(print(c)) deep-equals c)
 *
 * Why a hand-written lexer and recursive-descent parser instead of a parser generator or combinator
 * library: the grammar is small and keyword-driven (one token of look-ahead, two in a few places), and
 * what matters is the quality of the errors. Every error is a `Diagnostic` with a stable code, a message
 * that says what was expected and what was found ("expected a number of times after "at least", found
 * "foo""), a "did you mean" for misspelt keywords, and the exact character span of the offending token
 * (or of the whole node, for schema errors: spans are kept per node and per field). Generated parsers
 * give "unexpected token" at best, and this module must stay pure (only zod may be imported).
 *
 * Grammar (keywords are case-insensitive; names, strings and paths are case-sensitive):
 *
 *   condition  := and ('or' and)*
 *   and        := unary ('and' unary)*
 *   unary      := 'not' unary | primary
 *   primary    := '(' condition ')' | ('all' | 'any') 'of'? '(' condition (',' condition)* ')' | leaf
 *   leaf       := 'trait' name comparison
 *               | 'performed' selector { count | window | where }
 *               | fn 'of' path 'for' selector { window | where } numeric       fn: sum avg min max count_distinct
 *               | ('first' | 'last') 'performed' selector { window | where } dated
 *               | 'last' 'value' 'of' path 'for' selector { window | where } comparison
 *               | 'sequence' step ('then' step)* ('then' 'not' step)? { 'within' duration | window }
 *               | 'computed' name comparison | 'score' name comparison
 *               | 'in' 'segment' name | 'consent' name
 *               | 'bucket' (string | name) 'from' number 'to' number
 *   selector   := ('track' | 'page' | 'screen')? (string | '*')          step := selector where?
 *   count      := ('at' 'least' | 'at' 'most' | 'exactly') number ('times' | 'time')
 *   window     := 'in' 'the'? 'last' duration | 'between' date 'and' date | 'ever'
 *   where      := 'where' '(' (filter ('and' filter)*)? ')'                filter := path comparison
 *   comparison := ('=' | '==' | '!=' | '<' | '<=' | '>' | '>=') value
 *               | 'not'? 'in' '[' value (',' value)* ']'
 *               | 'not'? 'contains' string | 'starts' 'with' string | 'ends' 'with' string
 *               | 'not'? 'exists'
 *               | 'within' 'the'? ('last' | 'next') duration | 'more' 'than' duration 'ago'
 *               | ('before' | 'after') date | 'anniversary' 'within' number ('days' | 'day')
 *   numeric    := ('=' | '!=' | '<' | '<=' | '>' | '>=') number
 *   dated      := 'within' 'the'? 'last' duration | 'more' 'than' duration 'ago' | ('before' | 'after') date | 'not'? 'exists'
 *   duration   := number unit            unit := minute(s) | hour(s) | day(s) | week(s)
 *   value      := string | number | 'true' | 'false'
 *   name       := identifier | `back-quoted` (a ` inside is doubled) | "string"
 *   path       := identifier ('.' (segment | `back-quoted`))+      segment := letters, digits, _
 *   string     := a JSON string ("…", escapes \" \\ \/ \b \f \n \r \t \uXXXX)
 *   number     := a JSON number (-12, 0.5, 1e6)
 *   date       := 2026-01-31 | 2026-01-31T10:00:00Z | 2026-01-31T10:00:00.5+02:00 (or the same in "quotes")
 *
 * `{ … }` means: each at most once, in any order. The printer writes them in the order shown and writes
 * names bare when they are identifiers (letters, digits, _ and not starting with a digit), else in
 * back-quotes. Spans are [start, end) offsets in UTF-16 code units (JavaScript string indices).
 */
import { DefinitionError } from './check.js';
import {
  AGGREGATE_FNS, ConditionSchema,
  type AggregateFn, type Comparison, type Condition, type CountOp, type DateComparison, type Diagnostic, type Duration,
  type EventSelector, type Filter, type MessageType, type NumericComparison, type Scalar, type TimeUnit, type Window,
} from './ast.js';

interface Span { start: number; end: number }

type Punct = '(' | ')' | '[' | ']' | ',' | '*' | '=' | '!=' | '<' | '<=' | '>' | '>=';

type Token = Span & { raw: string } & (
  | { kind: 'word'; text: string; lower: string }
  | { kind: 'name'; value: string }
  | { kind: 'path'; segments: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'date' }
  | { kind: 'punct'; text: Punct }
  | { kind: 'eof' });
type WordToken = Extract<Token, { kind: 'word' }>;
type NumberToken = Extract<Token, { kind: 'number' }>;

/** Where a path may start (EventPath in ast.ts). */
const PATH_ROOTS = ['properties', 'context', 'products'];
/** Same rule as `isoDate` in ast.ts (not exported there). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
/** Deeper nesting of brackets / not is refused before the stack is at risk (the schema has no limit). */
const MAX_NESTING = 200;

/* ------------------------------------------------------------------------------------------------ */
/* Lexer                                                                                              */
/* ------------------------------------------------------------------------------------------------ */

const WORD = /[\p{L}_][\p{L}\p{N}_]*/uy;
const SEGMENT = /[\p{L}\p{N}_]+/uy;
/** Numbers and dates: one run of the characters they may contain, classified afterwards. */
const NUMBERISH = /-?[0-9][0-9A-Za-z_:.+-]*/y;
const BARE_NAME = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const BARE_SEGMENT = /^[\p{L}\p{N}_]+$/u;

const PUNCTS: readonly (readonly [string, Punct])[] = [
  ['!=', '!='], ['<=', '<='], ['>=', '>='], ['==', '='],
  ['(', '('], [')', ')'], ['[', '['], [']', ']'], [',', ','], ['*', '*'], ['=', '='], ['<', '<'], ['>', '>'],
];

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function diag(code: string, message: string, start: number, end: number): Diagnostic {
  return { code, message, severity: 'error', span: { start, end } };
}

function endOfLine(src: string, from: number): number {
  const nl = src.slice(from).search(/[\r\n]/);
  return nl < 0 ? src.length : from + nl;
}

function lex(src: string): { tokens: Token[]; diagnostics: Diagnostic[] } {
  const tokens: Token[] = [];
  const diagnostics: Diagnostic[] = [];
  const n = src.length;

  /** A back-quoted name starting at i (the opening `); `` inside is one `. */
  const quotedName = (i: number): { value: string; end: number } | undefined => {
    let out = '';
    for (let j = i + 1; j < n;) {
      if (src[j] === '`') {
        if (src[j + 1] === '`') { out += '`'; j += 2; continue; }
        return { value: out, end: j + 1 };
      }
      out += src[j];
      j++;
    }
    diagnostics.push(diag('syntax.unterminated_name', 'unterminated name: the ` opened here has no closing `', i, Math.max(endOfLine(src, i), i + 1)));
    return undefined;
  };

  let i = 0;
  while (i < n) {
    const ch = src[i] ?? '';
    if (/\s/.test(ch)) { i++; continue; }
    const start = i;

    if (ch === '"') {
      let out = '';
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const c = src[j] ?? '';
        if (c === '"') { closed = true; j++; break; }
        if (c === '\n' || c === '\r') break;
        if (c === '\\') {
          const e = src[j + 1] ?? '';
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(j + 2, j + 6))) {
            out += String.fromCharCode(parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          const mapped = ESCAPES[e];
          if (mapped === undefined) {
            const bad = e === 'u' ? src.slice(j, Math.min(j + 6, n)) : src.slice(j, j + 2);
            diagnostics.push(diag('syntax.invalid_escape', `invalid escape "${bad}" in a string: use \\" \\\\ \\n \\t or \\uXXXX (four hex digits)`, j, j + bad.length));
            j += Math.max(bad.length, 1);
            continue;
          }
          out += mapped;
          j += 2;
          continue;
        }
        out += c;
        j++;
      }
      if (!closed) {
        diagnostics.push(diag('syntax.unterminated_string', 'unterminated string: the " opened here has no closing " on the same line', start, j));
      }
      tokens.push({ kind: 'string', value: out, start, end: j, raw: src.slice(start, j) });
      i = j;
      continue;
    }

    if (ch === '`') {
      const q = quotedName(i);
      if (!q) break;
      tokens.push({ kind: 'name', value: q.value, start, end: q.end, raw: src.slice(start, q.end) });
      i = q.end;
      continue;
    }

    if (/[0-9]/.test(ch) || (ch === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      NUMBERISH.lastIndex = i;
      const m = NUMBERISH.exec(src);
      const text = m?.[0] ?? ch;
      const end = i + text.length;
      if (JSON_NUMBER.test(text)) {
        const value = Number(text);
        if (!Number.isFinite(value)) diagnostics.push(diag('value.invalid_number', `the number ${text} is too large`, start, end));
        tokens.push({ kind: 'number', value, start, end, raw: text });
      } else if (/^\d{4}-/.test(text)) {
        tokens.push({ kind: 'date', start, end, raw: text });
      } else {
        const unit = /^(-?\d+(?:\.\d+)?)([A-Za-z]+)$/.exec(text);
        const hint = unit ? `: put a space between the number and the unit (${unit[1]} ${unit[2]})` : ': numbers look like 42, -3 or 0.5';
        diagnostics.push(diag('syntax.invalid_number', `invalid number "${text}"${hint}`, start, end));
      }
      i = end;
      continue;
    }

    WORD.lastIndex = i;
    const w = WORD.exec(src);
    if (w) {
      let j = i + w[0].length;
      if (src[j] !== '.') {
        tokens.push({ kind: 'word', text: w[0], lower: w[0].toLowerCase(), start, end: j, raw: w[0] });
        i = j;
        continue;
      }
      // A dotted path: properties.a.`odd name`.b
      const segments = [w[0]];
      let ok = true;
      while (src[j] === '.') {
        const segStart = j + 1;
        SEGMENT.lastIndex = segStart;
        const s = SEGMENT.exec(src);
        if (s) {
          segments.push(s[0]);
          j = segStart + s[0].length;
        } else if (src[segStart] === '`') {
          const q = quotedName(segStart);
          if (!q) { ok = false; j = n; break; }
          const problem = q.value === '' ? 'is empty' : q.value.includes('.') ? 'contains "."' : /^\s/.test(q.value) ? 'starts with a space' : undefined;
          if (problem) diagnostics.push(diag('value.invalid_path', `a path segment cannot be empty, contain "." or start with a space; \`${q.value}\` ${problem}`, segStart, q.end));
          segments.push(q.value);
          j = q.end;
        } else {
          diagnostics.push(diag('syntax.invalid_path', `expected a path segment after "." (letters, digits and _, or \`back-quoted\`), found ${segStart >= n ? 'the end of the text' : JSON.stringify(src.slice(segStart, segStart + 1))}`, segStart - 1, Math.min(segStart + 1, n)));
          ok = false;
          j = segStart;
          break;
        }
      }
      if (ok) tokens.push({ kind: 'path', segments, start, end: j, raw: src.slice(start, j) });
      i = j;
      continue;
    }

    const p = PUNCTS.find(([text]) => src.startsWith(text, i));
    if (p) {
      tokens.push({ kind: 'punct', text: p[1], start, end: i + p[0].length, raw: p[0] });
      i += p[0].length;
      continue;
    }

    if (ch === "'") {
      const close = src.indexOf("'", i + 1);
      if (close > i && close < endOfLine(src, i)) {
        diagnostics.push(diag('syntax.unexpected_character', `strings are written in double quotes: ${JSON.stringify(src.slice(i + 1, close))}, not '…'`, i, close + 1));
        i = close + 1;
        continue;
      }
    }
    const cp = String.fromCodePoint(src.codePointAt(i) ?? 0);
    const hint = cp === "'" || cp === '\u201c' || cp === '\u201d' ? ': strings are written in straight double quotes ("…")'
      : cp === '!' ? ': did you mean "!="?' : cp === '.' ? ': paths are written without spaces, like properties.revenue' : '';
    diagnostics.push(diag('syntax.unexpected_character', `unexpected character ${JSON.stringify(cp)}${hint}`, i, i + cp.length));
    i += cp.length;
  }
  tokens.push({ kind: 'eof', start: n, end: n, raw: '' });
  return { tokens, diagnostics };
}

/* ------------------------------------------------------------------------------------------------ */
/* Parser                                                                                             */
/* ------------------------------------------------------------------------------------------------ */

class ParseError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

/** Optimal-string-alignment distance (a swap of two neighbours counts 1), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = v;
    }
  }
  return at(a.length, b.length);
}

function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestD = limit + 1;
  for (const c of candidates) {
    const dist = distance(w, c);
    if (dist < bestD) { best = c; bestD = dist; }
  }
  return best;
}

function found(t: Token): string {
  const raw = t.raw.length > 40 ? `${t.raw.slice(0, 39)}…` : t.raw;
  switch (t.kind) {
    case 'eof': return 'the end of the text';
    case 'word': case 'punct': return JSON.stringify(raw);
    case 'string': return `the string ${raw}`;
    case 'number': return `the number ${raw}`;
    case 'date': return `the date ${raw}`;
    case 'name': return `the name ${raw}`;
    case 'path': return `the path ${raw}`;
  }
}

/** Every keyword of the language: a word outside this set where keywords were expected is an unknown keyword. */
const ALL_KEYWORDS = new Set(['and', 'or', 'not', 'all', 'any', 'of', 'trait', 'performed', ...AGGREGATE_FNS, 'for', 'first', 'last', 'value', 'sequence', 'then',
  'within', 'computed', 'score', 'in', 'segment', 'consent', 'bucket', 'from', 'to', 'track', 'page', 'screen', 'at', 'least', 'most', 'exactly',
  'times', 'time', 'between', 'ever', 'where', 'contains', 'starts', 'ends', 'with', 'exists', 'next', 'more', 'than', 'ago', 'before', 'after',
  'anniversary', 'the', 'true', 'false', 'minute', 'minutes', 'hour', 'hours', 'day', 'days', 'week', 'weeks']);
const CONDITION_KEYWORDS = ['trait', 'performed', ...AGGREGATE_FNS, 'first', 'last', 'sequence', 'computed', 'score', 'in', 'consent', 'bucket', 'not', 'all', 'any'];
const A_CONDITION = 'a condition (trait, performed, sum/avg/min/max/count_distinct of, first performed, last performed, last value of, sequence, computed, score, in segment, consent, bucket, not, or "(")';
const SYMBOL_OPS: Partial<Record<Punct, 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'>> = { '=': 'eq', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };
const COMPARISON_WORDS = ['in', 'not', 'contains', 'starts', 'ends', 'exists', 'within', 'more', 'before', 'after', 'anniversary'];
const A_COMPARISON = 'a comparison (=, !=, <, <=, >, >=, in, not in, contains, not contains, starts with, ends with, exists, not exists, within last, within next, more than … ago, before, after, anniversary within)';
const A_DATE_COMPARISON = 'within last …, more than … ago, before, after, exists or not exists';
const UNITS: Record<string, TimeUnit> = { minute: 'minutes', minutes: 'minutes', hour: 'hours', hours: 'hours', day: 'days', days: 'days', week: 'weeks', weeks: 'weeks' };
const MESSAGE_WORDS: readonly MessageType[] = ['track', 'page', 'screen'];

type Fields = Map<string, Span>;

interface Clauses { where?: Filter[]; window?: Window; count?: { op: CountOp; value: number } }

class Parser {
  private i = 0;
  private lastEnd = 0;
  private depth = 0;
  /** Errors that do not stop parsing (invalid dates, paths): the parse goes on to find more. */
  readonly errors: Diagnostic[] = [];
  /** The span of every object built (conditions, selectors, windows, filters, lists). */
  readonly spans = new WeakMap<object, Span>();
  /** The span of each scalar field of an object (value, amount, date, …). */
  readonly fields = new WeakMap<object, Fields>();

  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): Condition | undefined {
    try {
      const c = this.parseOr();
      const t = this.peek();
      if (t.kind === 'punct' && t.text === ')') this.fail(t, '', { code: 'syntax.unbalanced_bracket', message: 'unexpected ")": there is no "(" to close' });
      if (t.kind !== 'eof') {
        const hint = this.isWord(t, 'within') ? 'the time window of events is written "in last 30 days" ("within" compares a date)' : undefined;
        this.fail(t, '"and", "or" or the end of the text after the condition', { code: 'syntax.trailing_input', candidates: ['and', 'or'], ...(hint ? { hint } : {}) });
      }
      return c;
    } catch (e) {
      if (e instanceof ParseError) {
        this.errors.push(e.diagnostic);
        return undefined;
      }
      throw e;
    }
  }

  /* -------- tokens -------- */

  private peek(k = 0): Token {
    const t = this.tokens[Math.min(this.i + k, this.tokens.length - 1)];
    if (!t) throw new Error('token stream without end');
    return t;
  }

  private take(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    this.lastEnd = t.end;
    return t;
  }

  private isWord(t: Token, ...words: string[]): boolean {
    return t.kind === 'word' && words.includes(t.lower);
  }

  private isPunct(t: Token, p: Punct): boolean {
    return t.kind === 'punct' && t.text === p;
  }

  /**
   * Stops with a diagnostic at token t: "expected <expected>, found <t>". A word where keywords were
   * expected is an unknown keyword (with a suggestion when one is close); the end of the text is
   * `syntax.unexpected_end`.
   */
  private fail(t: Token, expected: string, o: { code?: string; message?: string; candidates?: readonly string[]; hint?: string; span?: Span } = {}): never {
    const guess = t.kind === 'word' && o.candidates ? suggest(t.text, o.candidates) : undefined;
    const unknown = t.kind === 'word' && o.candidates !== undefined && !ALL_KEYWORDS.has(t.lower);
    const code = o.code ?? (t.kind === 'eof' ? 'syntax.unexpected_end' : unknown ? 'syntax.unknown_keyword' : 'syntax.unexpected_token');
    const message = o.message ?? `expected ${expected}, found ${found(t)}${guess ? ` (did you mean "${guess}"?)` : ''}${o.hint ? `; ${o.hint}` : ''}`;
    throw new ParseError(diag(code, message, o.span?.start ?? t.start, o.span?.end ?? t.end));
  }

  private expectWord(words: readonly string[], after: string): WordToken {
    const t = this.peek();
    if (t.kind === 'word' && words.includes(t.lower)) {
      this.take();
      return t;
    }
    const list = words.map((w) => `"${w}"`);
    const expected = list.length === 1 ? list[0] ?? '' : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] ?? ''}`;
    return this.fail(t, `${expected} after ${after}`, { candidates: words });
  }

  private expectPunct(p: Punct, after: string, hint?: string): Token {
    const t = this.peek();
    if (this.isPunct(t, p)) return this.take();
    return this.fail(t, `"${p}" after ${after}`, hint ? { hint } : {});
  }

  private mark<T extends object>(obj: T, start: number, fields?: Fields): T {
    this.spans.set(obj, { start, end: this.lastEnd });
    if (fields) this.fields.set(obj, fields);
    return obj;
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_NESTING) this.fail(t, '', { code: 'syntax.too_deep', message: `conditions are nested more than ${MAX_NESTING} levels deep` });
  }

  /* -------- and / or / not / brackets -------- */

  private parseOr(): Condition {
    const start = this.peek().start;
    const first = this.parseAnd();
    if (!this.isWord(this.peek(), 'or')) return first;
    const conditions = [first];
    while (this.isWord(this.peek(), 'or')) {
      this.take();
      conditions.push(this.parseAnd());
    }
    return this.mark({ type: 'or', conditions }, start);
  }

  private parseAnd(): Condition {
    const start = this.peek().start;
    const first = this.parseUnary();
    if (!this.isWord(this.peek(), 'and')) return first;
    const conditions = [first];
    while (this.isWord(this.peek(), 'and')) {
      this.take();
      conditions.push(this.parseUnary());
    }
    return this.mark({ type: 'and', conditions }, start);
  }

  private parseUnary(): Condition {
    const t = this.peek();
    if (!this.isWord(t, 'not')) return this.parsePrimary();
    this.take();
    this.enter(t);
    const condition = this.parseUnary();
    this.depth--;
    return this.mark({ type: 'not', condition }, t.start);
  }

  private closeBracket(open: Token, inside: string): void {
    const t = this.peek();
    if (this.isPunct(t, ')')) { this.take(); return; }
    if (t.kind === 'eof') this.fail(t, '', { code: 'syntax.unbalanced_bracket', message: `the "(" here is never closed: expected ")" before the end of the text`, span: open });
    this.fail(t, inside, { candidates: ['and', 'or'] });
  }

  private parsePrimary(): Condition {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      this.take();
      this.enter(t);
      const c = this.parseOr();
      this.closeBracket(t, '"and", "or" or ")"');
      this.depth--;
      return c;
    }
    if (this.isWord(t, 'all', 'any') && (this.isWord(this.peek(1), 'of') || this.isPunct(this.peek(1), '('))) {
      this.take();
      if (this.isWord(this.peek(), 'of')) this.take();
      const kw = this.isWord(t, 'all') ? 'all' : 'any';
      const open = this.expectPunct('(', `"${kw} of"`, `write ${kw} of (condition, condition, …)`);
      this.enter(t);
      const conditions = [this.parseOr()];
      while (this.isPunct(this.peek(), ',')) {
        this.take();
        conditions.push(this.parseOr());
      }
      this.closeBracket(open, '"," or ")"');
      this.depth--;
      return this.mark({ type: kw === 'all' ? 'and' : 'or', conditions }, t.start);
    }
    return this.parseLeaf();
  }

  /* -------- leaves -------- */

  private parseLeaf(): Condition {
    const t = this.peek();
    if (t.kind !== 'word') return this.fail(t, A_CONDITION);
    const f: Fields = new Map();
    const start = t.start;
    switch (t.lower) {
      case 'trait': {
        this.take();
        const trait = this.parseName(f, 'trait', 'a trait name', '"trait"');
        const cmp = this.parseComparison(`trait ${name(trait)}`, f);
        return this.mark({ type: 'trait', trait, ...cmp }, start, f);
      }
      case 'performed': {
        this.take();
        const sel = this.parseSelector(f, '"performed"');
        const cl = this.parseClauses(f, true);
        return this.mark({ type: 'event', ...sel, ...clausesOf(cl) }, start, f);
      }
      case 'sum': case 'avg': case 'min': case 'max': case 'count_distinct': {
        this.take();
        const fn: AggregateFn = AGGREGATE_FNS.find((x) => x === t.lower) ?? 'sum';
        this.expectWord(['of'], `"${fn}"`);
        const path = this.parsePath(f, `"${fn} of"`);
        this.expectWord(['for'], `"${fn} of ${path}"`);
        const sel = this.parseSelector(f, '"for"');
        const cl = this.parseClauses(f, false);
        const cmp = this.parseNumericComparison(`${fn} of ${path}`, f);
        return this.mark({ type: 'aggregate', fn, path, ...sel, ...clausesOf(cl), ...cmp }, start, f);
      }
      case 'first': case 'last': {
        this.take();
        const which = this.expectWord(t.lower === 'last' ? ['performed', 'value'] : ['performed'], `"${t.lower}"`);
        if (which.lower === 'value') {
          this.expectWord(['of'], '"last value"');
          const path = this.parsePath(f, '"last value of"');
          this.expectWord(['for'], `"last value of ${path}"`);
          const sel = this.parseSelector(f, '"for"');
          const cl = this.parseClauses(f, false);
          const cmp = this.parseComparison(`last value of ${path}`, f);
          return this.mark({ type: 'last_value', path, ...sel, ...clausesOf(cl), ...cmp }, start, f);
        }
        const sel = this.parseSelector(f, `"${t.lower} performed"`);
        const cl = this.parseClauses(f, false);
        const cmp = this.parseDateComparison(`${t.lower} performed`, f);
        const type = t.lower === 'first' ? 'first_performed' : 'last_performed';
        return this.mark({ type, ...sel, ...clausesOf(cl), ...cmp }, start, f);
      }
      case 'sequence': return this.parseSequence(t);
      case 'computed': {
        this.take();
        const key = this.parseName(f, 'key', 'a computed trait key', '"computed"');
        const cmp = this.parseComparison(`computed ${name(key)}`, f);
        return this.mark({ type: 'computed_trait', key, ...cmp }, start, f);
      }
      case 'score': {
        this.take();
        const model = this.parseName(f, 'model', 'a model name', '"score"');
        const cmp = this.parseComparison(`score ${name(model)}`, f);
        return this.mark({ type: 'score', model, ...cmp }, start, f);
      }
      case 'in': {
        this.take();
        this.expectWord(['segment'], '"in"');
        const segment = this.parseName(f, 'segment', 'a segment key', '"in segment"');
        return this.mark({ type: 'segment', segment }, start, f);
      }
      case 'consent': {
        this.take();
        const purpose = this.parseName(f, 'purpose', 'a consent purpose (like marketing)', '"consent"');
        return this.mark({ type: 'consent', purpose }, start, f);
      }
      case 'bucket': {
        this.take();
        const salt = this.parseName(f, 'salt', 'a salt in double quotes (like "holdout-2026")', '"bucket"');
        this.expectWord(['from'], `the salt`);
        const from = this.parseNumber(f, 'from', 'a bucket number (0-100) after "from"').value;
        this.expectWord(['to'], `"from ${from}"`);
        const to = this.parseNumber(f, 'to', 'a bucket number (0-100) after "to"').value;
        return this.mark({ type: 'bucket', salt, from, to }, start, f);
      }
      default: {
        if (ALL_KEYWORDS.has(t.lower)) return this.fail(t, A_CONDITION);
        const guess = suggest(t.text, CONDITION_KEYWORDS);
        return this.fail(t, A_CONDITION, {
          code: 'syntax.unknown_keyword',
          message: `unknown keyword "${t.text}"${guess ? ` (did you mean "${guess}"?)` : ''}: expected ${A_CONDITION}`,
        });
      }
    }
  }

  private parseSequence(t: Token): Condition {
    this.take();
    const start = t.start;
    const f: Fields = new Map();
    const steps = [this.parseStep('"sequence"')];
    let thenNot: EventSelector | undefined;
    while (this.isWord(this.peek(), 'then')) {
      const then = this.take();
      if (thenNot) this.fail(then, '', { code: 'syntax.unexpected_token', message: '"then not …" must be the last step of a sequence' });
      if (this.isWord(this.peek(), 'not')) {
        this.take();
        thenNot = this.parseStep('"then not"');
        f.set('thenNot', this.spans.get(thenNot) ?? then);
      } else {
        steps.push(this.parseStep('"then"'));
      }
    }
    this.mark(steps, start);
    let within: Duration | undefined;
    let window: Window | undefined;
    let windowSeen = false;
    for (;;) {
      const c = this.peek();
      if (this.isWord(c, 'within')) {
        if (within) this.duplicate(c, 'the sequence duration ("within …")');
        this.take();
        const ws = this.peek().start;
        const wf: Fields = new Map();
        within = this.mark(this.parseDuration(wf, '"within"'), ws, wf);
        f.set('within', { start: c.start, end: this.lastEnd });
      } else if (this.isWindowStart()) {
        if (windowSeen) this.duplicate(c, 'the time window ("in last …", "between …" or "ever")');
        windowSeen = true;
        window = this.parseWindow(f);
      } else {
        break;
      }
    }
    if (!within) this.fail(this.peek(), '"then", or "within" and a duration (like: within 7 days) after the steps of the sequence');
    return this.mark({ type: 'sequence', steps, ...(thenNot ? { thenNot } : {}), within, ...(window ? { window } : {}) }, start, f);
  }

  private parseStep(after: string): EventSelector {
    const start = this.peek().start;
    const f: Fields = new Map();
    const sel = this.parseSelector(f, after);
    if (this.isWord(this.peek(), 'where')) return this.mark({ ...sel, where: this.parseWhere(f) }, start, f);
    return this.mark(sel, start, f);
  }

  /* -------- names, selectors, clauses -------- */

  private parseName(f: Fields, field: string, what: string, after: string): string {
    const t = this.peek();
    if (t.kind === 'word') { this.take(); f.set(field, t); return t.text; }
    if (t.kind === 'name' || t.kind === 'string') { this.take(); f.set(field, t); return t.value; }
    if (t.kind === 'path') {
      return this.fail(t, '', {
        code: 'syntax.unquoted_name',
        message: `a name containing "." must be written in back-quotes: \`${t.segments.join('.').replace(/`/g, '``')}\``,
      });
    }
    return this.fail(t, `${what} after ${after}`);
  }

  private parseSelector(f: Fields, after: string): EventSelector {
    let messageType: MessageType | undefined;
    const m = this.peek();
    if (m.kind === 'word' && (MESSAGE_WORDS as readonly string[]).includes(m.lower)) {
      this.take();
      messageType = MESSAGE_WORDS.find((x) => x === m.lower);
      f.set('messageType', m);
    }
    const t = this.peek();
    let event: string;
    if (t.kind === 'string') event = t.value;
    else if (this.isPunct(t, '*')) event = '*';
    else {
      const kind = messageType === 'page' ? 'a page name in double quotes (like "Pricing")' : messageType === 'screen' ? 'a screen name in double quotes (like "Home")' : 'an event name in double quotes (like "Order Completed")';
      const what = `${kind} or * (any) after ${messageType ? `"${messageType}"` : after}`;
      return this.fail(t, what, t.kind === 'word' && !messageType ? { hint: `names are written in double quotes ("${t.text}"); before the name, track, page or screen may say what kind of message` } : {});
    }
    this.take();
    f.set('event', t);
    return messageType ? { event, messageType } : { event };
  }

  private isWindowStart(): boolean {
    const t = this.peek();
    if (this.isWord(t, 'between', 'ever')) return true;
    return this.isWord(t, 'in') && (this.isWord(this.peek(1), 'last') || (this.isWord(this.peek(1), 'the') && this.isWord(this.peek(2), 'last')));
  }

  private duplicate(t: Token, what: string, hint = ''): never {
    return this.fail(t, '', { code: 'syntax.duplicate_clause', message: `${what} is given twice${hint}` });
  }

  /** Optional clauses after a selector, in any order, each at most once: count, window, where. */
  private parseClauses(f: Fields, allowCount: boolean): Clauses {
    const out: Clauses = {};
    let windowSeen = false;
    for (;;) {
      const t = this.peek();
      if (this.isWord(t, 'where')) {
        if (out.where) this.duplicate(t, '"where"', ': put every filter in one where (… and …)');
        out.where = this.parseWhere(f);
      } else if (this.isWindowStart()) {
        if (windowSeen) this.duplicate(t, 'the time window ("in last …", "between …" or "ever")');
        windowSeen = true;
        const w = this.parseWindow(f);
        if (w) out.window = w;
      } else if (allowCount && this.isWord(t, 'at', 'exactly')) {
        if (out.count) this.duplicate(t, 'the number of times');
        out.count = this.parseCount(f);
      } else {
        return out;
      }
    }
  }

  private parseCount(f: Fields): { op: CountOp; value: number } {
    const t = this.take();
    let op: CountOp = 'exactly';
    let phrase = 'exactly';
    if (this.isWord(t, 'at')) {
      const w = this.expectWord(['least', 'most'], '"at"');
      op = w.lower === 'least' ? 'at_least' : 'at_most';
      phrase = `at ${w.lower}`;
    }
    const cf: Fields = new Map();
    const n = this.parseNumber(cf, 'value', `a number of times after "${phrase}"`);
    this.expectWord(['times', 'time'], `"${phrase} ${n.raw}"`);
    const count = this.mark({ op, value: n.value }, t.start, cf);
    f.set('count', { start: t.start, end: this.lastEnd });
    return count;
  }

  /** `in last …` or `between … and …`; `ever` gives undefined (no window). */
  private parseWindow(f: Fields): Window | undefined {
    const t = this.take();
    const wf: Fields = new Map();
    let w: Window | undefined;
    if (this.isWord(t, 'ever')) {
      w = undefined;
    } else if (this.isWord(t, 'between')) {
      const from = this.parseDate(wf, 'from', '"between"');
      this.expectWord(['and'], `"between ${from}"`);
      const to = this.parseDate(wf, 'to', `"and"`);
      const between: Window = { type: 'between', from, to };
      w = this.mark(between, t.start, wf);
    } else {
      if (this.isWord(this.peek(), 'the')) this.take();
      this.take(); // last
      const last: Window = { type: 'last', ...this.parseDuration(wf, '"in last"') };
      w = this.mark(last, t.start, wf);
    }
    f.set('window', { start: t.start, end: this.lastEnd });
    return w;
  }

  private parseWhere(f: Fields): Filter[] {
    const t = this.take();
    const open = this.expectPunct('(', '"where"', 'filters are written in brackets: where (properties.revenue > 50 and …)');
    const filters: Filter[] = [];
    if (this.isPunct(this.peek(), ')')) {
      this.take();
    } else {
      for (;;) {
        filters.push(this.parseFilter());
        const c = this.peek();
        if (this.isWord(c, 'and')) { this.take(); continue; }
        if (this.isPunct(c, ')')) { this.take(); break; }
        if (c.kind === 'eof') this.fail(c, '', { code: 'syntax.unbalanced_bracket', message: 'the "(" of this where is never closed: expected ")" before the end of the text', span: open });
        if (this.isWord(c, 'or')) this.fail(c, '', { code: 'syntax.unexpected_token', message: 'filters in where (…) are combined with "and" only; for either/or, write two conditions joined by or' });
        this.fail(c, '"and" or ")" after the filter', { candidates: ['and'] });
      }
    }
    this.mark(filters, t.start);
    f.set('where', { start: t.start, end: this.lastEnd });
    return filters;
  }

  private parseFilter(): Filter {
    const t = this.peek();
    const f: Fields = new Map();
    const path = this.parsePath(f, '"where ("');
    const cmp = this.parseComparison(path, f);
    return this.mark({ path, ...cmp }, t.start, f);
  }

  private parsePath(f: Fields, after: string): string {
    const t = this.peek();
    if (t.kind !== 'path') {
      const guess = t.kind === 'word' ? `; did you mean properties.${t.text}?` : '';
      return this.fail(t, `an event path like properties.revenue (starting with properties., context. or products.) after ${after}`, guess ? { hint: guess.slice(2) } : {});
    }
    this.take();
    const [root = '', ...rest] = t.segments;
    if (!PATH_ROOTS.includes(root)) {
      const g = suggest(root, PATH_ROOTS) ?? (root.length >= 3 ? PATH_ROOTS.find((r) => r.startsWith(root.slice(0, 4).toLowerCase())) : undefined);
      this.errors.push(diag('value.invalid_path', `a path must start with properties., context. or products., found "${root}."${g ? ` (did you mean "${g}."?)` : ''}`, t.start, t.start + root.length));
    }
    f.set('path', t);
    return [root, ...rest].join('.');
  }

  /* -------- comparisons and values -------- */

  private parseComparison(subject: string, f: Fields): Comparison {
    const t = this.peek();
    if (t.kind === 'punct') {
      const op = SYMBOL_OPS[t.text];
      if (op) {
        this.take();
        return { op, value: this.parseScalar(f, 'value', `"${t.text}"`) };
      }
    }
    if (t.kind !== 'word' || !COMPARISON_WORDS.includes(t.lower)) return this.fail(t, `${A_COMPARISON} after ${subject}`, { candidates: COMPARISON_WORDS });
    switch (t.lower) {
      case 'in': this.take(); return { op: 'in', values: this.parseList(f) };
      case 'not': {
        this.take();
        const n = this.peek();
        if (this.isWord(n, 'starts', 'ends')) {
          const isFilter = PATH_ROOTS.some((r) => subject.startsWith(`${r}.`));
          this.fail(n, '', { message: `there is no "not ${n.raw} with"${isFilter ? '; the negative comparisons are not in, not contains and not exists' : `: write not (${subject} ${n.raw} with "…")`}` });
        }
        const w = this.expectWord(['in', 'contains', 'exists'], '"not"');
        if (w.lower === 'in') return { op: 'not_in', values: this.parseList(f) };
        if (w.lower === 'contains') return { op: 'not_contains', value: this.parseString(f, '"not contains"') };
        return { op: 'not_exists' };
      }
      case 'contains': this.take(); return { op: 'contains', value: this.parseString(f, '"contains"') };
      case 'starts': this.take(); this.expectWord(['with'], '"starts"'); return { op: 'starts_with', value: this.parseString(f, '"starts with"') };
      case 'ends': this.take(); this.expectWord(['with'], '"ends"'); return { op: 'ends_with', value: this.parseString(f, '"ends with"') };
      case 'anniversary': {
        this.take();
        this.expectWord(['within'], '"anniversary"');
        const days = this.parseNumber(f, 'days', 'a number of days after "anniversary within"');
        this.expectWord(['days', 'day'], `"anniversary within ${days.raw}"`);
        return { op: 'anniversary_within', days: days.value };
      }
      case 'within': {
        this.take();
        if (this.isWord(this.peek(), 'the')) this.take();
        const w = this.expectWord(['last', 'next'], '"within"');
        return { op: w.lower === 'last' ? 'within_last' : 'within_next', ...this.parseDuration(f, `"within ${w.lower}"`) };
      }
      default: return this.parseDateComparison(subject, f);
    }
  }

  private parseNumericComparison(subject: string, f: Fields): NumericComparison {
    const t = this.peek();
    const op = t.kind === 'punct' ? SYMBOL_OPS[t.text] : undefined;
    if (!op) return this.fail(t, `=, !=, <, <=, > or >= and a number after ${subject} (it is a number)`);
    this.take();
    return { op, value: this.parseNumber(f, 'value', `a number after "${t.raw}"`).value };
  }

  private parseDateComparison(subject: string, f: Fields): DateComparison {
    const t = this.peek();
    if (this.isWord(t, 'within')) {
      this.take();
      if (this.isWord(this.peek(), 'the')) this.take();
      this.expectWord(['last'], '"within"');
      return { op: 'within_last', ...this.parseDuration(f, '"within last"') };
    }
    if (this.isWord(t, 'more')) {
      this.take();
      this.expectWord(['than'], '"more"');
      const d = this.parseDuration(f, '"more than"');
      this.expectWord(['ago'], `"more than ${d.amount} ${d.unit}"`);
      return { op: 'more_than_ago', ...d };
    }
    if (this.isWord(t, 'before', 'after')) {
      this.take();
      const op = this.isWord(t, 'before') ? 'before' : 'after';
      return { op, date: this.parseDate(f, 'date', `"${op}"`) };
    }
    if (this.isWord(t, 'exists')) { this.take(); return { op: 'exists' }; }
    if (this.isWord(t, 'not') && this.isWord(this.peek(1), 'exists')) { this.take(); this.take(); return { op: 'not_exists' }; }
    return this.fail(t, `${A_DATE_COMPARISON} after ${subject}`, { candidates: ['within', 'more', 'before', 'after', 'exists', 'not'] });
  }

  private parseDuration(f: Fields, after: string): Duration {
    const n = this.parseNumber(f, 'amount', `a number after ${after}`);
    const u = this.peek();
    const unit = u.kind === 'word' ? UNITS[u.lower] : undefined;
    if (!unit) return this.fail(u, `a time unit (minutes, hours, days or weeks) after "${n.raw}"`, { candidates: Object.keys(UNITS) });
    this.take();
    f.set('unit', u);
    return { amount: n.value, unit };
  }

  private parseNumber(f: Fields, field: string, expected: string): NumberToken {
    const t = this.peek();
    if (t.kind !== 'number') return this.fail(t, expected);
    this.take();
    f.set(field, t);
    return t;
  }

  private parseString(f: Fields, after: string): string {
    const t = this.peek();
    if (t.kind !== 'string') return this.fail(t, `a "string" after ${after}`, t.kind === 'word' ? { hint: `strings are written in double quotes ("${t.text}")` } : {});
    this.take();
    f.set('value', t);
    return t.value;
  }

  private parseScalar(f: Fields, field: string, after: string): Scalar {
    const t = this.peek();
    let v: Scalar;
    if (t.kind === 'string' || t.kind === 'number') v = t.value;
    else if (this.isWord(t, 'true', 'false')) v = this.isWord(t, 'true');
    else {
      const hint = t.kind === 'word' ? `strings are written in double quotes ("${t.text}")`
        : t.kind === 'date' ? `to compare with a date use before / after, or quote it ("${t.raw}")` : undefined;
      return this.fail(t, `a value ("string", number, true or false) after ${after}`, hint ? { hint } : {});
    }
    this.take();
    f.set(field, t);
    return v;
  }

  private parseList(f: Fields): Scalar[] {
    const open = this.expectPunct('[', '"in"', 'lists are written in square brackets: in ["CH", "DE"]');
    const values: Scalar[] = [];
    const lf: Fields = new Map();
    values.push(this.parseScalar(lf, '0', '"["'));
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, ']')) { this.take(); break; }
      if (this.isPunct(t, ',')) { this.take(); values.push(this.parseScalar(lf, String(values.length), '","')); continue; }
      if (t.kind === 'eof') this.fail(t, '', { code: 'syntax.unbalanced_bracket', message: 'the "[" here is never closed: expected "]" before the end of the text', span: open });
      this.fail(t, '"," or "]" in the list');
    }
    this.mark(values, open.start, lf);
    f.set('values', { start: open.start, end: this.lastEnd });
    return values;
  }

  private parseDate(f: Fields, field: string, after: string): string {
    const t = this.peek();
    let text: string;
    if (t.kind === 'date') text = t.raw;
    else if (t.kind === 'string') text = t.value;
    else return this.fail(t, `a date like 2026-01-31 or 2026-01-31T12:00:00Z after ${after}`);
    this.take();
    f.set(field, t);
    if (!ISO_DATE.test(text) || !Number.isFinite(Date.parse(text))) {
      const why = !/^\d{4}-\d{2}-\d{2}/.test(text) ? 'write the year with 4 digits and month and day with 2 (2026-01-31)'
        : /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? 'a time needs an offset: Z for UTC or like +02:00'
        : ISO_DATE.test(text) ? 'there is no such day or time' : 'expected an ISO-8601 date like 2026-01-31 or 2026-01-31T12:00:00Z';
      this.errors.push(diag('value.invalid_date', `invalid date "${text}": ${why}`, t.start, t.end));
    }
    return text;
  }

  /* -------- schema errors, placed -------- */

  /** The narrowest recorded span along a zod issue path. */
  locate(root: Condition, path: readonly PropertyKey[]): Span | undefined {
    let best = this.spans.get(root);
    let obj: unknown = root;
    for (const key of path) {
      if (typeof obj !== 'object' || obj === null) break;
      const fieldSpan = this.fields.get(obj)?.get(String(key));
      if (fieldSpan) best = { start: fieldSpan.start, end: fieldSpan.end };
      obj = (obj as Record<string, unknown>)[String(key)];
      if (typeof obj === 'object' && obj !== null) best = this.spans.get(obj) ?? best;
    }
    return best;
  }
}

function clausesOf(c: Clauses): { where?: Filter[]; window?: Window; count?: { op: CountOp; value: number } } {
  return { ...(c.count ? { count: c.count } : {}), ...(c.window ? { window: c.window } : {}), ...(c.where ? { where: c.where } : {}) };
}

/**
 * Text → JSON. The condition is given only when there is no error; every problem is a diagnostic
 * with a code, a message and a span. The result is checked with `ConditionSchema` (out-of-range
 * numbers, empty names, …: code `schema.invalid`, span of the narrowest node or value).
 */
export function parseSegmentText(source: string): { condition?: Condition; diagnostics: Diagnostic[] } {
  const lexed = lex(source);
  if (lexed.diagnostics.length) return { diagnostics: lexed.diagnostics };
  const parser = new Parser(lexed.tokens);
  const condition = parser.parseAll();
  if (!condition || parser.errors.length) {
    return { diagnostics: [...parser.errors].sort((a, b) => (a.span?.start ?? 0) - (b.span?.start ?? 0)) };
  }
  const checked = ConditionSchema.safeParse(condition);
  if (!checked.success) {
    return {
      diagnostics: checked.error.issues.map((issue) => {
        const where = issue.path.length ? issue.path.map(String).join('.') : 'condition';
        return {
          code: 'schema.invalid',
          message: `${where}: ${issue.message}`,
          severity: 'error' as const,
          span: parser.locate(condition, issue.path) ?? { start: 0, end: source.length },
          pointer: '/' + issue.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/'),
        };
      }),
    };
  }
  return { condition: checked.data, diagnostics: [] };
}

/* ------------------------------------------------------------------------------------------------ */
/* Printer                                                                                            */
/* ------------------------------------------------------------------------------------------------ */

function num(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

function name(s: string): string {
  return BARE_NAME.test(s) ? s : `\`${s.replace(/`/g, '``')}\``;
}

function path(p: string): string {
  const [root = '', ...rest] = p.split('.');
  return [root, ...rest.map((s) => (BARE_SEGMENT.test(s) ? s : `\`${s.replace(/`/g, '``')}\``))].join('.');
}

function scalar(v: Scalar): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' ? num(v) : String(v);
}

function duration(d: Duration): string {
  return `${num(d.amount)} ${d.unit}`;
}

const OP_TEXT: Record<'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte', string> = { eq: '=', neq: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

function comparison(c: Comparison): string {
  switch (c.op) {
    case 'eq': case 'neq': case 'lt': case 'lte': case 'gt': case 'gte': return `${OP_TEXT[c.op]} ${scalar(c.value)}`;
    case 'in': return `in [${c.values.map(scalar).join(', ')}]`;
    case 'not_in': return `not in [${c.values.map(scalar).join(', ')}]`;
    case 'contains': return `contains ${JSON.stringify(c.value)}`;
    case 'not_contains': return `not contains ${JSON.stringify(c.value)}`;
    case 'starts_with': return `starts with ${JSON.stringify(c.value)}`;
    case 'ends_with': return `ends with ${JSON.stringify(c.value)}`;
    case 'exists': return 'exists';
    case 'not_exists': return 'not exists';
    case 'within_last': return `within last ${duration(c)}`;
    case 'within_next': return `within next ${duration(c)}`;
    case 'more_than_ago': return `more than ${duration(c)} ago`;
    case 'before': return `before ${c.date}`;
    case 'after': return `after ${c.date}`;
    case 'anniversary_within': return `anniversary within ${num(c.days)} days`;
  }
}

function selector(s: EventSelector): string {
  return `${s.messageType ? `${s.messageType} ` : ''}${s.event === '*' ? '*' : JSON.stringify(s.event)}`;
}

function where(w: Filter[] | undefined): string {
  return w ? ` where (${w.map((f) => `${path(f.path)} ${comparison(f)}`).join(' and ')})` : '';
}

function windowText(w: Window | undefined): string {
  if (!w) return '';
  return w.type === 'last' ? ` in last ${duration(w)}` : ` between ${w.from} and ${w.to}`;
}

function step(s: EventSelector): string {
  return selector(s) + where(s.where);
}

function leaf(c: Exclude<Condition, { type: 'and' | 'or' | 'not' }>): string {
  switch (c.type) {
    case 'trait': return `trait ${name(c.trait)} ${comparison(c)}`;
    case 'event': {
      const count = c.count ? ` ${c.count.op.replace('_', ' ')} ${num(c.count.value)} ${c.count.value === 1 ? 'time' : 'times'}` : '';
      return `performed ${selector(c)}${count}${windowText(c.window)}${where(c.where)}`;
    }
    case 'aggregate': return `${c.fn} of ${path(c.path)} for ${selector(c)}${windowText(c.window)}${where(c.where)} ${comparison(c)}`;
    case 'first_performed': return `first performed ${selector(c)}${windowText(c.window)}${where(c.where)} ${comparison(c)}`;
    case 'last_performed': return `last performed ${selector(c)}${windowText(c.window)}${where(c.where)} ${comparison(c)}`;
    case 'last_value': return `last value of ${path(c.path)} for ${selector(c)}${windowText(c.window)}${where(c.where)} ${comparison(c)}`;
    case 'sequence': {
      const steps = c.steps.map(step).join(' then ');
      return `sequence ${steps}${c.thenNot ? ` then not ${step(c.thenNot)}` : ''} within ${duration(c.within)}${windowText(c.window)}`;
    }
    case 'computed_trait': return `computed ${name(c.key)} ${comparison(c)}`;
    case 'score': return `score ${name(c.model)} ${comparison(c)}`;
    case 'segment': return `in segment ${name(c.segment)}`;
    case 'consent': return `consent ${name(c.purpose)}`;
    case 'bucket': return `bucket ${JSON.stringify(c.salt)} from ${num(c.from)} to ${num(c.to)}`;
  }
}

/** An and / or of one condition has no infix form: it is printed `all of (…)` / `any of (…)`. */
function isInfix(c: Condition): c is Extract<Condition, { type: 'and' | 'or' }> {
  return (c.type === 'and' || c.type === 'or') && c.conditions.length > 1;
}

/** Brackets only where precedence needs them: not > and > or; nested and/or of the same kind keep theirs. */
function needsBrackets(child: Condition, parent: 'and' | 'or' | 'not'): boolean {
  if (!isInfix(child)) return false;
  return parent !== 'or' || child.type === 'or';
}

function flat(c: Condition): string {
  switch (c.type) {
    case 'and': case 'or': {
      if (c.conditions.length === 1) return `${c.type === 'and' ? 'all' : 'any'} of (${c.conditions.map(flat).join('')})`;
      const op = c.type;
      return c.conditions.map((x) => (needsBrackets(x, op) ? `(${flat(x)})` : flat(x))).join(` ${op} `);
    }
    case 'not': return `not ${needsBrackets(c.condition, 'not') ? `(${flat(c.condition)})` : flat(c.condition)}`;
    default: return leaf(c);
  }
}

/** Multi-line layout: and / or trees longer than `width` get one operand per line, indented. */
function layout(c: Condition, indent: string, width: number): string {
  const one = flat(c);
  if (indent.length + one.length <= width) return one;
  const inner = indent + '  ';
  const bracket = (x: Condition): string => {
    const f = flat(x);
    return inner.length + f.length + 2 <= width ? `(${f})` : `(\n${inner}${layout(x, inner, width)}\n${indent})`;
  };
  switch (c.type) {
    case 'and': case 'or': {
      if (c.conditions.length === 1) {
        const only = c.conditions[0];
        return only ? `${c.type === 'and' ? 'all' : 'any'} of (\n${inner}${layout(only, inner, width)}\n${indent})` : one;
      }
      const op = c.type;
      return c.conditions.map((x) => (needsBrackets(x, op) ? bracket(x) : layout(x, indent, width))).join(`\n${indent}${op} `);
    }
    case 'not': return `not ${needsBrackets(c.condition, 'not') ? bracket(c.condition) : layout(c.condition, indent, width)}`;
    default: return one;
  }
}

/** The condition of a text, or a `DefinitionError` with every diagnostic (`origin` names the text in messages). */
export function conditionFromText(source: string, origin = 'text'): Condition {
  const r = parseSegmentText(source);
  if (!r.condition) throw new DefinitionError(r.diagnostics, origin);
  return r.condition;
}

export interface PrintOptions {
  /** Break and / or trees longer than this many characters over several lines (default: one line). */
  width?: number | undefined;
}

/**
 * JSON → text, canonical: lower-case keywords, plural units, brackets only where needed, absent
 * optional fields stay absent (no "ever", no "track"). `parseSegmentText(printSegmentText(c))` gives `c`.
 */
export function printSegmentText(c: Condition, options: PrintOptions = {}): string {
  return options.width === undefined ? flat(c) : layout(c, '', options.width);
}

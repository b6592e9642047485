/**
 * The readable text form of the segment language (CLI, segments kept as code). `printSegmentText` is
 * canonical; `parseSegmentText(printSegmentText(c))` gives `c` back (property-tested).
 *
 * A hand-written lexer and recursive-descent parser rather than a generator: every error is a
 * diagnostic with a code, a message that names what was expected and what was found, and the exact
 * character span, and the grammar is small. Grammar (keywords case-insensitive):
 *
 *   expr       := and ('or' and)*
 *   and        := unary ('and' unary)*
 *   unary      := 'not' unary | '(' expr ')' | atom
 *   atom       := 'trait' name cmp
 *              | 'performed' selector count? window? where?
 *              | fn 'of' path 'for' selector window? where? numcmp           fn: sum avg min max count_distinct
 *              | ('first' | 'last') 'performed' selector window? where? datecmp
 *              | 'last' 'value' 'of' path 'for' selector window? where? cmp
 *              | 'sequence' selector where? ('then' selector where?)* ('then' 'not' selector where?)? 'within' duration window?
 *              | 'computed' name cmp | 'score' name cmp | 'in' 'segment' name | 'consent' name
 *              | 'bucket' string 'from' int 'to' int
 *   selector   := ('page' | 'screen')? (string | '*')
 *   count      := ('at' 'least' | 'at' 'most' | 'exactly') int 'times'
 *   window     := 'in' 'last' duration | 'between' date 'and' date
 *   where      := 'where' '(' path cmp ('and' path cmp)* ')'
 *   cmp        := ('=' | '!=' | '<' | '<=' | '>' | '>=') value | ('in' | 'not' 'in') '[' value (',' value)* ']'
 *              | ('contains' | 'not' 'contains' | 'starts' 'with' | 'ends' 'with') string | 'exists' | 'not' 'exists'
 *              | 'within' ('last' | 'next') duration | 'more' 'than' duration 'ago' | ('before' | 'after') date
 *              | 'anniversary' 'within' int 'days'
 *   duration   := number unit          unit: minute(s) hour(s) day(s) week(s)
 *   name       := identifier | `back-quoted` | "string"      path := identifier ('.' (identifier | `quoted`))+
 *   value      := string | number | 'true' | 'false'        date: 2026-01-31 or 2026-01-31T10:00:00Z
 */
import { ConditionSchema, type Comparison, type Condition, type Diagnostic, type Duration, type EventSelector, type Filter, type TimeUnit, type Window } from './ast.js';

type TokKind = 'word' | 'string' | 'number' | 'date' | 'quoted' | 'op' | 'punct' | 'eof';
interface Tok { kind: TokKind; text: string; value: string | number; start: number; end: number }

class ParseError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

function err(code: string, message: string, start: number, end: number): never {
  throw new ParseError({ code, message, severity: 'error', span: { start, end } });
}

const KEYWORDS = ['and', 'or', 'not', 'all', 'any', 'track', 'trait', 'performed', 'sum', 'avg', 'min', 'max', 'count_distinct', 'of', 'for', 'first', 'last', 'value', 'sequence',
  'then', 'within', 'computed', 'score', 'in', 'segment', 'consent', 'bucket', 'from', 'to', 'page', 'screen', 'at', 'least', 'most', 'exactly', 'times',
  'between', 'where', 'contains', 'starts', 'ends', 'with', 'exists', 'next', 'more', 'than', 'ago', 'before', 'after', 'anniversary', 'days', 'true', 'false'];

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] as string;
    if (/\s/.test(ch)) { i++; continue; }
    const start = i;
    if (ch === '"') {
      i++;
      let closed = false;
      while (i < src.length) {
        if (src[i] === '\\') { i += 2; continue; }
        if (src[i] === '"') { closed = true; i++; break; }
        if (src[i] === '\n') break;
        i++;
      }
      if (!closed) err('syntax.unterminated_string', 'this string has no closing "', start, i);
      const text = src.slice(start, i);
      let value: string;
      try {
        value = JSON.parse(text) as string;
      } catch {
        err('syntax.bad_string', `invalid escape in the string ${text}`, start, i);
      }
      out.push({ kind: 'string', text, value, start, end: i });
      continue;
    }
    if (ch === '`') {
      i++;
      let value = '';
      let closed = false;
      while (i < src.length) {
        if (src[i] === '`') {
          if (src[i + 1] === '`') { value += '`'; i += 2; continue; }
          closed = true;
          i++;
          break;
        }
        value += src[i];
        i++;
      }
      if (!closed) err('syntax.unterminated_name', 'this `name` has no closing backtick', start, i);
      if (value === '') err('syntax.empty_name', 'an empty `` name', start, i);
      out.push({ kind: 'quoted', text: src.slice(start, i), value, start, end: i });
      continue;
    }
    const date = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?/.exec(src.slice(i));
    if (date) {
      i += date[0].length;
      out.push({ kind: 'date', text: date[0], value: date[0], start, end: i });
      continue;
    }
    const num = /^-?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num && (ch !== '-' || /[\d.]/.test(src[i + 1] ?? ''))) {
      i += num[0].length;
      out.push({ kind: 'number', text: num[0], value: Number(num[0]), start, end: i });
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (word) {
      i += word[0].length;
      out.push({ kind: 'word', text: word[0], value: word[0], start, end: i });
      continue;
    }
    const op = /^(<=|>=|!=|=|<|>)/.exec(src.slice(i));
    if (op) {
      i += op[0].length;
      out.push({ kind: 'op', text: op[0], value: op[0], start, end: i });
      continue;
    }
    if ('()[],.*'.includes(ch)) {
      i++;
      out.push({ kind: 'punct', text: ch, value: ch, start, end: i });
      continue;
    }
    err('syntax.unexpected_character', `unexpected character '${ch}'`, start, start + 1);
  }
  out.push({ kind: 'eof', text: 'the end', value: '', start: src.length, end: src.length });
  return out;
}

function describeTok(t: Tok): string {
  return t.kind === 'eof' ? 'the end of the text' : `"${t.text}"`;
}

/** Closest keyword for "did you mean" (edit distance ≤ 2). */
function suggest(word: string, options: string[]): string | undefined {
  const d = (a: string, b: string) => {
    const m = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) (m[0] as number[])[j] = j;
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
      (m[i] as number[])[j] = Math.min((m[i - 1] as number[])[j] as number + 1, (m[i] as number[])[j - 1] as number + 1, (m[i - 1] as number[])[j - 1] as number + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return (m[a.length] as number[])[b.length] as number;
  };
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const x = d(word.toLowerCase(), o);
    if (x < bestD) { bestD = x; best = o; }
  }
  return best;
}

const UNITS: Record<string, TimeUnit> = { minute: 'minutes', minutes: 'minutes', hour: 'hours', hours: 'hours', day: 'days', days: 'days', week: 'weeks', weeks: 'weeks' };
const ATOMS = ['all', 'any', 'trait', 'performed', 'sum', 'avg', 'min', 'max', 'count_distinct', 'first', 'last', 'sequence', 'computed', 'score', 'in', 'consent', 'bucket', 'not'];

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private get t(): Tok { return this.toks[this.i] as Tok; }
  private isWord(w: string, k = 0): boolean {
    const t = this.toks[this.i + k];
    return t !== undefined && t.kind === 'word' && t.text.toLowerCase() === w;
  }
  private take(): Tok { const t = this.t; this.i++; return t; }
  private atPunct(p: string): boolean { const t = this.toks[this.i]; return t !== undefined && t.kind === 'punct' && t.text === p; }
  private word(w: string, context: string): Tok {
    if (!this.isWord(w)) err('syntax.expected', `expected "${w}" ${context}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
    return this.take();
  }
  private punct(p: string, context: string): Tok {
    if (this.t.kind !== 'punct' || this.t.text !== p) err('syntax.expected', `expected "${p}" ${context}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
    return this.take();
  }

  parse(): Condition {
    const c = this.expr();
    if (this.t.kind !== 'eof') err('syntax.trailing', `unexpected ${describeTok(this.t)} after a complete condition (missing "and" / "or"?)`, this.t.start, this.t.end);
    return c;
  }

  private expr(): Condition {
    const parts = [this.and()];
    while (this.isWord('or')) { this.take(); parts.push(this.and()); }
    return parts.length === 1 ? (parts[0] as Condition) : { type: 'or', conditions: parts };
  }

  private and(): Condition {
    const parts = [this.unary()];
    while (this.isWord('and')) { this.take(); parts.push(this.unary()); }
    return parts.length === 1 ? (parts[0] as Condition) : { type: 'and', conditions: parts };
  }

  private unary(): Condition {
    if (this.isWord('not')) { this.take(); return { type: 'not', condition: this.unary() }; }
    if ((this.isWord('all') || this.isWord('any')) && this.toks[this.i + 1]?.text === '(') {
      // a group of one condition, kept as a group: all (x) / any (x)
      const kind = this.take().text.toLowerCase() === 'all' ? 'and' : 'or';
      const open = this.take();
      const inner = this.expr();
      if (!this.atPunct(')')) err('syntax.unbalanced', `expected ")" to close the "(" at ${open.start}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
      this.take();
      return { type: kind, conditions: [inner] };
    }
    if (this.atPunct('(')) {
      const open = this.take();
      const c = this.expr();
      if (!this.atPunct(')')) err('syntax.unbalanced', `expected ")" to close the "(" at ${open.start}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
      this.take();
      // a bracketed and / or stays one node, so that printing keeps the brackets it needs
      return c;
    }
    return this.atom();
  }

  private atom(): Condition {
    const t = this.t;
    if (t.kind !== 'word') err('syntax.expected_condition', `expected a condition (${ATOMS.filter((a) => a !== 'not').join(', ')}), found ${describeTok(t)}`, t.start, t.end);
    const w = t.text.toLowerCase();
    switch (w) {
      case 'trait': { this.take(); const trait = this.name('a trait name after "trait"'); return { type: 'trait', trait, ...this.cmp() } as Condition; }
      case 'performed': {
        this.take();
        const sel = this.selector();
        const count = this.count();
        const window = this.window();
        const where = this.where();
        return clean({ type: 'event', ...sel, ...(where ? { where } : {}), ...(count ? { count } : {}), ...(window ? { window } : {}) }) as Condition;
      }
      case 'sum': case 'avg': case 'min': case 'max': case 'count_distinct': {
        this.take();
        this.word('of', `after "${w}"`);
        const path = this.path();
        this.word('for', `after the path (${w} of ${path} for "Event")`);
        const sel = this.selector();
        const window = this.window();
        const where = this.where();
        const c = this.cmp();
        if (!['eq', 'neq', 'lt', 'lte', 'gt', 'gte'].includes(c.op) || typeof (c as { value?: unknown }).value !== 'number') err('syntax.expected_number_comparison', `an aggregate compares to a number (=, !=, <, <=, >, >= and a number)`, t.start, this.toks[this.i - 1]?.end ?? t.end);
        return clean({ type: 'aggregate', fn: w, path, ...sel, ...(where ? { where } : {}), ...(window ? { window } : {}), ...c }) as Condition;
      }
      case 'first': case 'last': {
        if (w === 'last' && this.isWord('value', 1)) {
          this.take(); this.take();
          this.word('of', 'after "last value"');
          const path = this.path();
          this.word('for', 'after the path (last value of properties.x for "Event")');
          const sel = this.selector();
          const window = this.window();
          const where = this.where();
          return clean({ type: 'last_value', path, ...sel, ...(where ? { where } : {}), ...(window ? { window } : {}), ...this.cmp() }) as Condition;
        }
        this.take();
        this.word('performed', `after "${w}" ("${w} performed" or "last value of")`);
        const sel = this.selector();
        const window = this.window();
        const where = this.where();
        const c = this.cmp();
        if (!['within_last', 'more_than_ago', 'before', 'after', 'exists', 'not_exists'].includes(c.op)) err('syntax.expected_date_comparison', `"${w} performed" compares a time: within last, more than … ago, before, after, exists`, t.start, this.toks[this.i - 1]?.end ?? t.end);
        return clean({ type: w === 'first' ? 'first_performed' : 'last_performed', ...sel, ...(where ? { where } : {}), ...(window ? { window } : {}), ...c }) as Condition;
      }
      case 'sequence': {
        this.take();
        const steps: EventSelector[] = [this.step()];
        let thenNot: EventSelector | undefined;
        while (this.isWord('then')) {
          this.take();
          if (this.isWord('not')) { this.take(); thenNot = this.step(); break; }
          steps.push(this.step());
        }
        this.word('within', 'after the steps of a sequence (… within 7 days)');
        const within = this.duration();
        const window = this.window();
        return clean({ type: 'sequence', steps, ...(thenNot ? { thenNot } : {}), within, ...(window ? { window } : {}) }) as Condition;
      }
      case 'computed': { this.take(); const key = this.name('a computed trait key'); return { type: 'computed_trait', key, ...this.cmp() } as Condition; }
      case 'score': { this.take(); const model = this.name('a model name'); return { type: 'score', model, ...this.cmp() } as Condition; }
      case 'in': { this.take(); this.word('segment', 'after "in"'); return { type: 'segment', segment: this.name('a segment key') }; }
      case 'consent': { this.take(); return { type: 'consent', purpose: this.name('a consent purpose') }; }
      case 'bucket': {
        this.take();
        if (this.t.kind !== 'string') err('syntax.expected_string', `expected the bucket's salt as a "string", found ${describeTok(this.t)}`, this.t.start, this.t.end);
        const salt = this.take().value as string;
        this.word('from', 'after the salt (bucket "salt" from 0 to 10)');
        const from = this.int('the first bucket');
        this.word('to', 'after the first bucket');
        const to = this.int('the bucket after the last');
        return { type: 'bucket', salt, from, to };
      }
      default: {
        const s = suggest(w, ATOMS);
        err('syntax.unknown_keyword', `unknown condition "${t.text}"${s ? ` — did you mean "${s}"?` : ''}`, t.start, t.end);
      }
    }
  }

  private step(): EventSelector {
    const sel = this.selector();
    const where = this.where();
    return clean({ ...sel, ...(where ? { where } : {}) }) as EventSelector;
  }

  private selector(): { event: string; messageType?: 'track' | 'page' | 'screen' } {
    let messageType: 'track' | 'page' | 'screen' | undefined;
    if (this.isWord('page') || this.isWord('screen') || this.isWord('track')) messageType = this.take().text.toLowerCase() as 'track' | 'page' | 'screen';
    const t = this.t;
    let event: string;
    if (t.kind === 'string') event = this.take().value as string;
    else if (t.kind === 'punct' && t.text === '*') { this.take(); event = '*'; }
    else err('syntax.expected_event', `expected an event name in "quotes" (or *), found ${describeTok(t)}`, t.start, t.end);
    return messageType ? { event, messageType } : { event };
  }

  private count(): { op: 'at_least' | 'at_most' | 'exactly'; value: number } | undefined {
    let op: 'at_least' | 'at_most' | 'exactly' | undefined;
    if (this.isWord('at') && this.isWord('least', 1)) { this.take(); this.take(); op = 'at_least'; }
    else if (this.isWord('at') && this.isWord('most', 1)) { this.take(); this.take(); op = 'at_most'; }
    else if (this.isWord('exactly')) { this.take(); op = 'exactly'; }
    if (!op) return undefined;
    const value = this.int(`a number of times after "${op.replace('_', ' ')}"`);
    if (this.isWord('times') || this.isWord('time')) this.take();
    else err('syntax.expected', `expected "times" after ${value}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
    return { op, value };
  }

  private window(): Window | undefined {
    if (this.isWord('in') && this.isWord('last', 1)) {
      this.take(); this.take();
      const d = this.duration();
      return { type: 'last', amount: d.amount, unit: d.unit };
    }
    if (this.isWord('between')) {
      this.take();
      const from = this.date('a date after "between"');
      this.word('and', 'between the two dates');
      const to = this.date('the second date');
      return { type: 'between', from, to };
    }
    return undefined;
  }

  private where(): Filter[] | undefined {
    if (!this.isWord('where')) return undefined;
    this.take();
    this.punct('(', 'after "where" (where (properties.x = 1 and …))');
    const out: Filter[] = [];
    for (;;) {
      const path = this.path();
      out.push({ path, ...this.cmp() } as Filter);
      if (this.isWord('and')) { this.take(); continue; }
      break;
    }
    this.punct(')', 'to close the filters of "where"');
    return out;
  }

  private cmp(): Comparison {
    const t = this.t;
    if (t.kind === 'op') {
      this.take();
      const op = ({ '=': 'eq', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' } as const)[t.text as '=' | '!=' | '<' | '<=' | '>' | '>='];
      return { op, value: this.value() };
    }
    if (this.isWord('in')) { this.take(); return { op: 'in', values: this.list() }; }
    if (this.isWord('not')) {
      const n = this.take();
      if (this.isWord('in')) { this.take(); return { op: 'not_in', values: this.list() }; }
      if (this.isWord('contains')) { this.take(); return { op: 'not_contains', value: this.string('after "not contains"') }; }
      if (this.isWord('exists')) { this.take(); return { op: 'not_exists' }; }
      err('syntax.expected', `expected "in", "contains" or "exists" after "not", found ${describeTok(this.t)}`, n.start, this.t.end);
    }
    if (this.isWord('contains')) { this.take(); return { op: 'contains', value: this.string('after "contains"') }; }
    if (this.isWord('starts')) { this.take(); this.word('with', 'after "starts"'); return { op: 'starts_with', value: this.string('after "starts with"') }; }
    if (this.isWord('ends')) { this.take(); this.word('with', 'after "ends"'); return { op: 'ends_with', value: this.string('after "ends with"') }; }
    if (this.isWord('exists')) { this.take(); return { op: 'exists' }; }
    if (this.isWord('within')) {
      this.take();
      if (this.isWord('last') || this.isWord('next')) {
        const which = this.take().text.toLowerCase();
        const d = this.duration();
        return { op: which === 'last' ? 'within_last' : 'within_next', amount: d.amount, unit: d.unit };
      }
      err('syntax.expected', `expected "last" or "next" after "within", found ${describeTok(this.t)}`, this.t.start, this.t.end);
    }
    if (this.isWord('more')) {
      this.take();
      this.word('than', 'after "more"');
      const d = this.duration();
      this.word('ago', `after "more than ${d.amount} ${d.unit}"`);
      return { op: 'more_than_ago', amount: d.amount, unit: d.unit };
    }
    if (this.isWord('before') || this.isWord('after')) {
      const op = this.take().text.toLowerCase() as 'before' | 'after';
      return { op, date: this.date(`a date after "${op}"`) };
    }
    if (this.isWord('anniversary')) {
      this.take();
      this.word('within', 'after "anniversary"');
      const days = this.int('a number of days');
      if (this.isWord('days') || this.isWord('day')) this.take();
      else err('syntax.expected', `expected "days" after ${days}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
      return { op: 'anniversary_within', days };
    }
    err('syntax.expected_comparison', `expected a comparison (=, !=, <, >, in, contains, exists, within last, before, …), found ${describeTok(t)}`, t.start, t.end);
  }

  private list(): Array<string | number | boolean> {
    this.punct('[', 'to start a list of values');
    const out = [this.value()];
    while (this.atPunct(',')) { this.take(); out.push(this.value()); }
    this.punct(']', 'to close the list of values');
    return out;
  }

  private value(): string | number | boolean {
    const t = this.t;
    if (t.kind === 'string' || t.kind === 'number') return this.take().value;
    if (this.isWord('true')) { this.take(); return true; }
    if (this.isWord('false')) { this.take(); return false; }
    err('syntax.expected_value', `expected a value ("text", a number, true or false), found ${describeTok(t)}`, t.start, t.end);
  }

  private string(context: string): string {
    if (this.t.kind !== 'string') err('syntax.expected_string', `expected a "string" ${context}, found ${describeTok(this.t)}`, this.t.start, this.t.end);
    return this.take().value as string;
  }

  private int(what: string): number {
    const t = this.t;
    if (t.kind !== 'number' || !Number.isInteger(t.value)) err('syntax.expected_integer', `expected ${what} (a whole number), found ${describeTok(t)}`, t.start, t.end);
    this.take();
    return t.value as number;
  }

  private duration(): Duration {
    const t = this.t;
    if (t.kind !== 'number') err('syntax.expected_number', `expected a number of minutes, hours, days or weeks, found ${describeTok(t)}`, t.start, t.end);
    this.take();
    const u = this.t;
    const unit = u.kind === 'word' ? UNITS[u.text.toLowerCase()] : undefined;
    if (!unit) err('syntax.expected_unit', `expected a unit (minutes, hours, days, weeks) after ${t.text}, found ${describeTok(u)}`, u.start, u.end);
    this.take();
    return { amount: t.value as number, unit };
  }

  private date(what: string): string {
    const t = this.t;
    if (t.kind !== 'date') err('value.invalid_date', `expected ${what} like 2026-01-31 or 2026-01-31T10:00:00Z, found ${describeTok(t)}`, t.start, t.end);
    if (!Number.isFinite(Date.parse(t.text))) err('value.invalid_date', `${t.text} is not a real date`, t.start, t.end);
    this.take();
    return t.text;
  }

  private name(what: string): string {
    const t = this.t;
    if (t.kind === 'word' || t.kind === 'quoted' || t.kind === 'string') { this.take(); return String(t.value); }
    err('syntax.expected_name', `expected ${what}, found ${describeTok(t)}`, t.start, t.end);
  }

  private path(): string {
    const first = this.t;
    if (first.kind !== 'word') err('syntax.expected_path', `expected a path like properties.revenue, found ${describeTok(first)}`, first.start, first.end);
    const parts = [String(this.take().value)];
    while (this.atPunct('.')) {
      this.take();
      const seg = this.t;
      if (seg.kind !== 'word' && seg.kind !== 'quoted') err('syntax.expected_path', `expected a name after "." in the path, found ${describeTok(seg)}`, seg.start, seg.end);
      parts.push(String(this.take().value));
    }
    if (parts.length < 2) err('syntax.expected_path', `a path starts with properties., context. or products. (found "${parts[0]}")`, first.start, this.toks[this.i - 1]?.end ?? first.end);
    return parts.join('.');
  }
}

/** Drop keys whose value is undefined (so parse output deep-equals the JSON form). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function parseSegmentText(source: string): { condition?: Condition; diagnostics: Diagnostic[] } {
  let c: Condition;
  try {
    c = new Parser(lex(source)).parse();
  } catch (e) {
    if (e instanceof ParseError) return { diagnostics: [e.diagnostic] };
    throw e;
  }
  const r = ConditionSchema.safeParse(c);
  if (!r.success) {
    return { diagnostics: r.error.issues.map((i) => ({ code: 'schema.invalid', severity: 'error' as const, message: `${i.path.join('.') || 'condition'}: ${i.message}`, span: { start: 0, end: source.length } })) };
  }
  return { condition: r.data, diagnostics: [] };
}

// ---- printing --------------------------------------------------------------------------------------

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(KEYWORDS);

function name(n: string): string {
  return IDENT.test(n) && !RESERVED.has(n.toLowerCase()) ? n : '`' + n.replace(/`/g, '``') + '`';
}

function pathText(p: string): string {
  const [root, ...rest] = p.split('.');
  return [root, ...rest.map((s) => (IDENT.test(s) && !RESERVED.has(s.toLowerCase()) ? s : '`' + s.replace(/`/g, '``') + '`'))].join('.');
}

function num(n: number): string {
  return JSON.stringify(n);
}

function val(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' ? num(v) : String(v);
}

function dur(amount: number, unit: TimeUnit): string {
  return `${num(amount)} ${unit}`;
}

function cmpText(c: Comparison): string {
  switch (c.op) {
    case 'eq': return `= ${val(c.value)}`;
    case 'neq': return `!= ${val(c.value)}`;
    case 'lt': return `< ${val(c.value)}`;
    case 'lte': return `<= ${val(c.value)}`;
    case 'gt': return `> ${val(c.value)}`;
    case 'gte': return `>= ${val(c.value)}`;
    case 'in': return `in [${c.values.map(val).join(', ')}]`;
    case 'not_in': return `not in [${c.values.map(val).join(', ')}]`;
    case 'contains': return `contains ${JSON.stringify(c.value)}`;
    case 'not_contains': return `not contains ${JSON.stringify(c.value)}`;
    case 'starts_with': return `starts with ${JSON.stringify(c.value)}`;
    case 'ends_with': return `ends with ${JSON.stringify(c.value)}`;
    case 'exists': return 'exists';
    case 'not_exists': return 'not exists';
    case 'within_last': return `within last ${dur(c.amount, c.unit)}`;
    case 'within_next': return `within next ${dur(c.amount, c.unit)}`;
    case 'more_than_ago': return `more than ${dur(c.amount, c.unit)} ago`;
    case 'before': return `before ${c.date}`;
    case 'after': return `after ${c.date}`;
    case 'anniversary_within': return `anniversary within ${c.days} days`;
  }
}

function comparisonOf(c: Comparison): Comparison {
  // the comparison fields of a condition that carries them beside its own
  const { op } = c;
  const out: Record<string, unknown> = { op };
  for (const k of ['value', 'values', 'amount', 'unit', 'date', 'days'] as const) if (k in c) out[k] = (c as Record<string, unknown>)[k];
  return out as unknown as Comparison;
}

function selText(s: EventSelector): string {
  const ev = s.event === '*' ? '*' : JSON.stringify(s.event);
  return s.messageType ? `${s.messageType} ${ev}` : ev;
}

function whereText(w: Filter[] | undefined): string {
  return w?.length ? ` where (${w.map((f) => `${pathText(f.path)} ${cmpText(comparisonOf(f))}`).join(' and ')})` : '';
}

function winText(w: Window | undefined): string {
  if (!w) return '';
  return w.type === 'last' ? ` in last ${dur(w.amount, w.unit)}` : ` between ${w.from} and ${w.to}`;
}

export function printSegmentText(c: Condition): string {
  return print(c, 0);
}

/** prec: 0 top / or-operand, 1 and-operand, 2 not-operand. */
function print(c: Condition, prec: number): string {
  switch (c.type) {
    case 'or': {
      if (c.conditions.length === 1) return `any (${print(c.conditions[0] as Condition, 0)})`;
      const s = c.conditions.map((x) => print(x, 1)).join(' or ');
      return prec > 0 ? `(${s})` : s;
    }
    case 'and': {
      if (c.conditions.length === 1) return `all (${print(c.conditions[0] as Condition, 0)})`;
      const s = c.conditions.map((x) => print(x, 2)).join(' and ');
      return prec > 1 ? `(${s})` : s;
    }
    case 'not': return `not ${print(c.condition, 2)}`;
    case 'trait': return `trait ${name(c.trait)} ${cmpText(comparisonOf(c))}`;
    case 'event': {
      const n = c.count ? ` ${c.count.op === 'exactly' ? 'exactly' : c.count.op === 'at_least' ? 'at least' : 'at most'} ${c.count.value} times` : '';
      return `performed ${selText(c)}${n}${winText(c.window)}${whereText(c.where)}`;
    }
    case 'aggregate': return `${c.fn} of ${pathText(c.path)} for ${selText(c)}${winText(c.window)}${whereText(c.where)} ${cmpText(comparisonOf(c as unknown as Comparison))}`;
    case 'first_performed': case 'last_performed':
      return `${c.type === 'first_performed' ? 'first' : 'last'} performed ${selText(c)}${winText(c.window)}${whereText(c.where)} ${cmpText(comparisonOf(c as unknown as Comparison))}`;
    case 'last_value': return `last value of ${pathText(c.path)} for ${selText(c)}${winText(c.window)}${whereText(c.where)} ${cmpText(comparisonOf(c as unknown as Comparison))}`;
    case 'sequence': {
      const steps = c.steps.map((s) => `${selText(s)}${whereText(s.where)}`).join(' then ');
      const not = c.thenNot ? ` then not ${selText(c.thenNot)}${whereText(c.thenNot.where)}` : '';
      return `sequence ${steps}${not} within ${dur(c.within.amount, c.within.unit)}${winText(c.window)}`;
    }
    case 'computed_trait': return `computed ${name(c.key)} ${cmpText(comparisonOf(c))}`;
    case 'score': return `score ${name(c.model)} ${cmpText(comparisonOf(c))}`;
    case 'segment': return `in segment ${name(c.segment)}`;
    case 'consent': return `consent ${name(c.purpose)}`;
    case 'bucket': return `bucket ${JSON.stringify(c.salt)} from ${c.from} to ${c.to}`;
  }
}

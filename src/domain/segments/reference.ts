/**
 * The reference evaluator: the segment language's semantics (the paragraph at the top of ast.ts) written
 * directly, for one profile at a time, in memory. It is
 * - the oracle of the property test that compares the SQL compiled by compile.ts on DuckDB and ClickHouse
 *   with it, so it is written to be obviously right, not fast, and shares no code with compile.ts; and
 * - `explain`: the condition tree of one profile with each node's value and whether it holds.
 *
 * Pure: no I/O, no clock (the caller passes `now`, epoch ms). The rules, precisely (the SQL must match):
 *
 * Values and missing
 * - A value is *missing* when it is absent or JSON `null`. Paths are looked up key by key through plain
 *   objects only (a key that reaches an array, a string, … is missing; arrays are not indexed).
 * - Two-valued logic: every condition is true or false. A comparison on a missing value is false, except
 *   `neq`, `not_in`, `not_contains` and `not_exists`, which are true on a missing value.
 * - The literal's type picks the comparison, and a stored value of another type counts as missing:
 *   - number literal: the stored value must be a finite JSON number, or a JSON string in plain decimal
 *     notation (`NUMERIC_TEXT`: optional spaces, optional `-`, digits with an optional fraction, an
 *     optional exponent, optional spaces; no `+`, hex, `Infinity` or empty string) whose value is finite;
 *   - boolean literal: the stored value must be a JSON boolean;
 *   - string literal: the stored value must be a JSON string. `eq` / `neq` / `in` / `not_in` and
 *     `lt` … `gte` are case-sensitive (ordering by Unicode code point); `contains`, `not_contains`,
 *     `starts_with` and `ends_with` compare both sides case-folded (`foldCase`: each code point
 *     lower-cased on its own, final ς read as σ).
 * - `in` holds when any literal matches by its own type's rule; `not_in` is `not in` (true when missing).
 * - `exists` holds when the value is present (any JSON type but null); `not_exists` is its negation.
 * - Dates: a stored date is a finite JSON number (epoch ms) or a JSON string of the ISO-8601 shape
 *   `YYYY-MM-DD[THH:MM[:SS[.ffffff]][Z|±HH:MM]]` that is a real calendar date (`isCalendarDate`);
 *   without an offset it is UTC. Anything else is missing. Literal dates (`before`, `after`, `between`)
 *   are read the same way. With t the stored time and D = amount × UNIT_MS[unit]:
 *   `within_last`: now − D < t ≤ now; `within_next`: now ≤ t < now + D; `more_than_ago`: t ≤ now − D;
 *   `before d`: t < d; `after d`: t > d; `anniversary_within n`: the UTC month and day of t is the month
 *   and day of one of the UTC calendar days today … today + n (a 29 February is celebrated on
 *   28 February in years without one).
 *
 * Events
 * - Only events with a finite timestamp ≤ now exist, everywhere (future events are ignored).
 * - A selector matches an event when its message type is the selector's (`messageType`, default
 *   `track`; identify / group / alias events never match), its name is the selector's (`event` for
 *   track, `name` for page and screen; `*` matches any), it lies in the window (`last`: now − D < ts ≤ now;
 *   `between`: from ≤ ts < to) and every filter holds. Filters on `properties.…` / `context.…` read
 *   the event; the `products.…` filters must all hold on one line item: a plain object in the event's
 *   `properties.products` array (an event without such an array, or without such an item, does not match).
 * - The *values at a path* of a matching event: for `properties.…` / `context.…` one value (perhaps
 *   missing); for `products.…` one value per line item that passes the selector's `products.…` filters
 *   (one missing value if no line item does).
 * - `event`: the number of matching events compared with the count (default at least 1).
 * - `aggregate`: over the values at the path of the matching events. `sum` of the numeric values (numeric
 *   rule above; others skipped) is 0 when there are none; `avg` / `min` / `max` are missing when there
 *   are none; `count_distinct` counts the distinct present values by JSON text (JSON.stringify), 0 when none.
 * - `first_performed` / `last_performed`: the smallest / largest timestamp of the matching events,
 *   missing when there are none, compared as a date.
 * - `last_value` (and the computed `first` / `last`): the values at the path of the matching events are
 *   ordered by (timestamp, JSON text) with a missing value below every present one; `last` takes the
 *   greatest, `first` the smallest. So the latest event wins, a tie in time goes to the greater (first:
 *   smaller) JSON text, and a latest event without the path gives missing (no fall back to earlier events).
 * - `sequence` steps S1…Sn within T [window W]: holds iff there are distinct events e1…en, ei matching
 *   Si (and W), with e1.ts ≤ e2.ts ≤ … ≤ en.ts and en.ts − e1.ts ≤ T. With `thenNot` X: holds iff such a
 *   chain ends at some time t with t + T ≤ now and no event matching X (without the window) has
 *   t ≤ x.ts ≤ t + T (a step event matching X blocks too).
 * - `computed_trait` / `score`: the comparison on `p.computed[key]` (a JSON value, like a trait) /
 *   `p.scores[model]` (a number; no date reading). `segment`: `p.segments` has the key. `consent`:
 *   `p.consents[purpose] === true`. `bucket`: from ≤ bucketOf(salt, profileId) < to (md5.ts).
 *
 * Derived inputs. `computed`, `segments` and `consents` may be left out of the profile; then they come
 * from the events, as the compiled SQL computes them, given an `EvalContext` instead of a bare `now`:
 * - a computed trait from its definition in `ctx.computed` (`computeTrait`); the numeric kinds (count,
 *   sum, avg, min, max, unique_count, days_since_*) are then compared as numbers only (no date reading);
 * - a segment by evaluating its definition in `ctx.segments` (an unknown or cyclic reference throws);
 * - consents by `consentsFromEvents` (the latest boolean `context.consent.categoryPreferences.<purpose>`).
 *
 * Ordering of text (JSON texts, strings) is by Unicode code point, as UTF-8 bytes order in SQL.
 */
import { isPlainObject, type JsonObject, type JsonValue } from '../errors.js';
import { UNIT_MS, isCalendarDate, type Comparison, type ComputedTraitDefinition, type Condition, type EventSelector, type Filter, type Window } from './ast.js';
import { describe } from './describe.js';
import { bucketOf } from './md5.js';
import { foldCase } from './fold.js';

export type EvalMessageType = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';

export interface EvalEvent {
  /** The message type (any other string is accepted and matches no selector). */
  type: EvalMessageType | (string & {});
  /** The message id (not read: events are told apart by their position in `events`). */
  messageId: string;
  /** Track event name (already normalised). */
  event?: string | undefined;
  /** Page / screen name. */
  name?: string | undefined;
  /** Epoch ms. */
  timestamp: number;
  properties: Record<string, JsonValue>;
  context: Record<string, JsonValue>;
}

export interface EvalProfile {
  profileId: string;
  /** In any order. */
  events: EvalEvent[];
  /** Current trait values. */
  traits: Record<string, JsonValue>;
  /** Computed trait values by key (left out: from `EvalContext.computed`, see the file comment). */
  computed?: Record<string, JsonValue> | undefined;
  /** Model scores by model name. */
  scores: Record<string, number>;
  /** Purpose → granted, missing = not granted (left out: `consentsFromEvents`). */
  consents?: Record<string, boolean> | undefined;
  /** Keys of the other segments this profile is a member of (left out: from `EvalContext.segments`). */
  segments?: ReadonlySet<string> | undefined;
}

/** `now` with the definitions that derived inputs come from (see the file comment). */
export interface EvalContext {
  now: number;
  segments?: ReadonlyMap<string, Condition> | undefined;
  computed?: ReadonlyMap<string, ComputedTraitDefinition> | undefined;
}

export interface ExplainNode {
  label: string;
  holds: boolean;
  /** The evaluated value of a leaf, printed compactly (`missing` when missing). */
  value?: string;
  children?: ExplainNode[];
}

const DAY_MS = 86_400_000;
const NUMERIC_KINDS: ReadonlySet<string> = new Set(['count', 'sum', 'avg', 'min', 'max', 'unique_count', 'days_since_last', 'days_since_first']);
/** Plain decimal notation, as the SQL dialects' NUMERIC_RE. */
const NUMERIC_TEXT = /^ *-?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *$/;
const ISO_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$/;

/** A value as read from a document; undefined = missing. */
type Val = JsonValue | undefined;

// ---- reading values -------------------------------------------------------------------------------

function own(doc: Record<string, JsonValue>, key: string): Val {
  return Object.hasOwn(doc, key) ? doc[key] : undefined;
}

/** Key-by-key lookup through plain objects; JSON null is missing. */
function lookup(doc: JsonObject, keys: readonly string[]): Val {
  let v: Val = doc;
  for (const k of keys) {
    if (!isPlainObject(v)) return undefined;
    v = own(v, k);
  }
  return v === null ? undefined : v;
}

/** The numeric reading of a value (numeric rule in the file comment); undefined = missing. */
export function toNumber(v: Val): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMERIC_TEXT.test(v)) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Epoch ms of an ISO-8601 string (UTC without an offset), or undefined if it is not one. */
export function parseIsoDate(s: string): number | undefined {
  const m = ISO_DATE.exec(s);
  if (!m || !isCalendarDate(s)) return undefined;
  const utc = m[1] === undefined ? `${s}T00:00:00Z` : m[4] === undefined ? `${s}Z` : s;
  const t = Date.parse(utc);
  return Number.isFinite(t) ? t : undefined;
}

/** The date reading of a value: a finite number (epoch ms) or an ISO string; undefined = missing. */
function toDate(v: Val): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return parseIsoDate(v);
  return undefined;
}

/** A literal date of a definition (validated by the schema; an invalid one compares false). */
function literalDate(s: string): number {
  return parseIsoDate(s) ?? Number.NaN;
}

/** Compare by Unicode code point (UTF-16 order differs for characters above U+FFFF). */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // surrogates (D800-DFFF) encode code points above every BMP character: move them above E000-FFFF
      x += x >= 0xe000 ? -0x800 : 0x2000;
      y += y >= 0xe000 ? -0x800 : 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** JSON text of a present value (the identity used by distinct counts, most frequent, tie-breaks). */
function jsonText(v: JsonValue): string {
  return JSON.stringify(v);
}

// ---- comparisons -----------------------------------------------------------------------------------

/** The typed readings of one value, as the comparisons see them (undefined = missing for that type). */
interface Typed {
  present: boolean;
  num?: number | undefined;
  str?: string | undefined;
  bool?: boolean | undefined;
  date?: number | undefined;
}

function typedJson(v: Val): Typed {
  const present = v !== undefined && v !== null;
  return { present, num: toNumber(v), str: typeof v === 'string' ? v : undefined, bool: typeof v === 'boolean' ? v : undefined, date: toDate(v) };
}

/** A number (aggregate, score): numeric comparisons only. */
function typedNumber(n: number | undefined): Typed {
  const v = n !== undefined && Number.isFinite(n) ? n : undefined;
  return { present: v !== undefined, num: v };
}

/** A time (first / last performed): compared as a date. */
function typedTime(t: number | undefined): Typed {
  return { present: t !== undefined, num: t, date: t };
}

function ordered(a: number | string | boolean, b: number | string | boolean): number {
  if (typeof a === 'string' && typeof b === 'string') return compareText(a, b);
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return Number(a) - Number(b);
}

function literalMatches(x: Typed, lit: string | number | boolean): boolean {
  if (typeof lit === 'number') return x.num !== undefined && x.num === lit;
  if (typeof lit === 'boolean') return x.bool !== undefined && x.bool === lit;
  return x.str !== undefined && x.str === lit;
}

function leap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** The anniversary of `t` (UTC month and day; 29 Feb → 28 Feb in other years) is one of today … today + days. */
function anniversaryWithin(t: number, now: number, days: number): boolean {
  const born = new Date(t);
  const month = born.getUTCMonth();
  const day = born.getUTCDate();
  if (Number.isNaN(month)) return false;
  const today = Math.floor(now / DAY_MS);
  for (let i = 0; i <= days; i++) {
    const d = new Date((today + i) * DAY_MS);
    const y = d.getUTCFullYear();
    const celebrated = month === 1 && day === 29 && !leap(y) ? 28 : day;
    if (d.getUTCMonth() === month && d.getUTCDate() === celebrated) return true;
  }
  return false;
}

/** One comparison on one value, by the rules of the file comment. */
function compare(x: Typed, c: Comparison, now: number): boolean {
  switch (c.op) {
    case 'eq': case 'neq': case 'lt': case 'lte': case 'gt': case 'gte': {
      const lit = c.value;
      const v = typeof lit === 'number' ? x.num : typeof lit === 'boolean' ? x.bool : x.str;
      if (v === undefined) return c.op === 'neq';
      const o = ordered(v, lit);
      return c.op === 'eq' ? o === 0 : c.op === 'neq' ? o !== 0 : c.op === 'lt' ? o < 0 : c.op === 'lte' ? o <= 0 : c.op === 'gt' ? o > 0 : o >= 0;
    }
    case 'in': return c.values.some((lit) => literalMatches(x, lit));
    case 'not_in': return !c.values.some((lit) => literalMatches(x, lit));
    case 'contains': return x.str !== undefined && foldCase(x.str).includes(foldCase(c.value));
    case 'not_contains': return !(x.str !== undefined && foldCase(x.str).includes(foldCase(c.value)));
    case 'starts_with': return x.str !== undefined && foldCase(x.str).startsWith(foldCase(c.value));
    case 'ends_with': return x.str !== undefined && foldCase(x.str).endsWith(foldCase(c.value));
    case 'exists': return x.present;
    case 'not_exists': return !x.present;
    case 'within_last': return x.date !== undefined && now - c.amount * UNIT_MS[c.unit] < x.date && x.date <= now;
    case 'within_next': return x.date !== undefined && now <= x.date && x.date < now + c.amount * UNIT_MS[c.unit];
    case 'more_than_ago': return x.date !== undefined && x.date <= now - c.amount * UNIT_MS[c.unit];
    case 'before': return x.date !== undefined && x.date < literalDate(c.date);
    case 'after': return x.date !== undefined && x.date > literalDate(c.date);
    case 'anniversary_within': return x.date !== undefined && anniversaryWithin(x.date, now, c.days);
  }
}

// ---- events ------------------------------------------------------------------------------------------

function inWindow(ts: number, w: Window | undefined, now: number): boolean {
  if (!w) return true;
  if (w.type === 'last') return now - w.amount * UNIT_MS[w.unit] < ts && ts <= now;
  return literalDate(w.from) <= ts && ts < literalDate(w.to);
}

/** `properties.a.b` → root 'properties', keys ['a', 'b']. */
function splitPath(path: string): { root: 'properties' | 'context' | 'products'; keys: string[] } {
  const [root, ...keys] = path.split('.');
  if (root !== 'properties' && root !== 'context' && root !== 'products') throw new Error(`path '${path}' must start with properties., context. or products.`);
  return { root, keys };
}

/** The plain-object line items of an event's `properties.products` array. */
function lineItems(e: EvalEvent): JsonObject[] {
  const p = own(e.properties, 'products');
  return Array.isArray(p) ? p.filter(isPlainObject) : [];
}

function itemFilters(s: EventSelector): Filter[] {
  return (s.where ?? []).filter((f) => splitPath(f.path).root === 'products');
}

function itemPasses(item: JsonObject, filters: readonly Filter[], now: number): boolean {
  return filters.every((f) => compare(typedJson(lookup(item, splitPath(f.path).keys)), f, now));
}

/** Whether an event (already known to be ≤ now) matches a selector in a window. */
function matches(e: EvalEvent, s: EventSelector, w: Window | undefined, now: number): boolean {
  const type = s.messageType ?? 'track';
  if (e.type !== type) return false;
  if (s.event !== '*' && (type === 'track' ? e.event : e.name) !== s.event) return false;
  if (!inWindow(e.timestamp, w, now)) return false;
  for (const f of s.where ?? []) {
    const { root, keys } = splitPath(f.path);
    if (root === 'products') continue;
    if (!compare(typedJson(lookup(root === 'context' ? e.context : e.properties, keys)), f, now)) return false;
  }
  const items = itemFilters(s);
  return items.length === 0 || lineItems(e).some((it) => itemPasses(it, items, now));
}

/** The events that exist at `now`: finite timestamps ≤ now. */
function pastEvents(p: EvalProfile, now: number): EvalEvent[] {
  return p.events.filter((e) => Number.isFinite(e.timestamp) && e.timestamp <= now);
}

function selected(p: EvalProfile, s: EventSelector, w: Window | undefined, now: number): EvalEvent[] {
  return pastEvents(p, now).filter((e) => matches(e, s, w, now));
}

/** The values at a path of the matching events, each with its event's time (see the file comment). */
function valuesAt(events: readonly EvalEvent[], s: EventSelector, path: string, now: number): Array<{ ts: number; v: Val }> {
  const { root, keys } = splitPath(path);
  const out: Array<{ ts: number; v: Val }> = [];
  for (const e of events) {
    if (root !== 'products') {
      out.push({ ts: e.timestamp, v: lookup(root === 'context' ? e.context : e.properties, keys) });
      continue;
    }
    const items = lineItems(e).filter((it) => itemPasses(it, itemFilters(s), now));
    if (items.length === 0) out.push({ ts: e.timestamp, v: undefined });
    for (const it of items) out.push({ ts: e.timestamp, v: lookup(it, keys) });
  }
  return out;
}

function presentValues(vals: ReadonlyArray<{ v: Val }>): JsonValue[] {
  return vals.map((x) => x.v).filter((v): v is JsonValue => v !== undefined && v !== null);
}

/** sum / avg / min / max over the numeric readings; count_distinct over the JSON texts of present values. */
function aggregateOf(fn: 'sum' | 'avg' | 'min' | 'max' | 'count_distinct', vals: ReadonlyArray<{ v: Val }>): number | undefined {
  if (fn === 'count_distinct') return new Set(presentValues(vals).map(jsonText)).size;
  // summed in ascending order, so the result does not depend on the order of the events
  const nums = vals.map((x) => toNumber(x.v)).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
  const sum = nums.reduce((a, b) => a + b, 0);
  if (fn === 'sum') return sum;
  if (nums.length === 0) return undefined;
  if (fn === 'avg') return sum / nums.length;
  return fn === 'min' ? nums[0] : nums[nums.length - 1];
}

/** Order of (timestamp, JSON text) with missing below every present value. */
function edgeOrder(a: { ts: number; v: Val }, b: { ts: number; v: Val }): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  const ta = a.v === undefined || a.v === null ? undefined : jsonText(a.v);
  const tb = b.v === undefined || b.v === null ? undefined : jsonText(b.v);
  if (ta === undefined || tb === undefined) return ta === tb ? 0 : ta === undefined ? -1 : 1;
  return compareText(ta, tb);
}

/** The value of the latest (`last`) or earliest (`first`) matching event, ties by JSON text. */
function edgeValue(vals: ReadonlyArray<{ ts: number; v: Val }>, which: 'first' | 'last'): Val {
  let best: { ts: number; v: Val } | undefined;
  for (const x of vals) {
    if (!best) best = x;
    else {
      const o = edgeOrder(x, best);
      if (which === 'last' ? o > 0 : o < 0) best = x;
    }
  }
  return best?.v === null ? undefined : best?.v;
}

/** End times of the completed chains of a sequence's steps (see the file comment), ascending. */
function sequenceEnds(p: EvalProfile, steps: readonly EventSelector[], within: number, w: Window | undefined, now: number): number[] {
  const events = pastEvents(p, now);
  const cands = steps.map((s) => events.map((e, i) => (matches(e, s, w, now) ? i : -1)).filter((i) => i >= 0));
  const ts = (i: number) => (events[i] as EvalEvent).timestamp;
  const ends = new Set<number>();
  for (const start of cands[0] ?? []) {
    const deadline = ts(start) + within;
    // Depth-first over the next steps. An event used earlier can only be chosen again when it has the
    // same time as the last chosen one (times never decrease), so `sameTime` (the chosen events at the
    // last chosen time) is all the state needed to keep events distinct. Every end reachable from a
    // state is recorded on the first visit, so a state is walked once.
    const visited = new Set<string>();
    const walk = (step: number, last: number, sameTime: number[]): void => {
      if (step === steps.length) {
        ends.add(ts(last));
        return;
      }
      const key = `${step}:${last}:${[...sameTime].sort((a, b) => a - b).join(',')}`;
      if (visited.has(key)) return;
      visited.add(key);
      for (const e of cands[step] ?? []) {
        if (ts(e) < ts(last) || ts(e) > deadline || sameTime.includes(e)) continue;
        walk(step + 1, e, ts(e) === ts(last) ? [...sameTime, e] : [e]);
      }
    };
    walk(1, start, [start]);
  }
  return [...ends].sort((a, b) => a - b);
}

function sequenceOf(c: Extract<Condition, { type: 'sequence' }>, p: EvalProfile, now: number): { holds: boolean; end: number | undefined } {
  const T = c.within.amount * UNIT_MS[c.within.unit];
  const ends = sequenceEnds(p, c.steps, T, c.window, now);
  if (!c.thenNot) return { holds: ends.length > 0, end: ends[0] };
  const xs = selected(p, c.thenNot, undefined, now).map((e) => e.timestamp);
  const ok = ends.find((t) => t + T <= now && !xs.some((x) => t <= x && x <= t + T));
  return { holds: ok !== undefined, end: ok };
}

// ---- evaluation ----------------------------------------------------------------------------------

/** A leaf's verdict and the value it was decided on (for explain). */
interface LeafResult { holds: boolean; value?: string | undefined }

/** The evaluation time, the definitions of derived inputs, and the segments being expanded (cycles). */
interface Env { now: number; ctx: EvalContext | undefined; expanding: readonly string[] }

function envOf(at: number | EvalContext): Env {
  return typeof at === 'number' ? { now: at, ctx: undefined, expanding: [] } : { now: at.now, ctx: at, expanding: [] };
}

/** A computed trait's value and how it compares (see "Derived inputs" in the file comment). */
function computedOf(key: string, p: EvalProfile, env: Env): Typed & { shown: string } {
  const def = env.ctx?.computed?.get(key);
  const v: Val = p.computed ? own(p.computed, key) : def ? computeTrait(def, p, env.now) : undefined;
  if (def && NUMERIC_KINDS.has(def.kind)) return { ...typedNumber(typeof v === 'number' ? v : undefined), shown: show(v) };
  return { ...typedJson(v), shown: show(v) };
}

function memberOf(segment: string, p: EvalProfile, env: Env): boolean {
  if (p.segments) return p.segments.has(segment);
  const def = env.ctx?.segments?.get(segment);
  if (!def) throw new Error(`segment '${segment}' is unknown: give the profile's segments or its definition`);
  if (env.expanding.includes(segment)) throw new Error(`segment reference cycle through '${segment}'`);
  return holds(def, p, { ...env, expanding: [...env.expanding, segment] });
}

function leaf(c: Exclude<Condition, { type: 'and' | 'or' | 'not' }>, p: EvalProfile, env: Env): LeafResult {
  const now = env.now;
  switch (c.type) {
    case 'trait': {
      const v = own(p.traits, c.trait);
      return { holds: compare(typedJson(v), c, now), value: show(v) };
    }
    case 'event': {
      const n = selected(p, c, c.window, now).length;
      const count = c.count ?? { op: 'at_least', value: 1 };
      const holds = count.op === 'at_least' ? n >= count.value : count.op === 'exactly' ? n === count.value : n <= count.value;
      return { holds, value: String(n) };
    }
    case 'aggregate': {
      const v = aggregateOf(c.fn, valuesAt(selected(p, c, c.window, now), c, c.path, now));
      return { holds: compare(typedNumber(v), c, now), value: show(v) };
    }
    case 'first_performed': case 'last_performed': {
      const times = selected(p, c, c.window, now).map((e) => e.timestamp);
      const t = times.length === 0 ? undefined : c.type === 'first_performed' ? Math.min(...times) : Math.max(...times);
      return { holds: compare(typedTime(t), c, now), value: t === undefined ? 'never' : showTime(t) };
    }
    case 'last_value': {
      const v = edgeValue(valuesAt(selected(p, c, c.window, now), c, c.path, now), 'last');
      return { holds: compare(typedJson(v), c, now), value: show(v) };
    }
    case 'sequence': {
      const r = sequenceOf(c, p, now);
      return { holds: r.holds, value: r.end === undefined ? 'none' : `completed ${showTime(r.end)}` };
    }
    case 'computed_trait': {
      const v = computedOf(c.key, p, env);
      return { holds: compare(v, c, now), value: v.shown };
    }
    case 'score': {
      const v = Object.hasOwn(p.scores, c.model) ? p.scores[c.model] : undefined;
      return { holds: compare(typedNumber(v), c, now), value: show(v) };
    }
    case 'segment': {
      const member = memberOf(c.segment, p, env);
      return { holds: member, value: member ? 'member' : 'not a member' };
    }
    case 'consent': {
      const consents = p.consents ?? consentsFromEvents(p.events, now);
      const v = Object.hasOwn(consents, c.purpose) ? consents[c.purpose] : undefined;
      return { holds: v === true, value: v === undefined ? 'missing' : v ? 'granted' : 'not granted' };
    }
    case 'bucket': {
      const b = bucketOf(c.salt, p.profileId);
      return { holds: c.from <= b && b < c.to, value: String(b) };
    }
  }
}

function holds(c: Condition, p: EvalProfile, env: Env): boolean {
  switch (c.type) {
    case 'and': return c.conditions.every((x) => holds(x, p, env));
    case 'or': return c.conditions.some((x) => holds(x, p, env));
    case 'not': return !holds(c.condition, p, env);
    default: return leaf(c, p, env).holds;
  }
}

/** Whether the condition holds for the profile at `now` (epoch ms; or a context, see "Derived inputs"). */
export function evaluate(c: Condition, p: EvalProfile, now: number | EvalContext): boolean {
  return holds(c, p, envOf(now));
}

/**
 * The condition tree for one profile: every node with its label (describe.ts), whether it holds and,
 * for leaves, the value it was decided on. `explain(c, p, now).holds === evaluate(c, p, now)`.
 */
export function explain(c: Condition, p: EvalProfile, now: number | EvalContext): ExplainNode {
  return explainNode(c, p, envOf(now));
}

function explainNode(c: Condition, p: EvalProfile, env: Env): ExplainNode {
  switch (c.type) {
    case 'and': case 'or': {
      const children = c.conditions.map((x) => explainNode(x, p, env));
      const all = c.type === 'and' ? children.every((x) => x.holds) : children.some((x) => x.holds);
      return { label: describe(c), holds: all, children };
    }
    case 'not': {
      const child = explainNode(c.condition, p, env);
      return { label: describe(c), holds: !child.holds, children: [child] };
    }
    default: {
      const r = leaf(c, p, env);
      return r.value === undefined ? { label: describe(c), holds: r.holds } : { label: describe(c), holds: r.holds, value: r.value };
    }
  }
}

// ---- computed traits ---------------------------------------------------------------------------------

/**
 * A computed trait's value over the matching events (selector and window; values at the path as above):
 * - `count`: the number of events (0 if none); `sum`: of the numeric values (0 if none);
 *   `avg` / `min` / `max`: undefined if there is no numeric value;
 * - `most_frequent`: the present value occurring most often (by JSON text; a tie goes to the smallest
 *   JSON text); `first` / `last`: as `last_value` (earliest / latest, ties by JSON text);
 * - `unique_list`: the distinct present values ascending by JSON text, at most 100 (undefined if none);
 *   `unique_count`: the number of distinct present values (0 if none);
 * - `days_since_last` / `days_since_first`: floor((now − ts) / 1 day) of the latest / earliest event.
 * Undefined means "no value". A kind that needs a path without one is a bug of the caller (throws).
 */
export function computeTrait(def: ComputedTraitDefinition, p: EvalProfile, at: number | EvalContext): JsonValue | undefined {
  const now = typeof at === 'number' ? at : at.now;
  const events = selected(p, def, def.window, now);
  const values = (): Array<{ ts: number; v: Val }> => {
    if (def.path === undefined) throw new Error(`computed trait '${def.key}' of kind ${def.kind} needs a path`);
    return valuesAt(events, def, def.path, now);
  };
  switch (def.kind) {
    case 'count': return events.length;
    case 'sum': case 'avg': case 'min': case 'max': return aggregateOf(def.kind, values());
    case 'unique_count': return aggregateOf('count_distinct', values());
    case 'first': case 'last': return edgeValue(values(), def.kind);
    case 'days_since_last': case 'days_since_first': {
      if (events.length === 0) return undefined;
      const times = events.map((e) => e.timestamp);
      const t = def.kind === 'days_since_last' ? Math.max(...times) : Math.min(...times);
      return Math.floor((now - t) / DAY_MS);
    }
    case 'unique_list': {
      const texts = [...new Set(presentValues(values()).map(jsonText))].sort(compareText).slice(0, 100);
      return texts.length === 0 ? undefined : texts.map((t) => JSON.parse(t) as JsonValue);
    }
    case 'most_frequent': {
      const counts = new Map<string, number>();
      for (const t of presentValues(values()).map(jsonText)) counts.set(t, (counts.get(t) ?? 0) + 1);
      let best: { text: string; n: number } | undefined;
      for (const [text, n] of counts) {
        if (!best || n > best.n || (n === best.n && compareText(text, best.text) < 0)) best = { text, n };
      }
      return best === undefined ? undefined : (JSON.parse(best.text) as JsonValue);
    }
  }
}

// ---- consent ------------------------------------------------------------------------------------------

/**
 * How the platform derives `EvalProfile.consents` from events (what compile.ts reads): per purpose, the
 * boolean `context.consent.categoryPreferences[purpose]` of the latest event (of any type, ≤ now) that
 * carries a boolean there; at a tie in time, granted wins.
 */
export function consentsFromEvents(events: readonly EvalEvent[], now: number): Record<string, boolean> {
  const latest = new Map<string, { ts: number; granted: boolean }>();
  for (const e of events) {
    if (!Number.isFinite(e.timestamp) || e.timestamp > now) continue;
    const prefs = lookup(e.context, ['consent', 'categoryPreferences']);
    if (!isPlainObject(prefs)) continue;
    for (const [purpose, v] of Object.entries(prefs)) {
      if (typeof v !== 'boolean') continue;
      const cur = latest.get(purpose);
      if (!cur || e.timestamp > cur.ts || (e.timestamp === cur.ts && v && !cur.granted)) latest.set(purpose, { ts: e.timestamp, granted: v });
    }
  }
  // fromEntries defines own properties: a purpose named __proto__ stays a purpose
  return Object.fromEntries([...latest].map(([purpose, x]) => [purpose, x.granted]));
}

// ---- printing ---------------------------------------------------------------------------------------

const MAX_SHOWN = 80;

/** A value for people, compactly: JSON text (strings quoted), long ones cut, numbers to 10 digits. */
function show(v: Val): string {
  if (v === undefined || v === null) return 'missing';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(10)));
  const text = jsonText(v);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

function showTime(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

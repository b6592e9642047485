/**
 * The reference evaluator: the segment language's semantics (ast.ts) written directly, one profile at
 * a time, in memory. It is the oracle of the property test that compares it with the compiled SQL on
 * DuckDB and ClickHouse, so it is written for clarity, not speed, and shares no code with compile.ts
 * beyond the types, the date helpers and the bucket hash.
 */
import type { JsonValue } from '../errors.js';
import { UNIT_MS, type Comparison, type ComputedTraitDefinition, type Condition, type EventSelector, type Filter, type Window } from './ast.js';
import { anniversaryRange, isoUtc } from './compile.js';
import { bucketOf } from './md5.js';

export interface EvalEvent {
  messageId: string;
  type: string;
  event?: string | undefined;
  name?: string | undefined;
  timestamp: number;
  properties: Record<string, JsonValue>;
  context: Record<string, JsonValue>;
}

export interface EvalProfile {
  profileId: string;
  events: EvalEvent[];
  traits: Record<string, JsonValue>;
  scores: Record<string, number>;
}

export interface EvalContext {
  now: number;
  segments: ReadonlyMap<string, Condition>;
  computed: ReadonlyMap<string, ComputedTraitDefinition>;
}

const NUMERIC = /^ *-?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *$/;
const ISO = /^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$/;

/** A value as the comparisons see it: undefined = missing (absent or JSON null). */
type Val = JsonValue | undefined;

function at(doc: JsonValue | undefined, keys: string[]): Val {
  let v: JsonValue | undefined = doc;
  for (const k of keys) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = Object.prototype.hasOwnProperty.call(v, k) ? (v as Record<string, JsonValue>)[k] : undefined;
  }
  return v === null ? undefined : v;
}

const asStr = (v: Val) => (typeof v === 'string' ? v : undefined);
const asBool = (v: Val) => (typeof v === 'boolean' ? v : undefined);
function asNum(v: Val): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
function asDate(v: Val): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && ISO.test(v)) {
    const t = Date.parse(isoUtc(v));
    return Number.isFinite(t) ? t : undefined;
  }
  return undefined;
}
const raw = (v: Val) => (v === undefined ? undefined : JSON.stringify(v));

/** What a comparison reads: typed views of one value. Numbers-only values (counts, sums) have no text. */
interface View { str?: string | undefined; num?: number | undefined; bool?: boolean | undefined; raw?: string | undefined; date?: number | undefined }
const jsonView = (v: Val): View => ({ str: asStr(v), num: asNum(v), bool: asBool(v), raw: raw(v), date: asDate(v) });
const numberView = (n: number | undefined): View => ({ num: n, raw: n === undefined ? undefined : String(n) });
const timeView = (t: number | undefined): View => ({ num: t, date: t, raw: t === undefined ? undefined : String(t) });

function cmpOp(a: number | string | boolean, b: number | string | boolean, op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'): boolean {
  switch (op) {
    case 'eq': return a === b;
    case 'neq': return a !== b;
    case 'lt': return a < b;
    case 'lte': return a <= b;
    case 'gt': return a > b;
    case 'gte': return a >= b;
  }
}

export function compare(v: View, c: Comparison, now: number): boolean {
  switch (c.op) {
    case 'eq': case 'neq': case 'lt': case 'lte': case 'gt': case 'gte': {
      const lit = c.value;
      const x = typeof lit === 'number' ? v.num : typeof lit === 'boolean' ? v.bool : v.str;
      if (x === undefined) return c.op === 'neq';
      return cmpOp(x, lit, c.op);
    }
    case 'in': case 'not_in': {
      const hit = c.values.some((lit) => {
        const x = typeof lit === 'number' ? v.num : typeof lit === 'boolean' ? v.bool : v.str;
        return x !== undefined && x === lit;
      });
      return c.op === 'in' ? hit : !hit;
    }
    case 'contains': return v.str !== undefined && v.str.toLowerCase().includes(c.value.toLowerCase());
    case 'not_contains': return v.str === undefined || !v.str.toLowerCase().includes(c.value.toLowerCase());
    case 'starts_with': return v.str !== undefined && v.str.toLowerCase().startsWith(c.value.toLowerCase());
    case 'ends_with': return v.str !== undefined && v.str.toLowerCase().endsWith(c.value.toLowerCase());
    case 'exists': return v.raw !== undefined;
    case 'not_exists': return v.raw === undefined;
    case 'within_last': return v.date !== undefined && v.date > now - c.amount * UNIT_MS[c.unit] && v.date <= now;
    case 'within_next': return v.date !== undefined && v.date >= now && v.date < now + c.amount * UNIT_MS[c.unit];
    case 'more_than_ago': return v.date !== undefined && v.date <= now - c.amount * UNIT_MS[c.unit];
    case 'before': return v.date !== undefined && v.date < Date.parse(isoUtc(c.date));
    case 'after': return v.date !== undefined && v.date > Date.parse(isoUtc(c.date));
    case 'anniversary_within': {
      if (v.date === undefined) return false;
      const r = anniversaryRange(now, c.days);
      if (r.all) return true;
      const d = new Date(v.date);
      const md = (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
      if (md === 229) return r.feb29;
      return r.start <= r.end ? md >= r.start && md <= r.end : md >= r.start || md <= r.end;
    }
  }
}

function inWindow(ts: number, w: Window | undefined, now: number): boolean {
  if (!w) return true;
  if (w.type === 'last') return ts > now - w.amount * UNIT_MS[w.unit];
  return ts >= Date.parse(isoUtc(w.from)) && ts < Date.parse(isoUtc(w.to));
}

function items(e: EvalEvent): JsonValue[] {
  const p = e.properties['products'];
  return Array.isArray(p) ? p : [];
}

function itemMatches(item: JsonValue, filters: Filter[], now: number): boolean {
  return filters.every((f) => compare(jsonView(at(item, f.path.split('.').slice(1))), f, now));
}

function selects(e: EvalEvent, s: EventSelector, w: Window | undefined, now: number): boolean {
  const mt = s.messageType ?? 'track';
  if (e.type !== mt) return false;
  if (s.event !== '*' && (mt === 'track' ? e.event : e.name) !== s.event) return false;
  if (!inWindow(e.timestamp, w, now)) return false;
  const productFilters: Filter[] = [];
  for (const f of s.where ?? []) {
    const [root, ...keys] = f.path.split('.');
    if (root === 'products') productFilters.push(f);
    else if (!compare(jsonView(at(root === 'context' ? e.context : e.properties, keys)), f, now)) return false;
  }
  return productFilters.length === 0 || items(e).some((it) => itemMatches(it, productFilters, now));
}

class Evaluator {
  private readonly events: EvalEvent[];
  constructor(private readonly p: EvalProfile, private readonly ctx: EvalContext) {
    this.events = p.events.filter((e) => e.timestamp <= ctx.now);
  }

  private selected(s: EventSelector, w: Window | undefined): EvalEvent[] {
    return this.events.filter((e) => selects(e, s, w, this.ctx.now));
  }

  /** Values at a path over the selected events (line items of a products. path, only those passing the item filters). */
  private values(s: EventSelector, w: Window | undefined, path: string): Val[] {
    const [root, ...keys] = path.split('.');
    const sel = this.selected(s, w);
    if (root === 'products') {
      const f = (s.where ?? []).filter((x) => x.path.startsWith('products.'));
      return sel.flatMap((e) => items(e).filter((it) => itemMatches(it, f, this.ctx.now)).map((it) => at(it, keys)));
    }
    return sel.map((e) => at(root === 'context' ? e.context : e.properties, keys));
  }

  aggregate(fn: 'sum' | 'avg' | 'min' | 'max' | 'count_distinct', s: EventSelector, w: Window | undefined, path: string): number | undefined {
    const vals = this.values(s, w, path);
    if (fn === 'count_distinct') return new Set(vals.map(raw).filter((x) => x !== undefined)).size;
    const nums = vals.map(asNum).filter((x): x is number => x !== undefined);
    if (fn === 'sum') return nums.reduce((a, b) => a + b, 0);
    if (nums.length === 0) return undefined;
    if (fn === 'avg') return nums.reduce((a, b) => a + b, 0) / nums.length;
    return fn === 'min' ? Math.min(...nums) : Math.max(...nums);
  }

  /** Value at a path of the latest (earliest) selected event; ties: present beats missing, then greater (smaller) JSON text. */
  edgeValue(s: EventSelector, w: Window | undefined, path: string, which: 'first' | 'last'): Val {
    const [root, ...keys] = path.split('.');
    let best: { ts: number; key: string; v: Val } | undefined;
    for (const e of this.selected(s, w)) {
      const v = at(root === 'context' ? e.context : e.properties, keys);
      const key = v === undefined ? 'm' : 'v' + JSON.stringify(v);
      const better = !best || (which === 'last'
        ? e.timestamp > best.ts || (e.timestamp === best.ts && key > best.key)
        : e.timestamp < best.ts || (e.timestamp === best.ts && key < best.key));
      if (better) best = { ts: e.timestamp, key, v };
    }
    return best?.v;
  }

  computed(def: ComputedTraitDefinition): { numeric: boolean; value: Val } {
    const now = this.ctx.now;
    const sel = this.selected(def, def.window);
    const path = def.path ?? '';
    switch (def.kind) {
      case 'count': return { numeric: true, value: sel.length };
      case 'sum': case 'avg': case 'min': case 'max': return { numeric: true, value: this.aggregate(def.kind, def, def.window, path) };
      case 'unique_count': return { numeric: true, value: this.aggregate('count_distinct', def, def.window, path) };
      case 'days_since_last': case 'days_since_first': {
        if (sel.length === 0) return { numeric: true, value: undefined };
        const t = def.kind === 'days_since_last' ? Math.max(...sel.map((e) => e.timestamp)) : Math.min(...sel.map((e) => e.timestamp));
        return { numeric: true, value: Math.floor((now - t) / 86_400_000) };
      }
      case 'first': case 'last': return { numeric: false, value: this.edgeValue(def, def.window, path, def.kind) };
      case 'unique_list': {
        const texts = [...new Set(this.values(def, def.window, path).map(raw).filter((x): x is string => x !== undefined))].sort().slice(0, 100);
        return { numeric: false, value: texts.length ? (JSON.parse(`[${texts.join(',')}]`) as JsonValue) : undefined };
      }
      case 'most_frequent': {
        const counts = new Map<string, number>();
        for (const v of this.values(def, def.window, path)) {
          const r = raw(v);
          if (r !== undefined) counts.set(r, (counts.get(r) ?? 0) + 1);
        }
        let best: [string, number] | undefined;
        for (const [k, n] of counts) if (!best || n > best[1] || (n === best[1] && k < best[0])) best = [k, n];
        return { numeric: false, value: best ? (JSON.parse(best[0]) as JsonValue) : undefined };
      }
    }
  }

  private sequenceHolds(c: Extract<Condition, { type: 'sequence' }>): boolean {
    const now = this.ctx.now;
    const T = c.within.amount * UNIT_MS[c.within.unit];
    const cands = c.steps.map((s) => this.selected(s, c.window));
    const ends: number[] = [];
    const walk = (i: number, chain: EvalEvent[]) => {
      if (i === c.steps.length) {
        const first = chain[0] as EvalEvent;
        const last = chain[chain.length - 1] as EvalEvent;
        if (last.timestamp - first.timestamp <= T) ends.push(last.timestamp);
        return;
      }
      for (const e of cands[i] as EvalEvent[]) {
        const prev = chain[chain.length - 1];
        if (prev && e.timestamp < prev.timestamp) continue;
        if (chain.some((x) => x.messageId === e.messageId)) continue;
        walk(i + 1, [...chain, e]);
      }
    };
    walk(0, []);
    if (!c.thenNot) return ends.length > 0;
    const xs = this.selected(c.thenNot, undefined);
    return ends.some((tend) => tend + T <= now && !xs.some((x) => x.timestamp >= tend && x.timestamp <= tend + T));
  }

  private consent(purpose: string): boolean {
    let best: string | undefined;
    for (const e of this.events) {
      const v = at(e.context, ['consent', 'categoryPreferences', purpose]);
      if (typeof v !== 'boolean') continue;
      const key = String(e.timestamp).padStart(15, '0') + (v ? '1' : '0');
      if (best === undefined || key > best) best = key;
    }
    return best !== undefined && best.endsWith('1');
  }

  /** The value a leaf compares, for explain (undefined for and / or / not and leaves without one). */
  leafValue(c: Condition): View {
    const now = this.ctx.now;
    switch (c.type) {
      case 'trait': return jsonView(at(this.p.traits, [c.trait]));
      case 'aggregate': return numberView(this.aggregate(c.fn, c, c.window, c.path));
      case 'first_performed': case 'last_performed': {
        const ts = this.selected(c, c.window).map((e) => e.timestamp);
        return timeView(ts.length ? (c.type === 'first_performed' ? Math.min(...ts) : Math.max(...ts)) : undefined);
      }
      case 'last_value': return jsonView(this.edgeValue(c, c.window, c.path, 'last'));
      case 'computed_trait': {
        const def = this.ctx.computed.get(c.key);
        if (!def) return {};
        const r = this.computed(def);
        return r.numeric ? numberView(r.value as number | undefined) : jsonView(r.value);
      }
      case 'score': return numberView(this.p.scores[c.model]);
      default: void now; return {};
    }
  }

  holds(c: Condition, seen: string[] = []): boolean {
    const now = this.ctx.now;
    switch (c.type) {
      case 'and': return c.conditions.every((x) => this.holds(x, seen));
      case 'or': return c.conditions.some((x) => this.holds(x, seen));
      case 'not': return !this.holds(c.condition, seen);
      case 'event': {
        const n = this.selected(c, c.window).length;
        const count = c.count ?? { op: 'at_least', value: 1 };
        return count.op === 'at_least' ? n >= count.value : count.op === 'exactly' ? n === count.value : n <= count.value;
      }
      case 'sequence': return this.sequenceHolds(c);
      case 'segment': {
        const target = this.ctx.segments.get(c.segment);
        if (!target || seen.includes(c.segment)) throw new Error(`segment '${c.segment}' is unknown or cyclic`);
        return this.holds(target, [...seen, c.segment]);
      }
      case 'consent': return this.consent(c.purpose);
      case 'bucket': {
        const b = bucketOf(c.salt, this.p.profileId);
        return b >= c.from && b < c.to;
      }
      default: return compare(this.leafValue(c), c as unknown as Comparison, now);
    }
  }
}

export function evaluate(c: Condition, p: EvalProfile, ctx: EvalContext): boolean {
  return new Evaluator(p, ctx).holds(c);
}

/** Computed trait value of a profile (numbers for counters and numeric kinds, JSON otherwise). */
export function computeTrait(def: ComputedTraitDefinition, p: EvalProfile, ctx: EvalContext): JsonValue | undefined {
  return new Evaluator(p, ctx).computed(def).value;
}

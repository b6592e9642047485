/**
 * Instant decisions: what a profile's newly committed events prove about a segment on their own, so
 * that the membership change is written right after the ingest commit instead of waiting for the next
 * state run (docs/segments.md, "Instant decisions").
 *
 * Why this is sound. Let E be a profile's events before the commit and N the new ones. A leaf is
 * - *upward* when holding on N implies holding on E ∪ N at the same `now` (performed at least n times,
 *   max above / min below a value, distinct count above a value, last performed within / after, first
 *   performed before / more than ago, exists, a sequence without "and not");
 * - *downward* when failing on N implies failing on E ∪ N (performed at most n times, and exactly n
 *   tested as at most n; distinct count below a value, first / last performed not_exists);
 * - *fixed* when it does not read events at all (random bucket: a function of the profile id).
 * Evaluated on N alone, an upward leaf that holds is certainly true, a downward leaf that fails is
 * certainly false, a fixed leaf is what it is; every other outcome, and every other leaf (traits,
 * computed traits, scores, consent, last value, sums and averages), is unknown. Kleene's three-valued
 * AND / OR / NOT then gives true (the profile is a member now), false (it is not), or unknown (the
 * state lanes decide, as before). A reference to another segment is its condition, as the compiler
 * inlines it.
 *
 * Leaves are evaluated by the reference evaluator (reference.ts) on a profile made of the new events
 * only: the same semantics the property test checks the compiled SQL against, so an instant decision
 * and the next state run agree (test/segments/instant.test.ts checks this on DuckDB).
 */
import type { Condition } from './ast.js';
import { evaluate, type EvalEvent, type EvalProfile } from './reference.js';

/** true: a member now; false: not a member now; undefined: the new events alone do not tell. */
export type Decision = boolean | undefined;

type Leaf = Exclude<Condition, { type: 'and' | 'or' | 'not' | 'segment' }>;

/** How new events alone can settle a leaf (see the file comment). */
export function leafDirection(c: Leaf): 'up' | 'down' | 'fixed' | null {
  switch (c.type) {
    case 'event': {
      const op = c.count?.op ?? 'at_least';
      return op === 'at_least' ? 'up' : 'down';
    }
    case 'aggregate':
      if (c.fn === 'max' && (c.op === 'gt' || c.op === 'gte')) return 'up';
      if (c.fn === 'min' && (c.op === 'lt' || c.op === 'lte')) return 'up';
      if (c.fn === 'count_distinct') return c.op === 'gt' || c.op === 'gte' ? 'up' : c.op === 'lt' || c.op === 'lte' ? 'down' : null;
      return null;
    case 'last_performed':
      return c.op === 'within_last' || c.op === 'after' || c.op === 'exists' ? 'up' : c.op === 'not_exists' ? 'down' : null;
    case 'first_performed':
      return c.op === 'before' || c.op === 'more_than_ago' || c.op === 'exists' ? 'up' : c.op === 'not_exists' ? 'down' : null;
    case 'sequence':
      return c.thenNot ? null : 'up';
    case 'bucket':
      return 'fixed';
    default:
      return null;
  }
}

/**
 * Whether new events can ever settle the condition: it has an upward or downward leaf (directly or
 * through referenced segments). Others are left to the state lanes without looking at their events.
 */
export function instantDecidable(c: Condition, segments: ReadonlyMap<string, Condition>, seen: ReadonlySet<string> = new Set()): boolean {
  switch (c.type) {
    case 'and':
    case 'or':
      return c.conditions.some((x) => instantDecidable(x, segments, seen));
    case 'not':
      return instantDecidable(c.condition, segments, seen);
    case 'segment': {
      const ref = segments.get(c.segment);
      return ref !== undefined && !seen.has(c.segment) && instantDecidable(ref, segments, new Set([...seen, c.segment]));
    }
    default: {
      const dir = leafDirection(c);
      return dir === 'up' || dir === 'down';
    }
  }
}

/** The event names the condition's settling leaves select ('*' when any): a profile without such a new event is not looked at. */
export function instantEventNames(c: Condition, segments: ReadonlyMap<string, Condition>, out = new Set<string>(), seen: ReadonlySet<string> = new Set()): Set<string> {
  switch (c.type) {
    case 'and':
    case 'or':
      for (const x of c.conditions) instantEventNames(x, segments, out, seen);
      return out;
    case 'not':
      return instantEventNames(c.condition, segments, out, seen);
    case 'segment': {
      const ref = segments.get(c.segment);
      if (ref !== undefined && !seen.has(c.segment)) instantEventNames(ref, segments, out, new Set([...seen, c.segment]));
      return out;
    }
    case 'sequence':
      if (!c.thenNot) for (const s of c.steps) out.add(s.event);
      return out;
    default: {
      const dir = leafDirection(c);
      if ((dir === 'up' || dir === 'down') && 'event' in c) out.add(c.event);
      return out;
    }
  }
}

export interface InstantInput {
  profileId: string;
  /** The profile's newly committed events (only those). */
  events: EvalEvent[];
  /** Evaluation time, epoch ms. */
  now: number;
  /** Every active segment's condition, for references. */
  segments: ReadonlyMap<string, Condition>;
}

/** What the new events prove about `c` (see the file comment). */
export function decide(c: Condition, input: InstantInput): Decision {
  const profile: EvalProfile = { profileId: input.profileId, events: input.events, traits: {}, scores: {}, computed: {}, consents: {}, segments: new Set() };
  return decideIn(c, profile, input, new Set());
}

function decideIn(c: Condition, p: EvalProfile, input: InstantInput, seen: ReadonlySet<string>): Decision {
  switch (c.type) {
    case 'and': {
      let all = true;
      for (const x of c.conditions) {
        const d = decideIn(x, p, input, seen);
        if (d === false) return false;
        if (d === undefined) all = false;
      }
      return all ? true : undefined;
    }
    case 'or': {
      let none = true;
      for (const x of c.conditions) {
        const d = decideIn(x, p, input, seen);
        if (d === true) return true;
        if (d === undefined) none = false;
      }
      return none ? false : undefined;
    }
    case 'not': {
      const d = decideIn(c.condition, p, input, seen);
      return d === undefined ? undefined : !d;
    }
    case 'segment': {
      const ref = input.segments.get(c.segment);
      if (ref === undefined || seen.has(c.segment)) return undefined;
      return decideIn(ref, p, input, new Set([...seen, c.segment]));
    }
    default: {
      const dir = leafDirection(c);
      if (dir === null) return undefined;
      // "exactly n" fails for good only when the new events alone are more than n: test it as "at most n"
      const leaf = c.type === 'event' && c.count?.op === 'exactly' ? { ...c, count: { op: 'at_most' as const, value: c.count.value } } : c;
      const holds = evaluate(leaf, p, input.now);
      if (dir === 'fixed') return holds;
      if (dir === 'up') return holds ? true : undefined;
      return holds ? undefined : false;
    }
  }
}

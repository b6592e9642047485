/**
 * Instant decisions (src/domain/segments/instant.ts): what a profile's new events prove on their own
 * must be what the reference evaluator says on the whole history, whatever the older events, traits,
 * scores and consents. A property over random worlds (seeded: SEGMENTA_SEED=<n> replays), and small
 * hand cases for each kind of leaf.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Condition } from '../../src/domain/segments/ast.js';
import { decide, instantDecidable, instantEventNames } from '../../src/domain/segments/instant.js';
import { evaluate, type EvalEvent } from '../../src/domain/segments/reference.js';
import { COMPUTED, NOW, REF_SEGMENTS, conditionArb, profileArb, toEvalProfile } from './worlds.js';

const SEED = Number(process.env['SEGMENTA_SEED'] ?? 7);
const D = 86_400_000;

test(`a decision from the new events alone is the verdict on the whole history (seed ${SEED})`, () => {
  const ctx = { now: NOW, segments: REF_SEGMENTS, computed: new Map(COMPUTED.map((c) => [c.key, c])) };
  const tally = { yes: 0, no: 0, open: 0 };
  fc.assert(fc.property(profileArb, fc.array(conditionArb, { minLength: 1, maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 8 }), (raw, conds, newMask) => {
    const p = toEvalProfile(raw, 'p1', { m: 0 });
    // an arbitrary subset of the events is "new" (arrival order need not follow timestamps)
    const fresh = p.events.filter((_, i) => newMask[i] ?? false);
    for (const c0 of conds) {
      const c = JSON.parse(JSON.stringify(c0)) as Condition;
      const d = decide(c, { profileId: p.profileId, events: fresh, now: NOW, segments: REF_SEGMENTS });
      if (d === undefined) { tally.open++; continue; }
      tally[d ? 'yes' : 'no']++;
      assert.equal(evaluate(c, p, ctx), d, `decided ${d} from ${JSON.stringify(fresh)} for ${JSON.stringify(c)} on ${JSON.stringify(p)}`);
    }
  }), { seed: SEED, numRuns: 3000 });
  // not vacuous: both kinds of decision are common
  assert.ok(tally.yes > 200 && tally.no > 200, `too few decisions to mean anything: ${JSON.stringify(tally)}`);
});

const ev = (event: string, agoDays: number, properties: EvalEvent['properties'] = {}): EvalEvent =>
  ({ type: 'track', messageId: `${event}-${agoDays}`, event, timestamp: NOW - agoDays * D, properties, context: {} });
const none = new Map<string, Condition>();
const at = (c: Condition, events: EvalEvent[], segments = none) => decide(c, { profileId: 'p1', events, now: NOW, segments });

test('upward leaves enter on the new events; otherwise they leave it open', () => {
  const ping: Condition = { type: 'event', event: 'Bench Ping' };
  assert.equal(at(ping, [ev('Bench Ping', 0)]), true);
  assert.equal(at(ping, [ev('Order Completed', 0)]), undefined, 'no ping among the new events: older events may hold one');
  const twice: Condition = { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 2 }, window: { type: 'last', amount: 30, unit: 'days' } };
  assert.equal(at(twice, [ev('Order Completed', 1), ev('Order Completed', 2)]), true);
  assert.equal(at(twice, [ev('Order Completed', 1), ev('Order Completed', 40)]), undefined, 'one inside the window is not enough alone');
  const bigOrder: Condition = { type: 'aggregate', event: 'Order Completed', fn: 'max', path: 'properties.revenue', op: 'gte', value: 100 };
  assert.equal(at(bigOrder, [ev('Order Completed', 0, { revenue: 120 })]), true);
  assert.equal(at({ ...bigOrder, fn: 'sum' }, [ev('Order Completed', 0, { revenue: 120 })]), undefined, 'a sum can fall with older negative values');
  const seq: Condition = { type: 'sequence', steps: [{ event: 'Product Added' }, { event: 'Order Completed' }], within: { amount: 1, unit: 'days' } };
  assert.equal(at(seq, [ev('Product Added', 0.5), ev('Order Completed', 0.2)]), true);
  assert.equal(at({ ...seq, thenNot: { event: 'Refund' } }, [ev('Product Added', 3), ev('Order Completed', 2.5)]), undefined, '"and not" is never decided');
});

test('downward leaves, NOT, buckets and references decide exits and non-members', () => {
  const never: Condition = { type: 'not', condition: { type: 'event', event: 'Order Completed' } };
  assert.equal(at(never, [ev('Order Completed', 0)]), false, 'an order ends "never ordered"');
  const atMostOne: Condition = { type: 'event', event: 'Login', count: { op: 'at_most', value: 1 } };
  assert.equal(at(atMostOne, [ev('Login', 0), ev('Login', 1)]), false);
  assert.equal(at(atMostOne, [ev('Login', 0)]), undefined);
  const exactlyTwo: Condition = { type: 'event', event: 'Login', count: { op: 'exactly', value: 2 } };
  assert.equal(at(exactlyTwo, [ev('Login', 0), ev('Login', 1)]), undefined, 'two new logins: older ones may make more');
  assert.equal(at(exactlyTwo, [ev('Login', 0), ev('Login', 1), ev('Login', 2)]), false);
  const bucket: Condition = { type: 'bucket', salt: 'holdout', from: 0, to: 100 };
  assert.equal(at({ type: 'and', conditions: [bucket, { type: 'event', event: 'Bench Ping' }] }, [ev('Bench Ping', 0)]), true);
  assert.equal(at({ type: 'and', conditions: [{ ...bucket, to: 0 }, { type: 'event', event: 'Bench Ping' }] }, [ev('Bench Ping', 0)]), false, 'an empty bucket range holds for nobody');
  const refs = new Map<string, Condition>([['pinged', { type: 'event', event: 'Bench Ping' }]]);
  assert.equal(at({ type: 'segment', segment: 'pinged' }, [ev('Bench Ping', 0)], refs), true, 'a reference is its condition');
  const withTrait: Condition = { type: 'and', conditions: [{ type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }, { type: 'event', event: 'Bench Ping' }] };
  assert.equal(at(withTrait, [ev('Bench Ping', 0)]), undefined, 'traits are not known from events');
  assert.equal(at({ type: 'or', conditions: [{ type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }, { type: 'event', event: 'Bench Ping' }] }, [ev('Bench Ping', 0)]), true);
});

test('which definitions new events can decide, and which event names they look at', () => {
  const refs = new Map<string, Condition>([['pinged', { type: 'event', event: 'Bench Ping' }], ['loop', { type: 'segment', segment: 'loop' }]]);
  assert.equal(instantDecidable({ type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }, refs), false);
  assert.equal(instantDecidable({ type: 'bucket', salt: 's', from: 0, to: 10 }, refs), false, 'a bucket alone does not change with events');
  assert.equal(instantDecidable({ type: 'not', condition: { type: 'segment', segment: 'pinged' } }, refs), true);
  assert.equal(instantDecidable({ type: 'segment', segment: 'loop' }, refs), false, 'a cycle is not followed');
  const names = instantEventNames({ type: 'or', conditions: [
    { type: 'segment', segment: 'pinged' },
    { type: 'aggregate', event: 'Order Completed', fn: 'avg', path: 'properties.revenue', op: 'gt', value: 1 },
    { type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: { amount: 1, unit: 'days' } },
  ] }, refs);
  assert.deepEqual([...names].sort(), ['A', 'B', 'Bench Ping'], 'avg never decides: its event is not looked at');
});

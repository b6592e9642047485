/** Checks beyond the schema shape: real calendar dates, nesting depth, references and cycles. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConditionSchema, MAX_DEPTH, type Condition } from '../../src/domain/segments/ast.js';
import { checkReferences } from '../../src/domain/segments/check.js';

test('dates must exist on the calendar', () => {
  const at = (date: string) => ConditionSchema.safeParse({ type: 'trait', trait: 'signup', op: 'before', date }).success;
  assert.equal(at('2026-02-28'), true);
  assert.equal(at('2028-02-29'), true);
  assert.equal(at('2026-02-29'), false);
  assert.equal(at('2026-02-30'), false);
  assert.equal(at('2026-04-31'), false);
  assert.equal(at('2026-01-31T23:59:59Z'), true);
  assert.equal(at('2026-01-31T24:00:00Z'), false);
  assert.equal(at('2026-01-31T12:60:00Z'), false);
});

test('nesting deeper than MAX_DEPTH, unknown references and cycles are diagnostics with pointers', () => {
  let deep: Condition = { type: 'consent', purpose: 'marketing' };
  for (let i = 0; i < MAX_DEPTH; i++) deep = { type: 'not', condition: deep };
  const ctx = { segments: new Map<string, Condition>([['a', { type: 'segment', segment: 'b' }], ['b', { type: 'segment', segment: 'c' }]]), computed: new Set<string>() };
  assert.equal(checkReferences(deep, ctx)[0]?.code, 'condition.too_deep');
  const d = checkReferences({ type: 'and', conditions: [{ type: 'consent', purpose: 'x' }, { type: 'segment', segment: 'nope' }] }, ctx);
  assert.deepEqual(d.map((x) => [x.code, x.pointer]), [['segment.unknown', '/conditions/1/segment']]);
  // c refers to a, a to b, b to c: defining c this way closes a cycle
  const cyc = checkReferences({ type: 'segment', segment: 'a' }, { ...ctx, selfKey: 'c' });
  assert.equal(cyc[0]?.code, 'segment.cycle');
  assert.equal(checkReferences({ type: 'computed_trait', key: 'k', op: 'exists' }, ctx)[0]?.code, 'computed.unknown');
  assert.equal(checkReferences({ type: 'bucket', salt: 's', from: 5, to: 5 }, ctx)[0]?.code, 'bucket.empty');
  assert.equal(checkReferences({ type: 'event', event: 'X', window: { type: 'between', from: '2026-02-01', to: '2026-01-01' } }, ctx)[0]?.code, 'window.empty');
});

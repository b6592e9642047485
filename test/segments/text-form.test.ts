/** The text form: round trips (property-tested, fixed seed), the grammar by example, diagnostics with spans. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConditionSchema, type Condition } from '../../src/domain/segments/ast.js';
import { parseSegmentText, printSegmentText } from '../../src/domain/segments/text-form.js';
import { conditionArb } from './condition-arb.js';

const SEED = Number(process.env['SEGMENTA_SEED'] ?? 20261123);

test('the arbitrary generates only valid conditions', () => {
  fc.assert(fc.property(conditionArb, (c) => ConditionSchema.safeParse(c).success), { seed: SEED, numRuns: 300 });
});

test(`JSON → text → JSON is the identity (seed ${SEED})`, () => {
  fc.assert(fc.property(conditionArb, (c) => {
    const text = printSegmentText(c);
    const back = parseSegmentText(text);
    assert.deepEqual(back.diagnostics, [], text);
    assert.deepEqual(back.condition, JSON.parse(JSON.stringify(c)) as Condition, text); // plain objects (fast-check builds null-prototype ones)
  }), { seed: SEED, numRuns: 1000 });
});

test(`text → JSON → text is stable (seed ${SEED})`, () => {
  fc.assert(fc.property(conditionArb, (c) => {
    const once = printSegmentText(c);
    const twice = printSegmentText(parseSegmentText(once).condition as Condition);
    assert.equal(twice, once);
  }), { seed: SEED, numRuns: 500 });
});

test('the grammar by example', () => {
  const cases: Array<[string, Condition]> = [
    ['trait plan = "pro"', { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }],
    ['TRAIT age >= 30 AND trait vip = true', { type: 'and', conditions: [{ type: 'trait', trait: 'age', op: 'gte', value: 30 }, { type: 'trait', trait: 'vip', op: 'eq', value: true }] }],
    ['trait `first name` starts with "Ad"', { type: 'trait', trait: 'first name', op: 'starts_with', value: 'Ad' }],
    ['trait country not in ["FR", "IT"]', { type: 'trait', trait: 'country', op: 'not_in', values: ['FR', 'IT'] }],
    ['trait birthday anniversary within 7 days', { type: 'trait', trait: 'birthday', op: 'anniversary_within', days: 7 }],
    ['trait signup within last 2 weeks', { type: 'trait', trait: 'signup', op: 'within_last', amount: 2, unit: 'weeks' }],
    ['performed "Order Completed" at least 3 times in last 90 days where (properties.revenue > 50 and products.category = "shoes")',
      { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 3 }, window: { type: 'last', amount: 90, unit: 'days' }, where: [{ path: 'properties.revenue', op: 'gt', value: 50 }, { path: 'products.category', op: 'eq', value: 'shoes' }] }],
    ['performed page "Pricing" between 2026-01-01 and 2026-02-01', { type: 'event', event: 'Pricing', messageType: 'page', window: { type: 'between', from: '2026-01-01', to: '2026-02-01' } }],
    ['sum of properties.revenue for "Order Completed" in last 365 days >= 500', { type: 'aggregate', fn: 'sum', path: 'properties.revenue', event: 'Order Completed', window: { type: 'last', amount: 365, unit: 'days' }, op: 'gte', value: 500 }],
    ['last performed "Order Completed" more than 90 days ago', { type: 'last_performed', event: 'Order Completed', op: 'more_than_ago', amount: 90, unit: 'days' }],
    ['last value of properties.currency for "Order Completed" = "EUR"', { type: 'last_value', path: 'properties.currency', event: 'Order Completed', op: 'eq', value: 'EUR' }],
    ['sequence "Checkout Started" then not "Order Completed" within 1 hour', { type: 'sequence', steps: [{ event: 'Checkout Started' }], thenNot: { event: 'Order Completed' }, within: { amount: 1, unit: 'hours' } }],
    ['not (in segment vip or consent marketing)', { type: 'not', condition: { type: 'or', conditions: [{ type: 'segment', segment: 'vip' }, { type: 'consent', purpose: 'marketing' }] } }],
    ['computed orders_90d >= 2 and score churn > 0.7 and bucket "holdout" from 0 to 10', { type: 'and', conditions: [{ type: 'computed_trait', key: 'orders_90d', op: 'gte', value: 2 }, { type: 'score', model: 'churn', op: 'gt', value: 0.7 }, { type: 'bucket', salt: 'holdout', from: 0, to: 10 }] }],
  ];
  for (const [text, json] of cases) {
    const r = parseSegmentText(text);
    assert.deepEqual(r.diagnostics, [], text);
    assert.deepEqual(r.condition, json, text);
  }
});

test('diagnostics: code, message and span', () => {
  const check = (text: string, code: string, message: RegExp, at: string) => {
    const r = parseSegmentText(text);
    assert.equal(r.condition, undefined, text);
    const d = r.diagnostics[0];
    assert.ok(d, text);
    assert.equal(d.code, code, `${text}: ${d.message}`);
    assert.match(d.message, message);
    assert.equal(text.slice(d.span?.start, d.span?.end), at, `${text}: span`);
  };
  check('trait plan = "pro', 'syntax.unterminated_string', /no closing "/, '"pro');
  check('trat plan = "pro"', 'syntax.unknown_keyword', /did you mean "trait"/, 'trat');
  check('performed "X" at least many times', 'syntax.expected_integer', /whole number.*"many"/, 'many');
  check('(trait a = 1 and trait b = 2', 'syntax.unbalanced', /expected "\)"/, '');
  check('performed "X" between 2026-13-45 and 2026-02-01', 'value.invalid_date', /not a real date/, '2026-13-45');
  check('trait a = 1 trait b = 2', 'syntax.trailing', /missing "and"/, 'trait');
  check('trait a ~ 1', 'syntax.unexpected_character', /'~'/, '~');
  check('sum of properties.revenue for "O" = "x"', 'syntax.expected_number_comparison', /number/, 'sum of properties.revenue for "O" = "x"');
});

/**
 * The text form of the segment language: property tests (JSON → text → JSON round trip, text
 * stability, a parser that never throws), one unit test per construct of the grammar, and the
 * diagnostics (code, message, span).
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AGGREGATE_FNS, ConditionSchema, type Comparison, type Condition, type Diagnostic } from '../../src/domain/segments/ast.js';
import { parseSegmentText, printSegmentText } from '../../src/domain/segments/text.js';
import { conditionArb, edgeConditionArb, leafArbs } from './arbitrary.js';

const SEED = 42;

/** fc.assert with a fixed seed; the failure names the seed (and fast-check's path) to replay it. */
function property<T>(arb: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns = 500): void {
  try {
    fc.assert(fc.property(arb, predicate), { seed: SEED, numRuns });
  } catch (e) {
    throw new Error(`property failed with seed ${SEED} (replay: fc.assert(…, { seed: ${SEED}, path: … }) as below)\n${e instanceof Error ? e.message : String(e)}`);
  }
}

function parse(text: string): Condition {
  const r = parseSegmentText(text);
  assert.deepEqual(r.diagnostics, [], `unexpected diagnostics for ${text}`);
  assert.ok(r.condition);
  return r.condition;
}

/** The only diagnostic of a text that does not parse. */
function fails(text: string): Diagnostic {
  const r = parseSegmentText(text);
  assert.equal(r.condition, undefined, `expected ${JSON.stringify(text)} to fail`);
  assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
  const d = r.diagnostics[0];
  assert.ok(d);
  assert.equal(d.severity, 'error');
  return d;
}

/** The span of the first occurrence of `part` in `text` (the i-th when given). */
function spanOf(text: string, part: string, nth = 0): { start: number; end: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(part, at + 1);
  assert.ok(at >= 0, `${part} not in ${text}`);
  return { start: at, end: at + part.length };
}

/* ---------------------------------------------------------------------------------------------- */
/* Properties                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

test('the arbitraries give only valid conditions, of every type and every operator', () => {
  property(fc.oneof(conditionArb, edgeConditionArb), (c) => {
    const r = ConditionSchema.safeParse(c);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
  }, 1000);

  const types = new Set<string>();
  const ops = new Set<string>();
  const extras = new Set<string>();
  const visit = (c: Condition): void => {
    types.add(c.type);
    if ('op' in c) ops.add(c.op);
    if ('count' in c && c.count) extras.add(`count:${c.count.op}`);
    if ('window' in c && c.window) extras.add(`window:${c.window.type}`);
    if ('messageType' in c && c.messageType) extras.add(`messageType:${c.messageType}`);
    if (c.type === 'aggregate') extras.add(`fn:${c.fn}`);
    if (c.type === 'sequence' && c.thenNot) extras.add('thenNot');
    if ('where' in c && c.where) for (const f of c.where) ops.add(f.op);
    if (c.type === 'and' || c.type === 'or') c.conditions.forEach(visit);
    if (c.type === 'not') visit(c.condition);
  };
  fc.sample(conditionArb, { seed: SEED, numRuns: 2000 }).forEach(visit);
  assert.deepEqual([...types].sort(), ['aggregate', 'and', 'bucket', 'computed_trait', 'consent', 'event', 'first_performed', 'last_performed', 'last_value', 'not', 'or', 'score', 'segment', 'sequence', 'trait']);
  const allOps: Comparison['op'][] = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'contains', 'not_contains', 'starts_with', 'ends_with', 'exists', 'not_exists', 'within_last', 'within_next', 'more_than_ago', 'before', 'after', 'anniversary_within'];
  assert.deepEqual([...ops].sort(), [...allOps].sort());
  for (const x of ['count:at_least', 'count:exactly', 'count:at_most', 'window:last', 'window:between', 'messageType:track', 'messageType:page', 'messageType:screen', 'thenNot', ...AGGREGATE_FNS.map((f) => `fn:${f}`)]) {
    assert.ok(extras.has(x), `never generated: ${x}`);
  }
});

test('JSON → text → JSON gives the same condition (realistic conditions)', () => {
  property(conditionArb, (c) => {
    const text = printSegmentText(c);
    const r = parseSegmentText(text);
    assert.deepEqual(r.diagnostics, [], text);
    assert.deepEqual(r.condition, c, text);
  });
});

test('JSON → text → JSON gives the same condition (the corners of the schema)', () => {
  property(edgeConditionArb, (c) => {
    const text = printSegmentText(c);
    const r = parseSegmentText(text);
    assert.deepEqual(r.diagnostics, [], text);
    assert.deepEqual(r.condition, c, text);
  });
});

test('every condition type round-trips on its own', () => {
  for (const [type, arb] of Object.entries(leafArbs)) {
    property(arb, (c) => assert.deepEqual(parseSegmentText(printSegmentText(c)).condition, c, `${type}: ${printSegmentText(c)}`), 200);
  }
});

test('text → JSON → text is stable (one line and laid out over lines)', () => {
  property(fc.tuple(fc.oneof(conditionArb, edgeConditionArb), fc.constantFrom(undefined, 40, 100)), ([c, width]) => {
    const text = printSegmentText(c, { width });
    const again = parseSegmentText(text).condition;
    assert.ok(again, text);
    assert.equal(printSegmentText(again, { width }), text);
    assert.deepEqual(again, c);
  });
});

test('the parser never throws; every diagnostic has a code and a span inside the text', () => {
  const tokens = ['(', ')', '[', ']', ',', '"', '`', 'and', 'or', 'not', 'trait', 'performed', 'where', 'in', 'last', '3', '-', '.', '2026-01-01', ' ', '\n'];
  const mutated = fc.tuple(conditionArb, fc.nat(), fc.nat({ max: 12 }), fc.constantFrom(...tokens)).map(([c, at, cut, insert]) => {
    const t = printSegmentText(c);
    const i = at % (t.length + 1);
    return t.slice(0, i) + insert + t.slice(i + cut);
  });
  property(fc.oneof(mutated, fc.string({ unit: 'binary', maxLength: 60 })), (text) => {
    const r = parseSegmentText(text);
    assert.equal(r.condition === undefined, r.diagnostics.length > 0);
    for (const d of r.diagnostics) {
      assert.match(d.code, /^(syntax|value|schema)\.[a-z_]+$/);
      assert.ok(d.message.length > 0);
      assert.ok(d.span && d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length, JSON.stringify(d));
    }
    if (r.condition) assert.ok(ConditionSchema.safeParse(r.condition).success);
  }, 1000);
});

/* ---------------------------------------------------------------------------------------------- */
/* Each construct                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

const CASES: [string, Condition][] = [
  ['trait plan = "pro"', { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }],
  ['trait plan != "pro"', { type: 'trait', trait: 'plan', op: 'neq', value: 'pro' }],
  ['trait age >= 30', { type: 'trait', trait: 'age', op: 'gte', value: 30 }],
  ['trait age > -1.5', { type: 'trait', trait: 'age', op: 'gt', value: -1.5 }],
  ['trait age < 1e+21', { type: 'trait', trait: 'age', op: 'lt', value: 1e21 }],
  ['trait age <= 0', { type: 'trait', trait: 'age', op: 'lte', value: 0 }],
  ['trait vip = true', { type: 'trait', trait: 'vip', op: 'eq', value: true }],
  ['trait vip != false', { type: 'trait', trait: 'vip', op: 'neq', value: false }],
  ['trait country in ["CH", "DE"]', { type: 'trait', trait: 'country', op: 'in', values: ['CH', 'DE'] }],
  ['trait code in [1, "1", true]', { type: 'trait', trait: 'code', op: 'in', values: [1, '1', true] }],
  ['trait country not in ["FR"]', { type: 'trait', trait: 'country', op: 'not_in', values: ['FR'] }],
  ['trait email contains "@gmail"', { type: 'trait', trait: 'email', op: 'contains', value: '@gmail' }],
  ['trait email not contains "x"', { type: 'trait', trait: 'email', op: 'not_contains', value: 'x' }],
  ['trait name starts with "a"', { type: 'trait', trait: 'name', op: 'starts_with', value: 'a' }],
  ['trait name ends with "b"', { type: 'trait', trait: 'name', op: 'ends_with', value: 'b' }],
  ['trait phone exists', { type: 'trait', trait: 'phone', op: 'exists' }],
  ['trait phone not exists', { type: 'trait', trait: 'phone', op: 'not_exists' }],
  ['trait signup_date within last 30 days', { type: 'trait', trait: 'signup_date', op: 'within_last', amount: 30, unit: 'days' }],
  ['trait renewal within next 2 weeks', { type: 'trait', trait: 'renewal', op: 'within_next', amount: 2, unit: 'weeks' }],
  ['trait signup_date more than 90 days ago', { type: 'trait', trait: 'signup_date', op: 'more_than_ago', amount: 90, unit: 'days' }],
  ['trait signup_date before 2026-01-01', { type: 'trait', trait: 'signup_date', op: 'before', date: '2026-01-01' }],
  ['trait signup_date after 2026-01-01T10:00:00Z', { type: 'trait', trait: 'signup_date', op: 'after', date: '2026-01-01T10:00:00Z' }],
  ['trait seen after 2026-01-01T10:00:00.123456+02:00', { type: 'trait', trait: 'seen', op: 'after', date: '2026-01-01T10:00:00.123456+02:00' }],
  ['trait birthday anniversary within 7 days', { type: 'trait', trait: 'birthday', op: 'anniversary_within', days: 7 }],
  ['trait `first name` = "Ada"', { type: 'trait', trait: 'first name', op: 'eq', value: 'Ada' }],
  ['trait `a``b` = "say \\"hi\\"\\n\\u0000é"', { type: 'trait', trait: 'a`b', op: 'eq', value: 'say "hi"\n\u0000é' }],
  ['trait größe > 180', { type: 'trait', trait: 'größe', op: 'gt', value: 180 }],
  ['performed "Order Completed"', { type: 'event', event: 'Order Completed' }],
  ['performed "Order Completed" at least 3 times in last 90 days where (properties.revenue > 50 and products.category = "shoes")', {
    type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 3 }, window: { type: 'last', amount: 90, unit: 'days' },
    where: [{ path: 'properties.revenue', op: 'gt', value: 50 }, { path: 'products.category', op: 'eq', value: 'shoes' }],
  }],
  ['performed "Order Completed" exactly 0 times', { type: 'event', event: 'Order Completed', count: { op: 'exactly', value: 0 } }],
  ['performed "Order Completed" exactly 1 time', { type: 'event', event: 'Order Completed', count: { op: 'exactly', value: 1 } }],
  ['performed "X" at most 2 times between 2026-01-01 and 2026-02-01', { type: 'event', event: 'X', count: { op: 'at_most', value: 2 }, window: { type: 'between', from: '2026-01-01', to: '2026-02-01' } }],
  ['performed "X" where ()', { type: 'event', event: 'X', where: [] }],
  ['performed "X" where (context.page.`url path` starts with "/pricing")', { type: 'event', event: 'X', where: [{ path: 'context.page.url path', op: 'starts_with', value: '/pricing' }] }],
  ['performed page "Pricing"', { type: 'event', event: 'Pricing', messageType: 'page' }],
  ['performed screen *', { type: 'event', event: '*', messageType: 'screen' }],
  ['performed track "Signed Up"', { type: 'event', event: 'Signed Up', messageType: 'track' }],
  ['performed *', { type: 'event', event: '*' }],
  ['sum of properties.revenue for "Order Completed" in last 365 days where (properties.coupon not exists) >= 500', {
    type: 'aggregate', fn: 'sum', path: 'properties.revenue', event: 'Order Completed', window: { type: 'last', amount: 365, unit: 'days' },
    where: [{ path: 'properties.coupon', op: 'not_exists' }], op: 'gte', value: 500,
  }],
  ['avg of properties.revenue for * > 20.5', { type: 'aggregate', fn: 'avg', path: 'properties.revenue', event: '*', op: 'gt', value: 20.5 }],
  ['min of products.price for "Order Completed" < 5', { type: 'aggregate', fn: 'min', path: 'products.price', event: 'Order Completed', op: 'lt', value: 5 }],
  ['max of products.price for "Order Completed" != 0', { type: 'aggregate', fn: 'max', path: 'products.price', event: 'Order Completed', op: 'neq', value: 0 }],
  ['count_distinct of products.sku for "Order Completed" = 3', { type: 'aggregate', fn: 'count_distinct', path: 'products.sku', event: 'Order Completed', op: 'eq', value: 3 }],
  ['first performed "Order Completed" within last 30 days', { type: 'first_performed', event: 'Order Completed', op: 'within_last', amount: 30, unit: 'days' }],
  ['first performed "X" exists', { type: 'first_performed', event: 'X', op: 'exists' }],
  ['first performed page * in last 7 days not exists', { type: 'first_performed', event: '*', messageType: 'page', window: { type: 'last', amount: 7, unit: 'days' }, op: 'not_exists' }],
  ['last performed "X" more than 90 days ago', { type: 'last_performed', event: 'X', op: 'more_than_ago', amount: 90, unit: 'days' }],
  ['last performed "X" before 2026-01-01', { type: 'last_performed', event: 'X', op: 'before', date: '2026-01-01' }],
  ['last performed "X" where (properties.plan = "pro") after 2026-01-01', { type: 'last_performed', event: 'X', where: [{ path: 'properties.plan', op: 'eq', value: 'pro' }], op: 'after', date: '2026-01-01' }],
  ['last value of properties.currency for "Order Completed" = "EUR"', { type: 'last_value', path: 'properties.currency', event: 'Order Completed', op: 'eq', value: 'EUR' }],
  ['last value of properties.currency for "Order Completed" in last 30 days in ["EUR", "CHF"]', {
    type: 'last_value', path: 'properties.currency', event: 'Order Completed', window: { type: 'last', amount: 30, unit: 'days' }, op: 'in', values: ['EUR', 'CHF'],
  }],
  ['sequence "Product Viewed" then "Product Added" then "Order Completed" within 7 days', {
    type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Order Completed' }], within: { amount: 7, unit: 'days' },
  }],
  ['sequence "Product Viewed" where (properties.price > 100) then "Product Added" within 7 days in last 30 days', {
    type: 'sequence', steps: [{ event: 'Product Viewed', where: [{ path: 'properties.price', op: 'gt', value: 100 }] }, { event: 'Product Added' }],
    within: { amount: 7, unit: 'days' }, window: { type: 'last', amount: 30, unit: 'days' },
  }],
  ['sequence "Checkout Started" then not "Order Completed" within 1 hours', {
    type: 'sequence', steps: [{ event: 'Checkout Started' }], thenNot: { event: 'Order Completed' }, within: { amount: 1, unit: 'hours' },
  }],
  ['computed lifetime_orders >= 3', { type: 'computed_trait', key: 'lifetime_orders', op: 'gte', value: 3 }],
  ['computed favourite_category in ["shoes"]', { type: 'computed_trait', key: 'favourite_category', op: 'in', values: ['shoes'] }],
  ['score churn_risk > 0.7', { type: 'score', model: 'churn_risk', op: 'gt', value: 0.7 }],
  ['in segment vip_customers', { type: 'segment', segment: 'vip_customers' }],
  ['in segment `Old Segment`', { type: 'segment', segment: 'Old Segment' }],
  ['consent marketing', { type: 'consent', purpose: 'marketing' }],
  ['bucket "holdout-2026" from 0 to 10', { type: 'bucket', salt: 'holdout-2026', from: 0, to: 10 }],
  ['trait a = 1 and trait b = 2 and trait c = 3', { type: 'and', conditions: [{ type: 'trait', trait: 'a', op: 'eq', value: 1 }, { type: 'trait', trait: 'b', op: 'eq', value: 2 }, { type: 'trait', trait: 'c', op: 'eq', value: 3 }] }],
  ['not trait a = 1', { type: 'not', condition: { type: 'trait', trait: 'a', op: 'eq', value: 1 } }],
  ['not not consent marketing', { type: 'not', condition: { type: 'not', condition: { type: 'consent', purpose: 'marketing' } } }],
  ['all of (consent marketing)', { type: 'and', conditions: [{ type: 'consent', purpose: 'marketing' }] }],
  ['any of (consent marketing)', { type: 'or', conditions: [{ type: 'consent', purpose: 'marketing' }] }],
];

test('each construct parses to its JSON form and prints back to the same text', () => {
  for (const [text, json] of CASES) {
    assert.deepEqual(parse(text), json, text);
    assert.equal(printSegmentText(json), text);
  }
});

const A = 'consent a';
const B = 'consent b';
const C = 'consent c';
const a: Condition = { type: 'consent', purpose: 'a' };
const b: Condition = { type: 'consent', purpose: 'b' };
const c: Condition = { type: 'consent', purpose: 'c' };

test('precedence: not binds tighter than and, and tighter than or', () => {
  assert.deepEqual(parse(`${A} or ${B} and ${C}`), { type: 'or', conditions: [a, { type: 'and', conditions: [b, c] }] });
  assert.deepEqual(parse(`${A} and ${B} or ${C}`), { type: 'or', conditions: [{ type: 'and', conditions: [a, b] }, c] });
  assert.deepEqual(parse(`not ${A} and ${B}`), { type: 'and', conditions: [{ type: 'not', condition: a }, b] });
  assert.deepEqual(parse(`not (${A} and ${B})`), { type: 'not', condition: { type: 'and', conditions: [a, b] } });
  assert.deepEqual(parse(`(${A} or ${B}) and ${C}`), { type: 'and', conditions: [{ type: 'or', conditions: [a, b] }, c] });
  // Brackets keep nested and / or of the same kind apart (the JSON has them nested).
  assert.deepEqual(parse(`(${A} and ${B}) and ${C}`), { type: 'and', conditions: [{ type: 'and', conditions: [a, b] }, c] });
  assert.deepEqual(parse(`((${A}))`), a);
});

test('the printer brackets only where needed', () => {
  const and = (...conditions: Condition[]): Condition => ({ type: 'and', conditions });
  const or = (...conditions: Condition[]): Condition => ({ type: 'or', conditions });
  const not = (condition: Condition): Condition => ({ type: 'not', condition });
  assert.equal(printSegmentText(or(and(a, b), c)), `${A} and ${B} or ${C}`);
  assert.equal(printSegmentText(and(or(a, b), c)), `(${A} or ${B}) and ${C}`);
  assert.equal(printSegmentText(or(or(a, b), c)), `(${A} or ${B}) or ${C}`);
  assert.equal(printSegmentText(and(and(a, b), c)), `(${A} and ${B}) and ${C}`);
  assert.equal(printSegmentText(not(and(a, b))), `not (${A} and ${B})`);
  assert.equal(printSegmentText(and(not(a), not(or(b, c)))), `not ${A} and not (${B} or ${C})`);
  assert.equal(printSegmentText(not(and(a))), `not all of (${A})`);
  assert.equal(printSegmentText(or(and(a), or(b))), `all of (${A}) or any of (${B})`);
});

test('the printer lays long and / or trees out over lines when given a width', () => {
  const long: Condition = { type: 'and', conditions: [
    { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' },
    { type: 'or', conditions: [
      { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 3 }, window: { type: 'last', amount: 90, unit: 'days' } },
      { type: 'score', model: 'churn_risk', op: 'lt', value: 0.2 },
    ] },
    { type: 'not', condition: { type: 'consent', purpose: 'marketing' } },
  ] };
  const text = printSegmentText(long, { width: 60 });
  assert.equal(text, [
    'trait plan = "pro"',
    'and (',
    '  performed "Order Completed" at least 3 times in last 90 days',
    '  or score churn_risk < 0.2',
    ')',
    'and not consent marketing',
  ].join('\n'));
  assert.deepEqual(parse(text), long);
  assert.equal(printSegmentText(long, { width: 1000 }), printSegmentText(long));
});

test('keywords are case-insensitive, names are not; the printer writes lower case', () => {
  const c = parse('NOT Trait Plan = "pro" AND Performed PAGE "Pricing" AT LEAST 2 TIMES IN LAST 3 DAYS');
  assert.deepEqual(c, { type: 'and', conditions: [
    { type: 'not', condition: { type: 'trait', trait: 'Plan', op: 'eq', value: 'pro' } },
    { type: 'event', event: 'Pricing', messageType: 'page', count: { op: 'at_least', value: 2 }, window: { type: 'last', amount: 3, unit: 'days' } },
  ] });
  assert.equal(printSegmentText(c), 'not trait Plan = "pro" and performed page "Pricing" at least 2 times in last 3 days');
  assert.deepEqual(parse('trait vip = TRUE'), { type: 'trait', trait: 'vip', op: 'eq', value: true });
});

test('lenient input, canonical output', () => {
  const same = (loose: string, canonical: string): void => {
    assert.equal(printSegmentText(parse(loose)), canonical, loose);
  };
  same('trait a == 1', 'trait a = 1');
  same('trait d within the last 1 day', 'trait d within last 1 days');
  same('performed "X" in the last 1 week', 'performed "X" in last 1 weeks');
  same('performed "X" ever', 'performed "X"');
  same('performed "X" where (properties.a = 1) in last 2 hours at least 2 times', 'performed "X" at least 2 times in last 2 hours where (properties.a = 1)');
  same('trait d before "2026-01-01"', 'trait d before 2026-01-01');
  same('trait "first name" = "Ada"', 'trait `first name` = "Ada"');
  same('in segment "vip"', 'in segment vip');
  same('consent `marketing`', 'consent marketing');
  same('bucket holdout from 0 to 10', 'bucket "holdout" from 0 to 10');
  same('sequence "A" in last 3 days within 1 hour', 'sequence "A" within 1 hours in last 3 days');
  same('trait x = 1E3', 'trait x = 1000');
  same('trait x = "\\u00e9"', 'trait x = "é"');
  same('all of (consent a, consent b)', 'consent a and consent b');
  same('all (consent a)', 'all of (consent a)');
  same('any (consent a, consent b)', 'consent a or consent b');
  same('  trait\ta\n=\n1  ', 'trait a = 1');
  same('trait a = "\\/\\b\\f\\r\\t"', 'trait a = "/\\b\\f\\r\\t"');
  // absent optionals stay absent
  assert.deepEqual(Object.keys(parse('performed "X"')).sort(), ['event', 'type']);
  assert.deepEqual(Object.keys(parse('sequence "A" within 1 days')).sort(), ['steps', 'type', 'within']);
});

/* ---------------------------------------------------------------------------------------------- */
/* Diagnostics                                                                                      */
/* ---------------------------------------------------------------------------------------------- */

test('unterminated string and name', () => {
  const text = 'trait plan = "pro and trait b = 1';
  const d = fails(text);
  assert.equal(d.code, 'syntax.unterminated_string');
  assert.match(d.message, /unterminated string/);
  assert.deepEqual(d.span, { start: 13, end: text.length });

  const multi = 'trait plan = "pro\nand trait b = 1';
  assert.deepEqual(fails(multi).span, { start: 13, end: 17 }, 'stops at the end of the line');

  const n = fails('trait `first name = "Ada"');
  assert.equal(n.code, 'syntax.unterminated_name');
  assert.deepEqual(n.span, { start: 6, end: 25 });
});

test('unknown keyword, with a suggestion when one is close', () => {
  const d = fails('trat plan = "pro"');
  assert.equal(d.code, 'syntax.unknown_keyword');
  assert.match(d.message, /unknown keyword "trat" \(did you mean "trait"\?\)/);
  assert.deepEqual(d.span, { start: 0, end: 4 });

  const far = fails('frobnicate plan');
  assert.equal(far.code, 'syntax.unknown_keyword');
  assert.doesNotMatch(far.message, /did you mean/);
  assert.match(far.message, /expected a condition \(trait, performed/);

  const text = 'performed "X" at lest 3 times';
  const mid = fails(text);
  assert.equal(mid.code, 'syntax.unknown_keyword');
  assert.equal(mid.message, 'expected "least" or "most" after "at", found "lest" (did you mean "least"?)');
  assert.deepEqual(mid.span, spanOf(text, 'lest'));

  const unit = fails('trait d within last 3 dyas');
  assert.equal(unit.code, 'syntax.unknown_keyword');
  assert.match(unit.message, /expected a time unit \(minutes, hours, days or weeks\) after "3", found "dyas" \(did you mean "days"\?\)/);

  // a known keyword in the wrong place is not "unknown"
  const wrong = fails('first performed "X" within next 3 days');
  assert.equal(wrong.code, 'syntax.unexpected_token');
  assert.match(wrong.message, /expected "last" after "within", found "next"/);
});

test('missing number', () => {
  const text = 'performed "Order Completed" at least foo times';
  const d = fails(text);
  assert.equal(d.code, 'syntax.unexpected_token');
  assert.equal(d.message, 'expected a number of times after "at least", found "foo"');
  assert.deepEqual(d.span, spanOf(text, 'foo'));

  const end = fails('trait age >=');
  assert.equal(end.code, 'syntax.unexpected_end');
  assert.equal(end.message, 'expected a value ("string", number, true or false) after ">=", found the end of the text');
  assert.deepEqual(end.span, { start: 12, end: 12 });

  const amount = fails('trait d within last days');
  assert.match(amount.message, /expected a number after "within last", found "days"/);

  const glued = fails('performed "X" in last 30days');
  assert.equal(glued.code, 'syntax.invalid_number');
  assert.match(glued.message, /put a space between the number and the unit \(30 days\)/);
  assert.deepEqual(glued.span, { start: 22, end: 28 });
});

test('unbalanced brackets', () => {
  const open = fails('(trait a = 1 and trait b = 2');
  assert.equal(open.code, 'syntax.unbalanced_bracket');
  assert.match(open.message, /the "\(" here is never closed/);
  assert.deepEqual(open.span, { start: 0, end: 1 });

  const text = 'trait a = 1 and (trait b = 2 or (trait c = 3)';
  assert.deepEqual(fails(text).span, spanOf(text, '('), 'the outer bracket is the one left open');

  const close = fails('trait a = 1)');
  assert.equal(close.code, 'syntax.unbalanced_bracket');
  assert.match(close.message, /no "\(" to close/);
  assert.deepEqual(close.span, { start: 11, end: 12 });

  const list = fails('trait a in ["x", "y"');
  assert.equal(list.code, 'syntax.unbalanced_bracket');
  assert.deepEqual(list.span, { start: 11, end: 12 });

  const where = fails('performed "X" where (properties.a = 1');
  assert.equal(where.code, 'syntax.unbalanced_bracket');
  assert.deepEqual(where.span, { start: 20, end: 21 });

  const inside = fails('(trait a = 1 trait b = 2)');
  assert.equal(inside.code, 'syntax.unexpected_token');
  assert.equal(inside.message, 'expected "and", "or" or ")", found "trait"');
});

test('invalid dates', () => {
  const text = 'trait d before 2026-13-01';
  const d = fails(text);
  assert.equal(d.code, 'value.invalid_date');
  assert.match(d.message, /invalid date "2026-13-01"/);
  assert.deepEqual(d.span, spanOf(text, '2026-13-01'));

  assert.match(fails('trait d after 2026-01-01T10:00').message, /a time needs an offset: Z for UTC or like \+02:00/);
  assert.match(fails('trait d after 2026-1-1').message, /4 digits and month and day with 2/);
  assert.equal(fails('trait d after "yesterday"').code, 'value.invalid_date');

  const both = parseSegmentText('performed "X" between 2026-02-31T25:00Z and 2026-99-01');
  assert.deepEqual(both.diagnostics.map((x) => [x.code, x.span?.start]), [['value.invalid_date', 22], ['value.invalid_date', 44]]);

  const number = fails('trait d before 2026');
  assert.equal(number.message, 'expected a date like 2026-01-31 or 2026-01-31T12:00:00Z after "before", found the number 2026');
});

test('trailing input', () => {
  const text = 'trait a = 1 foo';
  const d = fails(text);
  assert.equal(d.code, 'syntax.trailing_input');
  assert.equal(d.message, 'expected "and", "or" or the end of the text after the condition, found "foo"');
  assert.deepEqual(d.span, { start: 12, end: 15 });
  assert.match(fails('trait a = 1 adn trait b = 2').message, /found "adn" \(did you mean "and"\?\)/);
  assert.equal(fails('trait a = 1 "x"').code, 'syntax.trailing_input');
});

test('other syntax errors say what was expected', () => {
  const cases: [string, string, RegExp, string?, number?][] = [
    ['trait a = "\\q"', 'syntax.invalid_escape', /invalid escape "\\q"/, '\\q'],
    ["trait a = 'pro'", 'syntax.unexpected_character', /strings are written in double quotes: "pro"/, "'pro'"],
    ['trait a = pro', 'syntax.unexpected_token', /expected a value .* found "pro"; strings are written in double quotes \("pro"\)/, 'pro'],
    ['trait a = 2026-01-01', 'syntax.unexpected_token', /to compare with a date use before \/ after/, '2026-01-01'],
    ['trait a @ 1', 'syntax.unexpected_character', /unexpected character "@"/, '@'],
    ['trait address.city = "Bern"', 'syntax.unquoted_name', /back-quotes: `address.city`/, 'address.city'],
    ['performed Order', 'syntax.unexpected_token', /an event name in double quotes .* found "Order"/, 'Order'],
    ['performed "X" where properties.a = 1', 'syntax.unexpected_token', /expected "\(" after "where"/, 'properties.a'],
    ['performed "X" where (properties.a = 1 OR properties.b = 1)', 'syntax.unexpected_token', /combined with "and" only/, 'OR'],
    ['performed "X" in last 3 days ever', 'syntax.duplicate_clause', /time window .* is given twice/, 'ever'],
    ['performed "X" at least 1 time exactly 2 times', 'syntax.duplicate_clause', /number of times is given twice/, 'exactly'],
    ['sum of revenue for "X" > 1', 'syntax.unexpected_token', /an event path like properties.revenue .* did you mean properties.revenue\?/, 'revenue'],
    ['sum of properties.x for "X" contains "a"', 'syntax.unexpected_token', /=, !=, <, <=, > or >= and a number after sum of properties.x/, 'contains'],
    ['sequence "A" then "B"', 'syntax.unexpected_end', /"within" and a duration/],
    ['sequence "A" then not "B" then "C" within 1 days', 'syntax.unexpected_token', /"then not …" must be the last step/, 'then', 1],
    ['trait a in []', 'syntax.unexpected_token', /expected a value .* after "\[", found "\]"/, ']'],
    ['trait a', 'syntax.unexpected_end', /expected a comparison \(=, !=/],
    ['', 'syntax.unexpected_end', /expected a condition/],
    ['trait a = 1 or or consent b', 'syntax.unexpected_token', /expected a condition .* found "or"/, 'or', 1],
    ['trait a not starts with "x"', 'syntax.unexpected_token', /there is no "not starts with": write not \(trait a starts with "…"\)/, 'starts'],
    ['performed "X" within last 3 days', 'syntax.trailing_input', /the time window of events is written "in last 30 days"/, 'within'],
    ['in vip', 'syntax.unknown_keyword', /expected "segment" after "in", found "vip"/, 'vip'],
    ['trait a = 1 and', 'syntax.unexpected_end', /expected a condition/],
    ['performed "X" where (properties.`` = 1)', 'value.invalid_path', /cannot be empty/, '``'],
    ['performed "X" where (property.a = 1)', 'value.invalid_path', /must start with properties\., context\. or products\., found "property\." \(did you mean "properties\."\?\)/, 'property'],
  ];
  for (const [text, code, message, part, nth] of cases) {
    const d = fails(text);
    assert.equal(d.code, code, `${text}: ${d.message}`);
    assert.match(d.message, message, text);
    if (part !== undefined) assert.deepEqual(d.span, spanOf(text, part, nth), text);
  }
});

test('deep nesting is refused with a diagnostic, not a stack overflow', () => {
  assert.equal(fails(`${'('.repeat(5000)}consent a${')'.repeat(5000)}`).code, 'syntax.too_deep');
  assert.equal(fails(`${'not '.repeat(5000)}consent a`).code, 'syntax.too_deep');
  assert.ok(parse(`${'('.repeat(100)}consent a${')'.repeat(100)}`));
});

test('schema errors point at the offending value, with a JSON pointer', () => {
  const text = 'consent a and performed "X" at least 2 times in last 0 days';
  const d = fails(text);
  assert.equal(d.code, 'schema.invalid');
  assert.equal(d.pointer, '/conditions/1/window/amount');
  assert.match(d.message, /window\.amount: .*>0/);
  const zero = text.indexOf('0 days');
  assert.deepEqual(d.span, { start: zero, end: zero + 1 });

  const bucket = 'bucket "x" from 0 to 200';
  assert.deepEqual(fails(bucket).span, spanOf(bucket, '200'));
  const times = 'performed "X" at least 1.5 times';
  const t = fails(times);
  assert.equal(t.pointer, '/count/value');
  assert.deepEqual(t.span, spanOf(times, '1.5'));
  const empty = 'trait a contains ""';
  assert.deepEqual(fails(empty).span, spanOf(empty, '""'));
  const name = 'not trait `` exists';
  const n = fails(name);
  assert.equal(n.pointer, '/condition/trait');
  assert.deepEqual(n.span, spanOf(name, '``'));
  const step = 'sequence "A" then "" within 1 days';
  assert.deepEqual(fails(step).span, spanOf(step, '""'));
  const long = `trait a = "${'x'.repeat(1001)}"`;
  assert.deepEqual(fails(long).span, { start: 10, end: long.length });
  const filter = 'performed "X" where (properties.a = 1 and properties.b contains "")';
  const f = fails(filter);
  assert.equal(f.pointer, '/where/1/value');
  assert.deepEqual(f.span, spanOf(filter, '""'));
});

test('the examples of docs/segments.md: each JSON form and the text form after it are the same condition', () => {
  const doc = readFileSync('docs/segments.md', 'utf8');
  const pairs = [...doc.matchAll(/```json\n(.*?)\n```\n```text\n(.*?)\n```/gs)];
  assert.ok(pairs.length >= 15, `only ${pairs.length} examples found`);
  const types = new Set<string>();
  for (const [, json = '', text = ''] of pairs) {
    const c = ConditionSchema.parse(JSON.parse(json));
    const visit = (x: Condition): void => {
      types.add(x.type);
      if (x.type === 'and' || x.type === 'or') x.conditions.forEach(visit);
      if (x.type === 'not') visit(x.condition);
    };
    visit(c);
    assert.deepEqual(parse(text), c, text);
    assert.equal(printSegmentText(c), text);
  }
  assert.equal(types.size, 15, `condition types with an example: ${[...types].join(', ')}`);
});

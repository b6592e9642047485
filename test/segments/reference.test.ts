/**
 * The reference evaluator (reference.ts) and the MD5 of the bucket condition (md5.ts) against hand-computed
 * expectations: every condition type and operator, the boundaries of windows and date comparisons, missing
 * values under negative operators, line-item filters, sequences, computed traits and explain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { JsonValue } from '../../src/domain/errors.js';
import type { Comparison, ComputedTraitDefinition, Condition, EventSelector } from '../../src/domain/segments/ast.js';
import { bucketOf, md5Hex } from '../../src/domain/segments/md5.js';
import { computeTrait, consentsFromEvents, evaluate, explain, type EvalEvent, type EvalProfile } from '../../src/domain/segments/reference.js';

const NOW = Date.parse('2026-06-15T12:00:00Z');
const MIN = 60_000;
const H = 3_600_000;
const D = 86_400_000;

type Props = Record<string, JsonValue>;
let ids = 0;
const track = (event: string, timestamp: number, properties: Props = {}, context: Props = {}): EvalEvent => ({ messageId: `m${++ids}`, type: 'track', event, timestamp, properties, context });
const page = (name: string, timestamp: number): EvalEvent => ({ messageId: `m${++ids}`, type: 'page', name, timestamp, properties: {}, context: {} });
const screen = (name: string, timestamp: number): EvalEvent => ({ messageId: `m${++ids}`, type: 'screen', name, timestamp, properties: {}, context: {} });

function profile(over: Partial<EvalProfile> = {}): EvalProfile {
  return { profileId: 'p1', events: [], traits: {}, computed: {}, scores: {}, consents: {}, segments: new Set(), ...over };
}

/** evaluate and explain's root agree with the expectation. */
function check(c: Condition, p: EvalProfile, want: boolean, now = NOW): void {
  assert.equal(evaluate(c, p, now), want, `${JSON.stringify(c)} at ${new Date(now).toISOString()}`);
  assert.equal(explain(c, p, now).holds, want, `explain: ${JSON.stringify(c)}`);
}

/** A trait comparison on trait `x` holding `stored` (undefined = absent). */
function checkTrait(cmp: Comparison, cases: ReadonlyArray<[JsonValue | undefined, boolean]>, now = NOW): void {
  for (const [stored, want] of cases) {
    const p = profile({ traits: stored === undefined ? {} : { x: stored } });
    assert.equal(evaluate({ type: 'trait', trait: 'x', ...cmp }, p, now), want, `${JSON.stringify(cmp)} on ${stored === undefined ? 'absent' : JSON.stringify(stored)}`);
  }
}

// ---- md5 -------------------------------------------------------------------------------------------

test('md5Hex equals node:crypto on RFC 1321 vectors, padding boundaries, unicode and random strings', () => {
  const nodeMd5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
  assert.equal(md5Hex(''), 'd41d8cd98f00b204e9800998ecf8427e');
  assert.equal(md5Hex('abc'), '900150983cd24fb0d6963f7d28e17f72');
  assert.equal(md5Hex('message digest'), 'f96b697d7cb7938d525a2f31aaf161d0');
  assert.equal(md5Hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890'), '57edf4a22be3c955ac49da2e2107b67a');
  const strings: string[] = ['a', 'abcdefghijklmnopqrstuvwxyz', 'é', 'naïve café', '日本語', '😀', 'a😀b', '👩‍💻 dev', 'Zürich\n\t"x"', '\u0000', '\uffff', '\u{10ffff}',
    'lone \ud800 surrogate', '\udc00 low first', 'holdout-2026:p1'];
  for (let n = 0; n <= 260; n++) strings.push('x'.repeat(n)); // 55 / 56 / 63 / 64 / 119 / 120 bytes: padding into an extra block
  for (let n = 0; n <= 70; n++) strings.push('é'.repeat(n)); // two bytes per character
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const ranges = [[0x20, 0x7e], [0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xffff], [0x10000, 0x10ffff]] as const;
  for (let i = 0; i < 300; i++) {
    let s = '';
    const len = Math.floor(rnd() * 90);
    for (let j = 0; j < len; j++) {
      const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)] as readonly [number, number];
      s += String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
    }
    strings.push(s);
  }
  for (const s of strings) assert.equal(md5Hex(s), nodeMd5(s), JSON.stringify(s));
});

test('bucketOf is the first 8 hex digits of md5("salt:profile") mod 100, spread evenly', () => {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const pid = `profile-${i}`;
    const want = parseInt(createHash('md5').update(`exp_42:${pid}`, 'utf8').digest('hex').slice(0, 8), 16) % 100;
    const b = bucketOf('exp_42', pid);
    assert.equal(b, want);
    counts[Math.floor(b / 10)]! += 1;
  }
  for (const n of counts) assert.ok(n > 850 && n < 1150, `decile sizes ${counts.join(',')}`);
  assert.equal(bucketOf('Spring "A/B" test', 'Zoë 😀'), parseInt(createHash('md5').update('Spring "A/B" test:Zoë 😀').digest('hex').slice(0, 8), 16) % 100);
});

test('bucket: from <= bucket < to', () => {
  const p = profile({ profileId: 'user-7' });
  const b = bucketOf('holdout', 'user-7');
  check({ type: 'bucket', salt: 'holdout', from: b, to: b + 1 }, p, true);
  check({ type: 'bucket', salt: 'holdout', from: 0, to: b }, p, false);
  check({ type: 'bucket', salt: 'holdout', from: b + 1, to: 101 }, p, false);
  check({ type: 'bucket', salt: 'holdout', from: 0, to: 100 }, p, true);
  assert.equal(explain({ type: 'bucket', salt: 'holdout', from: 0, to: 100 }, p, NOW).value, String(b));
});

// ---- comparisons -----------------------------------------------------------------------------------

test('number literals: JSON numbers and plain decimal strings; anything else is missing', () => {
  checkTrait({ op: 'eq', value: 7 }, [[7, true], ['7', true], [' 7 ', true], ['7.0', true], ['7e0', true], ['.7e1', true], ['0x7', false], ['+7', false], ['\t7', false],
    ['', false], ['abc', false], ['7 apples', false], [true, false], [[7], false], [{ v: 7 }, false], [null, false], [undefined, false], [8, false]]);
  checkTrait({ op: 'neq', value: 7 }, [[7, false], ['7', false], [8, true], ['abc', true], [true, true], [null, true], [undefined, true], ['1e400', true]]);
  checkTrait({ op: 'lt', value: 10 }, [[9.5, true], ['-3', true], [10, false], ['10', false], [undefined, false], ['abc', false]]);
  checkTrait({ op: 'lte', value: 10 }, [[10, true], ['10.0', true], [10.01, false], [undefined, false]]);
  checkTrait({ op: 'gt', value: 10 }, [['1e2', true], [10, false], ['1e400', false], [undefined, false]]);
  checkTrait({ op: 'gte', value: 10 }, [[10, true], [9, false], [null, false]]);
});

test('string literals: case-sensitive eq / order, by code point; other types are missing', () => {
  checkTrait({ op: 'eq', value: 'Gold' }, [['Gold', true], ['gold', false], ['Gold ', false], [5, false], [true, false], [undefined, false]]);
  checkTrait({ op: 'neq', value: 'Gold' }, [['Gold', false], ['gold', true], [5, true], [null, true], [undefined, true]]);
  checkTrait({ op: 'eq', value: '5' }, [['5', true], [5, false]]);
  checkTrait({ op: 'lt', value: 'b' }, [['a', true], ['B', true], ['b', false], ['ba', false], [1, false], [undefined, false]]);
  checkTrait({ op: 'lte', value: 'b' }, [['b', true], ['c', false]]);
  checkTrait({ op: 'gte', value: 'b' }, [['b', true], ['c', true], ['a', false]]);
  // U+1F600 is above U+FFFD by code point (and in UTF-8), though its UTF-16 surrogate is below
  checkTrait({ op: 'gt', value: '\ufffd' }, [['😀', true], ['\ufffc', false]]);
});

test('boolean literals: only JSON booleans', () => {
  checkTrait({ op: 'eq', value: true }, [[true, true], [false, false], ['true', false], [1, false], [undefined, false]]);
  checkTrait({ op: 'neq', value: true }, [[false, true], [true, false], ['true', true], [null, true], [undefined, true]]);
});

test('in / not_in: any literal by its own type rule; not_in is true when missing', () => {
  const values = [1, 'a', true];
  checkTrait({ op: 'in', values }, [[1, true], ['1', true], [' 1.0 ', true], ['a', true], ['A', false], [true, true], [false, false], [2, false], [null, false], [undefined, false]]);
  checkTrait({ op: 'not_in', values }, [[1, false], ['1', false], ['a', false], ['A', true], [false, true], [null, true], [undefined, true]]);
  checkTrait({ op: 'in', values: ['1.0'] }, [['1', false], ['1.0', true], [1, false]]);
  checkTrait({ op: 'in', values: [1] }, [['1.0', true]]);
});

test('contains / not_contains / starts_with / ends_with: case-insensitive on strings only', () => {
  checkTrait({ op: 'contains', value: 'OLD' }, [['Gold', true], ['silver', false], [5, false], [undefined, false]]);
  checkTrait({ op: 'contains', value: '5' }, [[15, false], ['15', true]]);
  checkTrait({ op: 'not_contains', value: 'OLD' }, [['Gold', false], ['silver', true], [5, true], [null, true], [undefined, true]]);
  checkTrait({ op: 'starts_with', value: 'go' }, [['Gold', true], ['aGold', false], [undefined, false]]);
  checkTrait({ op: 'ends_with', value: 'LD' }, [['Gold', true], ['golden', false], [undefined, false]]);
});

test('exists / not_exists: any present JSON value; null is missing', () => {
  checkTrait({ op: 'exists' }, [[0, true], [false, true], ['', true], [[], true], [{}, true], [null, false], [undefined, false]]);
  checkTrait({ op: 'not_exists' }, [[0, false], ['', false], [null, true], [undefined, true]]);
  // inherited properties are not traits
  check({ type: 'trait', trait: 'constructor', op: 'exists' }, profile(), false);
  check({ type: 'trait', trait: 'toString', op: 'not_exists' }, profile(), true);
});

test('within_last / within_next / more_than_ago: exact boundaries, date strings and numbers', () => {
  checkTrait({ op: 'within_last', amount: 7, unit: 'days' }, [
    [NOW - 7 * D, false], [NOW - 7 * D + 1, true], [NOW, true], [NOW + 1, false],
    [new Date(NOW - 3 * D).toISOString(), true], ['2026-06-10', true], ['2026-06-08', false],
    ['2026-06-15T11:00', true], ['2026-06-15T13:30:00+02:00', true], ['2026-06-15T13:30:00-02:00', false], ['2026-06-15T11:59:59.999999Z', true],
    ['2026-02-30', false], ['yesterday', false], ['June 14, 2026', false], [String(NOW - D), false], [true, false], [null, false], [undefined, false],
  ]);
  checkTrait({ op: 'within_last', amount: 90, unit: 'minutes' }, [[NOW - 90 * MIN, false], [NOW - 89 * MIN, true]]);
  checkTrait({ op: 'within_next', amount: 7, unit: 'days' }, [[NOW, true], [NOW - 1, false], [NOW + 7 * D - 1, true], [NOW + 7 * D, false], ['2026-06-20', true], [undefined, false]]);
  checkTrait({ op: 'more_than_ago', amount: 7, unit: 'days' }, [[NOW - 7 * D, true], [NOW - 7 * D + 1, false], ['2020-01-01', true], ['not a date', false], [undefined, false]]);
  checkTrait({ op: 'more_than_ago', amount: 2, unit: 'weeks' }, [[NOW - 14 * D, true], [NOW - 14 * D + 1, false]]);
});

test('before / after: strict, literal dates without an offset are UTC', () => {
  const jan1 = Date.UTC(2026, 0, 1);
  checkTrait({ op: 'before', date: '2026-01-01' }, [[jan1 - 1, true], [jan1, false], ['2025-12-31T23:59:59Z', true], ['2026-01-01', false], [undefined, false]]);
  checkTrait({ op: 'after', date: '2026-01-01' }, [[jan1, false], [jan1 + 1, true], ['2026-01-01T00:00:01Z', true], [undefined, false]]);
  checkTrait({ op: 'before', date: '2026-01-01T10:00' }, [[Date.UTC(2026, 0, 1, 10) - 1, true], [Date.UTC(2026, 0, 1, 10), false]]);
  checkTrait({ op: 'after', date: '2026-01-01T10:00:00+02:00' }, [[Date.UTC(2026, 0, 1, 8), false], [Date.UTC(2026, 0, 1, 8) + 1, true]]);
});

test('anniversary_within: today … today + days in UTC, across the year end, 29 February on 28 February', () => {
  checkTrait({ op: 'anniversary_within', days: 0 }, [['1990-06-15', true], ['1990-06-14', false], ['1990-06-16', false], [Date.UTC(1990, 5, 15, 23, 59), true], [undefined, false], ['x', false]]);
  checkTrait({ op: 'anniversary_within', days: 7 }, [['1990-06-22', true], ['1990-06-23', false], ['2030-06-20T23:59:59Z', true], ['1990-06-22T23:30:00-01:00', false]]);
  checkTrait({ op: 'anniversary_within', days: 366 }, [['1990-06-14', true], ['2000-02-29', true], [undefined, false]]);
  const dec28 = Date.parse('2026-12-28T08:00:00Z');
  checkTrait({ op: 'anniversary_within', days: 7 }, [['1985-12-28', true], ['1985-12-27', false], ['1985-12-31', true], ['1985-01-01', true], ['1985-01-04', true], ['1985-01-05', false]], dec28);
  // 2027 has no 29 February: it is celebrated on the 28th
  const feb25in2027 = Date.parse('2027-02-25T12:00:00Z');
  checkTrait({ op: 'anniversary_within', days: 3 }, [['2000-02-29', true], ['2001-02-28', true], ['2001-03-01', false]], feb25in2027);
  checkTrait({ op: 'anniversary_within', days: 2 }, [['2000-02-29', false]], feb25in2027);
  checkTrait({ op: 'anniversary_within', days: 0 }, [['2000-02-29', true]], Date.parse('2027-02-28T23:00:00Z'));
  checkTrait({ op: 'anniversary_within', days: 0 }, [['2000-02-29', false]], Date.parse('2027-03-01T00:00:00Z'));
  // 2028 has one: the 28th is not the birthday
  const feb25in2028 = Date.parse('2028-02-25T12:00:00Z');
  checkTrait({ op: 'anniversary_within', days: 3 }, [['2000-02-29', false], ['2001-02-28', true]], feb25in2028);
  checkTrait({ op: 'anniversary_within', days: 4 }, [['2000-02-29', true], ['2001-03-01', false]], feb25in2028);
  // from 31 December 2026 over 60 days: up to 1 March 2027, which includes 28 February 2027
  checkTrait({ op: 'anniversary_within', days: 60 }, [['2000-02-29', true], ['1999-03-01', true], ['1999-03-02', false]], Date.parse('2026-12-31T00:00:00Z'));
});

// ---- events ----------------------------------------------------------------------------------------

const SHOP: EvalEvent[] = [
  track('Order Completed', NOW - 10 * D, { revenue: 120, currency: 'EUR', products: [{ category: 'shoes', price: 50 }, { category: 'hats', price: 20 }] }),
  track('Order Completed', NOW - 40 * D, { revenue: '30', currency: 'USD', products: [{ category: 'hats', price: 45 }] }),
  track('Order Completed', NOW - 100 * D, { revenue: 80, currency: 'EUR' }),
  track('Order Completed', NOW + D, { revenue: 1000, currency: 'GBP', products: [{ category: 'shoes', price: 999 }] }), // future: ignored
  track('Product Viewed', NOW - D, { category: 'shoes', meta: { tier: { level: 2 } }, shipped_at: new Date(NOW - D).toISOString() }, { campaign: { source: 'newsletter' } }),
  page('Pricing', NOW - 2 * D),
  screen('Home', NOW - 3 * D),
  { messageId: 'identify-1', type: 'identify', timestamp: NOW - 5 * D, properties: {}, context: {} },
];
const shop = profile({ events: SHOP });
const OC = 'Order Completed';

test('event: counts, default at least 1, exactly / at most 0 for nobody', () => {
  check({ type: 'event', event: OC }, shop, true);
  check({ type: 'event', event: OC, count: { op: 'exactly', value: 3 } }, shop, true);
  check({ type: 'event', event: OC, count: { op: 'at_least', value: 4 } }, shop, false);
  check({ type: 'event', event: OC, count: { op: 'at_most', value: 2 } }, shop, false);
  check({ type: 'event', event: OC, count: { op: 'at_most', value: 3 } }, shop, true);
  check({ type: 'event', event: 'Signed Up' }, shop, false);
  const empty = profile();
  check({ type: 'event', event: OC }, empty, false);
  check({ type: 'event', event: OC, count: { op: 'exactly', value: 0 } }, empty, true);
  check({ type: 'event', event: OC, count: { op: 'at_most', value: 0 } }, empty, true);
  check({ type: 'event', event: OC, count: { op: 'at_least', value: 0 } }, empty, true);
  // only future events: none
  check({ type: 'event', event: OC, count: { op: 'exactly', value: 0 } }, profile({ events: [track(OC, NOW + 1)] }), true);
});

test('event: message types and names, * for any of a type', () => {
  const n = (s: EventSelector, value: number) => check({ type: 'event', ...s, count: { op: 'exactly', value } }, shop, true);
  n({ event: '*' }, 4);
  n({ event: '*', messageType: 'track' }, 4);
  n({ event: '*', messageType: 'page' }, 1);
  n({ event: 'Pricing', messageType: 'page' }, 1);
  n({ event: 'Pricing' }, 0);
  n({ event: 'Home', messageType: 'page' }, 0);
  n({ event: 'Home', messageType: 'screen' }, 1);
  n({ event: '*', messageType: 'screen' }, 1);
  n({ event: 'order completed' }, 0);
});

test('event windows: last N is (now - N, now], between is [from, to)', () => {
  const p = profile({ events: [track(OC, NOW - 90 * D), track(OC, NOW - 90 * D + 1), track(OC, NOW), track(OC, NOW + 1)] });
  check({ type: 'event', event: OC, window: { type: 'last', amount: 90, unit: 'days' }, count: { op: 'exactly', value: 2 } }, p, true);
  check({ type: 'event', event: OC, count: { op: 'exactly', value: 3 } }, p, true);
  check({ type: 'event', event: OC, window: { type: 'last', amount: 90, unit: 'days' }, count: { op: 'at_least', value: 3 } }, shop, false);
  check({ type: 'event', event: OC, window: { type: 'last', amount: 90, unit: 'days' }, count: { op: 'exactly', value: 2 } }, shop, true);
  // NOW - 10 days is 2026-06-05T12:00Z, NOW - 40 days is 2026-05-06T12:00Z
  check({ type: 'event', event: OC, window: { type: 'between', from: '2026-05-01', to: '2026-06-05T12:00:00Z' }, count: { op: 'exactly', value: 1 } }, shop, true);
  check({ type: 'event', event: OC, window: { type: 'between', from: '2026-05-06T12:00', to: '2026-06-05T12:00:00.001Z' }, count: { op: 'exactly', value: 2 } }, shop, true);
  check({ type: 'event', event: OC, window: { type: 'between', from: '2026-05-06T12:00:00.001Z', to: '2026-06-05T12:00:00Z' }, count: { op: 'exactly', value: 0 } }, shop, true);
  // a window reaching into the future still sees no future event
  check({ type: 'event', event: OC, window: { type: 'between', from: '2026-06-01', to: '2027-01-01' }, count: { op: 'exactly', value: 1 } }, shop, true);
});

test('event filters: properties and context paths, nested, missing under negative operators, dates', () => {
  const n = (where: EventSelector['where'], value: number, event = OC) => check({ type: 'event', event, where, count: { op: 'exactly', value } }, shop, true);
  n([{ path: 'properties.currency', op: 'eq', value: 'EUR' }], 2);
  n([{ path: 'properties.currency', op: 'neq', value: 'EUR' }], 1);
  n([{ path: 'properties.revenue', op: 'gte', value: 30 }], 3);
  n([{ path: 'properties.revenue', op: 'gt', value: 30 }], 2);
  n([{ path: 'properties.revenue', op: 'gt', value: 30 }, { path: 'properties.currency', op: 'eq', value: 'EUR' }], 2);
  n([{ path: 'properties.coupon', op: 'not_exists' }], 3);
  n([{ path: 'properties.coupon', op: 'neq', value: 'X' }], 3);
  n([{ path: 'properties.coupon', op: 'eq', value: 'X' }], 0);
  n([{ path: 'properties.currency', op: 'not_in', values: ['EUR', 'GBP'] }], 1);
  n([{ path: 'properties.currency.code', op: 'exists' }], 0); // a string is not an object
  n([{ path: 'context.campaign.source', op: 'eq', value: 'newsletter' }], 1, 'Product Viewed');
  n([{ path: 'context.campaign', op: 'eq', value: 'newsletter' }], 0, 'Product Viewed');
  n([{ path: 'properties.meta.tier.level', op: 'gte', value: 2 }], 1, 'Product Viewed');
  n([{ path: 'properties.shipped_at', op: 'within_last', amount: 2, unit: 'days' }], 1, 'Product Viewed');
  n([{ path: 'properties.shipped_at', op: 'within_last', amount: 1, unit: 'days' }], 0, 'Product Viewed');
});

test('products filters: all on the same line item; no products array → no match', () => {
  const n = (where: EventSelector['where'], value: number) => check({ type: 'event', event: OC, where, count: { op: 'exactly', value } }, shop, true);
  n([{ path: 'products.category', op: 'eq', value: 'shoes' }], 1);
  n([{ path: 'products.category', op: 'eq', value: 'hats' }], 2);
  n([{ path: 'products.category', op: 'eq', value: 'shoes' }, { path: 'products.price', op: 'gt', value: 40 }], 1);
  // shoes at 50 and hats at 20 are on different items of the same order: no line item is cheap shoes
  n([{ path: 'products.category', op: 'eq', value: 'shoes' }, { path: 'products.price', op: 'lt', value: 30 }], 0);
  n([{ path: 'products.category', op: 'eq', value: 'hats' }, { path: 'products.price', op: 'gt', value: 40 }], 1);
  // a negative operator still needs a line item: the order without products does not match
  n([{ path: 'products.category', op: 'neq', value: 'shoes' }], 2);
  n([{ path: 'products.sku', op: 'not_exists' }], 2);
  // products filters and event filters together
  n([{ path: 'products.category', op: 'eq', value: 'hats' }, { path: 'properties.currency', op: 'eq', value: 'USD' }], 1);
  // line items must be plain objects
  const odd = profile({ events: [track(OC, NOW - D, { products: ['shoes', null, 3, [{ category: 'x' }]] }), track(OC, NOW - D, { products: { category: 'shoes' } })] });
  check({ type: 'event', event: OC, where: [{ path: 'products.category', op: 'not_exists' }] }, odd, false);
  check({ type: 'event', event: OC, where: [{ path: 'products.category', op: 'not_exists' }] }, profile({ events: [track(OC, NOW - D, { products: ['shoes', {}] })] }), true);
});

test('aggregate: sum / avg / min / max / count_distinct, numeric strings, line items, no events', () => {
  type Fn = 'sum' | 'avg' | 'min' | 'max' | 'count_distinct';
  type Extra = { where?: EventSelector['where']; window?: { type: 'last'; amount: number; unit: 'days' } };
  const agg = (fn: Fn, path: string, op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte', value: number, want: boolean, extra: Extra = {}, p = shop) =>
    check({ type: 'aggregate', event: OC, fn, path, op, value, ...extra }, p, want);
  agg('sum', 'properties.revenue', 'eq', 230, true); // 120 + "30" + 80; the future 1000 is ignored
  agg('sum', 'properties.revenue', 'eq', 150, true, { window: { type: 'last', amount: 90, unit: 'days' } });
  agg('avg', 'properties.revenue', 'eq', 75, true, { window: { type: 'last', amount: 90, unit: 'days' } });
  agg('min', 'properties.revenue', 'eq', 30, true);
  agg('max', 'properties.revenue', 'eq', 120, true);
  agg('max', 'properties.revenue', 'lt', 120, false);
  agg('max', 'properties.revenue', 'lte', 120, true);
  agg('min', 'properties.revenue', 'neq', 30, false);
  agg('count_distinct', 'properties.currency', 'eq', 2, true);
  agg('count_distinct', 'properties.revenue', 'eq', 3, true);
  agg('count_distinct', 'properties.coupon', 'eq', 0, true);
  agg('sum', 'products.price', 'eq', 115, true);
  agg('sum', 'products.price', 'eq', 65, true, { where: [{ path: 'products.category', op: 'eq', value: 'hats' }] });
  agg('avg', 'products.price', 'eq', 32.5, true, { where: [{ path: 'products.category', op: 'eq', value: 'hats' }] });
  agg('max', 'products.price', 'eq', 45, true, { where: [{ path: 'products.category', op: 'eq', value: 'hats' }] });
  agg('count_distinct', 'products.category', 'eq', 2, true);
  agg('sum', 'properties.revenue', 'eq', 200, true, { where: [{ path: 'properties.currency', op: 'eq', value: 'EUR' }] });
  // no events: sum is 0, avg / min / max are missing, count_distinct is 0
  const none = profile();
  agg('sum', 'properties.revenue', 'gte', 0, true, {}, none);
  agg('sum', 'properties.revenue', 'lt', 5, true, {}, none);
  agg('sum', 'properties.revenue', 'eq', 0, true, {}, none);
  agg('avg', 'properties.revenue', 'eq', 0, false, {}, none);
  agg('avg', 'properties.revenue', 'lt', 5, false, {}, none);
  agg('avg', 'properties.revenue', 'neq', 0, true, {}, none);
  agg('min', 'properties.revenue', 'gt', -1, false, {}, none);
  agg('max', 'properties.revenue', 'neq', 1, true, {}, none);
  agg('count_distinct', 'properties.revenue', 'eq', 0, true, {}, none);
  // non-numeric values are skipped; only those: avg missing, sum 0; count_distinct by JSON text (1 and "1" differ)
  const odd = profile({ events: [track(OC, NOW - D, { revenue: 'abc' }), track(OC, NOW - D, { revenue: true }), track(OC, NOW - 2 * D, { revenue: null })] });
  agg('avg', 'properties.revenue', 'neq', 0, true, {}, odd);
  agg('avg', 'properties.revenue', 'eq', 0, false, {}, odd);
  agg('sum', 'properties.revenue', 'eq', 0, true, {}, odd);
  agg('count_distinct', 'properties.revenue', 'eq', 2, true, {}, odd);
  const ones = profile({ events: [track(OC, NOW - D, { v: 1 }), track(OC, NOW - D, { v: '1' }), track(OC, NOW - D, { v: 1 }), track(OC, NOW - D, { v: { a: 1 } }), track(OC, NOW - D, { v: { a: 1 } })] });
  agg('count_distinct', 'properties.v', 'eq', 3, true, {}, ones);
  agg('sum', 'properties.v', 'eq', 3, true, {}, ones);
  assert.equal(explain({ type: 'aggregate', event: OC, fn: 'avg', path: 'properties.revenue', op: 'gt', value: 0 }, shop, NOW).value, '76.66666667');
  assert.equal(explain({ type: 'aggregate', event: OC, fn: 'avg', path: 'properties.revenue', op: 'gt', value: 0 }, none, NOW).value, 'missing');
});

test('first_performed / last_performed: date comparisons on the first / last time', () => {
  check({ type: 'first_performed', event: OC, op: 'more_than_ago', amount: 90, unit: 'days' }, shop, true);
  check({ type: 'first_performed', event: OC, op: 'within_last', amount: 90, unit: 'days' }, shop, false);
  check({ type: 'first_performed', event: OC, window: { type: 'last', amount: 90, unit: 'days' }, op: 'within_last', amount: 45, unit: 'days' }, shop, true);
  check({ type: 'last_performed', event: OC, op: 'within_last', amount: 30, unit: 'days' }, shop, true);
  check({ type: 'last_performed', event: OC, op: 'within_last', amount: 10, unit: 'days' }, shop, false);
  check({ type: 'last_performed', event: OC, op: 'more_than_ago', amount: 10, unit: 'days' }, shop, true);
  check({ type: 'last_performed', event: OC, op: 'more_than_ago', amount: 11, unit: 'days' }, shop, false);
  check({ type: 'last_performed', event: OC, op: 'before', date: '2026-06-05T12:00:00Z' }, shop, false);
  check({ type: 'last_performed', event: OC, op: 'after', date: '2026-06-05T12:00:00Z' }, shop, false);
  check({ type: 'last_performed', event: OC, op: 'before', date: '2026-06-06' }, shop, true);
  check({ type: 'first_performed', event: OC, op: 'after', date: '2026-03-01' }, shop, true);
  check({ type: 'last_performed', event: OC, op: 'exists' }, shop, true);
  check({ type: 'last_performed', event: OC, op: 'not_exists' }, shop, false);
  for (const t of ['first_performed', 'last_performed'] as const) {
    check({ type: t, event: 'Signed Up', op: 'exists' }, shop, false);
    check({ type: t, event: 'Signed Up', op: 'not_exists' }, shop, true);
    check({ type: t, event: 'Signed Up', op: 'within_last', amount: 1000, unit: 'weeks' }, shop, false);
    check({ type: t, event: 'Signed Up', op: 'more_than_ago', amount: 1, unit: 'minutes' }, shop, false);
    check({ type: t, event: 'Signed Up', op: 'before', date: '2100-01-01' }, shop, false);
  }
  assert.equal(explain({ type: 'last_performed', event: OC, op: 'exists' }, shop, NOW).value, '2026-06-05T12:00:00.000Z');
  assert.equal(explain({ type: 'last_performed', event: 'Signed Up', op: 'exists' }, shop, NOW).value, 'never');
});

test('last_value: the latest event; ties by the greater JSON text; no fall back to earlier events', () => {
  check({ type: 'last_value', event: OC, path: 'properties.currency', op: 'eq', value: 'EUR' }, shop, true);
  check({ type: 'last_value', event: OC, path: 'properties.revenue', op: 'eq', value: 120 }, shop, true);
  check({ type: 'last_value', event: OC, window: { type: 'between', from: '2026-01-01', to: '2026-06-01' }, path: 'properties.currency', op: 'eq', value: 'USD' }, shop, true);
  check({ type: 'last_value', event: OC, where: [{ path: 'properties.currency', op: 'neq', value: 'EUR' }], path: 'properties.revenue', op: 'eq', value: 30 }, shop, true);
  const lacks = profile({ events: [track(OC, NOW - D, {}), track(OC, NOW - 5 * D, { currency: 'CHF' })] });
  check({ type: 'last_value', event: OC, path: 'properties.currency', op: 'exists' }, lacks, false);
  check({ type: 'last_value', event: OC, path: 'properties.currency', op: 'not_exists' }, lacks, true);
  check({ type: 'last_value', event: OC, path: 'properties.currency', op: 'eq', value: 'CHF' }, lacks, false);
  check({ type: 'last_value', event: OC, path: 'properties.currency', op: 'neq', value: 'CHF' }, lacks, true);
  const nullLast = profile({ events: [track(OC, NOW - D, { currency: null }), track(OC, NOW - 5 * D, { currency: 'CHF' })] });
  check({ type: 'last_value', event: OC, path: 'properties.currency', op: 'not_exists' }, nullLast, true);
  const tie = (a: JsonValue | undefined, b: JsonValue | undefined) => profile({ events: [track(OC, NOW - D, a === undefined ? {} : { v: a }), track(OC, NOW - D, b === undefined ? {} : { v: b })] });
  check({ type: 'last_value', event: OC, path: 'properties.v', op: 'eq', value: 'b' }, tie('a', 'b'), true);
  check({ type: 'last_value', event: OC, path: 'properties.v', op: 'eq', value: 'b' }, tie('b', 'a'), true);
  check({ type: 'last_value', event: OC, path: 'properties.v', op: 'eq', value: 'a' }, tie('a', undefined), true); // present beats missing
  check({ type: 'last_value', event: OC, path: 'properties.v', op: 'eq', value: 5 }, tie('z', 5), true); // '5' > '"z"'
  check({ type: 'last_value', event: OC, path: 'properties.v', op: 'eq', value: 'Z' }, tie('a', 'Z'), false); // '"a"' > '"Z"'
  check({ type: 'last_value', event: 'Signed Up', path: 'properties.v', op: 'not_exists' }, shop, true);
  check({ type: 'last_value', event: 'Signed Up', path: 'properties.v', op: 'not_contains', value: 'x' }, shop, true);
  check({ type: 'last_value', event: 'Signed Up', path: 'properties.v', op: 'contains', value: 'x' }, shop, false);
});

test('sequence: distinct events in time order, first to last within the time, inside the window', () => {
  const T0 = NOW - 2 * D;
  const p = profile({ events: [track('Product Viewed', T0), track('Product Added', T0 + H), track(OC, T0 + 3 * H)] });
  const steps = [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: OC }];
  check({ type: 'sequence', steps, within: { amount: 3, unit: 'hours' } }, p, true); // exactly 3 hours
  check({ type: 'sequence', steps, within: { amount: 179, unit: 'minutes' } }, p, false);
  check({ type: 'sequence', steps: [{ event: OC }, { event: 'Product Viewed' }], within: { amount: 7, unit: 'days' } }, p, false);
  check({ type: 'sequence', steps: [{ event: 'Product Added' }, { event: 'Product Viewed' }], within: { amount: 7, unit: 'days' } }, p, false);
  check({ type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: OC }], within: { amount: 1, unit: 'days' } }, p, true);
  check({ type: 'sequence', steps: [{ event: OC }], within: { amount: 1, unit: 'minutes' } }, p, true);
  check({ type: 'sequence', steps: [{ event: 'Signed Up' }], within: { amount: 1, unit: 'days' } }, p, false);
  // the window holds every step: Product Viewed is exactly 2 days ago, outside (now - 2 days, now]
  check({ type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: OC }], within: { amount: 1, unit: 'days' }, window: { type: 'last', amount: 2, unit: 'days' } }, p, false);
  check({ type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: OC }], within: { amount: 1, unit: 'days' }, window: { type: 'last', amount: 3, unit: 'days' } }, p, true);
  // step filters
  const q = profile({ events: [track('Product Added', T0, { price: 50 }), track('Product Added', T0 + H, { price: 150 }), track(OC, T0 + 2 * H)] });
  check({ type: 'sequence', steps: [{ event: 'Product Added', where: [{ path: 'properties.price', op: 'gt', value: 100 }] }, { event: OC }], within: { amount: 1, unit: 'hours' } }, q, true);
  check({ type: 'sequence', steps: [{ event: 'Product Added', where: [{ path: 'properties.price', op: 'lt', value: 100 }] }, { event: OC }], within: { amount: 1, unit: 'hours' } }, q, false);
  // equal times in either order; one event cannot be two steps
  const same = profile({ events: [track('B', T0), track('A', T0)] });
  check({ type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: { amount: 1, unit: 'minutes' } }, same, true);
  check({ type: 'sequence', steps: [{ event: 'B' }, { event: 'A' }], within: { amount: 1, unit: 'minutes' } }, same, true);
  check({ type: 'sequence', steps: [{ event: 'A' }, { event: 'A' }], within: { amount: 1, unit: 'days' } }, same, false);
  check({ type: 'sequence', steps: [{ event: '*' }, { event: '*' }], within: { amount: 1, unit: 'minutes' } }, same, true);
  check({ type: 'sequence', steps: [{ event: '*' }, { event: '*' }, { event: '*' }], within: { amount: 1, unit: 'days' } }, same, false);
  check({ type: 'sequence', steps: [{ event: 'A' }, { event: 'A' }], within: { amount: 1, unit: 'days' } }, profile({ events: [track('A', T0), track('A', T0)] }), true);
  // one event matches both steps' selectors, the other only the first: at one time, the order still works out
  const both = profile({ events: [track('X', T0, { kind: 'both' }), track('X', T0, { kind: 'a' })] });
  const isA: EventSelector = { event: 'X' };
  const isB: EventSelector = { event: 'X', where: [{ path: 'properties.kind', op: 'eq', value: 'both' }] };
  check({ type: 'sequence', steps: [isA, isB], within: { amount: 1, unit: 'minutes' } }, both, true);
  check({ type: 'sequence', steps: [isB, isA], within: { amount: 1, unit: 'minutes' } }, both, true);
  check({ type: 'sequence', steps: [isB, isB], within: { amount: 1, unit: 'minutes' } }, both, false);
  // a later start can complete what an earlier one cannot
  const later = profile({ events: [track('A', T0), track('A', T0 + 90 * MIN), track('B', T0 + 2 * H)] });
  check({ type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: { amount: 1, unit: 'hours' } }, later, true);
  check({ type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: { amount: 29, unit: 'minutes' } }, later, false);
  // future events do not complete a sequence
  check({ type: 'sequence', steps: [{ event: 'A' }, { event: 'B' }], within: { amount: 1, unit: 'hours' } }, profile({ events: [track('A', NOW), track('B', NOW + 1)] }), false);
  assert.equal(explain({ type: 'sequence', steps, within: { amount: 3, unit: 'hours' } }, p, NOW).value, `completed ${new Date(T0 + 3 * H).toISOString()}`);
});

test('sequence then not: the waiting time has passed without the event (abandoned checkout)', () => {
  const CS = 'Checkout Started';
  const abandoned = (events: EvalEvent[], want: boolean, extra: Partial<Extract<Condition, { type: 'sequence' }>> = {}) =>
    check({ type: 'sequence', steps: [{ event: CS }], thenNot: { event: OC }, within: { amount: 1, unit: 'hours' }, ...extra }, profile({ events }), want);
  const t = NOW - 2 * H;
  abandoned([track(CS, t)], true);
  abandoned([track(CS, NOW - 30 * MIN)], false); // not yet an hour
  abandoned([track(CS, NOW - H)], true); // exactly an hour: elapsed
  abandoned([track(CS, NOW - H + 1)], false);
  abandoned([track(CS, t), track(OC, t + 30 * MIN)], false);
  abandoned([track(CS, t), track(OC, t + H)], false); // at the end of the wait: still in time
  abandoned([track(CS, t), track(OC, t + H + 1)], true);
  abandoned([track(CS, t), track(OC, t)], false); // at the same time
  abandoned([track(CS, t), track(OC, t - 1)], true); // before: irrelevant
  abandoned([track(CS, NOW - 5 * H), track(OC, NOW - 4.5 * H), track(CS, t)], true); // the second checkout is abandoned
  abandoned([track(CS, NOW - 5 * H), track(CS, t), track(OC, t + 10 * MIN)], true); // the first one is
  abandoned([track(CS, NOW - 5 * H), track(OC, NOW - 4.5 * H), track(CS, t), track(OC, t + 10 * MIN)], false);
  abandoned([], false);
  abandoned([track(OC, t)], false);
  // the thenNot filters
  abandoned([track(CS, t), track(OC, t + 10 * MIN, { revenue: 0 })], true, { thenNot: { event: OC, where: [{ path: 'properties.revenue', op: 'gt', value: 0 }] } });
  // the window restricts the steps only: an order after the window's end still counts
  const win = { type: 'between' as const, from: '2026-06-15T00:00:00Z', to: '2026-06-15T10:30:00Z' };
  abandoned([track(CS, NOW - 2 * H), track(OC, NOW - 75 * MIN)], false, { window: win });
  abandoned([track(CS, NOW - 2 * H)], true, { window: win });
  abandoned([track(CS, NOW - 3 * D)], false, { window: { type: 'last', amount: 1, unit: 'days' } });
  // several steps, then not
  const steps = [{ event: 'Product Added' }, { event: CS }];
  abandoned([track('Product Added', NOW - 3 * H), track(CS, NOW - 2.5 * H)], true, { steps });
  abandoned([track('Product Added', NOW - 3 * H), track(CS, NOW - 2.5 * H), track(OC, NOW - 2 * H)], false, { steps });
  abandoned([track('Product Added', NOW - 3 * H), track(OC, NOW - 2.9 * H), track(CS, NOW - 2.5 * H)], true, { steps }); // ordered before the checkout
  abandoned([track('Product Added', NOW - 30 * MIN), track(CS, NOW - 10 * MIN)], false, { steps });
});

// ---- other leaves ------------------------------------------------------------------------------------

test('computed_trait, score, segment, consent', () => {
  const p = profile({
    computed: { orders: 3, tier: 'gold', since: '2026-06-10', cats: ['hats', 'shoes'], nothing: null },
    scores: { churn: 0.8 }, segments: new Set(['vip']), consents: { marketing: true, analytics: false },
  });
  check({ type: 'computed_trait', key: 'orders', op: 'gte', value: 3 }, p, true);
  check({ type: 'computed_trait', key: 'orders', op: 'gt', value: 3 }, p, false);
  check({ type: 'computed_trait', key: 'tier', op: 'in', values: ['gold', 'silver'] }, p, true);
  check({ type: 'computed_trait', key: 'since', op: 'within_last', amount: 7, unit: 'days' }, p, true);
  check({ type: 'computed_trait', key: 'cats', op: 'exists' }, p, true);
  check({ type: 'computed_trait', key: 'cats', op: 'contains', value: 'hats' }, p, false); // a list is not a string
  check({ type: 'computed_trait', key: 'nothing', op: 'exists' }, p, false);
  check({ type: 'computed_trait', key: 'absent', op: 'eq', value: 1 }, p, false);
  check({ type: 'computed_trait', key: 'absent', op: 'neq', value: 1 }, p, true);
  check({ type: 'computed_trait', key: 'absent', op: 'not_exists' }, p, true);
  check({ type: 'score', model: 'churn', op: 'gt', value: 0.7 }, p, true);
  check({ type: 'score', model: 'churn', op: 'lt', value: 0.7 }, p, false);
  check({ type: 'score', model: 'churn', op: 'eq', value: 0.8 }, p, true);
  check({ type: 'score', model: 'churn', op: 'exists' }, p, true);
  check({ type: 'score', model: 'ltv', op: 'gt', value: 0 }, p, false);
  check({ type: 'score', model: 'ltv', op: 'neq', value: 0.5 }, p, true);
  check({ type: 'score', model: 'ltv', op: 'exists' }, p, false);
  check({ type: 'segment', segment: 'vip' }, p, true);
  check({ type: 'segment', segment: 'churned' }, p, false);
  check({ type: 'consent', purpose: 'marketing' }, p, true);
  check({ type: 'consent', purpose: 'analytics' }, p, false);
  check({ type: 'consent', purpose: 'ads' }, p, false);
  check({ type: 'consent', purpose: 'constructor' }, p, false);
});

test('and / or / not', () => {
  const yes: Condition = { type: 'segment', segment: 'vip' };
  const no: Condition = { type: 'segment', segment: 'other' };
  const p = profile({ segments: new Set(['vip']) });
  check({ type: 'and', conditions: [yes, yes] }, p, true);
  check({ type: 'and', conditions: [yes, no] }, p, false);
  check({ type: 'or', conditions: [no, yes] }, p, true);
  check({ type: 'or', conditions: [no, no] }, p, false);
  check({ type: 'not', condition: no }, p, true);
  check({ type: 'not', condition: { type: 'not', condition: yes } }, p, true);
  // not of a negative operator on a missing value: the missing value gives neq true, so not … is false
  check({ type: 'not', condition: { type: 'trait', trait: 'plan', op: 'neq', value: 'pro' } }, p, false);
});

test('consentsFromEvents: the latest boolean per purpose, granted wins a tie, future ignored', () => {
  const consent = (prefs: Props): Props => ({ consent: { categoryPreferences: prefs } });
  const events: EvalEvent[] = [
    { messageId: 'identify-2', type: 'identify', timestamp: NOW - 5 * D, properties: {}, context: consent({ marketing: true, analytics: false }) },
    track('x', NOW - D, {}, consent({ marketing: false, ads: 'yes' })),
    track('x', NOW + D, {}, consent({ marketing: true })),
    track('x', NOW - 2 * D, {}, consent({ analytics: true })),
    track('x', NOW - 2 * D, {}, consent({ analytics: false })),
    track('x', NOW - 3 * D, {}, JSON.parse('{"consent":{"categoryPreferences":{"__proto__":true}}}') as Props),
  ];
  const c = consentsFromEvents(events, NOW);
  assert.deepEqual(Object.entries(c).sort(), [['__proto__', true], ['analytics', true], ['marketing', false]]);
  assert.equal(Object.getPrototypeOf(c), Object.prototype);
});

test('derived inputs: without computed / segments / consents, an EvalContext supplies them from definitions and events', () => {
  const consent = (granted: boolean): Props => ({ consent: { categoryPreferences: { marketing: granted } } });
  const base = { profileId: 'p9', events: [...SHOP, track('x', NOW - 4 * D, {}, consent(true)), track('x', NOW - 6 * D, {}, consent(false))], traits: { plan: 'pro' }, scores: {} };
  const ctx = {
    now: NOW,
    segments: new Map<string, Condition>([
      ['pro', { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }],
      ['pro_buyer', { type: 'and', conditions: [{ type: 'segment', segment: 'pro' }, { type: 'event', event: OC }] }],
      ['loop', { type: 'segment', segment: 'loop' }],
    ]),
    computed: new Map<string, ComputedTraitDefinition>([
      ['orders', { key: 'orders', kind: 'count', event: OC }],
      ['last_currency', { key: 'last_currency', kind: 'last', event: OC, path: 'properties.currency' }],
    ]),
  };
  check({ type: 'consent', purpose: 'marketing' }, base, true);
  assert.equal(evaluate({ type: 'segment', segment: 'pro_buyer' }, base, ctx), true);
  assert.equal(evaluate({ type: 'not', condition: { type: 'segment', segment: 'pro' } }, base, ctx), false);
  assert.throws(() => evaluate({ type: 'segment', segment: 'loop' }, base, ctx), /cycle/);
  assert.throws(() => evaluate({ type: 'segment', segment: 'nope' }, base, ctx), /unknown/);
  assert.equal(evaluate({ type: 'computed_trait', key: 'orders', op: 'eq', value: 3 }, base, ctx), true);
  assert.equal(evaluate({ type: 'computed_trait', key: 'last_currency', op: 'eq', value: 'EUR' }, base, ctx), true);
  // a numeric kind is a number, not a date (3 would be 3 ms after 1970 as a date)
  assert.equal(evaluate({ type: 'computed_trait', key: 'orders', op: 'more_than_ago', amount: 1, unit: 'days' }, base, ctx), false);
  assert.equal(evaluate({ type: 'computed_trait', key: 'orders', op: 'more_than_ago', amount: 1, unit: 'days' }, { ...base, computed: { orders: 3 } }, NOW), true);
  // given values win over definitions
  assert.equal(evaluate({ type: 'segment', segment: 'pro' }, { ...base, segments: new Set<string>() }, ctx), false);
  assert.equal(evaluate({ type: 'computed_trait', key: 'orders', op: 'eq', value: 3 }, { ...base, computed: { orders: 7 } }, ctx), false);
  assert.equal(evaluate({ type: 'consent', purpose: 'marketing' }, { ...base, consents: {} }, ctx), false);
  assert.equal(computeTrait({ key: 'n', kind: 'count', event: OC }, base, ctx), 3);
  assert.deepEqual(explain({ type: 'segment', segment: 'pro_buyer' }, base, ctx), { label: 'member of segment pro_buyer', holds: true, value: 'member' });
});

// ---- computed traits ---------------------------------------------------------------------------------

test('computeTrait: every kind', () => {
  const ct = (def: Omit<ComputedTraitDefinition, 'key'>, p: EvalProfile = shop) => computeTrait({ key: 'k', ...def }, p, NOW);
  const none = profile();
  assert.equal(ct({ kind: 'count', event: OC }), 3);
  assert.equal(ct({ kind: 'count', event: OC, window: { type: 'last', amount: 90, unit: 'days' } }), 2);
  assert.equal(ct({ kind: 'count', event: OC }, none), 0);
  assert.equal(ct({ kind: 'sum', event: OC, path: 'properties.revenue' }), 230);
  assert.equal(ct({ kind: 'sum', event: OC, path: 'properties.revenue' }, none), 0);
  assert.equal(ct({ kind: 'sum', event: OC, path: 'products.price', where: [{ path: 'products.category', op: 'eq', value: 'hats' }] }), 65);
  assert.equal(ct({ kind: 'avg', event: OC, path: 'properties.revenue' }), 230 / 3);
  assert.equal(ct({ kind: 'avg', event: OC, path: 'properties.revenue' }, none), undefined);
  assert.equal(ct({ kind: 'min', event: OC, path: 'properties.revenue' }), 30);
  assert.equal(ct({ kind: 'min', event: OC, path: 'properties.currency' }), undefined);
  assert.equal(ct({ kind: 'max', event: OC, path: 'properties.revenue' }), 120);
  assert.equal(ct({ kind: 'max', event: OC, path: 'products.price' }), 50);
  assert.equal(ct({ kind: 'max', event: OC, path: 'properties.revenue' }, none), undefined);
  assert.equal(ct({ kind: 'most_frequent', event: OC, path: 'properties.currency' }), 'EUR');
  assert.equal(ct({ kind: 'most_frequent', event: OC, path: 'products.category' }), 'hats');
  assert.equal(ct({ kind: 'most_frequent', event: OC, path: 'properties.currency' }, none), undefined);
  const ev = (vs: Array<JsonValue | undefined>, ts: (i: number) => number = () => NOW - D) => profile({ events: vs.map((v, i) => track(OC, ts(i), v === undefined ? {} : { v })) });
  assert.equal(ct({ kind: 'most_frequent', event: OC, path: 'properties.v' }, ev(['USD', 'EUR'])), 'EUR'); // tie: smallest JSON text
  assert.equal(ct({ kind: 'most_frequent', event: OC, path: 'properties.v' }, ev([5, 'a', 5, 'a', null, null, null])), 'a'); // '"a"' < '5'; null is missing
  assert.deepEqual(ct({ kind: 'most_frequent', event: OC, path: 'properties.v' }, ev([{ a: 1 }, 2, { a: 1 }])), { a: 1 });
  assert.equal(ct({ kind: 'first', event: OC, path: 'properties.currency' }), 'EUR');
  assert.equal(ct({ kind: 'first', event: OC, path: 'properties.revenue' }), 80);
  assert.equal(ct({ kind: 'last', event: OC, path: 'properties.revenue' }), 120);
  assert.equal(ct({ kind: 'last', event: OC, path: 'properties.revenue' }, none), undefined);
  assert.equal(ct({ kind: 'first', event: OC, path: 'properties.v' }, ev(['b', 'a'])), 'a');
  assert.equal(ct({ kind: 'last', event: OC, path: 'properties.v' }, ev(['b', 'a'])), 'b');
  assert.equal(ct({ kind: 'first', event: OC, path: 'properties.v' }, ev(['b', undefined])), undefined); // missing is the smallest
  assert.equal(ct({ kind: 'last', event: OC, path: 'properties.v' }, ev(['b', undefined])), 'b');
  assert.equal(ct({ kind: 'last', event: OC, path: 'properties.v' }, ev(['new', undefined], (i) => NOW - (i + 1) * D)), 'new');
  assert.equal(ct({ kind: 'last', event: OC, path: 'properties.v' }, ev([undefined, 'old'], (i) => NOW - (i + 1) * D)), undefined);
  assert.deepEqual(ct({ kind: 'unique_list', event: OC, path: 'properties.currency' }), ['EUR', 'USD']);
  assert.deepEqual(ct({ kind: 'unique_list', event: OC, path: 'products.category' }), ['hats', 'shoes']);
  assert.deepEqual(ct({ kind: 'unique_list', event: OC, path: 'products.category', where: [{ path: 'products.price', op: 'gt', value: 40 }] }), ['hats', 'shoes']);
  assert.deepEqual(ct({ kind: 'unique_list', event: OC, path: 'products.category', where: [{ path: 'products.price', op: 'gt', value: 46 }] }), ['shoes']);
  assert.deepEqual(ct({ kind: 'unique_list', event: OC, path: 'properties.v' }, ev([true, 1, 'a', { k: 1 }, 1, null])), ['a', 1, true, { k: 1 }]); // '"' < '1' < 't' < '{'
  assert.equal(ct({ kind: 'unique_list', event: OC, path: 'properties.v' }, none), undefined);
  const many = ev(Array.from({ length: 150 }, (_, i) => `v${String(149 - i).padStart(3, '0')}`));
  assert.deepEqual(ct({ kind: 'unique_list', event: OC, path: 'properties.v' }, many), Array.from({ length: 100 }, (_, i) => `v${String(i).padStart(3, '0')}`));
  assert.equal(ct({ kind: 'unique_count', event: OC, path: 'properties.v' }, many), 150);
  assert.equal(ct({ kind: 'unique_count', event: OC, path: 'properties.currency' }), 2);
  assert.equal(ct({ kind: 'unique_count', event: OC, path: 'properties.v' }, ev([1, '1', 1])), 2);
  assert.equal(ct({ kind: 'unique_count', event: OC, path: 'properties.currency' }, none), 0);
  assert.equal(ct({ kind: 'days_since_last', event: OC }), 10);
  assert.equal(ct({ kind: 'days_since_first', event: OC }), 100);
  assert.equal(ct({ kind: 'days_since_first', event: OC, window: { type: 'last', amount: 90, unit: 'days' } }), 40);
  assert.equal(ct({ kind: 'days_since_last', event: OC }, profile({ events: [track(OC, NOW - 1.5 * D), track(OC, NOW - D + 1)] })), 0);
  assert.equal(ct({ kind: 'days_since_first', event: OC }, profile({ events: [track(OC, NOW - 1.5 * D), track(OC, NOW - D + 1)] })), 1);
  assert.equal(ct({ kind: 'days_since_last', event: OC }, none), undefined);
  assert.equal(ct({ kind: 'days_since_first', event: OC }, none), undefined);
  assert.throws(() => ct({ kind: 'sum', event: OC }), /needs a path/);
});

test('results do not depend on the order of the events', () => {
  const reversed = profile({ events: [...SHOP].reverse() });
  const kinds = ['count', 'sum', 'avg', 'min', 'max', 'most_frequent', 'first', 'last', 'unique_list', 'unique_count', 'days_since_last', 'days_since_first'] as const;
  for (const kind of kinds) {
    for (const path of ['properties.revenue', 'products.price']) {
      const def: ComputedTraitDefinition = { key: kind, kind, event: OC, path };
      assert.deepEqual(computeTrait(def, reversed, NOW), computeTrait(def, shop, NOW), `${kind} ${path}`);
    }
  }
});

// ---- explain -------------------------------------------------------------------------------------------

test('explain: the nested tree with each node value and verdict; root equals evaluate', () => {
  const c: Condition = {
    type: 'and', conditions: [
      { type: 'or', conditions: [
        { type: 'event', event: OC, count: { op: 'at_least', value: 3 }, window: { type: 'last', amount: 90, unit: 'days' } },
        { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' },
      ] },
      { type: 'not', condition: { type: 'consent', purpose: 'marketing' } },
      { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: 200 },
      { type: 'trait', trait: 'email', op: 'not_exists' },
    ],
  };
  const p = profile({ events: SHOP, traits: { plan: 'pro' }, consents: { marketing: false } });
  assert.deepEqual(explain(c, p, NOW), {
    label: 'all of', holds: true, children: [
      { label: 'any of', holds: true, children: [
        { label: 'performed "Order Completed" at least 3 times in the last 90 days', holds: false, value: '2' },
        { label: 'trait plan = "pro"', holds: true, value: '"pro"' },
      ] },
      { label: 'not', holds: true, children: [{ label: 'consented to marketing', holds: false, value: 'not granted' }] },
      { label: 'sum of properties.revenue over "Order Completed" ever ≥ 200', holds: true, value: '230' },
      { label: 'trait email does not exist', holds: true, value: 'missing' },
    ],
  });
  assert.equal(evaluate(c, p, NOW), true);
  const q = { ...p, traits: { plan: 'free' } };
  const e = explain(c, q, NOW);
  assert.equal(e.holds, false);
  assert.equal(evaluate(c, q, NOW), false);
  assert.deepEqual(e.children?.[0]?.children?.[1], { label: 'trait plan = "pro"', holds: false, value: '"free"' });
  // long values are cut
  const long = explain({ type: 'trait', trait: 'x', op: 'exists' }, profile({ traits: { x: 'y'.repeat(200) } }), NOW);
  assert.equal(long.value?.length, 80);
  assert.ok(long.value?.endsWith('…'));
});

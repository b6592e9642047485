/**
 * The analysis and the persona card on hand-made group statistics (no database): which features are
 * distinguishing and in what order, what the card may say ("mostly", "N×", one phrase per theme), that
 * a tiny group is not over-read, and that the same input always gives the same text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyze, DEFAULT_INSIGHT_OPTIONS } from '../../src/domain/insights/analyze.js';
import { METRICS, type DimensionKey, type FlagKey, type GroupStats, type InsightStats, type MetricKey } from '../../src/domain/insights/features.js';
import { multiple, percent, personaCard, show } from '../../src/domain/insights/persona.js';
import type { Moments } from '../../src/domain/insights/stats.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261123);

interface GroupSpec {
  profiles: number;
  metrics?: Partial<Record<MetricKey, Moments>>;
  flags?: Partial<Record<FlagKey, number>>;
  consent?: Record<string, number>;
  values?: Partial<Record<DimensionKey, Record<string, number>>>;
  orders?: number;
  revenue?: number;
}

/** A group where every metric has the same neutral distribution unless given. */
function group(g: GroupSpec): GroupStats {
  const n = g.profiles;
  const metrics = Object.fromEntries(METRICS.map((m) => [m.key, g.metrics?.[m.key] ?? { n, mean: 1, sd: 1 }])) as Record<MetricKey, Moments>;
  const values = { category: new Map(), brand: new Map(), channel: new Map(), device: new Map(), country: new Map(), daypart: new Map() } as GroupStats['values'];
  for (const [dim, counts] of Object.entries(g.values ?? {})) for (const [v, c] of Object.entries(counts)) values[dim as DimensionKey].set(v, c);
  return {
    profiles: n, orders: g.orders ?? n, revenue: g.revenue ?? 100 * n, sampleRate: 1,
    populations: { all: n, active: n, visitors: n, buyers: n, devices: n, located: n },
    metrics,
    flags: { buyer: g.flags?.buyer ?? Math.round(n / 2), repeat_buyer: g.flags?.repeat_buyer ?? Math.round(n / 4) },
    consent: new Map(Object.entries(g.consent ?? {})),
    values,
  };
}

/** Members that use coupons on 78 % of orders (base rest 20 %) and are mostly on mobile. */
function couponShoppers(members: number, rest = 2000): InsightStats {
  return {
    members: group({
      profiles: members,
      metrics: { coupon_share: { n: members, mean: 0.78, sd: 0.2 }, aov: { n: members, mean: 40, sd: 20 } },
      values: { device: { mobile: Math.round(0.72 * members), desktop: members - Math.round(0.72 * members) } },
      consent: { Email: Math.round(0.6 * members) },
    }),
    rest: group({
      profiles: rest,
      metrics: { coupon_share: { n: rest, mean: 0.2, sd: 0.25 }, aov: { n: rest, mean: 70, sd: 40 } },
      values: { device: { mobile: Math.round(0.4 * rest), desktop: rest - Math.round(0.4 * rest) } },
      consent: { Email: Math.round(0.6 * rest) },
    }),
  };
}

test('planted differences are distinguishing, ranked by the smallest effect their interval supports; no difference is not', () => {
  const a = analyze(couponShoppers(300));
  const byKey = new Map(a.features.map((f) => [f.key, f]));
  // the two device values move together (same |h|): the tie goes by key
  assert.deepEqual(a.distinguishing, ['coupon_share', 'aov', 'device:desktop', 'device:mobile'], `ranking: ${a.distinguishing.join(', ')}`);
  for (const k of ['orders', 'revenue', 'consent:Email', 'buyer']) assert.equal(byKey.get(k)?.distinguishing, false, `${k} has no planted difference`);
  const coupon = byKey.get('coupon_share');
  assert.ok(coupon && coupon.difference.low !== null && coupon.difference.low > 0, 'coupon difference interval above 0');
  // base = (300·0.78 + 2000·0.2) / 2300
  assert.ok(coupon && Math.abs(coupon.base.value - (300 * 0.78 + 2000 * 0.2) / 2300) < 1e-12, 'base value is the weighted mean');
  const scores = a.distinguishing.map((k) => byKey.get(k)?.score ?? 0);
  assert.deepEqual(scores, [...scores].sort((x, y) => y - x), 'sorted by score');
});

test('the card says "mostly" and "N×" only where the intervals support it, one phrase per theme', () => {
  const card = personaCard('Coupon shoppers', analyze(couponShoppers(300)));
  assert.equal(card.headline, 'Coupon shoppers: 300 profiles (13 % of the base), 13 % of revenue.');
  assert.equal(card.traits[0], 'mostly order with a coupon, 2.8× the base (78 % of orders vs 28 %)');
  // base AOV (300·40 + 2000·70) / 2300 = 66.09; 40 / 66.09 = 0.605 → 39 % below
  assert.equal(card.traits[1], 'cheaper orders, 39 % below the base (40.00 vs 66.09 per order)');
  assert.equal(card.traits[2], 'mostly on mobile, 1.6× the base (72 % mainly on mobile vs 44 %)');
  assert.equal(card.text, `${card.headline} Compared with the base: ${card.traits.join('; ')}.`);
  // a small group with the same shares: the members' interval no longer lies above 50 % → no "mostly"
  const small: InsightStats = couponShoppers(300);
  small.members.values.device = new Map([['mobile', 6], ['desktop', 3]]);
  small.members.populations.devices = 9;
  const f = analyze(small).features.find((x) => x.key === 'device:mobile');
  assert.ok(f && f.members.low !== null && f.members.low < 0.5, `6 of 9: lower limit ${f?.members.low}`);
  assert.ok(!personaCard('x', analyze(small)).text.includes('mostly on mobile'), 'no "mostly" on 6 of 9');
});

test('one phrase per theme: orders and revenue tell one story; at most five traits', () => {
  const n = 400;
  const stats: InsightStats = {
    members: group({
      profiles: n,
      metrics: {
        orders: { n, mean: 6, sd: 2 }, revenue: { n, mean: 600, sd: 200 }, orders_per_year: { n, mean: 5, sd: 2 },
        coupon_share: { n, mean: 0.6, sd: 0.2 }, weekend_share: { n, mean: 0.8, sd: 0.1 }, mobile_share: { n, mean: 0.9, sd: 0.1 },
        events: { n, mean: 90, sd: 20 }, recency_days: { n, mean: 5, sd: 3 }, aov: { n, mean: 150, sd: 30 },
      },
    }),
    rest: group({ profiles: 4000 }),
  };
  const a = analyze(stats);
  const card = personaCard('Many', a);
  assert.equal(card.traits.length, 5);
  const volume = card.traits.filter((t) => /orders|revenue|order frequency/.test(t) && !/order value|coupon|of orders/.test(t));
  assert.equal(volume.length, 1, `one volume phrase: ${card.traits.join(' | ')}`);
  const themes = a.distinguishing.map((k) => a.features.find((f) => f.key === k)?.theme);
  assert.ok(new Set(themes).size < themes.length, 'several features share a theme');
});

test('within a categorical theme the over-represented value speaks: "mostly active in the afternoon", not "rarely in the evening"', () => {
  const m = 200, r = 2000;
  const stats: InsightStats = {
    members: group({ profiles: m, values: { daypart: { afternoon: 170, evening: 6, morning: 24 } } }),
    rest: group({ profiles: r, values: { daypart: { afternoon: 700, evening: 1200, morning: 100 } } }),
  };
  const a = analyze(stats);
  assert.equal(a.distinguishing[0], 'daypart:evening', 'the fall in the evening is the larger effect');
  const card = personaCard('Afternoons', a);
  assert.match(card.traits[0] ?? '', /^mostly active in the afternoon/);
  assert.ok(!card.text.includes('evening'), card.text);
});

test('a tiny group is not over-read; a group equal to the base and an empty one say so', () => {
  // the same shares as a distinguishing group of 300, but 4 members: nothing is distinguishing
  const tiny = analyze(couponShoppers(4));
  assert.ok(!tiny.distinguishing.includes('device:mobile'), `4 members: ${tiny.distinguishing.join(', ')}`);
  const none: InsightStats = { members: group({ profiles: 300 }), rest: group({ profiles: 3000 }) };
  assert.deepEqual(analyze(none).distinguishing, []);
  assert.equal(personaCard('Plain', analyze(none)).text, 'Plain: 300 profiles (9 % of the base), 9 % of revenue. Nothing distinguishes it from the base with confidence.');
  const all: InsightStats = { members: group({ profiles: 50 }), rest: group({ profiles: 0 }) };
  assert.match(personaCard('All', analyze(all)).text, /holds the whole base: there is nothing to compare/);
  const empty: InsightStats = { members: group({ profiles: 0 }), rest: group({ profiles: 50 }) };
  assert.equal(personaCard('Empty', analyze(empty)).text, 'Empty: 0 profiles (0 % of the base), 0 % of revenue. The segment has no members.');
});

test('same input, same text: the card does not depend on the order of values or purposes (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 20, max: 2000 }), fc.integer({ min: 0, max: 1_000_000 }), (members, salt) => {
    const stats = couponShoppers(members);
    const shuffled = couponShoppers(members);
    // rebuild the maps in another insertion order
    const order = <T>(xs: T[]) => (salt % 2 ? [...xs].reverse() : xs);
    for (const g of [shuffled.members, shuffled.rest]) {
      g.values.device = new Map(order([...g.values.device]));
      g.consent = new Map(order([...g.consent, ['Advertising', Math.round(g.profiles / 3)] as [string, number]]));
    }
    for (const g of [stats.members, stats.rest]) g.consent = new Map([...g.consent, ['Advertising', Math.round(g.profiles / 3)]]);
    const a = personaCard('S', analyze(stats));
    const b = personaCard('S', analyze(shuffled));
    assert.equal(a.text, b.text);
    assert.deepEqual(analyze(stats).distinguishing, analyze(shuffled).distinguishing);
  }), { seed: SEED, numRuns: 100 });
});

test('number formats are fixed (no locale): shares, multiples, money, counts, days', () => {
  assert.equal(percent(0.723), '72 %');
  assert.equal(percent(0.004), '0.4 %');
  assert.equal(percent(0), '0 %');
  assert.equal(percent(-0.004), '-0.4 %');
  assert.equal(percent(-0.00001), '0 %', 'never a negative zero');
  assert.equal(multiple(3.14), '3.1×');
  assert.equal(multiple(12.6), '13×');
  assert.equal(show(1234.5, 'money'), '1235');
  assert.equal(show(42.1, 'money'), '42.10');
  assert.equal(show(5.06, 'count'), '5.1');
  assert.equal(show(0.456, 'count'), '0.46');
  assert.equal(show(243.2, 'days'), '243');
  assert.equal(DEFAULT_INSIGHT_OPTIONS.confidence, 0.95);
});

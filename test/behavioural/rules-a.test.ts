/**
 * The pure rules of the usage-tier, loyalty-matrix and buying-behaviour models (no database): every
 * branch of each rule, classification of hand-made features, brute-force properties of the share cuts,
 * and the configurations each model refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Features } from '../../src/domain/behavioural/model.js';
import { lowestReaching, shareBelow } from '../../src/domain/behavioural/percentiles.js';
import { UsageConfig, activityDisjoint, usageModel, usageScore, usageTier } from '../../src/domain/behavioural/usage.js';
import { LoyaltyConfig, answerAttitude, combinedAttitude, loyaltyModel, loyaltyQuadrant } from '../../src/domain/behavioural/loyalty.js';
import { BuyingConfig, axisScores, buyingMeasures, buyingModel, buyingStyle, switchingRate, type BuyingMeasures } from '../../src/domain/behavioural/buying.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261124);
const DAY = 86_400_000;
const AS_OF = Date.parse('2026-10-31T23:59:59Z');

/** The error message of a configuration zod refuses (the first issue, with its path). */
function refusal(schema: { safeParse(x: unknown): { success: boolean; error?: { issues: Array<{ message: string; path: PropertyKey[] }> } } }, input: unknown): string {
  const r = schema.safeParse(input);
  assert.equal(r.success, false, `expected ${JSON.stringify(input)} to be refused`);
  const issue = r.error?.issues[0];
  return `${issue?.path.join('.')}: ${issue?.message}`;
}

// ---- percentile ranks -----------------------------------------------------------------------------

test('shareBelow is the share of values strictly below, shares ties, ignores input order (property)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 20 }), { minLength: 1, maxLength: 120 }), (values) => {
    const got = [...shareBelow(values)];
    assert.deepEqual(got, values.map((v) => values.filter((w) => w < v).length / values.length));
    assert.deepEqual([...shareBelow([...values].reverse())].reverse(), got);
  }), { seed: SEED, numRuns: 300 });
  assert.deepEqual([...shareBelow([])], []);
  assert.throws(() => shareBelow([1, NaN]), /not a number/);
  assert.equal(lowestReaching([5, 1, 9, 7], shareBelow([5, 1, 9, 7]), 0.5), 7);
  assert.equal(lowestReaching([3, 3], shareBelow([3, 3]), 0.5), null, 'all tied: nobody beats anyone');
});

// ---- usage tiers ----------------------------------------------------------------------------------

test('usage tier, relative: super beats ≥ 90 %, moderate ≥ 50 %, casual the rest; custom shares move the cuts', () => {
  const c = UsageConfig.parse({});
  const tier = (usageRank: number, tiers = c.tiers) => usageTier({ activePeriods: 1, eventsPerPeriod: 1, usageRank }, tiers);
  assert.equal(tier(0.95), 'super');
  assert.equal(tier(0.9), 'super', 'exactly 90 % is super');
  assert.equal(tier(0.8999), 'moderate');
  assert.equal(tier(0.5), 'moderate', 'exactly 50 % is moderate');
  assert.equal(tier(0.4999), 'casual');
  assert.equal(tier(0), 'casual');
  const custom = UsageConfig.parse({ tiers: { method: 'relative', superShare: 0.2, moderateShare: 0.3 } }).tiers;
  assert.equal(tier(0.8, custom), 'super');
  assert.equal(tier(0.79, custom), 'moderate');
  assert.equal(tier(0.5, custom), 'moderate');
  assert.equal(tier(0.49, custom), 'casual');
  assert.equal(usageScore(1, 0, 0.5), 0.5);
  assert.equal(usageScore(0.8, 0.2, 1), 0.8, 'weight 1: frequency alone');
  assert.equal(usageScore(0.8, 0.2, 0), 0.2, 'weight 0: intensity alone');
});

test('usage tier, absolute: a tier needs both its minimum active periods and its minimum events per period', () => {
  const tiers = UsageConfig.parse({ tiers: { method: 'absolute', moderate: { periods: 3, perPeriod: 5 }, super: { periods: 8, perPeriod: 10 } } }).tiers;
  const tier = (activePeriods: number, eventsPerPeriod: number) => usageTier({ activePeriods, eventsPerPeriod, usageRank: 0 }, tiers);
  assert.equal(tier(8, 10), 'super');
  assert.equal(tier(12, 9.99), 'moderate', 'frequent but not intense enough for super');
  assert.equal(tier(7, 50), 'moderate', 'intense but not frequent enough for super');
  assert.equal(tier(3, 5), 'moderate');
  assert.equal(tier(2, 50), 'casual');
  assert.equal(tier(12, 4), 'casual');
  assert.equal(usageTier({ activePeriods: 1, eventsPerPeriod: 1, usageRank: 0.99 }, tiers), 'casual', 'the rank plays no part in absolute mode');
});

/** Features of usage for profiles given as per-period counts of each activity selector. */
function usageFeatures(counts: number[][][], periods: number, selectors: number, seen?: boolean[]): Features {
  const columns: Record<string, Float64Array> = {};
  for (let p = 0; p < periods; p++) for (let a = 0; a < selectors; a++) columns[`p${p}_a${a}`] = Float64Array.from(counts, (prof) => prof[p]?.[a] ?? 0);
  if (seen) for (let a = 0; a < selectors; a++) columns[`seen_a${a}`] = Float64Array.from(seen, (s) => (s ? 100 : NaN));
  return { profileIds: counts.map((_c, i) => `p${i}`), columns, text: {} };
}

test('usage classify: active periods over all selectors, events per active period, no tier without activity unless inactive is asked for', () => {
  const config = UsageConfig.parse({ periods: 3, periodDays: 30, activity: [{ event: '*' }, { event: '*', messageType: 'page' }] });
  // p0: active in period 0 (track) and period 2 (page only) → 2 periods, 12 events; p1: nothing; p2: one period, 3 events.
  const f = usageFeatures([[[4, 6], [0, 0], [0, 2]], [[0, 0], [0, 0], [0, 0]], [[0, 0], [3, 0], [0, 0]]], 3, 2, [true, true, true]);
  const out = usageModel.classify(f, config, AS_OF);
  assert.deepEqual(out.traits[0], { usage_tier: 'moderate', usage_active_periods: 2, usage_events: 12, usage_events_per_period: 6, usage_score: 50 });
  assert.equal(out.traits[1], undefined, 'no activity in the window: no tier');
  assert.deepEqual(out.traits[2], { usage_tier: 'casual', usage_active_periods: 1, usage_events: 3, usage_events_per_period: 3, usage_score: 0 });
  assert.equal(out.summary['active'], 2);
  assert.equal(out.summary['withoutActivity'], 1);
  assert.equal(out.summary['windowDays'], 90);

  const withInactive = UsageConfig.parse({ periods: 3, activity: [{ event: '*' }, { event: '*', messageType: 'page' }], inactive: true });
  const g = usageFeatures([[[1, 0], [0, 0], [0, 0]], [[0, 0], [0, 0], [0, 0]], [[0, 0], [0, 0], [0, 0]]], 3, 2, [true, true, false]);
  const out2 = usageModel.classify(g, withInactive, AS_OF);
  assert.deepEqual(out2.traits[1], { usage_tier: 'inactive', usage_active_periods: 0, usage_events: 0 });
  assert.equal(out2.traits[2], undefined, 'not seen at all by the as-of time: not a profile yet');
  assert.deepEqual(out2.summary['tiers'], { casual: 1, moderate: 0, super: 0, inactive: 1 });
  assert.deepEqual(usageModel.groups(withInactive), ['casual', 'moderate', 'super', 'inactive']);
  assert.deepEqual(usageModel.groups(config), ['casual', 'moderate', 'super']);
});

test('usage classify equals the literal definition; tier shares stay within their bounds; more use never means a lower tier (property)', () => {
  const profile = fc.array(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 1 }), { minLength: 4, maxLength: 4 });
  fc.assert(fc.property(fc.array(profile, { minLength: 1, maxLength: 60 }), fc.constantFrom(0, 0.3, 0.5, 1), (counts, w) => {
    const config = UsageConfig.parse({ periods: 4, activity: [{ event: '*' }], frequencyWeight: w });
    const out = usageModel.classify(usageFeatures(counts, 4, 1), config, AS_OF);
    const facts = counts.map((prof) => {
      const active = prof.filter((p) => (p[0] ?? 0) > 0).length;
      const events = prof.reduce((s, p) => s + (p[0] ?? 0), 0);
      return { active, perPeriod: active ? events / active : 0 };
    });
    const act = facts.filter((x) => x.active > 0);
    const n = act.length;
    const below = (xs: number[], v: number) => xs.filter((x) => x < v).length / n;
    const combined = act.map((x) => w * below(act.map((y) => y.active), x.active) + (1 - w) * below(act.map((y) => y.perPeriod), x.perPeriod));
    let supers = 0, upper = 0;
    facts.forEach((x, i) => {
      const t = out.traits[i];
      if (x.active === 0) { assert.equal(t, undefined); return; }
      const u = w * below(act.map((y) => y.active), x.active) + (1 - w) * below(act.map((y) => y.perPeriod), x.perPeriod);
      const rank = below(combined, u);
      const want = rank >= 0.9 - 1e-9 ? 'super' : rank >= 0.5 - 1e-9 ? 'moderate' : 'casual';
      assert.equal(t?.['usage_tier'], want);
      if (want === 'super') supers++;
      if (want !== 'casual') upper++;
    });
    assert.ok(supers <= 0.1 * n + 1e-9, `super ${supers} of ${n}`);
    assert.ok(upper <= 0.5 * n + 1e-9, `super + moderate ${upper} of ${n}`);
    const order = { casual: 0, moderate: 1, super: 2 } as Record<string, number>;
    facts.forEach((a, i) => facts.forEach((b, j) => {
      if (a.active === 0 || b.active === 0 || !(a.active >= b.active && a.perPeriod >= b.perPeriod)) return;
      assert.ok((order[String(out.traits[i]?.['usage_tier'])] ?? -1) >= (order[String(out.traits[j]?.['usage_tier'])] ?? -1), `profile ${i} dominates ${j} but has a lower tier`);
    }));
  }), { seed: SEED, numRuns: 200 });
});

test('usage features: one count per period and selector, contiguous windows ending at the as-of time', () => {
  const config = UsageConfig.parse({ periods: 4, periodDays: 7 });
  const defs = usageModel.features(config, AS_OF);
  assert.equal(defs.length, 4 * 3);
  const bounds = [...new Set(defs.map((d) => (d.window?.type === 'between' ? `${d.window.from}|${d.window.to}` : '')))].map((b) => b.split('|').map(Date.parse));
  assert.equal(bounds.length, 4);
  assert.equal(bounds[0]?.[1], AS_OF + 1, 'the newest period includes the as-of time itself');
  for (let p = 0; p < 4; p++) assert.equal(bounds[p]?.[0], AS_OF - (p + 1) * 7 * DAY);
  for (let p = 1; p < 4; p++) assert.equal(bounds[p]?.[1], bounds[p - 1]?.[0], 'periods touch without gap or overlap');
  assert.equal(usageModel.features(UsageConfig.parse({ periods: 2, inactive: true }), AS_OF).filter((d) => d.kind === 'days_since_first').length, 3);
});

test('usage configuration: invalid combinations are refused with a message naming the field', () => {
  assert.match(refusal(UsageConfig, { tiers: { method: 'relative', superShare: 0.6, moderateShare: 0.4 } }), /tiers: superShare \+ moderateShare must be below 1/);
  assert.match(refusal(UsageConfig, { tiers: { method: 'absolute', moderate: { periods: 6, perPeriod: 5 }, super: { periods: 3, perPeriod: 10 } } }), /super minimums must be at least the moderate minimums/);
  assert.match(refusal(UsageConfig, { periods: 12, tiers: { method: 'absolute', moderate: { periods: 3, perPeriod: 5 }, super: { periods: 13, perPeriod: 10 } } }), /tiers\.super\.periods: .*cannot exceed/);
  assert.match(refusal(UsageConfig, { tiers: { method: 'relative', super: { periods: 3, perPeriod: 1 } } }), /tiers/, 'absolute minimums under the relative method');
  assert.match(refusal(UsageConfig, { tiers: { method: 'absolute', superShare: 0.1 } }), /tiers/, 'shares under the absolute method');
  assert.match(refusal(UsageConfig, { periods: 60, periodDays: 90 }), /periodDays: the window .* at most 3660 days/);
  assert.match(refusal(UsageConfig, { activity: [{ event: '*' }, { event: 'Order Completed' }] }), /activity: .*must not overlap/);
  assert.match(refusal(UsageConfig, { activity: [{ event: 'Home', messageType: 'page' }, { event: '*', messageType: 'page' }] }), /activity: .*must not overlap/);
  assert.match(refusal(UsageConfig, { periods: 1 }), /periods/);
  assert.match(refusal(UsageConfig, { frequencyWeight: 2 }), /frequencyWeight/);
  assert.equal(activityDisjoint([{ event: 'Order Completed' }, { event: 'Product Viewed' }, { event: '*', messageType: 'page' }]), true);
  const d = UsageConfig.parse({});
  assert.deepEqual([d.periods, d.periodDays, d.frequencyWeight, d.inactive, d.tiers], [12, 30, 0.5, false, { method: 'relative', superShare: 0.1, moderateShare: 0.4 }]);
});

// ---- loyalty matrix -------------------------------------------------------------------------------

test('loyalty: an answer is positive from positiveFrom, off the scale it is no answer; answers combine by all, any or first', () => {
  const sat = { trait: 'satisfaction', min: 1, max: 5, positiveFrom: 4 };
  assert.equal(answerAttitude(4, sat), 'positive');
  assert.equal(answerAttitude(5, sat), 'positive');
  assert.equal(answerAttitude(3.9, sat), 'negative');
  assert.equal(answerAttitude(1, sat), 'negative');
  assert.equal(answerAttitude(0, sat), null, 'below the scale');
  assert.equal(answerAttitude(6, sat), null, 'above the scale');
  assert.equal(answerAttitude(NaN, sat), null, 'not answered');
  assert.equal(combinedAttitude(['positive', 'negative'], 'all'), 'negative');
  assert.equal(combinedAttitude(['positive', null], 'all'), 'positive', 'a missing answer does not count against');
  assert.equal(combinedAttitude(['negative', 'positive'], 'any'), 'positive');
  assert.equal(combinedAttitude(['negative', 'negative'], 'any'), 'negative');
  assert.equal(combinedAttitude(['negative', 'positive'], 'first'), 'negative');
  assert.equal(combinedAttitude([null, 'positive'], 'first'), 'positive', 'first: the first trait answered');
  for (const c of ['all', 'any', 'first'] as const) assert.equal(combinedAttitude([null, null], c), null);
});

test('loyalty quadrants: behaviour × attitude', () => {
  assert.equal(loyaltyQuadrant(true, 'positive'), 'truly loyal');
  assert.equal(loyaltyQuadrant(false, 'positive'), 'accessible');
  assert.equal(loyaltyQuadrant(true, 'negative'), 'trapped');
  assert.equal(loyaltyQuadrant(false, 'negative'), 'high risk');
});

test('loyalty classify: customers with an answer get a quadrant; the summary counts who is left out and why', () => {
  const f: Features = {
    profileIds: ['loyal', 'edge', 'latent', 'trapped', 'risk', 'silent', 'prospect', 'offscale', 'mixed'],
    columns: {
      orders_window: Float64Array.from([5, 2, 1, 3, 0, 4, 0, 3, 3]),
      orders_ever: Float64Array.from([9, 2, 1, 3, 4, 4, 0, 3, 3]),
      'trait:satisfaction': Float64Array.from([5, 4, 4, 2, 1, NaN, 5, 9, 5]),
      'trait:nps': Float64Array.from([10, NaN, 8, 9, 3, NaN, 10, NaN, 4]),
    },
    text: {
      'trait:satisfaction': ['5', '4', '4', '2', '1', null, '5', '9', '5'],
      'trait:nps': ['10', null, '8', '9', '3', null, '10', null, '4'],
    },
  };
  const out = loyaltyModel.classify(f, LoyaltyConfig.parse({}), AS_OF);
  const q = Array.from(out.traits, (t) => t?.['loyalty_quadrant'] ?? null);
  assert.deepEqual(q, ['truly loyal', 'truly loyal', 'accessible', 'trapped', 'high risk', null, null, null, 'trapped']);
  assert.deepEqual(out.traits[1], { loyalty_quadrant: 'truly loyal', loyalty_orders: 2, loyalty_behaviour: 'repeat', loyalty_attitude: 'positive' }, 'exactly repeatOrders purchases is repeat');
  assert.equal(out.traits[8]?.['loyalty_attitude'], 'negative', 'combine all: a detractor NPS outweighs a 5 of 5');
  assert.deepEqual(out.summary['coverage'], { customers: 8, classified: 6, withoutAnswer: 2, share: 0.75, answeredNoPurchase: 1 });
  assert.deepEqual(out.summary['answers'], { satisfaction: { answered: 6, positive: 4, unusable: 1 }, nps: { answered: 5, positive: 3, unusable: 0 } });
  assert.deepEqual(out.summary['quadrants'], { 'truly loyal': 2, accessible: 1, trapped: 2, 'high risk': 1 });
  // any: the 5-of-5 with a detractor NPS is positive; first: satisfaction decides when answered.
  assert.equal(loyaltyModel.classify(f, LoyaltyConfig.parse({ combine: 'any' }), AS_OF).traits[8]?.['loyalty_quadrant'], 'truly loyal');
  assert.equal(loyaltyModel.classify(f, LoyaltyConfig.parse({ combine: 'first' }), AS_OF).traits[3]?.['loyalty_quadrant'], 'trapped');
  // A stricter repeat threshold moves the two-order customer to accessible.
  assert.equal(loyaltyModel.classify(f, LoyaltyConfig.parse({ repeatOrders: 3 }), AS_OF).traits[1]?.['loyalty_quadrant'], 'accessible');
  assert.deepEqual(loyaltyModel.traitInputs?.(LoyaltyConfig.parse({})), ['satisfaction', 'nps']);
});

test('loyalty configuration: invalid scales, repeated traits and a repeat threshold below 2 are refused', () => {
  assert.match(refusal(LoyaltyConfig, { attitude: [{ trait: 'nps', min: 0, max: 10, positiveFrom: 11 }] }), /attitude\.0: .*min ≤ positiveFrom ≤ max/);
  assert.match(refusal(LoyaltyConfig, { attitude: [{ trait: 'csat', min: 5, max: 1, positiveFrom: 4 }] }), /attitude\.0: an attitude scale needs min < max/);
  assert.match(refusal(LoyaltyConfig, { attitude: [{ trait: 'nps', min: 0, max: 10, positiveFrom: 9 }, { trait: 'nps', min: 0, max: 10, positiveFrom: 7 }] }), /attitude: each attitude trait may appear once/);
  assert.match(refusal(LoyaltyConfig, { attitude: [] }), /attitude/);
  assert.match(refusal(LoyaltyConfig, { repeatOrders: 1 }), /repeatOrders/);
  assert.match(refusal(LoyaltyConfig, { combine: 'most' }), /combine/);
  assert.match(refusal(LoyaltyConfig, { attitude: [{ trait: 'nps', min: 0, max: 10 }] }), /attitude\.0\.positiveFrom/);
  const d = LoyaltyConfig.parse({});
  assert.deepEqual([d.windowDays, d.repeatOrders, d.combine, d.attitude.map((a) => `${a.trait}≥${a.positiveFrom}`)], [365, 2, 'all', ['satisfaction≥4', 'nps≥7']]);
});

// ---- buying behaviour -----------------------------------------------------------------------------

test('buying style: involvement × brand differences', () => {
  assert.equal(buyingStyle(true, true), 'complex');
  assert.equal(buyingStyle(true, false), 'dissonance-reducing');
  assert.equal(buyingStyle(false, false), 'habitual');
  assert.equal(buyingStyle(false, true), 'variety-seeking');
});

test('buying measures: per-order research, first-visit-to-first-order days, brand switching only where it can show', () => {
  assert.equal(switchingRate(1, 1, 1), NaN, 'one product: switching cannot show');
  assert.equal(switchingRate(3, 3, 3), NaN, 'one product per category: cannot show');
  assert.equal(switchingRate(4, 1, 1), 0, 'four products, one brand: never switched');
  assert.equal(switchingRate(4, 4, 1), 1, 'four products, four brands in one category: always switched');
  assert.equal(switchingRate(5, 3, 2), 1 / 3);
  assert.equal(switchingRate(4, 1, 2), 0, 'a brand spanning categories cannot make the rate negative');
  assert.equal(switchingRate(3, 0, 0), NaN, 'no brand data');
  assert.equal(switchingRate(3, 2, 0), 1 / 2, 'no category data: one category');
  const m = buyingMeasures({ orders: 2, views: 9, searches: 1, pages: 4, screens: 2, orderValue: 80, firstSeenDays: 100, firstOrderDays: 70, productsBought: 3, brandsBought: 2, categoriesBought: 1, productsViewed: 6, brandsViewed: 3, categoriesViewed: 2 });
  assert.deepEqual(m, { orders: 2, views: 4.5, searches: 0.5, visits: 3, decision_days: 30, order_value: 80, brands_bought: 0.5, brands_viewed: 0.25 });
  assert.equal(buyingMeasures({ ...baseInput(), firstSeenDays: 10, firstOrderDays: 12 }).decision_days, 0, 'never negative');
  assert.equal(buyingMeasures({ ...baseInput(), firstSeenDays: NaN }).decision_days, NaN);
  assert.equal(buyingMeasures({ ...baseInput(), views: NaN }).views, 0, 'no views counted: 0 per order');
});

function baseInput() {
  return { orders: 1, views: 2, searches: 0, pages: 0, screens: 0, orderValue: 50, firstSeenDays: 5, firstOrderDays: 5, productsBought: 1, brandsBought: 1, categoriesBought: 1, productsViewed: 2, brandsViewed: 2, categoriesViewed: 1 };
}

test('buying axis scores: the mean of each measure\'s percentile among the buyers who have it', () => {
  const row = (views: number, order_value: number): BuyingMeasures => ({ orders: 1, views, searches: 0, visits: 0, decision_days: 0, order_value, brands_bought: NaN, brands_viewed: NaN });
  const rows = [row(1, 10), row(2, NaN), row(3, 30), row(4, 20)];
  const s = [...axisScores(rows, ['views', 'order_value'])];
  // views ranks 0, .25, .5, .75; order value among the three who have it: 0, 2/3, 1/3.
  assert.deepEqual(s.map((x) => Math.round(x * 1000) / 1000), [0, 0.25, 0.583, 0.542]);
  assert.ok(Number.isNaN(axisScores(rows, ['brands_bought'])[0] as number), 'no measure: no score');
});

/** Buying features for profiles given as partial measures (the rest neutral). */
function buyingFeatures(rows: Array<Partial<Record<string, number>>>): Features {
  const keys = ['orders', 'views', 'searches', 'pages', 'screens', 'order_value', 'first_order_days', 'first_track_days', 'first_page_days', 'first_screen_days', 'products_bought', 'brands_bought', 'categories_bought', 'products_viewed', 'brands_viewed', 'categories_viewed'];
  const dflt: Record<string, number> = { orders: 1, views: 0, searches: 0, pages: 0, screens: 0, order_value: 50, first_order_days: 10, first_track_days: 10, first_page_days: NaN, first_screen_days: NaN, products_bought: 1, brands_bought: 1, categories_bought: 1, products_viewed: 0, brands_viewed: 0, categories_viewed: 0 };
  return { profileIds: rows.map((_r, i) => `b${i}`), columns: Object.fromEntries(keys.map((k) => [k, Float64Array.from(rows, (r) => r[k] ?? dflt[k] ?? NaN)])), text: {} };
}

test('buying classify: buyers only, each axis split at its share, styles from the two halves; unmeasurable buyers get none', () => {
  const config = BuyingConfig.parse({ involvement: ['views'], brandDifferences: ['brands_bought'] });
  const f = buyingFeatures([
    { views: 10, products_bought: 4, brands_bought: 4 }, // much research, always switches → complex
    { views: 9, products_bought: 4, brands_bought: 1 }, // much research, one brand → dissonance-reducing
    { views: 1, products_bought: 4, brands_bought: 1 }, // little research, one brand → habitual
    { views: 0, products_bought: 4, brands_bought: 3 }, // little research, switches → variety-seeking
    { orders: 0, views: 50 }, // not a buyer
    { views: 5 }, // one product: switching cannot show → no style
  ]);
  const out = buyingModel.classify(f, config, AS_OF);
  assert.deepEqual(Array.from(out.traits, (t) => t?.['buying_style'] ?? null), ['complex', 'dissonance-reducing', 'habitual', 'variety-seeking', null, null]);
  assert.deepEqual(out.traits[0], {
    buying_style: 'complex', buying_involvement: 'high', buying_brand_differences: 'high', buying_involvement_score: 75, buying_brand_score: 75,
    buying_orders: 1, buying_views_per_order: 10, buying_searches_per_order: 0, buying_visits_per_order: 0, buying_decision_days: 0,
    buying_avg_order_value: 50, buying_brand_switching: 1,
  });
  assert.equal(out.summary['buyers'], 5);
  assert.equal(out.summary['classified'], 4);
  assert.equal(out.summary['unmeasurable'], 1);
  assert.deepEqual(out.summary['styles'], { complex: 1, 'dissonance-reducing': 1, habitual: 1, 'variety-seeking': 1 });
  // A higher involvement split leaves only the most researching buyer high; minOrders 2 leaves nobody.
  const strict = buyingModel.classify(f, BuyingConfig.parse({ involvement: ['views'], brandDifferences: ['brands_bought'], involvementSplit: 0.75 }), AS_OF);
  assert.deepEqual(strict.traits.slice(0, 4).map((t) => t?.['buying_involvement']), ['high', 'low', 'low', 'low']);
  assert.equal(buyingModel.classify(f, BuyingConfig.parse({ minOrders: 2 }), AS_OF).summary['buyers'], 0);
  // The first visit is the earliest of track, page and screen: a page 40 days before the first order.
  const g = buyingFeatures([{ first_order_days: 20, first_track_days: 20, first_page_days: 60 }]);
  assert.equal(buyingModel.classify(g, BuyingConfig.parse({ brandDifferences: ['brands_viewed'] }), AS_OF).traits[0], undefined, 'no views: no brand measure');
  const h = buyingFeatures([{ first_order_days: 20, first_track_days: 20, first_page_days: 60, products_viewed: 3, brands_viewed: 2, categories_viewed: 1 }]);
  assert.equal(buyingModel.classify(h, BuyingConfig.parse({}), AS_OF).traits[0]?.['buying_decision_days'], 40);
});

test('buying configuration: empty or repeated measures, splits out of range and bad property names are refused', () => {
  assert.match(refusal(BuyingConfig, { involvement: [] }), /involvement/);
  assert.match(refusal(BuyingConfig, { involvement: ['views', 'views'] }), /involvement: each involvement measure may appear once/);
  assert.match(refusal(BuyingConfig, { involvement: ['mood'] }), /involvement\.0/);
  assert.match(refusal(BuyingConfig, { brandDifferences: ['brands_bought', 'brands_bought'] }), /brandDifferences: each brand measure may appear once/);
  assert.match(refusal(BuyingConfig, { involvementSplit: 1 }), /involvementSplit/);
  assert.match(refusal(BuyingConfig, { brandSplit: 0 }), /brandSplit/);
  assert.match(refusal(BuyingConfig, { brandProperty: 'brand.name' }), /brandProperty: a property name/);
  assert.match(refusal(BuyingConfig, { valuePath: 'revenue' }), /valuePath/);
  assert.match(refusal(BuyingConfig, { minOrders: 0 }), /minOrders/);
  const defs = buyingModel.features(BuyingConfig.parse({ brandProperty: 'maker' }), AS_OF);
  assert.ok(defs.some((d) => d.key === 'brands_bought' && d.path === 'products.maker'), 'brands bought from the line items');
  assert.ok(defs.some((d) => d.key === 'brands_viewed' && d.path === 'properties.maker'), 'brands viewed from the view event');
  const d = BuyingConfig.parse({});
  assert.deepEqual([d.involvement, d.brandDifferences, d.involvementSplit, d.brandSplit, d.windowDays, d.minOrders], [['views', 'searches', 'decision_days', 'order_value'], ['brands_bought', 'brands_viewed'], 0.5, 0.5, 365, 1]);
});

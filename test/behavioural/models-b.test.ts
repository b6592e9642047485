/**
 * The funnel, occasion and benefit models on the demo shop (seed 42, 800 customers, history ending
 * 2026-10-31), run through `sg.behavioural`: each planted persona lands where the model should put it
 * (recall / precision thresholds set a little below the observed values, stated beside them), the
 * traits equal what the raw demo messages say when recomputed here independently of the SQL features,
 * and a run creates the ready segments (groups and extras) that select what the traits say.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEMO_OPTIONS, generateDemoShop, type DemoCustomerTruth, type PersonaName } from '../../src/demo/generator.js';
import { CATEGORIES } from '../../src/demo/catalog.js';
import { nextAnniversary } from '../../src/domain/behavioural/occasion.js';
import { loadDemo, type DemoFixture } from './demo-fixture.js';

const CUSTOMERS = 800;
type Msg = Record<string, unknown>;
type Traits = Record<string, unknown>;

let fx: DemoFixture;
/** Profile id of a signed-up customer → the raw demo messages that landed in that profile. */
const raw = new Map<string, Msg[]>();
/** Profile id → the customer's ground truth (signed-up customers). */
const customerOf = new Map<string, DemoCustomerTruth>();
/** Profile ids of the anonymous visitors who never sign up (browsing only). */
const visitors: string[] = [];

before(async () => {
  fx = await loadDemo(CUSTOMERS);
  // Messages go to the profile their anonymous id resolved to (a device used only before sign-up stays apart).
  const profileOfAnon = new Map<string, string>();
  for (const c of fx.truth.customers) {
    if (!c.identified) continue;
    const pid = await fx.sg.store.profileByIdentity(fx.ws, 'user_id', c.userId);
    if (!pid) continue;
    customerOf.set(pid, c);
    raw.set(pid, []);
    for (const a of c.anonymousIds) {
      const p = await fx.sg.store.profileByIdentity(fx.ws, 'anonymous_id', a);
      if (p) profileOfAnon.set(a, p);
    }
  }
  const gen = generateDemoShop({ ...DEFAULT_DEMO_OPTIONS, customers: CUSTOMERS, seed: 42 });
  for (let r = gen.next(); !r.done; r = gen.next()) {
    for (const m of r.value) raw.get(profileOfAnon.get(String(m['anonymousId'])) ?? '')?.push(m);
  }
  for (let i = 1; i <= CUSTOMERS; i++) {
    const pid = await fx.sg.store.profileByIdentity(fx.ws, 'anonymous_id', `demo-visitor-${i}`);
    if (pid) visitors.push(pid);
  }
});
after(async () => { await fx.sg.close(); });

/** The current values of some traits, per profile (JSON-decoded). */
async function traitsOf(keys: string[]): Promise<Map<string, Traits>> {
  const out = new Map<string, Traits>();
  for (const r of await fx.sg.store.latestTraitValues(fx.ws, keys, await fx.sg.segments.modelTraits(fx.ws))) {
    const t = out.get(r.profileId) ?? out.set(r.profileId, {}).get(r.profileId) as Traits;
    t[r.key] = JSON.parse(r.value) as unknown;
  }
  return out;
}

interface Share { share: number; n: number }
/** Of the identified customers of the personas, the share for which `hit` holds (recall). */
function recall(traits: Map<string, Traits>, personas: PersonaName[], hit: (t: Traits) => boolean): Share {
  let n = 0, k = 0;
  for (const [pid, p] of fx.persona) {
    if (!personas.includes(p)) continue;
    n++;
    if (hit(traits.get(pid) ?? {})) k++;
  }
  return { share: k / Math.max(n, 1), n };
}
/** Of the identified customers for which `hit` holds, the share of the personas (precision). */
function precision(traits: Map<string, Traits>, hit: (t: Traits) => boolean, personas: PersonaName[]): Share {
  let n = 0, k = 0;
  for (const [pid, p] of fx.persona) {
    if (!hit(traits.get(pid) ?? {})) continue;
    n++;
    if (personas.includes(p)) k++;
  }
  return { share: k / Math.max(n, 1), n };
}
function check(checks: Array<[string, Share, number]>): void {
  for (const [label, got, min] of checks) {
    assert.ok(got.n >= 20, `${label}: only ${got.n} customers`);
    assert.ok(got.share >= min, `${label}: ${(got.share * 100).toFixed(1)} % of ${got.n}, needs ≥ ${min * 100} %`);
  }
}
const is = (key: string, ...values: unknown[]) => (t: Traits) => values.includes(t[key]);
const round2 = (x: number) => Math.round(x * 100) / 100;
const track = (m: Msg, ...events: string[]) => m['type'] === 'track' && events.includes(String(m['event']));
const props = (m: Msg) => (m['properties'] ?? {}) as Record<string, unknown>;
const at = (m: Msg) => Date.parse(String(m['timestamp']));

/** The members of a segment by key, as the segment service keeps them. */
async function members(key: string): Promise<number> {
  const seg = (await fx.sg.segments.list(fx.ws)).find((s) => s.key === key);
  assert.ok(seg, `segment ${key} exists`);
  return seg.members ?? -1;
}

test('funnel: personas reach the stage they should, browsing visitors stop before purchase; stages equal the raw events', async () => {
  const run = await fx.sg.behavioural.run(fx.ws, 'funnel', { asOf: fx.end });
  const traits = await traitsOf(['funnel_stage', 'funnel_orders']);
  check([
    // Observed (seed 42, 800): 93.9 % of 214 (retention 87, advocacy 114).
    ['champions and loyal regulars → retention or advocacy', recall(traits, ['champion', 'loyal_regular'], is('funnel_stage', 'retention', 'advocacy')), 0.9],
    // Observed 95.8 % of 142 (the rest reviewed their one order with 4-5 stars: advocacy).
    ['one-time buyers → purchase', recall(traits, ['one_time_buyer'], is('funnel_stage', 'purchase')), 0.9],
    // Observed 76.8 % of 56 (a third buy twice within their first month; satisfied ones review: advocacy).
    ['new customers → purchase or retention', recall(traits, ['new_customer'], is('funnel_stage', 'purchase', 'retention')), 0.7],
    // Observed 92.2 % of 115: repeat buyers, unsatisfied (no 4-5 star review, no promoter score).
    ['lapsed → retention', recall(traits, ['lapsed'], is('funnel_stage', 'retention')), 0.85],
  ]);
  // Anonymous visitors only browse: observed interest 88, consideration 28, intent 8 of 124.
  const vis = visitors.map((v) => String(traits.get(v)?.['funnel_stage'] ?? '-'));
  const browsing = vis.filter((s) => s === 'interest' || s === 'consideration').length;
  assert.ok(visitors.length >= 100, `only ${visitors.length} visitors`);
  assert.ok(browsing / vis.length >= 0.88, `visitors at interest or consideration: ${browsing} of ${vis.length}`);
  assert.deepEqual(vis.filter((s) => ['purchase', 'retention', 'advocacy'].includes(s)), [], 'no visitor bought');

  // Every identified customer's stage, recomputed from the raw messages with the documented defaults.
  let compared = 0;
  for (const [pid, msgs] of raw) {
    const orders = msgs.filter((m) => track(m, 'Order Completed')).length;
    const npsMsg = msgs.filter((m) => m['type'] === 'identify' && typeof (m['traits'] as Traits | undefined)?.['nps'] === 'number').sort((a, b) => at(a) - at(b)).pop();
    const promoter = Number((npsMsg?.['traits'] as Traits | undefined)?.['nps'] ?? -1) >= 9;
    const advocacy = msgs.some((m) => (track(m, 'Product Reviewed') && Number(props(m)['rating']) >= 4) || track(m, 'Product Shared', 'Cart Shared'));
    const expected = (advocacy || promoter) && orders >= 1 ? 'advocacy' : orders >= 2 ? 'retention' : orders === 1 ? 'purchase'
      : msgs.some((m) => track(m, 'Checkout Started', 'Payment Info Entered')) ? 'intent'
      : msgs.some((m) => track(m, 'Product Added', 'Product Added to Wishlist', 'Cart Viewed')) ? 'consideration'
      : msgs.some((m) => track(m, 'Product Viewed', 'Product List Viewed', 'Products Searched')) ? 'interest'
      : msgs.some((m) => m['type'] === 'page' || m['type'] === 'screen') ? 'awareness' : undefined;
    assert.equal(traits.get(pid)?.['funnel_stage'], expected, `stage of ${pid}`);
    assert.equal(traits.get(pid)?.['funnel_orders'], orders, `orders of ${pid}`);
    compared++;
  }
  assert.ok(compared >= 600, `compared ${compared} customers`);

  // The summary is a funnel: reached never grows down the stages, the conversions are its ratios.
  const s = run.summary as { reached: Record<string, number>; conversion: Array<{ from: string; to: string; rate: number }>; stages: Record<string, number> };
  for (const c of s.conversion) {
    assert.ok((s.reached[c.to] ?? 0) <= (s.reached[c.from] ?? 0), `${c.from} → ${c.to}`);
    assert.equal(c.rate, Math.round(((s.reached[c.to] ?? 0) / (s.reached[c.from] ?? 1)) * 10_000) / 10_000);
  }
  // Ready segments: one per stage with the members the run counted, and the recent-intent extra.
  for (const [stage, n] of Object.entries(s.stages)) assert.equal(await members(`funnel_${stage}`), n, `members of funnel_${stage}`);
  assert.ok(run.segmentsCreated.includes('funnel_recent_intent'), 'extra segment created');
  const seg = (await fx.sg.segments.list(fx.ws)).find((x) => x.key === 'funnel_recent_intent');
  assert.equal(seg?.condition.type, 'and');
  const champion = [...fx.persona].find(([, p]) => p === 'champion')?.[0] as string;
  const stage = (await fx.sg.store.profileTraits(fx.ws, champion)).find((t) => t.key === 'funnel_stage');
  assert.equal(stage?.source, 'model:funnel');
  assert.equal(stage?.messageId, run.runId);
});

test('occasion: holiday shoppers are Christmas-season buyers, weekend browsers weekend shoppers; shares equal the raw events; birthday segment', async () => {
  const run = await fx.sg.behavioural.run(fx.ws, 'occasion', { asOf: fx.end });
  const traits = await traitsOf(['occasion_group', 'occasion_holiday', 'occasion_holiday_share', 'occasion_holidays', 'occasion_orders', 'occasion_country', 'occasion_weekend_share', 'occasion_birthday_in_days']);
  const xmas = is('occasion_group', 'holiday: Christmas season');
  check([
    // Observed 69.6 % of 69: the others bought once only (one order is not a habit: minOrders 2).
    ['holiday shoppers → holiday: Christmas season', recall(traits, ['holiday_shopper'], xmas), 0.6],
    // Observed 87.3 % of 55 (a few champions and loyal regulars with two orders, both before Christmas).
    ['Christmas-season buyers are holiday shoppers', precision(traits, xmas, ['holiday_shopper']), 0.8],
    // Observed 95.6 % of 113 and 96.4 % of 112.
    ['weekend browsers → weekend', recall(traits, ['weekend_browser'], is('occasion_group', 'weekend')), 0.9],
    ['weekend shoppers are weekend browsers', precision(traits, is('occasion_group', 'weekend'), ['weekend_browser']), 0.9],
    // Observed 87.9 % of 91: bargain hunters shop late in the evening (20-23 h UTC).
    ['bargain hunters → weekday evening', recall(traits, ['bargain_hunter'], is('occasion_group', 'weekday evening')), 0.8],
  ]);

  // Recomputed from the raw messages: Christmas windows (15 Nov - 24 Dec) and orders over the last 3 years,
  // the weekend share of product views, and the country from the sign-up address.
  const reachStart = Date.parse('2023-10-31T23:59:59Z');
  let christmasBuyers = 0, timed = 0;
  for (const [pid, msgs] of raw) {
    const t = traits.get(pid) ?? {};
    const orders = msgs.filter((m) => track(m, 'Order Completed') && at(m) >= reachStart).map(at);
    const inXmas = orders.filter((o) => { const d = new Date(o); const md = (d.getUTCMonth() + 1) * 100 + d.getUTCDate(); return md >= 1115 && md <= 1224; }).length;
    const country = customerOf.get(pid)?.country;
    if (orders.length) {
      assert.equal(t['occasion_orders'], orders.length, `orders of ${pid}`);
      assert.equal(t['occasion_country'], country, `country of ${pid}`);
    }
    const qualifies = inXmas >= 2 && inXmas / orders.length >= 0.5;
    assert.equal(String(t['occasion_holidays'] ?? '').split(', ').includes('Christmas season'), qualifies, `Christmas for ${pid}: ${inXmas} of ${orders.length}`);
    if (t['occasion_holiday'] === 'Christmas season') {
      christmasBuyers++;
      assert.equal(t['occasion_holiday_share'], round2(inXmas / orders.length), `Christmas share of ${pid}`);
    }
    const views = msgs.filter((m) => track(m, 'Product Viewed')).map((m) => new Date(at(m)).getUTCDay());
    if (views.length >= 6) {
      timed++;
      assert.equal(t['occasion_weekend_share'], round2(views.filter((d) => d === 0 || d === 6).length / views.length), `weekend share of ${pid}`);
    } else assert.equal(t['occasion_weekend_share'], undefined, `${pid}: ${views.length} product views are too few`);
  }
  assert.ok(christmasBuyers >= 40 && timed >= 400, `compared ${christmasBuyers} Christmas buyers, ${timed} timings`);

  // Ready segments: a group's members are the run's count; the birthday segment holds, today, exactly
  // the customers whose birthday is within 14 days (the trait, the segment language's anniversary_within).
  const groups = run.summary['groups'] as Record<string, number>;
  assert.equal(await members('occasion_holiday_christmas_season'), groups['holiday: Christmas season']);
  assert.equal(await members('occasion_weekend'), groups['weekend']);
  const now = Date.now();
  let soon = 0;
  for (const c of fx.truth.customers) {
    if (!c.identified) continue;
    const [, m, d] = c.birthday.split('-').map(Number) as [number, number, number];
    if (nextAnniversary(m, d, now).days <= 14) soon++;
  }
  assert.ok(soon > 0, 'some birthdays within 14 days');
  assert.equal(await members('occasion_birthday_soon'), soon);
  assert.ok(run.segmentsCreated.includes('occasion_anniversary_soon'), `created: ${run.segmentsCreated.join(', ')}`);
  // The traits say the same, as of the run's day.
  const bdays = [...traits.values()].filter((t) => typeof t['occasion_birthday_in_days'] === 'number');
  assert.equal(bdays.length, fx.truth.customers.filter((c) => c.identified).length, 'every signed-up customer has a birthday trait');
});

test('benefit: bargain hunters are price-sensitive, champions seek quality or style; shares equal the raw orders; per-category price taste', async () => {
  const run = await fx.sg.behavioural.run(fx.ws, 'benefit', { asOf: fx.end });
  const keys = ['benefit_segment', 'benefit_source', 'benefit_stated', 'benefit_discount_share', 'benefit_price_sensitivity', 'benefit_orders'];
  const traits = await traitsOf(keys);
  const high = is('benefit_price_sensitivity', 'high');
  check([
    // Observed 95.6 % of 91 (the survey says price; without it, their coupons do).
    ['bargain hunters → price', recall(traits, ['bargain_hunter'], is('benefit_segment', 'price')), 0.9],
    // Observed 82.4 % of 91 (4 have a single order: no sensitivity from one order).
    ['bargain hunters → high price sensitivity', recall(traits, ['bargain_hunter'], high), 0.75],
    // Observed 72.8 % of 103: birthday coupons and the autumn offer make some others look like deal seekers.
    ['high price sensitivity is mostly bargain hunters', precision(traits, high, ['bargain_hunter']), 0.65],
    // Observed 71 % of 62 (survey: quality or style; else premium price taste → quality).
    ['champions → quality or style', recall(traits, ['champion'], is('benefit_segment', 'quality', 'style')), 0.62],
  ]);
  // Recomputed from the raw messages: discount share (discount > 0 or a coupon) and the survey answer.
  let compared = 0;
  for (const [pid, msgs] of raw) {
    const t = traits.get(pid) ?? {};
    const orders = msgs.filter((m) => track(m, 'Order Completed'));
    const discounted = orders.filter((m) => Number(props(m)['discount']) > 0 || props(m)['coupon'] !== undefined).length;
    const answer = msgs.filter((m) => m['type'] === 'identify' && (m['traits'] as Traits | undefined)?.['benefit_sought'] !== undefined).pop();
    const stated = (answer?.['traits'] as Traits | undefined)?.['benefit_sought'];
    assert.equal(t['benefit_stated'], stated, `stated benefit of ${pid}`);
    if (orders.length) {
      compared++;
      assert.equal(t['benefit_orders'], orders.length, `orders of ${pid}`);
      assert.equal(t['benefit_discount_share'], round2(discounted / orders.length), `discount share of ${pid}`);
      const share = discounted / orders.length;
      assert.equal(t['benefit_price_sensitivity'], orders.length < 2 ? undefined : share > 0.5 ? 'high' : share < 0.2 ? 'low' : 'medium', `sensitivity of ${pid}`);
    }
    if (stated !== undefined) assert.equal(t['benefit_segment'], stated, `the stated answer wins for ${pid}`);
  }
  assert.ok(compared >= 600, `compared ${compared} buyers`);
  const segments = run.summary['segments'] as Record<string, number>;
  assert.equal(await members('benefit_price'), segments['price']);
  assert.equal(await members('benefit_discount_responsive'), (run.summary['priceSensitivity'] as Record<string, number>)['high']);

  // With the shop's categories, price taste compares items within each category: bargain hunters buy
  // the cheap end (observed median index 0.66), champions the dear end (1.25).
  const second = await fx.sg.behavioural.run(fx.ws, 'benefit', { asOf: fx.end, config: { priceCategories: [...CATEGORIES] } });
  assert.deepEqual(second.segmentsCreated, [], 'the ready segments exist already');
  const idx = await traitsOf(['benefit_price_index']);
  const med = (p: PersonaName) => {
    const v = [...fx.persona].filter(([, q]) => q === p).map(([pid]) => idx.get(pid)?.['benefit_price_index']).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
    assert.ok(v.length >= 20, `${p}: ${v.length} indexes`);
    return v[v.length >> 1] as number;
  };
  const [bargain, champion] = [med('bargain_hunter'), med('champion')];
  assert.ok(bargain < 0.8 && champion > 1.1, `median price index: bargain hunters ${bargain}, champions ${champion}`);
  assert.ok(second.summary['movement'], 'the second run records the movement since the first');
});

test('bad configuration is refused with the field named, and nothing is written', async () => {
  const before = (await fx.sg.behavioural.runs(fx.ws)).length;
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'funnel', { config: { stages: { desire: [{ event: 'x' }] } } }), /funnel config\.stages\.desire: unknown funnel stage 'desire'/);
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'occasion', { config: { calendar: { de: [] } } }), /occasion config\.calendar\.de: "de" is not an ISO 3166-1 alpha-2 country code/);
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'benefit', { config: { answers: { cheap: 'bargain' } } }), /benefit config\.answers\.cheap: benefit "bargain" is not in benefits/);
  assert.equal((await fx.sg.behavioural.runs(fx.ws)).length, before);
  // A configured calendar changes who is a holiday buyer: without Christmas nobody is a Christmas buyer.
  const noXmas = Object.fromEntries(['*', 'CH', 'DE', 'AT', 'FR', 'IT', 'NL', 'GB', 'US'].map((c) => [c, [{ name: 'Easter', from: { easter: -14 }, to: { easter: 1 } }]]));
  const { groups } = await fx.sg.behavioural.classifyAsOf(fx.ws, 'occasion', { calendar: noXmas }, fx.end);
  assert.equal([...groups.values()].filter((g) => g === 'holiday: Christmas season').length, 0);
  assert.ok([...groups.values()].filter((g) => g === 'weekend').length > 50, 'timing labels remain');
  // The funnel over a window: a journey per period (fewer customers retained in the last 90 days than ever).
  const all = await fx.sg.behavioural.classifyAsOf(fx.ws, 'funnel', {}, fx.end);
  const recent = await fx.sg.behavioural.classifyAsOf(fx.ws, 'funnel', { windowDays: 90 }, fx.end);
  const count = (m: Map<string, string>, g: string) => [...m.values()].filter((x) => x === g).length;
  assert.ok(count(recent.groups, 'retention') < count(all.groups, 'retention') / 2, `retention in 90 days ${count(recent.groups, 'retention')} vs ever ${count(all.groups, 'retention')}`);
  assert.ok(recent.groups.size < all.groups.size, 'profiles without activity in the window are not classified');
});

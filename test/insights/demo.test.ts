/**
 * Segment insights on the demo shop (seed 42, 800 customers, history ending 2026-10-31): segments
 * defined by planted behaviour (≥ 3 coupons) or by the planted personas themselves (their e-mails)
 * must show the planted differences (bargain hunters: coupons ≫ base, cheaper orders, evenings;
 * weekend browsers: weekends, mobile, afternoons); the numbers agree with the store and with the
 * segment language's own consent rule; random buckets show (almost) nothing; the result is the same
 * twice. Observed values are in the comments; thresholds leave a margin below them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PersonaName } from '../../src/demo/generator.js';
import { conditionFromText } from '../../src/domain/segments/text.js';
import type { FeatureView, SegmentInsightsView } from '../../src/services/insights.js';
import { loadDemo, type DemoFixture } from '../behavioural/demo-fixture.js';

let fx: DemoFixture;
const got = new Map<string, SegmentInsightsView>();
const RANDOM = 10;

/** A segment of the identified customers of one persona, by their e-mail trait. */
async function personaSegment(persona: PersonaName): Promise<string> {
  const emails: string[] = [];
  for (const [pid, p] of fx.persona) {
    if (p !== persona) continue;
    const email = (await fx.sg.store.profileTraits(fx.ws, pid)).find((t) => t.key === 'email');
    if (email && typeof email.value === 'string') emails.push(email.value);
  }
  const key = `persona_${persona}`;
  await fx.sg.segments.create(fx.ws, { key, name: `Persona ${persona}`, condition: { type: 'trait', trait: 'email', op: 'in', values: emails } });
  return key;
}

before(async () => {
  fx = await loadDemo(800);
  await fx.sg.segments.createMany(fx.ws, [
    { key: 'coupon_lovers', name: 'Coupon lovers', condition: conditionFromText('performed "Coupon Applied" at least 3 times') },
    { key: 'email_ok', name: 'E-mail consent', condition: conditionFromText('consent Email') },
    ...Array.from({ length: RANDOM }, (_, i) => ({ key: `random_${i}`, condition: { type: 'bucket', salt: `insights-${i}`, from: 0, to: 10 } })),
  ]);
  const keys = ['coupon_lovers', 'email_ok', await personaSegment('bargain_hunter'), await personaSegment('weekend_browser'), ...Array.from({ length: RANDOM }, (_, i) => `random_${i}`)];
  for (const key of keys) got.set(key, await fx.sg.insights.segment(fx.ws, key, { asOf: fx.end }));
});
after(async () => { await fx.sg.close(); });

function insights(key: string): SegmentInsightsView {
  const r = got.get(key);
  if (!r) throw new Error(`no insights for ${key}`);
  return r;
}

function feature(r: SegmentInsightsView, key: string): FeatureView {
  const f = r.features.find((x) => x.key === key);
  if (!f) throw new Error(`${r.segment.key}: no feature ${key}`);
  return f;
}

function rank(r: SegmentInsightsView, key: string): number {
  const i = r.distinguishing.findIndex((f) => f.key === key);
  return i < 0 ? Infinity : i + 1;
}

test('bargain hunters: coupon use far above the base, cheaper orders, late evenings', () => {
  const r = insights('persona_bargain_hunter');
  assert.ok(r.size.members >= 60, `${r.size.members} members`);
  const coupon = feature(r, 'coupon_share');
  // observed: 80 % of orders vs 28 %, lift 2.84 [2.61, 3.08], the most distinguishing feature
  assert.ok(coupon.members.value >= 0.7, `coupon share ${coupon.members.value}`);
  assert.ok(coupon.ratio.low !== null && coupon.ratio.low >= 2, `coupon lift ${JSON.stringify(coupon.ratio)}`);
  assert.ok(rank(r, 'coupon_share') <= 2, `coupon rank ${rank(r, 'coupon_share')}`);
  // observed: average order 120 vs 163, lift 0.73 [0.62, 0.86], difference [−64, −23]
  const aov = feature(r, 'aov');
  assert.ok(aov.distinguishing, 'cheaper orders are distinguishing');
  assert.ok(aov.difference.high !== null && aov.difference.high < 0, `aov difference ${JSON.stringify(aov.difference)}`);
  assert.ok(aov.ratio.value !== null && aov.ratio.value <= 0.85, `aov lift ${aov.ratio.value}`);
  // observed: 100 % mainly active in the evening vs 57 %
  assert.ok(feature(r, 'daypart:evening').members.value >= 0.9, 'evenings');
  assert.match(r.card.traits[0] ?? '', /coupon/, r.card.text);
  assert.match(r.card.text, /\d\.\d× the base \(\d+ % of orders vs \d+ %\)/, r.card.text);
});

test('coupon lovers (≥ 3 Coupon Applied): coupon use leads the card', () => {
  const r = insights('coupon_lovers');
  const coupon = feature(r, 'coupon_share');
  // observed: 76 % of orders vs 28 %, lift 2.69 [2.45, …], rank 1
  assert.equal(r.distinguishing[0]?.key, 'coupon_share', r.distinguishing.map((f) => f.key).join(', '));
  assert.ok(coupon.ratio.low !== null && coupon.ratio.low >= 2, `coupon lift ${JSON.stringify(coupon.ratio)}`);
  assert.match(r.card.traits[0] ?? '', /^mostly order with a coupon/, r.card.text);
});

test('weekend browsers: mostly at weekends, mostly mobile, afternoons, many product views', () => {
  const r = insights('persona_weekend_browser');
  // observed: 98 % of activity at weekends vs 37 %, the most distinguishing feature (g = 3.1)
  const weekend = feature(r, 'weekend_share');
  assert.equal(r.distinguishing[0]?.key, 'weekend_share', r.distinguishing.map((f) => f.key).join(', '));
  assert.ok(weekend.members.value >= 0.9 && weekend.base.value <= 0.5, `weekend ${weekend.members.value} vs ${weekend.base.value}`);
  assert.ok(feature(r, 'weekend_order_share').members.value >= 0.9, 'they buy at weekends too');
  // observed: 81 % mainly on mobile vs 55 %; 82 % of device activity on phone or tablet vs 58 %
  const mobile = feature(r, 'device:mobile');
  assert.ok(mobile.distinguishing && mobile.members.value >= 0.7, `mobile ${mobile.members.value}`);
  assert.ok(feature(r, 'mobile_share').members.value >= 0.7, 'mobile share');
  // observed: 86 % mainly in the afternoon vs 37 %; product views 16.8 vs 9.2
  assert.ok(feature(r, 'daypart:afternoon').members.value >= 0.75, 'afternoons');
  assert.ok(feature(r, 'product_views').distinguishing, 'many product views');
  assert.match(r.card.text, /mostly active at weekends/, r.card.text);
  assert.match(r.card.text, /mostly on mobile/, r.card.text);
});

test('the numbers agree with the store and with the segment language (consent, sizes, revenue)', async () => {
  const stats = await fx.sg.store.workspaceStats(fx.ws);
  const totals = await fx.sg.store.eventTotals(fx.ws);
  const orders = totals.find((t) => t.type === 'track' && t.event === 'Order Completed');
  assert.ok(orders, 'orders in the demo');
  for (const r of got.values()) {
    const seg = await fx.sg.segments.get(fx.ws, r.segment.key);
    assert.equal(r.size.members, seg.members, `${r.segment.key}: members`);
    assert.equal(r.size.base, stats.profiles, `${r.segment.key}: base = active profiles`);
    assert.equal(r.orders.base, orders.count, `${r.segment.key}: every order counted once`);
    assert.ok(Math.abs(r.revenue.base - orders.revenue) < 1e-6 * orders.revenue, `${r.segment.key}: revenue ${r.revenue.base} vs ${orders.revenue}`);
    assert.equal(feature(r, 'buyer').base.value * r.size.base, orders.profiles, `${r.segment.key}: buyers`);
  }
  // the consent reach is the segment language's `consent Email`, profile for profile
  const ok = insights('email_ok');
  const email = feature(ok, 'consent:Email');
  assert.equal(email.members.value, 1, 'every member of "consent Email" consents to Email');
  assert.equal(email.rest.value, 0, 'nobody outside it does');
  assert.equal(Math.round(email.base.value * ok.size.base), ok.size.members);
});

test('random 10 % buckets: (almost) nothing distinguishes them', () => {
  // Profile ids are random per load, so the buckets differ between runs. Observed: 1 of 10 buckets
  // with a distinguishing feature (usually one; once four correlated activity features), while 0 – 7 of ~57 features per bucket have a 95 %
  // interval excluding 0. The false-discovery control is calibrated in calibration.test.ts.
  let withAny = 0, total = 0;
  for (let i = 0; i < RANDOM; i++) {
    const r = insights(`random_${i}`);
    total += r.distinguishing.length;
    if (r.distinguishing.length) withAny++;
    // A bucket that happens to hold more active shoppers shows it in several correlated features at once
    // (a fresh-clone CI run saw events, product_views, revenue and orders together), so one chance
    // imbalance may flag up to four; the share of buckets with any is the real check below.
    assert.ok(r.distinguishing.length <= 4, `random_${i}: ${r.distinguishing.map((f) => f.key).join(', ')}`);
  }
  assert.ok(withAny <= 3, `${withAny} of ${RANDOM} random buckets have a distinguishing feature (${total} in all)`);
});

/** Numbers to 9 significant digits: DuckDB's parallel sums add in any order (last-bit differences). */
function rounded(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toPrecision(9)) : x)));
}

test('same input, same output: a second call gives the same card, ranking and numbers', async () => {
  for (const key of ['persona_weekend_browser', 'persona_bargain_hunter']) {
    const again = await fx.sg.insights.segment(fx.ws, key, { asOf: fx.end });
    const first = insights(key);
    assert.equal(again.card.text, first.card.text);
    assert.deepEqual(again.distinguishing.map((f) => f.key), first.distinguishing.map((f) => f.key));
    assert.deepEqual(rounded(again.features), rounded(first.features));
    assert.deepEqual(rounded(again.breakdowns), rounded(first.breakdowns));
  }
});

test('large bases: a deterministic sample of the rest, sizes and totals still exact, the planted story unchanged', async () => {
  const full = insights('persona_bargain_hunter');
  const s1 = await fx.sg.insights.segment(fx.ws, 'persona_bargain_hunter', { asOf: fx.end, maxProfiles: 400 });
  const s2 = await fx.sg.insights.segment(fx.ws, 'persona_bargain_hunter', { asOf: fx.end, maxProfiles: 400 });
  assert.equal(full.sample, null);
  assert.ok(s1.sample && s1.sample.members === 1 && s1.sample.rest > 0.2 && s1.sample.rest < 0.5, `sample ${JSON.stringify(s1.sample)}`);
  assert.deepEqual(s1.size, full.size, 'sizes are exact');
  assert.equal(s1.orders.base, full.orders.base, 'orders are exact');
  assert.ok(Math.abs(s1.revenue.base - full.revenue.base) < 1e-9 * full.revenue.base, 'revenue is exact');
  const rest = feature(s1, 'coupon_share').rest.n;
  assert.ok(rest < feature(full, 'coupon_share').rest.n * 0.6, `features of a sample of the rest (${rest} buyers)`);
  assert.ok(feature(s1, 'coupon_share').distinguishing && (feature(s1, 'coupon_share').ratio.low ?? 0) >= 2, 'coupon use still ≥ 2× the base');
  assert.ok(Math.abs(feature(s1, 'coupon_share').base.value - feature(full, 'coupon_share').base.value) < 0.05, 'the base estimate is close');
  assert.equal(s1.card.text, s2.card.text, 'the same sample every time');
  await assert.rejects(fx.sg.insights.segment(fx.ws, 'persona_bargain_hunter', { maxProfiles: 10 }), /maxProfiles: must be a whole number of at least 100/);
});

test('unknown and archived segments and bad options are clear errors', async () => {
  await assert.rejects(fx.sg.insights.segment(fx.ws, 'nope'), (e: Error & { code?: string }) => e.code === 'not_found' && /no segment 'nope'/.test(e.message));
  await assert.rejects(fx.sg.insights.segment(fx.ws, 'coupon_lovers', { top: 0 }), /top: must be a whole number from 1 to 100/);
  await assert.rejects(fx.sg.insights.segment(fx.ws, 'coupon_lovers', { confidence: 1.5 }), /confidence: must be at least 0.5/);
  await fx.sg.segments.create(fx.ws, { key: 'to_archive', condition: conditionFromText('performed "Order Completed"') });
  await fx.sg.segments.archive(fx.ws, 'to_archive');
  await assert.rejects(fx.sg.insights.segment(fx.ws, 'to_archive'), /archived/);
});

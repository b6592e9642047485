/**
 * The demo shop generator: deterministic, valid per the Segment contract, and carrying the planted
 * structure that later features are tested against (docs/demo-shop.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEMO_OPTIONS, generateDemoShop, PERSONAS, PERSONA_NAMES, type DemoGroundTruth, type DemoOptions } from '../../src/demo/generator.js';
import { parseMessage } from '../../src/domain/segment-message.js';
import { DEMO_BATCH_BYTES, DEMO_BATCH_MESSAGES } from '../../src/demo/generator.js';
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES } from '../../src/domain/limits.js';

function run(opts: DemoOptions): { batches: Record<string, unknown>[][]; truth: DemoGroundTruth } {
  const gen = generateDemoShop(opts);
  const batches: Record<string, unknown>[][] = [];
  for (;;) {
    const r = gen.next();
    if (r.done) return { batches, truth: r.value };
    batches.push(r.value);
  }
}

const SMALL: DemoOptions = { ...DEFAULT_DEMO_OPTIONS, customers: 400 };
const small = run(SMALL);
const messages = small.batches.flat();

test('the same seed gives byte-identical output; another seed does not', () => {
  const again = run(SMALL);
  assert.equal(JSON.stringify(again.batches), JSON.stringify(small.batches));
  const other = run({ ...SMALL, seed: 7 });
  assert.notEqual(JSON.stringify(other.batches.slice(0, 3)), JSON.stringify(small.batches.slice(0, 3)));
});

test('customer i is the same whatever the number of customers (prefix stability)', () => {
  const fewer = run({ ...SMALL, customers: 50 }).batches.flat();
  const prefix = messages.slice(0, fewer.length);
  assert.deepEqual(prefix, fewer);
});

test('every message and batch is valid per the Segment contract', () => {
  const ids = new Set<string>();
  const endIso = SMALL.end.toISOString();
  for (const batch of small.batches) {
    assert.ok(batch.length > 0 && batch.length <= DEMO_BATCH_MESSAGES && batch.length <= MAX_BATCH_MESSAGES, `batch of ${batch.length}`);
    const bytes = Buffer.byteLength(JSON.stringify({ batch }));
    assert.ok(bytes <= DEMO_BATCH_BYTES && bytes <= MAX_BATCH_BYTES, `batch of ${bytes} bytes`);
    for (const m of batch) {
      const parsed = parseMessage(m);
      assert.ok(parsed.userId !== undefined || parsed.anonymousId !== undefined);
      if (m['type'] === 'track') assert.ok(typeof m['event'] === 'string' && m['event'] !== '', 'track without event');
      if (m['type'] === 'page' || m['type'] === 'screen') assert.ok(typeof m['name'] === 'string');
      assert.equal(m['sentAt'], undefined, 'no sentAt: the server keeps the historical timestamp');
      assert.ok(Buffer.byteLength(JSON.stringify(m)) <= MAX_MESSAGE_BYTES);
      const id = m['messageId'];
      assert.ok(typeof id === 'string' && id.length <= 100);
      assert.ok(!ids.has(id), `duplicate message id ${id}`);
      ids.add(id);
      const ts = String(m['timestamp']);
      assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(ts <= endIso, 'no message after the end of history');
      const ctx = m['context'] as { consent?: { categoryPreferences?: Record<string, unknown> } } | undefined;
      const prefs = ctx?.consent?.categoryPreferences;
      assert.ok(prefs !== undefined && typeof prefs['Email'] === 'boolean' && prefs['Analytics'] === true, `consent on ${id}`);
    }
  }
});

test('each person\'s messages are in time order, and every e-commerce v2 event is present', () => {
  const lastAt = new Map<string, string>();
  const events = new Set<string>();
  for (const m of messages) {
    const who = String(m['userId'] ?? m['anonymousId']).replace(/^demo-anon-(\d+)-\d$/, 'demo-user-$1');
    const ts = String(m['timestamp']);
    const prev = lastAt.get(who);
    assert.ok(prev === undefined || prev <= ts, `${who}: ${ts} after ${prev}`);
    lastAt.set(who, ts);
    if (typeof m['event'] === 'string') events.add(m['event']);
  }
  for (const e of ['Products Searched', 'Product List Viewed', 'Product Viewed', 'Product Added', 'Product Removed', 'Cart Viewed', 'Checkout Started', 'Coupon Applied', 'Order Completed', 'Order Refunded', 'Product Reviewed', 'Product Added to Wishlist', 'Email Delivered', 'Email Opened', 'Email Link Clicked']) {
    assert.ok(events.has(e), `no ${e}`);
  }
});

test('orders follow the e-commerce v2 spec and add up, in the customer\'s currency', () => {
  const orders = messages.filter((m) => m['event'] === 'Order Completed');
  assert.ok(orders.length > 300);
  const currencies = new Set<string>();
  for (const m of orders) {
    const p = m['properties'] as Record<string, unknown>;
    const products = p['products'] as Array<Record<string, unknown>>;
    assert.ok(products.length >= 1);
    for (const line of products) for (const k of ['product_id', 'sku', 'name', 'category', 'brand', 'price', 'quantity']) assert.ok(line[k] !== undefined, k);
    const subtotal = products.reduce((s, l) => s + Number(l['price']) * Number(l['quantity']), 0);
    assert.ok(Math.abs(subtotal - Number(p['subtotal'])) < 0.02, `subtotal ${String(p['subtotal'])} vs ${subtotal}`);
    const total = Number(p['subtotal']) - Number(p['discount']) + Number(p['shipping']) + Number(p['tax']);
    assert.ok(Math.abs(total - Number(p['total'])) < 0.02);
    assert.equal(typeof p['order_id'], 'string');
    currencies.add(String(p['currency']));
    const country = (m['context'] as { location: { country: string } }).location.country;
    assert.equal(p['currency'], country === 'CH' ? 'CHF' : country === 'GB' ? 'GBP' : country === 'US' ? 'USD' : 'EUR');
  }
  assert.deepEqual([...currencies].sort(), ['CHF', 'EUR', 'GBP', 'USD']);
});

test('about 50 messages per customer (one million at the default 20,000)', () => {
  const perCustomer = small.truth.totals.messages / SMALL.customers;
  // Default size (20,000 customers) is about one million messages.
  assert.ok(perCustomer > 40 && perCustomer < 70, `${perCustomer.toFixed(1)} messages per customer`);
  assert.equal(small.truth.totals.messages, messages.length);
  assert.equal(small.truth.totals.batches, small.batches.length);
});

/** Orders per user from the messages themselves (not from the truth file). */
function ordersByUser(list: Record<string, unknown>[]): Map<string, Array<{ at: number; coupon: boolean; total: number }>> {
  const out = new Map<string, Array<{ at: number; coupon: boolean; total: number }>>();
  for (const m of list) {
    if (m['event'] !== 'Order Completed' || typeof m['userId'] !== 'string') continue;
    const props = m['properties'] as Record<string, unknown>;
    const arr = out.get(m['userId']) ?? [];
    arr.push({ at: Date.parse(String(m['timestamp'])), coupon: props['coupon'] !== undefined, total: Number(props['total']) });
    out.set(m['userId'], arr);
  }
  return out;
}

const medium = run({ ...DEFAULT_DEMO_OPTIONS, customers: 3000 });
const mediumOrders = ordersByUser(medium.batches.flat());
const personaOf = new Map(medium.truth.customers.map((c) => [c.userId, c]));

function usersOf(persona: string): string[] {
  return medium.truth.customers.filter((c) => c.persona === persona).map((c) => c.userId);
}

test('persona shares are near the configured ones (3,000 customers, ±2.5 pp)', () => {
  const n = medium.truth.customers.length;
  assert.equal(n, 3000);
  for (const p of PERSONA_NAMES) {
    const share = medium.truth.personas[p].count / n;
    assert.ok(Math.abs(share - PERSONAS[p].share) < 0.025, `${p}: ${share.toFixed(3)} vs ${PERSONAS[p].share}`);
  }
});

test('bargain hunters use coupons on most orders, champions rarely', () => {
  const couponShare = (persona: string) => {
    let n = 0;
    let k = 0;
    for (const u of usersOf(persona)) for (const o of mediumOrders.get(u) ?? []) {
      n++;
      if (o.coupon) k++;
    }
    return k / n;
  };
  assert.ok(couponShare('bargain_hunter') > 0.7, `bargain ${couponShare('bargain_hunter')}`);
  assert.ok(couponShare('champion') < 0.2, `champion ${couponShare('champion')}`);
});

test('lapsed customers have no organic order in the last 200 days; one-time buyers exactly one order', () => {
  const end = DEFAULT_DEMO_OPTIONS.end.getTime();
  const sent = Date.parse(medium.truth.campaign.start);
  const windowEnd = Date.parse(medium.truth.campaign.end);
  let lapsedOrders = 0;
  for (const u of usersOf('lapsed')) {
    for (const o of mediumOrders.get(u) ?? []) {
      lapsedOrders++;
      const inCampaign = o.at >= sent && o.at < windowEnd;
      assert.ok(o.at < end - 200 * 86_400_000 || inCampaign, `${u} ordered at ${new Date(o.at).toISOString()}`);
    }
  }
  assert.ok(lapsedOrders > 500, `${lapsedOrders} lapsed orders`);
  for (const u of usersOf('one_time_buyer')) {
    const n = (mediumOrders.get(u) ?? []).filter((o) => !(o.at >= sent && o.at < windowEnd)).length;
    assert.equal(n, 1, u);
  }
});

test('champions spend more per order and order more often than loyal regulars', () => {
  const stats = (persona: string) => {
    const users = usersOf(persona);
    const all = users.flatMap((u) => mediumOrders.get(u) ?? []);
    return { perUser: all.length / users.length, aov: all.reduce((s, o) => s + o.total, 0) / all.length };
  };
  const c = stats('champion');
  const l = stats('loyal_regular');
  assert.ok(c.perUser > 2 * l.perUser, `orders/user ${c.perUser} vs ${l.perUser}`);
  assert.ok(c.aov > 1.2 * l.aov, `aov ${c.aov} vs ${l.aov}`);
});

test('holiday shoppers order only between 15 November and 23 December', () => {
  const sent = Date.parse(medium.truth.campaign.start);
  const windowEnd = Date.parse(medium.truth.campaign.end);
  let n = 0;
  for (const u of usersOf('holiday_shopper')) for (const o of mediumOrders.get(u) ?? []) {
    if (o.at >= sent && o.at < windowEnd) continue;
    const d = new Date(o.at);
    const inSeason = (d.getUTCMonth() === 10 && d.getUTCDate() >= 15) || (d.getUTCMonth() === 11 && d.getUTCDate() <= 24);
    assert.ok(inSeason, `${u} ordered ${d.toISOString()}`);
    n++;
  }
  assert.ok(n > 100, `only ${n} holiday orders`);
});

test('weekend browsers have sessions only on Saturdays and Sundays', () => {
  const users = new Set(usersOf('weekend_browser'));
  let n = 0;
  for (const m of medium.batches.flat()) {
    if (m['type'] !== 'page' || typeof m['userId'] !== 'string' || !users.has(m['userId'])) continue;
    const dow = new Date(String(m['timestamp'])).getUTCDay();
    assert.ok(dow === 0 || dow === 6 || dow === 1, `page on day ${dow}`); // an evening session may run past midnight
    n++;
  }
  assert.ok(n > 500);
});

test('the campaign is randomised ~50/50 and its measured lift has the planted sign for the large effects', () => {
  const eligible = medium.truth.customers.filter((c) => c.eligible);
  assert.ok(eligible.length > 1000, `${eligible.length} eligible`);
  assert.equal(eligible.filter((c) => c.persona === 'new_customer').length, 0, 'new customers joined after the send');
  const treatedShare = eligible.filter((c) => c.treated).length / eligible.length;
  assert.ok(Math.abs(treatedShare - 0.5) < 0.04, `treated share ${treatedShare}`);
  const rate = (cs: typeof eligible, t: boolean) => {
    const g = cs.filter((c) => c.treated === t);
    return g.filter((c) => c.converted).length / g.length;
  };
  for (const persona of ['bargain_hunter', 'lapsed'] as const) {
    const cs = eligible.filter((c) => c.persona === persona);
    const lift = rate(cs, true) - rate(cs, false);
    assert.ok(lift > 0, `${persona}: lift ${lift.toFixed(3)} (planted ${medium.truth.campaign.trueEffectByPersona[persona]})`);
  }
  // Pooled over personas the measured lift is near the eligible-weighted planted effect (±2.5 pp).
  const planted = eligible.reduce((s, c) => s + medium.truth.campaign.trueEffectByPersona[c.persona], 0) / eligible.length;
  const pooled = rate(eligible, true) - rate(eligible, false);
  assert.ok(Math.abs(pooled - planted) < 0.025, `pooled lift ${pooled.toFixed(3)} vs planted ${planted.toFixed(3)}`);
  // Conversion rates by persona are near the planted base rate (control) — champions far above lapsed.
  const control = (p: string) => rate(eligible.filter((c) => c.persona === p), false);
  assert.ok(control('champion') > 0.2 && control('lapsed') < 0.06, `champion ${control('champion')}, lapsed ${control('lapsed')}`);
  // The e-mail messages exist for the treated and only for them, and the truth agrees with the messages.
  const all = medium.batches.flat();
  const delivered = new Set(all.filter((m) => m['event'] === 'Email Delivered').map((m) => String(m['userId'])));
  for (const c of medium.truth.customers) assert.equal(delivered.has(c.userId), c.treated, c.userId);
  const start = Date.parse(medium.truth.campaign.start);
  const end = Date.parse(medium.truth.campaign.end);
  for (const c of eligible) {
    const inWindow = (mediumOrders.get(c.userId) ?? []).some((o) => o.at >= start && o.at < end);
    assert.equal(inWindow, c.converted, c.userId);
  }
  assert.ok(personaOf.size === medium.truth.customers.length);
});

test('new customers first ordered in the last 30 days; people use at most 3 devices', () => {
  const end = DEFAULT_DEMO_OPTIONS.end.getTime();
  let n = 0;
  for (const u of usersOf('new_customer')) {
    const orders = mediumOrders.get(u) ?? [];
    const first = Math.min(...orders.map((o) => o.at));
    assert.ok(orders.length >= 1 && first > end - 30 * 86_400_000, `${u} first ordered ${new Date(first).toISOString()}`);
    n++;
  }
  assert.ok(n > 100);
  for (const c of medium.truth.customers) assert.ok(c.anonymousIds.length >= 1 && c.anonymousIds.length <= 3, c.userId);
});

test('identities: customers identify with traits; anonymous visitors never do', () => {
  const identifies = messages.filter((m) => m['type'] === 'identify');
  assert.ok(identifies.length > 300);
  const withEmail = identifies.filter((m) => typeof (m['traits'] as Record<string, unknown>)['email'] === 'string');
  assert.ok(withEmail.length > 200);
  const visitors = messages.filter((m) => String(m['anonymousId']).startsWith('demo-visitor-'));
  assert.ok(visitors.length > 0);
  assert.ok(visitors.every((m) => m['userId'] === undefined));
  assert.equal(small.truth.anonymousVisitors, new Set(visitors.map((m) => m['anonymousId'])).size);
});

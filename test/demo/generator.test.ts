/**
 * The demo shop generator: deterministic, valid per the Segment contract, and carrying the planted
 * structure that later features are tested against (docs/demo-shop.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DEMO_OPTIONS, generateDemoShop, PERSONAS, PERSONA_NAMES, type DemoGroundTruth, type DemoOptions } from '../../src/demo/generator.js';
import { parseMessage } from '../../src/domain/segment-message.js';
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
  for (const batch of small.batches) {
    assert.ok(batch.length <= MAX_BATCH_MESSAGES);
    assert.ok(Buffer.byteLength(JSON.stringify({ batch })) <= MAX_BATCH_BYTES, 'batch under 500 KB');
    for (const m of batch) {
      const parsed = parseMessage(m);
      assert.ok(parsed.userId !== undefined || parsed.anonymousId !== undefined);
      assert.ok(Buffer.byteLength(JSON.stringify(m)) <= MAX_MESSAGE_BYTES);
      assert.ok(typeof m['messageId'] === 'string' && (m['messageId'] as string).length <= 100);
      assert.ok(!ids.has(m['messageId'] as string), `duplicate message id ${String(m['messageId'])}`);
      ids.add(m['messageId'] as string);
      assert.ok(Date.parse(String(m['timestamp'])) <= SMALL.end.getTime(), 'no message after the end of history');
    }
  }
});

test('persona shares are near the configured ones (400 customers, ±7 pp)', () => {
  for (const p of PERSONA_NAMES) {
    const share = small.truth.personas[p].count / SMALL.customers;
    assert.ok(Math.abs(share - PERSONAS[p].share) < 0.07, `${p}: ${share.toFixed(3)} vs ${PERSONAS[p].share}`);
  }
  assert.equal(small.truth.customers.length, SMALL.customers);
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
  const sent = Date.parse(medium.truth.campaign.sentAt);
  for (const u of usersOf('lapsed')) {
    for (const o of mediumOrders.get(u) ?? []) {
      const inCampaign = o.at >= sent && o.at < sent + 14 * 86_400_000;
      assert.ok(o.at < end - 200 * 86_400_000 || inCampaign, `${u} ordered at ${new Date(o.at).toISOString()}`);
    }
  }
  for (const u of usersOf('one_time_buyer')) {
    const n = (mediumOrders.get(u) ?? []).filter((o) => !(o.at >= sent && o.at < sent + 14 * 86_400_000)).length;
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
  const sent = Date.parse(medium.truth.campaign.sentAt);
  let n = 0;
  for (const u of usersOf('holiday_shopper')) for (const o of mediumOrders.get(u) ?? []) {
    if (o.at >= sent && o.at < sent + 14 * 86_400_000) continue;
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
  const treatedShare = eligible.filter((c) => c.treated).length / eligible.length;
  assert.ok(Math.abs(treatedShare - 0.5) < 0.05, `treated share ${treatedShare}`);
  for (const persona of ['bargain_hunter', 'lapsed', 'weekend_browser'] as const) {
    const cs = eligible.filter((c) => c.persona === persona);
    const rate = (t: boolean) => {
      const g = cs.filter((c) => c.treated === t);
      return g.filter((c) => c.converted).length / g.length;
    };
    const lift = rate(true) - rate(false);
    assert.ok(lift > 0, `${persona}: lift ${lift.toFixed(3)} (planted ${medium.truth.campaign.trueEffectByPersona[persona]})`);
  }
  // The e-mail messages exist for the treated and only for them.
  const delivered = new Set(medium.batches.flat().filter((m) => m['event'] === 'Email Delivered').map((m) => String(m['userId'])));
  for (const c of eligible) assert.equal(delivered.has(c.userId), c.treated, c.userId);
  assert.ok(personaOf.size === medium.truth.customers.length);
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

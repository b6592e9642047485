/**
 * `GET /api/v1/segments/:key/insights` on a small hand-made shop: the numbers a reader can check by
 * hand (size, revenue share, coupon use, order value, consent reach), the persona card, the viewer
 * role, a 404 with a message for an unknown segment and 400s for bad query parameters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, postJson, type TestApp } from '../helpers.js';

async function get(t: TestApp, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const ctx = (email: boolean, ua: string) => ({ userAgent: ua, consent: { categoryPreferences: { Email: email } } });
const PHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const DESKTOP = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

/**
 * u1-u3: two orders of 20 each with a coupon, on a phone, consent to e-mail; u4-u6: one order of 100
 * without, on a desktop, no consent; one anonymous visitor with a page view.
 */
function shop(): Array<Record<string, unknown>> {
  const msgs: Array<Record<string, unknown>> = [];
  for (let i = 1; i <= 6; i++) {
    const coupon = i <= 3;
    for (let o = 1; o <= (coupon ? 2 : 1); o++) {
      msgs.push({
        type: 'track', userId: `u${i}`, event: 'Order Completed', messageId: `o-${i}-${o}`, timestamp: `2026-03-0${o + 1}T10:00:00Z`,
        properties: { order_id: `o-${i}-${o}`, revenue: coupon ? 20 : 100, ...(coupon ? { coupon: 'SAVE10', discount: 2 } : {}), products: [{ product_id: 'p1', category: coupon ? 'Toys' : 'Books', price: 20 }] },
        context: ctx(coupon, coupon ? PHONE : DESKTOP),
      });
      if (coupon) msgs.push({ type: 'track', userId: `u${i}`, event: 'Coupon Applied', messageId: `c-${i}-${o}`, timestamp: `2026-03-0${o + 1}T09:59:00Z`, properties: { coupon_id: 'SAVE10' }, context: ctx(true, PHONE) });
    }
  }
  msgs.push({ type: 'page', anonymousId: 'visitor-1', name: 'Home', messageId: 'v-1', timestamp: '2026-03-01T10:00:00Z', properties: { path: '/' }, context: ctx(false, DESKTOP) });
  return msgs;
}

test('insights over HTTP: checkable numbers, the card, viewer access, 404 and 400s', async () => {
  const t = await openTestApp();
  try {
    const ws = t.ws.workspace;
    const r = await postJson(t, '/v1/batch', { batch: shop() });
    assert.equal(r.status, 200);
    await t.sg.ingest.drain();
    await t.sg.segments.idle();
    await t.sg.segments.create(ws, { key: 'coupon_users', name: 'Coupon users', condition: { type: 'event', event: 'Coupon Applied' } });
    const viewer = await t.sg.workspaces.addToken(ws, 'viewer', 'dashboards');

    const res = await get(t, '/api/v1/segments/coupon_users/insights?asOf=2026-04-01T00:00:00Z', viewer);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const body = res.body as {
      segment: { key: string }; asOf: string; size: { members: number; base: number }; revenue: { share: number };
      features: Array<{ key: string; members: { value: number }; base: { value: number }; distinguishing: boolean }>;
      breakdowns: { category: Array<{ value: string; members: number; base: number }> };
      card: { headline: string; text: string };
    };
    assert.equal(body.segment.key, 'coupon_users');
    assert.equal(body.asOf, '2026-04-01T00:00:00.000Z');
    assert.deepEqual([body.size.members, body.size.base], [3, 7], 'three members of seven profiles (the visitor counts)');
    assert.ok(Math.abs(body.revenue.share - 120 / 420) < 1e-12, `revenue share ${body.revenue.share}`);
    const f = (key: string) => body.features.find((x) => x.key === key);
    assert.deepEqual([f('coupon_share')?.members.value, f('coupon_share')?.base.value], [1, 0.5], 'coupon use: members all, base half of the buyers');
    assert.deepEqual([f('aov')?.members.value, f('aov')?.base.value], [20, 60], 'order value 20 against (3·20 + 3·100) / 6');
    assert.ok(Math.abs((f('consent:Email')?.base.value ?? 0) - 3 / 7) < 1e-12, 'e-mail consent: 3 of 7');
    assert.equal(f('consent:Email')?.members.value, 1);
    assert.equal(f('device:mobile')?.members.value, 1, 'all members mainly on a phone (from the user agent)');
    const top = body.breakdowns.category[0];
    assert.deepEqual([top?.value, top?.members, top?.base], ['Toys', 1, 0.5], 'main category: Toys for every member, half the buyers');
    assert.equal(body.card.headline, 'Coupon users: 3 profiles (43 % of the base), 29 % of revenue.');
    assert.ok(body.card.text.startsWith(body.card.headline), body.card.text);
    assert.ok(!('words' in (body.features[0] ?? {})), 'internal card words are not part of the API');

    const missing = await get(t, '/api/v1/segments/nope/insights', viewer);
    assert.equal(missing.status, 404);
    assert.equal(missing.body['error'], 'not_found');
    assert.match(String(missing.body['message']), /no segment 'nope'/);
    assert.equal((await get(t, '/api/v1/segments/coupon_users/insights')).status, 401, 'a token is needed');
    const badTime = await get(t, '/api/v1/segments/coupon_users/insights?asOf=yesterday', viewer);
    assert.equal(badTime.status, 400);
    assert.match(String(badTime.body['message']), /asOf must be an ISO-8601 time, got 'yesterday'/);
    const badTop = await get(t, '/api/v1/segments/coupon_users/insights?top=0', viewer);
    assert.equal(badTop.status, 400);
    assert.match(String(badTop.body['message']), /top: must be a whole number from 1 to 100/);
    assert.equal((await get(t, '/api/v1/segments/coupon_users/insights?confidence=abc', viewer)).status, 400);
  } finally {
    await t.close();
  }
});

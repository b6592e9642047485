/**
 * normalizeMessage: the hot columns segments read (revenue, products, page, campaign, device, location)
 * and the raw times kept beside the corrected one. Pure domain: no database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalEventName, correctTime, normalizeMessage, V1_EVENT_ALIASES, type EventRow } from '../../src/domain/normalize.js';
import { applyEnvelope, parseEnvelope, parseMessage } from '../../src/domain/segment-message.js';

const RECEIVED = Date.parse('2024-06-01T12:00:00.000Z');

function row(raw: Record<string, unknown>): EventRow {
  return normalizeMessage(parseMessage({ userId: 'u', ...raw }), { workspaceId: 'ws', profileId: 'p', messageId: 'm', receivedAt: RECEIVED, source: 'api' });
}

test('Order Completed (v2): revenue, total, order id, currency, coupon, discount and products[] columns', () => {
  const r = row({
    type: 'track', event: 'Order Completed',
    properties: {
      order_id: 'o-1', total: 27.5, revenue: 25, shipping: 3, tax: 2, discount: 2.5, coupon: 'HAPPY', currency: 'EUR',
      products: [
        { product_id: 'p1', sku: 's1', category: 'Games', brand: 'Acme', quantity: 2, price: 10 },
        { sku: 's2', category: 'Books', brand: 'Acme', price: 5 },
        { product_id: 'p1', category: 'Games', quantity: 1 },
        'not a product',
      ],
    },
  });
  assert.equal(r.event, 'Order Completed');
  assert.equal(r.revenue, 25);
  assert.equal(r.total, 27.5);
  assert.equal(r.orderId, 'o-1');
  assert.equal(r.currency, 'EUR');
  assert.equal(r.coupon, 'HAPPY');
  assert.equal(r.discount, 2.5);
  assert.deepEqual(r.productIds, ['p1', 's2']);
  assert.deepEqual(r.categories, ['Games', 'Books']);
  assert.deepEqual(r.brands, ['Acme']);
  // 2 + 1 (missing quantity counts one) + 1
  assert.equal(r.quantity, 4);
});

test('Order Completed without revenue takes total; other events without revenue have none', () => {
  assert.equal(row({ type: 'track', event: 'Order Completed', properties: { total: 40 } }).revenue, 40);
  assert.equal(row({ type: 'track', event: 'Order Completed', properties: { total: '12.5' } }).revenue, 12.5);
  assert.equal(row({ type: 'track', event: 'Checkout Started', properties: { total: 40 } }).revenue, null);
  assert.equal(row({ type: 'track', event: 'Order Refunded', properties: { revenue: -10 } }).revenue, -10);
  assert.equal(row({ type: 'track', event: 'Order Completed', properties: { revenue: 'lots' } }).revenue, null);
});

test('v1 e-commerce names are aliases of v2 names; the original name is kept', () => {
  const cases: Array<[string, string]> = [
    ['Completed Order', 'Order Completed'],
    ['Viewed Product', 'Product Viewed'],
    ['Added Product', 'Product Added'],
    ['Removed Product', 'Product Removed'],
    ['Viewed Cart', 'Cart Viewed'],
    ['Started Checkout', 'Checkout Started'],
    ['Refunded Order', 'Order Refunded'],
    ['Cancelled Order', 'Order Cancelled'],
    ['Applied Coupon', 'Coupon Applied'],
    ['Denied Coupon', 'Coupon Denied'],
    ['Added Product to Wishlist', 'Product Added to Wishlist'],
    ['Reviewed Product', 'Product Reviewed'],
    ['Searched Products', 'Products Searched'],
  ];
  for (const [v1, v2] of cases) {
    assert.equal(V1_EVENT_ALIASES[v1], v2, v1);
    const r = row({ type: 'track', event: v1, properties: { total: 9 } });
    assert.equal(r.event, v2, v1);
    assert.equal(r.eventOriginal, v1);
  }
  // v1 Completed Order gets the v2 revenue rule too
  assert.equal(row({ type: 'track', event: 'Completed Order', properties: { total: 9 } }).revenue, 9);
  assert.equal(canonicalEventName('Order Completed'), 'Order Completed');
  assert.equal(canonicalEventName('Signed Up'), 'Signed Up');
});

test('a single-product event fills product columns from its properties', () => {
  const r = row({ type: 'track', event: 'Product Added', properties: { product_id: 507, sku: 'G-32', category: 'Games', name: 'Monopoly', brand: 'Hasbro', variant: '200 pieces', price: 18.99, quantity: 3, coupon: 'MAYDEALS' } });
  assert.deepEqual(r.productIds, ['507']);
  assert.deepEqual(r.categories, ['Games']);
  assert.deepEqual(r.brands, ['Hasbro']);
  assert.equal(r.quantity, 3);
  assert.equal(r.coupon, 'MAYDEALS');
  assert.equal(r.revenue, null);
  const bySku = row({ type: 'track', event: 'Product Viewed', properties: { sku: 'only-sku' } });
  assert.deepEqual(bySku.productIds, ['only-sku']);
  const none = row({ type: 'track', event: 'Signed Up' });
  assert.deepEqual([none.productIds, none.categories, none.brands, none.quantity], [[], [], [], null]);
});

test('page and campaign columns come from context.page / context.campaign; a page call falls back to its properties', () => {
  const r = row({
    type: 'track', event: 'Clicked',
    context: {
      page: { path: '/pricing', referrer: 'https://google.com/', search: '?utm_source=google', title: 'Pricing', url: 'https://ex.com/pricing?utm_source=google' },
      campaign: { name: 'spring', source: 'google', medium: 'cpc', term: 'crm', content: 'ad-1' },
    },
  });
  assert.deepEqual([r.pageUrl, r.pagePath, r.referrer], ['https://ex.com/pricing?utm_source=google', '/pricing', 'https://google.com/']);
  assert.deepEqual([r.campaignName, r.campaignSource, r.campaignMedium, r.campaignTerm, r.campaignContent], ['spring', 'google', 'cpc', 'crm', 'ad-1']);
  const page = row({ type: 'page', name: 'Docs', properties: { url: 'https://ex.com/docs', path: '/docs', referrer: 'https://ex.com/' } });
  assert.deepEqual([page.name, page.pageUrl, page.pagePath, page.referrer], ['Docs', 'https://ex.com/docs', '/docs', 'https://ex.com/']);
  const track = row({ type: 'track', event: 'E', properties: { url: 'https://ex.com/not-a-page' } });
  assert.equal(track.pageUrl, null, 'a track property named url is not the page');
});

test('browser, OS and device come from the user agent', () => {
  const cases: Array<[string, Partial<EventRow>]> = [
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      { browser: 'Chrome', browserVersion: '120', os: 'Windows', osVersion: '10', deviceType: 'desktop' }],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
      { browser: 'Mobile Safari', os: 'iOS', osVersion: '17.1', deviceType: 'mobile', deviceVendor: 'Apple', deviceModel: 'iPhone' }],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36',
      { browser: 'Chrome', os: 'Android', osVersion: '14', deviceType: 'mobile', deviceVendor: 'Google', deviceModel: 'Pixel 8' }],
    ['Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
      { os: 'iOS', deviceType: 'tablet', deviceModel: 'iPad' }],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0',
      { browser: 'Firefox', browserVersion: '121', os: 'Mac OS', deviceType: 'desktop' }],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', { deviceType: 'bot' }],
  ];
  for (const [ua, expected] of cases) {
    const r = row({ type: 'page', context: { userAgent: ua } });
    assert.equal(r.userAgent, ua);
    const got = new Map(Object.entries(r));
    for (const [k, v] of Object.entries(expected)) assert.equal(got.get(k), v, `${k} of ${ua}`);
  }
  const none = row({ type: 'page' });
  assert.deepEqual([none.browser, none.os, none.deviceType], [null, null, null]);
});

test('context.os and context.device (mobile SDKs) override what the user agent suggests', () => {
  const r = row({
    type: 'screen', name: 'Home',
    context: {
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      os: { name: 'iOS', version: '17.2' },
      device: { id: 'dev-1', type: 'ios', manufacturer: 'Apple', model: 'iPhone15,2' },
      ip: '203.0.113.9', locale: 'de-DE', timezone: 'Europe/Berlin',
    },
  });
  assert.deepEqual([r.os, r.osVersion, r.deviceType, r.deviceVendor, r.deviceModel], ['iOS', '17.2', 'ios', 'Apple', 'iPhone15,2']);
  assert.equal(r.browser, 'Chrome', 'the browser still comes from the user agent');
  assert.deepEqual([r.ip, r.locale, r.timezone], ['203.0.113.9', 'de-DE', 'Europe/Berlin']);
});

test('location comes from context.location, else from traits.address / context.traits.address', () => {
  const loc = row({ type: 'track', event: 'E', context: { location: { country: 'France', region: 'IDF', city: 'Paris' } }, traits: { address: { country: 'Spain' } } });
  assert.deepEqual([loc.country, loc.region, loc.city], ['France', 'IDF', 'Paris']);
  const addr = row({ type: 'identify', traits: { address: { country: 'Spain', state: 'Madrid', city: 'Madrid' } } });
  assert.deepEqual([addr.country, addr.region, addr.city], ['Spain', 'Madrid', 'Madrid']);
  const ctxAddr = row({ type: 'track', event: 'E', context: { traits: { address: { country: 'Italy', region: 'Lazio', city: 'Rome' } } } });
  assert.deepEqual([ctxAddr.country, ctxAddr.region, ctxAddr.city], ['Italy', 'Lazio', 'Rome']);
  const none = row({ type: 'track', event: 'E' });
  assert.deepEqual([none.country, none.region, none.city], [null, null, null]);
});

test('times: corrected timestamp, raw originalTimestamp and sentAt kept', () => {
  const original = RECEIVED + 3_600_000 - 4_000; // a client clock one hour fast
  const sent = RECEIVED + 3_600_000;
  const r = row({ type: 'track', event: 'E', originalTimestamp: new Date(original).toISOString(), sentAt: new Date(sent).toISOString() });
  assert.equal(r.timestamp, RECEIVED - 4_000);
  assert.equal(r.originalTimestamp, original);
  assert.equal(r.sentAt, sent);
  assert.equal(r.receivedAt, RECEIVED);
  const bare = row({ type: 'track', event: 'E' });
  assert.deepEqual([bare.timestamp, bare.originalTimestamp, bare.sentAt], [RECEIVED, null, null]);
  // originalTimestamp beats timestamp
  const both = correctTime(parseMessage({ type: 'track', userId: 'u', event: 'E', timestamp: '2024-01-01T00:00:00Z', originalTimestamp: '2024-01-01T00:00:10Z', sentAt: '2024-01-01T00:00:20Z' }), RECEIVED);
  assert.equal(both.timestamp, RECEIVED - 10_000);
  // a historical message (import, demo) sent with a timestamp and no sentAt keeps its timestamp
  const hist = normalizeMessage(parseMessage({ type: 'track', userId: 'u', event: 'E', timestamp: '2020-01-01T00:00:00Z' }),
    { workspaceId: 'ws', profileId: 'p', messageId: 'm', receivedAt: RECEIVED, source: 'file:x' });
  assert.equal(hist.timestamp, Date.parse('2020-01-01T00:00:00Z'));
});

test('envelope: sentAt used when the message has none; context and integrations merged, message keys win', () => {
  const env = parseEnvelope({
    batch: [], sentAt: new Date(RECEIVED + 60_000).toISOString(),
    context: { locale: 'fr-FR', ip: '198.51.100.1', library: { name: 'env' } }, integrations: { All: false, Mixpanel: true },
  });
  const msg = applyEnvelope(parseMessage({ type: 'track', userId: 'u', event: 'E', originalTimestamp: new Date(RECEIVED + 50_000).toISOString(), context: { ip: '203.0.113.1' }, integrations: { All: true } }), env);
  assert.equal(msg.sentAt, new Date(RECEIVED + 60_000).toISOString());
  assert.deepEqual(msg.context, { locale: 'fr-FR', ip: '203.0.113.1', library: { name: 'env' } });
  assert.deepEqual(msg.integrations, { All: true, Mixpanel: true });
  const r = normalizeMessage(msg, { workspaceId: 'ws', profileId: 'p', messageId: 'm', receivedAt: RECEIVED, source: 'api' });
  assert.equal(r.timestamp, RECEIVED - 10_000);
  assert.equal(r.sentAt, RECEIVED + 60_000);
  assert.equal(r.ip, '203.0.113.1');
  assert.equal(r.locale, 'fr-FR');
  const own = applyEnvelope(parseMessage({ type: 'track', userId: 'u', event: 'E', sentAt: new Date(RECEIVED).toISOString() }), env);
  assert.equal(own.sentAt, new Date(RECEIVED).toISOString());
});

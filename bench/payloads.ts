/** Seeded, realistic tracking payloads for benchmarks (e-commerce track events with context). */
import { mulberry32 } from '../src/demo/random.js';

const UAS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
];
const EVENTS = ['Product Viewed', 'Product Added', 'Cart Viewed', 'Checkout Started', 'Order Completed', 'Products Searched'];

/** `batches` request bodies of `size` messages each, over `users` users; ids are unique per (seed, batch, i). */
export function makeBatches(seed: number, batches: number, size: number, users: number): string[] {
  const rnd = mulberry32(seed);
  const out: string[] = [];
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  for (let b = 0; b < batches; b++) {
    const batch = [];
    for (let i = 0; i < size; i++) {
      const u = Math.floor(rnd() * users);
      const event = EVENTS[Math.floor(rnd() * EVENTS.length)] ?? 'Product Viewed';
      const price = Math.round(rnd() * 20000) / 100;
      batch.push({
        type: 'track',
        messageId: `bench-${seed}-${b}-${i}`,
        userId: `user-${u}`,
        anonymousId: `anon-${u}`,
        event,
        timestamp: new Date(t0 + Math.floor(rnd() * 3e10)).toISOString(),
        properties: event === 'Order Completed'
          ? { order_id: `o-${b}-${i}`, total: price, revenue: price, currency: 'EUR', products: [{ product_id: `p-${u % 200}`, category: 'shoes', brand: 'acme', price, quantity: 1 }] }
          : { product_id: `p-${u % 200}`, category: 'shoes', brand: 'acme', price },
        context: {
          ip: '203.0.113.7',
          userAgent: UAS[u % UAS.length],
          locale: 'de-CH',
          page: { path: '/p/123', url: 'https://shop.example/p/123', referrer: 'https://www.google.com/' },
          campaign: u % 5 === 0 ? { name: 'spring', source: 'newsletter', medium: 'email' } : undefined,
          library: { name: 'analytics-node', version: '3.1.0' },
        },
      });
    }
    out.push(JSON.stringify({ batch }));
  }
  return out;
}

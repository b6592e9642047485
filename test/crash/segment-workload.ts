/**
 * The child of test/crash/kill9-segments.test.ts: a shop with the bench's 50 segments and computed
 * traits (typed property columns added for their paths), steady ingest, full runs and the lanes, until
 * it is killed. argv: <data folder>.
 */
import { Segmenta } from '../../src/app/segmenta.js';
import { COMPUTED, fiftySegments } from '../../bench/segments.js';

const dir = process.argv[2] as string;
const sg = await Segmenta.open({ dataDir: dir, threads: 1, segments: { refreshMs: 1000 } });
const list = await sg.workspaces.list();
const ws = list[0]?.id ?? (await sg.workspaces.create('crash')).workspace;
if (list.length === 0) {
  for (const c of COMPUTED) await sg.segments.createComputedTrait(ws, c);
  for (const s of fiftySegments()) await sg.segments.create(ws, { key: s.key, condition: s.condition });
}
sg.segments.startRefresh(async () => [ws]);
process.stdout.write('ready\n');
const kinds = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed', 'Bench Ping'];
for (let i = 0; ;) {
  const batch = Array.from({ length: 50 }, () => {
    i++;
    const event = kinds[i % 5] as string;
    return {
      type: 'track', userId: `u${(i * 7919) % 3000}`, event, messageId: `m${process.pid}-${i}`, timestamp: new Date(Date.now() - (i % 90) * 86_400_000).toISOString(),
      properties: event === 'Order Completed' ? { revenue: i % 300, currency: 'EUR', products: [{ category: 'shoes', price: 10 }] } : { product_id: `sku${i % 50}`, category: 'hats' },
      context: i % 10 === 0 ? { consent: { categoryPreferences: { marketing: true } } } : {},
    };
  });
  await sg.ingest.submit(ws, batch, { source: 'api', mode: 'atomic' }).catch(() => undefined);
  if (i % 2000 === 0) void sg.segments.compute(ws).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 5));
}

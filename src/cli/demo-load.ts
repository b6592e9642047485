/**
 * The demo's client side: generate the shop and post every batch to `/v1/batch`, a few requests in
 * flight, retrying 429 / 5xx as SDKs do. Runs in a worker thread (demo-worker.ts) so that the server,
 * on the main thread, has a core of its own for ingestion.
 */
import { Worker } from 'node:worker_threads';
import { generateDemoShop, type DemoGroundTruth, type DemoOptions } from '../demo/generator.js';

/** Requests in flight: more of them make larger group commits (measured: 4 → 6.4k, 16 → 11.9k messages/s). */
const IN_FLIGHT = 16;

export interface DemoLoadResult {
  messages: number;
  accepted: number;
  duplicates: number;
  seconds: number;
  truth: DemoGroundTruth;
}

/** Post every generated batch to `/v1/batch`, a few requests in flight, retrying 429 as SDKs do. */
export async function loadDemoOverHttp(url: string, writeKey: string, opts: DemoOptions, onProgress: (customersDone: number, messages: number) => void): Promise<DemoLoadResult> {
  const auth = 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');
  const t0 = Date.now();
  let messages = 0;
  let accepted = 0;
  let duplicates = 0;
  const inFlight = new Set<Promise<void>>();
  const post = async (batch: Record<string, unknown>[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ batch }) });
      const body: unknown = await res.json().catch(() => ({}));
      if (res.status === 200 && typeof body === 'object' && body !== null) {
        const b = body as { accepted?: number; duplicates?: number };
        accepted += b.accepted ?? 0;
        duplicates += b.duplicates ?? 0;
        return;
      }
      if ((res.status === 429 || res.status >= 500) && attempt < 20) {
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        continue;
      }
      throw new Error(`the server answered ${res.status} to a demo batch: ${JSON.stringify(body)}`);
    }
  };
  const gen = generateDemoShop(opts);
  let customersDone = 0;
  for (;;) {
    const next = gen.next();
    if (next.done) {
      await Promise.all(inFlight);
      return { messages, accepted, duplicates, seconds: (Date.now() - t0) / 1000, truth: next.value };
    }
    const batch = next.value;
    messages += batch.length;
    const p: Promise<void> = post(batch).finally(() => {
      inFlight.delete(p);
    });
    inFlight.add(p);
    customersDone = Math.max(customersDone, estimateCustomers(batch, customersDone));
    onProgress(customersDone, messages);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
}

/** Customers are generated in order with numbered user ids; the highest number seen tells progress. */
function estimateCustomers(batch: Record<string, unknown>[], sofar: number): number {
  let best = sofar;
  for (const m of batch) {
    const id = m['userId'];
    if (typeof id !== 'string') continue;
    const n = Number(/(\d+)$/.exec(id)?.[1] ?? NaN);
    if (Number.isFinite(n) && n > best) best = n;
  }
  return best;
}


export type DemoWorkerMessage =
  | { kind: 'progress'; customers: number; messages: number }
  | { kind: 'done'; result: DemoLoadResult }
  | { kind: 'error'; message: string };

/**
 * Run `loadDemoOverHttp` in a worker thread when running compiled (dist/); from source (tests and
 * development under tsx, whose loader does not reach worker threads) it runs on this thread.
 */
export function loadDemoInWorker(url: string, writeKey: string, opts: DemoOptions, onProgress: (customersDone: number, messages: number) => void): Promise<DemoLoadResult> {
  if (import.meta.url.endsWith('.ts')) return loadDemoOverHttp(url, writeKey, opts, onProgress);
  const worker = new Worker(new URL('./demo-worker.js', import.meta.url), { workerData: { url, writeKey, opts } });
  return new Promise((resolve, reject) => {
    worker.on('message', (m: DemoWorkerMessage) => {
      if (m.kind === 'progress') onProgress(m.customers, m.messages);
      else if (m.kind === 'done') resolve(m.result);
      else reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`the demo loader stopped with exit code ${code}`));
    });
  });
}

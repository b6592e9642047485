/** Worker-thread entry of the demo loader (see demo-load.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import type { DemoOptions } from '../demo/generator.js';
import { loadDemoOverHttp, type DemoWorkerMessage } from './demo-load.js';

const { url, writeKey, opts } = workerData as { url: string; writeKey: string; opts: DemoOptions };
let last = 0;
const send = (m: DemoWorkerMessage) => parentPort?.postMessage(m);
loadDemoOverHttp(url, writeKey, opts, (customers, messages) => {
  const now = Date.now();
  if (now - last < 100) return;
  last = now;
  send({ kind: 'progress', customers, messages });
}).then(
  (result) => {
    send({ kind: 'progress', customers: opts.customers, messages: result.messages });
    send({ kind: 'done', result });
  },
  (err: unknown) => send({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
);

/**
 * Worker-thread entry of the parallel k-means (see kmeans-parallel.ts): given a fit's shared buffers
 * and its slice of rows [start, end), carries out the fit's row-wise requests on those rows, writing
 * labels and per-chunk sums into shared memory; the main thread combines the sums. A worker serves one
 * fit after another (each starting with a `setup`).
 */
import { parentPort } from 'node:worker_threads';
import { KMeansSliceExecutor, type KMeansScratch } from '../../domain/ml/kmeans.js';
import { matrix } from '../../domain/ml/types.js';
import type { KMeansWorkerMessage, KMeansWorkerReply } from './kmeans-parallel.js';

let exec: KMeansSliceExecutor | null = null;
let spare: KMeansScratch | null = null;
const send = (m: KMeansWorkerReply) => parentPort?.postMessage(m);
parentPort?.on('message', (m: KMeansWorkerMessage) => {
  try {
    if (m.kind === 'setup') {
      const x = matrix(m.rows, m.cols, new Float64Array(m.data));
      exec = new KMeansSliceExecutor(x, m.k, { labels: new Int32Array(m.labels), closest: new Float64Array(m.closest), out: new Float64Array(m.out) }, m.start, m.end);
      if (spare) exec.adopt(spare);
      spare = null;
    } else if (m.kind === 'release') {
      // The shared buffers are dropped; the private arrays are kept for the next fit of the same shape.
      spare = exec?.scratch() ?? null;
      exec = null;
    } else {
      if (!exec) throw new Error('request before setup');
      exec.run(m.req);
    }
    send({ kind: 'done' });
  } catch (err) {
    send({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
});
send({ kind: 'ready' });

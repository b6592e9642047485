/**
 * k-means on every core: the matrix goes into a SharedArrayBuffer, each worker thread owns a
 * chunk-aligned slice of rows (its Elkan bounds and k-means++ trial distances stay private), and the
 * fit itself, `kmeansProgram` of the domain, runs here on the main thread, sending each row-wise
 * request to all workers and combining their per-chunk sums once they answer.
 *
 * Same result as `fitKMeans` for the same seed, bit for bit: the program is the same, and the per-chunk
 * sums are added in chunk order whatever the split (see domain/ml/kmeans.ts).
 *
 * Workers live in a `KMeansWorkerPool`, which can serve many fits (a range of k, repeated refits)
 * without paying the thread start each time; `fitKMeansParallel` without a pool makes one for the fit.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  KMEANS_CHUNK,
  chunkCount,
  fitKMeans,
  kmeansPlan,
  kmeansProgram,
  kmeansStride,
  type KMeansBuffers,
  type KMeansFit,
  type KMeansOptions,
  type KMeansRequest,
} from '../../domain/ml/kmeans.js';
import { matrix, type Matrix } from '../../domain/ml/types.js';

export interface KMeansParallelOptions extends KMeansOptions {
  /** Worker threads (default: the pool's, else the number of cores). 1 fits on this thread. */
  threads?: number;
  /** Workers to use (kept alive between fits); default a pool made for this fit and closed after. */
  pool?: KMeansWorkerPool;
}

/** Messages to a worker: a fit's shared buffers and slice, then its requests. */
export type KMeansWorkerMessage =
  | {
      kind: 'setup';
      data: SharedArrayBuffer;
      rows: number;
      cols: number;
      k: number;
      labels: SharedArrayBuffer;
      closest: SharedArrayBuffer;
      out: SharedArrayBuffer;
      start: number;
      end: number;
    }
  | { kind: 'run'; req: KMeansRequest }
  | { kind: 'release' };

export type KMeansWorkerReply = { kind: 'ready' } | { kind: 'done' } | { kind: 'error'; message: string };

/**
 * A worker running kmeans-worker. From source (tests, development under tsx) the worker's module
 * loader does not know TypeScript, so a one-line bootstrap registers tsx in the worker first.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const target = new URL('./kmeans-worker.ts', here).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL('./kmeans-worker.js', here));
}

/** One worker, one message in flight: `send` resolves when the worker has carried it out. */
class SliceWorker {
  private pending: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  readonly ready: Promise<void>;

  constructor(private readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    worker.on('message', (m: KMeansWorkerReply) => {
      const p = this.pending;
      this.pending = null;
      worker.unref();
      if (m.kind === 'error') p?.reject(new Error(`k-means worker: ${m.message}`));
      else p?.resolve();
    });
    const fail = (err: Error) => {
      this.failed = err;
      const p = this.pending;
      this.pending = null;
      p?.reject(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`k-means worker stopped with exit code ${code}`)));
    // Referenced only while a message is in flight: an idle pool does not keep the process alive.
  }

  send(m: KMeansWorkerMessage): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending) return Promise.reject(new Error('k-means worker is busy'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(m);
    });
  }

  async stop(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** Worker threads for k-means fits, started once; fits through one pool run one after the other. */
export class KMeansWorkerPool {
  readonly threads: number;
  private readonly workers: SliceWorker[];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(threads = availableParallelism()) {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`bad thread count ${threads}`);
    this.threads = threads;
    this.workers = Array.from({ length: threads }, () => new SliceWorker(startWorker()));
  }

  /** Resolves once every worker has started (fits wait for it anyway). */
  ready(): Promise<void> {
    return Promise.all(this.workers.map((w) => w.ready)).then(() => undefined);
  }

  fit(x: Matrix, opts: KMeansOptions & { threads?: number }): Promise<KMeansFit> {
    const run = this.queue.then(() => this.fitNow(x, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async fitNow(x: Matrix, opts: KMeansOptions & { threads?: number }): Promise<KMeansFit> {
    const plan = kmeansPlan(x, opts);
    const chunks = chunkCount(x.rows);
    const threads = Math.min(opts.threads ?? this.threads, this.threads, chunks);
    if (threads <= 1) return fitKMeans(x, opts);
    await this.ready();
    // The data in shared memory (copied once unless it already is, whole).
    let shared = x;
    if (!(x.data.buffer instanceof SharedArrayBuffer) || x.data.byteOffset !== 0 || x.data.buffer.byteLength !== x.data.byteLength) {
      const buf = new Float64Array(new SharedArrayBuffer(x.data.length * 8));
      buf.set(x.data);
      shared = matrix(x.rows, x.cols, buf);
    }
    const labels = new SharedArrayBuffer(x.rows * 4);
    const closest = new SharedArrayBuffer(x.rows * 8);
    const out = new SharedArrayBuffer(chunks * kmeansStride(plan.k, x.cols) * 8);
    const bufs: KMeansBuffers = { labels: new Int32Array(labels), closest: new Float64Array(closest), out: new Float64Array(out) };
    bufs.labels.fill(-1);
    const used = this.workers.slice(0, threads);
    try {
      await Promise.all(
        used.map((w, t) => {
          // Whole chunks per worker, as even as possible.
          const start = Math.floor((chunks * t) / threads) * KMEANS_CHUNK;
          const end = Math.min(x.rows, Math.floor((chunks * (t + 1)) / threads) * KMEANS_CHUNK);
          return w.send({ kind: 'setup', data: shared.data.buffer as SharedArrayBuffer, rows: x.rows, cols: x.cols, k: plan.k, labels, closest, out, start, end });
        }),
      );
      const program = kmeansProgram(shared, plan, bufs);
      let step = program.next(bufs.out);
      while (!step.done) {
        const req = step.value;
        await Promise.all(used.map((w) => w.send({ kind: 'run', req })));
        step = program.next(bufs.out);
      }
      return step.value;
    } finally {
      // Let the workers drop their bounds and their hold on the buffers.
      await Promise.all(used.map((w) => w.send({ kind: 'release' }).catch(() => undefined)));
    }
  }

  async close(): Promise<void> {
    await this.queue;
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

/** The same fit as `fitKMeans` (same options, same result for the same seed), on worker threads. */
export async function fitKMeansParallel(x: Matrix, opts: KMeansParallelOptions): Promise<KMeansFit> {
  if (opts.pool) return opts.pool.fit(x, opts);
  const threads = Math.min(opts.threads ?? availableParallelism(), chunkCount(x.rows));
  if (threads <= 1) return fitKMeans(x, opts);
  kmeansPlan(x, opts);
  const pool = new KMeansWorkerPool(threads);
  try {
    return await pool.fit(x, opts);
  } finally {
    await pool.close();
  }
}

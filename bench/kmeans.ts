/**
 * k-means benchmark (issue 5): our parallel fit against scikit-learn's KMeans on the same data, the same
 * initial centres and the same number of threads.
 *
 *   npm run bench -- kmeans [--rows N] [--cols N] [--k N] [--threads N] [--seed N]
 *
 * Data: a seeded mixture of k Gaussian blobs (default 1M rows × 8 columns, 8 blobs of unequal size and
 * spread, overlapping), written as raw float64 to a temporary file that `bench/kmeans_sklearn.py`
 * reads with numpy.fromfile under `/usr/bin/python3` (Debian's scikit-learn).
 *
 * Measured, each side: (1) from the same k-means++ centres (ours, passed to scikit-learn as `init=`),
 * n_init 1, Lloyd and Elkan: the fit's wall time over its iteration count ("time per iteration", as
 * scikit-learn can only be timed whole) and the final inertia; (2) a whole fit with each one's own
 * k-means++ (n_init 1). Our workers are started and their JIT warmed by a fit on a 100k-row sample
 * before the timing (a pool serves many fits; start and warm-up are reported apart). Target: ≤ 1× scikit-learn's time per iteration, inertia within 0.1 %.
 * `reps` (default 3) interleaved repetitions of both sides, each keeping its fastest: the numbers are
 * comparable on a machine that something else is also using.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAlgorithm, kmeansPlusPlusCentres, type KMeansAlgorithm, type KMeansFit } from '../src/domain/ml/kmeans.js';
import { matrix, type Matrix } from '../src/domain/ml/types.js';
import { normal, stream } from '../src/domain/random.js';
import { KMeansWorkerPool } from '../src/services/ml/kmeans-parallel.js';

export interface KMeansBenchOptions { rows?: number; cols?: number; k?: number; threads?: number; seed?: number; reps?: number }

/** k overlapping Gaussian blobs: centres N(0, 2²) per column, spreads 1 … 2, sizes ∝ 1 … 2. */
export function blobs(rows: number, cols: number, k: number, seed: number): Matrix {
  const rng = stream(seed, 'kmeans bench blobs');
  const centres = Array.from({ length: k }, () => Array.from({ length: cols }, () => 2 * normal(rng)));
  const spread = Array.from({ length: k }, (_, c) => 1 + c / Math.max(1, k - 1));
  const weight = Array.from({ length: k }, (_, c) => 1 + c / Math.max(1, k - 1));
  const total = weight.reduce((a, b) => a + b, 0);
  const cum: number[] = [];
  weight.reduce((a, b) => (cum.push((a + b) / total), a + b), 0);
  // Shared memory from the start: the parallel fit then uses it without a copy.
  const x = matrix(rows, cols, new Float64Array(new SharedArrayBuffer(rows * cols * 8)));
  for (let i = 0; i < rows; i++) {
    const u = rng();
    let c = 0;
    while (c < k - 1 && u > (cum[c] as number)) c++;
    const centre = centres[c] as number[];
    const s = spread[c] as number;
    for (let j = 0; j < cols; j++) x.data[i * cols + j] = (centre[j] as number) + s * normal(rng);
  }
  return x;
}

interface Side { seconds: number; iterations: number; msPerIteration: number; inertia: number }
interface SklearnResult { sklearn: string; threads: number; initSeconds: number; lloyd: Side; elkan: Side; lloydOwnInit: Side; elkanOwnInit: Side }

function side(fit: KMeansFit, ms: number): Side {
  return { seconds: ms / 1000, iterations: fit.iterations, msPerIteration: ms / fit.iterations, inertia: fit.inertia };
}

/** The faster of two measurements of the same fit (the results are identical; only the time varies). */
function faster<T extends { seconds: number }>(a: T | undefined, b: T): T {
  return a === undefined || b.seconds < a.seconds ? b : a;
}

const round = (v: number, digits = 3) => Number(v.toPrecision(digits + 2));
const ALGOS = ['lloyd', 'elkan'] as const;
type Key = 'lloyd' | 'elkan' | 'lloydOwnInit' | 'elkanOwnInit';

export async function runKMeansBench(opts: KMeansBenchOptions = {}) {
  const rows = opts.rows ?? 1_000_000;
  const cols = opts.cols ?? 8;
  const k = opts.k ?? 8;
  const threads = opts.threads ?? availableParallelism();
  const seed = opts.seed ?? 42;
  const reps = opts.reps ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-kmeans-'));
  const pool = new KMeansWorkerPool(threads);
  try {
    let t = performance.now();
    const x = blobs(rows, cols, k, seed);
    console.error(`generated ${rows} × ${cols} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const file = join(dir, 'x.f64');
    writeFileSync(file, new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
    t = performance.now();
    await pool.ready();
    const poolStartMs = performance.now() - t;
    // JIT warm-up (scikit-learn's loops are compiled ahead of time; ours are compiled by V8 on first
    // use, in each worker): one fit of each kind on a 100k-row sample, not timed.
    t = performance.now();
    const sample = matrix(Math.min(rows, 100_000), cols, x.data.slice(0, Math.min(rows, 100_000) * cols));
    kmeansPlusPlusCentres(sample, k, seed);
    for (const algorithm of ALGOS) await pool.fit(sample, { k, nInit: 1, algorithm, seed });
    const warmUpMs = performance.now() - t;
    t = performance.now();
    const init = kmeansPlusPlusCentres(x, k, seed);
    const initMs = performance.now() - t;
    const script = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'kmeans_sklearn.py');
    const ours: Partial<Record<Key, Side>> = {};
    const skRuns: SklearnResult[] = [];
    // Interleaved repetitions (the machine may be shared): each side keeps its fastest.
    for (let rep = 0; rep < reps; rep++) {
      for (const algorithm of ALGOS as readonly KMeansAlgorithm[]) {
        t = performance.now();
        const fit = await pool.fit(x, { k, init, algorithm, seed });
        ours[algorithm] = faster(ours[algorithm], side(fit, performance.now() - t));
        t = performance.now();
        const own = await pool.fit(x, { k, nInit: 1, algorithm, seed });
        ours[`${algorithm}OwnInit`] = faster(ours[`${algorithm}OwnInit`], side(own, performance.now() - t));
      }
      const py = execFileSync('/usr/bin/python3', [script, file, String(rows), String(cols), String(k), String(threads), String(seed), JSON.stringify(Array.from(init.data))], {
        env: { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      const r = JSON.parse(py) as SklearnResult;
      skRuns.push(r);
      console.error(`rep ${rep + 1}: ours ${JSON.stringify(ours)}\n  sklearn ${py.trim()}`);
    }
    const first = skRuns[0];
    if (first === undefined) throw new Error('no repetition ran');
    const s = skRuns.reduce((p, r) => ({ ...p, initSeconds: Math.min(p.initSeconds, r.initSeconds), lloyd: faster(p.lloyd, r.lloyd), elkan: faster(p.elkan, r.elkan), lloydOwnInit: faster(p.lloydOwnInit, r.lloydOwnInit), elkanOwnInit: faster(p.elkanOwnInit, r.elkanOwnInit) }), first);
    const table = ALGOS.map((a) => {
      const o = ours[a] as Side;
      const own = ours[`${a}OwnInit`] as Side;
      return {
        algorithm: a,
        oursMsPerIteration: round(o.msPerIteration),
        sklearnMsPerIteration: round(s[a].msPerIteration),
        ratio: round(o.msPerIteration / s[a].msPerIteration),
        oursIterations: o.iterations,
        sklearnIterations: s[a].iterations,
        oursInertia: o.inertia,
        sklearnInertia: s[a].inertia,
        inertiaRelDiff: round((o.inertia - s[a].inertia) / s[a].inertia),
        oursOwnInitSeconds: round(own.seconds),
        sklearnOwnInitSeconds: round(s[`${a}OwnInit`].seconds),
        oursOwnInitIterations: own.iterations,
        sklearnOwnInitIterations: s[`${a}OwnInit`].iterations,
        oursOwnInitInertia: own.inertia,
        sklearnOwnInitInertia: s[`${a}OwnInit`].inertia,
      };
    });
    // Our default ('auto') against scikit-learn's faster algorithm: the comparison a user sees.
    const auto = chooseAlgorithm(rows, cols, k);
    const best = s.lloyd.msPerIteration <= s.elkan.msPerIteration ? 'lloyd' : 'elkan';
    const headline = {
      ours: auto,
      sklearn: best,
      ratio: round((ours[auto] as Side).msPerIteration / s[best].msPerIteration),
      inertiaRelDiff: round(((ours[auto] as Side).inertia - s[best].inertia) / s[best].inertia),
    };
    return { rows, cols, k, threads, seed, reps, sklearn: s.sklearn, poolStartMs: Math.round(poolStartMs), warmUpMs: Math.round(warmUpMs), oursInitMsSingleThread: Math.round(initMs), sklearnInitMs: Math.round(s.initSeconds * 1000), headline, table };
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

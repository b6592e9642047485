/**
 * k-means clustering, following scikit-learn's `KMeans` step for step: greedy k-means++ initialisation
 * (`2 + ⌊ln k⌋` local trials per centre, candidates drawn in proportion to D², the one lowering the
 * potential most kept), Lloyd or Elkan iterations, convergence when the labels stop changing or the
 * squared centre shift falls to `tol × mean feature variance`, empty clusters moved to the points
 * farthest from their centres, and the best of `nInit` seeded runs by inertia.
 *
 * Why our own code and not a library: the fit has to run over a million profiles on every core and
 * give the same answer whatever the number of threads. So the algorithm is written once, as a
 * generator (`kmeansProgram`) that asks for row-wise work (assign rows, sum them per cluster) and
 * combines the answers; a driver carries the work out, here on this thread over all rows
 * (`fitKMeans`), in `services/ml/kmeans-parallel.ts` on worker threads that each own a slice of rows.
 * Row-wise results are always produced per fixed chunk of `KMEANS_CHUNK` rows and added up in chunk
 * order, so the floating-point sums (and with them every later decision) are bit-for-bit the same
 * however the rows are split between threads.
 */
import { InputError } from '../errors.js';
import { stream } from '../random.js';
import { matrix, type FitProgress, type Matrix } from './types.js';

/** Rows per chunk: the unit of every partial sum (and the granularity of the split between threads). */
export const KMEANS_CHUNK = 4096;

export type KMeansAlgorithm = 'lloyd' | 'elkan';

export interface KMeansOptions {
  k: number;
  /** Independent k-means++ runs; the one with the lowest inertia is kept (default 10, scikit-learn ≤ 1.3). */
  nInit?: number;
  /** Iterations per run (default 300). */
  maxIter?: number;
  /** Relative tolerance: a run stops when Σ‖centre shift‖² ≤ tol × mean feature variance (default 1e-4). */
  tol?: number;
  /** 'auto' (default) picks Elkan where it is faster (see `chooseAlgorithm`). */
  algorithm?: KMeansAlgorithm | 'auto';
  /** Explicit initial centres (k × cols); then one run is made from them (nInit is ignored). */
  init?: Matrix;
  seed?: number;
  progress?: FitProgress;
}

export interface KMeansFit {
  k: number;
  /** k × cols, in the feature space of the input. */
  centres: Matrix;
  /** Cluster of each row, 0 … k-1. */
  labels: Int32Array;
  /** Rows per cluster. */
  sizes: Float64Array;
  /** Σ squared distance of each row to its centre (the objective). */
  inertia: number;
  /** Iterations of the kept run. */
  iterations: number;
  /** Whether the kept run converged before maxIter. */
  converged: boolean;
  algorithm: KMeansAlgorithm;
  /** Inertia of every run, in run order (its spread says how stable the solution is). */
  runInertias: number[];
  /** Index of the kept run. */
  bestRun: number;
  /** Times an empty cluster was moved to a far point (over all runs). */
  relocations: number;
}

/** The checked options of one fit. */
export interface KMeansPlan {
  k: number;
  nInit: number;
  maxIter: number;
  tol: number;
  algorithm: KMeansAlgorithm;
  init: Float64Array | null;
  seed: number;
  progress: FitProgress | undefined;
}

/**
 * Work the program asks the driver to do over every row (or the driver's slice of rows); results go
 * per chunk into the shared `out` array (see `kmeansStride`):
 * - `columnSums`: per chunk the sum of each column (cols) and the count of non-finite values (1).
 * - `columnSquares`: per chunk Σ (x − mean)² of each column (the tolerance's variances).
 * - `seed`: closest[i] ← ‖xᵢ − c‖²; out[chunk] = Σ closest.
 * - `trials`: for each of `count` candidates t, dₜ[i] ← min(closest[i], ‖xᵢ − cₜ‖²) (kept by the
 *   driver); out[chunk × count + t] = Σ dₜ.
 * - `keep`: closest ← d_trial.
 * - `lloyd` / `elkan`: each row labelled with its nearest centre; with `update`, per chunk the sum of
 *   the rows of each cluster (k × cols), the row count per cluster (k) and the number of changed labels.
 *   Elkan first shifts its bounds by the previous step's centre shift (`shift`, null on the first step).
 * - `elkanInit`: labels and Elkan's bounds from scratch (no output).
 * - `inertia`: out[chunk] = Σ ‖xᵢ − c_labelᵢ‖².
 */
export type KMeansRequest =
  | { kind: 'columnSums' }
  | { kind: 'columnSquares'; mean: Float64Array }
  | { kind: 'seed'; centre: Float64Array }
  | { kind: 'trials'; candidates: Float64Array; count: number }
  | { kind: 'keep'; trial: number }
  | { kind: 'lloyd'; centres: Float64Array; update: boolean }
  | { kind: 'elkanInit'; centres: Float64Array }
  | { kind: 'elkan'; centres: Float64Array; halfDist: Float64Array; nextDist: Float64Array; shift: Float64Array | null; update: boolean }
  | { kind: 'inertia'; centres: Float64Array };

/** Arrays over all rows that the program and every executor see (shared memory in the parallel driver). */
export interface KMeansBuffers {
  /** Cluster of each row (-1 before the first assignment of a run). */
  labels: Int32Array;
  /** k-means++: squared distance of each row to its closest chosen centre. */
  closest: Float64Array;
  /** Per-chunk results: chunkCount(rows) × kmeansStride(k, cols). */
  out: Float64Array;
}

export function chunkCount(rows: number): number {
  return Math.ceil(rows / KMEANS_CHUNK);
}

export function localTrials(k: number): number {
  return 2 + Math.floor(Math.log(k));
}

/** Values per chunk in `out`: the largest any request writes. */
export function kmeansStride(k: number, cols: number): number {
  return Math.max(k * cols + k + 1, localTrials(k), cols + 1);
}

export function kmeansBuffers(rows: number, cols: number, k: number): KMeansBuffers {
  return {
    labels: new Int32Array(rows).fill(-1),
    closest: new Float64Array(rows),
    out: new Float64Array(chunkCount(rows) * kmeansStride(k, cols)),
  };
}

/**
 * Elkan keeps k lower bounds per row (4·k bytes) and saves distance computations. Measured on this
 * kernel (100k rows, overlapping blobs, same start; docs/models.md): Elkan's whole fit takes 0.2-0.9×
 * Lloyd's for k ≥ 3 at every width from 2 to 32 columns, and for k = 2 from 4 columns; Lloyd wins
 * for k = 2 on 2-3 columns and on fits that converge in 2-4 steps (Elkan's first pass costs ~2 Lloyd
 * steps), which are cheap either way. Lloyd also when the bounds would take more than 1 GiB.
 */
export function chooseAlgorithm(rows: number, cols: number, k: number): KMeansAlgorithm {
  if (rows * k * 4 > 2 ** 30) return 'lloyd';
  return k >= 3 || cols >= 4 ? 'elkan' : 'lloyd';
}

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new InputError('bad_option', `${name} must be an integer ≥ ${min}, got ${v}`, name);
}

/** The first missing or infinite value, as an InputError (clustering needs imputed data). */
export function nonFiniteError(x: Matrix): InputError | null {
  const { cols, data } = x;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    // v − v is 0 for every finite v, NaN for NaN and ±Infinity.
    if (v - v !== 0) return new InputError('bad_input', `the matrix has a missing or infinite value at row ${Math.floor(i / cols)}, column ${i % cols} (impute before clustering)`);
  }
  return null;
}

/**
 * Checks the options (InputError for anything the caller got wrong). The values themselves are checked
 * by the program's first pass over the rows (in parallel when the fit is).
 */
export function kmeansPlan(x: Matrix, opts: KMeansOptions): KMeansPlan {
  const { rows, cols } = x;
  if (rows < 1 || cols < 1) throw new InputError('bad_input', `k-means needs at least one row and one column, got ${rows} × ${cols}`);
  checkInt('k', opts.k, 1);
  if (opts.k > rows) throw new InputError('bad_option', `k = ${opts.k} is more than the ${rows} rows`, 'k');
  const nInit = opts.nInit ?? 10;
  checkInt('nInit', nInit, 1);
  const maxIter = opts.maxIter ?? 300;
  checkInt('maxIter', maxIter, 1);
  const tol = opts.tol ?? 1e-4;
  if (!(tol >= 0) || !Number.isFinite(tol)) throw new InputError('bad_option', `tol must be a finite number ≥ 0, got ${tol}`, 'tol');
  const algo = opts.algorithm ?? 'auto';
  if (algo !== 'auto' && algo !== 'lloyd' && algo !== 'elkan') throw new InputError('bad_option', `algorithm must be 'auto', 'lloyd' or 'elkan', got '${String(algo)}'`, 'algorithm');
  let init: Float64Array | null = null;
  if (opts.init) {
    if (opts.init.rows !== opts.k || opts.init.cols !== cols) {
      throw new InputError('bad_option', `init must be ${opts.k} × ${cols} (k × columns), got ${opts.init.rows} × ${opts.init.cols}`, 'init');
    }
    if (!opts.init.data.every(Number.isFinite)) throw new InputError('bad_option', 'init has a missing or infinite value', 'init');
    init = Float64Array.from(opts.init.data);
  }
  return {
    k: opts.k,
    nInit: init ? 1 : nInit,
    maxIter,
    tol,
    algorithm: algo === 'auto' ? chooseAlgorithm(rows, cols, opts.k) : algo,
    init,
    seed: opts.seed ?? 0,
    progress: opts.progress,
  };
}

/** scikit-learn's `_tolerance`: tol × the mean over columns of the (population) column variance. */
export function kmeansTolerance(x: Matrix, tol: number): number {
  if (tol === 0) return 0;
  const { rows, cols, data } = x;
  // Two passes, row-major (one sweep of memory each), numerically as numpy's var.
  const mean = new Float64Array(cols);
  for (let i = 0, o = 0; i < rows; i++, o += cols) for (let j = 0; j < cols; j++) mean[j] = (mean[j] as number) + (data[o + j] as number);
  for (let j = 0; j < cols; j++) mean[j] = (mean[j] as number) / rows;
  const ss = new Float64Array(cols);
  for (let i = 0, o = 0; i < rows; i++, o += cols) {
    for (let j = 0; j < cols; j++) {
      const t = (data[o + j] as number) - (mean[j] as number);
      ss[j] = (ss[j] as number) + t * t;
    }
  }
  let total = 0;
  for (let j = 0; j < cols; j++) total += (ss[j] as number) / rows;
  return (total / cols) * tol;
}

// ---------------------------------------------------------------------------------------------------
// The program: the whole fit as a generator of row-wise requests.

interface RunResult {
  centres: Float64Array;
  inertia: number;
  iterations: number;
  converged: boolean;
  relocations: number;
}

/** Half the distance between every pair of centres (k × k) and, per centre, the smallest to another. */
function centreDistances(c: Float64Array, k: number, d: number, half: Float64Array, next: Float64Array): void {
  for (let a = 0; a < k; a++) {
    half[a * k + a] = 0;
    for (let b = a + 1; b < k; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = (c[a * d + j] as number) - (c[b * d + j] as number);
        s += t * t;
      }
      const h = Math.sqrt(s) / 2;
      half[a * k + b] = h;
      half[b * k + a] = h;
    }
  }
  for (let a = 0; a < k; a++) {
    let m = Infinity;
    for (let b = 0; b < k; b++) if (b !== a && (half[a * k + b] as number) < m) m = half[a * k + b] as number;
    next[a] = k === 1 ? Infinity : m;
  }
}

/**
 * Adds the per-chunk sums and counts in chunk order, moves empty clusters to far points (as
 * scikit-learn's `_relocate_empty_clusters_dense`), averages, and returns the new centres with the
 * number of changed labels, the relocations and each centre's shift.
 */
function updateCentres(
  x: Matrix,
  bufs: KMeansBuffers,
  old: Float64Array,
  k: number,
): { centres: Float64Array; changed: number; relocated: number; shift: Float64Array } {
  const { rows, cols: d, data } = x;
  const stride = kmeansStride(k, d);
  const chunks = chunkCount(rows);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  let changed = 0;
  const out = bufs.out;
  for (let c = 0; c < chunks; c++) {
    const o = c * stride;
    for (let j = 0; j < k * d; j++) sums[j] = (sums[j] as number) + (out[o + j] as number);
    for (let j = 0; j < k; j++) counts[j] = (counts[j] as number) + (out[o + k * d + j] as number);
    changed += out[o + k * d + k] as number;
  }
  const empty: number[] = [];
  for (let j = 0; j < k; j++) if (counts[j] === 0) empty.push(j);
  if (empty.length > 0) {
    // The farthest rows from their (old) centres, farthest first, ties to the lower row: each becomes
    // the sole member of one empty cluster (its label is left, as scikit-learn does; the next step
    // reassigns it).
    const far = farthestRows(x, old, bufs.labels, empty.length);
    empty.forEach((e, n) => {
      const i = far[n] as number;
      const from = bufs.labels[i] as number;
      for (let j = 0; j < d; j++) {
        const v = data[i * d + j] as number;
        sums[from * d + j] = (sums[from * d + j] as number) - v;
        sums[e * d + j] = v;
      }
      counts[e] = 1;
      counts[from] = (counts[from] as number) - 1;
    });
  }
  const centres = new Float64Array(k * d);
  const shift = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const n = counts[j] as number;
    let s2 = 0;
    for (let f = 0; f < d; f++) {
      // A cluster emptied by a relocation keeps its old centre (scikit-learn's _average_centers).
      const v = n > 0 ? (sums[j * d + f] as number) / n : (old[j * d + f] as number);
      centres[j * d + f] = v;
      const t = v - (old[j * d + f] as number);
      s2 += t * t;
    }
    shift[j] = Math.sqrt(s2);
  }
  return { centres, changed, relocated: empty.length, shift };
}

/** The `m` rows farthest from their labelled centre (farthest first; ties to the lower row index). */
function farthestRows(x: Matrix, centres: Float64Array, labels: Int32Array, m: number): number[] {
  const { rows, cols: d, data } = x;
  const best: Array<{ i: number; dist: number }> = [];
  for (let i = 0; i < rows; i++) {
    const l = labels[i] as number;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = (data[i * d + j] as number) - (centres[l * d + j] as number);
      s += t * t;
    }
    if (best.length === m && s <= (best[m - 1] as { dist: number }).dist) continue;
    let p = best.length < m ? best.length : m - 1;
    best[p] = { i, dist: s };
    while (p > 0 && (best[p - 1] as { dist: number }).dist < s) {
      best[p] = best[p - 1] as { i: number; dist: number };
      best[p - 1] = { i, dist: s };
      p--;
    }
  }
  return best.map((b) => b.i);
}

function sumChunks(out: Float64Array, chunks: number, stride: number, at: number): number {
  let s = 0;
  for (let c = 0; c < chunks; c++) s += out[c * stride + at] as number;
  return s;
}

/**
 * The first passes over the rows: non-finite values (an InputError naming the first) and scikit-learn's
 * tolerance, tol × the mean column variance, from per-chunk sums (`kmeansTolerance` on one thread).
 */
function* checkAndTolerance(x: Matrix, tol: number): Generator<KMeansRequest, number, Float64Array> {
  const { rows, cols: d } = x;
  const chunks = chunkCount(rows);
  const stride = d + 1;
  let out = yield { kind: 'columnSums' };
  if (sumChunks(out, chunks, stride, d) > 0) throw nonFiniteError(x) ?? new Error('non-finite count without a non-finite value');
  if (tol === 0) return 0;
  const mean = new Float64Array(d);
  for (let j = 0; j < d; j++) mean[j] = sumChunks(out, chunks, stride, j) / rows;
  out = yield { kind: 'columnSquares', mean };
  let total = 0;
  for (let j = 0; j < d; j++) total += sumChunks(out, chunks, d, j) / rows;
  return (total / d) * tol;
}

/** scikit-learn's greedy k-means++ (`_kmeans_plusplus`). */
function* kmeansPlusPlus(x: Matrix, bufs: KMeansBuffers, k: number, seed: number, run: number): Generator<KMeansRequest, Float64Array, Float64Array> {
  const { rows, cols: d, data } = x;
  const rng = stream(seed, `kmeans++ run ${run}`);
  const trials = localTrials(k);
  const chunks = chunkCount(rows);
  const centres = new Float64Array(k * d);
  const first = Math.min(rows - 1, Math.floor(rng() * rows));
  centres.set(data.subarray(first * d, (first + 1) * d), 0);
  let out = yield { kind: 'seed', centre: centres.slice(0, d) };
  // Per-chunk sums of `closest` in chunk order: the cumulative sum the candidates are drawn from.
  const chunkSums = new Float64Array(chunks);
  for (let c = 0; c < chunks; c++) chunkSums[c] = out[c] as number;
  let potential = sumChunks(out, chunks, 1, 0);
  const candidates = new Float64Array(trials * d);
  for (let c = 1; c < k; c++) {
    for (let t = 0; t < trials; t++) {
      const id = searchCumulative(bufs.closest, chunkSums, rows, rng() * potential);
      candidates.set(data.subarray(id * d, (id + 1) * d), t * d);
    }
    out = yield { kind: 'trials', candidates: candidates.slice(), count: trials };
    let best = 0;
    let bestPot = Infinity;
    for (let t = 0; t < trials; t++) {
      const pot = sumChunks(out, chunks, trials, t);
      if (pot < bestPot) {
        bestPot = pot;
        best = t;
      }
    }
    for (let ch = 0; ch < chunks; ch++) chunkSums[ch] = out[ch * trials + best] as number;
    potential = bestPot;
    centres.set(candidates.subarray(best * d, (best + 1) * d), c * d);
    yield { kind: 'keep', trial: best };
  }
  return centres;
}

/**
 * numpy's `searchsorted(cumsum(closest), v)` (first row whose cumulative sum reaches v), with the
 * cumulative sum taken chunk by chunk so that it does not depend on how rows are split.
 */
function searchCumulative(closest: Float64Array, chunkSums: Float64Array, rows: number, v: number): number {
  let before = 0;
  for (let c = 0; c < chunkSums.length; c++) {
    const after = before + (chunkSums[c] as number);
    if (after >= v || c === chunkSums.length - 1) {
      const end = Math.min(rows, (c + 1) * KMEANS_CHUNK);
      let acc = before;
      for (let i = c * KMEANS_CHUNK; i < end; i++) {
        acc += closest[i] as number;
        if (acc >= v) return i;
      }
      return end - 1;
    }
    before = after;
  }
  return rows - 1;
}

function* runOnce(x: Matrix, bufs: KMeansBuffers, plan: KMeansPlan, start: Float64Array, tol: number, run: number): Generator<KMeansRequest, RunResult, Float64Array> {
  const { rows, cols: d } = x;
  const { k, maxIter } = plan;
  const elkan = plan.algorithm === 'elkan';
  let centres: Float64Array<ArrayBufferLike> = start.slice();
  const half = new Float64Array(k * k);
  const next = new Float64Array(k);
  bufs.labels.fill(-1);
  if (elkan) {
    centreDistances(centres, k, d, half, next);
    yield { kind: 'elkanInit', centres: centres.slice() };
  }
  let shift: Float64Array | null = null;
  let strict = false;
  let iterations = 0;
  let relocations = 0;
  let converged = false;
  for (let it = 0; it < maxIter; it++) {
    iterations = it + 1;
    if (elkan) yield { kind: 'elkan', centres: centres.slice(), halfDist: half.slice(), nextDist: next.slice(), shift, update: true };
    else yield { kind: 'lloyd', centres: centres.slice(), update: true };
    const u = updateCentres(x, bufs, centres, k);
    relocations += u.relocated;
    centres = u.centres;
    if (elkan) centreDistances(centres, k, d, half, next);
    shift = u.shift;
    plan.progress?.({ phase: 'iterate', done: it + 1, total: maxIter, detail: `k = ${k}, run ${run + 1} of ${plan.nInit}, ${u.changed} labels changed` });
    // Elkan's first step compares with scikit-learn's labels_old = -1, so it can never be "strict".
    if (u.changed === 0 && !(elkan && it === 0)) {
      strict = true;
      converged = true;
      break;
    }
    let total = 0;
    for (let j = 0; j < k; j++) total += (shift[j] as number) ** 2;
    if (total <= tol) {
      converged = true;
      break;
    }
  }
  if (!strict) {
    // Labels for the final centres (scikit-learn reruns the E-step without moving the centres).
    if (elkan) yield { kind: 'elkan', centres: centres.slice(), halfDist: half.slice(), nextDist: next.slice(), shift, update: false };
    else yield { kind: 'lloyd', centres: centres.slice(), update: false };
  }
  const out = yield { kind: 'inertia', centres: centres.slice() };
  const inertia = sumChunks(out, chunkCount(rows), 1, 0);
  return { centres, inertia, iterations, converged, relocations };
}

/** scikit-learn's `_is_same_clustering`: the same partition up to a renaming of the clusters. */
function sameClustering(a: Int32Array, b: Int32Array, k: number): boolean {
  const map = new Int32Array(k).fill(-1);
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (map[x] === -1) map[x] = y;
    else if (map[x] !== y) return false;
  }
  return true;
}

/** The whole fit (all runs), as requests to a driver; returns the kept run. */
export function* kmeansProgram(x: Matrix, plan: KMeansPlan, bufs: KMeansBuffers): Generator<KMeansRequest, KMeansFit, Float64Array> {
  const tol = yield* checkAndTolerance(x, plan.tol);
  let best: RunResult | null = null;
  let bestLabels: Int32Array | null = null;
  let bestRun = 0;
  const runInertias: number[] = [];
  let relocations = 0;
  for (let run = 0; run < plan.nInit; run++) {
    plan.progress?.({ phase: 'init', done: run, total: plan.nInit, detail: `k = ${plan.k}, run ${run + 1} of ${plan.nInit}` });
    const start = plan.init ?? (yield* kmeansPlusPlus(x, bufs, plan.k, plan.seed, run));
    const r = yield* runOnce(x, bufs, plan, start, tol, run);
    runInertias.push(r.inertia);
    relocations += r.relocations;
    if (best === null || bestLabels === null || (r.inertia < best.inertia && !sameClustering(bufs.labels, bestLabels, plan.k))) {
      best = r;
      bestLabels = bufs.labels.slice();
      bestRun = run;
    }
  }
  if (best === null || bestLabels === null) throw new Error('k-means made no run');
  const sizes = new Float64Array(plan.k);
  for (let i = 0; i < bestLabels.length; i++) sizes[bestLabels[i] as number] = (sizes[bestLabels[i] as number] as number) + 1;
  return {
    k: plan.k,
    centres: matrix(plan.k, x.cols, best.centres),
    labels: bestLabels,
    sizes,
    inertia: best.inertia,
    iterations: best.iterations,
    converged: best.converged,
    algorithm: plan.algorithm,
    runInertias,
    bestRun,
    relocations,
  };
}

// ---------------------------------------------------------------------------------------------------
// The row kernels: one executor per slice of rows [start, end), chunk-aligned.

/**
 * Squared distances from row `xo` of x to centres q … q+3 (4 at a time: the row's values are loaded
 * once per 4 centres and the 4 sums run independently, ~2× faster than one centre at a time in V8),
 * returning the nearest of all k centres; its squared distance is left in `best[0]`.
 */
function nearest(x: Matrix['data'], xo: number, cs: Float64Array, k: number, d: number, best: Float64Array): number {
  let bi = 0;
  let bd = Infinity;
  let q = 0;
  for (; q + 3 < k; q += 4) {
    const c0 = q * d;
    const c1 = c0 + d;
    const c2 = c1 + d;
    const c3 = c2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const v = x[xo + j] as number;
      const a = v - (cs[c0 + j] as number);
      const b = v - (cs[c1 + j] as number);
      const e = v - (cs[c2 + j] as number);
      const f = v - (cs[c3 + j] as number);
      s0 += a * a;
      s1 += b * b;
      s2 += e * e;
      s3 += f * f;
    }
    if (s0 < bd) {
      bd = s0;
      bi = q;
    }
    if (s1 < bd) {
      bd = s1;
      bi = q + 1;
    }
    if (s2 < bd) {
      bd = s2;
      bi = q + 2;
    }
    if (s3 < bd) {
      bd = s3;
      bi = q + 3;
    }
  }
  for (; q < k; q++) {
    const c0 = q * d;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const a = (x[xo + j] as number) - (cs[c0 + j] as number);
      s += a * a;
    }
    if (s < bd) {
      bd = s;
      bi = q;
    }
  }
  best[0] = bd;
  return bi;
}

/** Squared distances from row `xo` to every centre, into `out` (4 centres at a time, as `nearest`). */
function allDistances(x: Matrix['data'], xo: number, cs: Float64Array, k: number, d: number, out: Float64Array): void {
  let q = 0;
  for (; q + 3 < k; q += 4) {
    const c0 = q * d;
    const c1 = c0 + d;
    const c2 = c1 + d;
    const c3 = c2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const v = x[xo + j] as number;
      const a = v - (cs[c0 + j] as number);
      const b = v - (cs[c1 + j] as number);
      const e = v - (cs[c2 + j] as number);
      const f = v - (cs[c3 + j] as number);
      s0 += a * a;
      s1 += b * b;
      s2 += e * e;
      s3 += f * f;
    }
    out[q] = s0;
    out[q + 1] = s1;
    out[q + 2] = s2;
    out[q + 3] = s3;
  }
  for (; q < k; q++) out[q] = sqDist(x, xo, cs, q * d, d);
}

/**
 * Elkan's lower bounds are stored as float32 (half the memory traffic of the n × k array, which is
 * what a late step spends its time on). A stored bound must never exceed the true one: shrinking by
 * 2⁻²² before the round to nearest float32 (relative error ≤ 2⁻²⁴) keeps it below. Values are ≥ 0.
 */
const SHRINK = 1 - 2 ** -22;

function sqDist(x: Matrix['data'], xo: number, cs: Float64Array, co: number, d: number): number {
  // Two accumulators: the additions of one do not wait for the other's.
  let s0 = 0;
  let s1 = 0;
  let j = 0;
  for (; j + 1 < d; j += 2) {
    const a = (x[xo + j] as number) - (cs[co + j] as number);
    const b = (x[xo + j + 1] as number) - (cs[co + j + 1] as number);
    s0 += a * a;
    s1 += b * b;
  }
  if (j < d) {
    const a = (x[xo + j] as number) - (cs[co + j] as number);
    s0 += a * a;
  }
  return s0 + s1;
}

/** An executor's private arrays (see `KMeansSliceExecutor.scratch`). */
export interface KMeansScratch {
  upper: Float64Array;
  lower: Float32Array;
  second: Float64Array;
  sums: Float64Array;
  trialDist: Float64Array;
}

/**
 * Carries out requests over rows [start, end) of x (start a multiple of KMEANS_CHUNK), writing labels
 * and `closest` at the global row index and results at the global chunk index. Private to the slice:
 * the k-means++ trial distances, Elkan's bounds and Elkan's running per-chunk cluster sums.
 *
 * Elkan here differs from scikit-learn's in ways that change the work, not the answer (measured on
 * 1M × 8 overlapping blobs, k = 8, they take a late step from ~70 to ~35 ms on one core):
 * - each row also keeps Hamerly's bound, a lower bound on the distance to every centre but its own,
 *   tested first together with half the distance to the nearest other centre; a row failing it gets
 *   its upper bound tightened (one distance) and is tested again. Only the rest (~10 % of the rows in
 *   late steps) go through Elkan's per-centre bounds, which also yield the new Hamerly bound.
 * - bounds are stored relative to each centre's cumulative drift (`drift`; `maxDrift` for Hamerly's):
 *   a lower bound l set when centre j had drifted D is stored as l + D and read as stored − drift[j].
 *   The usual "subtract the shift from every bound" pass, n × k reads and writes per step, disappears.
 * - lower bounds are float32, rounded down (`SHRINK`); the first assignment computes all k distances
 *   (4 at a time), so every bound starts exact.
 * - the per-chunk cluster sums are kept up to date by moving a row's values from the old cluster's sum
 *   to the new one's when its label changes, so a settled row's values are not read at all.
 * - the test before computing a distance after tightening is "ub > l and ub > half distance"
 *   (Elkan's lemma); scikit-learn writes "or", which only computes more distances.
 */
export class KMeansSliceExecutor {
  private readonly x: Matrix['data'];
  private readonly d: number;
  private readonly k: number;
  private readonly stride: number;
  private readonly best = new Float64Array(1);
  private upper: Float64Array = new Float64Array(0);
  private lower: Float32Array = new Float32Array(0);
  private second: Float64Array = new Float64Array(0);
  private drift: Float64Array;
  private maxDrift = 0;
  private sums: Float64Array = new Float64Array(0);
  private trialDist: Float64Array = new Float64Array(0);

  constructor(
    x: Matrix,
    k: number,
    private readonly bufs: KMeansBuffers,
    private readonly start: number,
    private readonly end: number,
  ) {
    if (start % KMEANS_CHUNK !== 0 || start < 0 || end > x.rows || start > end) throw new Error(`bad k-means slice ${start}..${end} of ${x.rows}`);
    this.x = x.data;
    this.d = x.cols;
    this.k = k;
    this.stride = kmeansStride(k, x.cols);
    this.drift = new Float64Array(k);
  }

  /** The private arrays, to hand to the next executor of the same slice (`adopt`). */
  scratch(): KMeansScratch {
    return { upper: this.upper, lower: this.lower, second: this.second, sums: this.sums, trialDist: this.trialDist };
  }

  /**
   * Takes over the private arrays of the slice's previous executor (a worker serving fit after fit):
   * reused when the sizes match, which spares the page faults of fresh n × k arrays.
   */
  adopt(s: KMeansScratch): void {
    this.upper = s.upper;
    this.lower = s.lower;
    this.second = s.second;
    this.sums = s.sums;
    this.trialDist = s.trialDist;
  }

  run(req: KMeansRequest): void {
    switch (req.kind) {
      case 'columnSums':
        return this.columnSums();
      case 'columnSquares':
        return this.columnSquares(req.mean);
      case 'seed':
        return this.seed(req.centre);
      case 'trials':
        return this.trials(req.candidates, req.count);
      case 'keep':
        return this.keep(req.trial);
      case 'lloyd':
        return this.lloyd(req.centres, req.update);
      case 'elkanInit':
        return this.elkanInit(req.centres);
      case 'elkan':
        return this.elkan(req.centres, req.halfDist, req.nextDist, req.shift, req.update);
      case 'inertia':
        return this.inertia(req.centres);
    }
  }

  private columnSums(): void {
    const { x, d, start, end } = this;
    const out = this.bufs.out;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      const o = (c0 / KMEANS_CHUNK) * (d + 1);
      out.fill(0, o, o + d + 1);
      let bad = 0;
      for (let i = c0; i < c1; i++) {
        const xo = i * d;
        for (let j = 0; j < d; j++) {
          const v = x[xo + j] as number;
          if (v - v !== 0) bad++;
          out[o + j] = (out[o + j] as number) + v;
        }
      }
      out[o + d] = bad;
    }
  }

  private columnSquares(mean: Float64Array): void {
    const { x, d, start, end } = this;
    const out = this.bufs.out;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      const o = (c0 / KMEANS_CHUNK) * d;
      out.fill(0, o, o + d);
      for (let i = c0; i < c1; i++) {
        const xo = i * d;
        for (let j = 0; j < d; j++) {
          const t = (x[xo + j] as number) - (mean[j] as number);
          out[o + j] = (out[o + j] as number) + t * t;
        }
      }
    }
  }

  private seed(c: Float64Array): void {
    const { x, d, start, end } = this;
    const closest = this.bufs.closest;
    const out = this.bufs.out;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      let sum = 0;
      for (let i = c0; i < c1; i++) {
        const s = sqDist(x, i * d, c, 0, d);
        closest[i] = s;
        sum += s;
      }
      out[c0 / KMEANS_CHUNK] = sum;
    }
  }

  private trials(cand: Float64Array, count: number): void {
    const { x, d, start, end } = this;
    const n = end - start;
    if (this.trialDist.length !== n * count) this.trialDist = new Float64Array(n * count);
    const td = this.trialDist;
    const dist = new Float64Array(count);
    const closest = this.bufs.closest;
    const out = this.bufs.out;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      const o = (c0 / KMEANS_CHUNK) * count;
      out.fill(0, o, o + count);
      for (let i = c0; i < c1; i++) {
        allDistances(x, i * d, cand, count, d, dist);
        const cl = closest[i] as number;
        for (let t = 0; t < count; t++) {
          const s = Math.min(dist[t] as number, cl);
          td[t * n + i - start] = s;
          out[o + t] = (out[o + t] as number) + s;
        }
      }
    }
  }

  private keep(t: number): void {
    const n = this.end - this.start;
    this.bufs.closest.set(this.trialDist.subarray(t * n, (t + 1) * n), this.start);
  }

  private lloyd(cs: Float64Array, update: boolean): void {
    const { x, d, k, start, end, stride, best } = this;
    const labels = this.bufs.labels;
    const out = this.bufs.out;
    const kd = k * d;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      const o = (c0 / KMEANS_CHUNK) * stride;
      if (update) out.fill(0, o, o + kd + k + 1);
      let changed = 0;
      for (let i = c0; i < c1; i++) {
        const xo = i * d;
        const l = nearest(x, xo, cs, k, d, best);
        if (labels[i] !== l) {
          changed++;
          labels[i] = l;
        }
        if (update) {
          const so = o + l * d;
          for (let j = 0; j < d; j++) out[so + j] = (out[so + j] as number) + (x[xo + j] as number);
          out[o + kd + l] = (out[o + kd + l] as number) + 1;
        }
      }
      if (update) out[o + kd + k] = changed;
    }
  }

  /**
   * Labels and bounds from scratch. scikit-learn's `init_bounds_dense` skips centres by the
   * half-distance test; measured here, computing all k distances with the 4-at-a-time kernel is ~3×
   * faster than that branchy loop, and leaves every lower bound exact. Then the per-chunk sums.
   */
  private elkanInit(cs: Float64Array): void {
    const { x, d, k, start, end } = this;
    const n = end - start;
    const kd = k * d;
    const w = kd + k;
    if (this.upper.length !== n) this.upper = new Float64Array(n);
    if (this.lower.length !== n * k) this.lower = new Float32Array(n * k);
    if (this.second.length !== n) this.second = new Float64Array(n);
    const chunks = Math.ceil(n / KMEANS_CHUNK);
    if (this.sums.length !== chunks * w) this.sums = new Float64Array(chunks * w);
    this.drift.fill(0);
    this.maxDrift = 0;
    this.sums.fill(0);
    const { upper, lower, second, sums } = this;
    const labels = this.bufs.labels;
    const dist = new Float64Array(k);
    for (let i = start; i < end; i++) {
      const r = i - start;
      const lo = r * k;
      const xo = i * d;
      allDistances(x, xo, cs, k, d, dist);
      let l = 0;
      let min = Infinity;
      let next = Infinity;
      for (let j = 0; j < k; j++) {
        const v = Math.sqrt(dist[j] as number);
        lower[lo + j] = v * SHRINK;
        if (v < min) {
          next = min;
          min = v;
          l = j;
        } else if (v < next) next = v;
      }
      labels[i] = l;
      upper[r] = min;
      second[r] = next * SHRINK;
      const so = Math.floor(r / KMEANS_CHUNK) * w;
      for (let j = 0; j < d; j++) sums[so + l * d + j] = (sums[so + l * d + j] as number) + (x[xo + j] as number);
      sums[so + kd + l] = (sums[so + kd + l] as number) + 1;
    }
  }

  /** One Elkan step (see the class comment); with `update`, per-chunk sums, counts and changes to `out`. */
  private elkan(cs: Float64Array, half: Float64Array, next: Float64Array, shift: Float64Array | null, update: boolean): void {
    const { x, d, k, start, end, stride, upper, lower, second, sums, drift } = this;
    const labels = this.bufs.labels;
    const out = this.bufs.out;
    const kd = k * d;
    const w = kd + k;
    if (shift !== null) {
      let most = 0;
      for (let j = 0; j < k; j++) {
        drift[j] = (drift[j] as number) + (shift[j] as number);
        if ((shift[j] as number) > most) most = shift[j] as number;
      }
      this.maxDrift += most;
    }
    const maxDrift = this.maxDrift;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      const so = ((c0 - start) / KMEANS_CHUNK) * w;
      let changed = 0;
      for (let i = c0; i < c1; i++) {
        const r = i - start;
        const old = labels[i] as number;
        let ub = (upper[r] as number) + (drift[old] as number);
        if ((next[old] as number) >= ub || ub <= (second[r] as number) - maxDrift) continue;
        // Hamerly's step first: tighten the upper bound (one distance), which settles most rows.
        const lo = r * k;
        const xo = i * d;
        ub = Math.sqrt(sqDist(x, xo, cs, old * d, d));
        if ((next[old] as number) >= ub || ub <= (second[r] as number) - maxDrift) {
          // Settled. The stored lower bound of its own centre stays as it was (older, so weaker, but
          // valid; it is only read if the row changes cluster): writing it would cost a cache line.
          upper[r] = ub - (drift[old] as number);
          continue;
        }
        lower[lo + old] = (ub + (drift[old] as number)) * SHRINK;
        // Elkan's per-centre bounds, with the new Hamerly bound (nearest other centre) on the way.
        let label = old;
        let lm = Infinity;
        for (let j = 0; j < k; j++) {
          if (j === label) continue;
          const lj = (lower[lo + j] as number) - (drift[j] as number);
          const h = half[label * k + j] as number;
          if (ub <= Math.max(h, lj)) {
            // d(x, cⱼ) ≥ 2·half − d(x, c_label) by the triangle inequality, and ≥ lj. (Math.max /
            // min compile to branch-free instructions: these comparisons are unpredictable.)
            lm = Math.min(lm, Math.max(2 * h - ub, lj));
            continue;
          }
          const dj = Math.sqrt(sqDist(x, xo, cs, j * d, d));
          lower[lo + j] = (dj + (drift[j] as number)) * SHRINK;
          if (dj < ub) {
            if (ub < lm) lm = ub;
            label = j;
            ub = dj;
          } else if (dj < lm) lm = dj;
        }
        upper[r] = ub - (drift[label] as number);
        second[r] = lm + maxDrift;
        if (label !== old) {
          labels[i] = label;
          changed++;
          if (update) {
            const a = so + old * d;
            const b = so + label * d;
            for (let j = 0; j < d; j++) {
              const v = x[xo + j] as number;
              sums[a + j] = (sums[a + j] as number) - v;
              sums[b + j] = (sums[b + j] as number) + v;
            }
            sums[so + kd + old] = (sums[so + kd + old] as number) - 1;
            sums[so + kd + label] = (sums[so + kd + label] as number) + 1;
          }
        }
      }
      if (update) {
        const o = (c0 / KMEANS_CHUNK) * stride;
        out.set(sums.subarray(so, so + w), o);
        out[o + w] = changed;
      }
    }
  }

  private inertia(cs: Float64Array): void {
    const { x, d, start, end } = this;
    const labels = this.bufs.labels;
    const out = this.bufs.out;
    for (let c0 = start; c0 < end; c0 += KMEANS_CHUNK) {
      const c1 = Math.min(end, c0 + KMEANS_CHUNK);
      let sum = 0;
      for (let i = c0; i < c1; i++) sum += sqDist(x, i * d, cs, (labels[i] as number) * d, d);
      out[c0 / KMEANS_CHUNK] = sum;
    }
  }
}

/** Runs a k-means program to the end with one executor per slice, on this thread. */
export function driveKMeans(program: Generator<KMeansRequest, KMeansFit, Float64Array>, executors: readonly KMeansSliceExecutor[], out: Float64Array): KMeansFit {
  let step = program.next(out);
  while (!step.done) {
    for (const e of executors) e.run(step.value);
    step = program.next(out);
  }
  return step.value;
}

/** Fits k-means on this thread (see the file comment; `fitKMeansParallel` gives the same result on all cores). */
export function fitKMeans(x: Matrix, opts: KMeansOptions): KMeansFit {
  const plan = kmeansPlan(x, opts);
  const bufs = kmeansBuffers(x.rows, x.cols, plan.k);
  const exec = new KMeansSliceExecutor(x, plan.k, bufs, 0, x.rows);
  return driveKMeans(kmeansProgram(x, plan, bufs), [exec], bufs.out);
}

/**
 * The k-means++ centres that run `run` of a fit with this seed starts from (k × cols): to start another
 * implementation from the same point (benchmarks), or to inspect the initialisation.
 */
export function kmeansPlusPlusCentres(x: Matrix, k: number, seed = 0, run = 0): Matrix {
  const plan = kmeansPlan(x, { k, seed, nInit: 1 });
  const bad = nonFiniteError(x);
  if (bad) throw bad;
  const bufs = kmeansBuffers(x.rows, x.cols, plan.k);
  const exec = new KMeansSliceExecutor(x, plan.k, bufs, 0, x.rows);
  const program = kmeansPlusPlus(x, bufs, plan.k, plan.seed, run);
  let step = program.next(bufs.out);
  while (!step.done) {
    exec.run(step.value);
    step = program.next(bufs.out);
  }
  return matrix(k, x.cols, step.value);
}

/** The nearest centre of each row (new rows scored with a fitted model; ties to the lower cluster). */
export function predictKMeans(centres: Matrix, x: Matrix): Int32Array {
  if (centres.cols !== x.cols) throw new InputError('bad_input', `the rows have ${x.cols} columns, the centres ${centres.cols}`);
  const { rows, cols: d, data } = x;
  const k = centres.rows;
  const cs = centres.data;
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const t = (data[i * d + j] as number) - (cs[c * d + j] as number);
        s += t * t;
      }
      if (s < bestD) {
        bestD = s;
        best = c;
      }
    }
    labels[i] = best;
  }
  return labels;
}

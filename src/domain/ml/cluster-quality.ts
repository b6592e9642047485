/**
 * How good a clustering is, with scikit-learn's definitions: silhouette (exact, or on a seeded sample
 * for large n), Davies-Bouldin, Calinski-Harabasz, the adjusted Rand index against known classes, and
 * `chooseK`, which fits a range of k and reports both the silhouette choice and the elbow of the
 * inertia curve, so that a UI can show the two side by side.
 *
 * Written here (not a library) because the domain core takes no numeric package and the formulas are
 * short; each follows `sklearn.metrics` so that its published values can be checked (REFERENCES.md).
 */
import { InputError } from '../errors.js';
import { stream } from '../random.js';
import { fitKMeans, type KMeansAlgorithm, type KMeansFit } from './kmeans.js';
import { takeRows, type FitProgress, type Matrix } from './types.js';

/** Rows above which `silhouetteScore` works on a sample by default (and the sample's size). */
export const SILHOUETTE_SAMPLE = 10_000;

/** Labels renumbered 0 … m-1 in order of first appearance of each present label, with m. */
function compact(labels: ArrayLike<number>): { codes: Int32Array; m: number } {
  const map = new Map<number, number>();
  const codes = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    let c = map.get(l);
    if (c === undefined) {
      c = map.size;
      map.set(l, c);
    }
    codes[i] = c;
  }
  return { codes, m: map.size };
}

function checkLabels(x: Matrix, labels: ArrayLike<number>, what: string): { codes: Int32Array; m: number } {
  if (labels.length !== x.rows) throw new InputError('bad_input', `${what}: ${labels.length} labels for ${x.rows} rows`);
  const c = compact(labels);
  if (c.m < 2 || c.m > x.rows - 1) throw new InputError('bad_input', `${what} needs 2 … n-1 clusters (n = ${x.rows}), got ${c.m}`);
  return c;
}

/**
 * Silhouette of each row: s = (b − a) / max(a, b), a the mean distance to the other rows of its
 * cluster, b the smallest mean distance to the rows of another cluster; 0 for a row alone in its
 * cluster (and where a = b = 0). O(n² · cols): for large n use `silhouetteScore`, which samples.
 */
export function silhouetteSamples(x: Matrix, labels: ArrayLike<number>): Float64Array {
  const { codes, m } = checkLabels(x, labels, 'silhouette');
  return silhouetteOf(x, codes, m);
}

function silhouetteOf(x: Matrix, codes: Int32Array, m: number): Float64Array {
  const { rows: n, cols: d, data } = x;
  // Per row, the sum of distances to the rows of each cluster; each pair computed once.
  const sums = new Float64Array(n * m);
  const counts = new Float64Array(m);
  for (let i = 0; i < n; i++) counts[codes[i] as number] = (counts[codes[i] as number] as number) + 1;
  for (let i = 0; i < n; i++) {
    const li = codes[i] as number;
    const io = i * d;
    for (let j = i + 1; j < n; j++) {
      const jo = j * d;
      let s = 0;
      for (let f = 0; f < d; f++) {
        const t = (data[io + f] as number) - (data[jo + f] as number);
        s += t * t;
      }
      const dist = Math.sqrt(s);
      sums[i * m + (codes[j] as number)] = (sums[i * m + (codes[j] as number)] as number) + dist;
      sums[j * m + li] = (sums[j * m + li] as number) + dist;
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const li = codes[i] as number;
    const own = counts[li] as number;
    if (own <= 1) continue;
    const a = (sums[i * m + li] as number) / (own - 1);
    let b = Infinity;
    for (let c = 0; c < m; c++) {
      if (c === li || (counts[c] as number) === 0) continue;
      const v = (sums[i * m + c] as number) / (counts[c] as number);
      if (v < b) b = v;
    }
    const den = Math.max(a, b);
    out[i] = den > 0 ? (b - a) / den : 0;
  }
  return out;
}

export interface SilhouetteOptions {
  /**
   * Rows above which the score is computed on a seeded random sample of this many rows, with a and b
   * measured within the sample (scikit-learn's `sample_size`). Default 10,000: 5·10⁷ pairs, about half
   * a second for 8 columns, and a standard error of the mean of a few thousandths.
   */
  sampleSize?: number;
  seed?: number;
}

export interface SilhouetteScore {
  score: number;
  /** Rows the score was computed on (n when exact). */
  rows: number;
  sampled: boolean;
}

/** Mean silhouette (exact up to `sampleSize` rows, sampled above; see `SilhouetteOptions`). */
export function silhouetteScore(x: Matrix, labels: ArrayLike<number>, opts: SilhouetteOptions = {}): SilhouetteScore {
  const sampleSize = opts.sampleSize ?? SILHOUETTE_SAMPLE;
  if (!Number.isInteger(sampleSize) || sampleSize < 2) throw new InputError('bad_option', `sampleSize must be an integer ≥ 2, got ${sampleSize}`, 'sampleSize');
  checkLabels(x, labels, 'silhouette');
  if (x.rows <= sampleSize) {
    const s = silhouetteSamples(x, labels);
    return { score: mean(s), rows: x.rows, sampled: false };
  }
  const idx = sampleIndices(x.rows, sampleSize, opts.seed ?? 0);
  const sub = takeRows(x, idx);
  const subLabels = Int32Array.from(idx, (i) => labels[i] as number);
  const { codes, m } = compact(subLabels);
  if (m < 2) return { score: 0, rows: sampleSize, sampled: true };
  return { score: mean(silhouetteOf(sub, codes, m)), rows: sampleSize, sampled: true };
}

/** `size` distinct row indices out of n, seeded (partial Fisher-Yates), in increasing order. */
export function sampleIndices(n: number, size: number, seed: number): Int32Array {
  const rng = stream(seed, 'silhouette sample');
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const t = all[i] as number;
    all[i] = all[j] as number;
    all[j] = t;
  }
  return all.slice(0, size).sort();
}

function mean(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] as number;
  return a.length ? s / a.length : 0;
}

/** Per-cluster means of x (m × cols) and sizes. */
function centroids(x: Matrix, codes: Int32Array, m: number): { c: Float64Array; n: Float64Array } {
  const { rows, cols: d, data } = x;
  const c = new Float64Array(m * d);
  const n = new Float64Array(m);
  for (let i = 0; i < rows; i++) {
    const l = codes[i] as number;
    n[l] = (n[l] as number) + 1;
    for (let f = 0; f < d; f++) c[l * d + f] = (c[l * d + f] as number) + (data[i * d + f] as number);
  }
  for (let l = 0; l < m; l++) for (let f = 0; f < d; f++) c[l * d + f] = (c[l * d + f] as number) / (n[l] as number);
  return { c, n };
}

/**
 * Davies-Bouldin index: the mean over clusters of the worst (sᵢ + sⱼ) / dᵢⱼ, s the mean distance of a
 * cluster's rows to its centroid, d the distance between centroids. Lower is better; 0 is best.
 */
export function daviesBouldin(x: Matrix, labels: ArrayLike<number>): number {
  const { codes, m } = checkLabels(x, labels, 'Davies-Bouldin');
  const { rows, cols: d, data } = x;
  const { c } = centroids(x, codes, m);
  const intra = new Float64Array(m);
  const n = new Float64Array(m);
  for (let i = 0; i < rows; i++) {
    const l = codes[i] as number;
    let s = 0;
    for (let f = 0; f < d; f++) {
      const t = (data[i * d + f] as number) - (c[l * d + f] as number);
      s += t * t;
    }
    intra[l] = (intra[l] as number) + Math.sqrt(s);
    n[l] = (n[l] as number) + 1;
  }
  for (let l = 0; l < m; l++) intra[l] = (intra[l] as number) / (n[l] as number);
  const between = (a: number, b: number): number => {
    let s = 0;
    for (let f = 0; f < d; f++) {
      const t = (c[a * d + f] as number) - (c[b * d + f] as number);
      s += t * t;
    }
    return Math.sqrt(s);
  };
  let allIntraZero = true;
  for (let l = 0; l < m; l++) if (Math.abs(intra[l] as number) > 1e-8) allIntraZero = false;
  if (allIntraZero) return 0;
  let total = 0;
  for (let a = 0; a < m; a++) {
    let worst = 0;
    for (let b = 0; b < m; b++) {
      if (a === b) continue;
      const dist = between(a, b);
      const r = dist === 0 ? 0 : ((intra[a] as number) + (intra[b] as number)) / dist;
      if (r > worst) worst = r;
    }
    total += worst;
  }
  return total / m;
}

/**
 * Calinski-Harabasz index (variance ratio): between-cluster dispersion / within-cluster dispersion,
 * each divided by its degrees of freedom (k − 1, n − k). Higher is better.
 */
export function calinskiHarabasz(x: Matrix, labels: ArrayLike<number>): number {
  const { codes, m } = checkLabels(x, labels, 'Calinski-Harabasz');
  const { rows, cols: d, data } = x;
  const { c, n } = centroids(x, codes, m);
  const overall = new Float64Array(d);
  for (let i = 0; i < rows; i++) for (let f = 0; f < d; f++) overall[f] = (overall[f] as number) + (data[i * d + f] as number);
  for (let f = 0; f < d; f++) overall[f] = (overall[f] as number) / rows;
  let extra = 0;
  for (let l = 0; l < m; l++) {
    let s = 0;
    for (let f = 0; f < d; f++) {
      const t = (c[l * d + f] as number) - (overall[f] as number);
      s += t * t;
    }
    extra += (n[l] as number) * s;
  }
  let intra = 0;
  for (let i = 0; i < rows; i++) {
    const l = codes[i] as number;
    for (let f = 0; f < d; f++) {
      const t = (data[i * d + f] as number) - (c[l * d + f] as number);
      intra += t * t;
    }
  }
  return intra === 0 ? 1 : (extra * (rows - m)) / (intra * (m - 1));
}

/**
 * Adjusted Rand index between two labellings (1 = identical partitions, about 0 for independent ones),
 * from the pair confusion matrix as scikit-learn computes it.
 */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InputError('bad_input', `adjusted Rand index: ${a.length} labels against ${b.length}`);
  const n = a.length;
  const ca = compact(a);
  const cb = compact(b);
  const table = new Float64Array(ca.m * cb.m);
  const na = new Float64Array(ca.m);
  const nb = new Float64Array(cb.m);
  for (let i = 0; i < n; i++) {
    const x = ca.codes[i] as number;
    const y = cb.codes[i] as number;
    table[x * cb.m + y] = (table[x * cb.m + y] as number) + 1;
    na[x] = (na[x] as number) + 1;
    nb[y] = (nb[y] as number) + 1;
  }
  let squares = 0;
  for (let i = 0; i < table.length; i++) squares += (table[i] as number) ** 2;
  let sa = 0;
  for (let i = 0; i < ca.m; i++) sa += (na[i] as number) ** 2;
  let sb = 0;
  for (let i = 0; i < cb.m; i++) sb += (nb[i] as number) ** 2;
  const tp = squares - n;
  const fp = sb - squares;
  const fn = sa - squares;
  const tn = n * n - fp - fn - squares;
  if (fn === 0 && fp === 0) return 1;
  return (2 * (tp * tn - fn * fp)) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

export interface ChooseKOptions {
  kMin?: number;
  kMax?: number;
  nInit?: number;
  maxIter?: number;
  tol?: number;
  algorithm?: KMeansAlgorithm | 'auto';
  seed?: number;
  /** See `SilhouetteOptions.sampleSize`; the same sample is used for every k. */
  silhouetteSampleSize?: number;
  /**
   * Scale of the inertia for the elbow (default 'log'). On a linear scale the chord rule leans to small
   * k when the curve flattens near kMax (measured on separated blobs: k = 7 of 2 … 9 read as 5); on a
   * log scale each step counts by its relative drop, and the true k of separated blobs is found.
   */
  elbowScale?: 'log' | 'linear';
  progress?: FitProgress;
}

export interface KScore {
  k: number;
  inertia: number;
  silhouette: number;
  daviesBouldin: number;
  calinskiHarabasz: number;
}

export interface ChooseKResult {
  /** One row per k, kMin … kMax. */
  scores: KScore[];
  /** The k of the highest silhouette (ties to the smaller k). */
  bestK: number;
  /**
   * The elbow of the inertia curve: the k farthest below the chord from the first to the last point,
   * both axes scaled to [0, 1], inertia on a log scale by default (`elbowScale`); null with fewer
   * than 3 values of k or a straight curve.
   */
  elbowK: number | null;
  /** Whether the silhouettes were computed on a sample (and of how many rows). */
  silhouetteRows: number;
  silhouetteSampled: boolean;
  /** The fit of each k, in the order of `scores`. */
  fits: KMeansFit[];
}

/** Fits k-means for every k in kMin … kMax (default 2 … 10, at most n − 1) and scores each. */
export function chooseK(x: Matrix, opts: ChooseKOptions = {}): ChooseKResult {
  const kMin = opts.kMin ?? 2;
  const kMax = Math.min(opts.kMax ?? 10, x.rows - 1);
  if (!Number.isInteger(kMin) || kMin < 2) throw new InputError('bad_option', `kMin must be an integer ≥ 2, got ${kMin}`, 'kMin');
  if (!Number.isInteger(kMax) || kMax < kMin) throw new InputError('bad_option', `kMax must be an integer between kMin = ${kMin} and n − 1 = ${x.rows - 1}, got ${opts.kMax ?? 10}`, 'kMax');
  const seed = opts.seed ?? 0;
  const sil: SilhouetteOptions = { seed };
  if (opts.silhouetteSampleSize !== undefined) sil.sampleSize = opts.silhouetteSampleSize;
  const scores: KScore[] = [];
  const fits: KMeansFit[] = [];
  let rows = x.rows;
  let sampled = false;
  for (let k = kMin; k <= kMax; k++) {
    opts.progress?.({ phase: 'fit', done: k - kMin, total: kMax - kMin + 1, detail: `k = ${k}` });
    const fit = fitKMeans(x, { k, nInit: opts.nInit, maxIter: opts.maxIter, tol: opts.tol, algorithm: opts.algorithm, seed });
    const s = silhouetteScore(x, fit.labels, sil);
    rows = s.rows;
    sampled = s.sampled;
    fits.push(fit);
    scores.push({ k, inertia: fit.inertia, silhouette: s.score, daviesBouldin: daviesBouldin(x, fit.labels), calinskiHarabasz: calinskiHarabasz(x, fit.labels) });
  }
  let bestK = kMin;
  let bestS = -Infinity;
  for (const s of scores) {
    if (s.silhouette > bestS) {
      bestS = s.silhouette;
      bestK = s.k;
    }
  }
  const inertias = scores.map((s) => s.inertia);
  const log = (opts.elbowScale ?? 'log') === 'log' && inertias.every((v) => v > 0);
  return { scores, bestK, elbowK: elbow(scores.map((s) => s.k), log ? inertias.map(Math.log) : inertias), silhouetteRows: rows, silhouetteSampled: sampled, fits };
}

/** The point farthest below the chord joining the first and last points, axes scaled to [0, 1]. */
export function elbow(ks: readonly number[], values: readonly number[]): number | null {
  if (ks.length < 3) return null;
  const k0 = ks[0] as number;
  const k1 = ks[ks.length - 1] as number;
  const v0 = values[0] as number;
  const v1 = values[values.length - 1] as number;
  if (k1 === k0 || v0 === v1) return null;
  let best: number | null = null;
  let bestD = 1e-12;
  for (let i = 1; i < ks.length - 1; i++) {
    const u = ((ks[i] as number) - k0) / (k1 - k0);
    const w = ((values[i] as number) - v1) / (v0 - v1);
    // Distance below the chord w = 1 − u (scaled by √2, which does not change the argmax).
    const below = 1 - u - w;
    if (below > bestD) {
      bestD = below;
      best = ks[i] as number;
    }
  }
  return best;
}

/**
 * Lookalikes: rank every profile by how much it resembles a seed set (a segment of best customers, the
 * buyers of a product) so a campaign can reach the most similar profiles outside the seed.
 *
 * Two methods:
 * - classifier (seed of at least `minSeedForClassifier` = 100 profiles): the seed are the positives,
 *   a seeded random sample of the other profiles (`negativesPerSeed` × seed, at least 1,000, at most
 *   200,000) the negatives, fitted with a `Learner` (GBT by default). Every profile is scored; the
 *   sampled "negatives" are unlabelled rather than known non-members (positive-unlabelled learning),
 *   which lowers the scores of hidden lookalikes among them a little but keeps the ranking.
 * - similarity (smaller seeds, where a classifier would learn the seed's noise): features are
 *   standardised over all profiles (missing → the mean), and a profile's score is the mean cosine
 *   similarity to its `k` most similar seed members (kNN, default k = 10), or to the seed's centroid.
 *   Cosine on standardised features compares the direction of a profile's deviation from the average
 *   profile: a profile "like the seed but less extreme" scores as high as an extreme one.
 *
 * Either way the seed itself is excluded from the ranking (score and percentile NaN): the answer is
 * "who else". Percentiles follow select.ts (share of the other non-seed profiles scoring strictly lower).
 */
import { InputError } from '../errors.js';
import { stream } from '../random.js';
import { gbt } from './gbt.js';
import { percentiles, topN, type Ranked } from './select.js';
import { matrix, takeRows, type BinaryClassifier, type FitProgress, type Learner, type Matrix } from './types.js';

export interface LookalikeOptions {
  seed?: number;
  /** 'auto' (default): classifier from `minSeedForClassifier` seed profiles on, similarity below. */
  method?: 'auto' | 'classifier' | 'similarity';
  /** Learner of the classifier method (default: GBT with its defaults). */
  learner?: Learner;
  /** Seed size from which 'auto' uses the classifier (default 100). */
  minSeedForClassifier?: number;
  /** Negatives sampled per seed profile (default 5; at least 1,000 and at most 200,000 in all). */
  negativesPerSeed?: number;
  /** Similarity: 'knn' (default) or 'centroid'. */
  similarity?: 'knn' | 'centroid';
  /** Neighbours of the kNN similarity (default 10, at most the seed size). */
  k?: number;
  /** How many of the best profiles to return in `top` (default 100). */
  top?: number;
  progress?: FitProgress;
}

export const LOOKALIKE_DEFAULTS = {
  minSeedForClassifier: 100,
  negativesPerSeed: 5,
  minNegatives: 1_000,
  maxNegatives: 200_000,
  k: 10,
  top: 100,
} as const;

export interface LookalikeResult {
  method: 'classifier' | 'similarity';
  /** One score per profile (probability for the classifier, cosine similarity otherwise); NaN for the seed. */
  scores: Float64Array;
  /** Percentile 0 ≤ p < 100 of each score among the non-seed profiles; NaN for the seed. */
  percentiles: Float64Array;
  /** The best `top` non-seed profiles, best first. */
  top: Ranked[];
  seedSize: number;
  /** Negatives sampled (classifier only, else 0). */
  negatives: number;
  /** The fitted classifier (classifier only): its importance() says what makes the seed distinct. */
  model?: BinaryClassifier;
}

/** Ranks every profile (row of x) by similarity to the seed rows. */
export function lookalike(x: Matrix, seedRows: ArrayLike<number>, opts: LookalikeOptions = {}): LookalikeResult {
  const n = x.rows;
  const isSeed = new Uint8Array(n);
  let seedSize = 0;
  for (let k = 0; k < seedRows.length; k++) {
    const i = seedRows[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new InputError('bad_input', `seed row ${i} is not a row of the matrix (${n} rows)`);
    if (!isSeed[i]) seedSize++;
    isSeed[i] = 1;
  }
  if (seedSize === 0) throw new InputError('insufficient_data', 'the seed is empty: a lookalike needs at least one seed profile');
  if (seedSize === n) throw new InputError('insufficient_data', 'every profile is in the seed: there is nobody left to rank');
  const minSeed = opts.minSeedForClassifier ?? LOOKALIKE_DEFAULTS.minSeedForClassifier;
  const top = opts.top ?? LOOKALIKE_DEFAULTS.top;
  if (!Number.isInteger(top) || top < 0) throw new InputError('bad_option', `top must be a whole number ≥ 0, got ${top}`);
  const method = opts.method ?? 'auto';
  const useClassifier = method === 'classifier' || (method === 'auto' && seedSize >= minSeed);
  let scores: Float64Array;
  let negatives = 0;
  let model: BinaryClassifier | undefined;
  if (useClassifier) {
    const r = classifierScores(x, isSeed, seedSize, opts);
    scores = r.scores;
    negatives = r.negatives;
    model = r.model;
  } else {
    scores = similarityScores(x, isSeed, seedSize, opts);
  }
  for (let i = 0; i < n; i++) if (isSeed[i]) scores[i] = Number.NaN;
  const pct = percentiles(scores);
  const result: LookalikeResult = {
    method: useClassifier ? 'classifier' : 'similarity',
    scores,
    percentiles: pct,
    top: topN(scores, top, pct),
    seedSize,
    negatives,
  };
  if (model) result.model = model;
  return result;
}

function classifierScores(x: Matrix, isSeed: Uint8Array, seedSize: number, opts: LookalikeOptions): { scores: Float64Array; negatives: number; model: BinaryClassifier } {
  const n = x.rows;
  const rest = n - seedSize;
  const ratio = opts.negativesPerSeed ?? LOOKALIKE_DEFAULTS.negativesPerSeed;
  if (!(ratio > 0)) throw new InputError('bad_option', `negativesPerSeed must be > 0, got ${ratio}`);
  const want = Math.min(rest, LOOKALIKE_DEFAULTS.maxNegatives, Math.max(LOOKALIKE_DEFAULTS.minNegatives, Math.round(ratio * seedSize)));
  // Seeded sample without replacement of the non-seed rows (partial Fisher–Yates over their indices).
  const others = new Uint32Array(rest);
  let m = 0;
  for (let i = 0; i < n; i++) if (!isSeed[i]) others[m++] = i;
  const rng = stream(opts.seed ?? 0, 'lookalike-negatives');
  for (let k = 0; k < want; k++) {
    const j = k + Math.floor(rng() * (rest - k));
    const t = others[k] as number;
    others[k] = others[j] as number;
    others[j] = t;
  }
  const negs = others.subarray(0, want).sort();
  const idx = new Uint32Array(seedSize + want);
  let q = 0;
  for (let i = 0; i < n; i++) if (isSeed[i]) idx[q++] = i;
  idx.set(negs, q);
  const y = new Uint8Array(idx.length);
  y.fill(1, 0, seedSize);
  const learner = opts.learner ?? gbt;
  const fitOpts: { seed: number; progress?: FitProgress } = { seed: opts.seed ?? 0 };
  if (opts.progress) fitOpts.progress = opts.progress;
  const model = learner(takeRows(x, idx), y, fitOpts);
  opts.progress?.({ phase: 'score', done: 0, total: n, detail: `scoring ${n.toLocaleString('en-US')} profiles` });
  const scores = model.predict(x);
  opts.progress?.({ phase: 'score', done: n, total: n, detail: `scoring ${n.toLocaleString('en-US')} profiles` });
  return { scores, negatives: want, model };
}

/** Standardised copy of x: (v − mean) / sd per column, missing → 0, constant columns → 0. */
export function standardise(x: Matrix): Matrix {
  const { rows: n, cols: p, data } = x;
  const out = matrix(n, p);
  const z = out.data;
  for (let j = 0; j < p; j++) {
    let s = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i * p + j] as number;
      if (v === v) {
        s += v;
        c++;
      }
    }
    const mean = c > 0 ? s / c : 0;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i * p + j] as number;
      if (v === v) ss += (v - mean) ** 2;
    }
    const sd = c > 0 ? Math.sqrt(ss / c) : 0;
    const inv = sd > 1e-12 * Math.max(1, Math.abs(mean)) ? 1 / sd : 0;
    for (let i = 0; i < n; i++) {
      const v = data[i * p + j] as number;
      z[i * p + j] = v === v ? (v - mean) * inv : 0;
    }
  }
  return out;
}

function similarityScores(x: Matrix, isSeed: Uint8Array, seedSize: number, opts: LookalikeOptions): Float64Array {
  const n = x.rows;
  const p = x.cols;
  const kind = opts.similarity ?? 'knn';
  const kOpt = opts.k ?? LOOKALIKE_DEFAULTS.k;
  if (!Number.isInteger(kOpt) || kOpt < 1) throw new InputError('bad_option', `k must be a whole number ≥ 1, got ${kOpt}`);
  const z = standardise(x).data;
  // Unit vectors of the seed (a seed profile at the exact average has no direction and is skipped).
  const unit = (base: number, out: Float64Array, at: number): boolean => {
    let s = 0;
    for (let j = 0; j < p; j++) s += (z[base + j] as number) ** 2;
    if (!(s > 0)) return false;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < p; j++) out[at + j] = (z[base + j] as number) * inv;
    return true;
  };
  let refs: Float64Array;
  let nRefs = 0;
  if (kind === 'centroid') {
    const c = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      if (!isSeed[i]) continue;
      for (let j = 0; j < p; j++) c[j] = (c[j] as number) + (z[i * p + j] as number) / seedSize;
    }
    refs = new Float64Array(p);
    let s = 0;
    for (let j = 0; j < p; j++) s += (c[j] as number) ** 2;
    if (s > 0) {
      for (let j = 0; j < p; j++) refs[j] = (c[j] as number) / Math.sqrt(s);
      nRefs = 1;
    }
  } else {
    refs = new Float64Array(seedSize * p);
    for (let i = 0; i < n; i++) if (isSeed[i] && unit(i * p, refs, nRefs * p)) nRefs++;
  }
  const scores = new Float64Array(n);
  if (nRefs === 0) {
    throw new InputError('insufficient_data', 'every seed profile sits at the population average of every feature: there is no direction to compare with');
  }
  const k = Math.min(kOpt, nRefs);
  const best = new Float64Array(k);
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    if (isSeed[i]) continue;
    if (!unit(i * p, row, 0)) {
      scores[i] = 0; // the average profile: orthogonal to every direction
      continue;
    }
    // The k largest similarities, kept sorted descending in `best` (k is small).
    best.fill(-Infinity);
    for (let r = 0; r < nRefs; r++) {
      let dot = 0;
      const b = r * p;
      for (let j = 0; j < p; j++) dot += (row[j] as number) * (refs[b + j] as number);
      if (dot > (best[k - 1] as number)) {
        let pos = k - 1;
        while (pos > 0 && dot > (best[pos - 1] as number)) {
          best[pos] = best[pos - 1] as number;
          pos--;
        }
        best[pos] = dot;
      }
    }
    let s = 0;
    for (let t = 0; t < k; t++) s += best[t] as number;
    scores[i] = s / k;
    if (opts.progress && i % 100_000 === 0) opts.progress({ phase: 'score', done: i, total: n, detail: 'similarity to the seed' });
  }
  return scores;
}

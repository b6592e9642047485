/**
 * Reading scores as ranks: the percentile of each score within the scored population and the top N
 * rows. Shared by the propensity / churn outputs (a percentile trait per profile, as Segment's
 * predictions publish) and by lookalikes.
 *
 * Percentiles use the tie-consistent reading of the behavioural library (behavioural/scores.ts):
 * percentile = 100 × (number of scored values strictly below) / (number scored). Two profiles with the
 * same score always get the same percentile, the result does not depend on the row order, and
 * "percentile ≥ 90" reads as "scores higher than at least 90 % of the scored profiles". NaN scores are
 * "not scored" (e.g. the seed of a lookalike): they get a NaN percentile and are not counted.
 */
import { countBelow } from '../behavioural/scores.js';

/** Percentile 0 ≤ p < 100 of each score among the non-NaN scores; NaN in, NaN out. */
export function percentiles(scores: ArrayLike<number>): Float64Array {
  const n = scores.length;
  const out = new Float64Array(n).fill(Number.NaN);
  let m = 0;
  for (let i = 0; i < n; i++) if (!Number.isNaN(scores[i] as number)) m++;
  if (m === 0) return out;
  const idx = new Uint32Array(m);
  const vals = new Float64Array(m);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = scores[i] as number;
    if (Number.isNaN(v)) continue;
    idx[k] = i;
    vals[k++] = v;
  }
  const below = countBelow(vals);
  for (let j = 0; j < m; j++) out[idx[j] as number] = (100 * (below[j] as number)) / m;
  return out;
}

/** One ranked row: its index in the scored matrix, its score and its percentile. */
export interface Ranked {
  index: number;
  score: number;
  percentile: number;
}

/**
 * The n highest non-NaN scores, best first (equal scores by ascending row index, so the order is
 * reproducible). `pct` are the percentiles (computed when not given).
 */
export function topN(scores: ArrayLike<number>, n: number, pct?: ArrayLike<number>): Ranked[] {
  const p = pct ?? percentiles(scores);
  const cand: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!Number.isNaN(scores[i] as number)) cand.push(i);
  const k = Math.max(0, Math.min(Math.floor(n), cand.length));
  if (k === 0) return [];
  const better = (a: number, b: number): number => (scores[b] as number) - (scores[a] as number) || a - b;
  let chosen: number[];
  if (k * 20 < cand.length) {
    // A bounded min-heap of the best k keeps "top 100 of 1M" at O(n log k) instead of a full sort.
    const heap: number[] = [];
    const worse = (a: number, b: number): boolean => better(a, b) > 0; // a ranks after b
    const down = (i: number): void => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < heap.length && worse(heap[l] as number, heap[w] as number)) w = l;
        if (r < heap.length && worse(heap[r] as number, heap[w] as number)) w = r;
        if (w === i) return;
        const t = heap[i] as number;
        heap[i] = heap[w] as number;
        heap[w] = t;
        i = w;
      }
    };
    for (const i of cand) {
      if (heap.length < k) {
        heap.push(i);
        for (let c = heap.length - 1; c > 0;) {
          const parent = (c - 1) >> 1;
          if (!worse(heap[c] as number, heap[parent] as number)) break;
          const t = heap[c] as number;
          heap[c] = heap[parent] as number;
          heap[parent] = t;
          c = parent;
        }
      } else if (worse(heap[0] as number, i)) {
        heap[0] = i;
        down(0);
      }
    }
    chosen = heap.sort(better);
  } else {
    chosen = cand.sort(better).slice(0, k);
  }
  return chosen.map((i) => ({ index: i, score: scores[i] as number, percentile: p[i] as number }));
}

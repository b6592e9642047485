/**
 * Rank scores for behavioural models: the 1..k score of a value among all scored values.
 *
 * A score says what share of the others a customer beats: score = 1 + floor(k · below / n), where
 * `below` counts the values strictly worse. Ties always share a score (two customers with the same
 * number of orders never land in different quintiles, as they do with rank-and-cut methods that break
 * ties by row order), the result does not depend on the input order, and a score of 5 of 5 reads as
 * "better than at least 80 % of the scored customers". The price of tie-consistency: with many equal
 * values (most customers bought once) a score can stay empty; docs/behavioural.md shows it.
 */

import { radixOrder } from '../radix.js';

export type Orientation = 'higher_is_better' | 'lower_is_better';

/**
 * For each value, how many values are strictly smaller (ties share a count): the core of the rank
 * scores here and of the percentile cuts of percentiles.ts. NaN values are not allowed; -0 ties with 0.
 *
 * Not a sort with a comparator (an index array sorted with a closure was most of RFM's, micro's and
 * usage's classification time): from 4096 values the radix order of ../radix.ts, below that a typed
 * array's own sort and a binary search per value.
 */
export function countBelow(values: ArrayLike<number>): Uint32Array {
  const n = values.length;
  for (let i = 0; i < n; i++) if (Number.isNaN(values[i] as number)) throw new RangeError(`value ${i} is not a number`);
  return n >= RADIX_FROM ? countBelowRadix(values) : countBelowSearch(values);
}

/** From this many values the radix sort's four passes over 65536 buckets pay off. */
export const RADIX_FROM = 4096;

/** Sorted copy and a binary search per value (the first position holding a value not below it). */
export function countBelowSearch(values: ArrayLike<number>): Uint32Array {
  const n = values.length;
  const sorted = Float64Array.from(values);
  sorted.sort();
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) < v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = lo;
  }
  return out;
}

/** The radix order (../radix.ts), then equal keys share their start. */
export function countBelowRadix(values: ArrayLike<number>): Uint32Array {
  const { order, hi, lo } = radixOrder(values);
  const out = new Uint32Array(values.length);
  let start = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if (k > 0) {
      const p = order[k - 1] as number;
      if (hi[i] !== hi[p] || lo[i] !== lo[p]) start = k;
    }
    out[i] = start;
  }
  return out;
}

/** Scores 1..k for each value (same order as the input); NaN values are not allowed. */
export function rankScores(values: ArrayLike<number>, k: number, orientation: Orientation): Uint8Array {
  if (!Number.isInteger(k) || k < 2 || k > 10) throw new RangeError(`a score scale needs 2 to 10 levels, got ${k}`);
  const n = values.length;
  // "Worse" is smaller when higher is better; with lower better, negating turns it into the same count.
  const below = countBelow(orientation === 'higher_is_better' ? values : Float64Array.from(values as ArrayLike<number>, (v) => -v));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = 1 + Math.floor((k * (below[i] as number)) / n);
  return out;
}

/** How many values got each score: index s − 1 holds the count of score s. */
export function scoreCounts(scores: ArrayLike<number>, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    counts[s - 1] = (counts[s - 1] ?? 0) + 1;
  }
  return counts;
}

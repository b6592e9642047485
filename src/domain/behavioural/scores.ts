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

export type Orientation = 'higher_is_better' | 'lower_is_better';

/**
 * For each value, how many values are strictly smaller (ties share a count): the core of the rank
 * scores here and of the percentile cuts of percentiles.ts. NaN values are not allowed; -0 ties with 0.
 *
 * Written here rather than with a sort and a comparator (an index array sorted with a closure was most
 * of RFM's, micro's and usage's classification time): from 4096 values a radix sort of the values' bit
 * patterns, below that a typed array's own sort and a binary search per value.
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

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * LSD radix sort of the values as 64-bit keys that order like the numbers (sign bit flipped for
 * positives, every bit for negatives; -0 read as 0), 16 bits a pass, passes whose digit is the same for
 * every value skipped (whole numbers share their low bits). Then equal keys share their start.
 */
export function countBelowRadix(values: ArrayLike<number>): Uint32Array {
  const n = values.length;
  const hi = new Uint32Array(n), lo = new Uint32Array(n);
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  const [H, L] = LITTLE_ENDIAN ? [1, 0] : [0, 1];
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    f[0] = v === 0 ? 0 : v;
    let h = u[H] as number, l = u[L] as number;
    if (h & 0x80000000) { h = ~h >>> 0; l = ~l >>> 0; } else h = (h | 0x80000000) >>> 0;
    hi[i] = h;
    lo[i] = l;
  }
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const words = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    count.fill(0);
    for (let i = 0; i < n; i++) (count[((words[i] as number) >>> shift) & 0xffff] as number)++;
    if (count[((words[0] as number) >>> shift) & 0xffff] === n) continue; // one digit for all
    let sum = 0;
    for (let d = 0; d < 65536; d++) { const c = count[d] as number; count[d] = sum; sum += c; }
    for (let k = 0; k < n; k++) {
      const i = order[k] as number;
      const d = ((words[i] as number) >>> shift) & 0xffff;
      next[count[d] as number] = i;
      count[d] = (count[d] as number) + 1;
    }
    [order, next] = [next, order];
  }
  const out = new Uint32Array(n);
  let start = 0;
  for (let k = 0; k < n; k++) {
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

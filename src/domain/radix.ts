/**
 * Stable ascending order of numbers by an LSD radix sort of their bits: the kernel behind the rank
 * scores (behavioural/scores.ts) and the uplift curves' ranking (ml/uplift-metrics.ts).
 *
 * Why our own: sorting an index array with a comparator costs a callback per comparison (~0.45 s at
 * 1M rows, 20–25 ms at 100k). Here each float's 64 bits become an unsigned key in numeric order (every
 * bit flipped for negatives, the sign bit set for the others; −0 read as 0), sorted 16 bits a pass,
 * skipping passes where every value has the same digit (whole numbers share their low bits): ~0.08 s at
 * 1M rows, and stable by construction. NaN is not allowed (callers check).
 */

/** Whether typed arrays store the low 32-bit word of a float64 first (all platforms Node runs on today). */
export const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export interface RadixOrder {
  /** Row indices, values ascending, equal values in row order. */
  order: Uint32Array;
  /** Each row's key (high and low words): equal keys are equal values. */
  hi: Uint32Array;
  lo: Uint32Array;
}

export function radixOrder(values: ArrayLike<number>): RadixOrder {
  const n = values.length;
  const f = new Float64Array(1);
  const words = new Uint32Array(f.buffer);
  const [H, L] = LITTLE_ENDIAN ? [1, 0] : [0, 1];
  const hi = new Uint32Array(n), lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    f[0] = v === 0 ? 0 : v;
    let h = words[H] as number, l = words[L] as number;
    if (h & 0x80000000) { h = ~h >>> 0; l = ~l >>> 0; } else h = (h | 0x80000000) >>> 0;
    hi[i] = h;
    lo[i] = l;
  }
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (const key of [lo, hi]) {
    for (let shift = 0; shift < 32; shift += 16) {
      count.fill(0);
      for (let i = 0; i < n; i++) (count[((key[i] as number) >>> shift) & 0xffff] as number)++;
      if (n === 0 || count[((key[0] as number) >>> shift) & 0xffff] === n) continue; // one digit for all
      for (let d = 0, pos = 0; d < 65536; d++) { const c = count[d] as number; count[d] = pos; pos += c; }
      for (let k = 0; k < n; k++) {
        const i = order[k] as number;
        const d = ((key[i] as number) >>> shift) & 0xffff;
        next[count[d] as number] = i;
        count[d] = (count[d] as number) + 1;
      }
      [order, next] = [next, order];
    }
  }
  return { order, hi, lo };
}

/**
 * Binary decision trees on the log-odds scale, as the gradient-boosted model (gbt.ts) grows them: flat
 * typed arrays per tree (a million predictions walk them without allocating), prediction, the JSON
 * form for the model registry, and exact TreeSHAP contributions.
 *
 * TreeSHAP is Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree
 * ensembles", algorithm 2 (path-dependent), transcribed from the paper and the reference C++ of the
 * `shap` package (tree_shap_recursive / extend_path / unwind_path / unwound_path_sum). It gives the
 * exact Shapley values of the conditional expectation E[f(x) | x_S] that algorithm 1 defines (a feature
 * outside S follows both branches weighted by training cover), in O(leaves · depth²) per tree instead
 * of O(2^features). The values of a row add up exactly (to rounding): base + Σ φ = margin, where base
 * is the cover-weighted mean margin of the training rows. test/ml/classifiers-shap.test.ts checks both
 * properties against a brute-force Shapley sum over all feature subsets.
 */
import { InputError } from '../errors.js';
import type { Matrix } from './types.js';

/** One fitted tree. Node 0 is the root; a leaf has feature −1. */
export interface Tree {
  /** Split feature, −1 at a leaf. */
  readonly feature: Int32Array;
  /** A row goes left when x[feature] ≤ threshold (+Infinity: every non-missing value goes left). */
  readonly threshold: Float64Array;
  /** Where a missing (NaN) value goes: 1 left, 0 right. */
  readonly nanLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf value on the log-odds scale, learning rate included (0 at internal nodes). */
  readonly value: Float64Array;
  /** Training weight that reached the node (the row count when unweighted). */
  readonly cover: Float64Array;
  /** Loss reduction of the split (0 at leaves), for gain importance. */
  readonly gain: Float64Array;
}

/** Edges from the root to the deepest leaf. */
export function treeDepth(t: Tree): number {
  let max = 0;
  const walk = (n: number, d: number): void => {
    if ((t.feature[n] as number) < 0) {
      if (d > max) max = d;
      return;
    }
    walk(t.left[n] as number, d + 1);
    walk(t.right[n] as number, d + 1);
  };
  walk(0, 0);
  return max;
}

/** The leaf row `base` of `data` falls into. */
export function leafOf(t: Tree, data: Float64Array, base: number): number {
  const feature = t.feature;
  let n = 0;
  for (;;) {
    const f = feature[n] as number;
    if (f < 0) return n;
    const v = data[base + f] as number;
    const goLeft = v === v ? v <= (t.threshold[n] as number) : (t.nanLeft[n] as number) === 1;
    n = goLeft ? (t.left[n] as number) : (t.right[n] as number);
  }
}

/** The cover-weighted mean of the tree's leaf values: E[tree(x)] over the training rows. */
export function treeExpectation(t: Tree): number {
  let s = 0;
  const root = t.cover[0] as number;
  if (!(root > 0)) return 0;
  for (let n = 0; n < t.feature.length; n++) if ((t.feature[n] as number) < 0) s += (t.value[n] as number) * (t.cover[n] as number);
  return s / root;
}

/** Adds each tree's value for every row of x to `out` (length x.rows). */
export function addTreeMargins(trees: readonly Tree[], x: Matrix, out: Float64Array): void {
  const data = x.data;
  for (let i = 0; i < x.rows; i++) {
    const base = i * x.cols;
    let s = out[i] as number;
    for (const t of trees) s += t.value[leafOf(t, data, base)] as number;
    out[i] = s;
  }
}

/**
 * Scratch space of TreeSHAP's paths: each recursion level owns a slice of at most depth + 2 path
 * elements (feature, zero fraction, one fraction, permutation weight), laid out one after the other.
 */
class PathBuffer {
  readonly feat: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly pw: Float64Array;
  constructor(readonly depth: number) {
    const size = ((depth + 3) * (depth + 4)) / 2 + 2;
    this.feat = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.pw = new Float64Array(size);
  }
}

/**
 * 1 / k for small k: the path recurrences divide by small integers in their innermost loops, and a
 * multiplication by a table entry is several times cheaper than a division.
 */
const INV = Float64Array.from({ length: 260 }, (_, k) => (k === 0 ? 0 : 1 / k));
/** Deepest tree supported (the path length stays within INV). */
export const MAX_DEPTH = 250;

// EXTEND: add a feature with the fractions of the paths that do not (zero) / do (one) include it.
function extendPath(buf: PathBuffer, off: number, ud: number, zf: number, of: number, fi: number): void {
  const { feat, zero, one, pw } = buf;
  feat[off + ud] = fi;
  zero[off + ud] = zf;
  one[off + ud] = of;
  pw[off + ud] = ud === 0 ? 1 : 0;
  const invC = INV[ud + 1] as number;
  for (let i = ud - 1; i >= 0; i--) {
    pw[off + i + 1] = (pw[off + i + 1] as number) + of * (pw[off + i] as number) * (i + 1) * invC;
    pw[off + i] = zf * (pw[off + i] as number) * (ud - i) * invC;
  }
}

// UNWIND: undo EXTEND of element pi (a feature met again lower on the path).
function unwindPath(buf: PathBuffer, off: number, ud: number, pi: number): void {
  const { feat, zero, one, pw } = buf;
  const of = one[off + pi] as number;
  const zf = zero[off + pi] as number;
  let next = pw[off + ud] as number;
  for (let i = ud - 1; i >= 0; i--) {
    if (of !== 0) {
      const tmp = pw[off + i] as number;
      pw[off + i] = (next * (ud + 1)) / ((i + 1) * of);
      next = tmp - ((pw[off + i] as number) * zf * (ud - i)) / (ud + 1);
    } else {
      pw[off + i] = ((pw[off + i] as number) * (ud + 1)) / (zf * (ud - i));
    }
  }
  for (let i = pi; i < ud; i++) {
    feat[off + i] = feat[off + i + 1] as number;
    zero[off + i] = zero[off + i + 1] as number;
    one[off + i] = one[off + i + 1] as number;
  }
}

// The total permutation weight of the path with element pi unwound (without modifying it).
function unwoundPathSum(buf: PathBuffer, off: number, ud: number, pi: number): number {
  const { zero, one, pw } = buf;
  const of = one[off + pi] as number;
  const zf = zero[off + pi] as number;
  let next = pw[off + ud] as number;
  let total = 0;
  const c = ud + 1;
  const invC = INV[c] as number;
  if (of !== 0) {
    const a = c / of;
    const b = zf * invC;
    for (let i = ud - 1; i >= 0; i--) {
      const tmp = next * a * (INV[i + 1] as number);
      total += tmp;
      next = (pw[off + i] as number) - tmp * b * (ud - i);
    }
  } else if (zf !== 0) {
    const a = c / zf;
    for (let i = ud - 1; i >= 0; i--) total += (pw[off + i] as number) * a * (INV[ud - i] as number);
  }
  return total;
}

/**
 * RECURSE of algorithm 2 at `node`: `ud` is the length of the unique path so far, the parent's path
 * starts at `parentOff`, and (pz, po, pf) is the element the parent's split adds.
 */
function shapRecurse(t: Tree, data: Float64Array, base: number, phi: Float64Array, buf: PathBuffer, node: number, ud: number, parentOff: number, pz: number, po: number, pf: number): void {
  const { feat, zero, one, pw } = buf;
  const off = parentOff + ud + 1;
  for (let i = 0; i < ud; i++) {
    feat[off + i] = feat[parentOff + i] as number;
    zero[off + i] = zero[parentOff + i] as number;
    one[off + i] = one[parentOff + i] as number;
    pw[off + i] = pw[parentOff + i] as number;
  }
  extendPath(buf, off, ud, pz, po, pf);
  const f = t.feature[node] as number;
  if (f < 0) {
    const v = t.value[node] as number;
    for (let i = 1; i <= ud; i++) {
      const w = unwoundPathSum(buf, off, ud, i);
      const fi = feat[off + i] as number;
      phi[fi] = (phi[fi] as number) + w * ((one[off + i] as number) - (zero[off + i] as number)) * v;
    }
    return;
  }
  const x = data[base + f] as number;
  const goLeft = x === x ? x <= (t.threshold[node] as number) : (t.nanLeft[node] as number) === 1;
  const hot = goLeft ? (t.left[node] as number) : (t.right[node] as number);
  const cold = goLeft ? (t.right[node] as number) : (t.left[node] as number);
  const w = t.cover[node] as number;
  const hotZero = (t.cover[hot] as number) / w;
  const coldZero = (t.cover[cold] as number) / w;
  let iz = 1;
  let io = 1;
  // A feature already on the path: undo its earlier split so each feature appears once.
  let pi = 0;
  for (; pi <= ud; pi++) if ((feat[off + pi] as number) === f) break;
  if (pi !== ud + 1) {
    iz = zero[off + pi] as number;
    io = one[off + pi] as number;
    unwindPath(buf, off, ud, pi);
    ud -= 1;
  }
  // A branch with zero fractions on both sides carries no permutation weight (a zero-cover child, from
  // zero-weight rows): skipping it avoids 0 / 0 in a later unwind.
  if (hotZero * iz !== 0 || io !== 0) shapRecurse(t, data, base, phi, buf, hot, ud + 1, off, hotZero * iz, io, f);
  if (coldZero * iz !== 0) shapRecurse(t, data, base, phi, buf, cold, ud + 1, off, coldZero * iz, 0, f);
}

/**
 * Adds tree t's SHAP values for the row at `data[base..]` into phi (Lundberg et al. 2018, algorithm 2).
 * `buf` must have been made for a depth ≥ treeDepth(t).
 */
function treeShap(t: Tree, data: Float64Array, base: number, phi: Float64Array, buf: PathBuffer): void {
  if (!((t.cover[0] as number) > 0)) return;
  shapRecurse(t, data, base, phi, buf, 0, 0, 0, 1, 1, -1);
}

/** A boosted ensemble: margin(x) = init + Σ trees. */
export class TreeEnsemble {
  private readonly buffer: PathBuffer;
  private base: number | undefined;
  constructor(
    readonly cols: number,
    readonly init: number,
    readonly trees: readonly Tree[],
  ) {
    let d = 0;
    for (const t of trees) d = Math.max(d, treeDepth(t));
    if (d > MAX_DEPTH) throw new InputError('bad_model', `a tree is ${d} levels deep; at most ${MAX_DEPTH} are supported`);
    this.buffer = new PathBuffer(d);
  }

  margin(x: Matrix): Float64Array {
    const out = new Float64Array(x.rows).fill(this.init);
    addTreeMargins(this.trees, x, out);
    return out;
  }

  /** The mean margin over the training rows (the SHAP base value). */
  expectedValue(): number {
    if (this.base === undefined) {
      let s = this.init;
      for (const t of this.trees) s += treeExpectation(t);
      this.base = s;
    }
    return this.base;
  }

  /** Exact TreeSHAP values of one row, on the log-odds scale. */
  shap(x: Matrix, row: number): { base: number; values: Float64Array } {
    if (x.cols !== this.cols) throw new InputError('bad_input', `the model was fitted on ${this.cols} columns, the matrix has ${x.cols}`);
    if (!Number.isInteger(row) || row < 0 || row >= x.rows) throw new InputError('bad_input', `row ${row} is outside the matrix (${x.rows} rows)`);
    const phi = new Float64Array(this.cols);
    for (const t of this.trees) treeShap(t, x.data, row * x.cols, phi, this.buffer);
    return { base: this.expectedValue(), values: phi };
  }

  /** Total split gain per feature (unnormalised). */
  gainByFeature(): Float64Array {
    const out = new Float64Array(this.cols);
    for (const t of this.trees) {
      for (let n = 0; n < t.feature.length; n++) {
        const f = t.feature[n] as number;
        if (f >= 0) out[f] = (out[f] as number) + (t.gain[n] as number);
      }
    }
    return out;
  }
}

/** JSON has no Infinity / NaN: non-finite thresholds travel as strings. */
export type JsonNumber = number | 'Infinity' | '-Infinity' | 'NaN';
export function encodeNumber(v: number): JsonNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}
export function decodeNumber(v: JsonNumber): number {
  return typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number.NaN;
}

export interface TreeJson {
  feature: number[];
  threshold: JsonNumber[];
  nanLeft: number[];
  left: number[];
  right: number[];
  value: number[];
  cover: number[];
  gain: number[];
}

export function treeToJson(t: Tree): TreeJson {
  return {
    feature: Array.from(t.feature),
    threshold: Array.from(t.threshold, encodeNumber),
    nanLeft: Array.from(t.nanLeft),
    left: Array.from(t.left),
    right: Array.from(t.right),
    value: Array.from(t.value),
    cover: Array.from(t.cover),
    gain: Array.from(t.gain),
  };
}

/** A tree from its JSON form, checked: consistent sizes, children in range, no cycle, features < cols. */
export function treeFromJson(j: TreeJson, cols: number): Tree {
  const m = j.feature.length;
  for (const [name, arr] of Object.entries(j)) {
    if ((arr as unknown[]).length !== m) throw new InputError('bad_model', `stored tree: ${name} has ${(arr as unknown[]).length} entries, feature has ${m}`);
  }
  if (m === 0) throw new InputError('bad_model', 'stored tree has no node');
  const t: Tree = {
    feature: Int32Array.from(j.feature),
    threshold: Float64Array.from(j.threshold, decodeNumber),
    nanLeft: Uint8Array.from(j.nanLeft),
    left: Int32Array.from(j.left),
    right: Int32Array.from(j.right),
    value: Float64Array.from(j.value),
    cover: Float64Array.from(j.cover),
    gain: Float64Array.from(j.gain),
  };
  // Every node reached once from the root, children after their parent: no cycle, no sharing.
  const seen = new Uint8Array(m);
  const stack = [0];
  while (stack.length) {
    const n = stack.pop() as number;
    if (seen[n]) throw new InputError('bad_model', `stored tree: node ${n} is reached twice`);
    seen[n] = 1;
    const f = t.feature[n] as number;
    if (f >= cols) throw new InputError('bad_model', `stored tree: node ${n} splits on column ${f}, the model has ${cols}`);
    if (f < 0) continue;
    for (const c of [t.left[n] as number, t.right[n] as number]) {
      if (!(c > n && c < m)) throw new InputError('bad_model', `stored tree: node ${n} has child ${c} out of range`);
      stack.push(c);
    }
  }
  return t;
}

/**
 * Stable cluster ids across refits. k-means numbers its clusters in an arbitrary order that changes
 * from one fit to the next; a marketer who named cluster 2 "lapsed big spenders" expects it to still be
 * cluster 2 next week. So each new centre is matched to a previous one (same pipeline space) by the
 * assignment of minimum total distance, and inherits its id; clusters without a match (k grew, or the
 * nearest previous centre is farther than `maxDistance`) get fresh ids, never reused.
 *
 * The assignment is solved exactly with the Hungarian algorithm (own implementation: k is small, at
 * most a few dozen, and the O(k³) shortest-augmenting-path form is forty lines; no package needed).
 */
import { InputError } from '../errors.js';
import type { Matrix } from './types.js';

/**
 * Minimum-cost assignment of the rows of an n × m cost matrix (row-major) to distinct columns, n ≤ m:
 * returns the column of each row. Shortest augmenting paths with potentials (Kuhn-Munkres, O(n² m)).
 */
export function hungarian(cost: Float64Array, n: number, m: number): Int32Array {
  if (n > m) throw new Error(`hungarian needs rows ≤ columns, got ${n} × ${m}`);
  if (cost.length !== n * m) throw new Error(`cost has ${cost.length} values, ${n} × ${m} needs ${n * m}`);
  // 1-based arrays, column 0 a virtual start (the classic e-maxx formulation).
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: row matched to column j (0 = none)
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0] as number;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = (cost[(i0 - 1) * m + (j - 1)] as number) - (u[i0] as number) - (v[j] as number);
        if (cur < (minv[j] as number)) {
          minv[j] = cur;
          way[j] = j0;
        }
        if ((minv[j] as number) < delta) {
          delta = minv[j] as number;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j] as number] = (u[p[j] as number] as number) + delta;
          v[j] = (v[j] as number) - delta;
        } else minv[j] = (minv[j] as number) - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0] as number;
      p[j0] = p[j1] as number;
      j0 = j1;
    } while (j0 !== 0);
  }
  const assign = new Int32Array(n).fill(-1);
  for (let j = 1; j <= m; j++) if ((p[j] as number) > 0) assign[(p[j] as number) - 1] = j - 1;
  return assign;
}

export interface PreviousClusters {
  /** Id of each previous cluster, in the order of its centres. */
  ids: readonly number[];
  centres: Matrix;
  /** The smallest id never handed out (default: max of ids + 1); retired ids are not reused. */
  nextFreeId?: number;
}

export interface ClusterMatch {
  /** Index of the cluster in the new fit. */
  cluster: number;
  id: number;
  /** Index of the previous cluster it continues (null for a new cluster). */
  previous: number | null;
  /** Distance between the two centres (null for a new cluster). */
  distance: number | null;
}

export interface ClusterIdAssignment {
  /** Id of each new cluster, in the order of the new centres. */
  ids: number[];
  matches: ClusterMatch[];
  /** Previous ids with no continuation. */
  retired: number[];
  /** Σ distance over matched pairs. */
  totalDistance: number;
  /** To pass to the next refit. */
  nextFreeId: number;
}

export interface ClusterIdOptions {
  /** A match farther than this is a new cluster (and the previous one retires). Default: no limit. */
  maxDistance?: number;
}

/** First fit: ids 1 … k (humans count from 1; labels stay 0-based). */
export function initialClusterIds(k: number): ClusterIdAssignment {
  const ids = Array.from({ length: k }, (_, i) => i + 1);
  return { ids, matches: ids.map((id, cluster) => ({ cluster, id, previous: null, distance: null })), retired: [], totalDistance: 0, nextFreeId: k + 1 };
}

/** Ids for the clusters of a refit (see the file comment); `previous` null is a first fit. */
export function stableClusterIds(previous: PreviousClusters | null, next: Matrix, opts: ClusterIdOptions = {}): ClusterIdAssignment {
  if (previous === null) return initialClusterIds(next.rows);
  const prev = previous.centres;
  if (prev.cols !== next.cols) throw new InputError('bad_input', `previous centres have ${prev.cols} features, new ones ${next.cols}: refit in the same pipeline space`);
  if (previous.ids.length !== prev.rows) throw new InputError('bad_input', `${previous.ids.length} previous ids for ${prev.rows} centres`);
  if (new Set(previous.ids).size !== previous.ids.length) throw new InputError('bad_input', 'previous cluster ids are not distinct');
  const maxDistance = opts.maxDistance ?? Infinity;
  const a = prev.rows;
  const b = next.rows;
  const d = next.cols;
  const dist = new Float64Array(a * b);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      let s = 0;
      for (let f = 0; f < d; f++) {
        const t = (prev.data[i * d + f] as number) - (next.data[j * d + f] as number);
        s += t * t;
      }
      dist[i * b + j] = Math.sqrt(s);
    }
  }
  // prevOf[j]: previous cluster matched to new cluster j (−1: none).
  const prevOf = new Int32Array(b).fill(-1);
  if (a <= b) {
    const assign = hungarian(dist, a, b);
    for (let i = 0; i < a; i++) prevOf[assign[i] as number] = i;
  } else {
    const t = new Float64Array(b * a);
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) t[j * a + i] = dist[i * b + j] as number;
    const assign = hungarian(t, b, a);
    for (let j = 0; j < b; j++) prevOf[j] = assign[j] as number;
  }
  let nextFree = Math.max(previous.nextFreeId ?? 0, Math.max(0, ...previous.ids) + 1);
  const ids: number[] = [];
  const matches: ClusterMatch[] = [];
  const continued = new Set<number>();
  let total = 0;
  for (let j = 0; j < b; j++) {
    const i = prevOf[j] as number;
    const dj = i >= 0 ? (dist[i * b + j] as number) : Infinity;
    if (i >= 0 && dj <= maxDistance) {
      const id = previous.ids[i] as number;
      ids.push(id);
      continued.add(i);
      total += dj;
      matches.push({ cluster: j, id, previous: i, distance: dj });
    } else {
      ids.push(nextFree);
      matches.push({ cluster: j, id: nextFree, previous: null, distance: null });
      nextFree++;
    }
  }
  const retired = previous.ids.filter((_, i) => !continued.has(i));
  return { ids, matches, retired, totalDistance: total, nextFreeId: nextFree };
}

/** Labels (0 … k-1) mapped to the stable ids. */
export function relabel(labels: Int32Array, ids: readonly number[]): Int32Array {
  return Int32Array.from(labels, (l) => {
    const id = ids[l];
    if (id === undefined) throw new Error(`label ${l} has no id`);
    return id;
  });
}

/** Stable cluster ids: the Hungarian algorithm against brute force, and ids kept across refits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { hungarian, initialClusterIds, relabel, stableClusterIds } from '../../src/domain/ml/cluster-ids.js';
import { fitKMeans } from '../../src/domain/ml/kmeans.js';
import { fromRows, matrix, takeRows } from '../../src/domain/ml/types.js';
import { stream } from '../../src/domain/random.js';
import { makeBlobs } from './fixtures/blobs.js';

function cost(c: Float64Array, m: number, assign: Int32Array): number {
  let s = 0;
  assign.forEach((j, i) => (s += c[i * m + j] as number));
  return s;
}

/** The cheapest injective assignment by trying all. */
function bruteForce(c: Float64Array, n: number, m: number): number {
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const go = (i: number, acc: number) => {
    if (i === n) return void (best = Math.min(best, acc));
    for (let j = 0; j < m; j++) if (!used[j]) {
      used[j] = true;
      go(i + 1, acc + (c[i * m + j] as number));
      used[j] = false;
    }
  };
  go(0, 0);
  return best;
}

test('Hungarian: a hand case with a known optimum, where the greedy choice is wrong', () => {
  // Greedy takes (0,0) = 1 and is then forced into (1,1) = 100 (101); the optimum is 2 + 3 = 5.
  const c = Float64Array.from([1, 2, 3, 100]);
  assert.deepEqual([...hungarian(c, 2, 2)], [1, 0]);
  // The classic 3 × 3: optimum 5 (rows → columns 1, 0, 2).
  const d = Float64Array.from([4, 1, 3, 2, 0, 5, 3, 2, 2]);
  const a = hungarian(d, 3, 3);
  assert.equal(cost(d, 3, a), 5);
});

test('Hungarian equals brute force on random square and rectangular matrices', () => {
  const rng = stream(1, 'hungarian');
  for (let t = 0; t < 200; t++) {
    const n = 1 + Math.floor(rng() * 6);
    const m = n + Math.floor(rng() * 3);
    const c = Float64Array.from({ length: n * m }, () => Math.floor(rng() * 20) / 2);
    const a = hungarian(c, n, m);
    assert.equal(new Set(a).size, n, `case ${t}: columns distinct`);
    assert.ok(Math.abs(cost(c, m, a) - bruteForce(c, n, m)) < 1e-9, `case ${t}: ${cost(c, m, a)} vs ${bruteForce(c, n, m)}`);
  }
});

test('a refit whose centres come out permuted keeps every id', () => {
  const { x } = makeBlobs(900, 3, 5, 2);
  const first = fitKMeans(x, { k: 5, seed: 1 });
  const ids0 = initialClusterIds(5);
  assert.deepEqual(ids0.ids, [1, 2, 3, 4, 5]);
  // A refit on a resample of the rows, its centres listed in another order.
  const order = [3, 0, 4, 1, 2];
  const sample = takeRows(x, Int32Array.from({ length: 600 }, (_, i) => (i * 7) % 900));
  const refit = fitKMeans(sample, { k: 5, seed: 2 });
  const permuted = takeRows(refit.centres, order);
  const a = stableClusterIds({ ids: ids0.ids, centres: first.centres }, permuted);
  // The new cluster j continues the previous cluster whose centre is nearest: the same blob.
  for (let j = 0; j < 5; j++) {
    const m = a.matches[j];
    assert.ok(m !== undefined && m.previous !== null && (m.distance as number) < 0.5, `new cluster ${j}: ${JSON.stringify(m)}`);
  }
  assert.deepEqual([...a.ids].sort(), [1, 2, 3, 4, 5]);
  assert.deepEqual(a.retired, []);
  assert.equal(a.nextFreeId, 6);
  // Relabelled rows: a row keeps its id from fit to refit.
  const before = relabel(first.labels, ids0.ids);
  const newLabels = Int32Array.from(refit.labels, (l) => order.indexOf(l));
  const after = relabel(newLabels, a.ids);
  for (let s = 0; s < 600; s++) assert.equal(after[s], before[(s * 7) % 900], `row ${(s * 7) % 900}`);
});

test('k grows: new clusters get fresh ids; k shrinks: ids retire; far matches are new clusters', () => {
  const prev = { ids: [1, 2, 3], centres: fromRows([[0, 0], [10, 0], [0, 10]]), nextFreeId: 7 };
  const grown = stableClusterIds(prev, fromRows([[0.1, 10], [20, 20], [9.9, 0], [0, 0.2]]));
  assert.deepEqual(grown.ids, [3, 7, 2, 1]);
  assert.deepEqual(grown.matches[1], { cluster: 1, id: 7, previous: null, distance: null });
  assert.equal(grown.nextFreeId, 8);
  assert.ok(Math.abs(grown.totalDistance - (0.1 + 0.1 + 0.2)) < 1e-12, `total ${grown.totalDistance}`);
  const shrunk = stableClusterIds(prev, fromRows([[0, 9], [1, 1]]));
  assert.deepEqual(shrunk.ids, [3, 1]);
  assert.deepEqual(shrunk.retired, [2]);
  const far = stableClusterIds(prev, fromRows([[0, 0], [10, 0], [30, 30]]), { maxDistance: 5 });
  assert.deepEqual(far.ids, [1, 2, 7]);
  assert.deepEqual(far.retired, [3]);
  assert.throws(() => stableClusterIds(prev, matrix(2, 3)), InputError);
  assert.throws(() => stableClusterIds({ ids: [1, 1, 2], centres: prev.centres }, prev.centres), InputError);
});

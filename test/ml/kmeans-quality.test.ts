/**
 * Cluster quality: silhouette, Davies-Bouldin, Calinski-Harabasz and the adjusted Rand index on hand-
 * computed cases and scikit-learn's Iris numbers (REFERENCES.md); the sampled silhouette; chooseK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { adjustedRandIndex, calinskiHarabasz, chooseK, daviesBouldin, elbow, sampleIndices, silhouetteSamples, silhouetteScore } from '../../src/domain/ml/cluster-quality.js';
import { fitKMeans } from '../../src/domain/ml/kmeans.js';
import { fromRows } from '../../src/domain/ml/types.js';
import { makeBlobs } from './fixtures/blobs.js';
import { irisMatrix, irisSpecies } from './fixtures/iris.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} ± ${tol}`);

// Five points on a line: {0, 1} {4, 5} {11}.
const line = fromRows([[0], [1], [4], [5], [11]]);
const lineLabels = Int32Array.from([0, 0, 1, 1, 2]);

test('silhouette by hand: a = mean distance within, b = nearest other cluster, singleton 0', () => {
  const s = silhouetteSamples(line, lineLabels);
  close(s[0] as number, (4.5 - 1) / 4.5, 1e-15, 'row 0 (a 1, b 4.5)');
  close(s[1] as number, (3.5 - 1) / 3.5, 1e-15, 'row 1 (a 1, b 3.5)');
  close(s[2] as number, (3.5 - 1) / 3.5, 1e-15, 'row 2');
  close(s[3] as number, (4.5 - 1) / 4.5, 1e-15, 'row 3');
  assert.equal(s[4], 0, 'singleton');
  close(silhouetteScore(line, lineLabels).score, (2 * 3.5 / 4.5 + 2 * 2.5 / 3.5) / 5, 1e-15, 'mean');
});

test('Davies-Bouldin and Calinski-Harabasz by hand', () => {
  // Centroids 0.5, 4.5, 11; spreads 0.5, 0.5, 0; worst ratios 1/4, 1/4, 0.5/6.5.
  close(daviesBouldin(line, lineLabels), (0.25 + 0.25 + 0.5 / 6.5) / 3, 1e-15, 'Davies-Bouldin');
  // Between 2·3.7² + 2·0.3² + 6.8² = 73.8, within 1, (n − k) / (k − 1) = 1.
  close(calinskiHarabasz(line, lineLabels), 73.8, 1e-12, 'Calinski-Harabasz');
});

test('adjusted Rand index by hand and its invariances', () => {
  // Pairs together in both 2, in the first 3, in the second 4, of 15: (2 − 0.8) / (3.5 − 0.8).
  close(adjustedRandIndex([0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]), 1.2 / 2.7, 1e-15, 'ARI');
  close(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 0, 1]), -1 / 9, 1e-15, 'ARI below 0');
  assert.equal(adjustedRandIndex([0, 0, 1, 1, 2], [7, 7, 3, 3, 5]), 1, 'renamed labels');
  assert.equal(adjustedRandIndex([0, 0, 0], [1, 1, 1]), 1, 'one cluster each');
  assert.throws(() => adjustedRandIndex([0, 1], [0]), InputError);
});

test('Iris k = 3: scikit-learn\'s ARI 0.7302, Davies-Bouldin 0.66197, Calinski-Harabasz 561.628', () => {
  const x = irisMatrix();
  const fit = fitKMeans(x, { k: 3, seed: 0 });
  close(adjustedRandIndex(irisSpecies(), fit.labels), 0.7302, 5e-5, 'ARI');
  close(daviesBouldin(x, fit.labels), 0.66197, 5e-6, 'Davies-Bouldin');
  close(calinskiHarabasz(x, fit.labels), 561.628, 5e-4, 'Calinski-Harabasz');
  close(silhouetteScore(x, fit.labels).score, 0.552819, 1e-6, 'silhouette');
});

test('sampled silhouette: seeded, of the stated size, close to the exact value', () => {
  const { x } = makeBlobs(6000, 3, 4, 5, 2.5);
  const fit = fitKMeans(x, { k: 4, nInit: 1, seed: 3 });
  const exact = silhouetteScore(x, fit.labels);
  assert.equal(exact.sampled, false);
  const a = silhouetteScore(x, fit.labels, { sampleSize: 1500, seed: 1 });
  const b = silhouetteScore(x, fit.labels, { sampleSize: 1500, seed: 1 });
  const c = silhouetteScore(x, fit.labels, { sampleSize: 1500, seed: 2 });
  assert.equal(a.sampled, true);
  assert.equal(a.rows, 1500);
  assert.equal(a.score, b.score, 'same seed, same sample');
  assert.notEqual(a.score, c.score, 'another seed, another sample');
  close(a.score, exact.score, 0.02, 'sample of 1,500 vs exact');
  const idx = sampleIndices(100, 30, 4);
  assert.equal(new Set(idx).size, 30, 'distinct rows');
  assert.ok(idx.every((v, i) => i === 0 || v > (idx[i - 1] as number)), 'sorted');
});

test('silhouette needs 2 … n − 1 clusters', () => {
  assert.throws(() => silhouetteSamples(line, [0, 0, 0, 0, 0]), (e: unknown) => e instanceof InputError && /2 … n-1 clusters/.test(e.message), 'one cluster');
  assert.throws(() => silhouetteSamples(line, [0, 1, 2, 3, 4]), InputError);
  assert.throws(() => silhouetteSamples(line, [0, 1]), InputError);
});

test('elbow: the point farthest below the chord', () => {
  assert.equal(elbow([1, 2, 3, 4, 5, 6], [100, 40, 20, 15, 12, 10]), 3);
  assert.equal(elbow([2, 3], [10, 5]), null);
  assert.equal(elbow([1, 2, 3], [3, 2, 1]), null, 'straight line');
});

test('chooseK: Iris picks 2 (best silhouette), separated blobs their own k for both rules', () => {
  const iris = chooseK(irisMatrix(), { kMin: 2, kMax: 6, seed: 2 });
  assert.ok(iris.bestK === 2 || iris.bestK === 3, `Iris best k ${iris.bestK}`);
  assert.equal(iris.bestK, 2);
  assert.equal(iris.elbowK, 3, 'Iris elbow over 2 … 6');
  assert.equal(chooseK(irisMatrix(), { kMin: 2, kMax: 6, seed: 2, elbowScale: 'linear' }).elbowK, 3, 'linear scale');
  assert.deepEqual(iris.scores.map((s) => s.k), [2, 3, 4, 5, 6]);
  close(iris.scores[0]?.silhouette as number, 0.681046, 1e-5, 'k = 2 silhouette');
  close(iris.scores[1]?.inertia as number, 78.851441, 1e-4, 'k = 3 inertia');
  assert.ok(iris.scores.every((s, i) => i === 0 || s.inertia < (iris.scores[i - 1]?.inertia as number)), 'inertia falls with k');
  for (const [k, cols, seed] of [[5, 4, 1], [3, 3, 2], [7, 6, 3]] as const) {
    const { x, centres } = makeBlobs(700, cols, k, seed, 12);
    // Precondition: the blobs (unit spread) are well apart.
    let nearest = Infinity;
    for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) nearest = Math.min(nearest, Math.hypot(...(centres[a] as number[]).map((v, j) => v - ((centres[b] as number[])[j] as number))));
    assert.ok(nearest > 8, `blobs k = ${k}: centres only ${nearest} apart`);
    const r = chooseK(x, { kMin: 2, kMax: 9, nInit: 4, seed });
    assert.equal(r.bestK, k, `blobs k = ${k}: silhouette picks ${r.bestK}`);
    assert.equal(r.elbowK, k, `blobs k = ${k}: elbow at ${r.elbowK}`);
    assert.equal(r.fits.length, 8);
  }
  assert.throws(() => chooseK(irisMatrix(), { kMin: 1 }), InputError);
  assert.throws(() => chooseK(irisMatrix(), { kMin: 5, kMax: 4 }), InputError);
});

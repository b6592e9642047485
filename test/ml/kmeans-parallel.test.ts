/**
 * The parallel k-means (worker threads over a SharedArrayBuffer) gives the single-thread fit bit for
 * bit, whatever the number of threads: same seeds, same labels, same centres, same inertia.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { KMEANS_CHUNK, fitKMeans, kmeansPlusPlusCentres, type KMeansFit } from '../../src/domain/ml/kmeans.js';
import { fromRows } from '../../src/domain/ml/types.js';
import { KMeansWorkerPool, fitKMeansParallel } from '../../src/services/ml/kmeans-parallel.js';
import { makeBlobs } from './fixtures/blobs.js';

const pool = new KMeansWorkerPool(3);
after(() => pool.close());

function assertSame(a: KMeansFit, b: KMeansFit, what: string): void {
  assert.equal(a.inertia, b.inertia, `${what}: inertia`);
  assert.equal(a.iterations, b.iterations, `${what}: iterations`);
  assert.deepEqual(a.runInertias, b.runInertias, `${what}: run inertias`);
  assert.deepEqual([...a.centres.data], [...b.centres.data], `${what}: centres`);
  let diff = 0;
  for (let i = 0; i < a.labels.length; i++) if (a.labels[i] !== b.labels[i]) diff++;
  assert.equal(diff, 0, `${what}: ${diff} labels differ`);
}

// 7.3 chunks of rows: slices of 2 and 3 workers split them unevenly, the last one short.
const { x } = makeBlobs(Math.floor(7.3 * KMEANS_CHUNK), 5, 6, 21, 1.5);

test('parallel = single thread, Lloyd and Elkan, 2 and 3 threads, several runs', async () => {
  for (const algorithm of ['lloyd', 'elkan'] as const) {
    const single = fitKMeans(x, { k: 6, nInit: 2, seed: 4, algorithm });
    assert.ok(single.iterations > 3, `${algorithm}: a fit with some iterations (${single.iterations})`);
    for (const threads of [2, 3]) assertSame(single, await pool.fit(x, { k: 6, nInit: 2, seed: 4, algorithm, threads }), `${algorithm}, ${threads} threads`);
  }
});

test('an empty cluster is relocated the same way in parallel', async () => {
  // Centres 0 and 1 identical: cluster 1 gets no row in the first step and moves to the farthest row.
  const init = kmeansPlusPlusCentres(x, 5, 3);
  init.data.copyWithin(5, 0, 5);
  for (const algorithm of ['lloyd', 'elkan'] as const) {
    const single = fitKMeans(x, { k: 5, init, algorithm });
    assert.ok(single.relocations >= 1, `${algorithm}: ${single.relocations} relocations`);
    assertSame(single, await pool.fit(x, { k: 5, init, algorithm, threads: 2 }), `${algorithm} relocation`);
  }
});

test('fitKMeansParallel without a pool starts and stops its own workers', async () => {
  const single = fitKMeans(x, { k: 4, nInit: 1, seed: 8 });
  assertSame(single, await fitKMeansParallel(x, { k: 4, nInit: 1, seed: 8, threads: 2 }), 'own pool');
});

test('fits queued on one pool run one after the other and each is right', async () => {
  const ks = [2, 3, 5];
  const fits = await Promise.all(ks.map((k) => pool.fit(x, { k, nInit: 1, seed: 1 })));
  ks.forEach((k, i) => assertSame(fitKMeans(x, { k, nInit: 1, seed: 1 }), fits[i] as KMeansFit, `k = ${k}`));
});

test('small data (one chunk) and bad input', async () => {
  const small = fromRows([[0, 0], [0, 1], [10, 10], [10, 11]]);
  const fit = await fitKMeansParallel(small, { k: 2, seed: 1, threads: 2 });
  assert.equal(fit.inertia, 1);
  await assert.rejects(pool.fit(small, { k: 5 }), (e: unknown) => e instanceof InputError && /k = 5 is more than the 4 rows/.test(e.message), 'k > n rejected');
  await assert.rejects(pool.fit(fromRows([[0, NaN], [1, 1]]), { k: 1 }), (e: unknown) => e instanceof InputError, 'NaN rejected');
  // The pool still works after a rejected fit.
  assertSame(fitKMeans(x, { k: 3, nInit: 1, seed: 2 }), await pool.fit(x, { k: 3, nInit: 1, seed: 2 }), 'after errors');
});

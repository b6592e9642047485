/** Cluster profiles in raw units: sizes, means, medians, ratios, distinguishing features, labels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { humanise, profileClusters } from '../../src/domain/ml/cluster-profile.js';
import { fromRows } from '../../src/domain/ml/types.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} ± ${tol}`);

// Two clusters: big spenders who bought recently (0), lapsed small spenders (1); tenure the same.
const raw = {
  names: ['monetary', 'recency_days', 'tenure'],
  x: fromRows([
    [900, 5, 100],
    [1100, 10, 200],
    [1000, 3, 150],
    [50, 200, 120],
    [70, 300, 180],
    [60, 250, NaN],
  ]),
};
const labels = Int32Array.from([0, 0, 0, 1, 1, 1]);

test('sizes, shares, means, medians and ratios by hand', () => {
  const p = profileClusters(raw, labels, 2);
  const [a, b] = p.clusters;
  assert.ok(a && b, 'two clusters');
  assert.equal(a.size, 3);
  assert.equal(a.share, 0.5);
  const m = a.features[0];
  assert.ok(m, 'monetary');
  close(m.mean, 1000, 1e-12, 'mean');
  close(m.median, 1000, 0, 'median');
  close(m.ratio as number, 1000 / (3180 / 6), 1e-12, 'ratio to overall mean');
  const tenure = b.features[2];
  assert.ok(tenure, 'tenure');
  assert.equal(tenure.count, 2, 'missing tenure skipped');
  close(tenure.mean, 150, 1e-12, 'tenure mean without the missing value');
  close(tenure.median, 150, 0, 'tenure median');
  assert.equal(p.overall[2]?.count, 5);
  close(p.overall[1]?.median as number, (10 + 200) / 2, 0, 'overall median');
});

test('standardised mean difference by hand; distinguishing features and the label', () => {
  const p = profileClusters(raw, labels, 2);
  // monetary: 1000 vs 60, within sums of squares 20000 + 200, pooled sd √(20200 / 4).
  const smd = (1000 - 60) / Math.sqrt(20200 / 4);
  close(p.clusters[0]?.features[0]?.smd as number, smd, 1e-12, 'smd cluster 0');
  close(p.clusters[1]?.features[0]?.smd as number, -smd, 1e-12, 'smd cluster 1');
  assert.deepEqual(p.clusters[0]?.distinguishing.map((d) => d.feature), ['monetary', 'recency_days']);
  assert.equal(p.clusters[0]?.label, 'high monetary, low recency days');
  assert.equal(p.clusters[1]?.label, 'low monetary, high recency days');
  // Tenure differs little (150 vs 150): never distinguishing.
  assert.ok(p.clusters.every((c) => c.distinguishing.every((d) => d.feature !== 'tenure')), 'tenure is not distinguishing');
});

test('nothing stands out: "typical"; options; a cluster with no rows', () => {
  const flat = { names: ['a'], x: fromRows([[1], [2], [1], [2]]) };
  const p = profileClusters(flat, Int32Array.from([0, 1, 0, 1]), 3, { minEffect: 5 });
  assert.equal(p.clusters[0]?.label, 'typical');
  assert.equal(p.clusters[2]?.size, 0);
  assert.ok(Number.isNaN(p.clusters[2]?.features[0]?.mean as number), 'empty cluster mean NaN');
  const one = profileClusters(raw, labels, 2, { labelFeatures: 1, top: 1 });
  assert.equal(one.clusters[0]?.label, 'high monetary');
  assert.equal(humanise('avg_order-value.eur'), 'avg order value eur');
  assert.throws(() => profileClusters(raw, Int32Array.from([0, 0, 0, 1, 1, 2]), 2), InputError);
  assert.throws(() => profileClusters(raw, Int32Array.from([0, 1]), 2), InputError);
});

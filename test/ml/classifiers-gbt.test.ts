/**
 * Gradient-boosted trees: a non-linear (XOR) problem logistic regression cannot learn, seeded
 * determinism, missing values as signal, zero weights, early stopping, binning, and serialise → load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { binEdges, fitGbt, gbt, loadGbt } from '../../src/domain/ml/gbt.js';
import { logistic } from '../../src/domain/ml/logistic.js';
import { rocAuc } from '../../src/domain/ml/metrics.js';
import { fromRows, matrix, type Matrix } from '../../src/domain/ml/types.js';
import { normal, stream } from '../../src/domain/random.js';

/**
 * XOR: two uniform features whose product's sign decides the outcome with probability 0.9, plus three
 * noise features. The Bayes-optimal AUC is 0.9·0.9 + ½(0.9·0.1 + 0.1·0.9) = 0.90; any additive model
 * (logistic regression) is at 0.5, since each feature alone carries no information.
 */
function xor(n: number, seed: number): { x: Matrix; y: Uint8Array } {
  const rng = stream(seed, 'xor');
  const x = matrix(n, 5);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = 2 * rng() - 1;
    const b = 2 * rng() - 1;
    x.data.set([a, b, normal(rng), normal(rng), rng()], i * 5);
    const hit = a * b > 0;
    y[i] = rng() < (hit ? 0.9 : 0.1) ? 1 : 0;
  }
  return { x, y };
}

test('GBT learns an XOR interaction that logistic regression cannot', () => {
  const train = xor(8_000, 1);
  const test_ = xor(4_000, 2);
  const g = gbt(train.x, train.y, { seed: 1 });
  const aucG = rocAuc(test_.y, g.predict(test_.x));
  const aucL = rocAuc(test_.y, logistic(train.x, train.y).predict(test_.x));
  // Bayes AUC 0.90; 0.86 leaves room for the finite sample and the axis-aligned staircase.
  assert.ok(aucG >= 0.86, `GBT test AUC ${aucG.toFixed(4)} ≥ 0.86`);
  assert.ok(aucL <= 0.56, `logistic test AUC ${aucL.toFixed(4)} ≤ 0.56 (no better than chance)`);
  const imp = g.importance();
  assert.ok((imp[0] as number) + (imp[1] as number) > 0.8, `the two XOR features hold > 80 % of the gain: ${Array.from(imp).map((v) => v.toFixed(3)).join(', ')}`);
  assert.ok(Math.abs(imp.reduce((s, v) => s + v, 0) - 1) < 1e-12, 'importance sums to 1');
});

test('a fixed seed gives the same model; another seed (with sampling) a different one', () => {
  const { x, y } = xor(3_000, 3);
  const opts = { seed: 7, subsample: 0.7, colsample: 0.6, trees: 30 };
  const a = fitGbt(x, y, opts).serialize();
  const b = fitGbt(x, y, opts).serialize();
  assert.equal(a, b, 'same seed, same model (byte for byte)');
  const c = fitGbt(x, y, { ...opts, seed: 8 }).serialize();
  assert.notEqual(a, c, 'another seed samples other rows and columns');
});

test('missing values are a learned direction: missingness that predicts the outcome is used', () => {
  const rng = stream(4, 'nan');
  const n = 4_000;
  const x = matrix(n, 2);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng() < 0.5 ? 1 : 0;
    // Feature 0 is missing for 80 % of positives and 10 % of negatives; otherwise uninformative.
    const missing = rng() < (y[i] ? 0.8 : 0.1);
    x.data[i * 2] = missing ? Number.NaN : normal(rng);
    x.data[i * 2 + 1] = normal(rng);
  }
  const m = fitGbt(x, y, { seed: 1, trees: 60 });
  const p = m.predict(fromRows([[Number.NaN, 0], [0.3, 0]]));
  // Bayes: P(y | missing) = 0.4 / 0.45 = 0.889, P(y | present) = 0.1 / 0.55 = 0.182 (± noise splits on feature 1).
  assert.ok(Math.abs((p[0] as number) - 0.889) < 0.07, `P(y | missing) = ${p[0]}, want 0.889 ± 0.07`);
  assert.ok(Math.abs((p[1] as number) - 0.182) < 0.07, `P(y | present) = ${p[1]}, want 0.182 ± 0.07`);
  assert.ok(rocAuc(y, m.predict(x)) > 0.83, 'missingness ranks the outcome (Bayes AUC 0.85)');
});

test('a zero weight removes a row: same model as without it', () => {
  const rng = stream(5, 'weights');
  const n = 1_500;
  const extra = 400;
  const x = matrix(n + extra, 3);
  const y = new Uint8Array(n + extra);
  for (let i = 0; i < n + extra; i++) {
    // Integer features: the bins are the distinct values either way.
    const a = Math.floor(10 * rng());
    const b = Math.floor(10 * rng());
    x.data.set([a, b, Math.floor(5 * rng())], i * 3);
    y[i] = i < n ? (rng() < (a + b > 9 ? 0.8 : 0.2) ? 1 : 0) : (a + b > 9 ? 0 : 1);
  }
  const w = new Float64Array(n + extra).fill(1);
  w.fill(0, n);
  const opts = { seed: 2, trees: 25, minSamplesLeaf: 1 };
  const withZeros = fitGbt(x, y, { ...opts, weights: w });
  const first = matrix(n, 3, x.data.slice(0, n * 3));
  const without = fitGbt(first, y.slice(0, n), opts);
  // Equal up to rounding: the zero-weight rows change which child's histogram is built directly and
  // which by subtraction, so sums are added in another order.
  const pa = withZeros.predict(first);
  const pb = without.predict(first);
  let diff = 0;
  for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs((pa[i] as number) - (pb[i] as number)));
  assert.ok(diff < 1e-12, `same predictions up to rounding: max difference ${diff}`);
  assert.equal(withZeros.ensemble.trees.length, without.ensemble.trees.length, 'same number of trees');
  assert.deepEqual(withZeros.ensemble.trees.map((t) => Array.from(t.feature)), without.ensemble.trees.map((t) => Array.from(t.feature)), 'same splits');
});

test('early stopping stops on noise and keeps the best number of trees', () => {
  const rng = stream(6, 'noise');
  const n = 12_000;
  const x = matrix(n, 4);
  const y = new Uint8Array(n);
  for (let i = 0; i < x.data.length; i++) x.data[i] = normal(rng);
  for (let i = 0; i < n; i++) y[i] = rng() < 0.3 ? 1 : 0;
  const m = fitGbt(x, y, { seed: 1 });
  assert.ok(m.info.stoppedEarly, 'stopped early (auto: ≥ 10,000 rows)');
  assert.ok(m.info.trees < 30, `kept few trees on pure noise: ${m.info.trees}`);
  assert.equal(m.info.grown, m.info.trees + 10, 'grown = kept + patience');
  assert.equal(m.info.validationRows, 1_200, 'a 10 % stratified hold-out');
  assert.equal(m.ensemble.trees.length, m.info.trees, 'the trees past the best are dropped');
  const best = Math.min(...m.info.validationLoss);
  assert.equal(m.info.validationLoss[m.info.trees - 1], best, 'the kept model is the best on validation');
});

test('a given validation set is used for early stopping', () => {
  const train = xor(3_000, 7);
  const valid = xor(1_000, 8);
  const m = fitGbt(train.x, train.y, { seed: 1, validation: valid, trees: 200, learningRate: 0.3 });
  assert.equal(m.info.trainRows, 3_000, 'every training row trains');
  assert.equal(m.info.validationRows, 1_000, 'the given rows validate');
  assert.ok(m.info.stoppedEarly && m.info.trees < 200, `stopped before 200 trees: ${m.info.trees}`);
});

test('binning: few distinct values get one bin each, many get ≤ maxBins − 1 quantile bins', () => {
  const x = fromRows([[1, 0], [2, 0.5], [2, 1], [3, Number.NaN], [3, 2], [3, 7]]);
  const b = binEdges(x, [0, 1, 2, 3, 4, 5], 255);
  assert.deepEqual(Array.from(b.edges[0] as Float64Array), [1.5, 2.5], 'midpoints between 1, 2, 3');
  assert.equal(b.nValue[0], 3, 'three value bins');
  const rng = stream(9, 'bins');
  const big = matrix(10_000, 1);
  for (let i = 0; i < 10_000; i++) big.data[i] = normal(rng);
  const bb = binEdges(big, Uint32Array.from({ length: 10_000 }, (_, i) => i), 32);
  assert.equal(bb.nValue[0], 31, '31 value bins + the missing bin = 32');
  // Equal-count: each bin holds about 10,000 / 31 ≈ 323 values.
  const e = bb.edges[0] as Float64Array;
  const counts = new Array<number>(31).fill(0);
  for (let i = 0; i < 10_000; i++) {
    let k = 0;
    while (k < e.length && (e[k] as number) < (big.data[i] as number)) k++;
    counts[k] = (counts[k] as number) + 1;
  }
  assert.ok(Math.min(...counts) >= 300 && Math.max(...counts) <= 350, `equal-count bins: ${Math.min(...counts)}..${Math.max(...counts)}`);
});

test('serialise → load gives the same predictions and contributions', () => {
  const { x, y } = xor(2_000, 10);
  for (let i = 0; i < 2_000; i += 7) x.data[i * 5 + 2] = Number.NaN;
  const m = fitGbt(x, y, { seed: 3, trees: 40 });
  const json = m.serialize();
  const back = loadGbt(json);
  assert.deepEqual(back.predict(x), m.predict(x), 'same predictions');
  assert.deepEqual(back.contributions(x, 14), m.contributions(x, 14), 'same contributions');
  assert.deepEqual(back.importance(), m.importance(), 'same importance');
  assert.deepEqual(loadGbt(JSON.parse(json)).predict(x), m.predict(x), 'from the object form too');
  const j = m.toJSON();
  const bad = structuredClone(j);
  (bad.trees[0] as { left: number[] }).left[0] = 0;
  assert.throws(() => loadGbt(bad), InputError, 'a cycle is refused');
  assert.throws(() => loadGbt({ ...j, cols: 2 }), InputError, 'a split on a column the model does not have is refused');
  assert.throws(() => loadGbt({ kind: 'gbt' }), InputError, 'garbage is refused');
});

test('bad options and inputs are InputErrors', () => {
  const { x, y } = xor(200, 11);
  assert.throws(() => fitGbt(x, y, { maxBins: 300 }), InputError, 'maxBins > 255');
  assert.throws(() => fitGbt(x, y, { subsample: 0 }), InputError, 'subsample 0');
  assert.throws(() => fitGbt(x, y, { learningRate: 2 }), InputError, 'learning rate 2');
  assert.throws(() => fitGbt(x, new Uint8Array(200)), InputError, 'no positive');
  assert.throws(() => fitGbt(x, y, { validation: { x: matrix(10, 2), y: new Uint8Array(10) } }), InputError, 'validation with other columns');
});

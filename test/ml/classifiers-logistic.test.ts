/**
 * Logistic regression: recovery of the true coefficients of data simulated from a logistic model, a
 * hand-computable saturated model (coefficients and standard errors in closed form), weights as
 * frequencies, missing values, constant columns, exact contributions, and serialise → load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { fitLogistic, loadLogistic, logistic } from '../../src/domain/ml/logistic.js';
import { fromRows, matrix, type Matrix } from '../../src/domain/ml/types.js';
import { normal, stream } from '../../src/domain/random.js';

const logit = (p: number): number => Math.log(p / (1 - p));

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

/** n rows of 4 features on different scales, outcome drawn from the true logistic model. */
function simulate(n: number, seed: number): { x: Matrix; y: Uint8Array; truth: { intercept: number; coef: number[] } } {
  const truth = { intercept: -1, coef: [0.8, -0.3, 1.2, 0.1] };
  const rng = stream(seed, 'logistic-sim');
  const x = matrix(n, 4);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = [normal(rng), 2 + 3 * normal(rng), rng() < 0.3 ? 1 : 0, 10 * rng()];
    x.data.set(row, i * 4);
    let eta = truth.intercept;
    for (let j = 0; j < 4; j++) eta += (truth.coef[j] as number) * (row[j] as number);
    y[i] = rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  return { x, y, truth };
}

test('recovers the true coefficients of a simulated logistic model (n = 20,000)', () => {
  const { x, y, truth } = simulate(20_000, 11);
  const m = fitLogistic(x, y);
  assert.ok(m.info.converged, `Newton converged (${m.info.iterations} iterations)`);
  assert.ok(m.info.iterations <= 15, `Newton needs few iterations, took ${m.info.iterations}`);
  const c = m.coefficients();
  // Tolerance: 4 standard errors (a false alarm once in ~16,000 coefficients), and the standard errors
  // themselves must be small (≤ 0.06 at n = 20,000: asymptotically 1 / sqrt(n · E[p(1−p)] · var x)),
  // so the check cannot pass by a model that is merely uncertain.
  for (let j = 0; j < 4; j++) {
    const se = c.se[j] as number;
    assert.ok(se > 0 && se < 0.06, `standard error of coefficient ${j} is small: ${se}`);
    close(c.coef[j] as number, truth.coef[j] as number, 4 * se, `coefficient ${j}`);
  }
  assert.ok(c.interceptSe < 0.1, `intercept standard error ${c.interceptSe}`);
  close(c.intercept, truth.intercept, 4 * c.interceptSe, 'intercept');
});

test('a saturated one-feature model matches its closed form (l2 = 0)', () => {
  // x = 0: 10 rows, 2 positives; x = 1: 10 rows, 6 positives. MLE: intercept logit(0.2), slope
  // logit(0.6) − logit(0.2); standard errors sqrt(1 / (n p (1 − p))) per group.
  const rows: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < 10; i++) {
    rows.push([0]);
    ys.push(i < 2 ? 1 : 0);
  }
  for (let i = 0; i < 10; i++) {
    rows.push([1]);
    ys.push(i < 6 ? 1 : 0);
  }
  const x = fromRows(rows);
  const y = Uint8Array.from(ys);
  const m = fitLogistic(x, y, { l2: 0, tol: 1e-12 });
  const c = m.coefficients();
  close(c.intercept, logit(0.2), 1e-9, 'intercept = logit(0.2) = −1.386294');
  close(c.coef[0] as number, logit(0.6) - logit(0.2), 1e-9, 'slope = 1.791759');
  close(c.interceptSe, Math.sqrt(1 / (10 * 0.2 * 0.8)), 1e-7, 'intercept SE = 0.790569');
  close(c.se[0] as number, Math.sqrt(1 / (10 * 0.2 * 0.8) + 1 / (10 * 0.6 * 0.4)), 1e-7, 'slope SE = 1.020621');
  const p = m.predict(fromRows([[0], [1]]));
  close(p[0] as number, 0.2, 1e-9, 'P(y | x = 0)');
  close(p[1] as number, 0.6, 1e-9, 'P(y | x = 1)');
  // Log loss of the saturated model: the mean binary entropy of the two groups.
  const h = (q: number): number => -(q * Math.log(q) + (1 - q) * Math.log(1 - q));
  close(m.info.logLoss, (h(0.2) + h(0.6)) / 2, 1e-9, 'training log loss');
});

test('weights act as frequencies: weight 2 equals the row twice', () => {
  const { x, y } = simulate(2_000, 3);
  const w = new Float64Array(2_000);
  const dupIdx: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    w[i] = i % 3 === 0 ? 2 : 1;
    dupIdx.push(i);
    if (i % 3 === 0) dupIdx.push(i);
  }
  const xd = matrix(dupIdx.length, 4);
  dupIdx.forEach((i, k) => xd.data.set(x.data.subarray(i * 4, i * 4 + 4), k * 4));
  const yd = Uint8Array.from(dupIdx, (i) => y[i] as number);
  const a = fitLogistic(x, y, { weights: w, tol: 1e-12 }).coefficients();
  const b = fitLogistic(xd, yd, { tol: 1e-12 }).coefficients();
  close(a.intercept, b.intercept, 1e-8, 'intercept');
  for (let j = 0; j < 4; j++) close(a.coef[j] as number, b.coef[j] as number, 1e-8, `coefficient ${j}`);
});

test('missing values are mean-imputed: contribution 0, prediction of the mean profile', () => {
  const { x, y } = simulate(5_000, 5);
  const rng = stream(5, 'holes');
  for (let i = 0; i < x.rows; i++) if (rng() < 0.1) x.data[i * 4] = Number.NaN;
  const m = fitLogistic(x, y);
  assert.ok(m.info.converged, 'converged with missing values');
  const q = fromRows([[Number.NaN, 2, 1, 5]]);
  const c = m.contributions(q, 0);
  assert.equal(c.values[0], 0, 'a missing value contributes nothing');
  const filled = fromRows([[m.means[0] as number, 2, 1, 5]]);
  close(m.predict(q)[0] as number, m.predict(filled)[0] as number, 1e-12, 'missing = the training mean');
});

test('contributions add up to the log-odds; importance sums to 1; constant columns get 0', () => {
  const { x, y } = simulate(3_000, 8);
  // A fifth, constant column.
  const x5 = matrix(x.rows, 5);
  for (let i = 0; i < x.rows; i++) {
    x5.data.set(x.data.subarray(i * 4, i * 4 + 4), i * 5);
    x5.data[i * 5 + 4] = 7;
  }
  const m = fitLogistic(x5, y);
  const imp = m.importance();
  close(imp.reduce((a, b) => a + b, 0), 1, 1e-12, 'importance sum');
  assert.equal(imp[4], 0, 'constant column has no importance');
  const p = m.predict(x5);
  for (const row of [0, 17, 1234, 2999]) {
    const { base, values } = m.contributions(x5, row);
    const sum = base + values.reduce((a, b) => a + b, 0);
    close(sum, logit(p[row] as number), 1e-9, `base + Σ contributions, row ${row}`);
    assert.equal(values[4], 0, 'constant column contributes 0');
  }
  // The base is the log-odds at the mean of every feature.
  const meanRow = fromRows([Array.from(m.means)]);
  close(m.contributions(meanRow, 0).base, logit(m.predict(meanRow)[0] as number), 1e-9, 'base = logit at the mean');
});

test('serialise → load gives the same predictions and contributions', () => {
  const { x, y } = simulate(2_000, 9);
  const m = fitLogistic(x, y, { l2: 1e-3 });
  const back = loadLogistic(m.serialize());
  assert.deepEqual(back.predict(x), m.predict(x), 'same predictions');
  assert.deepEqual(back.contributions(x, 5), m.contributions(x, 5), 'same contributions');
  assert.deepEqual(loadLogistic(m.toJSON()).beta, m.beta, 'from the object form too');
  assert.throws(() => loadLogistic({ kind: 'logistic', version: 1, means: [0] }), InputError, 'a truncated model is refused');
  assert.throws(() => loadLogistic({ ...m.toJSON(), beta: [1] }), InputError, 'inconsistent sizes are refused');
});

test('the Learner form fits the same model', () => {
  const { x, y } = simulate(1_000, 12);
  const viaLearner = logistic(x, y, { weights: new Float64Array(1_000).fill(1) });
  assert.equal(viaLearner.kind, 'logistic', 'kind');
  assert.deepEqual(viaLearner.predict(x), fitLogistic(x, y).predict(x), 'unit weights = no weights');
});

test('bad input is an InputError', () => {
  const x = fromRows([[1], [2], [3]]);
  assert.throws(() => fitLogistic(x, Uint8Array.from([0, 1, 2])), InputError, 'outcome 2');
  assert.throws(() => fitLogistic(x, Uint8Array.from([0, 1])), InputError, 'length mismatch');
  assert.throws(() => fitLogistic(x, Uint8Array.from([0, 1, 1]), { weights: Float64Array.from([1, -1, 1]) }), InputError, 'negative weight');
  assert.throws(() => fitLogistic(x, Uint8Array.from([0, 1, 1]), { l2: -1 }), InputError, 'negative penalty');
  const m = fitLogistic(x, Uint8Array.from([0, 1, 1]));
  assert.throws(() => m.predict(fromRows([[1, 2]])), InputError, 'wrong number of columns');
});

test('perfect separation stays finite with the default penalty', () => {
  const x = fromRows(Array.from({ length: 40 }, (_, i) => [i]));
  const y = Uint8Array.from({ length: 40 }, (_, i) => (i >= 20 ? 1 : 0));
  const m = fitLogistic(x, y);
  const c = m.coefficients();
  assert.ok(Number.isFinite(c.coef[0] as number) && (c.coef[0] as number) > 0, `finite positive slope: ${c.coef[0]}`);
  const p = m.predict(x);
  assert.ok((p[0] as number) < 0.05 && (p[39] as number) > 0.95, `separates: ${p[0]}, ${p[39]}`);
});

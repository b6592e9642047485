/** PCA for the 2-D cluster map: a known principal axis, scikit-learn's Iris numbers, projections. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { fitKMeans } from '../../src/domain/ml/kmeans.js';
import { fitPca, jacobiEigen, projectPca } from '../../src/domain/ml/pca.js';
import { fromRows, matrix } from '../../src/domain/ml/types.js';
import { normal, stream } from '../../src/domain/random.js';
import { irisMatrix } from './fixtures/iris.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} ± ${tol}`);

test('a known principal axis: variance 25 along (1, 2, 2)/3, 4 along (4, 1, −3)/√26, 0.25 along the third', () => {
  const rng = stream(3, 'pca axis');
  const u = [1 / 3, 2 / 3, 2 / 3];
  const v = [4, 1, -3].map((t) => t / Math.sqrt(26));
  const w = [-8, 11, -7].map((t) => t / (3 * Math.sqrt(26)));
  const n = 20_000;
  const x = matrix(n, 3);
  for (let i = 0; i < n; i++) {
    const a = 5 * normal(rng);
    const b = 2 * normal(rng);
    const c = 0.5 * normal(rng);
    for (let j = 0; j < 3; j++) x.data[i * 3 + j] = 10 + a * (u[j] as number) + b * (v[j] as number) + c * (w[j] as number);
  }
  const p = fitPca(x);
  // Sign fixed: the largest loading is positive, so the first component is +u, the second +v.
  for (let j = 0; j < 3; j++) {
    close(p.components.data[j] as number, u[j] as number, 0.01, `component 1 [${j}]`);
    close(p.components.data[3 + j] as number, v[j] as number, 0.02, `component 2 [${j}]`);
  }
  close(p.explainedVariance[0] as number, 25, 0.6, 'variance 1');
  close(p.explainedVariance[1] as number, 4, 0.15, 'variance 2');
  close(p.explainedVarianceRatio[0] as number, 25 / 29.25, 0.01, 'ratio 1');
  for (let j = 0; j < 3; j++) close(p.mean[j] as number, 10, 0.1, `mean ${j}`);
});

test('Iris: scikit-learn\'s components, explained variance and coordinates', () => {
  const x = irisMatrix();
  const p = fitPca(x);
  const ref = [0.36138659, -0.08452251, 0.85667061, 0.3582892, 0.65658877, 0.73016143, -0.17337266, -0.07548102];
  ref.forEach((r, i) => close(p.components.data[i] as number, r, 1e-7, `component value ${i}`));
  close(p.explainedVariance[0] as number, 4.22824171, 1e-7, 'variance 1');
  close(p.explainedVariance[1] as number, 0.24267075, 1e-7, 'variance 2');
  close(p.explainedVarianceRatio[0] as number, 0.92461872, 1e-8, 'ratio 1');
  close(p.explainedVarianceRatio[1] as number, 0.05306648, 1e-8, 'ratio 2');
  const xy = projectPca(p, x);
  assert.equal(xy.cols, 2);
  [-2.68412563, 0.31939725, -2.71414169, -0.17700123].forEach((r, i) => close(xy.data[i] as number, r, 1e-7, `coordinate ${i}`));
  // Centres project like rows: the projection of a centre is the mean of its rows' projections.
  const fit = fitKMeans(x, { k: 3, seed: 0 });
  const cxy = projectPca(p, fit.centres);
  for (let c = 0; c < 3; c++) {
    let sx = 0;
    let n = 0;
    for (let i = 0; i < 150; i++) if (fit.labels[i] === c) {
      sx += xy.data[i * 2] as number;
      n++;
    }
    close(cxy.data[c * 2] as number, sx / n, 1e-9, `centre ${c}`);
  }
});

test('Jacobi on a symmetric matrix with known eigenvalues', () => {
  const { values, vectors } = jacobiEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
  assert.deepEqual([...values].map((v) => Number(v.toFixed(12))).sort((a, b) => a - b), [1, 3, 5]);
  // A v = λ v for each column.
  const a = [2, 1, 0, 1, 2, 0, 0, 0, 5];
  for (let e = 0; e < 3; e++) for (let i = 0; i < 3; i++) {
    let s = 0;
    for (let j = 0; j < 3; j++) s += (a[i * 3 + j] as number) * (vectors[j * 3 + e] as number);
    close(s, (values[e] as number) * (vectors[i * 3 + e] as number), 1e-12, `A v = λ v (${e}, ${i})`);
  }
});

test('one column gives one component; bad input is refused', () => {
  const p = fitPca(fromRows([[1], [2], [4]]));
  assert.equal(p.components.rows, 1);
  assert.equal(p.explainedVarianceRatio[0], 1);
  assert.throws(() => fitPca(fromRows([[1, 2]])), InputError);
  assert.throws(() => fitPca(fromRows([[1, NaN], [2, 3]])), InputError);
  assert.throws(() => projectPca(p, fromRows([[1, 2]])), InputError);
});

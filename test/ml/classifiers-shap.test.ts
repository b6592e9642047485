/**
 * TreeSHAP (Lundberg et al. 2018, algorithm 2) against the definition: the Shapley values of
 * E[f(x) | x_S] (algorithm 1: features outside S follow both branches weighted by cover), computed by
 * brute force over every subset of ≤ 6 features. Hand-built trees with hand-computed values
 * (symmetry), a feature met twice on a path, missing values, fitted ensembles, additivity on random
 * rows, and the base value as the mean training margin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitGbt, loadGbt, type GbtJson, type GbtModel } from '../../src/domain/ml/gbt.js';
import { type Tree } from '../../src/domain/ml/trees.js';
import { fromRows, matrix, rowOf, type Matrix } from '../../src/domain/ml/types.js';
import { normal, stream } from '../../src/domain/random.js';

/** Algorithm 1: E[tree(x) | x_S], S a bit mask of features. */
function condExp(t: Tree, x: Float64Array, mask: number, node = 0): number {
  const f = t.feature[node] as number;
  if (f < 0) return t.value[node] as number;
  const l = t.left[node] as number;
  const r = t.right[node] as number;
  if (mask & (1 << f)) {
    const v = x[f] as number;
    const goLeft = v === v ? v <= (t.threshold[node] as number) : (t.nanLeft[node] as number) === 1;
    return condExp(t, x, mask, goLeft ? l : r);
  }
  return ((t.cover[l] as number) * condExp(t, x, mask, l) + (t.cover[r] as number) * condExp(t, x, mask, r)) / (t.cover[node] as number);
}

/** Shapley values by enumeration of all 2^M subsets, and f(∅) (the base). */
function bruteForce(m: GbtModel, x: Float64Array): { base: number; phi: number[] } {
  const M = m.cols;
  const f = (mask: number): number => m.ensemble.trees.reduce((s, t) => s + condExp(t, x, mask), m.ensemble.init);
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const phi = new Array<number>(M).fill(0);
  for (let i = 0; i < M; i++) {
    for (let mask = 0; mask < 1 << M; mask++) {
      if (mask & (1 << i)) continue;
      let size = 0;
      for (let b = mask; b; b >>= 1) size += b & 1;
      const weight = (fact(size) * fact(M - size - 1)) / fact(M);
      phi[i] = (phi[i] as number) + weight * (f(mask | (1 << i)) - f(mask));
    }
  }
  return { base: f(0), phi };
}

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

function checkAgainstBruteForce(m: GbtModel, x: Matrix, rows: number[], tol: number): void {
  for (const r of rows) {
    const { base, values } = m.contributions(x, r);
    const want = bruteForce(m, rowOf(x, r));
    close(base, want.base, tol, `base value, row ${r}`);
    for (let j = 0; j < m.cols; j++) close(values[j] as number, want.phi[j] as number, tol, `φ_${j}, row ${r}`);
    const margin = m.margin(matrix(1, x.cols, rowOf(x, r).slice()))[0] as number;
    close(base + values.reduce((a, b) => a + b, 0), margin, tol, `additivity, row ${r}`);
  }
}

type NodeSpec = [feature: number, threshold: number | 'Infinity', nanLeft: number, left: number, right: number, value: number, cover: number];

function model(cols: number, init: number, trees: NodeSpec[][]): GbtModel {
  const json: GbtJson = {
    kind: 'gbt',
    version: 1,
    cols,
    init,
    trees: trees.map((nodes) => ({
      feature: nodes.map((n) => n[0]),
      threshold: nodes.map((n) => n[1]),
      nanLeft: nodes.map((n) => n[2]),
      left: nodes.map((n) => n[3]),
      right: nodes.map((n) => n[4]),
      value: nodes.map((n) => n[5]),
      cover: nodes.map((n) => n[6]),
      gain: nodes.map((n) => (n[0] >= 0 ? 1 : 0)),
    })),
    info: { trees: trees.length, grown: trees.length, stoppedEarly: false, trainRows: 0, validationRows: 0, validationLoss: [], trainLoss: 0 },
  };
  return loadGbt(json);
}

/** f = 1 when x0 > 0.5 and x1 > 0.5, covers of independent fair coins: E[f] = 0.25. */
const AND: NodeSpec[] = [
  [0, 0.5, 0, 1, 2, 0, 100],
  [1, 0.5, 0, 3, 4, 0, 50],
  [1, 0.5, 0, 5, 6, 0, 50],
  [-1, 0, 0, -1, -1, 0, 25],
  [-1, 0, 0, -1, -1, 0, 25],
  [-1, 0, 0, -1, -1, 0, 25],
  [-1, 0, 0, -1, -1, 1, 25],
];

test('AND tree: hand-computed values, and symmetry of the two features', () => {
  const m = model(2, 0, [AND]);
  const x = fromRows([[1, 1], [1, 0], [0, 0]]);
  // x = (1, 1): f = 1, E f = 0.25; the 0.75 splits equally between the symmetric features.
  let c = m.contributions(x, 0);
  close(c.base, 0.25, 1e-15, 'base = E[f]');
  close(c.values[0] as number, 0.375, 1e-15, 'φ_0(1, 1)');
  close(c.values[1] as number, 0.375, 1e-15, 'φ_1(1, 1)');
  // x = (1, 0): E[f | x0 = 1] = 0.5, E[f | x1 = 0] = 0, f = 0:
  // φ_0 = ½ (0.5 − 0.25) + ½ (0 − 0) = 0.125; φ_1 = ½ (0 − 0.25) + ½ (0 − 0.5) = −0.375.
  c = m.contributions(x, 1);
  close(c.values[0] as number, 0.125, 1e-15, 'φ_0(1, 0)');
  close(c.values[1] as number, -0.375, 1e-15, 'φ_1(1, 0)');
  // x = (0, 0): symmetric again, each −0.125.
  c = m.contributions(x, 2);
  close(c.values[0] as number, -0.125, 1e-15, 'φ_0(0, 0)');
  assert.equal(c.values[0], c.values[1], 'symmetric features get equal values');
  checkAgainstBruteForce(m, x, [0, 1, 2], 1e-14);
});

test('a feature split twice on one path, missing values and an "every value left" split match brute force', () => {
  const tree: NodeSpec[] = [
    [0, 0, 1, 1, 2, 0, 100],
    [1, 0, 0, 3, 4, 0, 60],
    [0, 1, 0, 5, 6, 0, 40],
    [-1, 0, 0, -1, -1, 1, 20],
    [0, -1, 1, 7, 8, 0, 40],
    [2, 0, 0, 9, 10, 0, 30],
    [-1, 0, 0, -1, -1, -2, 10],
    [-1, 0, 0, -1, -1, 0.5, 10],
    [-1, 0, 0, -1, -1, 3, 30],
    [-1, 0, 0, -1, -1, -1, 15],
    [-1, 0, 0, -1, -1, 2, 15],
  ];
  // Second tree: feature 2 present vs missing (threshold +Infinity: every value left).
  const missing: NodeSpec[] = [
    [2, 'Infinity', 0, 1, 2, 0, 100],
    [-1, 0, 0, -1, -1, 0.4, 70],
    [-1, 0, 0, -1, -1, -0.9, 30],
  ];
  const m = model(4, -0.3, [tree, missing, AND]);
  const x = fromRows([
    [-2, -1, 0.5, 9],
    [-0.5, 1, -1, 0],
    [0.5, 0, 1, 0],
    [2, 5, Number.NaN, 1],
    [Number.NaN, 1, 3, 0],
    [-1, Number.NaN, Number.NaN, Number.NaN],
  ]);
  checkAgainstBruteForce(m, x, [0, 1, 2, 3, 4, 5], 1e-13);
  for (let r = 0; r < x.rows; r++) assert.equal(m.contributions(x, r).values[3], 0, `feature 3 is in no tree: φ_3 = 0 (row ${r})`);
  // The +Infinity threshold survives serialise → load.
  const back = loadGbt(m.serialize());
  assert.equal(back.ensemble.trees[1]?.threshold[0], Infinity, 'threshold +Infinity round-trips');
  assert.deepEqual(back.predict(x), m.predict(x), 'same predictions after the round trip');
});

test('fitted ensembles (6 features, interactions, missing values) match brute-force Shapley values', () => {
  const rng = stream(21, 'shap-fit');
  const n = 1_500;
  const x = matrix(n, 6);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = [normal(rng), normal(rng), normal(rng), rng() < 0.2 ? Number.NaN : normal(rng), Math.floor(4 * rng()), normal(rng)];
    x.data.set(r, i * 6);
    const eta = 1.2 * (r[0] as number) * (r[1] as number) + (r[2] as number) - (Number.isNaN(r[3] as number) ? 1 : 0) + 0.3 * (r[4] as number);
    y[i] = rng() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
  }
  const m = fitGbt(x, y, { seed: 2, trees: 12, maxDepth: 5, maxLeaves: 16, minSamplesLeaf: 5, subsample: 0.8 });
  const rows = Array.from({ length: 25 }, (_, k) => k * 59);
  checkAgainstBruteForce(m, x, rows, 1e-10);
});

test('additivity on random rows of a 100-tree model; the base is the mean training margin', () => {
  const rng = stream(22, 'shap-add');
  const n = 5_000;
  const p = 10;
  const x = matrix(n, p);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) x.data[i * p + j] = rng() < 0.05 ? Number.NaN : normal(rng);
    const a = x.data[i * p] as number;
    const b = x.data[i * p + 1] as number;
    y[i] = rng() < (a * b > 0 || Number.isNaN(a) ? 0.7 : 0.3) ? 1 : 0;
  }
  const m = fitGbt(x, y, { seed: 3 });
  const margins = m.margin(x);
  let worst = 0;
  for (let k = 0; k < 200; k++) {
    const r = Math.floor(rng() * n);
    const { base, values } = m.contributions(x, r);
    worst = Math.max(worst, Math.abs(base + values.reduce((s, v) => s + v, 0) - (margins[r] as number)));
  }
  assert.ok(worst < 1e-10, `base + Σ φ = margin on 200 random rows: worst error ${worst}`);
  // Every row trained every tree (no subsampling, no hold-out below 10,000 rows), so the
  // cover-weighted expectation is the plain mean of the training margins.
  let mean = 0;
  for (let i = 0; i < n; i++) mean += margins[i] as number;
  close(m.contributions(x, 0).base, mean / n, 1e-10, 'base = mean training margin');
});

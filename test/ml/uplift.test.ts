/**
 * Uplift meta-learners on a tiny learner defined here (weighted conversion rate per value of a
 * categorical column 0), so that these tests do not depend on logistic.ts or gbt.ts: hand-computed
 * cells (two-model = difference of cell rates; class transformation equal to it on balanced cells),
 * recovery of known per-cell uplift from seeded simulated campaigns at a ½ and at a ⅕ treatment share
 * (where reweighting is what makes class transformation right), seeds and progress passed through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { mulberry32 } from '../../src/domain/random.js';
import { fromRows, matrix, type BinaryClassifier, type Learner, type LearnerOptions, type Matrix } from '../../src/domain/ml/types.js';
import { fitClassTransformation, fitTwoModel, fitUplift, transformedLabel } from '../../src/domain/ml/uplift.js';

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

/** Every call of the cell-rate learner, for checks on what the meta-learners pass it. */
const calls: { rows: number; opts: LearnerOptions | undefined }[] = [];

/** Weighted share of y = 1 per value of column 0 (a cell unseen in training predicts the overall rate). */
const cellRate: Learner = (x: Matrix, y: Uint8Array, opts?: LearnerOptions): BinaryClassifier => {
  calls.push({ rows: x.rows, opts });
  const num = new Map<number, number>(), den = new Map<number, number>();
  let tn = 0, td = 0;
  for (let i = 0; i < x.rows; i++) {
    const c = x.data[i * x.cols] as number;
    const w = opts?.weights ? (opts.weights[i] as number) : 1;
    num.set(c, (num.get(c) ?? 0) + w * (y[i] as number));
    den.set(c, (den.get(c) ?? 0) + w);
    tn += w * (y[i] as number);
    td += w;
  }
  const rate = (c: number) => (den.has(c) ? (num.get(c) ?? 0) / (den.get(c) as number) : tn / td);
  const clip = (p: number) => Math.min(1 - 1e-9, Math.max(1e-9, p));
  return {
    kind: 'cell_rate',
    toJSON: () => ({ rates: Object.fromEntries([...den.keys()].map((c) => [c, rate(c)])) }),
    predict: (m: Matrix) => Float64Array.from({ length: m.rows }, (_, i) => rate(m.data[i * m.cols] as number)),
    importance: () => Float64Array.from({ length: x.cols }, (_, j) => (j === 0 ? 1 : 0)),
    contributions: (m: Matrix, row: number) => {
      const base = Math.log(clip(tn / td) / (1 - clip(tn / td)));
      const p = clip(rate(m.data[row * m.cols] as number));
      const values = new Float64Array(m.cols);
      values[0] = Math.log(p / (1 - p)) - base;
      return { base, values };
    },
  };
};

test('transformed label: Z = 1 for treated converters and control non-converters', () => {
  const z = transformedLabel(Uint8Array.of(1, 0, 1, 0), Uint8Array.of(1, 1, 0, 0));
  assert.deepEqual([...z], [1, 0, 0, 1], 'Z');
});

// Two cells of 8 rows, 4 treated and 4 control each.
// cell 0: treated converters 3 of 4, control 1 of 4 → uplift 0.5
// cell 1: treated converters 1 of 4, control 2 of 4 → uplift −0.25
const X = fromRows([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1].map((c) => [c, 99]));
const TR = Uint8Array.of(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
const YY = Uint8Array.of(1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0);
const CELLS = fromRows([[0, 5], [1, 5], [2, 5]]);

test('two-model: uplift is the treated cell rate minus the control cell rate', () => {
  const m = fitTwoModel(X, YY, TR, cellRate, { seed: 3 });
  const u = m.predict(CELLS);
  close(u[0] as number, 0.75 - 0.25, 1e-12, 'cell 0');
  close(u[1] as number, 0.25 - 0.5, 1e-12, 'cell 1');
  // an unseen cell falls back to each arm's overall rate: 4/8 − 3/8
  close(u[2] as number, 0.5 - 0.375, 1e-12, 'unseen cell');
  const arms = m.predictArms(CELLS);
  close(arms.treated[0] as number, 0.75, 1e-12, 'treated arm, cell 0');
  close(arms.control[1] as number, 0.5, 1e-12, 'control arm, cell 1');
  assert.equal(m.kind, 'two_model(cell_rate)', 'kind');
  assert.equal(m.treatedRows, 8, 'treated rows');
  assert.equal(m.controlRows, 8, 'control rows');
  close(m.treatedShare, 0.5, 0, 'treated share');
});

test('class transformation on balanced cells equals the two-model estimate exactly', () => {
  // cell 0: Z = 1 for 3 treated converters + 3 control non-converters = 6 of 8 → 2·0.75 − 1 = 0.5
  // cell 1: 1 + 2 = 3 of 8 → 2·0.375 − 1 = −0.25
  const m = fitClassTransformation(X, YY, TR, cellRate, { seed: 3 });
  const u = m.predict(CELLS);
  close(u[0] as number, 0.5, 1e-12, 'cell 0');
  close(u[1] as number, -0.25, 1e-12, 'cell 1');
  assert.deepEqual(m.armWeights, { treated: 1, control: 1 }, 'at a ½ share the reweighting multiplies by 1');
  assert.equal(m.kind, 'class_transformation(cell_rate)', 'kind');
});

/** A campaign with four cells of known baseline and uplift, treated with probability `share`. */
function campaign(n: number, share: number, seed: number) {
  const base = [0.05, 0.2, 0.4, 0.1];
  const effect = [0.1, 0.0, -0.1, 0.3];
  const rng = mulberry32(seed);
  const x = matrix(n, 1);
  const y = new Uint8Array(n), t = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rng() * 4);
    x.data[i] = c;
    t[i] = rng() < share ? 1 : 0;
    y[i] = rng() < (base[c] as number) + (t[i] ? (effect[c] as number) : 0) ? 1 : 0;
  }
  return { x, y, t, effect };
}

const FOUR = fromRows([[0], [1], [2], [3]]);

test('both methods recover known per-cell uplift at a ½ treatment share', () => {
  const { x, y, t, effect } = campaign(80_000, 0.5, 42);
  for (const method of ['two_model', 'class_transformation'] as const) {
    const u = fitUplift(method, x, y, t, cellRate, { seed: 1 }).predict(FOUR);
    // standard error of a cell's difference ≈ √(2 · 0.25 / 10,000) ≈ 0.007: allow 4 SE
    effect.forEach((e, c) => close(u[c] as number, e, 0.03, `${method}, cell ${c}`));
  }
});

test('at a ⅕ treatment share class transformation needs the reweighting: with it the uplift is recovered, without it not', () => {
  const { x, y, t, effect } = campaign(100_000, 0.2, 9);
  const weighted = fitClassTransformation(x, y, t, cellRate, { seed: 1 });
  close(weighted.treatedShare, 0.2, 0.01, 'treated share');
  close(weighted.armWeights.treated, 0.5 / weighted.treatedShare, 1e-12, 'treated weight ½ / p');
  close(weighted.armWeights.control, 0.5 / (1 - weighted.treatedShare), 1e-12, 'control weight ½ / (1 − p)');
  const u = weighted.predict(FOUR);
  effect.forEach((e, c) => close(u[c] as number, e, 0.035, `reweighted, cell ${c}`));
  const raw = fitClassTransformation(x, y, t, cellRate, { seed: 1, balance: 'none' }).predict(FOUR);
  // unweighted: 2·(p·p_t + (1 − p)·(1 − p_c)) − 1 with p = 0.2; cell 1 (no effect, base 0.2) → 2·(0.04 + 0.64) − 1 = 0.36
  close(raw[1] as number, 0.36, 0.03, 'unweighted cell 1 is biased as the algebra predicts');
  assert.ok(Math.abs((raw[1] as number) - (effect[1] as number)) > 0.3, `unweighted estimate ${raw[1]} is far from the true 0`);
});

test('seeds, caller weights and progress reach the inner learner; the same seed gives the same inner seeds', () => {
  calls.length = 0;
  const events: string[] = [];
  const w = new Float64Array(16).fill(2);
  fitTwoModel(X, YY, TR, cellRate, { seed: 5, weights: w, progress: (p) => events.push(`${p.phase} ${p.done}/${p.total}`) });
  fitTwoModel(X, YY, TR, cellRate, { seed: 5 });
  fitTwoModel(X, YY, TR, cellRate, { seed: 6 });
  assert.equal(calls.length, 6, 'two inner fits per model');
  const seeds = calls.map((c) => c.opts?.seed);
  assert.equal(seeds[0], seeds[2], 'same seed, same treated-model seed');
  assert.notEqual(seeds[0], seeds[1], 'treated and control models get different seeds');
  assert.notEqual(seeds[0], seeds[4], 'another seed, another inner seed');
  assert.equal(calls[0]?.rows, 8, 'treated model sees the 8 treated rows');
  assert.deepEqual([...(calls[0]?.opts?.weights ?? [])], new Array(8).fill(2), 'caller weights are passed for the arm\'s rows');
  assert.deepEqual(events, ['fit 0/2', 'fit 1/2', 'fit 2/2'], 'progress per inner fit');
  calls.length = 0;
  fitClassTransformation(X, YY, TR, cellRate, { seed: 5, weights: w });
  assert.deepEqual([...(calls[0]?.opts?.weights ?? [])], new Array(16).fill(2), 'caller weights times arm weights 1 at a ½ share');
});

test('bad input is an InputError', () => {
  const isInput = (code: string) => (e: unknown) => e instanceof InputError && e.code === code;
  assert.throws(() => fitTwoModel(X, YY, new Uint8Array(16), cellRate), isInput('uplift.too_few_rows'));
  assert.throws(() => fitTwoModel(X, YY.subarray(0, 4), TR, cellRate), isInput('uplift.length_mismatch'));
  assert.throws(() => fitTwoModel(X, YY, TR.map((v) => v * 2), cellRate), isInput('uplift.treatment_not_binary'));
  assert.throws(() => fitTwoModel(X, YY, TR, cellRate, { minArmRows: 10 }), isInput('uplift.too_few_rows'));
  assert.throws(() => fitClassTransformation(X, YY, TR, cellRate, { weights: new Float64Array(16).fill(-1) }), isInput('uplift.bad_weight'));
});

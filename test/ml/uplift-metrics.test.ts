/**
 * Uplift metrics against scikit-uplift's definitions: an 8-row fixture whose Qini and uplift curves,
 * perfect curves, normalised areas and uplift@k were computed by hand from sklift's formulas (the
 * working is in the comments), then properties on seeded random data (the oracle score is perfect,
 * scores are compared by rank only, a reversed ranking mirrors the curve).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { mulberry32 } from '../../src/domain/random.js';
import {
  auc, downsampleCurve, evaluateUplift, perfectQiniCurve, perfectUpliftCurve, qiniAucScore, qiniCurve, rankByScore, upliftAtK,
  upliftAucScore, upliftCurve, type Curve,
} from '../../src/domain/ml/uplift-metrics.js';

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

function closeCurve(got: Curve, x: number[], y: number[], what: string): void {
  assert.deepEqual([...got.x], x, `${what}: x`);
  assert.equal(got.y.length, y.length, `${what}: ${got.y.length} points, want ${y.length}`);
  y.forEach((v, i) => close(got.y[i] as number, v, 1e-12, `${what} y[${i}]`));
}

// Row:        0    1    2    3    4    5    6    7
const S = [0.9, 0.8, 0.8, 0.5, 0.4, 0.3, 0.3, 0.1];
const T = [1, 0, 1, 1, 0, 1, 0, 0];
const Y = [1, 0, 1, 0, 0, 1, 1, 0];
// Ranked (ties by descending index): 0, 2, 1, 3, 4, 6, 5, 7; thresholds after rows 1, 3, 4, 5, 7, 8.
// Cumulative (n, N_T, Y_T, Y_C): (1,1,1,0) (3,2,2,0) (4,3,2,0) (5,3,2,0) (7,4,3,1) (8,4,3,1).

test('ranking: descending score, ties by descending index (sklift reverses a stable ascending sort)', () => {
  assert.deepEqual([...rankByScore(S)], [0, 2, 1, 3, 4, 6, 5, 7], 'order');
});

test('ranking of large inputs (radix path) equals the comparator definition, with ties, negatives, −0 and infinities', () => {
  const rng = mulberry32(99);
  const n = 20_000;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng();
    s[i] = r < 0.05 ? -0 : r < 0.1 ? 0 : r < 0.12 ? -Infinity : r < 0.14 ? Infinity : Math.round((rng() - 0.5) * 400) / 7 + (r < 0.5 ? 1e-300 * rng() : 0);
  }
  const want = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => {
    const sa = s[a] as number, sb = s[b] as number;
    return sb > sa ? 1 : sb < sa ? -1 : b - a;
  });
  const got = rankByScore(s);
  let first = -1;
  for (let k = 0; k < n && first < 0; k++) if (got[k] !== want[k]) first = k;
  assert.equal(first, -1, `orders differ first at position ${first}`);
});

test('Qini curve: Y_T − Y_C · N_T / N_C at each distinct threshold, from (0, 0)', () => {
  // 1 − 0 (no control yet counts 0); 2 − 0·2/1; 2 − 0·3/1; 2 − 0·3/2; 3 − 1·4/3; 3 − 1·4/4
  closeCurve(qiniCurve(Y, S, T), [0, 1, 3, 4, 5, 7, 8], [0, 1, 2, 2, 2, 5 / 3, 2], 'qini');
  // trapezoids: 0.5 + 3 + 2 + 2 + 11/3 + 11/6 = 13
  close(auc(qiniCurve(Y, S, T)), 13, 1e-12, 'qini area');
});

test('perfect Qini curve, with and without negative effects', () => {
  // oracle y·t − y·(1 − t): rows 5, 2, 0 (treated responders) → 3; then the zeros → 3; control responder 6 last → 3 − 1·4/4
  closeCurve(perfectQiniCurve(Y, T), [0, 3, 7, 8], [0, 3, 3, 2], 'perfect qini');
  close(auc(perfectQiniCurve(Y, T)), 19, 1e-12, 'perfect area: 4.5 + 12 + 2.5');
  // R = Y_T − N_T · Y_C / N_C = 3 − 4 · 1 / 4 = 2
  closeCurve(perfectQiniCurve(Y, T, false), [0, 2, 8], [0, 2, 2], 'perfect qini without negative effects');
});

test('Qini coefficient = (model − random) / (perfect − random)', () => {
  // random line (0, 0) → (8, 2): area 8. (13 − 8) / (19 − 8) = 5/11; without negative effects (13 − 8) / (14 − 8) = 5/6
  close(qiniAucScore(Y, S, T), 5 / 11, 1e-12, 'qini_auc_score');
  close(qiniAucScore(Y, S, T, false), 5 / 6, 1e-12, 'qini_auc_score, negative_effect=False');
});

test('uplift curve, perfect uplift curve and AUUC', () => {
  // (Y_T/N_T − Y_C/N_C)·n: 1·1; 1·3; (2/3)·4; (2/3)·5; (3/4 − 1/3)·7; (3/4 − 1/4)·8
  closeCurve(upliftCurve(Y, S, T), [0, 1, 3, 4, 5, 7, 8], [0, 1, 3, 8 / 3, 10 / 3, 35 / 12, 4], 'uplift curve');
  close(auc(upliftCurve(Y, S, T)), 481 / 24, 1e-12, 'uplift area');
  // control responders (1) do not outnumber treated non-responders (1): oracle 2·[y = t] + t → 3,2,3,1,2,3,0,2
  closeCurve(perfectUpliftCurve(Y, T), [0, 3, 6, 7, 8], [0, 3, 6, 21 / 4, 4], 'perfect uplift curve');
  // random (0,0) → (8,4): 16; perfect area 28.25; (481/24 − 16) / (28.25 − 16) = 97/294
  close(upliftAucScore(Y, S, T), 97 / 294, 1e-12, 'uplift_auc_score');
});

test('uplift@k, overall and by group, with sklift\'s truncation and tie order', () => {
  // overall k = 0.5: int(8·0.5) = 4 rows 0, 2, 1, 3 → treated 2/3, control 0
  close(upliftAtK(Y, S, T, 'overall', 0.5), 2 / 3, 1e-12, 'overall 0.5');
  // k = 0.75 → 6 rows, cutting the 0.3 tie: row 6 (control, converted) comes before row 5 → 2/3 − 1/3
  close(upliftAtK(Y, S, T, 'overall', 0.75), 1 / 3, 1e-12, 'overall 0.75 (tie cut)');
  close(upliftAtK(Y, S, T, 'overall', 3), 1, 1e-12, 'overall 3 rows: 0, 2, 1');
  // k = 0.3 → int(2.4) = 2 rows, both treated: control rate undefined → NaN as numpy's mean of nothing
  assert.ok(Number.isNaN(upliftAtK(Y, S, T, 'overall', 0.3)), 'no control row in the top 2 gives NaN');
  // by group k = 0.5: the top 2 treated (rows 0, 2: both converted) and the top 2 control (rows 1, 4: neither)
  close(upliftAtK(Y, S, T, 'by_group', 0.5), 1, 1e-12, 'by_group 0.5');
  close(upliftAtK(Y, S, T, 'by_group', 0.75), 1 / 3, 1e-12, 'by_group 0.75: int(3) per arm');
  close(upliftAtK(Y, S, T, 'by_group', 0.3), 1, 1e-12, 'by_group 0.3: int(1.2) per arm');
  close(upliftAtK(Y, S, T, 'by_group', 3), 1 / 3, 1e-12, 'by_group 3 rows per arm');
});

test('bad input is an InputError that says what is wrong', () => {
  const isInput = (code: string) => (e: unknown) => e instanceof InputError && e.code === code;
  assert.throws(() => upliftAtK(Y, S, T, 'overall', 1.5), isInput('uplift.bad_k'));
  assert.throws(() => upliftAtK(Y, S, T, 'overall', 8), isInput('uplift.bad_k'));
  assert.throws(() => upliftAtK(Y, S, T, 'by_group', 5), isInput('uplift.bad_k'));
  assert.throws(() => qiniCurve([1, 2], [0, 1], [0, 1]), isInput('uplift.outcome_not_binary'));
  assert.throws(() => qiniCurve([1, 0], [0, 1], [1, 1]), isInput('uplift.one_arm'));
  assert.throws(() => qiniCurve([1, 0], [0, NaN], [1, 0]), isInput('uplift.score_missing'));
  assert.throws(() => qiniCurve([1, 0, 1], [0, 1], [1, 0, 1]), isInput('uplift.length_mismatch'));
  // the treated convert less than the control: the no-negative-effect perfect curve goes backwards
  assert.throws(() => qiniAucScore([0, 0, 1, 1], [1, 2, 3, 4], [1, 1, 0, 0], false), isInput('uplift.negative_overall_effect'));
});

/** Seeded campaign: uplift (true effect) varies with a latent u; the oracle score is u itself. */
function simulate(n: number, seed: number): { y: Uint8Array; t: Uint8Array; u: Float64Array } {
  const rng = mulberry32(seed);
  const y = new Uint8Array(n), t = new Uint8Array(n), u = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    u[i] = rng();
    t[i] = rng() < 0.5 ? 1 : 0;
    const p = 0.1 + (t[i] ? 0.3 * (u[i] as number) - 0.05 : 0);
    y[i] = rng() < p ? 1 : 0;
  }
  return { y, t, u };
}

test('properties: a monotone transform of the score changes nothing; the true uplift ranks well, its reverse badly', () => {
  const { y, t, u } = simulate(4000, 7);
  const squashed = u.map((v) => Math.exp(3 * v) - 10);
  close(qiniAucScore(y, squashed, t), qiniAucScore(y, u, t), 1e-12, 'qini is rank-based');
  close(upliftAucScore(y, squashed, t), upliftAucScore(y, u, t), 1e-12, 'auuc is rank-based');
  const good = qiniAucScore(y, u, t);
  const bad = qiniAucScore(y, u.map((v) => -v), t);
  assert.ok(good > 0.1, `true uplift ranks better than random: qini ${good}`);
  assert.ok(bad < 0, `the reversed ranking is worse than random: qini ${bad}`);
  assert.ok(upliftAtK(y, u, t, 'overall', 0.3) > upliftAtK(y, u.map((v) => -v), t, 'overall', 0.3), 'uplift@30 % of the true ranking beats the reverse');
  // a constant score is one threshold: the curve is the random line itself, coefficient 0
  close(qiniAucScore(y, new Float64Array(4000), t), 0, 1e-12, 'constant score');
});

test('the oracle score reaches the perfect curve exactly: coefficient 1', () => {
  const { y, t } = simulate(500, 11);
  const oracle = Float64Array.from(y, (yi, i) => yi * (t[i] as number) - yi * (1 - (t[i] as number)));
  close(qiniAucScore(y, oracle, t), 1, 1e-12, 'qini of the oracle');
  const perfectU = Float64Array.from(y, (yi, i) => 2 * (yi === t[i] ? 1 : 0) + (t[i] as number));
  const cr = y.filter((yi, i) => yi === 1 && t[i] === 0).length, tn = y.filter((yi, i) => yi === 0 && t[i] === 1).length;
  assert.ok(cr <= tn, `fixture chooses sklift's treatment summand (control responders ${cr} ≤ treated non-responders ${tn})`);
  close(upliftAucScore(y, perfectU, t), 1, 1e-12, 'auuc of the oracle');
});

test('evaluateUplift agrees with the single functions; downsampling keeps the ends', () => {
  const { y, t, u } = simulate(3000, 3);
  const e = evaluateUplift(y, u, t, 21);
  close(e.qini, qiniAucScore(y, u, t), 1e-15, 'qini');
  close(e.auuc, upliftAucScore(y, u, t), 1e-15, 'auuc');
  const at30 = e.upliftAt.find((a) => a.k === 0.3);
  assert.ok(at30 !== undefined, 'uplift@30 % present');
  close(at30.value, upliftAtK(y, u, t, 'overall', 0.3), 1e-15, 'uplift@30 %');
  assert.equal(e.qiniCurve.x.length, 21, 'downsampled to 21 points');
  const full = qiniCurve(y, u, t);
  assert.equal(e.qiniCurve.x[20], full.x[full.x.length - 1], 'last x kept');
  assert.equal(e.qiniCurve.y[20], full.y[full.y.length - 1], 'last y kept');
  assert.equal(downsampleCurve(full, 5000), full, 'a short curve is returned as it is');
});

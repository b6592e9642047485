/**
 * Classifier diagnostics on hand-computed examples: AUC (scikit-learn's documented example, ties,
 * weights), the lift / gain table, calibration and its expected calibration error, log loss with
 * clipping, Brier score, and the plain-language grade.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { baseRate, brierScore, calibration, diagnostics, liftTable, logLoss, qualityGrade, rocAuc } from '../../src/domain/ml/metrics.js';

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

test('ROC AUC: scikit-learn example, ties count one half, weights are frequencies', () => {
  // sklearn.metrics.roc_auc_score docs: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8] → 0.75.
  close(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75, 1e-15, 'sklearn example');
  // Pairs (positive, negative): (0.5, 0.5) tie ½, (0.5, 0.2) 1, (0.9, 0.5) 1, (0.9, 0.2) 1 → 3.5 / 4.
  close(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]), 0.875, 1e-15, 'one tie');
  close(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]), 0.5, 1e-15, 'all tied');
  close(rocAuc([1, 1, 0], [0.1, 0.2, 0.9]), 0, 1e-15, 'perfectly wrong');
  // Weight 2 on the first row = the row twice.
  const w = rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9], [2, 1, 1, 1]);
  close(w, rocAuc([0, 0, 1, 0, 1], [0.5, 0.5, 0.5, 0.2, 0.9]), 1e-15, 'weighted = duplicated');
  close(w, (0.5 * 2 + 1 + 2 * 1 + 1) / (2 * 3), 1e-15, 'weighted by hand: 5 / 6');
  // Order does not matter.
  close(rocAuc([1, 0, 1, 0], [0.9, 0.2, 0.5, 0.5]), 0.875, 1e-15, 'permuted');
  assert.throws(() => rocAuc([1, 1], [0.2, 0.3]), InputError, 'needs a negative');
  assert.throws(() => rocAuc([1, 0], [0.2]), InputError, 'lengths');
  assert.throws(() => rocAuc([1, 0], [0.2, Number.NaN]), InputError, 'NaN score');
});

test('lift table by decile: rows, rates, lift, cumulative lift and gain by hand', () => {
  // 20 rows, scores 20..1 (row i scores 20 − i), positives at ranks 1, 2, 3 and 6: base rate 0.2.
  const y = new Array<number>(20).fill(0);
  for (const i of [0, 1, 2, 5]) y[i] = 1;
  const s = y.map((_, i) => 20 - i);
  const t = liftTable(y, s);
  assert.equal(t.length, 10, 'ten deciles');
  const d1 = t[0]!;
  assert.deepEqual([d1.rows, d1.positives, d1.rate, d1.lift, d1.gain, d1.maxScore, d1.minScore], [2, 2, 1, 5, 0.5, 20, 19], 'decile 1');
  const d2 = t[1]!;
  assert.deepEqual([d2.rows, d2.positives, d2.rate, d2.lift, d2.cumulativeRows, d2.cumulativePositives, d2.cumulativeRate, d2.cumulativeLift, d2.gain], [2, 1, 0.5, 2.5, 4, 3, 0.75, 3.75, 0.75], 'decile 2');
  const d3 = t[2]!;
  close(d3.cumulativeLift, (4 / 6) / 0.2, 1e-12, 'cumulative lift of deciles 1-3 = 3.333');
  assert.equal(d3.gain, 1, 'every positive found by decile 3');
  const d10 = t[9]!;
  assert.deepEqual([d10.positives, d10.lift, d10.cumulativeLift, d10.gain, d10.cumulativeRows], [0, 0, 1, 1, 20], 'decile 10');
  // Shuffling the rows changes nothing.
  const perm = [7, 3, 19, 0, 12, 5, 1, 18, 9, 2, 15, 4, 11, 6, 17, 8, 14, 10, 16, 13];
  assert.deepEqual(liftTable(perm.map((i) => y[i]!), perm.map((i) => s[i]!)), t, 'independent of the row order');
});

test('lift table: equal scores never straddle deciles', () => {
  // 10 rows: four tied at the top, then distinct scores.
  const s = [5, 5, 5, 5, 4, 3, 2, 1, 0, -1];
  const y = [1, 0, 1, 0, 1, 0, 0, 0, 0, 0];
  const t = liftTable(y, s, 5);
  assert.deepEqual(t.map((r) => r.rows), [4, 0, 2, 2, 2], 'the tie group fills group 1, group 2 is empty');
  assert.ok(Number.isNaN(t[1]!.rate), 'an empty group has no rate');
  close(t[0]!.lift, 0.5 / 0.3, 1e-12, 'lift of the tie group');
  const flat = liftTable([1, 0, 0, 1], [1, 1, 1, 1]);
  assert.equal(flat[0]!.rows, 4, 'a constant score puts everyone in decile 1');
});

test('calibration: equal-count bins, observed vs predicted, expected calibration error', () => {
  const p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
  const y = [0, 0, 0, 1, 0, 1, 1, 1, 1, 1];
  const c = calibration(y, p, 5);
  assert.equal(c.bins.length, 5, 'five bins of two');
  const want = [
    [0.15, 0],
    [0.35, 0.5],
    [0.55, 0.5],
    [0.75, 1],
    [0.925, 1],
  ];
  c.bins.forEach((b, k) => {
    close(b.meanPredicted, want[k]![0]!, 1e-12, `bin ${k + 1} mean predicted`);
    close(b.observedRate, want[k]![1]!, 1e-12, `bin ${k + 1} observed`);
    assert.equal(b.rows, 2, `bin ${k + 1} rows`);
  });
  // ECE = Σ 0.2 · |pred − obs| = 0.2 · (0.15 + 0.15 + 0.05 + 0.25 + 0.075) = 0.135.
  close(c.ece, 0.135, 1e-12, 'ECE');
  close(calibration(y, p).ece, p.reduce((s, v, i) => s + Math.abs(v - y[i]!), 0) / 10, 1e-12, 'ten bins of one: mean |p − y|');
});

test('log loss (with clipping), Brier score and base rate by hand', () => {
  close(logLoss([1, 0], [0.8, 0.3]), -(Math.log(0.8) + Math.log(0.7)) / 2, 1e-15, 'log loss = 0.289909');
  close(logLoss([1, 0], [0.8, 0.3]), 0.2899092476264711, 1e-15, 'log loss value');
  close(logLoss([0], [1]), -Math.log(1e-15), 1e-9, 'a certain mistake costs −ln(1e−15) = 34.539');
  close(logLoss([1, 0], [0.8, 0.3], [3, 1]), -(3 * Math.log(0.8) + Math.log(0.7)) / 4, 1e-15, 'weighted');
  close(brierScore([1, 0], [0.8, 0.3]), (0.04 + 0.09) / 2, 1e-15, 'Brier = 0.065');
  close(brierScore([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]), 0.25, 1e-15, 'a coin: 0.25');
  close(baseRate([1, 0, 0, 1, 1]), 0.6, 1e-15, 'base rate');
  close(baseRate([1, 0], [3, 1]), 0.75, 1e-15, 'weighted base rate');
});

test('quality grade: thresholds, a sentence for marketers, warnings', () => {
  const cases: Array<[number, string]> = [
    [0.9, 'excellent'],
    [0.85, 'excellent'],
    [0.8, 'good'],
    [0.7, 'fair'],
    [0.6, 'weak'],
    [0.54, 'no better than chance'],
    [0.3, 'no better than chance'],
  ];
  for (const [auc, grade] of cases) assert.equal(qualityGrade(auc).grade, grade, `AUC ${auc} is ${grade}`);
  const g = qualityGrade(0.78, { topDecileLift: 3.14, outcome: 'buyers', validationPositives: 400 });
  assert.match(g.explanation, /78 %/, 'says the AUC as a percentage');
  assert.match(g.explanation, /buyers/, 'names the outcome');
  assert.match(g.explanation, /3\.1×/, 'gives the top-decile lift');
  assert.match(g.explanation, /good/, 'says the grade');
  assert.equal(g.warnings.length, 0, 'nothing to warn about');
  assert.match(qualityGrade(0.52).explanation, /should not be used/, 'a useless model says so');
  assert.equal(qualityGrade(0.99).warnings.length, 1, 'a suspiciously high AUC is flagged (leakage)');
  assert.match(qualityGrade(0.8, { validationPositives: 12 }).warnings[0] ?? '', /Only 12/, 'few validation positives are flagged');
  assert.throws(() => qualityGrade(1.2), InputError, 'AUC > 1');
});

test('diagnostics bundles every measure of one validation set', () => {
  const y = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0];
  const p = [0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.3, 0.05, 0.9, 0.6];
  const d = diagnostics(y, p, 'buyers');
  close(d.auc, rocAuc(y, p), 0, 'auc');
  assert.equal(d.positives, 4, 'positives');
  close(d.baseRate, 0.4, 1e-15, 'base rate');
  assert.equal(d.lift.length, 10, 'lift table');
  assert.equal(d.quality.grade, qualityGrade(d.auc).grade, 'grade');
  assert.ok(d.quality.warnings.some((w) => /Only 4 buyers/.test(w)), 'warns about 4 validation positives');
});

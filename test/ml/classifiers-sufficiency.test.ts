/**
 * Before and around a fit: data-sufficiency refusals and warnings (with messages that say what would
 * be enough), time-based and seeded stratified splits, and tie-consistent percentiles / top N.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { percentiles, topN } from '../../src/domain/ml/select.js';
import { stratifiedSplit, timeSplit } from '../../src/domain/ml/split.js';
import { assessSufficiency, requireSufficient } from '../../src/domain/ml/sufficiency.js';
import { fromRows, matrix } from '../../src/domain/ml/types.js';

function labels(pos: number, neg: number): Uint8Array {
  const y = new Uint8Array(pos + neg);
  y.fill(1, 0, pos);
  return y;
}

function refusal(fn: () => unknown, pattern: RegExp, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `${what}: an InputError`);
    assert.equal(e.code, 'insufficient_data', `${what}: code`);
    assert.match(e.message, pattern, `${what}: message`);
    return true;
  }, what);
}

test('refuses too few positives or negatives, saying how many and what would be enough', () => {
  refusal(() => requireSufficient({ y: labels(12, 5_000) }), /Only 12 positives .*at least 50 are needed/, 'few positives');
  refusal(() => requireSufficient({ y: labels(5_000, 3) }), /Only 3 negatives .*at least 50/, 'few negatives');
  refusal(() => requireSufficient({ y: labels(30, 30) }), /Only 30 positives.*Only 30 negatives/, 'both, in one message');
  // Configurable thresholds.
  assert.equal(requireSufficient({ y: labels(30, 30) }, { minPositives: 20, minNegatives: 20 }).ok, true, 'lower thresholds accept 30 / 30');
  refusal(() => requireSufficient({ y: labels(150, 5_000) }, { minPositives: 200 }), /Only 150 positives .*at least 200/, 'a higher threshold');
  assert.throws(() => assessSufficiency({ y: labels(1, 1) }, { minPositives: 0 }), InputError, 'a bad threshold is a bad option');
});

test('refuses a constant target, a short history and a matrix without usable columns', () => {
  refusal(() => requireSufficient({ y: labels(0, 2_000) }), /target is constant: all 2,000 rows are negatives/, 'no positive');
  refusal(() => requireSufficient({ y: labels(2_000, 0) }), /all 2,000 rows are positives/, 'no negative');
  refusal(
    () => requireSufficient({ y: labels(100, 900), history: { days: 75, featureWindowDays: 60, predictionWindowDays: 30 } }),
    /covers 75 days, but a 60-day feature window plus a 30-day prediction window need at least 90 days/,
    'history shorter than the windows',
  );
  assert.equal(requireSufficient({ y: labels(100, 900), history: { days: 90, featureWindowDays: 60, predictionWindowDays: 30 } }).ok, true, 'exactly enough history');
  const n = 200;
  const x = matrix(n, 3);
  for (let i = 0; i < n; i++) x.data.set([5, Number.NaN, 5], i * 3);
  refusal(() => requireSufficient({ y: labels(100, 100), x, names: ['a', 'b', 'c'] }), /None of the 3 feature columns is usable/, 'no usable column');
  const r = assessSufficiency({ y: labels(100, 100), x, names: ['a', 'b', 'c'] });
  assert.deepEqual(r.unusableColumns.map((c) => `${c.name}:${c.reason}`), ['a:constant', 'b:missing', 'c:constant'], 'each unusable column and why');
  assert.equal(r.ok, false, 'not ok');
});

test('warnings do not refuse: few positives, imbalance, small validation, unusable columns', () => {
  const n = 20_000;
  const y = labels(120, n - 120);
  const x = matrix(n, 2);
  for (let i = 0; i < n; i++) x.data.set([i % 7, 1], i * 2);
  const r = requireSufficient({ y, x, names: ['orders', 'flag'], validationY: labels(8, 400) });
  assert.equal(r.ok, true, 'the fit goes ahead');
  assert.deepEqual(r.usableColumns, [0], 'orders is usable');
  assert.equal(r.positives, 120, 'positives counted');
  const all = r.warnings.join('\n');
  assert.match(all, /120 positives is enough to fit but few/, 'few positives');
  assert.match(all, /Heavy class imbalance: 0\.60 % of rows are positives/, 'imbalance');
  assert.match(all, /validation set is small \(408 rows, 8 positives/, 'small validation');
  assert.match(all, /flag \(constant\)/, 'the constant column is named');
  const fine = assessSufficiency({ y: labels(500, 1_500), validationY: labels(100, 900) });
  assert.deepEqual(fine.warnings, [], 'a comfortable dataset has no warning');
});

test('time split: earlier snapshots train, the latest validates; overlapping label windows are dropped', () => {
  const DAY = 86_400_000;
  const dates = [0, 0, 30, 30, 60, 60, 90, 90, 90].map((d) => d * DAY);
  const s = timeSplit(dates);
  assert.deepEqual(Array.from(s.train), [0, 1, 2, 3, 4, 5], 'snapshots 0, 30, 60 train');
  assert.deepEqual(Array.from(s.validation), [6, 7, 8], 'snapshot 90 validates');
  assert.equal(s.cutoff, 90 * DAY, 'cutoff');
  // A 45-day prediction window: the snapshot at day 60 sees outcomes up to day 105, past the cutoff.
  const w = timeSplit(dates, { predictionWindow: 45 * DAY });
  assert.deepEqual(Array.from(w.train), [0, 1, 2, 3], 'day 60 is dropped');
  assert.equal(w.dropped, 2, 'two rows dropped');
  const two = timeSplit(dates, { validationSnapshots: 2 });
  assert.deepEqual(two.validationSnapshots, [60 * DAY, 90 * DAY], 'the two latest validate');
  assert.throws(() => timeSplit([5, 5, 5]), InputError, 'one snapshot cannot be split');
  assert.throws(() => timeSplit([0, 10], { predictionWindow: 20 }), InputError, 'every window overlaps');
});

test('stratified split: the same share of each class, the same rows for the same seed', () => {
  const y = labels(100, 900);
  const a = stratifiedSplit(y, 0.2, 4);
  let vp = 0;
  for (const i of a.validation) vp += y[i] as number;
  assert.equal(a.validation.length, 200, '20 % of the rows');
  assert.equal(vp, 20, '20 % of the positives');
  assert.equal(a.train.length + a.validation.length, 1_000, 'a partition');
  assert.deepEqual(new Set([...a.train, ...a.validation]).size, 1_000, 'no row twice');
  assert.deepEqual(stratifiedSplit(y, 0.2, 4), a, 'same seed, same split');
  assert.notDeepEqual(stratifiedSplit(y, 0.2, 5).validation, a.validation, 'another seed, other rows');
  const tiny = stratifiedSplit(labels(2, 50), 0.1, 1);
  let tp = 0;
  for (const i of tiny.validation) tp += i < 2 ? 1 : 0;
  assert.equal(tp, 1, 'a class of two still gives one row to validation');
  assert.throws(() => stratifiedSplit(y, 1), InputError, 'fraction 1');
});

test('percentiles are tie-consistent, order-free and skip NaN; top N is best first', () => {
  const s = [3, 1, 3, Number.NaN, 2, 5];
  const p = percentiles(s);
  assert.deepEqual(Array.from(p).map((v) => (Number.isNaN(v) ? 'NaN' : v)), [40, 0, 40, 'NaN', 20, 80], 'share of the 5 scored values strictly below');
  const top = topN(s, 3);
  assert.deepEqual(top.map((r) => r.index), [5, 0, 2], 'best first, ties by index');
  assert.deepEqual(top.map((r) => r.percentile), [80, 40, 40], 'with their percentiles');
  // The heap path (k ≪ n) agrees with a full sort.
  const many = Array.from({ length: 5_000 }, (_, i) => ((i * 7919) % 1_000) / 10);
  const byHeap = topN(many, 50).map((r) => r.index);
  const bySort = Array.from(many.keys()).sort((a, b) => many[b]! - many[a]! || a - b).slice(0, 50);
  assert.deepEqual(byHeap, bySort, 'heap = sort');
  assert.deepEqual(topN(s, 0), [], 'top 0');
  assert.equal(topN(s, 99).length, 5, 'at most the scored rows');
  assert.deepEqual(Array.from(percentiles(fromRows([[1], [1]]).data)), [0, 0], 'all tied: 0');
});

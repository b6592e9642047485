/**
 * Fairness report against fairlearn's definitions: the REFERENCES.md fixture exactly (demographic-parity
 * difference 0.25 and ratio 0.6667, equalized-odds difference 1.0, per-group selection rate / TPR /
 * FPR), both input forms of the group column, the four-fifths flag, small groups, unknown attribute
 * values, groups without positives, and the summary's sentences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { fairnessReport, type FairnessReport } from '../../src/domain/ml/fairness.js';

function close(got: number | null | undefined, want: number, tol: number, what: string): void {
  assert.ok(typeof got === 'number' && Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

// REFERENCES.md, "Fairness (fairlearn definitions)"
const Y_TRUE = [0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1];
const Y_PRED = [0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0];
const GROUP = ['b', 'b', 'a', 'b', 'b', 'c', 'c', 'c', 'a', 'a', 'c', 'a', 'b', 'c', 'c', 'b', 'c', 'c'];

function checkFixture(r: FairnessReport): void {
  close(r.demographicParity.difference, 0.25, 1e-12, 'DP difference');
  close(r.demographicParity.ratio, 0.6667, 5e-5, 'DP ratio');
  close(r.demographicParity.ratio, 2 / 3, 1e-12, 'DP ratio exactly');
  close(r.equalizedOdds?.difference, 1.0, 1e-12, 'EO difference');
  const by = new Map(r.groups.map((g) => [g.group, g]));
  const want: Record<string, [number, number, number]> = { a: [0.75, 0.5, 1.0], b: [0.5, 0.6, 0], c: [0.5, 0.4, 2 / 3] };
  for (const [g, [sel, tpr, fpr]] of Object.entries(want)) {
    close(by.get(g)?.selectionRate.value, sel, 1e-12, `selection rate ${g}`);
    close(by.get(g)?.truePositiveRate, tpr, 1e-12, `TPR ${g}`);
    close(by.get(g)?.falsePositiveRate, fpr, 1e-12, `FPR ${g}`);
  }
  close(by.get('c')?.falsePositiveRate, 0.667, 5e-4, 'FPR c at the printed precision');
  assert.deepEqual(r.groups.map((g) => [g.group, g.n]).sort(), [['a', 4], ['b', 6], ['c', 8]], 'group sizes');
  assert.equal(r.demographicParity.highest, 'a', 'highest selection rate');
  assert.ok(['b', 'c'].includes(r.demographicParity.lowest), `lowest: ${r.demographicParity.lowest}`);
  // TPR spread 0.6 − 0.4 = 0.2, FPR spread 1.0 − 0 = 1.0
  close(r.equalizedOdds?.tprDifference, 0.2, 1e-12, 'TPR difference');
  close(r.equalizedOdds?.fprDifference, 1.0, 1e-12, 'FPR difference');
}

test('the REFERENCES.md fixture, labels form', () => {
  const r = fairnessReport({ attribute: 'group', group: GROUP, selected: Y_PRED, actual: Y_TRUE });
  checkFixture(r);
  assert.equal(r.demographicParity.fourFifthsViolated, true, '2/3 < 0.8 is flagged');
  assert.deepEqual(r.flags.sort(), ['four_fifths', 'small_groups'], 'flags');
  assert.ok(r.groups.every((g) => g.tooSmall), 'every group has fewer than 30 members');
  assert.ok(r.summary.includes('from 50.0 % (b) to 75.0 % (a)'), `summary: ${r.summary}`);
  assert.ok(r.summary.includes('four-fifths rule'), `summary names the four-fifths rule: ${r.summary}`);
  assert.ok(r.summary.includes('up to 100.0 points'), `summary gives the equalized-odds difference: ${r.summary}`);
});

test('the same fixture, codes form, with unknown values left out', () => {
  const labels = ['c', 'b', 'a'];
  const codes = [...GROUP.map((g) => labels.indexOf(g)), -1, -1];
  const r = fairnessReport({ attribute: 'group', group: { codes, labels: [...labels, 'never seen'] }, selected: [...Y_PRED, 1, 1], actual: [...Y_TRUE, 0, 0] });
  checkFixture(r);
  assert.equal(r.missing, 2, 'two rows without a group');
  assert.ok(r.flags.includes('missing_attribute'), 'missing attribute flagged');
  assert.equal(r.groups.length, 3, 'a label no row carries is not a group');
});

test('no four-fifths flag at a ratio of 0.8 or more; small-group threshold is configurable', () => {
  // group x: 8 of 10 selected, group y: 7 of 10 → ratio 0.875
  const group = [...Array(10).fill('x'), ...Array(10).fill('y')] as string[];
  const selected = [...Array(8).fill(1), 0, 0, ...Array(7).fill(1), 0, 0, 0];
  const r = fairnessReport({ attribute: 'region', group, selected }, { minGroupSize: 10 });
  close(r.demographicParity.ratio, 0.875, 1e-12, 'ratio');
  close(r.demographicParity.difference, 0.1, 1e-12, 'difference');
  assert.equal(r.demographicParity.fourFifthsViolated, false, 'not flagged');
  assert.deepEqual(r.flags, [], 'no flags');
  assert.equal(r.equalizedOdds, null, 'no equalized odds without outcomes');
  assert.equal(r.groups[0]?.truePositiveRate, null, 'no TPR without outcomes');
  assert.ok(r.summary.includes('no four-fifths flag'), `summary: ${r.summary}`);
  // a 0.9 threshold flags the same numbers
  assert.equal(fairnessReport({ attribute: 'region', group, selected }, { fourFifths: 0.9 }).demographicParity.fourFifthsViolated, true, 'threshold 0.9');
});

test('a group without actual positives has no TPR (null, left out, flagged), unlike fairlearn\'s 0', () => {
  const r = fairnessReport({ attribute: 'g', group: ['p', 'p', 'q', 'q'], selected: [1, 0, 1, 0], actual: [1, 0, 0, 0] });
  const q = r.groups.find((g) => g.group === 'q');
  assert.equal(q?.truePositiveRate, null, 'q has no positives');
  close(q?.falsePositiveRate, 0.5, 1e-12, 'q FPR');
  close(r.equalizedOdds?.tprDifference, 0, 1e-12, 'TPR spread over p alone');
  close(r.equalizedOdds?.fprDifference, 0.5, 1e-12, 'FPR spread: p 0, q 0.5');
  assert.ok(r.flags.includes('undefined_rates'), 'flagged');
});

test('nobody selected: ratio undefined; a single group: nothing to compare', () => {
  const none = fairnessReport({ attribute: 'g', group: ['a', 'b'], selected: [0, 0] });
  assert.equal(none.demographicParity.ratio, null, 'ratio 0 / 0');
  assert.ok(none.flags.includes('nobody_selected'), 'flagged');
  const one = fairnessReport({ attribute: 'g', group: ['a', 'a'], selected: [1, 0] });
  assert.ok(one.flags.includes('single_group'), 'single group flagged');
  close(one.demographicParity.difference, 0, 0, 'no spread');
  assert.ok(one.summary.startsWith('Only one g group'), `summary: ${one.summary}`);
});

test('bad input is an InputError', () => {
  const isInput = (code: string) => (e: unknown) => e instanceof InputError && e.code === code;
  assert.throws(() => fairnessReport({ attribute: 'g', group: ['a'], selected: [1, 0] }), isInput('fairness.length_mismatch'));
  assert.throws(() => fairnessReport({ attribute: 'g', group: ['a', 'b'], selected: [1, 2] }), isInput('fairness.selection_not_binary'));
  assert.throws(() => fairnessReport({ attribute: 'g', group: [null, null], selected: [1, 0] }), isInput('fairness.no_groups'));
  assert.throws(() => fairnessReport({ attribute: 'g', group: { codes: [0, 5], labels: ['a'] }, selected: [1, 0] }), isInput('fairness.bad_group_code'));
});

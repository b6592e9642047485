/**
 * Per-group campaign effects: one hand-made group for each verdict (moves, would buy anyway, does not
 * help, may hurt, too few), intervals that are exactly the insights statistics (Newcombe for rates,
 * Welch for spend, Wilson per arm) on the group's counts and moments, NaN spend left out, the verdict on
 * spend, and deciles of predicted uplift split as numpy's array_split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { newcombeDifference, welchDifference, wilson, zFor } from '../../src/domain/insights/stats.js';
import { groupEffects, upliftBins, VERDICT_TEXT, type EffectGroup } from '../../src/domain/ml/uplift-effects.js';

function close(got: number | null, want: number, tol: number, what: string): void {
  assert.ok(got !== null && Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

/** Rows of one group: `nt` treated of which `kt` converted, `nc` control of which `kc` converted. */
interface Spec { label: string; nt: number; kt: number; nc: number; kc: number }

function build(specs: Spec[], spendOf: (treated: boolean, converted: boolean) => number = (_, c) => (c ? 10 : 0)) {
  const treatment: number[] = [], converted: number[] = [], spend: number[] = [];
  const groups: EffectGroup[] = [];
  for (const s of specs) {
    const rows: number[] = [];
    const push = (t: number, c: number) => {
      rows.push(treatment.length);
      treatment.push(t);
      converted.push(c);
      spend.push(spendOf(t === 1, c === 1));
    };
    for (let i = 0; i < s.nt; i++) push(1, i < s.kt ? 1 : 0);
    for (let i = 0; i < s.nc; i++) push(0, i < s.kc ? 1 : 0);
    groups.push({ label: s.label, rows });
  }
  return { data: { treatment, converted, spend }, groups };
}

const SPECS: Spec[] = [
  { label: 'A', nt: 50, kt: 20, nc: 50, kc: 5 }, // +30 pp: moves
  { label: 'B', nt: 50, kt: 25, nc: 50, kc: 24 }, // +2 pp, control 48 % ≥ overall: would buy anyway
  { label: 'C', nt: 50, kt: 2, nc: 50, kc: 3 }, // −2 pp, control 6 % below overall: does not help
  { label: 'D', nt: 50, kt: 0, nc: 50, kc: 15 }, // −30 pp: may hurt
  { label: 'E', nt: 10, kt: 5, nc: 10, kc: 0 }, // 10 per arm < 30: too few
];

test('one verdict per group, by the documented rule', () => {
  const { data, groups } = build(SPECS);
  const r = groupEffects(data, groups);
  assert.deepEqual(r.groups.map((g) => g.verdict), ['moves', 'anyway', 'no_help', 'hurts', 'too_few'], 'verdicts');
  // overall control rate: (5 + 24 + 3 + 15 + 0) / 210
  close(r.overall.control.rate.value, 47 / 210, 1e-12, 'overall control rate');
  assert.ok(r.groups[0]?.verdictText.startsWith(`A: ${VERDICT_TEXT.moves}: conversion 40.0 % contacted vs 10.0 % not contacted, +30.0 pp`), `text: ${r.groups[0]?.verdictText}`);
  assert.ok(r.groups[4]?.verdictText.includes('10 contacted, 10 not contacted; at least 30 of each needed'), `text: ${r.groups[4]?.verdictText}`);
  assert.equal(r.rule.length > 0, true, 'the rule travels with the report');
  // the campaign as a whole: +? the interval of all rows; never "would buy anyway"
  assert.notEqual(r.overall.verdict, 'anyway', 'overall is never "would buy anyway"');
  // with minPerArm 5, group E (+50 pp on 10 per arm) has enough rows and its interval is above 0
  assert.equal(groupEffects(data, groups, { minPerArm: 5 }).groups[4]?.verdict, 'moves', 'E with minPerArm 5');
});

test('intervals are Newcombe (difference), Wilson (each arm) and Welch (spend) on the group\'s own numbers', () => {
  const { data, groups } = build(SPECS);
  const r = groupEffects(data, groups, { confidence: 0.9 });
  const z = zFor(0.9);
  const a = r.groups[0];
  assert.ok(a !== undefined, 'group A');
  assert.deepEqual(a.conversionDifference, newcombeDifference(20, 50, 5, 50, z), 'Newcombe at 90 %');
  assert.deepEqual(a.treated.rate, wilson(20, 50, z), 'Wilson, treated');
  assert.deepEqual(a.control.rate, wilson(5, 50, z), 'Wilson, control');
  // spend 10 per conversion: treated mean 4, sd √((20·36 + 30·16) / 49); control mean 1, sd √((5·81 + 45·1) / 49)
  close(a.treated.spend?.mean ?? null, 4, 1e-12, 'treated mean spend');
  close(a.treated.spend?.sd ?? null, Math.sqrt(1200 / 49), 1e-12, 'treated sd');
  close(a.control.spend?.sd ?? null, Math.sqrt(450 / 49), 1e-12, 'control sd');
  const welch = welchDifference({ n: 50, mean: 4, sd: Math.sqrt(1200 / 49) }, { n: 50, mean: 1, sd: Math.sqrt(450 / 49) }, 0.9);
  close(a.spendDifference?.value ?? null, 3, 1e-12, 'spend difference');
  close(a.spendDifference?.low ?? null, welch.low as number, 1e-9, 'Welch low');
  close(a.spendDifference?.high ?? null, welch.high as number, 1e-9, 'Welch high');
});

test('NaN spend counts for conversion but not for spend; no spend gives no spend numbers', () => {
  const { data, groups } = build([{ label: 'A', nt: 40, kt: 10, nc: 40, kc: 4 }], (t, c) => (t && !c ? NaN : c ? 20 : 0));
  const a = groupEffects(data, groups).groups[0];
  assert.equal(a?.treated.n, 40, 'all treated rows count for conversion');
  assert.equal(a?.treated.spend?.n, 10, 'only the 10 treated rows with a spend count for spend');
  close(a?.treated.spend?.mean ?? null, 20, 1e-12, 'mean over known spend');
  const none = groupEffects({ treatment: data.treatment, converted: data.converted }, groups).groups[0];
  assert.equal(none?.spendDifference, null, 'no spend difference without spend');
  assert.equal(none?.treated.spend, null, 'no spend moments without spend');
});

test('the verdict can read spend instead of conversion', () => {
  // same conversions in both arms, but treated buyers spend 50 and control buyers 5
  const { data, groups } = build([{ label: 'S', nt: 200, kt: 60, nc: 200, kc: 60 }, { label: 'T', nt: 200, kt: 20, nc: 200, kc: 20 }], (t, c) => (c ? (t ? 50 : 5) : 0));
  const byConversion = groupEffects(data, groups);
  const bySpend = groupEffects(data, groups, { verdictOn: 'spend' });
  assert.notEqual(byConversion.groups[0]?.verdict, 'moves', 'conversion alone sees no effect');
  assert.equal(bySpend.groups[0]?.verdict, 'moves', 'spend sees the effect');
  assert.ok(bySpend.groups[0]?.verdictText.includes('spend per customer +13.50'), `text: ${bySpend.groups[0]?.verdictText}`);
});

test('deciles of predicted uplift: highest first, sizes as numpy array_split', () => {
  const scores = Array.from({ length: 23 }, (_, i) => i / 10);
  const bins = upliftBins(scores, 10);
  assert.deepEqual(bins.map((b) => b.rows.length), [3, 3, 3, 2, 2, 2, 2, 2, 2, 2], 'sizes');
  assert.deepEqual([...(bins[0]?.rows as Uint32Array)], [22, 21, 20], 'top bin holds the highest scores');
  assert.deepEqual(bins.map((b) => b.label).slice(0, 3), ['0-10 %', '10-20 %', '20-30 %'], 'labels');
  assert.deepEqual(upliftBins([1, 2, 3], 3).map((b) => [...(b.rows as Uint32Array)]), [[2], [1], [0]], 'one row per bin');
});

test('bad input is an InputError', () => {
  const isInput = (code: string) => (e: unknown) => e instanceof InputError && e.code === code;
  const { data, groups } = build(SPECS);
  assert.throws(() => groupEffects(data, groups, { confidence: 95 }), isInput('effects.bad_confidence'));
  assert.throws(() => groupEffects({ treatment: data.treatment, converted: data.converted }, groups, { verdictOn: 'spend' }), isInput('effects.no_spend'));
  assert.throws(() => groupEffects(data, [{ label: 'x', rows: [100_000] }]), isInput('effects.bad_row'));
  assert.throws(() => groupEffects({ ...data, converted: data.converted.map(() => 2) }, groups), isInput('effects.outcome_not_binary'));
  assert.throws(() => upliftBins([1, 2], 3), isInput('effects.bad_bins'));
});

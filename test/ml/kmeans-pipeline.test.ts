/**
 * The feature pipeline in front of k-means: imputation, log1p by skewness, standardisation, one-hot,
 * dropped columns, a JSON spec that round-trips, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { applyPipeline, fitPipeline, parsePipelineSpec, skewness, type RawColumns } from '../../src/domain/ml/pipeline.js';
import { normal, stream } from '../../src/domain/random.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} ± ${tol}`);

/** 2,000 generated customers: lognormal spend (skewed), normal age, 12 channels of falling frequency. */
function customers(n = 2000): RawColumns {
  const rng = stream(5, 'pipeline test');
  const monetary: Array<number | null> = [];
  const age: number[] = [];
  const channel: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    monetary.push(i % 50 === 7 ? null : Math.exp(3 + 1.2 * normal(rng)));
    age.push(40 + 12 * normal(rng));
    const c = Math.floor(12 * rng() ** 2);
    channel.push(i % 100 === 3 ? null : `ch${String(c).padStart(2, '0')}`);
  }
  return { monetary, age, channel };
}

function column(x: { rows: number; cols: number; data: Float64Array }, j: number): number[] {
  return Array.from({ length: x.rows }, (_, i) => x.data[i * x.cols + j] as number);
}

test('skewness by hand: [0, 0, 0, 10] has g₁ = 93.75 / 18.75^1.5', () => {
  close(skewness(Float64Array.from([0, 0, 0, 10])) as number, 93.75 / 18.75 ** 1.5, 1e-12, 'skewness');
  assert.equal(skewness(Float64Array.from([3, 3, 3])), null);
});

test('fit and apply: log1p for the skewed amount only, standardised, top levels + other, medians imputed', () => {
  const raw = customers();
  const { spec, notes } = fitPipeline(raw, { topLevels: 8 });
  const [m, a, c] = spec.steps;
  assert.ok(m?.kind === 'numeric' && m.log1p && (m.skewness as number) > 1, `monetary: ${JSON.stringify(m)}`);
  assert.ok(a?.kind === 'numeric' && !a.log1p && Math.abs(a.skewness as number) < 0.3, `age: ${JSON.stringify(a)}`);
  assert.ok(c?.kind === 'categorical' && c.levels.length === 8 && c.other, `channel: ${JSON.stringify(c)}`);
  assert.equal(m.missing, 40);
  assert.equal(c.missing, 20);
  // Levels by frequency: ch00 is the most frequent with these draws (rng² skews to low numbers).
  assert.equal(c.levels[0], 'ch00');
  assert.deepEqual(spec.names, ['monetary', 'age', ...c.levels.map((l) => `channel=${l}`), 'channel=other']);
  assert.equal(notes.length, 3);
  const out = applyPipeline(spec, raw);
  assert.equal(out.x.rows, 2000);
  assert.equal(out.x.cols, 11);
  for (const j of [0, 1]) {
    const v = column(out.x, j);
    const mean = v.reduce((s, t) => s + t, 0) / v.length;
    const sd = Math.sqrt(v.reduce((s, t) => s + (t - mean) ** 2, 0) / v.length);
    close(mean, 0, 1e-12, `column ${j} mean`);
    close(sd, 1, 1e-12, `column ${j} sd`);
  }
  // A missing amount is log1p(median), standardised.
  close(out.x.data[7 * 11] as number, (Math.log1p(m.median) - m.mean) / m.sd, 1e-12, 'imputed row 7');
  assert.equal(out.imputed['monetary'], 40);
  // Every row has exactly one channel column set.
  for (let i = 0; i < 2000; i++) assert.equal([2, 3, 4, 5, 6, 7, 8, 9, 10].reduce((s, j) => s + (out.x.data[i * 11 + j] as number), 0), 1, `row ${i} one-hot`);
  assert.equal(out.unmatched['channel'], 2000 - [2, 3, 4, 5, 6, 7, 8, 9].reduce((s, j) => s + column(out.x, j).reduce((a2, b) => a2 + b, 0), 0));
});

test('the spec is JSON: it round-trips and gives the same matrix', () => {
  const raw = customers(500);
  const { spec } = fitPipeline(raw);
  const back = parsePipelineSpec(JSON.parse(JSON.stringify(spec)));
  assert.deepEqual(back, spec);
  assert.deepEqual([...applyPipeline(back, raw).x.data], [...applyPipeline(spec, raw).x.data]);
  assert.deepEqual(fitPipeline(raw).spec, spec, 'deterministic');
  assert.throws(() => parsePipelineSpec({ version: 2 }), InputError);
  assert.throws(() => parsePipelineSpec({ ...spec, steps: [{ name: 'a', kind: 'numeric', log1p: false, skewness: null, median: 0, mean: 0, sd: 0, missing: 0 }] }), InputError, 'sd 0 is not a spec');
});

test('standardisation and median by hand; constant, all-missing and single-level columns are dropped', () => {
  const raw: RawColumns = {
    a: [1, 2, null, 4, 3],
    flat: [7, 7, 7, 7, 7],
    none: [null, null, NaN, undefined, null],
    one: ['x', 'x', null, 'x', 'x'].map((v) => (v === null ? 'x' : v)),
    b: Float64Array.from([0, 0, 0, 0, 10]),
  };
  const { spec } = fitPipeline(raw);
  const kinds = Object.fromEntries(spec.steps.map((s) => [s.name, s.kind === 'dropped' ? s.reason : s.kind]));
  assert.deepEqual(kinds, { a: 'numeric', flat: 'constant', none: 'all-missing', one: 'constant', b: 'numeric' });
  const a = spec.steps[0];
  assert.ok(a?.kind === 'numeric' && a.median === 2.5 && !a.log1p, `a: ${JSON.stringify(a)}`);
  // After imputation a = [1, 2, 2.5, 4, 3]: mean 2.5, population variance (2.25 + 0.25 + 0 + 2.25 + 0.25) / 5 = 1.
  close(a.mean, 2.5, 1e-15, 'mean');
  close(a.sd, 1, 1e-15, 'sd');
  // b is skewed (g₁ 1.5) and non-negative: log1p.
  const b = spec.steps[4];
  assert.ok(b?.kind === 'numeric' && b.log1p, 'b log1p');
  assert.deepEqual(spec.names, ['a', 'b']);
  const out = applyPipeline(spec, { a: [1, 2, null, 4, 3], b: [0, 0, 0, 0, 10] });
  assert.deepEqual(column(out.x, 0), [-1.5, -0.5, 0, 1.5, 0.5]);
  assert.equal(out.imputed['a'], 1);
});

test('overrides: force or refuse log1p, one-hot a numeric code, drop; a higher threshold keeps amounts raw', () => {
  const raw: RawColumns = { spend: [0, 1, 2, 3, 100, 4], code: [1, 2, 1, 2, 1, 3], age: [30, 40, 50, 60, 35, 45] };
  const forced = fitPipeline(raw, { transforms: { spend: 'standard', code: 'onehot', age: 'log1p' } }).spec;
  assert.ok(forced.steps[0]?.kind === 'numeric' && !forced.steps[0].log1p, 'spend standard');
  assert.ok(forced.steps[1]?.kind === 'categorical' && forced.steps[1].levels.join() === '1,2,3', 'code one-hot');
  assert.ok(forced.steps[2]?.kind === 'numeric' && forced.steps[2].log1p, 'age log1p');
  assert.ok(fitPipeline(raw).spec.steps[0]?.kind === 'numeric' && (fitPipeline(raw).spec.steps[0] as { log1p: boolean }).log1p, 'auto: spend log1p');
  assert.ok(!(fitPipeline(raw, { skewThreshold: 5 }).spec.steps[0] as { log1p: boolean }).log1p, 'threshold 5: raw');
  assert.deepEqual(fitPipeline(raw, { transforms: { code: 'drop' } }).spec.names, ['spend', 'age']);
  assert.throws(() => fitPipeline({ v: [-1, 2, 3] }, { transforms: { v: 'log1p' } }), (e: unknown) => e instanceof InputError && /negative/.test(e.message), 'log1p of negatives');
});

test('apply to new rows: unseen levels go to other (or nowhere), negative amounts are clamped', () => {
  const { spec } = fitPipeline({ spend: [1, 2, 3, 50, 4, 0, 2], plan: ['a', 'a', 'b', 'b', 'c', 'a', 'b'] }, { topLevels: 2 });
  assert.deepEqual(spec.names, ['spend', 'plan=a', 'plan=b', 'plan=other']);
  const out = applyPipeline(spec, { spend: [-5, 3], plan: ['zzz', null] });
  assert.deepEqual([...out.x.data.subarray(1, 4)], [0, 0, 1]);
  assert.deepEqual([...out.x.data.subarray(5, 8)], [0, 0, 1], 'missing → "missing", not a kept level → other');
  assert.equal(out.unmatched['plan'], 2);
  assert.equal(out.clamped['spend'], 1);
  const s0 = spec.steps[0] as { mean: number; sd: number };
  close(out.x.data[0] as number, (Math.log1p(0) - s0.mean) / s0.sd, 1e-12, 'clamped to 0');
  const noOther = fitPipeline({ plan: ['a', 'b', 'a'] }).spec;
  const z = applyPipeline(noOther, { plan: ['c'] });
  assert.deepEqual([...z.x.data], [0, 0]);
  assert.equal(z.unmatched['plan'], 1);
});

test('bad input says what is wrong', () => {
  const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof InputError && re.test(e.message), `expected InputError matching ${re}`);
  bad(() => fitPipeline({ a: [1, 'x', 3] }), /mixes numbers and strings/);
  bad(() => fitPipeline({ a: [1, 2], b: [1, 2, 3] }), /'b' has 3 rows, the others 2/);
  bad(() => fitPipeline({ a: [1, Infinity] }), /not a finite number/);
  bad(() => fitPipeline({}), /at least one column/);
  bad(() => fitPipeline({ a: [1, 1] }), /no usable column/);
  bad(() => fitPipeline({ a: [1, 2] }, { transforms: { b: 'drop' } }), /'b', which is not a pipeline column/);
  bad(() => fitPipeline({ a: [1, 2] }, { topLevels: 0 }), /topLevels/);
  const { spec } = fitPipeline({ a: [1, 2, 3], b: ['x', 'y', 'x'] });
  bad(() => applyPipeline(spec, { a: [1] }), /'b' is missing/);
  bad(() => applyPipeline(spec, { a: ['1'], b: ['x'] }), /expected a number/);
});

/**
 * Protected-attribute guards: every use of a protected trait in a segment definition with its JSON
 * pointer (direct, in computed traits, in event paths, through referenced segments with a cycle, through
 * a model's features and a computed trait's definition), unresolved references keeping the guard from
 * saying "clean"; protected feature names of a model fit; and the proxy measures against hand-computed
 * values (Cramér's V of a 3×3 table, η, Pearson r) and a seeded ranking of proxies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { mulberry32 } from '../../src/domain/random.js';
import type { ComputedTraitDefinition, Condition } from '../../src/domain/segments/ast.js';
import {
  absPearson, association, correlationRatio, cramersV, protectedFeatures, protectedUses, rankProxies, type ProxyColumn,
} from '../../src/domain/ml/protected.js';

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

const PROTECTED = ['gender', 'Age', 'ethnicity', 'birthday'];

const DEFINITION: Condition = {
  type: 'and',
  conditions: [
    { type: 'trait', trait: 'Gender', op: 'eq', value: 'f' },
    {
      type: 'or',
      conditions: [
        { type: 'computed_trait', key: 'age', op: 'gt', value: 30 },
        { type: 'event', event: 'Order Completed', where: [{ path: 'properties.total', op: 'gt', value: 10 }, { path: 'context.traits.ethnicity', op: 'eq', value: 'x' }] },
        { type: 'computed_trait', key: 'favourite', op: 'eq', value: 'shoes' },
      ],
    },
    { type: 'segment', segment: 'adults' },
    { type: 'score', model: 'churn', op: 'gt', value: 0.5 },
    { type: 'not', condition: { type: 'trait', trait: 'city', op: 'eq', value: 'Oslo' } },
    { type: 'last_value', event: 'Identify', path: 'context.traits.birthday.year', op: 'exists' },
  ],
};

const SEGMENTS: Record<string, Condition> = {
  adults: { type: 'and', conditions: [{ type: 'trait', trait: 'birthday', op: 'before', date: '2007-01-01' }, { type: 'segment', segment: 'vip' }] },
  vip: { type: 'or', conditions: [{ type: 'segment', segment: 'adults' }, { type: 'trait', trait: 'gender', op: 'eq', value: 'm' }] },
};

const COMPUTED: Record<string, ComputedTraitDefinition> = {
  age: { key: 'age', kind: 'last', event: 'Identify', path: 'context.traits.age' },
  favourite: { key: 'favourite', kind: 'most_frequent', event: 'Product Viewed', path: 'properties.category', where: [{ path: 'context.traits.gender', op: 'eq', value: 'f' }] },
};

test('every use of a protected trait, with its path, through segments, computed traits and models', () => {
  const r = protectedUses(DEFINITION, PROTECTED, {
    segment: (k) => SEGMENTS[k],
    computedTrait: (k) => COMPUTED[k],
    modelFeatures: (m) => (m === 'churn' ? ['recency', 'gender_female', 'orders'] : undefined),
  });
  const got = r.uses.map((u) => `${u.kind} ${u.key} ${u.path}${u.detail ? ` (${u.detail})` : ''}`);
  assert.deepEqual(got, [
    'trait gender /conditions/0/trait',
    'computed_trait Age /conditions/1/conditions/0/key',
    "computed_trait_definition Age /conditions/1/conditions/0/key (computed trait 'age' aggregates context.traits.age)",
    'event_trait ethnicity /conditions/1/conditions/1/where/1/path',
    "computed_trait_definition gender /conditions/1/conditions/2/key (computed trait 'favourite' filters on context.traits.gender)",
    'trait birthday /conditions/2/segment → adults: /conditions/0/trait',
    'trait gender /conditions/2/segment → adults: /conditions/1/segment → vip: /conditions/1/trait',
    "model_feature gender /conditions/3/model (model 'churn' uses feature 'gender_female')",
    'event_trait birthday /conditions/5/path',
  ], 'uses');
  const viaVip = r.uses[6];
  assert.equal(viaVip?.segment, 'vip', 'the use sits in segment vip');
  assert.equal(viaVip?.pointer, '/conditions/1/trait', 'its pointer inside vip');
  assert.deepEqual(viaVip?.via, [{ pointer: '/conditions/2/segment', segment: 'adults' }, { pointer: '/conditions/1/segment', segment: 'vip' }], 'the references followed');
  assert.deepEqual(r.unresolved, [], 'everything resolved');
  assert.equal(r.clean, false, 'not clean');
});

test('without resolvers, references are unresolved and the definition is not certified clean', () => {
  const clean: Condition = { type: 'and', conditions: [{ type: 'trait', trait: 'city', op: 'eq', value: 'Oslo' }, { type: 'segment', segment: 'adults' }, { type: 'score', model: 'churn', op: 'gt', value: 0.5 }] };
  const r = protectedUses(clean, PROTECTED);
  assert.deepEqual(r.uses, [], 'no direct use');
  assert.deepEqual(r.unresolved.map((u) => `${u.kind} ${u.key} ${u.pointer}`), ['segment adults /conditions/1/segment', 'model churn /conditions/2/model'], 'unresolved');
  assert.equal(r.clean, false, 'cannot say clean');
  const plain = protectedUses({ type: 'trait', trait: 'city', op: 'eq', value: 'Oslo' }, PROTECTED);
  assert.equal(plain.clean, true, 'a definition without protected traits or references is clean');
  // a segment referring to itself through the resolver is not followed forever
  const self = protectedUses({ type: 'segment', segment: 'adults' }, PROTECTED, { segment: (k) => SEGMENTS[k] }, 'vip');
  assert.deepEqual(self.uses.map((u) => u.path), ['/segment → adults: /conditions/0/trait'], 'the cycle back to vip is not followed');
});

test('protected features of a model fit: the trait, its one-hot columns, namespaced and trait_ names', () => {
  const names = ['recency', 'gender_female', 'trait:Age', 'page_views', 'zip=123', 'ethnicity', 'ages', 'traits.birthday.month', 'age=30-39', 'trait_gender=female', 'agenda', 'country=gender studies'];
  assert.deepEqual(protectedFeatures(names, PROTECTED).map((f) => `${f.index}:${f.feature}→${f.key}`),
    ['1:gender_female→gender', '2:trait:Age→Age', '5:ethnicity→ethnicity', '7:traits.birthday.month→birthday', '8:age=30-39→Age', '9:trait_gender=female→gender'], 'protected features');
  // keys are slugged as feature-sets.ts slugs trait names: "Birth Date" is the column trait_birth_date
  assert.deepEqual(protectedFeatures(['trait_birth_date', 'trait_birth', 'birth_date_year'], ['Birth Date']).map((f) => f.feature), ['trait_birth_date', 'birth_date_year'], 'multi-word key');
  assert.throws(() => protectedFeatures(names, ['']), (e: unknown) => e instanceof InputError && e.code === 'protected.bad_key', 'empty key');
});

test('Cramér\'s V, η and Pearson r against hand-computed values', () => {
  // table [[3,2,0],[0,3,2],[1,0,4]]: χ² = 10.3, V = √(10.3 / (15·2)) (scipy association(method='cramer') 0.585947)
  const a = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 0, 1];
  const b = [0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 2, 2, 0, 1];
  close(cramersV(a, b).value, Math.sqrt(103 / 300), 1e-12, 'V');
  close(cramersV(a, b).value, 0.5859465277082315, 1e-12, 'V as scipy');
  close(cramersV(b, a).value, cramersV(a, b).value, 1e-15, 'V is symmetric');
  // sparse codes and missing values (−1) are fine
  close(cramersV([...a.map((x) => x * 7 + 100), -1], [...b, 0]).value, Math.sqrt(103 / 300), 1e-12, 'codes are labels only; −1 left out');
  // 2×2 [[20,10],[10,20]]: φ = (400 − 100) / 900
  const r2 = [...Array(30).fill(0), ...Array(30).fill(1)] as number[];
  const c2 = [...Array(20).fill(0), ...Array(10).fill(1), ...Array(10).fill(0), ...Array(20).fill(1)] as number[];
  close(cramersV(r2, c2).value, 1 / 3, 1e-12, 'φ');
  // η: groups [1,2,3] and [5,6,7], SST 28, SSB 24
  close(correlationRatio([1, 2, 3, 5, 6, 7, NaN], [0, 0, 0, 1, 1, 1, 1]).value, Math.sqrt(24 / 28), 1e-12, 'η');
  assert.equal(correlationRatio([1, 2, 3, 5], [0, 0, 0, 1]).n, 4, 'rows counted');
  // r = 11 / √130
  close(absPearson([1, 2, 3, 4], [2, 4, 5, 9]).value, 11 / Math.sqrt(130), 1e-12, 'r');
  close(absPearson([1, 2, 3, 4], [-2, -4, -5, -9]).value, 11 / Math.sqrt(130), 1e-12, '|r|');
  assert.equal(absPearson([1, 1, 1], [1, 2, 3]).value, 0, 'a constant column has no association');
  assert.equal(cramersV([0, 0, 0], [0, 1, 2]).value, 0, 'a constant category has no association');
});

test('proxy ranking on seeded data: strong, moderate and weak proxies in order, both kinds of protected column', () => {
  const n = 4000;
  const rng = mulberry32(2024);
  const gender = new Int32Array(n), zip = new Int32Array(n), noise = new Float64Array(n), height = new Float64Array(n), shift = new Float64Array(n), age = new Float64Array(n), band = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    gender[i] = rng() < 0.5 ? 1 : 0;
    zip[i] = rng() < 0.9 ? (gender[i] as number) : 1 - (gender[i] as number); // V = 0.8
    height[i] = 3 * (gender[i] as number) + (rng() - 0.5) * 2; // η high
    shift[i] = (gender[i] as number) + (rng() - 0.5) * 4; // η ≈ √(0.25 / 1.58) ≈ 0.40
    noise[i] = rng();
    age[i] = 18 + 60 * rng();
    band[i] = Math.floor(((age[i] as number) - 18) / 20);
  }
  const features: ProxyColumn[] = [
    { name: 'noise', kind: 'numeric', values: noise },
    { name: 'zip', kind: 'categorical', codes: zip },
    { name: 'height', kind: 'numeric', values: height },
    { name: 'shift', kind: 'numeric', values: shift },
  ];
  const ranked = rankProxies(features, { name: 'gender', kind: 'categorical', codes: gender });
  assert.deepEqual(ranked.map((r) => `${r.feature}:${r.level}:${r.measure}`), ['height:strong:correlation_ratio', 'zip:strong:cramers_v', 'shift:moderate:correlation_ratio', 'noise:weak:correlation_ratio'], 'ranking');
  close(ranked[1]?.value ?? NaN, 0.8, 0.03, 'zip V ≈ 0.8 (agreement 90 %)');
  // a numeric protected attribute: a categorical band of it is a strong proxy (η of age given the band)
  const byAge = rankProxies([{ name: 'band', kind: 'categorical', codes: band }, { name: 'noise', kind: 'numeric', values: noise }], { name: 'age', kind: 'numeric', values: age });
  assert.deepEqual(byAge.map((r) => `${r.feature}:${r.level}:${r.measure}`), ['band:strong:correlation_ratio', 'noise:weak:pearson'], 'numeric protected attribute');
  close(association({ name: 'band', kind: 'categorical', codes: band }, { name: 'age', kind: 'numeric', values: age }).value, correlationRatio(age, band).value, 0, 'roles swapped for a categorical feature');
  // too few rows: listed last
  const few = rankProxies([{ name: 'zip', kind: 'categorical', codes: zip.subarray(0, 10) }], { name: 'gender', kind: 'categorical', codes: gender.subarray(0, 10) });
  assert.equal(few[0]?.level, 'too_few_rows', 'fewer than 30 rows');
  assert.throws(() => rankProxies(features, { name: 'gender', kind: 'categorical', codes: gender }, { strong: 0.2, moderate: 0.3 }), (e: unknown) => e instanceof InputError, 'bad thresholds');
});

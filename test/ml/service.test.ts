/**
 * The statistical-model service on the demo shop: fits write a version to the registry, traits and
 * scores that segments read, ready segments; refits keep cluster ids; bad input is refused with a
 * clear error and writes nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { loadDemo, type DemoFixture } from '../behavioural/demo-fixture.js';

let fx: DemoFixture;
const DAY = 86_400_000;

before(async () => {
  fx = await loadDemo(600, 7);
});
after(async () => {
  await fx?.sg.close();
});

async function traitValues(key: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of await fx.sg.store.latestTraitValues(fx.ws, [key], await fx.sg.segments.modelTraits(fx.ws))) out.set(t.profileId, t.value);
  return out;
}

test('k-means: a version with metrics, a cluster trait per profile with events, a segment per cluster, stable ids on refit', async () => {
  const phases = new Set<string>();
  const v1 = await fx.sg.ml.fit(fx.ws, 'kmeans', 'personas', { k: 4, nInit: 2, seed: 3 }, { asOf: fx.end, progress: (p) => phases.add(p.phase.split(':')[0] ?? '') });
  assert.equal(v1.version, 1, 'first fit is version 1');
  assert.equal(v1.error, null, 'no error');
  assert.ok(phases.has('features') && phases.has('write'), `progress phases reported: ${[...phases].join(', ')}`);
  const m = v1.metrics as { k: number; clusters: Array<{ id: number; size: number; label: string }>; projection: { points: unknown[] } };
  assert.equal(m.k, 4, 'k as asked');
  assert.equal(m.clusters.length, 4, 'four cluster profiles');
  assert.ok(m.projection.points.length > 100, `plot points: ${m.projection.points.length}`);
  assert.deepEqual(v1.segmentsCreated?.sort(), ['personas_cluster_1', 'personas_cluster_2', 'personas_cluster_3', 'personas_cluster_4'], 'one ready segment per cluster');
  const clusters = await traitValues('personas_cluster');
  assert.ok(clusters.size > 500, `profiles with a cluster: ${clusters.size}`);
  const total = m.clusters.reduce((s, c) => s + c.size, 0);
  assert.equal(clusters.size, total, 'every clustered profile has the trait');
  // The segment of each cluster has exactly that cluster's profiles.
  for (const c of m.clusters) {
    const seg = await fx.sg.segments.get(fx.ws, `personas_cluster_${c.id}`);
    assert.equal(seg.members, c.size, `segment of cluster ${c.id} has its ${c.size} profiles (has ${seg.members})`);
  }
  // Each cluster's persona card is its segment's insights.
  const biggest = [...m.clusters].sort((a, b) => b.size - a.size)[0];
  const card = await fx.sg.insights.segment(fx.ws, `personas_cluster_${biggest?.id}`);
  assert.ok(card.card.headline.length > 0, `persona card of cluster ${biggest?.id}: ${JSON.stringify(card.card).slice(0, 200)}`);
  // A refit on the same data keeps each cluster's id.
  const v2 = await fx.sg.ml.fit(fx.ws, 'kmeans', 'personas', { k: 4, nInit: 2, seed: 3 }, { asOf: fx.end });
  assert.equal(v2.version, 2, 'refit is version 2');
  assert.deepEqual(v2.segmentsCreated, [], 'ready segments are not created twice');
  const after2 = await traitValues('personas_cluster');
  let same = 0;
  for (const [p, v] of clusters) if (after2.get(p) === v) same++;
  assert.equal(same, clusters.size, `cluster ids stable across the refit (${same} of ${clusters.size})`);
  const versions = await fx.sg.ml.versions(fx.ws, 'personas');
  assert.deepEqual(versions.map((v) => v.version), [2, 1], 'both versions in the registry, newest first');
});

test('churn: time-validated AUC, probability and percentile traits, the score condition', async () => {
  const v = await fx.sg.ml.fit(fx.ws, 'churn', 'churn', { learner: 'logistic', predictionDays: 60, minPositives: 20, minNegatives: 20 }, { asOf: fx.end });
  const m = v.metrics as { auc: number; grade: string; lift: unknown[] };
  const t = v.training as { trainRows: number; validationRows: number; trainPositives: number };
  assert.ok(t.trainRows > 50 && t.validationRows > 50, `train ${t.trainRows}, validation ${t.validationRows}`);
  assert.ok(m.auc > 0.6, `out-of-time AUC ${m.auc} (grade ${m.grade})`);
  assert.equal(m.lift.length, 10, 'lift by decile');
  const probs = await traitValues('churn_probability');
  assert.ok(probs.size > 50, `customers scored: ${probs.size}`);
  for (const p of probs.values()) assert.ok(Number(p) >= 0 && Number(p) <= 1, `probability ${p} in [0, 1]`);
  const high = [...probs.values()].filter((p) => Number(p) > 0.5).length;
  const est = await fx.sg.segments.estimate(fx.ws, { type: 'score', model: 'churn', op: 'gt', value: 0.5 }, 'exact');
  assert.equal(est.size, high, `score churn > 0.5 (${est.size}) matches the traits (${high})`);
  const viaTrait = await fx.sg.segments.estimate(fx.ws, { type: 'trait', trait: 'churn_probability', op: 'gt', value: 0.5 }, 'exact');
  assert.equal(viaTrait.size, high, `trait churn_probability > 0.5 (${viaTrait.size}) matches (${high})`);
});

test('clv: BG/NBD + Gamma-Gamma per customer, holdout check, the CLV score', async () => {
  const v = await fx.sg.ml.fit(fx.ws, 'clv', 'clv', { holdoutDays: 60, horizonDays: 365 }, { asOf: fx.end });
  const m = v.metrics as { params: Record<string, number>; spendParams: Record<string, number> | null; holdout: { actualRepeatPurchases: number; predictedRepeatPurchases: number; percentError: number } };
  const t = v.training as { customers: number; repeatCustomers: number };
  assert.ok(t.customers > 200 && t.repeatCustomers > 50, `customers ${t.customers}, repeat ${t.repeatCustomers}`);
  for (const k of ['r', 'alpha', 'a', 'b']) assert.ok((m.params[k] ?? 0) > 0, `BG/NBD ${k} = ${m.params[k]} positive`);
  assert.ok(m.spendParams !== null, 'a spend model');
  // The demo's shoppers are not BG/NBD by construction, but the holdout forecast must be in range.
  assert.ok(Math.abs(m.holdout.percentError) < 50, `holdout: predicted ${m.holdout.predictedRepeatPurchases} vs actual ${m.holdout.actualRepeatPurchases}`);
  const alive = await traitValues('clv_p_alive');
  const clv = await traitValues('clv_predicted_clv');
  const hist = await traitValues('clv_historic_clv');
  assert.equal(alive.size, t.customers, 'every customer has P(alive)');
  for (const p of alive.values()) assert.ok(Number(p) >= 0 && Number(p) <= 1, `P(alive) ${p}`);
  assert.ok(clv.size > 0.9 * t.customers, `CLV for ${clv.size} of ${t.customers}`);
  // Champions (planted frequent buyers) are worth more than one-time buyers, on average.
  const mean = (persona: string) => {
    const v2 = [...fx.persona].filter(([p, x]) => x === persona && clv.has(p)).map(([p]) => Number(clv.get(p)));
    return v2.reduce((a, b) => a + b, 0) / Math.max(1, v2.length);
  };
  assert.ok(mean('champion') > 3 * mean('one_time_buyer'), `champions ${mean('champion').toFixed(0)} vs one-time buyers ${mean('one_time_buyer').toFixed(0)}`);
  assert.ok([...hist.values()].every((h) => Number(h) >= 0), 'historic CLV non-negative');
  const top = await fx.sg.segments.estimate(fx.ws, { type: 'trait', trait: 'clv_clv_percentile', op: 'gte', value: 90 }, 'exact');
  assert.ok(top.size > 0.05 * t.customers && top.size < 0.15 * t.customers, `top 10 % by predicted CLV: ${top.size} of ${t.customers}`);
});

test('lookalike: an audience of the profiles most like a seed segment, outside it', async () => {
  await fx.sg.segments.create(fx.ws, { key: 'frequent', condition: { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 6 } } });
  const seed = await fx.sg.segments.get(fx.ws, 'frequent');
  assert.ok(seed.members >= 20, `seed size ${seed.members}`);
  const v = await fx.sg.ml.fit(fx.ws, 'lookalike', 'like_frequent', { seedSegment: 'frequent', size: 40, learner: 'logistic' }, { asOf: fx.end });
  assert.deepEqual(v.segmentsCreated, ['like_frequent_audience'], 'the audience segment');
  const audience = await fx.sg.segments.members(fx.ws, 'like_frequent_audience', 1000);
  assert.equal(audience.length, 40, 'size as asked');
  const seedIds = new Set((await fx.sg.segments.members(fx.ws, 'frequent', 10_000)).map((m) => m.profileId));
  assert.ok(audience.every((m) => !seedIds.has(m.profileId)), 'nobody of the seed in the audience');
  // The audience buys more often than the average non-seed profile.
  const orders = new Map<string, number>();
  const read = await fx.sg.store.latestTraitValues(fx.ws, ['like_frequent_percentile'], await fx.sg.segments.modelTraits(fx.ws));
  for (const t of read) orders.set(t.profileId, Number(t.value));
  const inAud = audience.map((m) => orders.get(m.profileId) ?? 0);
  assert.ok(Math.min(...inAud) >= 80, `audience percentiles ≥ 80 (lowest ${Math.min(...inAud)})`);
});

test('uplift: e-mailed vs not e-mailed eligible customers, Qini and effects per decile', async () => {
  const sentAt = Math.floor((fx.end - 60 * DAY) / DAY) * DAY + 9 * 3_600_000;
  const before = new Date(sentAt - 7 * DAY).toISOString();
  await fx.sg.segments.create(fx.ws, { key: 'emailed', condition: { type: 'event', event: 'Email Delivered', count: { op: 'at_least', value: 1 } } });
  await fx.sg.segments.create(fx.ws, { key: 'not_emailed', condition: { type: 'and', conditions: [
    { type: 'not', condition: { type: 'segment', segment: 'emailed' } },
    { type: 'first_performed', event: '*', op: 'before', date: before },
    { type: 'trait', trait: 'email', op: 'exists' },
  ] } });
  const v = await fx.sg.ml.fit(fx.ws, 'uplift', 'autumn', {
    treatment: 'emailed', control: 'not_emailed', start: new Date(sentAt).toISOString(), outcome: { event: 'Order Completed' }, outcomeDays: 14, learner: 'logistic',
    effectsBy: ['frequent'],
  }, { asOf: fx.end });
  const t = v.training as { treated: number; control: number; testRows: number };
  assert.ok(t.treated >= 50 && t.control >= 50, `arms ${t.treated} / ${t.control}`);
  const m = v.metrics as { qini: number; effectsByDecile: { groups: unknown[]; overall: { n: number } } };
  assert.ok(Number.isFinite(m.qini), `Qini ${m.qini}`);
  assert.equal(m.effectsByDecile.groups.length, 10, 'effects per decile of predicted uplift');
  assert.equal(m.effectsByDecile.overall.n, t.testRows, 'effects measured on the held-out rows');
  const bySeg = (v.metrics as { effectsBySegment?: { groups: Array<{ label: string; n: number; verdictText: string }> } }).effectsBySegment;
  assert.equal(bySeg?.groups[0]?.label, 'frequent', 'effects in the segment asked for');
  assert.ok((bySeg?.groups[0]?.n ?? 0) > 0 && (bySeg?.groups[0]?.verdictText ?? '').length > 0, `effect in 'frequent': ${JSON.stringify(bySeg?.groups[0])?.slice(0, 200)}`);
  const u = await traitValues('autumn_uplift');
  assert.equal(u.size, t.treated + t.control, 'every profile of both arms scored');
  await assert.rejects(fx.sg.ml.fit(fx.ws, 'uplift', 'bad_arms', { treatment: 'emailed', control: 'emailed', start: new Date(sentAt).toISOString(), outcome: { event: 'Order Completed' } }, { asOf: fx.end }),
    (e: unknown) => e instanceof InputError && /must not overlap/.test(e.message));
});

test('fairness of a segment and a model over a protected trait; segments marked "no protected attributes"', async () => {
  await fx.sg.ml.setProtectedTraits(fx.ws, ['gender']);
  await fx.sg.segments.create(fx.ws, { key: 'women', condition: { type: 'trait', trait: 'gender', op: 'eq', value: 'female' } });
  const r = await fx.sg.ml.fairness(fx.ws, { segment: 'women' });
  const rep = r.reports[0];
  assert.ok(rep, 'a report for gender');
  const female = rep.groups.find((g) => g.group === 'female');
  const male = rep.groups.find((g) => g.group === 'male');
  assert.equal(female?.selectionRate.value, 1, 'every woman selected');
  assert.equal(male?.selectionRate.value, 0, 'no man selected');
  assert.equal(rep.demographicParity.difference, 1, 'DP difference 1');
  assert.equal(rep.demographicParity.fourFifthsViolated, true, 'four-fifths rule flags it');
  assert.equal(r.selected, female?.n, 'selected = the women');
  // A model: churn scores at a threshold, with who really bought as the outcome.
  await fx.sg.segments.create(fx.ws, { key: 'buyers', condition: { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 1 } } });
  const m = await fx.sg.ml.fairness(fx.ws, { model: 'churn', threshold: 0.5, outcome: 'buyers' });
  assert.ok(m.reports[0]?.groups.some((g) => g.truePositiveRate !== null), 'TPR with an outcome');
  assert.ok(m.reports[0]?.equalizedOdds !== undefined, 'equalized odds reported');

  // Guards: a clean segment can be marked, then an edit that adds gender is refused, directly or through a reference.
  await fx.sg.segments.create(fx.ws, { key: 'loyal', condition: { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 3 } } });
  await fx.sg.segments.create(fx.ws, { key: 'loyal_vip', condition: { type: 'segment', segment: 'loyal' } });
  await fx.sg.ml.setSegmentGuard(fx.ws, 'loyal_vip', true);
  await assert.rejects(fx.sg.ml.setSegmentGuard(fx.ws, 'women', true), (e: unknown) => e instanceof InputError && /uses protected trait\(s\) 'gender'/.test(e.message));
  await assert.rejects(fx.sg.segments.update(fx.ws, 'loyal_vip', { condition: { type: 'and', conditions: [{ type: 'segment', segment: 'loyal' }, { type: 'trait', trait: 'gender', op: 'eq', value: 'male' }] } }),
    (e: unknown) => /marked "no protected attributes" but uses protected trait 'gender'/.test(String(e)));
  await assert.rejects(fx.sg.segments.update(fx.ws, 'loyal', { condition: { type: 'segment', segment: 'women' } }),
    (e: unknown) => /'loyal_vip' is marked "no protected attributes" and would use protected trait 'gender' through this segment/.test(String(e)));
  assert.equal((await fx.sg.segments.get(fx.ws, 'loyal')).version, 1, 'the refused edit stored nothing');
  await fx.sg.ml.setSegmentGuard(fx.ws, 'loyal_vip', false);
  await fx.sg.segments.update(fx.ws, 'loyal', { condition: { type: 'segment', segment: 'women' } });
  assert.equal((await fx.sg.segments.get(fx.ws, 'loyal')).version, 2, 'unmarked: the edit is accepted');
});

test('bad input: unknown kind, bad name, bad config, a name of another kind, protected traits', async () => {
  await assert.rejects(fx.sg.ml.fit(fx.ws, 'magic', 'x', {}), (e: unknown) => e instanceof InputError && /no model kind 'magic'/.test(e.message));
  await assert.rejects(fx.sg.ml.fit(fx.ws, 'kmeans', 'Bad Name', {}), (e: unknown) => e instanceof InputError && /model name/.test(e.message));
  await assert.rejects(fx.sg.ml.fit(fx.ws, 'kmeans', 'k2', { k: 1 }), (e: unknown) => e instanceof InputError && /config\.k/.test(e.message));
  await assert.rejects(fx.sg.ml.fit(fx.ws, 'churn', 'personas', {}), (e: unknown) => e instanceof InputError && /is a kmeans model/.test(e.message));
  await fx.sg.ml.setProtectedTraits(fx.ws, ['age']);
  await assert.rejects(fx.sg.ml.fit(fx.ws, 'kmeans', 'fair', { k: 2, noProtected: true, features: { traits: ['age'] } }),
    (e: unknown) => e instanceof InputError && /protected trait\(s\): age/.test(e.message));
  assert.deepEqual((await fx.sg.ml.list(fx.ws)).map((m) => m.name).sort(), ['autumn', 'churn', 'clv', 'like_frequent', 'personas'], 'refused fits left nothing in the registry');
  assert.ok(DAY > 0, 'day');
});

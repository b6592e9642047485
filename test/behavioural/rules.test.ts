/**
 * The behavioural library's pure rules: rank scores, the RFM grid and scales, lifecycle stages,
 * movement tables and configuration errors (no database).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rankScores, scoreCounts } from '../../src/domain/behavioural/scores.js';
import { RFM_GRID, RFM_GROUPS, RfmConfig, fmScore, rfmGroup, rfmGroups, rfmModel } from '../../src/domain/behavioural/rfm.js';
import { LifecycleConfig, lifecycleStage, lifecycleModel } from '../../src/domain/behavioural/lifecycle.js';
import { groupSegmentKey, transitions, NONE, type Features } from '../../src/domain/behavioural/model.js';
import { BEHAVIOURAL_MODELS, modelTraitKeys } from '../../src/domain/behavioural/index.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261123);

/** The definition, literally: 1 + floor(k · (values strictly worse) / n). */
function bruteScores(values: number[], k: number, lowerIsBetter: boolean): number[] {
  return values.map((v) => 1 + Math.floor((k * values.filter((w) => (lowerIsBetter ? w > v : w < v)).length) / values.length));
}

test('rank scores equal the definition, share a score on ties and ignore input order (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: -5, max: 30 }), { minLength: 1, maxLength: 200 }), fc.constantFrom(3, 5), fc.boolean(),
    (values, k, lower) => {
      const got = [...rankScores(values, k, lower ? 'lower_is_better' : 'higher_is_better')];
      assert.deepEqual(got, bruteScores(values, k, lower));
      const rev = [...rankScores([...values].reverse(), k, lower ? 'lower_is_better' : 'higher_is_better')].reverse();
      assert.deepEqual(rev, got);
    }), { seed: SEED, numRuns: 300 });
});

test('rank scores: distinct values fill the quintiles evenly; all-equal values all score 1; bad scales are refused', () => {
  const ten = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual([...rankScores(ten, 5, 'higher_is_better')], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  assert.deepEqual([...rankScores(ten, 5, 'lower_is_better')], [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
  assert.deepEqual(scoreCounts(rankScores(ten, 5, 'higher_is_better'), 5), [2, 2, 2, 2, 2]);
  assert.deepEqual([...rankScores([7, 7, 7], 5, 'higher_is_better')], [1, 1, 1]);
  assert.throws(() => rankScores([1], 1, 'higher_is_better'), /2 to 10 levels/);
  assert.throws(() => rankScores([1, NaN], 5, 'higher_is_better'), /not a number/);
});

test('RFM grid: every cell of the 5-point grid names one of the eleven groups, and each group has a cell', () => {
  const seen = new Set<string>();
  for (let fm = 1; fm <= 5; fm++) for (let r = 1; r <= 5; r++) {
    const g = rfmGroup(r, fm, 5);
    assert.ok((RFM_GROUPS as readonly string[]).includes(g), g);
    seen.add(g);
  }
  assert.equal(seen.size, RFM_GROUPS.length);
  // The corners a marketer checks first.
  assert.equal(rfmGroup(5, 5, 5), 'Champions');
  assert.equal(rfmGroup(1, 5, 5), "Can't Lose");
  assert.equal(rfmGroup(1, 1, 5), 'Lost');
  assert.equal(rfmGroup(5, 1, 5), 'New');
  assert.equal(RFM_GRID.length, 5);
});

test('RFM: FM is the mean of F and M with halves rounded up; the 3-point scale uses the odd cells of the grid', () => {
  assert.equal(fmScore(5, 4), 5);
  assert.equal(fmScore(4, 4), 4);
  assert.equal(fmScore(1, 2), 2);
  assert.equal(fmScore(1, 1), 1);
  assert.equal(rfmGroup(3, 3, 3), 'Champions');
  assert.equal(rfmGroup(2, 2, 3), 'Need Attention');
  assert.equal(rfmGroup(1, 3, 3), "Can't Lose");
  assert.deepEqual(rfmGroups(RfmConfig.parse({ scale: 3 })).sort(), ['About to Sleep', 'At Risk', "Can't Lose", 'Champions', 'Loyal', 'Lost', 'Need Attention', 'New', 'Potential Loyalist'].sort());
});

test('RFM: custom group rules match first, and a customer no rule covers is "Other"', () => {
  const config = RfmConfig.parse({ groups: [{ name: 'Best', r: [4, 5], fm: [4, 5] }, { name: 'Rest', r: [1, 3], fm: [1, 5] }] });
  assert.equal(rfmGroup(5, 5, 5, config.groups), 'Best');
  assert.equal(rfmGroup(2, 5, 5, config.groups), 'Rest');
  assert.equal(rfmGroup(5, 1, 5, config.groups), 'Other');
  assert.deepEqual(rfmGroups(config), ['Best', 'Rest', 'Other']);
  assert.equal(RfmConfig.safeParse({ groups: [{ name: 'x', r: [4, 2], fm: [1, 5] }] }).success, false);
  assert.equal(RfmConfig.safeParse({ scale: 4 }).success, false);
  assert.equal(RfmConfig.safeParse({ valuePath: 'revenue' }).success, false, 'a value path must start with properties.');
});

test('RFM classify: customers without a purchase are not scored; scores, code and group per customer', () => {
  const f: Features = {
    profileIds: ['a', 'b', 'c', 'd', 'e', 'none'],
    columns: {
      recency_days: Float64Array.from([1, 10, 100, 300, 5, NaN]),
      frequency: Float64Array.from([9, 3, 2, 1, 1, 0]),
      monetary: Float64Array.from([900, 200, 150, 20, NaN, NaN]),
    },
    text: {},
  };
  const c = rfmModel.classify(f, RfmConfig.parse({}), 0);
  assert.equal(c.traits[5], undefined);
  assert.equal(c.summary['scored'], 5);
  assert.deepEqual(c.traits[0], { rfm_recency_days: 1, rfm_frequency: 9, rfm_monetary: 900, rfm_r: 5, rfm_f: 5, rfm_m: 5, rfm_fm: 5, rfm_score: '555', rfm_group: 'Champions' });
  // d: oldest purchase (R 1), one order (F 1, tied with e), least money but e's missing value counts 0
  assert.equal(c.traits[3]?.['rfm_r'], 1);
  assert.equal(c.traits[3]?.['rfm_f'], 1);
  assert.equal(c.traits[4]?.['rfm_f'], 1);
  assert.equal(c.traits[4]?.['rfm_m'], 1);
  assert.equal(c.traits[4]?.['rfm_monetary'], 0);
  // d: M 2 (beats e's 0), FM = ⌈(1 + 2) / 2⌉ = 2 → R 1 × FM 2; e: R 4, F 1, M 1 → recent but little
  assert.equal(c.traits[3]?.['rfm_group'], 'Hibernating');
  assert.equal(c.traits[4]?.['rfm_group'], 'Promising');
});

test('lifecycle: each rule in order, with the configured thresholds', () => {
  const c = LifecycleConfig.parse({});
  const stage = (firstDays: number, lastDays: number, lastBeforeWindowDays = NaN) => lifecycleStage({ firstDays, lastDays, lastBeforeWindowDays }, c);
  assert.equal(stage(NaN, NaN), 'prospect');
  assert.equal(stage(20, 3), 'new');
  assert.equal(stage(400, 10, 95), 'active');
  assert.equal(stage(400, 10, 90 + 181), 'reactivated');
  assert.equal(stage(400, 10, 90 + 180), 'active', 'a gap of exactly churnDays is not churned');
  assert.equal(stage(400, 91), 'at risk');
  assert.equal(stage(400, 180), 'at risk');
  assert.equal(stage(400, 181), 'churned');
  assert.equal(LifecycleConfig.safeParse({ activeDays: 200, churnDays: 100 }).success, false);
  const custom = LifecycleConfig.parse({ newDays: 7, activeDays: 30, churnDays: 60 });
  assert.equal(lifecycleStage({ firstDays: 10, lastDays: 10, lastBeforeWindowDays: NaN }, custom), 'active');
  assert.equal(lifecycleStage({ firstDays: 100, lastDays: 61, lastBeforeWindowDays: 100 }, custom), 'churned');
  // Reading the features of a classification: prospects only when asked for.
  const f: Features = {
    profileIds: ['p', 'q', 'unseen'],
    columns: {
      first_days: Float64Array.from([NaN, 5, NaN]), last_days: Float64Array.from([NaN, 5, NaN]), last_before_window_days: Float64Array.from([NaN, NaN, NaN]),
      seen_track_days: Float64Array.from([NaN, 5, NaN]), seen_page_days: Float64Array.from([40, 6, NaN]),
    },
    text: {},
  };
  assert.equal(lifecycleModel.classify(f, LifecycleConfig.parse({ prospects: false }), 0).traits[0], undefined);
  assert.equal(lifecycleModel.classify(f, c, 0).traits[0]?.['lifecycle_stage'], 'prospect');
  assert.equal(lifecycleModel.classify(f, c, 0).traits[1]?.['lifecycle_stage'], 'new');
  assert.equal(lifecycleModel.classify(f, c, 0).traits[2], undefined, 'no activity by the as-of time: not classified');
});

test('movement table: counts from-group → to-group, with "(none)" for profiles present only once', () => {
  const m = transitions(new Map([['a', 'X'], ['b', 'X'], ['c', 'Y']]), new Map([['a', 'X'], ['b', 'Y'], ['d', 'Y']]));
  assert.deepEqual(m, { X: { X: 1, Y: 1 }, [NONE]: { Y: 1 }, Y: { [NONE]: 1 } });
  assert.equal(groupSegmentKey('rfm', "Can't Lose"), 'rfm_can_t_lose');
  assert.equal(groupSegmentKey('lifecycle', 'at risk'), 'lifecycle_at_risk');
});

test('every model: a configuration as stored with a run parses back to itself; ids, trait keys and ready-segment keys do not collide', () => {
  const owner = new Map<string, string>();
  for (const m of BEHAVIOURAL_MODELS) {
    const stored = JSON.parse(JSON.stringify(m.config.parse({}))) as unknown;
    assert.deepEqual(JSON.parse(JSON.stringify(m.config.parse(stored))), stored, `${m.id}: stored configuration does not parse back to itself`);
    for (const t of [...m.traits.map((x) => x.key), m.previousTrait, m.groupTrait]) {
      assert.ok(t.startsWith(`${m.id}_`), `${m.id}: trait ${t} is not under the model's prefix`);
      assert.ok(!owner.has(t) || owner.get(t) === m.id, `trait ${t} of both ${owner.get(t)} and ${m.id}`);
      owner.set(t, m.id);
    }
  }
  assert.equal(new Set(BEHAVIOURAL_MODELS.map((m) => m.id)).size, BEHAVIOURAL_MODELS.length);
  assert.equal(modelTraitKeys().size, owner.size);
});

/**
 * The behavioural models on the demo shop (seed 42, 800 customers, history ending 2026-10-31): each
 * planted persona is recovered by the model meant to find it, with stated precision / recall
 * thresholds; runs write traits with provenance, keep a registry with movement, and create the ready
 * segments once (a user's edit is kept).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import type { PersonaName } from '../../src/demo/generator.js';
import { loadDemo, precision as precisionOf, recall as recallOf, type DemoFixture } from './demo-fixture.js';

let fx: DemoFixture;
before(async () => { fx = await loadDemo(800); });
after(async () => { await fx.sg.close(); });

const recall = (groups: Map<string, string>, persona: PersonaName, wanted: string[]) => recallOf(fx, groups, persona, wanted);
const precision = (groups: Map<string, string>, group: string, personas: PersonaName[]) => precisionOf(fx, groups, group, personas);

test('RFM recovers the planted personas (recall / precision thresholds)', async () => {
  const { groups } = await fx.sg.behavioural.classifyAsOf(fx.ws, 'rfm', {}, fx.end);
  const checks: Array<[string, { share: number; n: number }, number]> = [
    ['champions → Champions or Loyal', recall(groups, 'champion', ['Champions', 'Loyal']), 0.9],
    ['new customers → New, Promising or Potential Loyalist', recall(groups, 'new_customer', ['New', 'Promising', 'Potential Loyalist']), 0.9],
    ['one-time buyers → Hibernating, Lost or About to Sleep', recall(groups, 'one_time_buyer', ['Hibernating', 'Lost', 'About to Sleep']), 0.85],
    ['holiday shoppers (end of October) → At Risk or Hibernating', recall(groups, 'holiday_shopper', ['At Risk', 'Hibernating']), 0.85],
    ['New is made of new customers', precision(groups, 'New', ['new_customer']), 0.9],
    ['Lost is made of one-time buyers, lapsed and weekend browsers', precision(groups, 'Lost', ['one_time_buyer', 'lapsed', 'weekend_browser']), 0.9],
  ];
  for (const [label, got, min] of checks) {
    assert.ok(got.n >= 20, `${label}: only ${got.n} customers`);
    assert.ok(got.share >= min, `${label}: ${(got.share * 100).toFixed(1)} % of ${got.n}, needs ≥ ${min * 100} %`);
  }
});

test('lifecycle recovers new, lapsed and one-time customers (recall / precision thresholds)', async () => {
  const { groups } = await fx.sg.behavioural.classifyAsOf(fx.ws, 'lifecycle', {}, fx.end);
  const checks: Array<[string, { share: number; n: number }, number]> = [
    ['new customers → new', recall(groups, 'new_customer', ['new']), 0.95],
    ['new is made of new customers', precision(groups, 'new', ['new_customer']), 0.95],
    ['lapsed → churned', recall(groups, 'lapsed', ['churned']), 0.9],
    ['one-time buyers → churned or at risk', recall(groups, 'one_time_buyer', ['churned', 'at risk']), 0.95],
  ];
  for (const [label, got, min] of checks) {
    assert.ok(got.n >= 20, `${label}: only ${got.n} customers`);
    assert.ok(got.share >= min, `${label}: ${(got.share * 100).toFixed(1)} % of ${got.n}, needs ≥ ${min * 100} %`);
  }
});

test('a run writes traits with provenance, creates the ready segments, records itself; a second run records movement', async () => {
  const phases: string[] = [];
  const first = await fx.sg.behavioural.run(fx.ws, 'rfm', { asOf: fx.end - 60 * 86_400_000, progress: (p) => phases.push(p.phase) });
  assert.deepEqual(phases, ['features', 'classify', 'write', 'segments', 'done']);
  assert.equal(first.segmentsCreated.length, 11);
  assert.equal(first.summary['movement'], undefined, 'no previous run');
  const groups = first.summary['groups'] as Record<string, number>;
  const segs = await fx.sg.segments.list(fx.ws);
  for (const [g, n] of Object.entries(groups)) {
    const seg = segs.find((s) => s.condition.type === 'trait' && s.condition.trait === 'rfm_group' && 'value' in s.condition && s.condition.value === g);
    assert.ok(seg, `segment for ${g}`);
    assert.equal(seg.members, n, `members of ${seg.key}`);
  }
  const champion = [...fx.persona].find(([, p]) => p === 'champion')?.[0] as string;
  const traits = await fx.sg.store.profileTraits(fx.ws, champion);
  const group = traits.find((t) => t.key === 'rfm_group');
  assert.equal(group?.source, 'model:rfm');
  assert.equal(group?.messageId, first.runId);
  assert.match(String(traits.find((t) => t.key === 'rfm_score')?.value), /^[1-5]{3}$/);

  // The user edits a ready segment; the next run keeps the edit and records the movement since the first.
  await fx.sg.segments.update(fx.ws, 'rfm_champions', { name: 'Our best customers' });
  const second = await fx.sg.behavioural.run(fx.ws, 'rfm', { asOf: fx.end });
  assert.deepEqual(second.segmentsCreated, []);
  assert.equal((await fx.sg.segments.get(fx.ws, 'rfm_champions')).name, 'Our best customers');
  const movement = second.summary['movement'] as { sinceRun: string; matrix: Record<string, Record<string, number>> };
  assert.equal(movement.sinceRun, first.runId);
  let total = 0;
  for (const row of Object.values(movement.matrix)) for (const n of Object.values(row)) total += n;
  assert.equal(total, second.profiles + 0, 'every profile scored now appears once (none dropped out: scores only grow with history)');
  const prev = (await fx.sg.store.profileTraits(fx.ws, champion)).find((t) => t.key === 'rfm_previous_group');
  assert.equal(prev?.value, group?.value);
  // Only the latest run's outputs remain (one row per scored profile, no pile-up of old runs).
  const rows = await fx.sg.store.segments.query({ sql: `SELECT count(*) AS n, count(DISTINCT profile_id) AS profiles, min(run_id) AS run FROM model_traits WHERE model = 'rfm'`, params: [], segmentColumns: [], computedColumns: [] });
  assert.equal(String(rows[0]?.['run']), second.runId);
  assert.equal(Number(rows[0]?.['n']), second.profiles);
  assert.equal(Number(rows[0]?.['profiles']), second.profiles);
  const runs = await fx.sg.behavioural.runs(fx.ws, 'rfm');
  assert.deepEqual(runs.map((r) => r.runId), [second.runId, first.runId]);
  assert.equal(runs[0]?.error, null);
});

test('movement between two dates: every profile classified at either time is counted once', async () => {
  const from = fx.end - 90 * 86_400_000;
  const mv = await fx.sg.behavioural.movement(fx.ws, 'lifecycle', from, fx.end);
  const a = await fx.sg.behavioural.classifyAsOf(fx.ws, 'lifecycle', {}, from);
  const b = await fx.sg.behavioural.classifyAsOf(fx.ws, 'lifecycle', {}, fx.end);
  const union = new Set([...a.groups.keys(), ...b.groups.keys()]);
  assert.equal(mv.stayed + mv.moved, union.size);
  // New customers (first visit within the last 45 days) had no activity 90 days ago: not classified then.
  const arrived = mv.matrix['(none)']?.['new'] ?? 0;
  assert.ok(arrived > 0, `profiles from (none) to new: ${arrived}`);
  assert.equal(mv.matrix['prospect']?.['new'] ?? 0, 0, 'nobody seen 90 days ago without a purchase is new now (first visit ≤ 45 days ago)');
  await assert.rejects(fx.sg.behavioural.movement(fx.ws, 'lifecycle', fx.end, from), /from < to/);
});

test('bad input: unknown model and invalid configuration say what is wrong, and write nothing', async () => {
  const before = (await fx.sg.behavioural.runs(fx.ws)).length;
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'astrology'), (e: unknown) => e instanceof InputError && /no behavioural model 'astrology'/.test(e.message));
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'rfm', { config: { scale: 4 } }), (e: unknown) => e instanceof InputError && /config\.scale/.test(e.message));
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'lifecycle', { config: { activeDays: 300, churnDays: 100 } }), /newDays ≤ activeDays < churnDays/);
  assert.equal((await fx.sg.behavioural.runs(fx.ws)).length, before);
});

test('two runs of a model started at once go one after the other: the second records movement since the first', async () => {
  const [a, b] = await Promise.all([
    fx.sg.behavioural.run(fx.ws, 'lifecycle', { asOf: fx.end - 30 * 86_400_000 }),
    fx.sg.behavioural.run(fx.ws, 'lifecycle', { asOf: fx.end }),
  ]);
  const movement = b.summary['movement'] as { sinceRun: string } | undefined;
  assert.equal(movement?.sinceRun, a.runId, 'the second run compares with the first');
  const rows = await fx.sg.store.segments.query({ sql: `SELECT count(DISTINCT run_id) AS runs, min(run_id) AS run FROM model_traits WHERE model = 'lifecycle'`, params: [], segmentColumns: [], computedColumns: [] });
  assert.deepEqual([Number(rows[0]?.['runs']), String(rows[0]?.['run'])], [1, b.runId], 'only the last run\'s outputs remain');
  // A failing run does not block the next one.
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'lifecycle', { config: { churnDays: 1 } }), /newDays ≤ activeDays < churnDays/);
  const c = await fx.sg.behavioural.run(fx.ws, 'lifecycle', { asOf: fx.end });
  assert.equal((c.summary['movement'] as { sinceRun: string } | undefined)?.sinceRun, b.runId, 'the run after a refused one compares with the last good run');
});

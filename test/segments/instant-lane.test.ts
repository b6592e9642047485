/**
 * The instant lane on DuckDB (src/services/instant-lane.ts): entries and exits proven by new events
 * are written right after their commit, before the state lanes run; and whatever the interleaving of
 * commits, instant writes and fast runs (whose plans now run outside the write lock), the memberships
 * end up what a full recomputation gives, with a history that alternates entered / exited.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenta } from '../../src/app/segmenta.js';
import type { CompiledQuery } from '../../src/domain/segments/compile.js';
import { mulberry32 } from '../../src/domain/random.js';
import type { EvaluationTarget } from '../../src/ports/segments.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SEED = Number(process.env['SEGMENTA_SEED'] ?? 7);

const track = (userId: string, event: string, i: number | string) => ({ type: 'track', userId, event, messageId: `${userId}-${event}-${i}`, properties: { revenue: 10 } });

/** Fast runs wait until the returned function is called (what happens meanwhile is the other lanes'). */
function holdFastRuns(sg: Segmenta): () => void {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const store = sg.store.segments;
  const evaluate = store.evaluate.bind(store);
  store.evaluate = async (q: CompiledQuery, t: EvaluationTarget) => {
    if (t.lane === 'fast') await gate;
    return evaluate(q, t);
  };
  return release;
}

async function shop(sg: Segmenta): Promise<string> {
  const { workspace: ws } = await sg.workspaces.create('t');
  await sg.ingest.submit(ws, ['a', 'b', 'c'].map((u) => track(u, 'Product Viewed', 0)), { source: 'api', mode: 'atomic' });
  await sg.segments.create(ws, { key: 'pinged', condition: { type: 'event', event: 'Bench Ping' } });
  await sg.segments.create(ws, { key: 'never_ordered', condition: { type: 'not', condition: { type: 'event', event: 'Order Completed' } } });
  await sg.segments.create(ws, { key: 'few_views', condition: { type: 'event', event: 'Product Viewed', count: { op: 'at_most', value: 2 } } });
  await sg.segments.create(ws, { key: 'half_pinged', condition: { type: 'and', conditions: [{ type: 'bucket', salt: 's', from: 0, to: 50 }, { type: 'segment', segment: 'pinged' }] } });
  // a rolling window: the state does not keep it, so the instant lane leaves it to the slow lane
  await sg.segments.create(ws, { key: 'recent_ping', condition: { type: 'event', event: 'Bench Ping', window: { type: 'last', amount: 30, unit: 'days' } } });
  await sg.segments.idle();
  return ws;
}

test('new events that prove an entry or an exit are written before the state lanes run', { timeout: 60_000 }, async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const ws = await shop(sg);
    // hold every fast run back for a second: what appears meanwhile is the instant lane's
    const store = sg.store.segments;
    const evaluate = store.evaluate.bind(store);
    store.evaluate = async (q: CompiledQuery, t: EvaluationTarget) => {
      if (t.lane === 'fast') await sleep(1000);
      return evaluate(q, t);
    };
    const cursor = await store.lastChangeSeq(ws);
    const fastBefore = sg.segments.metrics.fastRuns;
    // n is a new profile (no state row yet): it enters too
    await sg.ingest.submit(ws, [track('a', 'Bench Ping', 1), track('b', 'Order Completed', 1), track('c', 'Product Viewed', 1), track('c', 'Product Viewed', 2), track('c', 'Product Viewed', 3), track('n', 'Bench Ping', 1)], { source: 'api', mode: 'atomic' });
    const deadline = performance.now() + 900;
    let changes = await store.changesSince(ws, cursor, 100);
    while (changes.length < 4 && performance.now() < deadline) {
      await sleep(10);
      changes = await store.changesSince(ws, cursor, 100);
    }
    assert.equal(sg.segments.metrics.fastRuns, fastBefore, 'no fast run has finished yet');
    const seen = changes.map((c) => `${c.segmentKey} ${c.change}`).sort();
    // a enters pinged (and half_pinged only if its bucket says so), b leaves never_ordered, c leaves
    // few_views (three new views prove "at most 2" false; two would not: the older view is not known)
    for (const want of ['few_views exited', 'never_ordered exited', 'pinged entered']) assert.ok(seen.includes(want), `instant change '${want}' in ${JSON.stringify(seen)}`);
    assert.equal(seen.filter((x) => x === 'pinged entered').length, 2, `a and the new profile n entered pinged: ${JSON.stringify(seen)}`);
    assert.equal(sg.segments.metrics.instantSkipped, 0, 'no decision was left to the lanes');
    assert.ok(!seen.some((x) => x.startsWith('recent_ping')), 'a rolling-window segment waits for its lane');
    assert.ok(sg.segments.metrics.instantEntered >= 2 && sg.segments.metrics.instantExited === 2, `instant metrics ${JSON.stringify(sg.segments.metrics)}`);
    // the write was timed from its commit, well inside the second the fast runs were held back
    const delay = sg.segments.latency.instantDelay;
    assert.equal(delay.count, 1, 'one instant write, timed once');
    assert.ok(delay.quantile(1) > 0 && delay.quantile(1) < 900, `commit → instant write ${delay.quantile(1)} ms`);
    assert.equal(sg.segments.latency.instantLockWait.count, 1, 'its wait for the write lock was timed too');

    await sg.segments.idle();
    const all = await store.changesSince(ws, cursor, 100);
    const pinged = all.filter((c) => c.segmentKey === 'pinged');
    assert.equal(pinged.length, 2, `one entry each for a and n, not a second one from the fast run: ${JSON.stringify(pinged)}`);
    assert.ok(all.some((c) => c.segmentKey === 'recent_ping' && c.change === 'entered'), 'the slow lane entered a in recent_ping');
    const full = await sg.segments.compute(ws);
    assert.deepEqual(full.segments.filter((s) => s.entered || s.exited), [], 'a full recomputation finds nothing to change');
  } finally {
    await sg.close();
  }
});

test(`under interleaved commits, instant writes and fast runs, memberships end as a full run has them (seed ${SEED})`, { timeout: 120_000 }, async () => {
  // fast runs of at most 3 profiles: the waiting ones go in later runs, the oldest first
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, segments: { fastBatchMax: 3 } });
  try {
    const ws = await shop(sg);
    const rand = mulberry32(SEED);
    const store = sg.store.segments;
    const evaluate = store.evaluate.bind(store);
    // fast runs of random length, so that commits land between their plans and their applies
    store.evaluate = async (q: CompiledQuery, t: EvaluationTarget) => {
      if (t.lane === 'fast') await sleep(Math.floor(rand() * 60));
      return evaluate(q, t);
    };
    const cursor = await store.lastChangeSeq(ws);
    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    const kinds = ['Bench Ping', 'Order Completed', 'Product Viewed', 'Product Viewed'];
    let n = 0;
    for (let batch = 0; batch < 40; batch++) {
      const msgs = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => track(users[Math.floor(rand() * users.length)] as string, kinds[Math.floor(rand() * kinds.length)] as string, ++n));
      void sg.ingest.submit(ws, msgs, { source: 'api', mode: 'atomic' });
      await sleep(Math.floor(rand() * 25));
    }
    await sg.ingest.drain();
    await sg.segments.idle();
    assert.ok(sg.segments.metrics.instantDecisions > 20, `the instant lane took part: ${JSON.stringify(sg.segments.metrics)}`);

    const full = await sg.segments.compute(ws);
    assert.deepEqual(full.segments.filter((s) => s.entered || s.exited), [], 'a full recomputation finds nothing to change');
    // per segment and profile, the history alternates entered / exited (no change recorded twice)
    const last = new Map<string, string>();
    for (const c of await store.changesSince(ws, cursor, 10_000)) {
      const k = `${c.segmentKey} ${c.profileId}`;
      assert.notEqual(last.get(k), c.change, `${k} ${c.change} twice in a row`);
      last.set(k, c.change);
    }
  } finally {
    await sg.close();
  }
});

test('a fast run takes at most fastBatchMax profiles; the others wait for the next runs', { timeout: 60_000 }, async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, segments: { fastBatchMax: 2 } });
  try {
    const ws = await shop(sg);
    const before = sg.segments.metrics.fastRuns;
    await sg.ingest.submit(ws, ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((u) => track(u, 'Order Completed', 'x')), { source: 'api', mode: 'atomic' });
    await sg.ingest.drain();
    await sg.segments.idle();
    // a, b and c have state rows; d … g are new profiles (no row yet), which the fast lane evaluates too
    assert.equal(sg.segments.metrics.fastRuns - before, 4, 'seven profiles in runs of 2, 2, 2 and 1');
    const full = await sg.segments.compute(ws);
    assert.deepEqual(full.segments.filter((s) => s.entered || s.exited), [], 'every one of them was evaluated');
  } finally {
    await sg.close();
  }
});

test('a full run whose diff was taken from its snapshot redoes the profiles whose memberships changed before its apply', { timeout: 60_000 }, async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const ws = await shop(sg);
    const store = sg.store.segments;
    // fast runs held back until the end: the memberships below are the instant lane's and the full run's
    const releaseFast = holdFastRuns(sg);
    // the instant write for a's ping waits until the full run has diffed against its snapshot, and the
    // full run's apply waits until that write is committed
    let releaseInstant!: () => void;
    const instantGate = new Promise<void>((r) => { releaseInstant = r; });
    const applyInstant = store.applyInstant.bind(store);
    let instantDone!: () => void;
    const instantWritten = new Promise<void>((r) => { instantDone = r; });
    store.applyInstant = async (...args: Parameters<typeof store.applyInstant>) => {
      await instantGate;
      try {
        return await applyInstant(...args);
      } finally {
        instantDone();
      }
    };
    const internals = store as unknown as { prepareDiff(w: unknown, t: EvaluationTarget): Promise<number> };
    const prepareDiff = internals.prepareDiff.bind(store);
    let prepared = 0;
    internals.prepareDiff = async (w, t) => {
      const seq = await prepareDiff(w, t);
      prepared++;
      releaseInstant();
      await instantWritten;
      return seq;
    };
    const cursor = await store.lastChangeSeq(ws);
    await sg.ingest.submit(ws, [track('a', 'Bench Ping', 1)], { source: 'api', mode: 'atomic' });
    // the ping is in the full run's snapshot (a is not late), but its snapshot of memberships is older
    await sg.segments.compute(ws);
    assert.equal(prepared, 1, 'the full run diffed before its apply');
    assert.ok(sg.segments.metrics.instantEntered >= 1, `the instant lane entered a between the diff and the apply: ${JSON.stringify(sg.segments.metrics)}`);
    releaseFast();
    await sg.segments.idle();
    const pinged = (await store.changesSince(ws, cursor, 100)).filter((c) => c.segmentKey === 'pinged');
    assert.deepEqual(pinged.map((c) => c.change), ['entered'], `one entry, from the instant lane; the full run found a already in: ${JSON.stringify(pinged)}`);
    assert.deepEqual((await sg.segments.members(ws, 'pinged')).map((m) => m.profileId), [pinged[0]?.profileId], 'one membership row');
  } finally {
    await sg.close();
  }
});

test('a full run rewrites the computed values of the profiles fast runs applied after its snapshot', { timeout: 60_000 }, async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const { workspace: ws } = await sg.workspaces.create('t');
    const D = 86_400_000;
    const at = (daysAgo: number) => new Date(Date.now() - daysAgo * D).toISOString();
    await sg.ingest.submit(ws, [{ type: 'track', userId: 'a', event: 'Order Completed', messageId: 'o1', timestamp: at(10) }], { source: 'api', mode: 'atomic' });
    await sg.segments.createComputedTrait(ws, { key: 'days', kind: 'days_since_last', event: 'Order Completed' });
    await sg.segments.idle();
    // full runs three days in the past: they say 7 days; a fast run at the real time says 10
    const past = Date.now() - 3 * D;
    await sg.segments.compute(ws, { now: past });
    const pid = (await sg.store.segments.query({ sql: `SELECT profile_id FROM computed_values WHERE key = 'days'`, params: [], segmentColumns: [], computedColumns: [] }))[0]?.['profile_id'];
    const days = async () => (await sg.store.segments.computedValues(ws, String(pid))).find((v) => v.key === 'days')?.value;
    assert.equal(await days(), 7, 'the full run at its time');
    const store = sg.store.segments;
    const releaseFast = holdFastRuns(sg);
    // the fast run for a's page view applies between the full run's snapshot and its apply
    const internals = store as unknown as { prepareDiff(w: unknown, t: EvaluationTarget): Promise<number> };
    const prepareDiff = internals.prepareDiff.bind(store);
    internals.prepareDiff = async (w, t) => {
      const seq = await prepareDiff(w, t);
      const before = sg.segments.metrics.fastRuns;
      releaseFast();
      const deadline = performance.now() + 20_000;
      while (sg.segments.metrics.fastRuns === before && performance.now() < deadline) await sleep(10);
      return seq;
    };
    // (a segment, so that the full run diffs memberships: the hook above runs)
    await store.insertDefinition({ workspaceId: ws, kind: 'segment', key: 'buyers', version: 1, name: 'buyers', description: null, definition: JSON.stringify({ type: 'event', event: 'Order Completed' }), status: 'active', createdAt: Date.now() });
    await sg.ingest.submit(ws, [{ type: 'track', userId: 'a', event: 'Product Viewed', messageId: 'v1', timestamp: at(5) }], { source: 'api', mode: 'atomic' });
    await sg.segments.compute(ws, { now: past });
    assert.ok(sg.segments.metrics.fastRuns > 0, 'the fast run applied during the full run');
    assert.equal(await days(), 7, 'the full run applied last: its value, and its state row\'s hash of it, not the fast run\'s 10');
    await sg.segments.idle();
  } finally {
    await sg.close();
  }
});

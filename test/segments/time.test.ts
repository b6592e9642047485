/**
 * Simulated time: events at offsets, advance the clock, compute, assert entries and exits — windows
 * that expire without new events, a delayed "then not" (abandoned cart) that becomes true as time
 * passes, and an anniversary that comes and goes. Also: a failing computation is recorded and shown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenta } from '../../src/app/segmenta.js';
import { DEFAULT_SEGMENTS_CONFIG, SegmentService } from '../../src/services/segments.js';

const H = 3_600_000;
const T0 = Date.parse('2026-03-10T12:00:00Z');

test('advancing the clock: windows expire, an abandoned checkout appears after its wait, birthdays come and go', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  let now = T0;
  const segs = new SegmentService(sg.store, DEFAULT_SEGMENTS_CONFIG, () => now);
  try {
    const ws = (await sg.workspaces.create('time')).workspace;
    const at = (ms: number) => new Date(ms).toISOString();
    await sg.ingest.submit(ws, [
      { type: 'track', userId: 'ann', event: 'Order Completed', timestamp: at(T0 - 20 * H), messageId: 'a1' },
      { type: 'track', userId: 'bob', event: 'Checkout Started', timestamp: at(T0 - 10 * 60_000), messageId: 'b1' },
      { type: 'identify', userId: 'cy', traits: { birthday: '1990-03-12' }, timestamp: at(T0 - H), messageId: 'c1' },
    ], { source: 'api', mode: 'atomic' });
    const [ann, bob, cy] = await Promise.all(['ann', 'bob', 'cy'].map((u) => sg.profiles.resolve(ws, u)));
    await segs.create(ws, { key: 'recent_buyers', condition: { type: 'event', event: 'Order Completed', window: { type: 'last', amount: 1, unit: 'days' } } });
    await segs.create(ws, { key: 'abandoned', condition: { type: 'sequence', steps: [{ event: 'Checkout Started' }], thenNot: { event: 'Order Completed' }, within: { amount: 1, unit: 'hours' } } });
    await segs.create(ws, { key: 'birthday_week', condition: { type: 'trait', trait: 'birthday', op: 'anniversary_within', days: 3 } });
    const members = async (key: string) => (await segs.members(ws, key)).map((m) => m.profileId).sort();
    assert.deepEqual(await members('recent_buyers'), [ann]);
    assert.deepEqual(await members('abandoned'), [], 'the hour has not passed yet');
    assert.deepEqual(await members('birthday_week'), [cy]);
    const cursor = (await segs.changes(ws, 0)).cursor;

    now = T0 + 5 * H; // no new events: ann's order leaves the 1-day window, bob's hour has passed
    await segs.compute(ws);
    assert.deepEqual(await members('recent_buyers'), []);
    assert.deepEqual(await members('abandoned'), [bob]);
    now = T0 + 4 * 24 * H; // the birthday (12 March) is behind
    await segs.compute(ws);
    assert.deepEqual(await members('birthday_week'), []);
    const changes = (await segs.changes(ws, cursor)).changes.map((c) => `${c.segmentKey}:${c.change}:${c.profileId === ann ? 'ann' : c.profileId === bob ? 'bob' : 'cy'}`);
    assert.deepEqual(changes, ['recent_buyers:exited:ann', 'abandoned:entered:bob', 'birthday_week:exited:cy']);
    const list = await segs.list(ws);
    assert.ok(list.every((s) => !s.stale && s.lastComputed?.mode === 'full'));
    now += DEFAULT_SEGMENTS_CONFIG.staleAfterMs + 1;
    assert.ok((await segs.list(ws)).every((s) => s.stale && /last computed/.test(s.staleReason ?? '')), 'memberships too old are flagged stale');
  } finally {
    await segs.idle();
    await sg.close();
  }
});

test('a failing computation is recorded: the segment shows the error and is stale, nothing half-applied', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const ws = (await sg.workspaces.create('err')).workspace;
    await sg.ingest.submit(ws, [{ type: 'track', userId: 'u', event: 'X', messageId: 'x1' }], { source: 'api', mode: 'atomic' });
    await sg.segments.create(ws, { key: 'scored', condition: { type: 'score', model: 'churn', op: 'gt', value: 0.5 } });
    await sg.segments.create(ws, { key: 'did_x', condition: { type: 'event', event: 'X' } });
    // break the engine underneath: the scores table disappears
    await sg.store.segments.query({ sql: 'DROP TABLE scores', params: [], segmentColumns: [], computedColumns: [] });
    await assert.rejects(sg.segments.compute(ws), /scores/);
    const list = await sg.segments.list(ws);
    for (const s of list) {
      assert.match(s.error ?? '', /scores/);
      assert.equal(s.stale, true);
      assert.match(s.staleReason ?? '', /failed/);
    }
    assert.equal(list.find((s) => s.key === 'did_x')?.members, 1, 'the memberships of the last good run are kept');
  } finally {
    await sg.close();
  }
});

test('touched profiles are evaluated before a waiting full run (fresh data first)', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  const now = T0;
  const segs = new SegmentService(sg.store, { ...DEFAULT_SEGMENTS_CONFIG, refreshMs: 1000 }, () => now);
  try {
    const ws = (await sg.workspaces.create('order')).workspace;
    await sg.ingest.submit(ws, [{ type: 'track', userId: 'a', event: 'X', messageId: 'x1' }], { source: 'api', mode: 'atomic' });
    await segs.create(ws, { key: 'did_x', condition: { type: 'event', event: 'X' } });
    const modes: string[] = [];
    const original = segs.compute.bind(segs);
    segs.compute = async (w, opts = {}) => { modes.push(opts.profileIds ? 'incremental' : 'full'); return original(w, opts); };
    // a full run is queued, then a commit touches a profile: the touched profile goes first
    const a = await sg.profiles.resolve(ws, 'a');
    (segs as unknown as { pendingFull: Set<string> }).pendingFull.add(ws); // as the refresh timer does
    segs.touch(new Map([[ws, new Set([a ?? ''])]]));
    await segs.idle();
    assert.deepEqual(modes, ['incremental', 'full']);
  } finally {
    await segs.idle();
    await sg.close();
  }
});

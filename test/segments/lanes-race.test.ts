/**
 * The slow lane must not lose work handed over by a fast run that is still running. Regression: the
 * fast run queued an empty slow-lane entry before awaiting its own evaluation; a slow run ending in
 * that window took the empty entry as its batch and finished without awaiting anything, so the
 * profiles the fast run added afterwards were never evaluated for the slow definitions, and the
 * settled job stayed registered (later calls chained on it in an endless loop of microtasks).
 * Evaluations are slowed down here so that the window is certain. (With the bug this test hangs: the
 * microtask loop starves every timer, its own time limit too.)
 *
 * The second test: a waiting full run must come under a steady stream of history runs (it was
 * starved: batches always went first). The third: the refresh timer does not queue a full run while
 * one runs (it did, and full runs came in pairs, back to back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenta } from '../../src/app/segmenta.js';
import type { EvaluationTarget } from '../../src/ports/segments.js';
import type { CompiledQuery } from '../../src/domain/segments/compile.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const order = (userId: string, i: number) => ({ type: 'track', userId, event: 'Order Completed', messageId: `${userId}-${i}`, properties: { revenue: 10 } });

/**
 * A workspace with one definition the fast lane keeps (a count) and one only the slow lane can (a
 * rolling window), computed; then evaluations delayed per lane, so lanes overlap as a test needs.
 */
async function twoLanes(sg: Segmenta, delay: (lane: EvaluationTarget['lane']) => number): Promise<string> {
  const { workspace: ws } = await sg.workspaces.create('t');
  await sg.ingest.submit(ws, [order('seed', 0)], { source: 'api', mode: 'atomic' });
  await sg.segments.create(ws, { key: 'buyers', condition: { type: 'event', event: 'Order Completed' } });
  await sg.segments.create(ws, { key: 'recent', condition: { type: 'event', event: 'Order Completed', window: { type: 'last', amount: 30, unit: 'days' } } });
  await sg.segments.idle();
  const store = sg.store.segments;
  const evaluate = store.evaluate.bind(store);
  store.evaluate = async (q: CompiledQuery, t: EvaluationTarget) => {
    await sleep(delay(t.lane));
    return evaluate(q, t);
  };
  return ws;
}

test('a slow run ending while a fast run is under way loses none of its hand-over', { timeout: 60_000 }, async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    // fast runs take 400 ms, slow runs 100 ms: the slow run for a ends while the fast run for b runs
    const ws = await twoLanes(sg, (lane) => (lane === 'fast' ? 400 : lane === 'slow' ? 100 : 0));
    await sg.ingest.submit(ws, [order('a', 1)], { source: 'api', mode: 'atomic' });
    await sleep(450); // a's fast run is done; its slow run is under way
    await sg.ingest.submit(ws, [order('b', 1)], { source: 'api', mode: 'atomic' });
    await sg.ingest.drain();
    await sg.segments.idle();

    const recent = new Set((await sg.segments.members(ws, 'recent', 100, 0)).map((m) => m.profileId));
    const buyers = new Set((await sg.segments.members(ws, 'buyers', 100, 0)).map((m) => m.profileId));
    assert.equal(buyers.size, 3, 'seed, a and b bought');
    assert.deepEqual([...recent].sort(), [...buyers].sort(), 'every buyer ordered within 30 days: the slow lane evaluated them all');
  } finally {
    await sg.close();
  }
});

test('a waiting full run is not starved by a steady stream of history runs', { timeout: 60_000 }, async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, segments: { slowPauseRatio: 0 } });
  let producing = true;
  try {
    // history runs take 100 ms and a commit lands every 10 ms: a batch is always waiting when one ends
    const ws = await twoLanes(sg, (lane) => (lane === 'slow' ? 100 : 0));
    let i = 0;
    const producer = (async () => {
      while (producing) {
        await sg.ingest.submit(ws, [order(`u${i % 7}`, ++i)], { source: 'api', mode: 'atomic' });
        await sleep(10);
      }
    })();
    await sleep(300);
    const fullBefore = sg.segments.metrics.fullRuns;
    const slowBefore = sg.segments.metrics.slowRuns;
    (sg.segments as unknown as { pendingFull: Set<string> }).pendingFull.add(ws); // as the refresh timer does
    const deadline = performance.now() + 3000;
    while (sg.segments.metrics.fullRuns === fullBefore && performance.now() < deadline) await sleep(20);
    producing = false;
    await producer;
    assert.ok(sg.segments.metrics.slowRuns > slowBefore, 'history runs went on meanwhile');
    assert.ok(sg.segments.metrics.fullRuns > fullBefore, 'the full run came within 3 s (one history run passed it at most)');
    await sg.ingest.drain();
    await sg.segments.idle();
  } finally {
    producing = false;
    await sg.segments.idle();
    await sg.close();
  }
});

test('the refresh timer queues no full run while one is under way (full runs came in pairs)', { timeout: 60_000 }, async () => {
  // refresh every second (the timer ticks every second); a full run takes 1.5 s, so the next is due no
  // sooner than 4 × 1.5 = 6 s after it ends. Queued again by the ticks during the first one, a second
  // run followed at once.
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, segments: { refreshMs: 1000 } });
  try {
    const ws = await twoLanes(sg, (lane) => (lane === undefined || lane === 'full' ? 1500 : 0));
    const before = sg.segments.metrics.fullRuns;
    sg.segments.startRefresh(async () => [ws]);
    await sleep(5500);
    assert.equal(sg.segments.metrics.fullRuns - before, 1, 'one full run in 5.5 s: the first is due at the first tick, the next 6 s after it ends');
  } finally {
    sg.segments.stopRefresh();
    await sg.segments.idle();
    await sg.close();
  }
});

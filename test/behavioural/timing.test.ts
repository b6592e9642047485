/**
 * The timing buckets the occasion model reads (weekday / weekend, parts of the day, UTC), from the
 * DuckDB store's integer arithmetic on epoch milliseconds, against JavaScript's UTC calendar at the
 * edges: midnight, the hour boundaries of each day part, the epoch's first day, a leap day.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenta } from '../../src/app/segmenta.js';
import { DAY_PARTS, TIMING_BUCKETS } from '../../src/domain/behavioural/model.js';

test('event timing: weekday, weekend and day parts in UTC equal the calendar at the edges', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const { workspace: ws } = await sg.workspaces.create('t');
    const times = [
      '2026-11-22T23:59:59.999Z', // Sunday, evening
      '2026-11-23T00:00:00.000Z', // Monday, night
      '2026-11-27T05:59:59.999Z', // Friday, night
      '2026-11-27T06:00:00.000Z', // Friday, morning
      '2026-11-28T11:59:59.999Z', // Saturday, morning
      '2026-11-28T12:00:00.000Z', // Saturday, afternoon
      '2026-11-21T17:59:59.999Z', // Saturday, afternoon
      '2026-11-20T18:00:00.000Z', // Friday, evening
      '1970-01-01T00:00:00.000Z', // Thursday, night (day 0 of the arithmetic; ingest rejects earlier times)
      '2024-02-29T23:00:00.000Z', // Thursday, evening (a leap day)
    ];
    const asOf = Date.parse('2026-11-30T00:00:00Z');
    const msgs = times.map((t, i) => ({ type: 'track', userId: 'u1', event: 'Product Viewed', timestamp: t, messageId: `v${i}` }));
    msgs.push({ type: 'track', userId: 'u1', event: 'Product Viewed', timestamp: '2026-12-05T10:00:00Z', messageId: 'later' }); // after asOf
    msgs.push({ type: 'track', userId: 'u1', event: 'Order Completed', timestamp: '2026-11-22T10:00:00Z', messageId: 'other' }); // another event
    msgs.push({ type: 'track', userId: 'u2', event: 'Product Viewed', timestamp: '2026-11-24T13:00:00Z', messageId: 'u2' });
    const r = await sg.ingest.submit(ws, msgs, { source: 'test', mode: 'partial' });
    assert.equal(r.accepted, msgs.length, `accepted: ${JSON.stringify(r)}`);
    const expected = (list: string[]): Record<string, number> => {
      const out: Record<string, number> = Object.fromEntries(TIMING_BUCKETS.map((b) => [b, 0]));
      for (const t of list) {
        const d = new Date(t);
        const day = d.getUTCDay();
        (out as Record<string, number>)[day === 0 || day === 6 ? 'weekend' : 'weekday']! += 1;
        const h = d.getUTCHours();
        const part = (Object.entries(DAY_PARTS) as Array<[string, [number, number]]>).find(([, [a, b]]) => h >= a && h <= b)?.[0];
        assert.ok(part, `a day part for hour ${h}`);
        out[part] = (out[part] ?? 0) + 1;
      }
      return out;
    };
    const u1 = await sg.store.profileByIdentity(ws, 'user_id', 'u1');
    const u2 = await sg.store.profileByIdentity(ws, 'user_id', 'u2');
    const t = await sg.store.eventTiming(ws, 'Product Viewed', asOf);
    const got = new Map(t.profileIds.map((pid, r) => [pid, Object.fromEntries(TIMING_BUCKETS.map((b) => [b, t.counts[b]?.[r]]))]));
    assert.deepEqual(got.get(u1 as string), expected(times), 'u1: the listed views only');
    assert.deepEqual(got.get(u2 as string), expected(['2026-11-24T13:00:00Z']), 'u2: one Tuesday afternoon view');
    assert.equal(got.size, 2, 'one row per profile with the event');
  } finally {
    await sg.close();
  }
});

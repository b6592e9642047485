/**
 * Segments through the HTTP API on the embedded engine: create, members, entries and exits after
 * ingest (incremental), explain, estimate, overlap, changes since a cursor, versions, archive, roles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, postJson, type TestApp } from '../helpers.js';

async function api(t: TestApp, method: string, path: string, body?: unknown, token = t.ws.adminToken): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.app.request(path, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : { text }) as Record<string, unknown> };
}

const order = (userId: string, revenue: number, messageId: string) => ({ type: 'track', userId, event: 'Order Completed', messageId, properties: { revenue } });

test('segments over HTTP: create, incremental entry and exit, explain, estimate, overlap, changes, versions, archive', async () => {
  const t = await openTestApp();
  try {
    const ws = t.ws.workspace;
    let r = await postJson(t, '/v1/batch', { batch: [order('ann', 80, 'o1'), order('ann', 50, 'o2'), order('bob', 20, 'o3'), { type: 'identify', userId: 'cy', traits: { plan: 'pro' }, messageId: 'i1' }] });
    assert.equal(r.status, 200);
    await t.sg.segments.idle();

    const big = { type: 'aggregate', event: 'Order Completed', fn: 'sum', path: 'properties.revenue', op: 'gte', value: 100 };
    let res = await api(t, 'POST', '/api/v1/segments', { key: 'big_spenders', name: 'Big spenders', condition: big });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body['members'], 1);
    assert.equal(res.body['stale'], false);
    assert.ok(res.body['lastComputed']);

    res = await api(t, 'POST', '/api/v1/segments', { key: 'buyers', text: 'performed "Order Completed"' });
    assert.equal(res.body['members'], 2);
    assert.deepEqual(res.body['condition'], { type: 'event', event: 'Order Completed' }, 'the text form is stored as its JSON form');
    res = await api(t, 'POST', '/api/v1/segments/check', { text: 'performed "Order Completed" at lest 2 times' });
    assert.equal(res.body['valid'], false);
    assert.equal((res.body['diagnostics'] as Array<{ code: string; span: { start: number } }>)[0]?.code, 'syntax.unknown_keyword');

    // a bad definition: diagnostics with a pointer; an unknown reference; a cycle
    res = await api(t, 'POST', '/api/v1/segments', { key: 'bad', condition: { type: 'trait', trait: 'plan', op: 'eq', vlaue: 'x' } });
    assert.equal(res.status, 400);
    assert.ok(Array.isArray(res.body['diagnostics']));
    res = await api(t, 'POST', '/api/v1/segments', { key: 'bad', condition: { type: 'segment', segment: 'nope' } });
    assert.equal(res.status, 400);
    assert.match(String(res.body['message']), /no active segment 'nope'/);
    res = await api(t, 'PUT', '/api/v1/segments/big_spenders', { condition: { type: 'segment', segment: 'big_spenders' } });
    assert.equal(res.status, 400);
    assert.equal(res.body['error'], 'segment.cycle');

    // incremental: a new order makes bob enter; the entry is in the change feed
    const before = await api(t, 'GET', '/api/v1/segment-changes?cursor=0');
    const cursor = Number(before.body['cursor']);
    r = await postJson(t, '/v1/batch', { batch: [order('bob', 200, 'o4')] });
    assert.equal(r.status, 200);
    await t.sg.ingest.drain();
    await t.sg.segments.idle();
    res = await api(t, 'GET', `/api/v1/segment-changes?cursor=${cursor}&segment=big_spenders`);
    const changes = res.body['changes'] as Array<Record<string, unknown>>;
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.['change'], 'entered');
    const bob = await t.sg.profiles.resolve(ws, 'bob');
    assert.equal(changes[0]?.['profileId'], bob);

    const prof = await api(t, 'GET', '/api/v1/profiles/bob');
    assert.deepEqual((prof.body['segments'] as Array<{ key: string }>).map((x) => x.key).sort(), ['big_spenders', 'buyers']);
    assert.deepEqual((prof.body['segmentHistory'] as Array<{ segment: string; change: string }>).map((h) => `${h.segment}:${h.change}`).sort(), ['big_spenders:entered', 'buyers:entered']);
    res = await api(t, 'POST', '/api/v1/computed-traits', { key: 'order_count', kind: 'count', event: 'Order Completed' });
    assert.equal(res.status, 201);
    const prof2 = await api(t, 'GET', '/api/v1/profiles/bob');
    assert.deepEqual((prof2.body['computedTraits'] as Array<{ key: string; value: unknown }>).map((c) => [c.key, c.value]), [['order_count', 2]]);
    res = await api(t, 'POST', '/api/v1/computed-traits', { key: 'first_cat', kind: 'first', event: 'Order Completed', path: 'products.category' });
    assert.equal(res.status, 400, 'first/last/most_frequent read one value per event');
    res = await api(t, 'GET', '/api/v1/segments/big_spenders/members');
    assert.equal((res.body['members'] as unknown[]).length, 2);
    res = await api(t, 'GET', '/api/v1/segments/big_spenders/members?format=csv');
    assert.match(String(res.body['text']), /^profile_id,entered_at,version\n/);

    // explain: the value and the verdict of each node
    res = await api(t, 'GET', '/api/v1/segments/big_spenders/explain/bob');
    assert.equal(res.status, 200);
    assert.equal(res.body['holds'], true);
    assert.equal(res.body['member'], true);
    const tree = res.body['tree'] as Record<string, unknown>;
    assert.equal(tree['value'], '220');
    res = await api(t, 'PUT', '/api/v1/segments/big_spenders', { condition: { type: 'and', conditions: [big, { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }] } });
    assert.equal(res.body['version'], 2);
    assert.equal(res.body['members'], 0, 'nobody has plan=pro and spent 100');
    res = await api(t, 'GET', '/api/v1/segments/big_spenders/explain/ann');
    assert.equal(res.body['holds'], false);
    const kids = (res.body['tree'] as { children: Array<{ holds: boolean; value?: string; label: string }> }).children;
    assert.deepEqual(kids.map((k) => k.holds), [true, false]);
    assert.equal(kids[1]?.value, 'missing');

    // exits were recorded with the new version
    res = await api(t, 'GET', `/api/v1/segment-changes?cursor=${cursor}&segment=big_spenders`);
    assert.deepEqual((res.body['changes'] as Array<{ change: string; version: number }>).slice(1).map((c) => [c.change, c.version]), [['exited', 2], ['exited', 2]]);

    // estimate of an unsaved definition, exact
    res = await api(t, 'POST', '/api/v1/segments/estimate', { condition: { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 2 } } });
    assert.equal(res.body['size'], 2);
    assert.equal(res.body['profiles'], 3);

    // overlap with Jaccard
    res = await api(t, 'GET', '/api/v1/segment-overlap?segments=buyers,big_spenders');
    const m = res.body['matrix'] as Array<{ segment: string; cells: Array<{ segment: string; both: number; jaccard: number }> }>;
    assert.equal(m[0]?.cells[0]?.both, 2);
    assert.equal(m[0]?.cells[1]?.jaccard, 0);

    res = await api(t, 'GET', '/api/v1/segments/buyers/guard?baseline=0.05&lift=0.1');
    assert.equal(res.body['ok'], false);
    assert.equal((res.body['warnings'] as string[]).length, 2);

    res = await api(t, 'GET', '/api/v1/segments/big_spenders/versions');
    assert.equal((res.body['versions'] as unknown[]).length, 2);
    res = await api(t, 'GET', '/api/v1/segments/buyers/sizes');
    assert.equal((res.body['sizes'] as Array<{ members: number }>)[0]?.members, 2);

    // roles: a viewer reads but cannot create
    const viewer = await t.sg.workspaces.addToken(ws, 'viewer', 'v');
    assert.equal((await api(t, 'GET', '/api/v1/segments', undefined, viewer)).status, 200);
    assert.equal((await api(t, 'POST', '/api/v1/segments', { key: 'x', condition: big }, viewer)).status, 403);

    // archive: gone from the list, memberships dropped with exits
    res = await api(t, 'DELETE', '/api/v1/segments/buyers');
    assert.equal(res.body['status'], 'archived');
    res = await api(t, 'GET', '/api/v1/segments');
    assert.deepEqual((res.body['segments'] as Array<{ key: string }>).map((s) => s.key), ['big_spenders']);
  } finally {
    await t.close();
  }
});

test('size estimate on a large workspace: a sampled estimate whose interval holds the exact count, then the exact count', async () => {
  const { Segmenta } = await import('../../src/app/segmenta.js');
  const { createHttpApp } = await import('../../src/http/app.js');
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, segments: { sampleSize: 300 } });
  try {
    const ws = await sg.workspaces.create('big');
    const batch = [];
    for (let i = 0; i < 2000; i++) batch.push({ type: 'track', userId: `user-${i}`, event: i % 3 === 0 ? 'Order Completed' : 'Product Viewed', messageId: `e${i}` });
    for (let i = 0; i < batch.length; i += 500) assert.deepEqual((await sg.ingest.submit(ws.workspace, batch.slice(i, i + 500), { source: 'api', mode: 'atomic' })).accepted, 500);
    const app = createHttpApp(sg);
    const est = async (mode: string) => (await (await app.request(`/api/v1/segments/estimate?mode=${mode}`, {
      method: 'POST', headers: { authorization: `Bearer ${ws.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ condition: { type: 'event', event: 'Order Completed' } }),
    })).json()) as { size: number; exact: boolean; profiles: number; sample: { sampled: number; size: number; low: number; high: number } | null; exactResult: { size: number } | null };
    const both = await est('both');
    assert.equal(both.profiles, 2000);
    assert.equal(both.exactResult?.size, 667);
    assert.equal(both.size, 667);
    assert.ok(both.sample, 'a sample on a workspace 2.5× larger than the sample size');
    assert.equal(both.sample.sampled, 8 * Math.floor(300 / 8), 'eight strata of equal blocks');
    // Profile ids are random, so the sample differs per run and a 95 % interval misses the exact count
    // in 1 run of 20 (a fresh-clone CI run saw 674-907 for 667). Checked instead: the interval is around
    // the estimate, and the exact count is within 2 half-widths of it (z ≈ 3.9: 1 run in 10,000).
    const half = (both.sample.high - both.sample.low) / 2;
    assert.ok(both.sample.low <= both.sample.size && both.sample.size <= both.sample.high && half > 0, `interval ${both.sample.low}-${both.sample.high} around ${both.sample.size}`);
    assert.ok(Math.abs(both.sample.size - 667) <= 2 * half, `sampled ${both.sample.size} (interval ${both.sample.low}-${both.sample.high}) within two half-widths of 667`);
    const s = await est('sample');
    assert.equal(s.exact, false);
    assert.equal(s.exactResult, null);
    assert.equal(s.size, s.sample?.size);
  } finally {
    await sg.close();
  }
});

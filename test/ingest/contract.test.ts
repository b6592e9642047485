/**
 * The Segment HTTP tracking contract (REFERENCES.md §Segment HTTP tracking contract), one test per rule,
 * in-process through the Hono app.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Segmenta } from '../../src/app/segmenta.js';
import { createHttpApp } from '../../src/http/app.js';
import type { StoredEvent } from '../../src/ports/storage.js';
import { basic, openTestApp, postJson, type TestApp } from '../helpers.js';

async function eventCount(t: TestApp, workspace = t.ws.workspace): Promise<number> {
  return (await t.sg.store.workspaceStats(workspace)).events;
}

/** Events of the profile that holds `ref` (a user id, anonymous id, email or type:value). */
async function eventsOf(t: TestApp, ref: string): Promise<StoredEvent[]> {
  const pid = await t.sg.profiles.resolve(t.ws.workspace, ref);
  assert.ok(pid, `no profile for ${ref}`);
  return t.sg.store.profileRecentEvents(t.ws.workspace, pid, 1000);
}

async function json(res: Response): Promise<Record<string, unknown>> {
  const body: unknown = await res.json();
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), 'the response body is a JSON object');
  return Object.fromEntries(Object.entries(body));
}

function raw(t: TestApp, path: string, body: string | Uint8Array, headers: Record<string, string>): Promise<Response> {
  return Promise.resolve(t.app.request(path, { method: 'POST', headers, body }));
}

const ONE: Record<string, Record<string, unknown>> = {
  identify: { userId: 'u-identify', traits: { name: 'Ada' } },
  track: { userId: 'u-track', event: 'Clicked' },
  page: { userId: 'u-page', name: 'Home' },
  screen: { userId: 'u-screen', name: 'Main' },
  group: { userId: 'u-group', groupId: 'g1', traits: { plan: 'pro' } },
  alias: { userId: 'u-alias', previousId: 'anon-alias' },
};

test('every single-message path /v1/{identify,track,page,screen,group,alias} stores one message of its type', async () => {
  const t = await openTestApp();
  try {
    for (const [type, msg] of Object.entries(ONE)) {
      const res = await postJson(t, `/v1/${type}`, msg);
      assert.equal(res.status, 200, type);
      const body = await json(res);
      assert.equal(body['success'], true);
      assert.equal(body['accepted'], 1);
      const events = await eventsOf(t, String(msg['userId']));
      assert.deepEqual(events.map((e) => e.type), [type], type);
    }
    assert.equal(await eventCount(t), 6);
    const [track] = await eventsOf(t, 'u-track');
    assert.equal(track?.event, 'Clicked');
    const [page] = await eventsOf(t, 'u-page');
    assert.equal(page?.name, 'Home');
  } finally {
    await t.close();
  }
});

test('/v1/batch and /v1/import take {batch:[…]} with each message carrying its own type', async () => {
  const t = await openTestApp();
  try {
    for (const path of ['/v1/batch', '/v1/import']) {
      const uid = `u-${path.slice(4)}`;
      const res = await postJson(t, path, {
        batch: [
          { type: 'identify', userId: uid, traits: { a: 1 } },
          { type: 'track', userId: uid, event: 'E1' },
          { type: 'page', userId: uid, name: 'P' },
        ],
      });
      assert.equal(res.status, 200, path);
      assert.equal((await json(res))['accepted'], 3);
      const events = await eventsOf(t, uid);
      assert.deepEqual(events.map((e) => e.type).sort(), ['identify', 'page', 'track']);
      assert.equal(events[0]?.source, path === '/v1/import' ? 'api:import' : 'api');
    }
  } finally {
    await t.close();
  }
});

test('the one-letter browser paths /v1/{i,t,p,s,g,a,b} accept text/plain bodies', async () => {
  const t = await openTestApp();
  try {
    const short: Array<[string, string, Record<string, unknown>]> = [
      ['i', 'identify', ONE['identify'] ?? {}],
      ['t', 'track', ONE['track'] ?? {}],
      ['p', 'page', ONE['page'] ?? {}],
      ['s', 'screen', ONE['screen'] ?? {}],
      ['g', 'group', ONE['group'] ?? {}],
      ['a', 'alias', ONE['alias'] ?? {}],
    ];
    for (const [letter, type, msg] of short) {
      const body = JSON.stringify({ ...msg, writeKey: t.ws.writeKey });
      const res = await raw(t, `/v1/${letter}`, body, { 'content-type': 'text/plain' });
      assert.equal(res.status, 200, letter);
      const events = await eventsOf(t, String(msg['userId']));
      assert.deepEqual(events.map((e) => e.type), [type]);
    }
    const res = await raw(t, '/v1/b', JSON.stringify({ writeKey: t.ws.writeKey, batch: [{ type: 'track', userId: 'u-b', event: 'B' }] }),
      { 'content-type': 'text/plain;charset=UTF-8' });
    assert.equal(res.status, 200);
    assert.equal((await eventsOf(t, 'u-b'))[0]?.event, 'B');
    assert.equal(await eventCount(t), 7);
  } finally {
    await t.close();
  }
});

test('an unknown tracking path is 404', async () => {
  const t = await openTestApp();
  try {
    const res = await postJson(t, '/v1/x', ONE['track']);
    assert.equal(res.status, 404);
    assert.equal(await eventCount(t), 0);
  } finally {
    await t.close();
  }
});

test('auth: Basic header only, body writeKey only, and both are accepted', async () => {
  const t = await openTestApp();
  try {
    const headerOnly = await postJson(t, '/v1/track', { userId: 'h', event: 'E' });
    assert.equal(headerOnly.status, 200);
    const bodyOnly = await raw(t, '/v1/track', JSON.stringify({ userId: 'b', event: 'E', writeKey: t.ws.writeKey }), { 'content-type': 'application/json' });
    assert.equal(bodyOnly.status, 200);
    const both = await postJson(t, '/v1/track', { userId: 'both', event: 'E', writeKey: t.ws.writeKey });
    assert.equal(both.status, 200);
    assert.equal(await eventCount(t), 3);
  } finally {
    await t.close();
  }
});

test('auth: a missing or invalid write key is 401 and nothing is stored', async () => {
  const t = await openTestApp();
  try {
    const msg = JSON.stringify({ userId: 'x', event: 'E' });
    const cases: Array<[string, Record<string, string>, string]> = [
      ['no key at all', { 'content-type': 'application/json' }, msg],
      ['bad header key', { 'content-type': 'application/json', authorization: basic('wk_nope') }, msg],
      ['bad body key', { 'content-type': 'application/json' }, JSON.stringify({ userId: 'x', event: 'E', writeKey: 'wk_nope' })],
      ['admin token is not a write key', { 'content-type': 'application/json', authorization: basic(t.ws.adminToken) }, msg],
      ['non-Basic scheme', { 'content-type': 'application/json', authorization: `Bearer ${t.ws.writeKey}` }, msg],
    ];
    for (const [label, headers, body] of cases) {
      const res = await raw(t, '/v1/track', body, headers);
      assert.equal(res.status, 401, label);
      const b = await json(res);
      assert.equal(b['success'], false);
      assert.equal(typeof b['message'], 'string');
    }
    assert.equal(await eventCount(t), 0);
  } finally {
    await t.close();
  }
});

test('a gzip body (Content-Encoding: gzip) is accepted, single and batch', async () => {
  const t = await openTestApp();
  try {
    const one = gzipSync(Buffer.from(JSON.stringify({ userId: 'gz', event: 'Zipped' })));
    const r1 = await raw(t, '/v1/track', one, { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic(t.ws.writeKey) });
    assert.equal(r1.status, 200);
    const many = gzipSync(Buffer.from(JSON.stringify({ batch: [{ type: 'track', userId: 'gz', event: 'Z2' }, { type: 'track', userId: 'gz', event: 'Z3' }] })));
    const r2 = await raw(t, '/v1/batch', many, { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic(t.ws.writeKey) });
    assert.equal(r2.status, 200);
    assert.deepEqual((await eventsOf(t, 'gz')).map((e) => e.event).sort(), ['Z2', 'Z3', 'Zipped']);
  } finally {
    await t.close();
  }
});

test('a message over 32 KB is 400 (alone and inside a batch); one just under is accepted', async () => {
  const t = await openTestApp();
  try {
    const big = (n: number) => ({ userId: 'big', event: 'Big', properties: { pad: 'x'.repeat(n) } });
    const ok = await postJson(t, '/v1/track', big(32 * 1024 - 200));
    assert.equal(ok.status, 200);
    const tooBig = await postJson(t, '/v1/track', big(33 * 1024));
    assert.equal(tooBig.status, 400);
    const inBatch = await postJson(t, '/v1/batch', { batch: [{ type: 'track', userId: 'big', event: 'small' }, { type: 'track', ...big(33 * 1024) }] });
    assert.equal(inBatch.status, 400);
    assert.match(String((await json(inBatch))['message']), /batch\[1\]/);
    // gzip does not get around the limit: it applies to the decoded bytes.
    const zipped = gzipSync(Buffer.from(JSON.stringify(big(40 * 1024))));
    const gz = await raw(t, '/v1/track', zipped, { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: basic(t.ws.writeKey) });
    assert.equal(gz.status, 400);
    assert.equal(await eventCount(t), 1);
  } finally {
    await t.close();
  }
});

test('a batch request over 500 KB is 400', async () => {
  const t = await openTestApp();
  try {
    const msg = (i: number) => ({ type: 'track', userId: 'bb', event: 'E', messageId: `m${i}`, properties: { pad: 'y'.repeat(10_000) } });
    const under = Array.from({ length: 45 }, (_, i) => msg(i)); // ~450 KB
    const r1 = await postJson(t, '/v1/batch', { batch: under });
    assert.equal(r1.status, 200);
    const over = Array.from({ length: 55 }, (_, i) => msg(100 + i)); // ~550 KB
    const r2 = await postJson(t, '/v1/batch', { batch: over });
    assert.equal(r2.status, 400);
    assert.equal((await json(r2))['error'], 'too_large');
    assert.equal(await eventCount(t), 45);
  } finally {
    await t.close();
  }
});

test('a batch of more than 2,500 messages is 400; exactly 2,500 is accepted', async () => {
  const t = await openTestApp();
  try {
    const batch = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ type: 'track', userId: 'n', event: 'E', messageId: `${p}${i}` }));
    const over = await postJson(t, '/v1/batch', { batch: batch(2501, 'o') });
    assert.equal(over.status, 400);
    assert.equal((await json(over))['error'], 'too_many');
    const exact = await postJson(t, '/v1/batch', { batch: batch(2500, 'e') });
    assert.equal(exact.status, 200);
    assert.equal((await json(exact))['accepted'], 2500);
    assert.equal(await eventCount(t), 2500);
  } finally {
    await t.close();
  }
});

test('invalid JSON is 400', async () => {
  const t = await openTestApp();
  try {
    for (const body of ['{', '{"userId": "a", "event": }', 'not json', '{"userId":"a","event":"E"}}']) {
      const res = await postJson(t, '/v1/track', body);
      assert.equal(res.status, 400, body);
      assert.equal((await json(res))['error'], 'bad_json');
    }
    assert.equal(await eventCount(t), 0);
  } finally {
    await t.close();
  }
});

test('a message without userId and anonymousId is 400', async () => {
  const t = await openTestApp();
  try {
    for (const msg of [{ event: 'E' }, { event: 'E', userId: '' }, { event: 'E', userId: null, anonymousId: null }]) {
      const res = await postJson(t, '/v1/track', msg);
      assert.equal(res.status, 400);
      assert.equal((await json(res))['error'], 'missing_id');
    }
    const anonOnly = await postJson(t, '/v1/track', { event: 'E', anonymousId: 'a1' });
    assert.equal(anonOnly.status, 200);
    assert.equal(await eventCount(t), 1);
  } finally {
    await t.close();
  }
});

test('a track without event is 400', async () => {
  const t = await openTestApp();
  try {
    for (const msg of [{ userId: 'u' }, { userId: 'u', event: '' }, { userId: 'u', event: '   ' }]) {
      const res = await postJson(t, '/v1/track', msg);
      assert.equal(res.status, 400);
      assert.equal((await json(res))['error'], 'missing_event');
    }
    const inBatch = await postJson(t, '/v1/batch', { batch: [{ type: 'track', userId: 'u' }] });
    assert.equal(inBatch.status, 400);
    assert.equal(await eventCount(t), 0);
  } finally {
    await t.close();
  }
});

test('messageId deduplicates: same id twice is stored once, within a batch and across requests', async () => {
  const t = await openTestApp();
  try {
    const m = { userId: 'd', event: 'E', messageId: 'dup-1' };
    const r1 = await json(await postJson(t, '/v1/track', m));
    assert.deepEqual([r1['accepted'], r1['duplicates']], [1, 0]);
    const r2 = await json(await postJson(t, '/v1/track', m));
    assert.deepEqual([r2['accepted'], r2['duplicates']], [0, 1]);
    const r3 = await json(await postJson(t, '/v1/batch', {
      batch: [{ type: 'track', ...m }, { type: 'track', userId: 'd', event: 'E', messageId: 'dup-2' }, { type: 'track', userId: 'd', event: 'E', messageId: 'dup-2' }],
    }));
    assert.deepEqual([r3['accepted'], r3['duplicates']], [1, 2]);
    assert.deepEqual((await eventsOf(t, 'd')).map((e) => e.messageId).sort(), ['dup-1', 'dup-2']);
    // ids are per workspace: another workspace may reuse one
    const b = await t.sg.workspaces.create('other');
    const r4 = await raw(t, '/v1/track', JSON.stringify(m), { 'content-type': 'application/json', authorization: basic(b.writeKey) });
    assert.equal((await json(r4))['accepted'], 1);
  } finally {
    await t.close();
  }
});

test('messageId dedup survives a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'segmenta-dedup-'));
  try {
    const t = await openTestApp(undefined, dir);
    const m = { userId: 'r', event: 'E', messageId: 'restart-1' };
    try {
      assert.equal((await json(await postJson(t, '/v1/track', m)))['accepted'], 1);
    } finally {
      await t.close();
    }
    const sg = await Segmenta.open({ dataDir: dir, threads: 1 });
    const t2: TestApp = { sg, ws: t.ws, app: createHttpApp(sg), close: () => sg.close() };
    try {
      const r = await json(await postJson(t2, '/v1/track', m));
      assert.deepEqual([r['accepted'], r['duplicates']], [0, 1]);
      const rb = await json(await postJson(t2, '/v1/batch', { batch: [{ type: 'track', ...m }, { type: 'track', userId: 'r', event: 'E', messageId: 'restart-2' }] }));
      assert.deepEqual([rb['accepted'], rb['duplicates']], [1, 1]);
      assert.equal(await eventCount(t2), 2);
    } finally {
      await t2.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('clock skew: timestamp = receivedAt − (sentAt − originalTimestamp)', async () => {
  const t = await openTestApp();
  try {
    // A client whose clock runs one hour fast: it stamped the event 10 s before sending it.
    const fast = Date.now() + 3_600_000;
    const res = await postJson(t, '/v1/track', {
      userId: 'skew', event: 'Skewed', messageId: 's1',
      originalTimestamp: new Date(fast - 10_000).toISOString(), sentAt: new Date(fast).toISOString(),
    });
    assert.equal(res.status, 200);
    const [e] = await eventsOf(t, 'skew');
    assert.ok(e);
    assert.equal(e.receivedAt - e.timestamp, 10_000);
    assert.ok(Math.abs(e.receivedAt - Date.now()) < 60_000, 'receivedAt is the server clock');
  } finally {
    await t.close();
  }
});

test('clock skew: timestamp stands in for a missing originalTimestamp; no sentAt means no correction', async () => {
  const t = await openTestApp();
  try {
    const ts = Date.parse('2024-03-01T12:00:00.000Z');
    await postJson(t, '/v1/track', { userId: 'ts', event: 'A', messageId: 'a', timestamp: new Date(ts).toISOString(), sentAt: new Date(ts + 5_000).toISOString() });
    await postJson(t, '/v1/track', { userId: 'ts', event: 'B', messageId: 'b', timestamp: new Date(ts).toISOString() });
    await postJson(t, '/v1/track', { userId: 'ts', event: 'C', messageId: 'c' });
    const byId = new Map((await eventsOf(t, 'ts')).map((e) => [e.messageId, e]));
    const a = byId.get('a');
    const b = byId.get('b');
    const c = byId.get('c');
    assert.ok(a && b && c);
    assert.equal(a.receivedAt - a.timestamp, 5_000);
    assert.equal(b.timestamp, ts);
    assert.equal(c.timestamp, c.receivedAt);
  } finally {
    await t.close();
  }
});

test('clock skew in a batch: the envelope sentAt applies when a message has none; its own sentAt wins', async () => {
  const t = await openTestApp();
  try {
    const clientNow = Date.parse('2030-01-01T00:00:00.000Z');
    const res = await postJson(t, '/v1/batch', {
      sentAt: new Date(clientNow).toISOString(),
      batch: [
        { type: 'track', userId: 'env', event: 'E', messageId: 'e1', originalTimestamp: new Date(clientNow - 2_000).toISOString() },
        { type: 'track', userId: 'env', event: 'E', messageId: 'e2', originalTimestamp: new Date(clientNow - 2_000).toISOString(), sentAt: new Date(clientNow - 1_000).toISOString() },
      ],
    });
    assert.equal(res.status, 200);
    const byId = new Map((await eventsOf(t, 'env')).map((e) => [e.messageId, e]));
    const e1 = byId.get('e1');
    const e2 = byId.get('e2');
    assert.ok(e1 && e2);
    assert.equal(e1.receivedAt - e1.timestamp, 2_000);
    assert.equal(e2.receivedAt - e2.timestamp, 1_000);
  } finally {
    await t.close();
  }
});

test('a batch envelope context merges into each message; the message keys win', async () => {
  // Observable through identity: context.traits.email is an identifier of the message.
  const t = await openTestApp();
  try {
    const res = await postJson(t, '/v1/batch', {
      context: { traits: { email: 'env@example.com' }, locale: 'fr-FR' },
      batch: [
        { type: 'track', userId: 'ctx-1', event: 'E' },
        { type: 'track', userId: 'ctx-2', event: 'E', context: { traits: { email: 'own@example.com' } } },
      ],
    });
    assert.equal(res.status, 200);
    const p1 = await t.sg.profiles.resolve(t.ws.workspace, 'ctx-1');
    const p2 = await t.sg.profiles.resolve(t.ws.workspace, 'ctx-2');
    assert.ok(p1 && p2);
    assert.notEqual(p1, p2);
    const emails = async (p: string) => (await t.sg.store.profileIdentities(t.ws.workspace, p)).filter((i) => i.type === 'email').map((i) => i.value);
    assert.deepEqual(await emails(p1), ['env@example.com']);
    assert.deepEqual(await emails(p2), ['own@example.com']);
  } finally {
    await t.close();
  }
});

test("workspace A's write key cannot write into workspace B", async () => {
  const t = await openTestApp();
  try {
    const b = await t.sg.workspaces.create('b');
    // A's key in the header, B's key in the body: the message lands in A only (the header is the credential).
    const r1 = await postJson(t, '/v1/track', { userId: 'cross', event: 'E', writeKey: b.writeKey });
    assert.equal(r1.status, 200);
    // B's key only.
    const r2 = await raw(t, '/v1/track', JSON.stringify({ userId: 'cross-b', event: 'E' }), { 'content-type': 'application/json', authorization: basic(b.writeKey) });
    assert.equal(r2.status, 200);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).events, 1);
    assert.equal((await t.sg.store.workspaceStats(b.workspace)).events, 1);
    assert.ok(await t.sg.profiles.resolve(t.ws.workspace, 'cross'));
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, 'cross-b'), undefined);
    assert.equal(await t.sg.profiles.resolve(b.workspace, 'cross'), undefined);
    assert.ok(await t.sg.profiles.resolve(b.workspace, 'cross-b'));
  } finally {
    await t.close();
  }
});

test('a full queue answers 429 with Retry-After and stores nothing of that request', async () => {
  const t = await openTestApp({ maxQueuedMessages: 10 });
  try {
    const N = 12;
    const responses = await Promise.all(Array.from({ length: N }, (_, r) => postJson(t, '/v1/batch', {
      batch: Array.from({ length: 8 }, (_, i) => ({ type: 'track', userId: `q${r}`, event: 'E', messageId: `q${r}-${i}` })),
    })));
    let accepted = 0;
    let limited = 0;
    for (let r = 0; r < N; r++) {
      const res = responses[r];
      assert.ok(res);
      if (res.status === 429) {
        limited++;
        const retry = Number(res.headers.get('retry-after'));
        assert.ok(Number.isInteger(retry) && retry > 0, 'Retry-After is a positive number of seconds');
        assert.equal((await json(res))['error'], 'rate_limited');
        assert.equal(await t.sg.profiles.resolve(t.ws.workspace, `q${r}`), undefined, 'nothing of a 429 request is stored');
      } else {
        assert.equal(res.status, 200);
        const n = Number((await json(res))['accepted']);
        assert.equal(n, 8);
        accepted += n;
        assert.equal((await eventsOf(t, `q${r}`)).length, 8);
      }
    }
    assert.ok(limited >= 1, 'at least one request was rate limited');
    assert.ok(accepted >= 8, 'at least one request got through');
    assert.equal(await eventCount(t), accepted);
    // A 429'd request can be retried with the same message ids once the queue drains.
    await t.sg.ingest.drain();
    const firstLimited = responses.findIndex((r) => r.status === 429);
    const retry = await postJson(t, '/v1/batch', {
      batch: Array.from({ length: 8 }, (_, i) => ({ type: 'track', userId: `q${firstLimited}`, event: 'E', messageId: `q${firstLimited}-${i}` })),
    });
    assert.equal(retry.status, 200);
    assert.equal((await json(retry))['accepted'], 8);
  } finally {
    await t.close();
  }
});

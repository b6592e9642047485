/**
 * The management API: tokens, roles, workspace isolation, the profile read (ISO times), health.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, postJson, type TestApp } from '../helpers.js';

async function get(t: TestApp, path: string, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('a token is required, must be valid, and a write key is not a token', async () => {
  const t = await openTestApp();
  try {
    assert.equal((await get(t, '/api/v1/workspace')).status, 401);
    assert.equal((await get(t, '/api/v1/workspace', 'sgt_not-a-token')).status, 401);
    const asKey = await get(t, '/api/v1/workspace', t.ws.writeKey);
    assert.equal(asKey.status, 401);
    assert.match(String(asKey.body['message']), /not valid/);
    const ok = await get(t, '/api/v1/workspace', t.ws.adminToken);
    assert.equal(ok.status, 200);
    assert.equal((ok.body['workspace'] as { id: string }).id, t.ws.workspace);
  } finally {
    await t.close();
  }
});

test('the profile read shows identities, traits with provenance, counts, events, merges — times in ISO-8601', async () => {
  const t = await openTestApp();
  try {
    await postJson(t, '/v1/track', { anonymousId: 'a-1', event: 'Product Viewed', timestamp: '2026-01-02T03:04:05.000Z' });
    await postJson(t, '/v1/identify', { userId: 'u-1', anonymousId: 'a-1', traits: { email: 'u1@example.com', plan: 'pro' } });
    const r = await get(t, '/api/v1/profiles/email:u1@example.com?recent=5', t.ws.adminToken);
    assert.equal(r.status, 200);
    const view = r.body as { identities: Array<{ type: string; firstSeen: string }>; traits: Array<{ key: string; source: string; updatedAt: string }>; recentEvents: Array<{ timestamp: string }>; totalEvents: number };
    assert.deepEqual(view.identities.map((i) => i.type).sort(), ['anonymous_id', 'email', 'user_id']);
    assert.equal(view.totalEvents, 2);
    assert.ok(view.recentEvents.some((e) => e.timestamp === '2026-01-02T03:04:05.000Z'));
    const plan = view.traits.find((x) => x.key === 'plan');
    assert.equal(plan?.source, 'identify:api');
    assert.match(plan?.updatedAt ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const missing = await get(t, '/api/v1/profiles/nobody', t.ws.adminToken);
    assert.equal(missing.status, 404);
    assert.match(String(missing.body['message']), /no profile matches 'nobody'/);
  } finally {
    await t.close();
  }
});

test('a token of one workspace never sees another workspace\'s profiles; viewers can read', async () => {
  const t = await openTestApp();
  try {
    await postJson(t, '/v1/identify', { userId: 'secret-user', traits: { email: 'secret@example.com' } });
    const other = await t.sg.workspaces.create('other');
    assert.equal((await get(t, '/api/v1/profiles/secret-user', t.ws.adminToken)).status, 200);
    const cross = await get(t, '/api/v1/profiles/secret-user', other.adminToken);
    assert.equal(cross.status, 404);
    assert.equal((await get(t, '/api/v1/workspace', other.adminToken)).body['stats'] !== undefined, true);
    assert.equal(((await get(t, '/api/v1/workspace', other.adminToken)).body['stats'] as { events: number }).events, 0);
    const viewer = await t.sg.workspaces.addToken(t.ws.workspace, 'viewer', 'read only');
    assert.equal((await get(t, '/api/v1/profiles/secret-user', viewer)).status, 200);
  } finally {
    await t.close();
  }
});

test('health and readiness', async () => {
  const t = await openTestApp();
  try {
    assert.deepEqual((await get(t, '/health')).body, { status: 'ok' });
    const ready = await get(t, '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.body['engine'], 'duckdb');
    assert.ok(Number(ready.body['schemaVersion']) >= 1);
    assert.equal((await get(t, '/nowhere')).status, 404);
  } finally {
    await t.close();
  }
});

test('/metrics speaks the Prometheus text format and counts ingestion', async () => {
  const t = await openTestApp();
  try {
    await postJson(t, '/v1/batch', { batch: [{ type: 'track', userId: 'm', event: 'E', messageId: 'x1' }, { type: 'track', userId: 'm', event: 'E', messageId: 'x1' }] });
    await postJson(t, '/v1/track', { event: 'no id' });
    const res = await t.app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /^# TYPE segmenta_ingest_accepted_messages_total counter$/m);
    assert.match(text, /^segmenta_ingest_accepted_messages_total 1$/m);
    assert.match(text, /^segmenta_ingest_duplicate_messages_total 1$/m);
    assert.match(text, /^segmenta_ingest_rejected_messages_total 1$/m);
    assert.match(text, /^process_resident_memory_bytes \d+$/m);
    assert.match(text, /^# TYPE segmenta_segment_instant_entries_total counter$/m);
    assert.match(text, /^segmenta_segment_fast_runs_total \d+$/m);
    assert.match(text, /^# TYPE segmenta_storage_wal_bytes gauge$/m);
    assert.match(text, /^segmenta_storage_checkpoints_busy_total 0$/m);
    // the one commit shows in the commit summary; no instant write yet: NaN quantiles, count 0
    assert.match(text, /^# TYPE segmenta_ingest_commit_seconds summary$/m);
    assert.match(text, /^segmenta_ingest_commit_seconds\{quantile="0\.99"\} \d+(\.\d+)?(e-\d+)?$/m);
    assert.match(text, /^segmenta_ingest_commit_seconds_count 1$/m);
    assert.match(text, /^segmenta_segment_instant_delay_seconds\{quantile="0\.5"\} NaN$/m);
    assert.match(text, /^segmenta_segment_instant_delay_seconds_count 0$/m);
  } finally {
    await t.close();
  }
});

async function send(t: TestApp, method: string, path: string, token: string, payload?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.app.request(path, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('admins manage write keys and tokens; roles limit who can; revoked secrets stop working at once', async () => {
  const t = await openTestApp();
  try {
    const viewer = (await send(t, 'POST', '/api/v1/tokens', t.ws.adminToken, { role: 'viewer', label: 'dashboards' })).body['token'] as string;
    assert.match(viewer, /^sgt_/);
    // a viewer may read but not manage
    assert.equal((await get(t, '/api/v1/workspace', viewer)).status, 200);
    const denied = await send(t, 'POST', '/api/v1/write-keys', viewer, {});
    assert.equal(denied.status, 403);
    assert.match(String(denied.body['message']), /needs the admin role; the token has viewer/);
    // bad bodies say what is wrong
    const bad = await send(t, 'POST', '/api/v1/tokens', t.ws.adminToken, { role: 'owner' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body['message']), /^role: /);
    assert.equal((await send(t, 'POST', '/api/v1/tokens', t.ws.adminToken, { role: 'viewer', extra: 1 })).status, 400);
    // a new write key ingests; the list shows ids and labels, never secrets
    const created = await send(t, 'POST', '/api/v1/write-keys', t.ws.adminToken, { label: 'ios app' });
    assert.equal(created.status, 201);
    const key = created.body['writeKey'] as string;
    assert.equal((await postJson(t, '/v1/track', { userId: 'k', event: 'E' }, { authorization: 'Basic ' + Buffer.from(`${key}:`).toString('base64') })).status, 200);
    const list = (await send(t, 'GET', '/api/v1/credentials', t.ws.adminToken)).body['credentials'] as Array<{ id: string; kind: string; label: string; revokedAt: string | null }>;
    assert.equal(list.length, 4);
    assert.ok(!JSON.stringify(list).includes(key.slice(3)), 'secrets are never listed');
    const ios = list.find((c) => c.label === 'ios app');
    assert.ok(ios && /^[0-9a-f]{12}$/.test(ios.id));
    // revoke: the key stops working immediately in this process
    assert.equal((await send(t, 'DELETE', `/api/v1/credentials/${ios.id}`, t.ws.adminToken)).status, 200);
    assert.equal((await postJson(t, '/v1/track', { userId: 'k', event: 'E' }, { authorization: 'Basic ' + Buffer.from(`${key}:`).toString('base64') })).status, 401);
    assert.equal((await send(t, 'DELETE', `/api/v1/credentials/${ios.id}`, t.ws.adminToken)).status, 404);
    assert.equal((await send(t, 'DELETE', '/api/v1/credentials/xyz', t.ws.adminToken)).status, 400);
    // another workspace's admin cannot revoke this workspace's credentials
    const other = await t.sg.workspaces.create('other');
    const mine = list.find((c) => c.label === 'initial write key');
    assert.ok(mine);
    assert.equal((await send(t, 'DELETE', `/api/v1/credentials/${mine.id}`, other.adminToken)).status, 404);
  } finally {
    await t.close();
  }
});

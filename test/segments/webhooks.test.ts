/**
 * Webhooks for entries and exits against a real local HTTP receiver: HMAC signature, idempotency key
 * stable across retries, exponential backoff after failures, order kept, segment filter, deletion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Segmenta } from '../../src/app/segmenta.js';
import { signPayload } from '../../src/services/webhooks.js';
import { createHttpApp } from '../../src/http/app.js';
import { basic } from '../helpers.js';

interface Received { headers: IncomingHttpHeaders; body: string; at: number }

test('webhooks: signed, retried with backoff under the same idempotency key, in order, filtered by segment', async () => {
  const received: Received[] = [];
  let failuresLeft = 2;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503).end('busy');
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, webhooks: { baseDelayMs: 30, maxDelayMs: 200 } });
  try {
    const ws = await sg.workspaces.create('wh');
    const app = createHttpApp(sg);
    const send = (batch: unknown[]) => app.request('/v1/batch', { method: 'POST', headers: { authorization: basic(ws.writeKey), 'content-type': 'application/json' }, body: JSON.stringify({ batch }) });
    await sg.segments.create(ws.workspace, { key: 'buyers', condition: { type: 'event', event: 'Order Completed' } });
    await sg.segments.create(ws.workspace, { key: 'viewers', condition: { type: 'event', event: 'Product Viewed' } });
    const hook = await sg.webhooks.create(ws.workspace, { url, segments: ['buyers'] });
    assert.match(hook.secret, /^whsec_/);

    assert.equal((await send([{ type: 'track', userId: 'u1', event: 'Order Completed', messageId: 'a1' }, { type: 'track', userId: 'u2', event: 'Product Viewed', messageId: 'a2' }])).status, 200);
    await sg.ingest.drain();
    await sg.segments.idle();
    // two failures, then success: three attempts with growing gaps
    for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await sg.webhooks.kick();
    assert.equal(received.length, 3, 'two failed attempts and one acknowledged');
    const keys = received.map((r) => r.headers['idempotency-key']);
    assert.equal(new Set(keys).size, 1, 'the same idempotency key on every retry');
    // The delays are lower bounds (30 ms, then 60 ms with baseDelayMs 30): a loaded machine only adds
    // to them, so comparing the two gaps with each other would fail under load. (timer slack: 5 ms)
    const gap1 = (received[1]?.at ?? 0) - (received[0]?.at ?? 0);
    const gap2 = (received[2]?.at ?? 0) - (received[1]?.at ?? 0);
    assert.ok(gap1 >= 30 - 5 && gap2 >= 60 - 5, `backoff doubles: waited ${gap1} ms, then ${gap2} ms`);
    for (const r of received) {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['segmenta-signature']));
      assert.ok(m, 'signature header');
      assert.equal(m[2], signPayload(hook.secret, Number(m[1]), r.body), 'HMAC over "<t>.<body>"');
    }
    const payload = JSON.parse(received[2]?.body ?? '{}') as { changes: Array<{ segment: string; change: string; profileId: string }> };
    assert.deepEqual(payload.changes.map((c) => [c.segment, c.change]), [['buyers', 'entered']], 'only the subscribed segment');
    const u1 = await sg.profiles.resolve(ws.workspace, 'u1');
    assert.equal(payload.changes[0]?.profileId, u1);

    // the next change is a new delivery with a new key; nothing is sent twice
    assert.equal((await send([{ type: 'track', userId: 'u3', event: 'Order Completed', messageId: 'a3' }])).status, 200);
    await sg.ingest.drain();
    await sg.segments.idle();
    for (let i = 0; i < 100 && received.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    await sg.webhooks.kick();
    assert.equal(received.length, 4);
    assert.notEqual(received[3]?.headers['idempotency-key'], keys[0]);
    const list = await sg.webhooks.list(ws.workspace);
    assert.equal(list[0]?.delivered, 2);
    assert.equal(list[0]?.lastError, null);

    await sg.webhooks.remove(ws.workspace, hook.id);
    assert.deepEqual(await sg.webhooks.list(ws.workspace), []);
  } finally {
    await sg.close();
    server.close();
  }
});

test('webhooks API: admin only, bad URL is a 400', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const ws = await sg.workspaces.create('wh2');
    const app = createHttpApp(sg);
    const call = (token: string, body: unknown) => app.request('/api/v1/webhooks', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await call(ws.adminToken, { url: 'ftp://x' });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /http or https/);
    const viewer = await sg.workspaces.addToken(ws.workspace, 'editor', 'e');
    assert.equal((await call(viewer, { url: 'http://127.0.0.1:9/x' })).status, 403);
    const ok = await call(ws.adminToken, { url: 'http://127.0.0.1:9/x' });
    assert.equal(ok.status, 201);
    assert.match(((await ok.json()) as { secret: string }).secret, /^whsec_/);
  } finally {
    await sg.close();
  }
});

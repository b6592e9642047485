/**
 * The real client libraries against a running segmenta: @segment/analytics-node 3.x and
 * @rudderstack/rudder-sdk-node 3.x. A recording proxy sits in front of the server so the tests can also
 * check what each client put on the wire (auth style, gzip, context.library).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { startServer } from '../../src/http/server.js';
import { openTestApp, type TestApp } from '../helpers.js';

interface Recorded {
  path: string;
  headers: IncomingHttpHeaders;
  status: number;
  body: unknown;
}

interface Proxy {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** Forward every request to `target`, recording the decoded body and the answer's status. */
async function recordingProxy(target: string): Promise<Proxy> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
      void fetch(target + (req.url ?? '/'), { method: req.method ?? 'POST', headers, body: raw }).then(async (r) => {
        const text = await r.text();
        const plain = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        let body: unknown;
        try {
          body = JSON.parse(plain.toString('utf8'));
        } catch {
          body = plain.toString('utf8');
        }
        requests.push({ path: req.url ?? '', headers: req.headers, status: r.status, body });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      }, (err: unknown) => {
        res.writeHead(502);
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address: AddressInfo | string | null = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const { port } = address;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function batchOf(r: Recorded): Array<Record<string, unknown>> {
  const b = r.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return [];
  const batch = Object.entries(b).find(([k]) => k === 'batch')?.[1];
  if (!Array.isArray(batch)) return [];
  return batch.filter((m): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m));
}

function libraryName(m: Record<string, unknown>): unknown {
  const ctx = m['context'];
  if (typeof ctx !== 'object' || ctx === null) return undefined;
  const lib = Object.entries(ctx).find(([k]) => k === 'library')?.[1];
  if (typeof lib !== 'object' || lib === null) return undefined;
  return Object.entries(lib).find(([k]) => k === 'name')?.[1];
}

async function storedFor(t: TestApp, ref: string) {
  const pid = await t.sg.profiles.resolve(t.ws.workspace, ref);
  assert.ok(pid, `a profile for ${ref}`);
  return t.sg.profiles.get(t.ws.workspace, pid, 100);
}

test('@segment/analytics-node 3.x: identify, track, page, group, alias arrive intact', async () => {
  const t = await openTestApp();
  const server = await startServer(t.sg, 0);
  const proxy = await recordingProxy(server.url);
  try {
    const analytics = new Analytics({ writeKey: t.ws.writeKey, host: proxy.url, flushAt: 3, maxRetries: 3 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ anonymousId: 'seg-anon', event: 'Product Viewed', properties: { product_id: 'p1', price: 9.5 } });
    analytics.identify({ userId: 'seg-user', anonymousId: 'seg-anon', traits: { email: 'seg@example.com', plan: 'pro' } });
    analytics.track({ userId: 'seg-user', event: 'Order Completed', properties: { order_id: 'o1', revenue: 42.5, currency: 'USD' } });
    analytics.page({ userId: 'seg-user', name: 'Pricing', properties: { url: 'https://ex.com/pricing' } });
    analytics.group({ userId: 'seg-user', groupId: 'acme', traits: { name: 'Acme' } });
    analytics.track({ anonymousId: 'seg-anon-2', event: 'Browsed' });
    analytics.alias({ userId: 'seg-user', previousId: 'seg-anon-2' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    await t.sg.ingest.drain();
    assert.deepEqual(errors, []);

    assert.ok(proxy.requests.length >= 1);
    for (const r of proxy.requests) {
      assert.equal(r.path, '/v1/batch');
      assert.equal(r.status, 200);
      assert.match(String(r.headers['authorization']), /^Basic /, 'analytics-node sends the Basic header');
    }
    const sent = proxy.requests.flatMap(batchOf);
    assert.equal(sent.length, 7);
    for (const m of sent) assert.equal(libraryName(m), '@segment/analytics-node');

    const view = await storedFor(t, 'seg-user');
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, 'seg-anon'), view.profileId, 'identify merged the anonymous browsing');
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, 'seg-anon-2'), view.profileId, 'alias linked the second anonymous id');
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, 'email:seg@example.com'), view.profileId);
    const byType = view.recentEvents.map((e) => `${e.type}:${e.event ?? e.name ?? ''}`).sort();
    assert.deepEqual(byType, ['alias:', 'group:', 'identify:', 'page:Pricing', 'track:Browsed', 'track:Order Completed', 'track:Product Viewed']);
    const order = view.recentEvents.find((e) => e.event === 'Order Completed');
    assert.equal(order?.revenue, 42.5);
    const traits = new Map(view.traits.map((x) => [x.key, x.value]));
    assert.equal(traits.get('plan'), 'pro');
    assert.equal(traits.get('email'), 'seg@example.com');
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).events, 7);
  } finally {
    await proxy.close();
    await server.close();
    await t.close();
  }
});

test('@segment/analytics-node 3.x with a wrong write key: the 401 is reported, nothing stored', async () => {
  const t = await openTestApp();
  const server = await startServer(t.sg, 0);
  try {
    const analytics = new Analytics({ writeKey: 'wk_wrong', host: server.url, flushAt: 1, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ userId: 'x', event: 'E' });
    await analytics.closeAndFlush({ timeout: 10_000 });
    assert.ok(errors.length >= 1, 'the client saw a failure');
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).events, 0);
  } finally {
    await server.close();
    await t.close();
  }
});

test('@rudderstack/rudder-sdk-node 3.x: gzip, header-only auth, first event alone, the rest batched', async () => {
  const t = await openTestApp();
  const server = await startServer(t.sg, 0);
  const proxy = await recordingProxy(server.url);
  try {
    const client = new RudderAnalytics(t.ws.writeKey, { dataPlaneUrl: proxy.url, flushAt: 20, flushInterval: 60_000, logLevel: 'error', retryCount: 3 });
    client.identify({ userId: 'rs-user', anonymousId: 'rs-anon', traits: { email: 'rs@example.com', name: 'Rudy' } });
    client.track({ userId: 'rs-user', event: 'Order Completed', properties: { total: 30, currency: 'EUR' } });
    client.page({ userId: 'rs-user', name: 'Docs', properties: { url: 'https://ex.com/docs' } });
    client.group({ userId: 'rs-user', groupId: 'rs-org', traits: { plan: 'enterprise' } });
    client.screen({ userId: 'rs-user', name: 'Settings' });
    client.alias({ userId: 'rs-user', previousId: 'rs-old' });
    await new Promise<void>((resolve, reject) => {
      void client.flush((err?: Error) => (err ? reject(err) : resolve()));
    });
    await t.sg.ingest.drain();

    assert.ok(proxy.requests.length >= 2, 'the first event is sent alone, then the rest');
    const [first] = proxy.requests;
    assert.ok(first);
    assert.equal(batchOf(first).length, 1);
    assert.equal(batchOf(first)[0]?.['type'], 'identify');
    for (const r of proxy.requests) {
      assert.equal(r.path, '/v1/batch');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.match(String(r.headers['authorization']), /^Basic /);
      const body = r.body;
      assert.ok(typeof body === 'object' && body !== null && !Object.keys(body).includes('writeKey'), 'RudderStack sends the key in the header only');
    }
    const sent = proxy.requests.flatMap(batchOf);
    assert.equal(sent.length, 6);
    for (const m of sent) assert.match(String(libraryName(m)), /analytics-node|rudder/i);

    const view = await storedFor(t, 'rs-user');
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, 'rs-anon'), view.profileId);
    const byType = view.recentEvents.map((e) => `${e.type}:${e.event ?? e.name ?? ''}`).sort();
    assert.deepEqual(byType, ['alias:', 'group:', 'identify:', 'page:Docs', 'screen:Settings', 'track:Order Completed']);
    assert.equal(view.recentEvents.find((e) => e.event === 'Order Completed')?.revenue, 30);
    const traits = new Map(view.traits.map((x) => [x.key, x.value]));
    assert.equal(traits.get('name'), 'Rudy');
    assert.equal(traits.get('email'), 'rs@example.com');
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).events, 6);
  } finally {
    await proxy.close();
    await server.close();
    await t.close();
  }
});

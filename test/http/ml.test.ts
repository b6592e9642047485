/**
 * Statistical models over HTTP: fit (editor only), the registry, protected traits, guards and fairness,
 * and the errors: unknown kind or bad configuration 400 naming the field, unknown model 404, roles 403.
 * The shop: 60 customers whose orders arrive through the tracking API, a third of them frequent buyers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/domain/random.js';
import { apiCall, openTestApp, postJson, type TestApp } from '../helpers.js';

const AS_OF = '2025-11-01T00:00:00.000Z';
const DAY = 86_400_000;
let t: TestApp;
let editor = '';
let viewer = '';

const call = (method: string, path: string, token: string | undefined, body?: unknown) => apiCall(t, method, path, token, body);

before(async () => {
  t = await openTestApp();
  const end = Date.parse(AS_OF);
  const rng = mulberry32(5);
  const batch: unknown[] = [];
  for (let c = 0; c < 60; c++) {
    const frequent = c % 3 === 0;
    const orders = frequent ? 4 + Math.floor(rng() * 5) : 1;
    for (let k = 0; k < orders; k++) {
      batch.push({
        type: 'track', userId: `u${c}`, event: 'Order Completed', messageId: `m-${c}-${k}`,
        timestamp: new Date(end - (5 + Math.floor(rng() * 300)) * DAY).toISOString(), properties: { order_id: `o-${c}-${k}`, revenue: Math.round(20 + rng() * 100) },
      });
    }
    batch.push({ type: 'identify', userId: `u${c}`, messageId: `i-${c}`, timestamp: new Date(end - 400 * DAY).toISOString(), traits: { gender: c % 2 ? 'female' : 'male' } });
  }
  const res = await postJson(t, '/v1/batch', { batch });
  assert.equal(res.status, 200, await res.text());
  await t.sg.segments.idle();
  editor = await t.sg.workspaces.addToken(t.ws.workspace, 'editor', 'ml');
  viewer = await t.sg.workspaces.addToken(t.ws.workspace, 'viewer', 'read');
});
after(async () => { await t.close(); });

test('POST /api/v1/ml/models: editor only; 201 with the version; GET lists it and its versions', async () => {
  const denied = await call('POST', '/api/v1/ml/models', viewer, { kind: 'kmeans', name: 'groups', config: { k: 2 }, asOf: AS_OF });
  assert.equal(denied.status, 403);
  const r = await call('POST', '/api/v1/ml/models', editor, { kind: 'kmeans', name: 'groups', config: { k: 2, nInit: 2 }, asOf: AS_OF });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body['version'], 1);
  assert.equal(r.body['kind'], 'kmeans');
  const list = await call('GET', '/api/v1/ml/models', viewer);
  assert.deepEqual((list.body['models'] as Array<{ name: string }>).map((m) => m.name), ['groups']);
  const one = await call('GET', '/api/v1/ml/models/groups', viewer);
  assert.equal(one.status, 200);
  assert.ok((one.body['artifact'] as { centres: unknown[] }).centres.length === 2, 'fitted centres returned');
  const versions = await call('GET', '/api/v1/ml/models/groups/versions', viewer);
  assert.equal((versions.body['versions'] as unknown[]).length, 1);
});

test('errors: unknown kind and bad config 400 naming the field, unknown model 404, bad version 400', async () => {
  const kind = await call('POST', '/api/v1/ml/models', editor, { kind: 'magic', name: 'x' });
  assert.equal(kind.status, 400);
  assert.match(String(kind.body['message']), /no model kind 'magic'/);
  const cfg = await call('POST', '/api/v1/ml/models', editor, { kind: 'kmeans', name: 'x', config: { kMin: 5, kMax: 3 } });
  assert.equal(cfg.status, 400);
  assert.match(String(cfg.body['message']), /kmeans config\.kMin: kMin must not exceed kMax/);
  assert.equal((await call('GET', '/api/v1/ml/models/nope', viewer)).status, 404);
  assert.equal((await call('GET', '/api/v1/ml/models/groups?version=zero', viewer)).status, 400);
});

test('protected traits, a guarded segment and a fairness report', async () => {
  const put = await call('PUT', '/api/v1/ml/protected-traits', editor, { keys: ['gender'] });
  assert.deepEqual(put.body['keys'], ['gender']);
  await t.sg.segments.create(t.ws.workspace, { key: 'frequent', condition: { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 4 } } });
  const guard = await call('PUT', '/api/v1/ml/guarded-segments/frequent', editor, { noProtected: true });
  assert.equal(guard.status, 200, JSON.stringify(guard.body));
  assert.deepEqual((await call('GET', '/api/v1/ml/guarded-segments', viewer)).body['keys'], ['frequent']);
  const fair = await call('POST', '/api/v1/ml/fairness', viewer, { segment: 'frequent' });
  assert.equal(fair.status, 200, JSON.stringify(fair.body));
  const rep = (fair.body['reports'] as Array<{ attribute: string; groups: Array<{ group: string; n: number; selected: number }> }>)[0];
  assert.equal(rep?.attribute, 'gender');
  assert.equal(rep?.groups.reduce((a, g) => a + g.n, 0), 60, 'every customer has a gender');
  assert.equal(rep?.groups.reduce((a, g) => a + g.selected, 0), fair.body['selected'], 'selected add up');
  const bad = await call('POST', '/api/v1/ml/fairness', viewer, {});
  assert.equal(bad.status, 400);
});

/**
 * The behavioural library over HTTP: the catalogue (viewer), a run (editor) that writes traits with
 * provenance, the run registry, movement between two dates, and the errors: unknown model 404, bad
 * configuration 400 naming the field, bad times 400, roles 401 / 403. The shop: six customers whose
 * orders arrive through the tracking API, built so that one must be a Champion and one Lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiCall, openTestApp, postJson, type TestApp } from '../helpers.js';

const AS_OF = '2025-11-01T00:00:00.000Z';
const DAY = 86_400_000;
let t: TestApp;
let editor = '';
let viewer = '';

const call = (method: string, path: string, token: string | undefined, body?: unknown) => apiCall(t, method, path, token, body);

/*
 * `champ`: the most recent (2 days), most frequent (5) and largest (5 × 300) buyer: strictly better than
 * the 5 others on R, F and M → each score 1 + floor(5 · 5 / 6) = 5 → Champions. `lost`: one order of 3,
 * 500 days ago: nobody strictly worse on R and M, tied at the bottom on F → 1, 1, 1 → Lost. Only champ
 * bought after 2025-06-01 (150 days before the as-of date).
 */
const ORDERS: Array<[string, number, number]> = [
  ...[2, 4, 6, 9, 15].map((d): [string, number, number] => ['champ', d, 300]),
  ['lost', 500, 3],
  ['b', 200, 40], ['b', 260, 50],
  ['c', 170, 90],
  ['d', 180, 20], ['d', 300, 30], ['d', 320, 10],
  ['e', 210, 60],
];

before(async () => {
  t = await openTestApp();
  const end = Date.parse(AS_OF);
  const batch = ORDERS.map(([user, days, revenue], i) => ({
    type: 'track', userId: user, event: 'Order Completed', messageId: `m-${i}`,
    timestamp: new Date(end - days * DAY).toISOString(), properties: { order_id: `o-${i}`, revenue },
  }));
  const res = await postJson(t, '/v1/batch', { batch });
  assert.equal(res.status, 200, await res.text());
  await t.sg.segments.idle();
  editor = await t.sg.workspaces.addToken(t.ws.workspace, 'editor', 'models');
  viewer = await t.sg.workspaces.addToken(t.ws.workspace, 'viewer', 'read');
});
after(async () => { await t.close(); });

test('GET /api/v1/models: the catalogue for a viewer; a token is required', async () => {
  assert.equal((await call('GET', '/api/v1/models', undefined)).status, 401);
  const r = await call('GET', '/api/v1/models', viewer);
  assert.equal(r.status, 200);
  const models = r.body['models'] as Array<{ id: string; groups: string[]; groupTrait: string; traits: Array<{ key: string }>; defaults: Record<string, unknown> }>;
  const rfm = models.find((m) => m.id === 'rfm');
  assert.ok(rfm, 'rfm listed');
  assert.equal(rfm.groupTrait, 'rfm_group');
  assert.ok(rfm.groups.includes("Can't Lose"), 'groups listed');
  assert.equal(rfm.defaults['event'], 'Order Completed');
  assert.ok(models.some((m) => m.id === 'lifecycle'), 'lifecycle listed');
});

test('POST /api/v1/models/rfm/run: editor only; traits with provenance, summary counts every customer', async () => {
  const denied = await call('POST', '/api/v1/models/rfm/run', viewer, { asOf: AS_OF });
  assert.equal(denied.status, 403);
  assert.match(String(denied.body['message']), /editor role/);
  const r = await call('POST', '/api/v1/models/rfm/run', editor, { asOf: AS_OF });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body['asOf'], AS_OF);
  assert.equal(r.body['profiles'], 6);
  const summary = r.body['summary'] as { groups: Record<string, number>; grid: number[][] };
  assert.equal(Object.values(summary.groups).reduce((a, b) => a + b, 0), 6);
  assert.equal(summary.grid.flat().reduce((a, b) => a + b, 0), 6);
  assert.equal(summary.grid[4]?.[4], 1, 'champ alone in the top cell (FM 5, R 5)');
  // e (210 days) beats only lost on R (1 + floor(5 · 1 / 6) = 1), ties the one-order buyers on F and its 60
  // ties d's total, beating only lost on M: 1, 1, 1 like lost.
  assert.equal(summary.grid[0]?.[0], 2, 'lost and e in the bottom cell (FM 1, R 1)');
  assert.equal(summary.groups['Lost'], 2);
  assert.equal((r.body['segmentsCreated'] as string[]).length, 11);
  for (const [who, group] of [['champ', 'Champions'], ['lost', 'Lost']] as const) {
    const p = await call('GET', `/api/v1/profiles/${who}`, viewer);
    const trait = (p.body['traits'] as Array<{ key: string; value: unknown; source: string }>).find((x) => x.key === 'rfm_group');
    assert.equal(trait?.value, group, `${who}'s group`);
    assert.equal(trait?.source, 'model:rfm');
  }
  const seg = await call('GET', '/api/v1/segments/rfm_champions/members', viewer);
  assert.equal((seg.body['members'] as unknown[]).length, 1, 'the ready segment holds the champion');
});

test('a run with a configuration, then the registry (newest first) and the model with its last run', async () => {
  const r = await call('POST', '/api/v1/models/rfm/run', editor, { asOf: '2025-11-01', config: { scale: 3 } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal((r.body['config'] as { scale: number }).scale, 3);
  assert.ok((r.body['summary'] as Record<string, unknown>)['movement'], 'movement since the first run');
  const runs = await call('GET', '/api/v1/models/rfm/runs', viewer);
  assert.equal(runs.status, 200);
  const list = runs.body['runs'] as Array<{ runId: string; config: { scale: number }; asOf: string }>;
  assert.deepEqual(list.map((x) => x.config.scale), [3, 5]);
  assert.equal(list[0]?.runId, r.body['runId']);
  assert.equal(((await call('GET', '/api/v1/models/rfm/runs?limit=1', viewer)).body['runs'] as unknown[]).length, 1);
  assert.equal((await call('GET', '/api/v1/models/rfm/runs?limit=0', viewer)).status, 400);
  const one = await call('GET', '/api/v1/models/rfm', viewer);
  assert.equal((one.body['lastRun'] as { runId: string }).runId, r.body['runId']);
  assert.equal((await call('GET', '/api/v1/models/lifecycle', viewer)).body['lastRun'], null);
});

test('GET /api/v1/models/rfm/movement: every customer once; champ arrives from (none)', async () => {
  const r = await call('GET', '/api/v1/models/rfm/movement?from=2025-06-01&to=2025-11-01', viewer);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const matrix = r.body['matrix'] as Record<string, Record<string, number>>;
  assert.equal(Number(r.body['stayed']) + Number(r.body['moved']), 6);
  assert.deepEqual(matrix['(none)'], { Champions: 1 });
  const three = await call('GET', `/api/v1/models/rfm/movement?from=2025-06-01&to=2025-11-01&config=${encodeURIComponent('{"scale":3}')}`, viewer);
  assert.equal(three.status, 200);
  const groups3 = new Set(Object.values(three.body['matrix'] as Record<string, Record<string, number>>).flatMap((row) => Object.keys(row)));
  assert.ok(!groups3.has('Promising'), 'the 3-point scale never reaches Promising (R 4)');
});

test('errors: unknown model 404, bad configuration 400 naming the field, bad times 400; nothing recorded', async () => {
  const before = ((await call('GET', '/api/v1/models/rfm/runs', viewer)).body['runs'] as unknown[]).length;
  const unknown = await call('POST', '/api/v1/models/astrology/run', editor, {});
  assert.equal(unknown.status, 404);
  assert.match(String(unknown.body['message']), /no behavioural model 'astrology' \(models: rfm, lifecycle/);
  assert.equal((await call('GET', '/api/v1/models/astrology/runs', viewer)).status, 404);
  assert.equal((await call('GET', '/api/v1/models/astrology/movement?from=2025-01-01&to=2025-02-01', viewer)).status, 404);
  const scale = await call('POST', '/api/v1/models/rfm/run', editor, { config: { scale: 4 } });
  assert.equal(scale.status, 400);
  assert.match(String(scale.body['message']), /rfm config\.scale/);
  const extra = await call('POST', '/api/v1/models/rfm/run', editor, { config: { colour: 'blue' } });
  assert.equal(extra.status, 400);
  assert.match(String(extra.body['message']), /colour/);
  const lifecycle = await call('POST', '/api/v1/models/lifecycle/run', editor, { config: { activeDays: 300, churnDays: 100 } });
  assert.equal(lifecycle.status, 400);
  assert.match(String(lifecycle.body['message']), /newDays ≤ activeDays < churnDays/);
  const badAsOf = await call('POST', '/api/v1/models/rfm/run', editor, { asOf: 'yesterday' });
  assert.equal(badAsOf.status, 400);
  assert.match(String(badAsOf.body['message']), /asOf must be an ISO-8601 date/);
  const badBody = await call('POST', '/api/v1/models/rfm/run', editor, { scale: 3 });
  assert.equal(badBody.status, 400, 'config goes under "config"');
  const noTo = await call('GET', '/api/v1/models/rfm/movement?from=2025-06-01', viewer);
  assert.equal(noTo.status, 400);
  assert.match(String(noTo.body['message']), /from=<ISO date>&to=<ISO date>/);
  const backwards = await call('GET', '/api/v1/models/rfm/movement?from=2025-11-01&to=2025-06-01', viewer);
  assert.equal(backwards.status, 400);
  assert.match(String(backwards.body['message']), /from < to/);
  assert.equal((await call('GET', '/api/v1/models/rfm/movement?from=2025-06-01&to=2025-13-01', viewer)).status, 400);
  assert.equal(((await call('GET', '/api/v1/models/rfm/runs', viewer)).body['runs'] as unknown[]).length, before);
});

/**
 * Model outputs are traits: a segment over a model's trait reads model_traits (one JSON object per
 * profile and model) beside trait updates, the latest value of a key winning, with identical results on
 * DuckDB and ClickHouse (chdb); merges drop the merged-away profile's outputs.
 */
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { compileWorkspace } from '../../src/domain/segments/compile.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import { modelTraitKeys } from '../../src/domain/behavioural/index.js';
import { chdbRunner, duckRunner, type ScenarioData } from '../segments/engines.js';
import { Segmenta } from '../../src/app/segmenta.js';

const WS = 'ws1';
const data: ScenarioData = {
  workspaceId: WS,
  profiles: ['a', 'b', 'c', 'd'],
  events: [],
  traits: [
    { pid: 'b', key: 'rfm_group', value: 'Lost', at: 500 },   // older than the model's output: the model wins
    { pid: 'c', key: 'rfm_group', value: 'Lost', at: 5000 },  // newer (e.g. set by hand after the run): it wins
    { pid: 'd', key: 'plan', value: 'pro', at: 0 },
  ],
  scores: [],
  modelTraits: [
    { pid: 'a', model: 'rfm', traits: { rfm_group: 'Champions', rfm_r: 5 }, at: 1000 },
    { pid: 'b', model: 'rfm', traits: { rfm_group: 'Champions', rfm_r: 4 }, at: 1000 },
    { pid: 'c', model: 'rfm', traits: { rfm_group: 'Champions', rfm_r: 5 }, at: 1000 },
    { pid: 'd', model: 'lifecycle', traits: { lifecycle_stage: 'churned' }, at: 1000 },
  ],
};

test('segments over model traits: latest value wins, same members on DuckDB and ClickHouse', async () => {
  const segments = [
    { key: 'champions', condition: { type: 'trait' as const, trait: 'rfm_group', op: 'eq' as const, value: 'Champions' } },
    { key: 'recent', condition: { type: 'trait' as const, trait: 'rfm_r', op: 'gte' as const, value: 5 } },
    { key: 'churned_pro', condition: { type: 'and' as const, conditions: [
      { type: 'trait' as const, trait: 'lifecycle_stage', op: 'eq' as const, value: 'churned' },
      { type: 'trait' as const, trait: 'plan', op: 'eq' as const, value: 'pro' }] } },
  ];
  const results: Record<string, string[]> = {};
  for (const make of [duckRunner, chdbRunner]) {
    const r = await make();
    try {
      await r.load(data);
      const q = compileWorkspace(DIALECTS[r.name], { workspaceId: WS, now: 10_000, segments, computed: [], modelTraits: modelTraitKeys() });
      const rows = await r.run(q);
      results[r.name] = segments.map((s) => `${s.key}:${rows.filter((x) => x.segments[s.key]).map((x) => x.pid).sort().join(',')}`);
    } finally {
      await r.close();
    }
  }
  assert.deepEqual(results['duckdb'], ['champions:a,b', 'recent:a,c', 'churned_pro:d']);
  assert.deepEqual(results['clickhouse'], results['duckdb']);
});

test('profile reads show model outputs with their provenance; a merge drops the merged-away profile\'s outputs', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const { workspace: ws } = await sg.workspaces.create('t');
    const at = Date.parse('2026-01-01T00:00:00Z');
    await sg.ingest.submit(ws, [
      { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, timestamp: '2025-12-01T00:00:00Z', messageId: 'i1' },
      { type: 'track', anonymousId: 'anon-9', event: 'Product Viewed', timestamp: '2025-12-02T00:00:00Z', messageId: 't1' },
    ], { source: 'test', mode: 'partial' });
    const p1 = await sg.store.profileByIdentity(ws, 'user_id', 'u1') as string;
    const p2 = await sg.store.profileByIdentity(ws, 'anonymous_id', 'anon-9') as string;
    await sg.store.replaceModelTraits(ws, 'rfm', [{ profileId: p1, traits: { rfm_group: 'New', rfm_r: 5 } }, { profileId: p2, traits: { rfm_group: 'Lost', rfm_r: 1 } }], at, 'rfm-run-1');
    const traits = await sg.store.profileTraits(ws, p1);
    const group = traits.find((t) => t.key === 'rfm_group');
    assert.deepEqual([group?.value, group?.source, group?.messageId], ['New', 'model:rfm', 'rfm-run-1']);
    assert.equal(group?.updatedAt, at, 'the run\'s time is the trait\'s time');
    assert.equal(traits.find((t) => t.key === 'plan')?.source, 'identify:test');
    assert.deepEqual([...(await sg.store.modelTraitValues(ws, 'rfm', 'rfm_group'))].sort(), [[p1, '"New"'], [p2, '"Lost"']].sort());
    // anon-9 turns out to be u1: the anonymous profile merges into u1's and its model outputs go.
    await sg.ingest.submit(ws, [{ type: 'identify', userId: 'u1', anonymousId: 'anon-9', timestamp: '2025-12-03T00:00:00Z', messageId: 'i2' }], { source: 'test', mode: 'partial' });
    const left = await sg.store.modelTraitValues(ws, 'rfm', 'rfm_group');
    assert.equal(left.size, 1, `model rows left: ${[...left.keys()].join(', ')}`);
    assert.ok(left.has(p1) || left.has(p2), 'the surviving profile keeps its own outputs');
  } finally {
    await sg.close();
  }
});

test('a model run checkpoints after writing its outputs, before the segments are recomputed', async () => {
  // Written but not checkpointed rows hold DuckDB memory: at 1M profiles under a 3 GB limit the next
  // feature statement ran out of memory without the checkpoint (docs/benchmarks.md, memory).
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-ckpt-'));
  const sg = await Segmenta.open({ dataDir: dir, threads: 1 });
  try {
    const { workspace: ws } = await sg.workspaces.create('ckpt');
    await sg.ingest.submit(ws, [1, 2, 3, 4, 5, 6].map((i) => ({
      type: 'track', userId: `u${i % 3}`, event: 'Order Completed', messageId: `o${i}`, timestamp: `2026-0${1 + (i % 5)}-10T10:00:00Z`, properties: { revenue: 10 * i },
    })), { source: 'api', mode: 'atomic' });
    await sg.segments.idle();
    const order: string[] = [];
    const orig = sg.store.checkpoint.bind(sg.store);
    sg.store.checkpoint = async () => {
      const r = await orig();
      order.push(`checkpoint:${r}:wal=${sg.store.walHealth().walBytes}`);
      return r;
    };
    await sg.behavioural.runMany(ws, ['rfm', 'lifecycle'], { asOf: Date.parse('2026-07-01T00:00:00Z'), progress: (p) => order.push(p.phase) });
    const at = order.findIndex((x) => x.startsWith('checkpoint'));
    assert.ok(at > 0, `a checkpoint: ${order.join(', ')}`);
    assert.equal(order.filter((x) => x.startsWith('checkpoint')).length, 1, 'one checkpoint per run');
    assert.equal(order[at], 'checkpoint:done:wal=0', 'done, the log empty');
    assert.equal(order.lastIndexOf('write'), at - 1, `after the last write: ${order.join(', ')}`);
    assert.equal(order[at + 1], 'segments', 'before the segments');
  } finally {
    await sg.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

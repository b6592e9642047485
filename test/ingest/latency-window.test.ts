import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyWindow } from '../../src/services/latency-window.js';

test('a latency window gives nearest-rank quantiles of its last samples', () => {
  const w = new LatencyWindow(100);
  assert.ok(Number.isNaN(w.quantile(0.5)), 'an empty window has no quantile');
  for (let i = 100; i >= 1; i--) w.add(i);
  assert.equal(w.quantile(0.5), 50);
  assert.equal(w.quantile(0.99), 99);
  assert.equal(w.quantile(1), 100);
  assert.equal(w.quantile(0), 1);
  // 50 more samples push the oldest 50 (100..51) out: the window holds 1..50 and 1000 × 50
  for (let i = 0; i < 50; i++) w.add(1000);
  assert.equal(w.quantile(0.5), 50);
  assert.equal(w.quantile(0.51), 1000);
  assert.deepEqual(w.summary(), { p50Ms: 50, p99Ms: 1000, maxMs: 1000, count: 150 });
  assert.equal(w.sumMs, 5050 + 50_000, 'the sum counts every sample since start');
  w.add(Number.NaN);
  assert.equal(w.count, 150, 'a NaN duration is not a sample');
  assert.throws(() => new LatencyWindow(0), /at least 1, got 0/);
});

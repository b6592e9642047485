/**
 * When the engine refuses a group commit, only the request whose data fails again gets an error; the
 * others in the same group are committed on their own, the identity graph stays consistent with
 * storage, and the failed request can be retried. Fault injection: the real DuckDB engine, wrapped so
 * that a commit containing a marked message id throws, as a storage error would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDBEngine } from '../../src/engines/duckdb/duckdb-engine.js';
import { IngestService, DEFAULT_INGEST_CONFIG } from '../../src/services/ingest.js';
import { WorkspaceService } from '../../src/services/workspaces.js';
import type { IngestCommit, StoragePort } from '../../src/ports/storage.js';

function failingOn(engine: DuckDBEngine, poison: Set<string>): StoragePort {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'commitIngest') {
        return async (commit: IngestCommit) => {
          if (commit.events.some((e) => poison.has(e.prepared.messageId))) throw new Error('simulated storage refusal');
          return target.commitIngest(commit);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('a refused group commit fails only the poisoned request; the others are stored; a retry succeeds', async () => {
  const engine = await DuckDBEngine.open({ dataDir: ':memory:' });
  await engine.migrate();
  const poison = new Set(['bad-1']);
  const store = failingOn(engine, poison);
  const ws = await new WorkspaceService(store).create('faults');
  const ingest = new IngestService(store, DEFAULT_INGEST_CONFIG);
  try {
    // Submitted together, they share one group commit.
    const good1 = ingest.submit(ws.workspace, [{ type: 'identify', userId: 'u1', anonymousId: 'a1', messageId: 'good-1' }], { source: 'api', mode: 'atomic' });
    const bad = ingest.submit(ws.workspace, [{ type: 'identify', userId: 'u2', anonymousId: 'a1', messageId: 'bad-1' }], { source: 'api', mode: 'atomic' });
    const good2 = ingest.submit(ws.workspace, [{ type: 'track', userId: 'u3', event: 'E', messageId: 'good-2' }], { source: 'api', mode: 'atomic' });
    const results = await Promise.allSettled([good1, bad, good2]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(ingest.metrics.commitFailures, 2, 'the group commit, then the poisoned request alone');
    assert.deepEqual([...await engine.existingMessageIds(ws.workspace, ['good-1', 'bad-1', 'good-2'])].sort(), ['good-1', 'good-2']);
    // The identity graph was rebuilt from storage: a1 belongs to u1's profile, u2 does not exist.
    assert.equal(await engine.profileByIdentity(ws.workspace, 'user_id', 'u2'), undefined);
    // The retry of the failed request is accepted (its id was forgotten) and resolves against storage.
    poison.clear();
    const retry = await ingest.submit(ws.workspace, [{ type: 'identify', userId: 'u2', anonymousId: 'a9', messageId: 'bad-1' }], { source: 'api', mode: 'atomic' });
    assert.equal(retry.accepted, 1);
    assert.equal((await engine.workspaceStats(ws.workspace)).events, 3);
    assert.equal(ingest.metrics.queuedMessages, 0);
  } finally {
    await ingest.drain();
    await engine.close();
  }
});

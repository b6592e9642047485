/**
 * events.seq is the order events were committed in, drawn by ingest itself: the column has no
 * `nextval` default (migration 9), because DuckDB 1.5.x could not replay `ADD COLUMN` on events from
 * the WAL while it had one (test/crash/kill9-segments.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { DuckDBEngine } from '../../src/engines/duckdb/duckdb-engine.js';
import { IngestService, DEFAULT_INGEST_CONFIG } from '../../src/services/ingest.js';
import { WorkspaceService } from '../../src/services/workspaces.js';

test('every ingested event gets a seq in commit order, and events.seq has no default', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-seq-'));
  try {
    const engine = await DuckDBEngine.open({ dataDir: dir });
    await engine.migrate();
    const ws = await new WorkspaceService(engine).create('seq');
    const ingest = new IngestService(engine, DEFAULT_INGEST_CONFIG);
    const batch = (tag: string) => Array.from({ length: 3 }, (_, i) => ({ type: 'track' as const, userId: `u${i}`, event: 'E', messageId: `${tag}-${i}` }));
    await ingest.submit(ws.workspace, batch('first'), { source: 'api', mode: 'atomic' });
    await ingest.submit(ws.workspace, batch('second'), { source: 'api', mode: 'atomic' });
    await ingest.drain();
    await engine.close();

    const db = await DuckDBInstance.create(join(dir, 'segmenta.duckdb'));
    const c = await db.connect();
    const rows = (await c.runAndReadAll('SELECT message_id, seq FROM events ORDER BY message_id')).getRowObjectsJS();
    assert.equal(rows.length, 6, 'both batches are stored');
    for (const r of rows) assert.equal(typeof r['seq'], 'bigint', `${String(r['message_id'])} has a seq`);
    const seqOf = (prefix: string) => rows.filter((r) => String(r['message_id']).startsWith(prefix)).map((r) => r['seq'] as bigint);
    assert.equal(new Set(rows.map((r) => r['seq'])).size, 6, 'no two events share a seq');
    const firstMax = seqOf('first').reduce((a, b) => (a > b ? a : b));
    const secondMin = seqOf('second').reduce((a, b) => (a < b ? a : b));
    assert.ok(firstMax < secondMin, `the first commit's seqs (max ${firstMax}) precede the second's (min ${secondMin})`);
    const def = (await c.runAndReadAll(`SELECT column_default FROM duckdb_columns() WHERE table_name = 'events' AND column_name = 'seq'`)).getRowObjectsJS();
    assert.equal(def[0]?.['column_default'], null, 'events.seq has no default');
    c.closeSync();
    db.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

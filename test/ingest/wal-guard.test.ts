/**
 * The WAL guard: DuckDB skips its automatic checkpoint while another write transaction is open, and
 * under overlapping ingest and segment writes the WAL grew without bound. Past the threshold the
 * engine checkpoints itself; while a write is open that is refused ('busy') and tried again later.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBEngine } from '../../src/engines/duckdb/duckdb-engine.js';
import { IngestService, DEFAULT_INGEST_CONFIG } from '../../src/services/ingest.js';
import { WorkspaceService } from '../../src/services/workspaces.js';

test('past the threshold a checkpoint is tried: busy while a segment write is open, done after, and nothing is lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-wal-'));
  try {
    let engine = await DuckDBEngine.open({ dataDir: dir, checkpointThresholdMiB: 1 });
    await engine.migrate();
    const ws = await new WorkspaceService(engine).create('wal');
    assert.equal(await engine.checkpointIfNeeded(), 'small', 'a new database has a small WAL');
    // A segment write left open (as a lane's apply is, most of the time under load). The test reaches
    // the engine's own connection: no public call holds a transaction open on purpose.
    const segmentWriter = (engine as unknown as { segmentWriter: DuckDBConnection }).segmentWriter;
    await segmentWriter.run('BEGIN TRANSACTION');
    await segmentWriter.run('CREATE TABLE held (x INTEGER)');
    await segmentWriter.run('INSERT INTO held VALUES (1)');
    const ingest = new IngestService(engine, DEFAULT_INGEST_CONFIG);
    const padding = 'x'.repeat(400);
    for (let b = 0; b < 10; b++) {
      const batch = Array.from({ length: 400 }, (_, i) => ({ type: 'track' as const, userId: `u${i}`, event: 'Viewed', properties: { padding }, messageId: `m-${b}-${i}` }));
      await ingest.submit(ws.workspace, batch, { source: 'api', mode: 'atomic' });
    }
    await ingest.drain();
    const grown = engine.walHealth().walBytes;
    assert.ok(grown > 1024 * 1024, `the WAL grew past 1 MiB with no automatic checkpoint (${grown} bytes)`);
    assert.equal(await engine.checkpointIfNeeded(), 'busy', 'refused while the segment write is open');
    assert.equal(engine.walHealth().checkpointsBusy, 1);
    // rolled back, not committed: a COMMIT past the threshold would itself checkpoint
    await segmentWriter.run('ROLLBACK');
    assert.ok(engine.walHealth().walBytes >= grown, 'still no checkpoint');
    assert.equal(await engine.checkpointIfNeeded(), 'done');
    const after = engine.walHealth();
    assert.equal(after.checkpoints, 1);
    assert.ok(after.walBytes < grown / 10, `the WAL was folded into the database (${grown} → ${after.walBytes} bytes)`);
    assert.equal(await engine.checkpointIfNeeded(), 'small');
    await engine.close();
    engine = await DuckDBEngine.open({ dataDir: dir });
    await engine.migrate();
    assert.equal((await engine.workspaceStats(ws.workspace)).events, 4000, 'every accepted event is there after reopening');
    await engine.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * `kill -9` while segments are kept current (full runs, the fast, slow and instant lanes, typed
 * property columns just added): the data folder opens again. Two patterns left a write-ahead log that
 * DuckDB (1.5.x) could not replay, and so a database that would not open:
 * - `ALTER TABLE events ADD COLUMN` (typed columns) before a checkpoint ("no default database set",
 *   from the `nextval` default of events.seq): migration 9 dropped the default (ingest draws seq
 *   itself), and a checkpoint follows the ALTER as well;
 * - a full run's state table created in one transaction and its rows deleted in another ("Conflict on
 *   tuple deletion!"): the table is built and changed in one transaction again.
 * The workload is test/crash/segment-workload.ts, killed at a seeded random moment in each round.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segmenta } from '../../src/app/segmenta.js';
import { mulberry32 } from '../../src/domain/random.js';

const SEED = Number(process.env['SEGMENTA_SEED'] ?? 3);
const dirs: string[] = [];
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test(`kill -9 while segments are kept current: the folder opens again (seed ${SEED})`, { timeout: 180_000 }, async () => {
  const r = mulberry32(SEED);
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-kill9-seg-'));
  dirs.push(dir);
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'crash', 'segment-workload.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (b: Buffer) => { if (b.toString().includes('ready')) resolve(); });
      child.on('exit', (code) => reject(new Error(`the workload exited (${code}) before it was ready`)));
    });
    // killed while commits, lanes and (in the first round) the typed columns' back-fill are under way
    await new Promise((res) => setTimeout(res, 2_000 + Math.floor(r() * 6_000)));
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    const sg = await Segmenta.open({ dataDir: dir, threads: 1 }).catch((err: unknown) => {
      assert.fail(`round ${round}: the folder did not open after kill -9: ${err instanceof Error ? err.message.split('\n')[0] : String(err)} (SEGMENTA_SEED=${SEED})`);
    });
    const ws = (await sg.workspaces.list())[0]?.id ?? '';
    assert.ok((await sg.segments.list(ws)).length >= 50, `round ${round}: the definitions are there`);
    await sg.close();
  }
});

/**
 * Regression: on restart the identity graph is loaded by streaming the identities table. A streamed
 * result on a shared connection ended early when another read ran on it, so part of the graph was never
 * loaded and known customers got new profiles. Reads now run during the load; every customer keeps
 * their profile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segmenta } from '../../src/app/segmenta.js';

test('the identity graph loads completely while other reads run on the same database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-scan-'));
  try {
    let sg = await Segmenta.open({ dataDir: dir, threads: 1 });
    const ws = (await sg.workspaces.create('scan')).workspace;
    const N = 6000; // several streamed chunks of identities (2,048 rows each)
    for (let i = 0; i < N; i += 500) {
      const batch = Array.from({ length: 500 }, (_, j) => ({ type: 'identify', userId: `user-${i + j}`, messageId: `i-${i + j}` }));
      await sg.ingest.submit(ws, batch, { source: 'api', mode: 'atomic' });
    }
    const before = await sg.profiles.resolve(ws, `user-${N - 1}`);
    assert.ok(before);
    await sg.close();

    sg = await Segmenta.open({ dataDir: dir, threads: 1 });
    let reading = true;
    const reads = (async () => {
      let n = 0;
      while (reading) { await sg.profiles.resolve(ws, `user-${n++ % N}`); }
    })();
    // the first submit loads the graph while the reads above keep the reader connection busy
    await sg.ingest.submit(ws, [{ type: 'track', userId: `user-${N - 1}`, event: 'Came Back', messageId: 'back-1' }], { source: 'api', mode: 'atomic' });
    reading = false;
    await reads;
    assert.equal(await sg.profiles.resolve(ws, `user-${N - 1}`), before, 'the returning customer keeps their profile');
    assert.equal((await sg.store.workspaceStats(ws)).profiles, N, 'no profile was created for a known customer');
    await sg.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * DESIGN.md §Reliability: `kill -9` during sustained ingest loses no acknowledged event, and client
 * retries create no duplicates. The server runs as a real child process (`segmenta serve`); clients
 * send batches with deterministic message ids, the server is SIGKILLed mid-stream, restarted on the
 * same data folder, and every request that did not get a 200 is retried — plus a sample of requests
 * that did (a retry after a lost response). Then every acknowledged id must be stored exactly once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Segmenta } from '../../src/app/segmenta.js';

const BATCH = 200;
const CLIENTS = 4;

function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--data', dataDir, '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    let out = '';
    const rl = createInterface({ input: child.stdout ?? process.stdin });
    rl.on('line', (line) => {
      out += line;
      try {
        const info = JSON.parse(out) as { url: string };
        clearTimeout(timer);
        resolve({ child, url: info.url.replace('localhost', '127.0.0.1') });
      } catch {
        // the JSON is printed over several lines
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
  });
}

function batchBody(b: number): string {
  const batch = [];
  for (let i = 0; i < BATCH; i++) {
    batch.push({ type: 'track', messageId: `crash-${b}-${i}`, userId: `u-${(b * 7 + i) % 500}`, event: 'Product Viewed', properties: { b, i, product_id: `p-${i % 50}` } });
  }
  return JSON.stringify({ batch });
}

async function post(url: string, auth: string, body: string): Promise<number> {
  try {
    const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body, signal: AbortSignal.timeout(20_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0; // connection reset by the kill: not acknowledged
  }
}

test('kill -9 during sustained ingest: no acknowledged message lost, retries store nothing twice', { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'segmenta-crash-'));
  let server: ChildProcess | undefined;
  try {
    const setup = await Segmenta.open({ dataDir });
    const { workspace, writeKey } = await setup.workspaces.create('crash');
    await setup.close();
    const auth = 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');

    const first = await startServer(dataDir);
    server = first.child;
    const acked = new Set<number>();
    const sent = new Set<number>();
    let next = 0;
    let stop = false;
    const client = async () => {
      while (!stop) {
        const b = next++;
        sent.add(b);
        const status = await post(first.url, auth, batchBody(b));
        if (status === 200) acked.add(b);
        else if (status !== 0) throw new Error(`unexpected status ${status}`);
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    // Sustained ingest for a while, then SIGKILL with requests in flight.
    const t0 = Date.now();
    while (acked.size < 40 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;
    stop = true;
    await Promise.all(clients);
    assert.ok(acked.size >= 40, `only ${acked.size} batches were acknowledged before the kill`);
    const unacked = [...sent].filter((b) => !acked.has(b));

    // Restart on the same folder; retry every unacknowledged request and re-send some acknowledged ones.
    const second = await startServer(dataDir);
    server = second.child;
    const resend = [...unacked, ...[...acked].filter((b) => b % 5 === 0)];
    for (const b of resend) assert.equal(await post(second.url, auth, batchBody(b)), 200, `retry of batch ${b}`);
    const stopped = new Promise((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    await stopped;
    server = undefined;

    const sg = await Segmenta.open({ dataDir });
    try {
      const ackedIds = [...acked].flatMap((b) => Array.from({ length: BATCH }, (_, i) => `crash-${b}-${i}`));
      const present = await sg.store.existingMessageIds(workspace, ackedIds);
      assert.equal(present.size, ackedIds.length, `${ackedIds.length - present.size} acknowledged messages lost`);
      const stats = await sg.store.workspaceStats(workspace);
      assert.equal(stats.events, sent.size * BATCH, 'every message sent is stored exactly once after the retries');
    } finally {
      await sg.close();
    }
  } finally {
    server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

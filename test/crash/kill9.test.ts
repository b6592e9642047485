/**
 * DESIGN.md §Reliability: "`kill -9` during sustained ingest: no acknowledged event lost; client
 * retries create no duplicates".
 *
 * The server runs as a real child process (`segmenta serve --port 0 --json`, from source). Several
 * client loops send `/v1/batch` requests of 200 track messages with deterministic message ids; some
 * requests are sent twice at once (a client that retried on a timeout while the first attempt was
 * still waiting for its commit). After sustained ingest the server is SIGKILLed with requests in
 * flight, restarted on the same data folder (DuckDB replays its WAL), every request that did not get
 * a 200 is retried and a sample of acknowledged ones is re-sent (a retry after a lost response).
 * After a graceful stop the folder is opened in-process: every acknowledged id is stored, every id
 * sent is stored, and the number of stored events equals the number of distinct ids (no duplicates).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segmenta } from '../../src/app/segmenta.js';

const BATCH = 200;
const CLIENTS = 4;
/** Sustained ingest lasts at least this long before the kill… */
const MIN_INGEST_MS = 1_500;
/** …and the kill comes by this time at the latest (once something is in flight). */
const MAX_INGEST_MS = 3_000;
const MIN_ACKED_BATCHES = 10;
const REQUEST_TIMEOUT_MS = 15_000;

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startServer(dataDir: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--data', dataDir, '--port', '0', '--host', '127.0.0.1', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within 20 s; stderr: ${stderr}`));
    }, 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      let info: unknown;
      try {
        info = JSON.parse(stdout); // printed pretty, over several lines: parse once complete
      } catch {
        return;
      }
      clearTimeout(timer);
      const url = typeof info === 'object' && info !== null && 'url' in info ? String(info.url) : '';
      resolve({ child, url: url.replace('//localhost:', '//127.0.0.1:'), exited, stderr: () => stderr });
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}, signal ${signal}) before it was ready; stderr: ${stderr}`));
    });
  });
}

function messageId(b: number, i: number): string {
  return `crash-${b}-${i}`;
}

function batchBody(b: number): string {
  const batch = [];
  for (let i = 0; i < BATCH; i++) {
    batch.push({
      type: 'track', messageId: messageId(b, i), userId: `u-${(b * 7 + i) % 500}`, event: 'Product Viewed',
      properties: { b, i, product_id: `p-${i % 50}`, price: (i % 20) + 0.99 },
      timestamp: new Date(Date.UTC(2024, 0, 1) + b * 1000 + i).toISOString(),
    });
  }
  return JSON.stringify({ batch });
}

/** HTTP status, or 0 when the connection failed (reset by the kill, refused, timed out). */
async function post(url: string, auth: string, body: string): Promise<number> {
  try {
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Run `fn` over `items` with `n` workers. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let k = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (k < items.length) {
      const item = items[k++] as T;
      await fn(item);
    }
  }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('kill -9 during sustained ingest: no acknowledged message lost, retries store nothing twice', { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'segmenta-crash-'));
  tempDirs.push(dataDir);

  const setup = await Segmenta.open({ dataDir });
  const { workspace, writeKey } = await setup.workspaces.create('crash');
  await setup.close();
  const auth = 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');

  // ---- 1. sustained ingest, then SIGKILL with requests in flight --------------------------------
  const first = await startServer(dataDir);
  const sent = new Set<number>();
  const acked = new Set<number>();
  const statuses = new Map<number, number>();
  let inFlight = 0;
  let next = 0;
  let stop = false;
  const send = async (b: number): Promise<number> => {
    inFlight++;
    try {
      const status = await post(first.url, auth, batchBody(b));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      // 0: cut by the kill; 429/503: the server asks for a retry. Anything else is a bug.
      if (status !== 200 && status !== 0 && status !== 429 && status !== 503) throw new Error(`unexpected status ${status} for batch ${b}`);
      if (status === 200) acked.add(b);
      return status;
    } finally {
      inFlight--;
    }
  };
  const client = async (c: number) => {
    let round = 0;
    while (!stop) {
      const b = next++;
      sent.add(b);
      if (round++ % 3 === c % 3) {
        // A client that gave up waiting and retried while its first attempt is still queued: the
        // second answer must not come before the first attempt's messages are committed.
        await Promise.all([send(b), sleep(2).then(() => send(b))]);
      } else {
        await send(b);
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));

  const t0 = Date.now();
  for (;;) {
    await sleep(10);
    const elapsed = Date.now() - t0;
    if (elapsed >= MIN_INGEST_MS && acked.size >= MIN_ACKED_BATCHES && inFlight > 0) break;
    if (elapsed >= MAX_INGEST_MS && inFlight > 0) break;
    if (elapsed >= 20_000) break;
  }
  const inFlightAtKill = inFlight;
  const ackedAtKill = acked.size;
  const ingestMs = Date.now() - t0;
  first.child.kill('SIGKILL');
  const firstExit = await first.exited;
  stop = true;
  await Promise.all(clients);
  assert.equal(firstExit.signal, 'SIGKILL');
  assert.ok(ackedAtKill >= MIN_ACKED_BATCHES, `only ${ackedAtKill} batches were acknowledged in ${ingestMs} ms`);
  assert.ok(inFlightAtKill > 0, 'no request was in flight at the kill');
  const wal = join(dataDir, 'segmenta.duckdb.wal');
  const walBytes = existsSync(wal) ? statSync(wal).size : 0;

  // ---- 2. restart on the same folder; retry what was not acknowledged, re-send some that were ---
  const unacked = [...sent].filter((b) => !acked.has(b));
  const resentAcked = [...acked].filter((b) => b % 4 === 0);
  const second = await startServer(dataDir);
  // The killed process never removed its staging folder (memory-backed /dev/shm); the next open does.
  const stagingRoot = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const orphaned = readdirSync(stagingRoot).filter((n) => n.startsWith(`segmenta-staging-${first.child.pid}-`));
  assert.deepEqual(orphaned, [], 'the staging folder of the killed server was not cleaned up on restart');
  const retryFailures: string[] = [];
  await pool([...unacked, ...resentAcked], CLIENTS, async (b) => {
    let status = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      status = await post(second.url, auth, batchBody(b));
      if (status !== 429) break;
      await sleep(200);
    }
    if (status !== 200) retryFailures.push(`batch ${b}: ${status}`);
  });
  assert.deepEqual(retryFailures, [], `retries after the restart failed; server stderr: ${second.stderr()}`);

  second.child.kill('SIGTERM');
  let stopTimer: NodeJS.Timeout | undefined;
  const secondExit = await Promise.race([second.exited, new Promise<undefined>((r) => (stopTimer = setTimeout(() => r(undefined), 15_000)))]);
  clearTimeout(stopTimer);
  assert.ok(secondExit, 'the server did not stop within 15 s of SIGTERM');
  assert.equal(secondExit.code, 0, `graceful stop failed; stderr: ${second.stderr()}`);

  // ---- 3. every acknowledged id stored, every id stored exactly once ------------------------------
  const sg = await Segmenta.open({ dataDir });
  try {
    const idsOf = (batches: Iterable<number>) => [...batches].flatMap((b) => Array.from({ length: BATCH }, (_, i) => messageId(b, i)));
    const ackedIds = idsOf(acked);
    const presentAcked = await sg.store.existingMessageIds(workspace, ackedIds);
    const lost = ackedIds.filter((id) => !presentAcked.has(id));
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged messages lost`);

    const sentIds = idsOf(sent);
    const presentSent = await sg.store.existingMessageIds(workspace, sentIds);
    assert.equal(presentSent.size, sentIds.length, `${sentIds.length - presentSent.size} retried messages missing`);

    const stats = await sg.store.workspaceStats(workspace);
    assert.equal(stats.events, sentIds.length,
      `stored events ${stats.events} != distinct message ids ${sentIds.length}: ${stats.events - sentIds.length} duplicates`);

    t.diagnostic(`ingest ${ingestMs} ms; batches sent ${sent.size}, acknowledged before kill ${ackedAtKill} (${ackedAtKill * BATCH} messages), ` +
      `in flight at kill ${inFlightAtKill}; statuses ${JSON.stringify(Object.fromEntries(statuses))}; WAL at kill ${walBytes} bytes; ` +
      `retried ${unacked.length} unacknowledged + re-sent ${resentAcked.length} acknowledged; stored ${stats.events} events; total ${Date.now() - started} ms`);
  } finally {
    await sg.close();
  }
});

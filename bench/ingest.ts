/**
 * Ingestion benchmark: `/v1/batch` with durable acknowledgement, through a real HTTP server in its own
 * process (DuckDB file on disk), beside the rate of `JSON.parse` alone on the same payloads in this run.
 * First the floor: a bare node:http server that parses, appends the raw body and fdatasyncs, same loads.
 * The same volume again with 32 requests in flight (larger group commits). Then an overload phase: many more requests in flight than the queue admits; the server must answer
 * 429 instead of growing memory. Peak resident memory of the server is read from /proc.
 *
 *   npm run bench -- ingest            (defaults: 400 batches × 500 messages, 8 requests in flight)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeBatches } from './payloads.js';
import { peakRssMb } from './memory.js';

export interface IngestBenchResult {
  messages: number;
  batchSize: number;
  concurrency: number;
  seconds: number;
  eventsPerSecond: number;
  /** The same load with 32 requests in flight (larger group commits). */
  eventsPerSecondAt32: number;
  jsonParseEventsPerSecond: number;
  ratioToJsonParse: number;
  /** A bare node:http server that parses, appends the raw body and fdatasyncs (bench/floor-server.ts), 8 and 32 in flight. */
  floorEventsPerSecond: { at8: number; at32: number };
  ratioToFloor: number;
  serverPeakRssMb: number;
  overload: { requests: number; ok: number; rejected429: number; serverPeakRssMb: number; inFlight: number };
}

async function startServer(dataDir: string, maxQueued: number, script = 'bench/serve.ts'): Promise<{ port: number; writeKey: string; pid: number; stop: () => Promise<void> }> {
  const arg = script === 'bench/serve.ts' ? dataDir : join(dataDir, 'floor.log');
  const child = spawn(process.execPath, ['--import', 'tsx', script, arg, String(maxQueued)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const info = JSON.parse(line) as { port: number; writeKey?: string; pid: number };
  return {
    ...info,
    writeKey: info.writeKey ?? 'none',
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

async function sendAll(port: number, writeKey: string, bodies: string[], concurrency: number): Promise<{ ok: number; rejected: number; other: number }> {
  const auth = 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');
  let next = 0;
  const counts = { ok: 0, rejected: 0, other: 0 };
  const worker = async () => {
    for (;;) {
      const i = next++;
      const body = bodies[i];
      if (body === undefined) return;
      const res = await fetch(`http://127.0.0.1:${port}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
      await res.arrayBuffer();
      if (res.status === 200) counts.ok++;
      else if (res.status === 429) counts.rejected++;
      else counts.other++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

export async function runIngestBench(opts: { batches?: number; batchSize?: number; concurrency?: number } = {}): Promise<IngestBenchResult> {
  const batches = opts.batches ?? 400;
  const batchSize = opts.batchSize ?? 500;
  const concurrency = opts.concurrency ?? 8;
  const bodies = makeBatches(1, batches, batchSize, 50_000);
  const messages = batches * batchSize;

  // Baseline: JSON.parse alone on the same payloads (best of 3).
  let parseSecs = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    let n = 0;
    for (const b of bodies) n += (JSON.parse(b) as { batch: unknown[] }).batch.length;
    if (n !== messages) throw new Error('payload count mismatch');
    parseSecs = Math.min(parseSecs, (performance.now() - t) / 1000);
  }

  const dir = mkdtempSync(join(tmpdir(), 'segmenta-bench-'));
  try {
    const bodies32 = makeBatches(2, batches, batchSize, 50_000);
    // Floor: the same loads against a bare parse + append + fdatasync server.
    const floor = await startServer(dir, 0, 'bench/floor-server.ts');
    await sendAll(floor.port, floor.writeKey, makeBatches(99, 10, batchSize, 50_000), concurrency);
    let tf = performance.now();
    await sendAll(floor.port, floor.writeKey, bodies, concurrency);
    const floorAt8 = messages / ((performance.now() - tf) / 1000);
    tf = performance.now();
    await sendAll(floor.port, floor.writeKey, bodies32, 32);
    const floorAt32 = messages / ((performance.now() - tf) / 1000);
    await floor.stop();

    const server = await startServer(dir, 200_000);
    // Warm-up (not counted): JIT, connections, first appends.
    await sendAll(server.port, server.writeKey, makeBatches(99, 10, batchSize, 50_000), concurrency);
    const t0 = performance.now();
    const counts = await sendAll(server.port, server.writeKey, bodies, concurrency);
    const seconds = (performance.now() - t0) / 1000;
    if (counts.ok !== batches) throw new Error(`only ${counts.ok}/${batches} batches acknowledged (${counts.rejected} × 429, ${counts.other} other)`);
    const t1 = performance.now();
    const c32 = await sendAll(server.port, server.writeKey, bodies32, 32);
    const seconds32 = (performance.now() - t1) / 1000;
    if (c32.ok !== batches) throw new Error(`only ${c32.ok}/${batches} batches acknowledged at 32 in flight`);
    const rss = peakRssMb(server.pid);

    // Overload: 64 requests in flight against a queue of 20k messages.
    await server.stop();
    const server2 = await startServer(dir, 20_000);
    const over = makeBatches(7, 300, batchSize, 50_000);
    const oc = await sendAll(server2.port, server2.writeKey, over, 64);
    const rss2 = peakRssMb(server2.pid);
    await server2.stop();

    const eventsPerSecond = messages / seconds;
    const jsonParseEventsPerSecond = messages / parseSecs;
    return {
      messages, batchSize, concurrency, seconds, eventsPerSecond, eventsPerSecondAt32: messages / seconds32, jsonParseEventsPerSecond,
      ratioToJsonParse: eventsPerSecond / jsonParseEventsPerSecond,
      floorEventsPerSecond: { at8: floorAt8, at32: floorAt32 }, ratioToFloor: eventsPerSecond / floorAt8, serverPeakRssMb: rss,
      overload: { requests: over.length, ok: oc.ok, rejected429: oc.rejected, serverPeakRssMb: rss2, inFlight: 64 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

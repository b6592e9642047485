/**
 * `segmenta demo`: generate the demo shop and send it through the real ingestion path — HTTP
 * `/v1/batch` with a write key, as an SDK would — into the embedded database, then serve the API.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_DEMO_OPTIONS, generateDemoShop, type DemoGroundTruth, type DemoOptions } from '../demo/generator.js';
import { startServer } from '../http/server.js';
import type { Segmenta } from '../app/segmenta.js';
import { CliError, EXIT, dataDir, openSegmenta, portOf, printJson, waitForSignal, type GlobalOptions } from './context.js';
import { createProgress } from './progress.js';

interface DemoCliOptions {
  serve: boolean;
  port?: string;
  host: string;
  customers: string;
  seed: string;
  days: string;
}

function positiveInt(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CliError(`--${name} must be a whole number from 1 to ${max}, got '${raw}'`, EXIT.usage);
  return n;
}

/** The demo workspace is found by name; a new write key is issued each run (secrets are stored hashed). */
async function demoWorkspace(sg: Segmenta): Promise<{ workspace: string; writeKey: string; adminToken: string; created: boolean }> {
  const existing = (await sg.workspaces.list()).find((w) => w.name === 'demo');
  if (!existing) {
    const c = await sg.workspaces.create('demo');
    return { workspace: c.workspace, writeKey: c.writeKey, adminToken: c.adminToken, created: true };
  }
  return {
    workspace: existing.id,
    writeKey: await sg.workspaces.addWriteKey(existing.id, 'demo run'),
    adminToken: await sg.workspaces.addToken(existing.id, 'admin', 'demo run'),
    created: false,
  };
}

export interface DemoLoadResult {
  messages: number;
  accepted: number;
  duplicates: number;
  seconds: number;
  truth: DemoGroundTruth;
}

/** Post every generated batch to `/v1/batch`, a few requests in flight, retrying 429 as SDKs do. */
export async function loadDemoOverHttp(url: string, writeKey: string, opts: DemoOptions, onProgress: (customersDone: number, messages: number) => void): Promise<DemoLoadResult> {
  const auth = 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');
  const t0 = Date.now();
  let messages = 0;
  let accepted = 0;
  let duplicates = 0;
  const inFlight = new Set<Promise<void>>();
  const post = async (batch: Record<string, unknown>[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(`${url}/v1/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify({ batch }) });
      const body: unknown = await res.json().catch(() => ({}));
      if (res.status === 200 && typeof body === 'object' && body !== null) {
        const b = body as { accepted?: number; duplicates?: number };
        accepted += b.accepted ?? 0;
        duplicates += b.duplicates ?? 0;
        return;
      }
      if ((res.status === 429 || res.status >= 500) && attempt < 20) {
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        continue;
      }
      throw new Error(`the server answered ${res.status} to a demo batch: ${JSON.stringify(body)}`);
    }
  };
  const gen = generateDemoShop(opts);
  let customersDone = 0;
  for (;;) {
    const next = gen.next();
    if (next.done) {
      await Promise.all(inFlight);
      return { messages, accepted, duplicates, seconds: (Date.now() - t0) / 1000, truth: next.value };
    }
    const batch = next.value;
    messages += batch.length;
    const users = new Set<string>();
    for (const m of batch) if (typeof m['userId'] === 'string') users.add(m['userId']);
    const p: Promise<void> = post(batch).finally(() => {
      inFlight.delete(p);
    });
    inFlight.add(p);
    customersDone = Math.max(customersDone, estimateCustomers(batch, customersDone));
    onProgress(customersDone, messages);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
}

/** Customers are generated in order with numbered user ids; the highest number seen tells progress. */
function estimateCustomers(batch: Record<string, unknown>[], sofar: number): number {
  let best = sofar;
  for (const m of batch) {
    const id = m['userId'];
    if (typeof id !== 'string') continue;
    const n = Number(/(\d+)$/.exec(id)?.[1] ?? NaN);
    if (Number.isFinite(n) && n > best) best = n;
  }
  return best;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate a demo shop (seeded), load it through the tracking API into the embedded database, and serve the API')
    .option('--no-serve', 'load the demo and exit instead of serving')
    .option('--port <port>', 'port to serve on (default: $SEGMENTA_PORT or 8080)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--customers <n>', 'number of customers', String(DEFAULT_DEMO_OPTIONS.customers))
    .option('--days <n>', 'days of history', String(DEFAULT_DEMO_OPTIONS.days))
    .option('--seed <n>', 'random seed (same seed, same shop)', String(DEFAULT_DEMO_OPTIONS.seed))
    .action(async (opts: DemoCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const demo: DemoOptions = {
        ...DEFAULT_DEMO_OPTIONS,
        customers: positiveInt('customers', opts.customers, 2_000_000),
        days: positiveInt('days', opts.days, 3650),
        seed: positiveInt('seed', opts.seed, 2 ** 31 - 1),
      };
      const port = opts.serve ? portOf(opts.port) : 0;
      const sg = await openSegmenta(g);
      let server;
      try {
        server = await startServer(sg, port, opts.serve ? opts.host : '127.0.0.1');
      } catch (err) {
        await sg.close();
        throw err;
      }
      try {
        const ws = await demoWorkspace(sg);
        if (!g.json) console.error(`Loading the demo shop (${demo.customers} customers, ${demo.days} days, seed ${demo.seed}) into ${dataDir(g)} through ${server.publicUrl}/v1/batch …`);
        const progress = createProgress({ label: 'demo', total: demo.customers, unit: 'customers', quiet: g.json === true });
        const result = await loadDemoOverHttp(server.url, ws.writeKey, demo, (done, msgs) => progress.update(done, `${msgs} messages`));
        progress.stop(`sent ${result.messages} messages in ${result.seconds.toFixed(1)} s (${Math.round(result.messages / Math.max(result.seconds, 0.001))}/s): ${result.accepted} stored, ${result.duplicates} already there`);
        await sg.ingest.drain();
        const truthPath = join(dataDir(g), 'demo-ground-truth.json');
        writeFileSync(truthPath, JSON.stringify(result.truth));
        const stats = await sg.store.workspaceStats(ws.workspace);
        const summary = {
          workspace: ws.workspace, writeKey: ws.writeKey, adminToken: ws.adminToken, url: opts.serve ? server.publicUrl : null,
          data: dataDir(g), messagesSent: result.messages, stored: result.accepted, duplicates: result.duplicates,
          seconds: result.seconds, stats, groundTruth: truthPath,
        };
        if (g.json) printJson(summary);
        else printNextSteps(summary, opts.serve);
        if (!opts.serve) return;
        await waitForSignal();
      } finally {
        await server.close();
        await sg.close();
      }
    });
}

function printNextSteps(s: { workspace: string; writeKey: string; adminToken: string; url: string | null; data: string; stats: { events: number; profiles: number; merges: number } }, serving: boolean): void {
  const url = s.url ?? 'http://localhost:8080';
  const lines = [
    '',
    `Demo shop ready: ${s.stats.events} events, ${s.stats.profiles} profiles (${s.stats.merges} identity merges) in ${s.data}`,
    `  workspace   ${s.workspace}`,
    `  write key   ${s.writeKey}`,
    `  admin token ${s.adminToken}`,
    '',
    'Try next:',
    `  npx segmenta profile show demo-user-1 --data ${s.data}${serving ? '      (in another terminal: stop the server first, or use the API below)' : ''}`,
  ];
  if (serving) {
    lines.push(
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' ${url}/api/v1/workspace`,
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' ${url}/api/v1/profiles/demo-user-1`,
      `  curl -s -u '${s.writeKey}:' -H 'content-type: application/json' -d '{"userId":"demo-user-1","event":"Product Viewed","properties":{"product_id":"p-1"}}' ${url}/v1/track`,
      '',
      `Serving ${url} — Ctrl-C to stop.`,
    );
  }
  console.log(lines.join('\n'));
}

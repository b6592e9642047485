/**
 * `segmenta demo`: generate the demo shop and send it through the real ingestion path — HTTP
 * `/v1/batch` with a write key, as an SDK would — into the embedded database, then serve the API.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../domain/errors.js';
import { DEFAULT_DEMO_OPTIONS, type DemoOptions } from '../demo/generator.js';
import { DEMO_SEGMENTS } from '../demo/segments.js';
import { conditionFromText } from '../domain/segments/text.js';
import { loadDemoInWorker } from './demo-load.js';
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
        sg.startBackgroundWork();
      } catch (err) {
        await sg.close();
        throw err;
      }
      try {
        const ws = await demoWorkspace(sg);
        if (!g.json) console.error(`Loading the demo shop (${demo.customers} customers, ${demo.days} days, seed ${demo.seed}) into ${dataDir(g)} through ${server.publicUrl}/v1/batch …`);
        const progress = createProgress({ label: 'demo', total: demo.customers, unit: 'customers', quiet: g.json === true });
        const result = await loadDemoInWorker(server.url, ws.writeKey, demo, (done, msgs) => progress.update(done, `${msgs} messages`));
        progress.stop(`sent ${result.messages} messages in ${result.seconds.toFixed(1)} s (${Math.round(result.messages / Math.max(result.seconds, 0.001))}/s): ${result.accepted} stored, ${result.duplicates} already there`);
        await sg.ingest.drain();
        const truthPath = join(dataDir(g), 'demo-ground-truth.json');
        writeFileSync(truthPath, JSON.stringify(result.truth));
        const stats = await sg.store.workspaceStats(ws.workspace);
        // Example segments over the shop (one shared computation for all of them).
        if (!g.json) console.error(`Computing ${DEMO_SEGMENTS.length} example segments …`);
        const t0 = performance.now();
        await sg.segments.idle();
        const segs = await sg.segments.createMany(ws.workspace, DEMO_SEGMENTS.map((d) => (
          { key: d.key, name: d.name, description: d.description, condition: conditionFromText(d.text, `demo segment ${d.key}`) })));
        const segmentSeconds = (performance.now() - t0) / 1000;
        // The behavioural library over the shop, as of the end of its history (the personas are planted
        // relative to it): traits and ready segments for every model, in one shared feature scan.
        if (!g.json) console.error('Running the behavioural models (docs/behavioural.md) …');
        const t1 = performance.now();
        const runs = await sg.behavioural.runMany(ws.workspace, [], {
          asOf: demo.end.getTime(),
          progress: (p) => { if (!g.json) console.error(`  ${p.phase}${p.detail ? `: ${p.detail}` : ''}`); },
        });
        const modelSeconds = (performance.now() - t1) / 1000;
        // Statistical models (docs/models.md): customer clusters, CLV and churn, as of the end of history.
        if (!g.json) console.error('Fitting the statistical models (docs/models.md) …');
        const t2 = performance.now();
        const ml: Array<{ name: string; kind: string; summary: string; metrics: Record<string, unknown> }> = [];
        for (const [kind, name, config] of DEMO_ML) {
          try {
            const v = await sg.ml.fit(ws.workspace, kind, name, config, {
              asOf: demo.end.getTime(),
              progress: mlProgress(g.json === true, name),
            });
            const metrics = (v.metrics ?? {}) as Record<string, unknown>;
            ml.push({ name, kind, summary: String(metrics['summary'] ?? ''), metrics: pick(metrics, ['k', 'auc', 'grade', 'params', 'holdout', 'selection']) });
          } catch (err) {
            // A small shop (--customers 300) may not have enough data for a model: say so and go on.
            if (!(err instanceof InputError)) throw err;
            ml.push({ name, kind, summary: `not fitted: ${err.message}`, metrics: {} });
          }
        }
        const mlSeconds = (performance.now() - t2) / 1000;
        const summary = {
          workspace: ws.workspace, writeKey: ws.writeKey, adminToken: ws.adminToken, url: opts.serve ? server.publicUrl : null,
          data: dataDir(g), messagesSent: result.messages, stored: result.accepted, duplicates: result.duplicates,
          seconds: result.seconds, stats, groundTruth: truthPath,
          segments: segs.map((x) => ({ key: x.key, name: x.name, members: x.members })), segmentSeconds,
          models: runs.map((r) => ({ model: r.model, profiles: r.profiles, groups: r.summary['groupCounts'] as Record<string, number> })), modelSeconds,
          ml, mlSeconds,
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

/** The statistical models the demo fits: kind, name, configuration. */
const DEMO_ML: Array<[string, string, Record<string, unknown>]> = [
  ['kmeans', 'personas', { kMax: 6 }],
  ['clv', 'clv', { holdoutDays: 60 }],
  ['churn', 'churn', { predictionDays: 60 }],
];

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** A fit's phases on stderr, one line per phase (the demo log stays short). */
function mlProgress(quiet: boolean, name: string): (p: { phase: string }) => void {
  let last = '';
  return (p) => {
    const phase = p.phase.split(':')[0] ?? p.phase;
    if (quiet || phase === last) return;
    last = phase;
    console.error(`  ${name}: ${phase}`);
  };
}

function printNextSteps(s: {
  workspace: string; writeKey: string; adminToken: string; url: string | null; data: string; stats: { events: number; profiles: number; merges: number };
  segments: Array<{ key: string; name: string; members: number }>;
  models: Array<{ model: string; profiles: number; groups: Record<string, number> }>;
  ml: Array<{ name: string; kind: string; summary: string }>;
}, serving: boolean): void {
  const url = s.url ?? 'http://localhost:8080';
  const lines = [
    '',
    `Demo shop ready: ${s.stats.events} events, ${s.stats.profiles} profiles (${s.stats.merges} identity merges) in ${s.data}`,
    `  workspace   ${s.workspace}`,
    `  write key   ${s.writeKey}`,
    `  admin token ${s.adminToken}`,
    '',
    'Example segments (docs/segments.md):',
    ...s.segments.map((x) => `  ${x.key.padEnd(20)} ${String(x.members).padStart(7)}  ${x.name}`),
    '',
    'Behavioural models (docs/behavioural.md; traits and a ready segment per group):',
    ...s.models.map((m) => `  ${m.model.padEnd(11)} ${String(m.profiles).padStart(7)}  ${Object.entries(m.groups).filter(([, n]) => n > 0).map(([g, n]) => `${g} ${n}`).join(', ')}`),
    '',
    'Statistical models (docs/models.md; traits <name>_…, the score <name>):',
    ...s.ml.flatMap((m) => [`  ${m.name} (${m.kind})`, ...m.summary.split('\n').map((l) => `    ${l}`)]),
    '',
    'Try next:',
  ];
  if (serving) {
    lines.push(
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' ${url}/api/v1/workspace`,
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' ${url}/api/v1/profiles/demo-user-1`,
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' ${url}/api/v1/segments`,
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' ${url}/api/v1/segments/win_back/explain/demo-user-1`,
      `  curl -s -H 'Authorization: Bearer ${s.adminToken}' -H 'content-type: application/json' -d '{"text":"performed \\"Order Completed\\" at least 3 times in last 365 days"}' ${url}/api/v1/segments/estimate`,
      `  curl -s -u '${s.writeKey}:' -H 'content-type: application/json' -d '{"userId":"demo-user-1","event":"Product Viewed","properties":{"product_id":"p-1"}}' ${url}/v1/track`,
      `  after stopping the server: npx segmenta profile show demo-user-1 --data ${s.data}`,
      '',
      `Serving ${url} — Ctrl-C to stop.`,
    );
  } else {
    lines.push(
      `  npx segmenta profile show demo-user-1 --data ${s.data}`,
      `  npx segmenta segments explain win_back demo-user-1 --data ${s.data}`,
      `  npx segmenta models show rfm --data ${s.data}`,
      `  npx segmenta ml show churn --data ${s.data}`,
      `  npx segmenta segments estimate --text 'performed "Order Completed" at least 3 times in last 365 days' --data ${s.data}`,
      `  npx segmenta serve --data ${s.data}`,
    );
  }
  console.log(lines.join('\n'));
}

/**
 * Behavioural library benchmark (issue 4): every built-in model over the segment benchmark's generated
 * shop (default 1M profiles, 50M events), beside one full aggregate scan of the events in the same run
 * (target ≤ 3×).
 *
 *   npm run bench -- behavioural [--profiles N] [--events N] [--dir D] [--no-per-model] [--memory-limit 3GB]
 *   (--dir: the segment benchmark's folder; the data are generated there first when missing)
 *
 * First one whole run of every model (traits written, ready segments created, every segment of the
 * workspace recomputed: phase times reported), then the typed columns of the models' property paths
 * (a one-time cost, timed apart). Then timed, interleaved: (1) the baseline, a hand-written GROUP BY
 * profile over all events computing a handful of aggregates (counts, revenue, first / last time), read
 * to the end; (2) the features and classification of all models together (one shared statement, as
 * `models run all` does); then (3) each model alone, for the record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Segmenta } from '../src/app/segmenta.js';
import { BEHAVIOURAL_MODELS } from '../src/domain/behavioural/index.js';
import type { CompiledQuery } from '../src/domain/segments/compile.js';
import { Params } from '../src/domain/sql/dialect.js';
import { DIALECTS } from '../src/domain/sql/dialects.js';
import { peakRssMb, resetPeakRss } from './memory.js';
import { NOW, generate, time } from './segments.js';

/** The baseline: one hand-written aggregate scan of every event, seven aggregates per profile. */
export function baselineQuery(ws: string): CompiledQuery {
  const p = new Params(DIALECTS.duckdb);
  return {
    sql: `SELECT profile_id, count(*) AS n, count(*) FILTER (WHERE event = 'Order Completed') AS orders, sum(revenue) AS revenue,
                 min(timestamp) AS first_at, max(timestamp) AS last_at, max(timestamp) FILTER (WHERE event = 'Order Completed') AS last_order
          FROM events WHERE workspace_id = ${p.str(ws)} GROUP BY profile_id`,
    params: p.list, segmentColumns: [], computedColumns: [],
  };
}

export interface BehaviouralBenchOptions { profiles?: number; events?: number; dir?: string; perModel?: boolean; memoryLimit?: string | undefined }


export async function runBehaviouralBench(opts: BehaviouralBenchOptions = {}) {
  const profiles = opts.profiles ?? 1_000_000;
  const events = opts.events ?? 50_000_000;
  const keep = opts.dir !== undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'segmenta-behbench-'));
  try {
    const open = () => Segmenta.open({ dataDir: dir, ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}), segments: { refreshMs: 3_600_000 } });
    let sg = await open();
    const name = `bench-${profiles}-${events}`;
    const existing = (await sg.workspaces.list()).find((w) => w.name === name);
    const ws = existing ? existing.id : (await sg.workspaces.create(name)).workspace;
    if (!existing) {
      await sg.close();
      const [, genMs] = await time(() => generate(join(dir, 'segmenta.duckdb'), ws, profiles, events));
      console.error(`generated ${profiles} profiles, ${events} events in ${(genMs / 1000).toFixed(0)} s`);
      sg = await open();
    }
    const svc = sg.behavioural;
    const ids = BEHAVIOURAL_MODELS.map((m) => m.id);
    // Interleaved: baseline, all models, baseline, all models (the first of each warms the caches).
    // The baseline reads its rows to the end in the same way the models' features are read (1M rows).
    const baseline = async () => (await sg.store.segments.query(baselineQuery(ws))).length;
    // A whole run (traits written, ready segments created or recomputed with every other segment of
    // the workspace): phase times from its progress reports.
    const phases: Record<string, number> = {};
    let phaseStart = performance.now();
    let phase = '';
    let written = 0;
    await svc.runMany(ws, ids, {
      asOf: NOW,
      progress: (pr) => {
        const t = performance.now();
        if (phase) phases[phase] = Math.round((phases[phase] ?? 0) + t - phaseStart);
        phase = pr.phase;
        phaseStart = t;
        const m = pr.phase === 'write' ? /([0-9]+) trait values/.exec(pr.detail ?? '') : null;
        if (m) written += Number(m[1]);
        console.error(`  run: ${pr.phase} ${pr.detail ?? ''}`);
      },
    });
    const writeMs = (phases['write'] ?? 0);
    // The models' property paths become typed columns after their first run (in the background in
    // production; here awaited and timed apart, a one-time cost per path).
    const [typedAdded, typedMs] = await time(() => sg.segments.ensureTypedColumns((p) => {
      if (p.phase !== 'fill') return;
      const pct = p.rowsTotal ? Math.floor((100 * p.rowsDone) / p.rowsTotal) : 0;
      if (pct % 25 === 0) console.error(`  typed columns: back-fill ${pct} % (${p.paths} paths)`);
    }));
    console.error(`typed columns: ${typedAdded} paths added in ${(typedMs / 1000).toFixed(1)} s`);
    // Peak resident memory of the whole run and back-fill, then of the rounds alone (the peak restarted).
    const runPeakRssMb = Math.round(peakRssMb());
    const restarted = resetPeakRss();
    const rounds: Array<{ baselineMs: number; allModelsMs: number }> = [];
    for (let r = 0; r < 2; r++) {
      const [, b] = await time(baseline);
      const [, a] = await time(() => svc.classifyMany(ws, ids, {}, NOW));
      rounds.push({ baselineMs: Math.round(b), allModelsMs: Math.round(a) });
      console.error(`round ${r + 1}: baseline ${(b / 1000).toFixed(1)} s, all ${ids.length} models ${(a / 1000).toFixed(1)} s`);
    }
    const roundsPeakRssMb = restarted ? Math.round(peakRssMb()) : null;
    const perModel: Record<string, number> = {};
    for (const id of opts.perModel === false ? [] : ids) {
      const [, ms] = await time(() => svc.classifyMany(ws, [id], {}, NOW));
      perModel[id] = Math.round(ms);
      console.error(`  ${id} alone: ${(ms / 1000).toFixed(1)} s`);
    }
    const last = rounds[rounds.length - 1] as { baselineMs: number; allModelsMs: number };
    return {
      profiles, events, models: ids, rounds, perModelMs: perModel,
      ratio: Number((last.allModelsMs / last.baselineMs).toFixed(2)), target: 3,
      memoryLimit: opts.memoryLimit ?? null, peakRssMb: { runAndBackfill: runPeakRssMb, rounds: roundsPeakRssMb },
      traitValuesWritten: written, writeMs: Math.round(writeMs), runPhasesMs: phases, typedPathsAdded: typedAdded, typedMs: Math.round(typedMs),
      command: `npm run bench -- behavioural${opts.profiles ? ` --profiles ${profiles}` : ''}${opts.events ? ` --events ${events}` : ''}${keep ? ` --dir ${dir}` : ''}${opts.perModel === false ? ' --no-per-model' : ''}${opts.memoryLimit ? ` --memory-limit ${opts.memoryLimit}` : ''}`,
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `segmenta models …`: the behavioural library from the command line (docs/behavioural.md): list the
 * models, run one (traits with provenance `model:<id>`, ready segments, a run in the registry), read the
 * last run and the registry, and see how profiles moved between groups from one date to another.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BEHAVIOURAL_MODELS, NONE, behaviouralModel } from '../domain/behavioural/index.js';
import { isoTimeMs, modelCatalogue } from '../http/model-routes.js';
import type { ModelPhase, ModelProgress } from '../services/behavioural.js';
import { CliError, EXIT, chooseWorkspace, printJson, withSegmenta, type GlobalOptions } from './context.js';

/** `--config '<json>'` or `--config @file.json`. */
export function configOf(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  let text = value;
  let where = '--config';
  if (value.startsWith('@')) {
    where = value.slice(1);
    try {
      text = readFileSync(where, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${where}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CliError(`${where} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
}

/** A time option: an ISO-8601 date (UTC midnight) or date-time; other forms are ambiguous, so refused. */
export function isoTimeOf(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = isoTimeMs(value);
  if (ms === undefined) throw new CliError(`${option} must be an ISO-8601 date or date-time (e.g. 2026-10-31 or 2026-10-31T12:00:00Z), got '${value}'`, EXIT.usage);
  return ms;
}

const PHASES: ModelPhase[] = ['features', 'classify', 'write', 'segments'];
const PHASE_TEXT: Record<ModelPhase, string> = {
  features: 'computing features', classify: 'classifying', write: 'writing traits', segments: 'updating segments', done: 'done',
};

/**
 * Progress of a run's phases on stderr. The service reports phases, not fractions, so this shows the
 * phase and the seconds spent (a bar's percentage would lie): a live line on a terminal, one line per
 * phase otherwise, nothing with --json.
 */
function phaseProgress(label: string, quiet: boolean): { report(p: ModelProgress): void; stop(): void } {
  if (quiet) return { report: () => undefined, stop: () => undefined };
  const t0 = performance.now();
  let phaseStart = t0;
  let line = '';
  const secs = (from: number) => ((performance.now() - from) / 1000).toFixed(1);
  const tty = process.stderr.isTTY === true;
  const draw = () => process.stderr.write(`\r${line} ${secs(phaseStart)} s\x1b[K`);
  const timer = tty ? setInterval(draw, 250) : undefined;
  return {
    report(p) {
      if (p.phase === 'done') return;
      const step = PHASES.indexOf(p.phase) + 1;
      if (tty && line) process.stderr.write(`\r${line} ${secs(phaseStart)} s\x1b[K\n`);
      phaseStart = performance.now();
      line = `[${step}/${PHASES.length}] ${PHASE_TEXT[p.phase]}${p.detail ? ` (${p.detail})` : ` (${label})`}…`;
      if (tty) draw();
      else process.stderr.write(`${line} (${secs(t0)} s)\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
      if (tty && line) process.stderr.write(`\r${line} ${secs(phaseStart)} s\x1b[K\n`);
    },
  };
}

function isCounts(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).length > 0 && Object.values(v).every((x) => typeof x === 'number');
}

/** The group counts of a run's summary (the service records them under `groupCounts`). */
function groupCounts(summary: Record<string, unknown>): Record<string, number> | undefined {
  return isCounts(summary['groupCounts']) ? summary['groupCounts'] : undefined;
}

export function table(rows: string[][], rightFrom = 1): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => r.map((c, i) => (i >= rightFrom ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** The R × FM grid of an RFM summary (grid[fm − 1][r − 1]), best FM on top. */
function rfmGrid(grid: number[][]): string {
  const k = grid.length;
  const rows: string[][] = [['FM \\ R', ...Array.from({ length: k }, (_, i) => String(i + 1))]];
  for (let fm = k; fm >= 1; fm--) rows.push([String(fm), ...Array.from({ length: k }, (_, r) => String(grid[fm - 1]?.[r] ?? 0))]);
  return table(rows);
}

/** A model's groups in display order under a configuration (a run's stored one, or else the defaults). */
function groupOrder(modelId: string, config: unknown): string[] {
  const m = behaviouralModel(modelId);
  if (!m) return [];
  const parsed = m.config.safeParse(config ?? {});
  const fallback = parsed.success ? parsed : m.config.safeParse({});
  return fallback.success ? m.groups(fallback.data) : [];
}

/** A run's summary in text: group counts (in display order), the RFM grid and score distributions, movement. */
function printSummary(modelId: string, config: unknown, summary: Record<string, unknown>): void {
  const order = groupOrder(modelId, config);
  const counts = groupCounts(summary);
  if (counts) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const keys = [...order.filter((g) => g in counts), ...Object.keys(counts).filter((g) => !order.includes(g))];
    console.log('groups:');
    console.log(table(keys.map((g) => ['  ' + g, String(counts[g] ?? 0), total ? `${((100 * (counts[g] ?? 0)) / total).toFixed(1)} %` : '-'])));
  } else {
    console.log(JSON.stringify(summary, null, 2));
  }
  const grid = summary['grid'];
  if (modelId === 'rfm' && Array.isArray(grid) && grid.every((r) => Array.isArray(r))) {
    console.log('\ncustomers per cell (recency score R across, frequency-monetary score FM down):');
    console.log(rfmGrid(grid as number[][]).split('\n').map((l) => '  ' + l).join('\n'));
    const scores = summary['scores'];
    if (typeof scores === 'object' && scores !== null) {
      console.log('\nscore distributions (score 1 … k):');
      for (const [metric, dist] of Object.entries(scores as Record<string, unknown>)) if (Array.isArray(dist)) console.log(`  ${metric.toUpperCase()}: ${dist.join(' · ')}`);
    }
  }
  const mv = summary['movement'] as { sinceAsOf?: string; matrix?: Record<string, Record<string, number>> } | undefined;
  if (mv?.matrix) {
    let stayed = 0, moved = 0;
    for (const [a, row] of Object.entries(mv.matrix)) for (const [b, n] of Object.entries(row)) (a === b ? stayed += n : moved += n);
    console.log(`\nsince the previous run (as of ${mv.sinceAsOf ?? '?'}): ${stayed} stayed, ${moved} moved (segmenta models movement ${modelId} --from … --to … for the table)`);
  }
}

/** A movement matrix as a table: from-groups down, to-groups across (numbered), then the largest moves. */
export function movementText(modelId: string, matrix: Record<string, Record<string, number>>, configInput?: unknown): string {
  const order = groupOrder(modelId, configInput);
  const seen = new Set<string>();
  for (const [a, row] of Object.entries(matrix)) {
    seen.add(a);
    for (const b of Object.keys(row)) seen.add(b);
  }
  const groups = [...order.filter((g) => seen.has(g)), ...[...seen].filter((g) => !order.includes(g) && g !== NONE).sort(), ...(seen.has(NONE) ? [NONE] : [])];
  const rows: string[][] = [['from \\ to', ...groups.map((_, i) => String(i + 1)), 'total']];
  groups.forEach((a, i) => {
    const row = matrix[a] ?? {};
    const cells = groups.map((b) => row[b] ?? 0);
    rows.push([`${String(i + 1).padStart(2)} ${a}`, ...cells.map((n) => (n === 0 ? '.' : String(n))), String(cells.reduce((x, y) => x + y, 0))]);
  });
  const totals = groups.map((b) => groups.reduce((s, a) => s + (matrix[a]?.[b] ?? 0), 0));
  rows.push(['total', ...totals.map(String), String(totals.reduce((x, y) => x + y, 0))]);
  const moves: Array<[string, string, number]> = [];
  for (const [a, row] of Object.entries(matrix)) for (const [b, n] of Object.entries(row)) if (a !== b && n > 0) moves.push([a, b, n]);
  moves.sort((x, y) => y[2] - x[2] || x[0].localeCompare(y[0]) || x[1].localeCompare(y[1]));
  const top = moves.slice(0, 10).map(([a, b, n]) => `  ${a} → ${b}: ${n}`);
  return [table(rows), '(columns: the groups numbered as the rows; . = nobody)', ...(top.length ? ['', 'largest moves:', ...top] : [])].join('\n');
}

const iso = (ms: number) => new Date(ms).toISOString();

export function registerModels(program: Command): void {
  const models = program.command('models').description('the behavioural library: RFM, lifecycle, … as profile traits and ready segments (docs/behavioural.md)');
  const wsOpt = ['--workspace <id>', 'workspace id or name (default: the only one)'] as const;

  models.command('list').description('the models: what each finds, its output traits and groups')
    .action((_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const list = modelCatalogue();
      if (g.json) return printJson(list);
      for (const m of list) {
        console.log(`${m.id} (${m.name}): ${m.description}`);
        console.log(`  groups (trait ${m.groupTrait}): ${m.groups.join(', ')}`);
        console.log(`  traits: ${m.traits.map((t) => t.key).join(', ')}`);
      }
      console.log('\nrun one: segmenta models run <model> [--config \'{…}\'] [--as-of 2026-10-31]');
      return undefined;
    });

  models.command('run <model>').description('run a model (or several: rfm,lifecycle, or all, in one scan of the events): features as of a time, traits written (source model:<model>), ready segments created, the run recorded')
    .option('--config <json>', 'configuration as JSON, or @file.json (defaults fill the rest; see models list --json); for several models an object keyed by model id')
    .option('--as-of <date>', 'the time the run describes (ISO-8601; default now): only events up to then count')
    .option(...wsOpt)
    .action(async (model: string, opts: { config?: string; asOf?: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = configOf(opts.config);
      const asOf = isoTimeOf('--as-of', opts.asOf);
      const ids = model === 'all' ? BEHAVIOURAL_MODELS.map((m) => m.id) : model.split(',').map((x) => x.trim()).filter(Boolean);
      const unknown = ids.find((id) => !behaviouralModel(id));
      if (unknown !== undefined || ids.length === 0) throw new CliError(`no behavioural model '${unknown ?? model}' (models: ${BEHAVIOURAL_MODELS.map((x) => x.id).join(', ')}, or all)`, EXIT.notFound);
      if (ids.length > 1 && config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) {
        throw new CliError('--config for several models is an object keyed by model id, e.g. {"rfm":{"scale":3}}', EXIT.usage);
      }
      await withSegmenta(g, async (sg) => {
        const ws = await chooseWorkspace(sg, opts.workspace);
        const progress = phaseProgress(ids.join(', '), g.json === true);
        const common = { ...(asOf !== undefined ? { asOf } : {}), progress: (p: ModelProgress) => progress.report(p) };
        let views;
        try {
          views = ids.length === 1
            ? [await sg.behavioural.run(ws, ids[0] as string, { ...(config !== undefined ? { config } : {}), ...common })]
            : await sg.behavioural.runMany(ws, ids, { ...(config !== undefined ? { configs: config as Record<string, unknown> } : {}), ...common });
        } finally {
          progress.stop();
        }
        if (g.json) return printJson(ids.length === 1 ? views[0] : views);
        for (const [i, r] of views.entries()) {
          if (i > 0) console.log('');
          console.log(`${r.model} run ${r.runId} as of ${r.asOf}: ${r.profiles} profiles classified in ${(r.durationMs / 1000).toFixed(1)} s`);
          if (r.segmentsCreated.length) console.log(`ready segments created: ${r.segmentsCreated.join(', ')}`);
          console.log('');
          printSummary(r.model, r.config, r.summary);
        }
        return undefined;
      });
    });

  models.command('show <model>').description('the last run of a model: when, as of, configuration, summary').option(...wsOpt)
    .action(async (model: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const last = (await sg.behavioural.runs(await chooseWorkspace(sg, opts.workspace), model, 1))[0];
        if (!last) throw new CliError(`${model} has not run in this workspace yet: segmenta models run ${model}`, EXIT.notFound);
        if (g.json) return printJson(last);
        console.log(`${last.model} run ${last.runId}`);
        console.log(`  ran at   ${last.startedAt} (${(last.durationMs / 1000).toFixed(1)} s)`);
        console.log(`  as of    ${last.asOf}`);
        console.log(`  config   ${JSON.stringify(last.config)}`);
        if (last.error !== null) {
          console.log(`  FAILED   ${last.error}`);
          return undefined;
        }
        console.log(`  profiles ${last.profiles}\n`);
        printSummary(last.model, last.config, (last.summary ?? {}) as Record<string, unknown>);
        return undefined;
      });
    });

  models.command('runs [model]').description('the run registry, newest first (of one model, or all)').option('--limit <n>', 'how many', '20').option(...wsOpt)
    .action(async (model: string | undefined, opts: { limit: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError('--limit must be a whole number from 1 to 1000', EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const runs = await sg.behavioural.runs(await chooseWorkspace(sg, opts.workspace), model, limit);
        if (g.json) return printJson(runs);
        if (runs.length === 0) return void console.log(`no runs yet: segmenta models run ${model ?? '<model>'}`);
        console.log(table([['ran at', 'model', 'as of', 'profiles', 'seconds', 'status'],
          ...runs.map((r) => [r.startedAt, r.model, r.asOf, String(r.profiles), (r.durationMs / 1000).toFixed(1), r.error === null ? 'ok' : `FAILED: ${r.error}`])], 3));
        return undefined;
      });
    });

  models.command('movement <model>').description('how profiles moved between the model\'s groups from one date to another (both classified from events)')
    .requiredOption('--from <date>', 'the earlier time (ISO-8601)').requiredOption('--to <date>', 'the later time (ISO-8601)')
    .option('--config <json>', 'configuration as JSON, or @file.json').option(...wsOpt)
    .action(async (model: string, opts: { from: string; to: string; config?: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const from = isoTimeOf('--from', opts.from) as number;
      const to = isoTimeOf('--to', opts.to) as number;
      const config = configOf(opts.config);
      if (!(from < to)) throw new CliError(`--from must be before --to (got ${iso(from)} and ${iso(to)})`, EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const ws = await chooseWorkspace(sg, opts.workspace);
        const t0 = performance.now();
        const timer = g.json ? undefined : setInterval(() => process.stderr.write(`\r  classifying at both times… ${((performance.now() - t0) / 1000).toFixed(0)} s`), 1000);
        let mv;
        try {
          mv = await sg.behavioural.movement(ws, model, from, to, config);
        } finally {
          if (timer) {
            clearInterval(timer);
            if (performance.now() - t0 >= 1000) process.stderr.write('\r\x1b[K');
          }
        }
        if (g.json) return printJson(mv);
        console.log(`${mv.model} from ${mv.from} to ${mv.to}: ${mv.stayed} stayed, ${mv.moved} moved (${NONE}: not classified at that time)\n`);
        console.log(movementText(mv.model, mv.matrix, config));
        return undefined;
      });
    });
}

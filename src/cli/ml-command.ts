/**
 * `segmenta ml …`: statistical models from the command line (docs/models.md): the kinds, fit one under a
 * name (every fit a new version; outputs become traits `<name>_…` and the score `<name>`), read the
 * registry, mark protected traits, and the fairness report of a segment or model.
 */
import type { Command } from 'commander';
import { ML_CONFIGS, ML_KINDS, mlTraits } from '../domain/ml/configs.js';
import type { FitProgressEvent } from '../domain/ml/types.js';
import type { MlModelView } from '../services/ml/ml-service.js';
import { configOf, isoTimeOf, table } from './models-command.js';
import { CliError, EXIT, chooseWorkspace, printJson, withSegmenta, type GlobalOptions } from './context.js';

/**
 * Progress of a fit on stderr: the phase, its fraction when the fit knows it, and the time spent; a live
 * line on a terminal, a line per phase (and every few seconds) otherwise; nothing with --json.
 */
export function fitProgress(quiet: boolean): { report(p: FitProgressEvent): void; stop(): void } {
  if (quiet) return { report: () => undefined, stop: () => undefined };
  const t0 = performance.now();
  const tty = process.stderr.isTTY === true;
  let phase = '';
  let lastLine = 0;
  let line = '';
  return {
    report(p) {
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      const frac = p.total > 0 ? ` ${Math.min(100, Math.round((100 * p.done) / p.total))} %` : '';
      line = `${p.phase}${frac}${p.detail ? ` (${p.detail})` : ''} ${secs} s`;
      if (tty) process.stderr.write(`\r${line}\x1b[K`);
      else if (p.phase !== phase || performance.now() - lastLine > 5000) {
        process.stderr.write(`${line}\n`);
        lastLine = performance.now();
      }
      if (tty && p.phase !== phase && phase) process.stderr.write('\n');
      phase = p.phase;
    },
    stop() {
      if (tty && line) process.stderr.write('\n');
    },
  };
}

function printModel(m: MlModelView & { artifact?: unknown }): void {
  console.log(`${m.name} (${m.kind}) version ${m.version}, fitted ${m.fittedAt} in ${(m.durationMs / 1000).toFixed(1)} s${m.error ? `: FAILED ${m.error}` : ''}`);
  if (m.error) return;
  console.log(`  traits: ${m.traits.map((t) => t.key).join(', ')}`);
  if (m.training) console.log(`  training: ${JSON.stringify(m.training)}`);
  const metrics = (m.metrics ?? {}) as Record<string, unknown>;
  const summary = metrics['summary'];
  if (typeof summary === 'string') console.log(`\n${summary}`);
  console.log('\nmetrics:');
  for (const [k, v] of Object.entries(metrics)) if (k !== 'summary') console.log(`  ${k}: ${JSON.stringify(v)}`);
  if (m.segmentsCreated?.length) console.log(`\nready segments created: ${m.segmentsCreated.join(', ')}`);
}

export function registerMl(program: Command): void {
  const ml = program.command('ml').description('statistical models: clustering, CLV, churn, propensity, lookalikes, uplift, fairness (docs/models.md)');
  const wsOpt = ['--workspace <id>', 'workspace id or name (default: the only one)'] as const;

  ml.command('kinds').description('the model kinds, their configuration defaults and the traits they write')
    .action((_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const list = ML_KINDS.map((kind) => {
        const d = ML_CONFIGS[kind].safeParse(kind === 'lookalike' ? { seedSegment: 'x' } : kind === 'uplift' ? { treatment: 'x', control: 'y', start: '2026-01-01', outcome: { event: 'x' } } : kind === 'propensity' ? { target: { event: 'x' } } : {});
        return { kind, traits: mlTraits(kind, '<name>'), defaults: d.success ? d.data : null };
      });
      if (g.json) return printJson(list);
      for (const k of list) console.log(`${k.kind}: writes ${k.traits.map((t) => t.key).join(', ')}`);
      console.log('\nfit one: segmenta ml fit <kind> <name> [--config \'{…}\'] (defaults: segmenta ml kinds --json)');
      return undefined;
    });

  ml.command('fit <kind> <name>').description('fit a model under a name: a new version in the registry, its outputs as traits <name>_… and the score <name>')
    .option('--config <json>', 'configuration as JSON, or @file.json (defaults fill the rest)')
    .option('--as-of <date>', 'the time the model describes (ISO-8601; default now)')
    .option(...wsOpt)
    .action(async (kind: string, name: string, opts: { config?: string; asOf?: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (!(ML_KINDS as readonly string[]).includes(kind)) throw new CliError(`no model kind '${kind}' (kinds: ${ML_KINDS.join(', ')})`, EXIT.usage);
      const config = configOf(opts.config);
      const asOf = isoTimeOf('--as-of', opts.asOf);
      await withSegmenta(g, async (sg) => {
        const ws = await chooseWorkspace(sg, opts.workspace);
        const progress = fitProgress(g.json === true);
        let view;
        try {
          view = await sg.ml.fit(ws, kind, name, config, { ...(asOf !== undefined ? { asOf } : {}), progress: (p) => progress.report(p) });
        } finally {
          progress.stop();
        }
        if (g.json) return printJson(view);
        printModel(view);
        return undefined;
      });
    });

  ml.command('list').description('the models of the workspace (newest version of each)').option(...wsOpt)
    .action(async (opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const list = await sg.ml.list(await chooseWorkspace(sg, opts.workspace));
        if (g.json) return printJson(list);
        if (!list.length) return void console.log('no models yet: segmenta ml fit <kind> <name>');
        console.log(table([['name', 'kind', 'version', 'fitted', 'seconds', 'status'],
          ...list.map((m) => [m.name, m.kind, String(m.version), m.fittedAt, (m.durationMs / 1000).toFixed(1), m.error === null ? 'ok' : `FAILED: ${m.error}`])], 2));
        return undefined;
      });
    });

  ml.command('show <name>').description('a model: version, training window, metrics, traits')
    // Not --version: the program's --version (print segmenta's version) would answer first.
    .option('--model-version <n>', 'a version (default: the newest)').option(...wsOpt)
    .action(async (name: string, opts: { modelVersion?: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const version = opts.modelVersion === undefined ? undefined : Number(opts.modelVersion);
      if (version !== undefined && !(Number.isInteger(version) && version >= 1)) throw new CliError('--model-version must be a whole number from 1', EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const m = await sg.ml.show(await chooseWorkspace(sg, opts.workspace), name, version);
        if (g.json) return printJson(m);
        printModel(m);
        return undefined;
      });
    });

  ml.command('versions <name>').description('every fit of a model, newest first').option(...wsOpt)
    .action(async (name: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const list = await sg.ml.versions(await chooseWorkspace(sg, opts.workspace), name);
        if (g.json) return printJson(list);
        console.log(table([['version', 'fitted', 'seconds', 'status'], ...list.map((m) => [String(m.version), m.fittedAt, (m.durationMs / 1000).toFixed(1), m.error === null ? 'ok' : `FAILED: ${m.error}`])], 2));
        return undefined;
      });
    });

  ml.command('protect [keys...]').description('mark profile traits as protected (replaces the list; none given: show it)').option('--clear', 'mark none').option(...wsOpt)
    .action(async (keys: string[], opts: { clear?: boolean; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const ws = await chooseWorkspace(sg, opts.workspace);
        const list = opts.clear || keys.length ? await sg.ml.setProtectedTraits(ws, opts.clear ? [] : keys) : await sg.ml.protectedTraits(ws);
        if (g.json) return printJson({ protected: list });
        console.log(list.length ? `protected traits: ${list.join(', ')}` : 'no protected traits');
        return undefined;
      });
    });

  ml.command('guard <segment>').description('mark a segment "no protected attributes": it (and any edit) may not use protected traits, directly or through other segments')
    .option('--off', 'unmark it').option(...wsOpt)
    .action(async (segment: string, opts: { off?: boolean; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const r = await sg.ml.setSegmentGuard(await chooseWorkspace(sg, opts.workspace), segment, !opts.off);
        if (g.json) return printJson(r);
        console.log(r.noProtected ? `segment ${segment} is marked "no protected attributes"` : `segment ${segment} is no longer marked`);
        return undefined;
      });
    });

  ml.command('fairness').description('fairness of a segment or a model over the protected traits: selection rates, demographic parity, four-fifths rule, equalized odds')
    .option('--segment <key>', 'the segment (selected = its members)')
    .option('--model <name>', 'the model (selected = score ≥ --threshold)')
    .option('--threshold <x>', 'score threshold of --model', '0.5')
    .option('--outcome <segment>', 'who really had the outcome (enables TPR / FPR and equalized odds)')
    .option('--attribute <trait...>', 'attributes to group by (default: the protected traits)')
    .option(...wsOpt)
    .action(async (opts: { segment?: string; model?: string; threshold: string; outcome?: string; attribute?: string[]; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const threshold = Number(opts.threshold);
      if (!Number.isFinite(threshold)) throw new CliError(`--threshold must be a number, got '${opts.threshold}'`, EXIT.usage);
      if ((opts.segment === undefined) === (opts.model === undefined)) throw new CliError('give --segment <key> or --model <name>', EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const r = await sg.ml.fairness(await chooseWorkspace(sg, opts.workspace), {
          ...(opts.segment !== undefined ? { segment: opts.segment } : {}), ...(opts.model !== undefined ? { model: opts.model, threshold } : {}),
          ...(opts.outcome !== undefined ? { outcome: opts.outcome } : {}), ...(opts.attribute?.length ? { attributes: opts.attribute } : {}),
        });
        if (g.json) return printJson(r);
        console.log(`${r.subject}: ${r.selected} of ${r.population} profiles selected`);
        for (const rep of r.reports) {
          console.log(`\n${rep.attribute}: ${rep.summary}`);
          console.log(table([['group', 'profiles', 'selected', 'rate', 'TPR', 'FPR'], ...rep.groups.map((x) => [
            x.group + (x.tooSmall ? ' (small)' : ''), String(x.n), String(x.selected), x.selectionRate.value === null ? '-' : `${(100 * x.selectionRate.value).toFixed(1)} %`,
            x.truePositiveRate === null ? '-' : x.truePositiveRate.toFixed(3), x.falsePositiveRate === null ? '-' : x.falsePositiveRate.toFixed(3),
          ])]));
        }
        return undefined;
      });
    });
}

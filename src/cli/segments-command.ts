/**
 * `segmenta segments …` and `segmenta computed-traits …`: the segment engine from the command line
 * (definitions as JSON, inline or from a file; docs/segments.md; `segments insights`: docs/insights.md).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ExplainNode } from '../services/segments.js';
import type { SegmentInsightsView } from '../services/insights.js';
import { percent, show } from '../domain/insights/persona.js';
import { parseSegmentText, printSegmentText } from '../domain/segments/text.js';
import type { Condition } from '../domain/segments/ast.js';
import { CliError, EXIT, chooseWorkspace, printJson, withSegmenta, type GlobalOptions } from './context.js';

interface DefOpts { condition?: string; text?: string; file?: string; workspace?: string }

/** The condition of a command: `--condition '<json>'` or `--file def.json` (a condition, or {condition}). */
function conditionOf(opts: DefOpts, required: boolean): unknown {
  let text: string | undefined;
  let where = '--condition';
  const given = [opts.condition, opts.text, opts.file].filter((x) => x !== undefined).length;
  if (given > 1) throw new CliError('give one of --text, --condition or --file', EXIT.usage);
  const fromText = (src: string, origin: string): unknown => {
    const r = parseSegmentText(src);
    if (r.condition) return r.condition;
    const d = r.diagnostics[0];
    const at = d?.span ? `\n  ${src.split('\n').join(' ')}\n  ${' '.repeat(d.span.start)}${'^'.repeat(Math.max(1, d.span.end - d.span.start))}` : '';
    throw new CliError(`${origin}: ${d?.message ?? 'invalid'} [${d?.code ?? 'syntax'}]${at}`, EXIT.usage);
  };
  if (opts.text !== undefined) return fromText(opts.text, '--text');
  if (opts.condition !== undefined) text = opts.condition;
  if (opts.file !== undefined) {
    where = opts.file;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${opts.file}: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
    }
    // a .seg file (or anything not starting with {) is the text form
    if (!/^\s*\{/.test(text)) return fromText(text, opts.file);
  }
  if (text === undefined) {
    if (required) throw new CliError('give the definition with --text \'<text form>\', --condition \'<json>\' or --file <file> (docs/segments.md)', EXIT.usage);
    return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${where} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, EXIT.usage);
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'condition' in v && !('type' in v)) return (v as { condition: unknown }).condition;
  return v;
}

function printTree(n: ExplainNode, indent = ''): void {
  console.log(`${indent}${n.holds ? '✔' : '✘'} ${n.label}${n.value !== undefined ? `  (value: ${n.value})` : ''}`);
  for (const c of n.children ?? []) printTree(c, indent + '  ');
}

const ws = (o: { workspace?: string }) => o.workspace;

/** The options of a command that takes a definition (create, edit). */
function definitionOptions(cmd: Command, what: string): Command {
  return cmd.option('--text <text>', `${what}, text form`).option('--condition <json>', `${what}, JSON form`)
    .option('--file <path>', 'a file with the condition (JSON, or text form)').option('--name <text>', 'display name')
    .option('--description <text>', 'what it is for').option('--workspace <id>', 'workspace id or name (default: the only one)');
}

export function registerSegments(program: Command): void {
  const seg = program.command('segments').description('define segments, read members, explain, estimate, overlap, changes');
  const wsOpt = ['--workspace <id>', 'workspace id or name (default: the only one)'] as const;

  seg.command('list').description('segments with sizes, last computation and staleness').option(...wsOpt).option('--archived', 'include archived segments')
    .action(async (opts: { workspace?: string; archived?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const list = await sg.segments.list(await chooseWorkspace(sg, ws(opts)), { includeArchived: opts.archived === true });
        if (g.json) return printJson(list);
        if (list.length === 0) console.log('no segments yet: segmenta segments create <key> --condition \'{…}\'');
        for (const s of list) {
          const state = s.error ? `ERROR ${s.error}` : s.stale ? `stale (${s.staleReason})` : `computed ${s.lastComputed?.at ?? '-'}`;
          console.log(`${s.key.padEnd(28)} v${s.version} ${String(s.members).padStart(9)} members  ${s.status === 'archived' ? 'archived' : state}`);
        }
      });
    });

  seg.command('show <key>').description('one segment: definition, size, last computation').option(...wsOpt)
    .action(async (key: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const s = await sg.segments.get(await chooseWorkspace(sg, ws(opts)), key);
        if (g.json) return printJson(s);
        console.log(`${s.key} (${s.name}) v${s.version} ${s.status}: ${s.members} members${s.stale ? `, stale: ${s.staleReason}` : ''}`);
        console.log(printSegmentText(s.condition as Condition));
      });
    });

  definitionOptions(seg.command('create <key>').description('create a segment and compute its members now'), 'the condition')
    .action(async (key: string, opts: DefOpts & { name?: string; description?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const condition = conditionOf(opts, true);
      await withSegmenta(g, async (sg) => {
        const s = await sg.segments.create(await chooseWorkspace(sg, ws(opts)), { key, condition, ...labelsOf(opts) });
        if (g.json) return printJson(s);
        console.log(`created ${s.key} (version ${s.version}): ${s.members} members`);
      });
    });

  definitionOptions(seg.command('edit <key>').description('a new version of a segment (members re-evaluated, changes recorded)'), 'the new condition')
    .action(async (key: string, opts: DefOpts & { name?: string; description?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const condition = conditionOf(opts, false);
      await withSegmenta(g, async (sg) => {
        const s = await sg.segments.update(await chooseWorkspace(sg, ws(opts)), key, { ...(condition !== undefined ? { condition } : {}), ...labelsOf(opts) });
        if (g.json) return printJson(s);
        console.log(`${s.key} is now version ${s.version}: ${s.members} members`);
      });
    });

  seg.command('archive <key>').description('archive a segment (its members exit)').option(...wsOpt)
    .action(async (key: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const s = await sg.segments.archive(await chooseWorkspace(sg, ws(opts)), key);
        if (g.json) return printJson(s);
        console.log(`archived ${s.key} (version ${s.version})`);
      });
    });

  seg.command('members <key>').description('members of a segment (paged), as a table, CSV or JSON lines')
    .option('--limit <n>', 'how many', '100').option('--offset <n>', 'from', '0').option('--format <f>', 'table, csv or jsonl', 'table').option(...wsOpt)
    .action(async (key: string, opts: { limit: string; offset: string; format: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const limit = Number(opts.limit);
      const offset = Number(opts.offset);
      if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) throw new CliError('--limit must be ≥ 1 and --offset ≥ 0, whole numbers', EXIT.usage);
      if (!['table', 'csv', 'jsonl'].includes(opts.format)) throw new CliError(`--format must be table, csv or jsonl, got '${opts.format}'`, EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const rows = (await sg.segments.members(await chooseWorkspace(sg, ws(opts)), key, limit, offset))
          .map((m) => ({ profileId: m.profileId, enteredAt: new Date(m.enteredAt).toISOString(), version: m.version }));
        if (g.json) return printJson(rows);
        if (opts.format === 'csv') {
          console.log('profile_id,entered_at,version');
          for (const r of rows) console.log(`${r.profileId},${r.enteredAt},${r.version}`);
        } else if (opts.format === 'jsonl') for (const r of rows) console.log(JSON.stringify(r));
        else for (const r of rows) console.log(`${r.profileId}  entered ${r.enteredAt}  (v${r.version})`);
      });
    });

  seg.command('explain <key> <profile>').description('why a profile is (not) in a segment: each condition with its value').option(...wsOpt)
    .action(async (key: string, profile: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const w = await chooseWorkspace(sg, ws(opts));
        const e = await sg.segments.explain(w, key, profile, (r) => sg.profiles.resolve(w, r));
        if (g.json) return printJson(e);
        console.log(`${e.profileId} ${e.holds ? 'is' : 'is not'} in ${e.segment} (v${e.version}) at ${e.at}${e.member !== e.holds ? ` — stored membership says ${e.member ? 'member' : 'not a member'} until the next computation` : ''}`);
        printTree(e.tree);
      });
    });

  seg.command('estimate').description('size of an unsaved definition: a sampled estimate with its interval on large workspaces, then the exact count')
    .option('--text <text>', 'the condition, text form').option('--condition <json>', 'the condition, JSON form').option('--file <path>', 'a file with the condition (JSON, or text form)')
    .option('--mode <m>', 'sample, exact or both', 'both').option(...wsOpt)
    .action(async (opts: DefOpts & { mode: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const condition = conditionOf(opts, true);
      const mode = opts.mode === 'sample' || opts.mode === 'exact' || opts.mode === 'both' ? opts.mode : undefined;
      if (!mode) throw new CliError(`--mode must be sample, exact or both, got '${opts.mode}'`, EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const w = await chooseWorkspace(sg, ws(opts));
        const r = await sg.segments.estimate(w, condition, mode);
        if (g.json) return printJson(r);
        const pctOf = (n: number) => (r.profiles ? ((100 * n) / r.profiles).toFixed(1) : '0');
        if (r.sample) console.log(`≈ ${r.sample.size} of ${r.profiles} profiles (95 %: ${r.sample.low} – ${r.sample.high}), sampled ${r.sample.sampled} in ${Math.round(r.sample.durationMs)} ms`);
        if (r.exactResult) console.log(`${r.exactResult.size} of ${r.profiles} profiles (${pctOf(r.exactResult.size)} %), exact, in ${Math.round(r.exactResult.durationMs)} ms`);
      });
    });

  seg.command('insights <key>').description('how a segment differs from the whole base: persona card, effects with intervals, top values')
    .option('--as-of <time>', 'read events up to this ISO-8601 time (default: now)').option('--top <n>', 'values per dimension', '10')
    .option('--confidence <c>', 'confidence of the intervals', '0.95').option('--max-profiles <n>', 'read the features of a sample of about this many profiles above it', '200000')
    .option('--all', 'list every feature, not only the headline metrics and the distinguishing values').option(...wsOpt)
    .action(async (key: string, opts: { asOf?: string; top: string; confidence: string; maxProfiles: string; all?: boolean; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const asOf = opts.asOf === undefined ? undefined : Date.parse(opts.asOf);
      if (asOf !== undefined && !Number.isFinite(asOf)) throw new CliError(`--as-of must be an ISO-8601 time, got '${opts.asOf}'`, EXIT.usage);
      const top = Number(opts.top);
      const confidence = Number(opts.confidence);
      if (!Number.isInteger(top) || top < 1 || top > 100) throw new CliError('--top must be a whole number from 1 to 100', EXIT.usage);
      if (!(confidence >= 0.5 && confidence < 1)) throw new CliError('--confidence must be at least 0.5 and below 1', EXIT.usage);
      const maxProfiles = Number(opts.maxProfiles);
      if (!Number.isInteger(maxProfiles) || maxProfiles < 100) throw new CliError('--max-profiles must be a whole number of at least 100', EXIT.usage);
      await withSegmenta(g, async (sg) => {
        const r = await sg.insights.segment(await chooseWorkspace(sg, ws(opts)), key, { top, confidence, maxProfiles, ...(asOf !== undefined ? { asOf } : {}) });
        if (g.json) return printJson(r);
        printInsights(r, opts.all === true);
      });
    });

  seg.command('compute').description('recompute every segment and computed trait of the workspace now').option(...wsOpt)
    .action(async (opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const t0 = performance.now();
        const timer = g.json ? undefined : setInterval(() => process.stderr.write(`\r  computing… ${((performance.now() - t0) / 1000).toFixed(0)} s`), 1000);
        try {
          const r = await sg.segments.compute(await chooseWorkspace(sg, ws(opts)));
          if (timer) process.stderr.write('\r');
          if (g.json) return printJson(r);
          console.log(`${r.profilesEvaluated} profiles, ${r.eventsRead} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          for (const s of r.segments) console.log(`  ${s.key.padEnd(28)} ${String(s.members).padStart(9)} members  +${s.entered} −${s.exited}`);
        } finally {
          if (timer) clearInterval(timer);
        }
      });
    });

  seg.command('overlap <keys>').description('overlap of segments (comma-separated keys): counts and Jaccard').option(...wsOpt)
    .action(async (keys: string, opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const m = await sg.segments.overlap(await chooseWorkspace(sg, ws(opts)), keys.split(',').map((k) => k.trim()).filter(Boolean));
        if (g.json) return printJson(m);
        for (const row of m) console.log(`${row.segment.padEnd(24)} ${row.cells.map((c) => `${String(c.both).padStart(8)} (${c.jaccard.toFixed(2)})`).join(' ')}`);
      });
    });

  seg.command('changes').description('entries and exits since a cursor (the last seq seen)')
    .option('--cursor <n>', 'after this change', '0').option('--segment <key>', 'one segment only').option('--limit <n>', 'how many', '1000').option(...wsOpt)
    .action(async (opts: { cursor: string; segment?: string; limit: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const r = await sg.segments.changes(await chooseWorkspace(sg, ws(opts)), Number(opts.cursor) || 0, Number(opts.limit) || 1000, opts.segment);
        if (g.json) return printJson(r);
        for (const c of r.changes) console.log(`${c.seq}  ${c.at}  ${c.change.padEnd(7)} ${c.segmentKey}  ${c.profileId}  (v${c.version})`);
        console.log(`next cursor: ${r.cursor}`);
      });
    });

  const ct = program.command('computed-traits').description('per-profile values computed from events (counters, sums, last values, …)');
  ct.command('list').description('computed trait definitions').option(...wsOpt)
    .action(async (opts: { workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      await withSegmenta(g, async (sg) => {
        const list = await sg.segments.computedTraits(await chooseWorkspace(sg, ws(opts)));
        if (g.json) return printJson(list);
        for (const c of list) console.log(`${c.key.padEnd(24)} ${c.kind.padEnd(16)} ${c.event}${c.path ? ` ${c.path}` : ''}`);
      });
    });
  ct.command('create').description('define a computed trait (JSON, docs/segments.md) and compute it now')
    .option('--definition <json>', 'e.g. {"key":"orders_90d","kind":"count","event":"Order Completed","window":{"type":"last","amount":90,"unit":"days"}}')
    .option('--file <path>', 'a JSON file with the definition').option(...wsOpt)
    .action(async (opts: { definition?: string; file?: string; workspace?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const def = conditionOf({ ...(opts.definition !== undefined ? { condition: opts.definition } : {}), ...(opts.file !== undefined ? { file: opts.file } : {}) }, true);
      await withSegmenta(g, async (sg) => {
        const c = await sg.segments.createComputedTrait(await chooseWorkspace(sg, ws(opts)), def);
        if (g.json) return printJson(c);
        console.log(`computed trait ${c.key} (${c.kind}) defined and computed`);
      });
    });
}

/**
 * Insights as text: the persona card, then a table (members, base, difference and lift against the
 * base with their intervals, standardized effect); `*` marks distinguishing features. By default the
 * metrics, flags and consent, plus the distinguishing values of the dimensions.
 */
function printInsights(r: SegmentInsightsView, all: boolean): void {
  const pc = Math.round(r.confidence * 100);
  console.log(r.card.text);
  if (r.segment.stale) console.log(`(memberships may be stale: ${r.segment.staleReason})`);
  const sample = r.sample ? `; features from a sample (${percent(r.sample.members)} of members, ${percent(r.sample.rest)} of the rest)` : '';
  console.log(`\nevents up to ${r.asOf}; ${pc} % intervals${sample}; computed in ${Math.round(r.durationMs)} ms\n`);
  const rows = r.features.filter((f) => all || f.value === null || f.feature === 'consent' || f.distinguishing);
  const interval = (lo: number | null, hi: number | null, fmt: (x: number) => string) => (lo === null || hi === null ? '' : `[${fmt(lo)}, ${fmt(hi)}]`);
  const table = rows.map((f) => {
    const fmt = (x: number) => show(x, f.format);
    const diff = f.difference.value === null ? '–' : `${signed(fmt(f.difference.value))} ${interval(f.difference.low, f.difference.high, (x) => signed(fmt(x)))}`;
    const lift = f.ratio.value === null ? '–' : `${f.ratio.value.toFixed(2)}× ${interval(f.ratio.low, f.ratio.high, (x) => x.toFixed(2))}`;
    const effect = f.effect.value === null ? '–' : f.effect.value.toFixed(2);
    return [`${f.distinguishing ? '*' : ' '} ${f.label}`, fmt(f.members.value), fmt(f.base.value), diff, lift, effect];
  });
  const head = ['  feature', 'members', 'base', `difference [${pc} %]`, `lift [${pc} %]`, 'effect'];
  const widths = head.map((h, i) => Math.min(i === 0 ? 52 : 40, Math.max(h.length, ...table.map((row) => (row[i] ?? '').length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.slice(0, widths[i]).padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  for (const row of table) console.log(line(row));
}

function signed(text: string): string {
  return text.startsWith('-') ? text : `+${text}`;
}

/** The name and description options that were given (create and edit). */
function labelsOf(opts: { name?: string; description?: string }): { name?: string; description?: string } {
  return { ...(opts.name ? { name: opts.name } : {}), ...(opts.description ? { description: opts.description } : {}) };
}

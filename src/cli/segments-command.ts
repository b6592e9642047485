/**
 * `segmenta segments …` and `segmenta computed-traits …`: the segment engine from the command line
 * (definitions as JSON, inline or from a file; docs/segments.md).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ExplainNode } from '../services/segments.js';
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

/** The name and description options that were given (create and edit). */
function labelsOf(opts: { name?: string; description?: string }): { name?: string; description?: string } {
  return { ...(opts.name ? { name: opts.name } : {}), ...(opts.description ? { description: opts.description } : {}) };
}

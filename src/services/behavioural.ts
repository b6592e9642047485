/**
 * Runs the behavioural library's models (docs/behavioural.md): features per profile through the segment
 * compiler, the model's pure classification, the outputs written as profile traits (source
 * `model:<id>`, replacing the previous run's), the run in the registry with its summary and the movement
 * since the previous run, the ready segments created where missing, and memberships recomputed.
 */
import { randomUUID } from 'node:crypto';
import { InputError } from '../domain/errors.js';
import { TIMING_BUCKETS } from '../domain/behavioural/model.js';
import { BEHAVIOURAL_MODELS, behaviouralModel, readySegments, transitions, type BehaviouralModel, type Features } from '../domain/behavioural/index.js';
import { NUMERIC_COMPUTED_KINDS } from '../domain/segments/ast.js';
import { compileWorkspace } from '../domain/segments/compile.js';
import { DIALECTS } from '../domain/sql/dialects.js';
import type { ModelRunRecord, ModelTraitRow, StoragePort } from '../ports/storage.js';
import type { SegmentService } from './segments.js';

export type ModelPhase = 'features' | 'classify' | 'write' | 'segments' | 'done';
export interface ModelProgress { phase: ModelPhase; detail?: string }

export interface ModelRunView {
  model: string;
  runId: string;
  asOf: string;
  config: unknown;
  profiles: number;
  durationMs: number;
  summary: Record<string, unknown>;
  /** Ready segments created by this run (existing ones are left as the user edited them). */
  segmentsCreated: string[];
}

export interface MovementView {
  model: string;
  from: string;
  to: string;
  /** matrix[groupAtFrom][groupAtTo] = profiles; "(none)": not classified at that time. */
  matrix: Record<string, Record<string, number>>;
  stayed: number;
  moved: number;
}

export class BehaviouralService {
  constructor(private readonly store: StoragePort, private readonly segments: SegmentService, private readonly clock: () => number = Date.now) {}

  list(): Array<{ id: string; name: string; description: string; traits: Array<{ key: string; description: string }>; groupTrait: string }> {
    return BEHAVIOURAL_MODELS.map((m) => ({ id: m.id, name: m.name, description: m.description, traits: m.traits, groupTrait: m.groupTrait }));
  }

  private model(id: string): BehaviouralModel {
    const m = behaviouralModel(id);
    if (!m) throw new InputError('not_found', `no behavioural model '${id}' (models: ${BEHAVIOURAL_MODELS.map((x) => x.id).join(', ')})`);
    return m;
  }

  private config(m: BehaviouralModel, input: unknown): unknown {
    const r = m.config.safeParse(input ?? {});
    if (!r.success) {
      const issue = r.error.issues[0];
      const where = issue && issue.path.length ? `config.${issue.path.join('.')}` : 'config';
      throw new InputError('model.config', `${m.id} ${where}: ${issue?.message ?? 'invalid'}`);
    }
    return r.data;
  }

  /** The model's features for every active profile, as of a time. */
  private async features(ws: string, m: BehaviouralModel, config: unknown, asOf: number): Promise<Features> {
    const defs = m.features(config, asOf);
    const q = compileWorkspace(DIALECTS[this.store.segments.dialect], {
      workspaceId: ws, now: asOf, segments: [], computed: defs, typedColumns: this.store.segments.typedColumns(),
    });
    const rows = await this.store.segments.query(q);
    const n = rows.length;
    const profileIds = rows.map((r) => String(r['pid']));
    const columns: Record<string, Float64Array> = {};
    const text: Record<string, Array<string | null>> = {};
    for (const c of q.computedColumns) {
      if (NUMERIC_COMPUTED_KINDS.has(c.kind)) columns[c.key] = Float64Array.from(rows, (r) => numeric(r[c.column]));
      else text[c.key] = rows.map((r) => textOf(r[c.column]));
    }
    const index = new Map(profileIds.map((p, i) => [p, i]));
    const traitKeys = m.traitInputs?.(config) ?? [];
    for (const k of traitKeys) {
      columns[`trait:${k}`] = new Float64Array(n).fill(NaN);
      text[`trait:${k}`] = new Array<string | null>(n).fill(null);
    }
    for (const t of await this.store.latestTraitValues(ws, traitKeys)) {
      const i = index.get(t.profileId);
      if (i === undefined) continue; // merged away
      const v = textOf(t.value);
      (text[`trait:${t.key}`] as Array<string | null>)[i] = v;
      (columns[`trait:${t.key}`] as Float64Array)[i] = v === null || v.trim() === '' ? NaN : numeric(v);
    }
    const timing = m.timing?.(config);
    if (timing) {
      for (const b of TIMING_BUCKETS) columns[`timing:${b}`] = new Float64Array(n);
      for (const r of await this.store.eventTiming(ws, timing.event, asOf)) {
        const i = index.get(r.profileId);
        if (i === undefined) continue;
        for (const b of TIMING_BUCKETS) (columns[`timing:${b}`] as Float64Array)[i] = r.counts[b] ?? 0;
      }
    }
    return { profileIds, columns, text };
  }

  /** Classify without writing anything (movement, previews). */
  async classifyAsOf(ws: string, id: string, configInput: unknown, asOf: number): Promise<{ groups: Map<string, string>; summary: Record<string, unknown> }> {
    const m = this.model(id);
    const config = this.config(m, configInput);
    const f = await this.features(ws, m, config, asOf);
    const c = m.classify(f, config, asOf);
    const groups = new Map<string, string>();
    c.traits.forEach((t, i) => {
      const g = t?.[m.groupTrait];
      if (g !== undefined) groups.set(f.profileIds[i] as string, String(g));
    });
    return { groups, summary: c.summary };
  }

  async run(ws: string, id: string, opts: { config?: unknown; asOf?: number; progress?: (p: ModelProgress) => void } = {}): Promise<ModelRunView> {
    const m = this.model(id);
    const config = this.config(m, opts.config);
    const asOf = opts.asOf ?? this.clock();
    const progress = opts.progress ?? (() => undefined);
    const started = this.clock();
    const t0 = performance.now();
    const runId = `${m.id}-${randomUUID()}`;
    const source = `model:${m.id}`;
    try {
      progress({ phase: 'features' });
      const f = await this.features(ws, m, config, asOf);
      progress({ phase: 'classify', detail: `${f.profileIds.length} profiles` });
      const c = m.classify(f, config, asOf);
      const before = new Map<string, string>();
      for (const [pid, json] of await this.store.traitValuesBySource(ws, source, m.groupTrait)) before.set(pid, String(JSON.parse(json)));
      const after = new Map<string, string>();
      const rows: ModelTraitRow[] = [];
      c.traits.forEach((t, i) => {
        if (!t) return;
        const pid = f.profileIds[i] as string;
        for (const [key, value] of Object.entries(t)) rows.push({ profileId: pid, key, value: JSON.stringify(value) });
        const g = t[m.groupTrait];
        if (g !== undefined) after.set(pid, String(g));
        const prev = before.get(pid);
        if (prev !== undefined) rows.push({ profileId: pid, key: m.previousTrait, value: JSON.stringify(prev) });
      });
      progress({ phase: 'write', detail: `${after.size} profiles, ${rows.length} trait values` });
      await this.store.replaceModelTraits(ws, source, rows, asOf, runId);
      const summary: Record<string, unknown> = { ...c.summary };
      const previous = (await this.store.modelRuns(ws, m.id, 1))[0];
      if (previous && previous.error === null) {
        summary['movement'] = { sinceRun: previous.runId, sinceAsOf: new Date(previous.asOf).toISOString(), matrix: transitions(before, after) };
      }
      progress({ phase: 'segments' });
      const ready = [...readySegments(m, m.groups(config)), ...(m.extraSegments?.(config) ?? [])];
      const stray = ready.find((s) => !s.key.startsWith(`${m.id}_`));
      if (stray) throw new Error(`model ${m.id}: ready segment key '${stray.key}' must start with '${m.id}_'`);
      const existing = new Set((await this.segments.list(ws, { includeArchived: true })).map((s) => s.key));
      const missing = ready.filter((s) => !existing.has(s.key));
      // Creating computes once; otherwise the traits changed under existing segments: recompute.
      if (missing.length) await this.segments.createMany(ws, missing);
      else await this.segments.compute(ws);
      const durationMs = performance.now() - t0;
      await this.store.insertModelRun({ workspaceId: ws, model: m.id, runId, asOf, config, summary, profiles: after.size, startedAt: started, durationMs, error: null });
      progress({ phase: 'done' });
      return { model: m.id, runId, asOf: new Date(asOf).toISOString(), config, profiles: after.size, durationMs, summary, segmentsCreated: missing.map((s) => s.key) };
    } catch (err) {
      if (!(err instanceof InputError)) {
        const message = err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err);
        await this.store.insertModelRun({ workspaceId: ws, model: m.id, runId, asOf, config, summary: null, profiles: 0, startedAt: started, durationMs: performance.now() - t0, error: message }).catch(() => undefined);
      }
      throw err;
    }
  }

  /** How profiles moved between the model's groups from one time to another (both classified from events). */
  async movement(ws: string, id: string, from: number, to: number, configInput?: unknown): Promise<MovementView> {
    if (!(from < to)) throw new InputError('bad_request', `movement needs from < to (got ${new Date(from).toISOString()} and ${new Date(to).toISOString()})`);
    const a = await this.classifyAsOf(ws, id, configInput, from);
    const b = await this.classifyAsOf(ws, id, configInput, to);
    const matrix = transitions(a.groups, b.groups);
    let stayed = 0, moved = 0;
    for (const [g, row] of Object.entries(matrix)) for (const [h, n] of Object.entries(row)) (g === h ? stayed += n : moved += n);
    return { model: id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), matrix, stayed, moved };
  }

  async runs(ws: string, id?: string, limit = 20): Promise<Array<Omit<ModelRunRecord, 'asOf' | 'startedAt'> & { asOf: string; startedAt: string }>> {
    if (id !== undefined) this.model(id);
    return (await this.store.modelRuns(ws, id, limit)).map((r) => ({ ...r, asOf: new Date(r.asOf).toISOString(), startedAt: new Date(r.startedAt).toISOString() }));
  }
}

/** A JSON text value as text: strings unquoted, other JSON as written; null when absent. */
function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  if (s.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (typeof parsed === 'string') return parsed;
    } catch { /* not JSON: keep the text */ }
  }
  return s === 'null' ? null : s;
}

function numeric(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

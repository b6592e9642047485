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
import type { ComputedTraitDefinition } from '../domain/segments/ast.js';
import { compileWorkspace } from '../domain/segments/compile.js';
import { DIALECTS } from '../domain/sql/dialects.js';
import { quoteIdent } from '../domain/sql/identifiers.js';
import type { ModelRunRecord, ModelTraitRow, StoragePort } from '../ports/storage.js';
import type { SegmentService } from './segments.js';
import { computedFeatures, rowIndex, textOf, traitFeatures } from './features.js';
import { ipCountry } from './geoip.js';

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
  constructor(private readonly store: StoragePort, private readonly segments: SegmentService, private readonly clock: () => number = Date.now) {
    // The property paths of the models a workspace has run are kept in typed columns like the paths
    // segments read: features over the JSON of every event were most of a run's time.
    segments.setFeatureSource((ws) => this.featuresInUse(ws));
  }

  /** The features of every model run in a workspace (with its last configuration), as of now. */
  async featuresInUse(ws: string): Promise<ComputedTraitDefinition[]> {
    const latest = new Map<string, unknown>();
    for (const r of await this.store.modelRuns(ws, undefined, 1000)) if (r.error === null && !latest.has(r.model)) latest.set(r.model, r.config);
    const now = this.clock();
    return [...latest].flatMap(([id, config]) => {
      const m = behaviouralModel(id);
      const parsed = m?.config.safeParse(config);
      return m && parsed?.success ? m.features(parsed.data, now) : [];
    });
  }

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
    const [f] = await this.featuresOf(ws, [{ m, config }], asOf);
    if (!f) throw new Error('no features');
    return f;
  }

  /**
   * Features of several models from ONE statement of the segment compiler: all their computed traits in
   * one shared scan of the events (keys prefixed per model), then one read of the input traits and one
   * timing scan per distinct event. Running the models one by one scanned the events once per model.
   */
  private async featuresOf(ws: string, parts: Array<{ m: BehaviouralModel; config: unknown }>, asOf: number): Promise<Features[]> {
    const seen = await this.discover(ws, parts, asOf);
    const prefixed = parts.flatMap(({ m, config }, i) => m.features(config, asOf, seen[i]).map((d) => ({ ...d, key: `m${i}__${d.key}` })));
    // (in no particular order: every model's classification is independent of the profiles' order)
    const read = await computedFeatures(this.store, ws, prefixed, asOf, { ordered: false });
    const n = read.profileIds.length;
    const profileIds = read.profileIds;
    const out: Features[] = parts.map(() => ({ profileIds, columns: {}, text: {} }));
    const place = (prefixedKey: string): [Features, string] => {
      const [, i, key] = /^m(\d+)__(.*)$/.exec(prefixedKey) ?? [];
      const f = out[Number(i)];
      if (!f || key === undefined) throw new Error(`feature column ${prefixedKey} of no model`);
      return [f, key];
    };
    for (const [k, col] of Object.entries(read.columns)) {
      const [f, key] = place(k);
      f.columns[key] = col;
    }
    for (const [k, col] of Object.entries(read.text)) {
      const [f, key] = place(k);
      f.text[key] = col;
    }
    parts.forEach(({ m, config }, i) => {
      const f = out[i] as Features;
      for (const key of m.geoip?.(config) ?? []) f.text[`geoip:${key}`] = (f.text[key] ?? []).map((ip) => ipCountry(ip));
    });
    const index = rowIndex(profileIds);
    const traitKeys = [...new Set(parts.flatMap(({ m, config }) => m.traitInputs?.(config) ?? []))];
    const { numbers: traitNum, texts: traitText } = await traitFeatures(this.store, ws, index, traitKeys, await this.segments.modelTraits(ws));
    const timings = new Map<string, Record<string, Float64Array>>();
    for (const ev of new Set(parts.map(({ m, config }) => m.timing?.(config)?.event).filter((e): e is string => e !== undefined))) {
      const cols: Record<string, Float64Array> = Object.fromEntries(TIMING_BUCKETS.map((b) => [b, new Float64Array(n)]));
      const t = await this.store.eventTiming(ws, ev, asOf);
      t.profileIds.forEach((pid, r) => {
        const i = index.get(pid);
        if (i === undefined) return;
        for (const b of TIMING_BUCKETS) (cols[b] as Float64Array)[i] = t.counts[b]?.[r] ?? 0;
      });
      timings.set(ev, cols);
    }
    parts.forEach(({ m, config }, i) => {
      const f = out[i] as Features;
      for (const k of m.traitInputs?.(config) ?? []) {
        f.columns[`trait:${k}`] = traitNum.get(k) as Float64Array;
        f.text[`trait:${k}`] = traitText.get(k) as Array<string | null>;
      }
      const ev = m.timing?.(config)?.event;
      if (ev !== undefined) for (const [b, col] of Object.entries(timings.get(ev) ?? {})) f.columns[`timing:${b}`] = col;
    });
    return out;
  }

  /** Each model's discovered values (BehaviouralModel.discover), from one statement for all models. */
  private async discover(ws: string, parts: Array<{ m: BehaviouralModel; config: unknown }>, asOf: number): Promise<Array<string[] | undefined>> {
    const out = parts.map((): string[] | undefined => undefined);
    const defs = parts.flatMap(({ m, config }, i) => {
      const d = m.discover?.(config);
      return d ? [{ ...d, key: `m${i}__${d.key}` }] : [];
    });
    if (!defs.length) return out;
    const q = compileWorkspace(DIALECTS[this.store.segments.dialect], { workspaceId: ws, now: asOf, segments: [], computed: defs, typedColumns: this.store.segments.typedColumns(), ordered: false });
    // Only the distinct lists are read: a profile's list is one of few (parsing 100k lists took 0.1 s).
    const cols = q.computedColumns.map((c) => quoteIdent(c.column));
    const read = await this.store.segments.queryColumns({ ...q, sql: `SELECT DISTINCT ${cols.join(', ')} FROM (${q.sql}) d` }, new Set());
    for (const c of q.computedColumns) {
      const values = new Set<string>();
      for (const t of read.texts.get(c.column) ?? []) {
        const list = parseList(textOf(t));
        for (const v of list) if (typeof v === 'string' || typeof v === 'number') values.add(String(v));
      }
      out[Number(/^m(\d+)__/.exec(c.key)?.[1])] = [...values].sort();
    }
    return out;
  }

  /** Classify without writing anything (movement, previews). */
  async classifyAsOf(ws: string, id: string, configInput: unknown, asOf: number): Promise<{ groups: Map<string, string>; summary: Record<string, unknown> }> {
    const [r] = await this.classifyMany(ws, [id], { [id]: configInput }, asOf);
    if (!r) throw new Error('no classification');
    const groups = new Map<string, string>();
    r.groups.forEach((g, j) => { if (g !== undefined) groups.set(r.profileIds[j] as string, g); });
    return { groups, summary: r.summary };
  }

  /**
   * Classify several models (all: `ids` empty) from one shared feature scan, without writing anything:
   * per model, each profile's group (undefined: none) beside the profile ids, in no particular order.
   * (Columns, not a map per model: at 1M profiles ten maps were ~2 s and much of the garbage.)
   */
  async classifyMany(ws: string, ids: string[], configs: Record<string, unknown>, asOf: number): Promise<Array<{ model: string; profileIds: readonly string[]; groups: Array<string | undefined>; summary: Record<string, unknown> }>> {
    const parts = this.parts(ids, configs);
    const features = await this.featuresOf(ws, parts, asOf);
    return parts.map(({ m, config }, i) => {
      const f = features[i] as Features;
      const c = m.classify(f, config, asOf);
      const groups = new Array<string | undefined>(f.profileIds.length);
      for (let j = 0; j < groups.length; j++) {
        const g = c.traits[j]?.[m.groupTrait];
        groups[j] = g === undefined ? undefined : String(g);
      }
      return { model: m.id, profileIds: f.profileIds, groups, summary: c.summary };
    });
  }

  /** The models to run (all when `ids` is empty) with their parsed configurations. */
  private parts(ids: string[], configs: Record<string, unknown> | undefined): Array<{ m: BehaviouralModel; config: unknown }> {
    const models = (ids.length ? ids : BEHAVIOURAL_MODELS.map((m) => m.id)).map((id) => this.model(id));
    const dup = models.find((m, i) => models.findIndex((x) => x.id === m.id) !== i);
    if (dup) throw new InputError('bad_request', `model '${dup.id}' named twice`);
    for (const key of Object.keys(configs ?? {})) {
      if (!models.some((m) => m.id === key)) throw new InputError('model.config', `a configuration for '${key}', which is not among the models run (${models.map((m) => m.id).join(', ')})`);
    }
    return models.map((m) => ({ m, config: this.config(m, configs?.[m.id]) }));
  }

  async run(ws: string, id: string, opts: { config?: unknown; asOf?: number; progress?: (p: ModelProgress) => void } = {}): Promise<ModelRunView> {
    const [view] = await this.runMany(ws, [id], { configs: { [id]: opts.config }, ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}), ...(opts.progress ? { progress: opts.progress } : {}) });
    if (!view) throw new Error('no run');
    return view;
  }

  /**
   * Run several models together (all of them: `ids` empty): their features in one shared scan, each
   * model's traits written under its own source, one recomputation of the segments at the end.
   */
  async runMany(ws: string, ids: string[], opts: { configs?: Record<string, unknown>; asOf?: number; progress?: (p: ModelProgress) => void } = {}): Promise<ModelRunView[]> {
    // Runs of one workspace go one after the other: two at once would each read the other's half-written
    // previous groups and record movement against the wrong run.
    const before = this.runsInFlight.get(ws) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => this.runManyNow(ws, ids, opts));
    const tail = mine.catch(() => undefined);
    this.runsInFlight.set(ws, tail);
    void tail.then(() => { if (this.runsInFlight.get(ws) === tail) this.runsInFlight.delete(ws); });
    return mine;
  }

  private readonly runsInFlight = new Map<string, Promise<unknown>>();

  private async runManyNow(ws: string, ids: string[], opts: { configs?: Record<string, unknown>; asOf?: number; progress?: (p: ModelProgress) => void }): Promise<ModelRunView[]> {
    const parts = this.parts(ids, opts.configs);
    const models = parts.map(({ m }) => m);
    const asOf = opts.asOf ?? this.clock();
    const progress = opts.progress ?? (() => undefined);
    const started = this.clock();
    const t0 = performance.now();
    const runIds = parts.map(({ m }) => `${m.id}-${randomUUID()}`);
    const names = models.map((m) => m.id).join(', ');
    try {
      progress({ phase: 'features', detail: names });
      const features = await this.featuresOf(ws, parts, asOf);
      const results: Array<{ summary: Record<string, unknown>; profiles: number }> = [];
      for (const [i, { m, config }] of parts.entries()) {
        const f = features[i] as Features;
        const runId = runIds[i] as string;
        progress({ phase: 'classify', detail: `${m.id}: ${f.profileIds.length} profiles` });
        const c = m.classify(f, config, asOf);
        // The previous run's groups, decoded in place (JSON text → the group's name).
        const before = await this.store.modelTraitValues(ws, m.id, m.groupTrait);
        for (const [pid, json] of before) before.set(pid, String(JSON.parse(json)));
        const after = new Map<string, string>();
        const rows: ModelTraitRow[] = [];
        let values = 0;
        c.traits.forEach((t, j) => {
          if (!t) return;
          const pid = f.profileIds[j] as string;
          const g = t[m.groupTrait];
          if (g !== undefined) after.set(pid, String(g));
          const prev = before.get(pid);
          // (in place: the object is this classification's own; a copy per profile was ~1M objects a model)
          if (prev !== undefined) t[m.previousTrait] = prev;
          values += Object.keys(t).length;
          rows.push({ profileId: pid, traits: t });
        });
        progress({ phase: 'write', detail: `${m.id}: ${after.size} profiles, ${values} trait values` });
        await this.store.replaceModelTraits(ws, m.id, rows, asOf, runId);
        // Counts per group from the assignment itself, in the model's group order, under one key that
        // every reader (CLI, demo, API) uses whatever else the model's summary holds.
        const groupCounts: Record<string, number> = Object.fromEntries(m.groups(config).map((g) => [g, 0]));
        for (const g of after.values()) groupCounts[g] = (groupCounts[g] ?? 0) + 1;
        const summary: Record<string, unknown> = { ...c.summary, groupCounts };
        const previous = (await this.store.modelRuns(ws, m.id, 1))[0];
        if (previous && previous.error === null) {
          summary['movement'] = { sinceRun: previous.runId, sinceAsOf: new Date(previous.asOf).toISOString(), matrix: transitions(before, after) };
        }
        results.push({ summary, profiles: after.size });
      }
      // The model rows just written hold DuckDB memory until a checkpoint writes them out: at 1M profiles
      // under a 3 GB limit, the next feature statement ran out of memory without one, and fit with one.
      // (Under the write lock, as the writes were: ~4 s at 1M profiles × 10 models.)
      await this.store.checkpoint();
      progress({ phase: 'segments' });
      const ready = parts.flatMap(({ m, config }) => {
        const list = [...readySegments(m, m.groups(config)), ...(m.extraSegments?.(config) ?? [])];
        const stray = list.find((x) => !x.key.startsWith(`${m.id}_`));
        if (stray) throw new Error(`model ${m.id}: ready segment key '${stray.key}' must start with '${m.id}_'`);
        return list;
      });
      const existing = new Set((await this.segments.list(ws, { includeArchived: true })).map((x) => x.key));
      const missing = ready.filter((x) => !existing.has(x.key));
      // Creating computes once; otherwise the traits changed under existing segments: recompute.
      if (missing.length) await this.segments.createMany(ws, missing);
      else await this.segments.compute(ws);
      const durationMs = performance.now() - t0;
      const views: ModelRunView[] = [];
      for (const [i, { m, config }] of parts.entries()) {
        const r = results[i] as { summary: Record<string, unknown>; profiles: number };
        const runId = runIds[i] as string;
        await this.store.insertModelRun({ workspaceId: ws, model: m.id, runId, asOf, config, summary: r.summary, profiles: r.profiles, startedAt: started, durationMs, error: null });
        views.push({ model: m.id, runId, asOf: new Date(asOf).toISOString(), config, profiles: r.profiles, durationMs, summary: r.summary, segmentsCreated: missing.filter((x) => x.key.startsWith(`${m.id}_`)).map((x) => x.key) });
      }
      // New paths (a model's first run, or another configuration) get typed columns in the background.
      void this.segments.ensureTypedColumns().catch(() => undefined);
      progress({ phase: 'done' });
      return views;
    } catch (err) {
      if (!(err instanceof InputError)) {
        const message = err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err);
        for (const [i, { m, config }] of parts.entries()) {
          await this.store.insertModelRun({ workspaceId: ws, model: m.id, runId: runIds[i] as string, asOf, config, summary: null, profiles: 0, startedAt: started, durationMs: performance.now() - t0, error: message }).catch(() => undefined);
        }
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

/** A JSON array's elements (a unique_list value); none when absent or not a list. */
function parseList(json: string | null): unknown[] {
  if (json === null) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}



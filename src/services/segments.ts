/**
 * Segments and computed traits of a workspace: definitions with versions, computation (full and
 * incremental, always all of a workspace's definitions in one shared statement), memberships with
 * history, size estimates, overlap, sizes over time, the small-segment guard, and explain.
 */
import { InputError } from '../domain/errors.js';
import { modelTraitKeys } from '../domain/behavioural/index.js';
import {
  ComputedTraitSchema, ConditionSchema, NUMERIC_COMPUTED_KINDS, SEGMENT_KEY, type ComputedTraitDefinition, type Condition, type Diagnostic,
} from '../domain/segments/ast.js';
import { DefinitionError, checkReferences, schemaDiagnostics } from '../domain/segments/check.js';
import {
  classifyWorkspace, compileExplain, compileWorkspace, computedStateColumn, membershipStateColumn, propertyColumn, propertyPaths, type CompileInput, type PropertyPath,
} from '../domain/segments/compile.js';
import { describe, describeValue } from '../domain/segments/describe.js';
import { instantDecidable, instantEventNames } from '../domain/segments/instant.js';
import type { EvalEvent } from '../domain/segments/reference.js';
import { DIALECTS } from '../domain/sql/dialects.js';
import type { DefinitionVersion, EvaluationOutcome, MembershipChange, RunRecord, StateInfo, TypedColumnsProgress } from '../ports/segments.js';
import type { StoragePort } from '../ports/storage.js';
import { InstantLane, type InstantPlan } from './instant-lane.js';
import { LatencyWindow } from './latency-window.js';

export interface SegmentView {
  key: string;
  name: string;
  description: string | null;
  version: number;
  status: 'active' | 'archived';
  condition: Condition;
  members: number;
  lastComputed: { at: string; durationMs: number; rowsRead: number; mode: string; entered: number | null; exited: number | null } | null;
  error: string | null;
  /** True when the memberships do not reflect the current definition and recent data. */
  stale: boolean;
  staleReason: string | null;
}

export interface ExplainNode { label: string; holds: boolean; value?: string; children?: ExplainNode[] }
export interface ExplainView {
  segment: string;
  version: number;
  profileId: string;
  at: string;
  /** Whether the condition holds now. */
  holds: boolean;
  /** Whether the stored membership says so (differs only until the next computation). */
  member: boolean;
  tree: ExplainNode;
}

export interface EstimateView {
  profiles: number;
  /** The exact size when computed, else the sampled estimate. */
  size: number;
  exact: boolean;
  sample: { sampled: number; inSample: number; size: number; low: number; high: number; durationMs: number } | null;
  exactResult: { size: number; durationMs: number } | null;
  diagnostics: Diagnostic[];
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * 95 % interval of a proportion from m equal-size clusters (blocks of ids): the ratio estimate ± t(m−1)
 * · the standard error from the spread of the cluster proportions, never narrower than Wilson's.
 */
export function clusterInterval(blocks: Array<{ size: number; profiles: number }>): [number, number] {
  const k = blocks.reduce((a, b) => a + b.size, 0);
  const n = blocks.reduce((a, b) => a + b.profiles, 0);
  const m = blocks.filter((b) => b.profiles > 0).length;
  if (n === 0 || m < 2) return wilson(k, n);
  const p = k / n;
  const ps = blocks.filter((b) => b.profiles > 0).map((b) => b.size / b.profiles);
  const s2 = ps.reduce((a, x) => a + (x - p) ** 2, 0) / (m - 1);
  const T = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262][m - 2] ?? 1.96;
  const half = T * Math.sqrt(s2 / m);
  const [wl, wh] = wilson(k, n);
  return [Math.max(0, Math.min(wl, p - half)), Math.min(1, Math.max(wh, p + half))];
}

/** 95 % Wilson score interval of a proportion k / n. */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959964;
  const p = k / n;
  const den = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / den;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface NewSegment {
  key: string;
  name?: string;
  description?: string;
  condition: unknown;
}

export interface SegmentsConfig {
  /** Memberships older than this (no successful run since) are flagged stale. */
  staleAfterMs: number;
  /** Full recomputation period (expiring windows without new events). */
  refreshMs: number;
  /** The guard: segments smaller than this get a warning. */
  minSize: number;
  /** Profiles in the sample of a sampled size estimate (sampling starts above 2.5 × this). */
  sampleSize: number;
  /**
   * Slow lane: at least this long between the end of one history run and the start of the next, so
   * that on a large workspace the history scans leave CPU to the fast lane (slow definitions then lag
   * by up to this plus a run). 0: back to back.
   */
  slowIntervalMs: number;
  /**
   * Slow lane: after a history run, pause at least this many times its duration before the next
   * (the lane then takes at most 1 / (1 + ratio) of the time its runs need). History runs of a large
   * workspace scan every event and compete with the fast lane for the cores (DuckDB has no query
   * priorities); on a small one they take milliseconds and so do the pauses. 0: no such pause.
   */
  slowPauseRatio: number;
  /**
   * Fast lane: after a run, pause this many times its duration before the next (touched profiles
   * gather meanwhile and go in one run). At 1M profiles a fast run plans on both cores for seconds and
   * slows the ingest commits beside it; the instant lane does not wait for it. 0: back to back.
   */
  fastPauseRatio: number;
  /**
   * Fast lane: at most this many profiles per run (the oldest waiting first). A run's apply holds the
   * write lock that instant decisions wait for, and at 1M profiles it takes ~0.1 ms per profile under
   * load, so bounded runs bound that wait.
   */
  fastBatchMax: number;
  /**
   * Typed property columns: at most this many property / context paths that definitions read are kept
   * typed beside the JSON (added and back-filled in the background). 0: never (read the JSON).
   */
  typedColumnsMax: number;
}

export const DEFAULT_SEGMENTS_CONFIG: SegmentsConfig = { staleAfterMs: 5 * 60_000, refreshMs: 60_000, minSize: 100, sampleSize: 20_000, slowIntervalMs: 0, slowPauseRatio: 1, fastPauseRatio: 0, fastBatchMax: 2_000, typedColumnsMax: 64 };


/** Add profile ids to a workspace's set in a per-workspace map. */
function addAll(map: Map<string, Set<string>>, ws: string, pids: Iterable<string>): void {
  const set = map.get(ws) ?? new Set<string>();
  for (const p of pids) set.add(p);
  map.set(ws, set);
}

function fail(diags: Diagnostic[]): never {
  throw new DefinitionError(diags);
}

/** Options of one computation (see plan / drain). */
export interface ComputeOptions {
  profileIds?: string[] | undefined;
  now?: number | undefined;
  lane?: 'fast' | 'slow' | 'full' | undefined;
  /** Slow lane: every definition (profiles whose state is invalid or not built). */
  all?: boolean | undefined;
  stateInfo?: StateInfo | undefined;
}

/** Trait keys the behavioural models write (read from model_traits by the compiler). */
const MODEL_TRAITS: ReadonlyMap<string, string> = modelTraitKeys();

export class SegmentService {
  private readonly running = new Map<string, Promise<unknown>>();
  /** Profiles waiting for an incremental run, and workspaces waiting for a full one, per workspace. */
  private readonly pendingProfiles = new Map<string, Set<string>>();
  /** Profiles waiting for the slow lane: 'slow' = the definitions state cannot keep, 'all' = every definition. */
  private readonly pendingSlow = new Map<string, Map<string, 'slow' | 'all'>>();
  private readonly runningSlow = new Map<string, Promise<unknown>>();
  private readonly lastSlowEnd = new Map<string, number>();
  /** How long the last history run of a workspace took (the pause after it scales with it). */
  private readonly lastSlowMs = new Map<string, number>();
  /** Merged profiles whose state must be invalidated before their next run. */
  private readonly pendingInvalid = new Map<string, Set<string>>();
  /** Workspaces whose state table was built by a full run of this process (until then: no fast lane). */
  private readonly stateReady = new Set<string>();
  private readonly pendingFull = new Set<string>();
  /** Workspaces whose waiting full run a history run has gone before (the next turn is the full run's). */
  private readonly fullPassed = new Set<string>();
  /** When the last full run of a workspace ended and how long it took (the refresh adapts to it). */
  private readonly lastFull = new Map<string, { endedAt: number; ms: number }>();
  /** Workspaces whose full run (of the slow lane's loop) is under way. */
  private readonly fullRunning = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  /** Latency of the last incremental runs (ms from commit to membership written), for metrics and benches. */
  readonly metrics = {
    incrementalRuns: 0, fullRuns: 0, fastRuns: 0, slowRuns: 0, fastEventsRead: 0, lastIncrementalMs: 0, failures: 0,
    instantRuns: 0, instantDecisions: 0, instantEntered: 0, instantExited: 0, instantSkipped: 0, instantFailures: 0, lastInstantMs: 0,
  };
  /**
   * Durations of the recent runs, for quantiles (/metrics, benchmarks): the instant lane's commit → write
   * delay and its wait for the write lock; fast runs whole, their wait for the lock and their apply
   * under it (what an instant write may wait for).
   */
  readonly latency: { instantDelay: LatencyWindow; instantLockWait: LatencyWindow; fastRun: LatencyWindow; fastLockWait: LatencyWindow; fastApply: LatencyWindow };
  /** Entries and exits proven by new events alone, written right after their commit (instant-lane.ts). */
  private readonly instant: InstantLane;
  /** Bumped whenever a definition is saved: the instant plans of workspaces are cached until then. */
  private definitionsChanged = 0;
  private readonly instantPlans = new Map<string, { at: number; plan: InstantPlan }>();

  constructor(private readonly store: StoragePort, readonly config: SegmentsConfig = DEFAULT_SEGMENTS_CONFIG, private readonly clock: () => number = Date.now) {
    this.instant = new InstantLane(store, clock, {
      plan: (ws) => this.instantPlan(ws),
      ready: (ws) => this.stateReady.has(ws),
      invalid: (ws) => this.pendingInvalid.get(ws),
      changed: (ws) => { for (const l of this.changeListeners) l(ws); },
    }, this.metrics);
    this.latency = { instantDelay: this.instant.delay, instantLockWait: this.instant.lockWait, fastRun: new LatencyWindow(), fastLockWait: new LatencyWindow(), fastApply: new LatencyWindow() };
  }

  /**
   * The segments of a workspace that new events can settle on their own and that the state keeps (their
   * memberships are mirrored in the state rows, which the instant lane reads and writes).
   */
  private async instantPlan(ws: string): Promise<InstantPlan> {
    const cached = this.instantPlans.get(ws);
    if (cached && cached.at === this.definitionsChanged) return cached.plan;
    const at = this.definitionsChanged;
    const { segments, computed } = await this.definitionsOf(ws);
    const cls = classifyWorkspace(DIALECTS[this.store.segments.dialect], { workspaceId: ws, now: this.clock(), segments, computed });
    const all = new Map(segments.map((s) => [s.key, s.condition]));
    const plan: InstantPlan = {
      all,
      segments: segments.filter((s) => cls.segments.get(s.key) && instantDecidable(s.condition, all)).map((s) => {
        const names = instantEventNames(s.condition, all);
        return { key: s.key, version: s.version, condition: s.condition, stateColumn: membershipStateColumn(s.key, s.version), names: names.has('*') ? null : names };
      }),
    };
    this.instantPlans.set(ws, { at, plan });
    return plan;
  }

  private async saveDefinition(v: DefinitionVersion): Promise<void> {
    await this.store.segments.insertDefinition(v);
    this.definitionsChanged++;
  }

  // ---- definitions -------------------------------------------------------------------------------

  private async versions(ws: string, kind: 'segment' | 'computed_trait'): Promise<Map<string, DefinitionVersion[]>> {
    const out = new Map<string, DefinitionVersion[]>();
    for (const v of await this.store.segments.definitions(ws, kind)) {
      const list = out.get(v.key) ?? [];
      list.push(v);
      out.set(v.key, list);
    }
    return out;
  }

  private async current(ws: string, kind: 'segment' | 'computed_trait'): Promise<DefinitionVersion[]> {
    return [...(await this.versions(ws, kind)).values()].map((l) => l[l.length - 1] as DefinitionVersion);
  }

  /** Validate a condition against the schema and the workspace (known segments and traits, no cycles). */
  async check(ws: string, condition: unknown, selfKey?: string): Promise<{ condition?: Condition; diagnostics: Diagnostic[] }> {
    const parsed = ConditionSchema.safeParse(condition);
    if (!parsed.success) return { diagnostics: schemaDiagnostics(parsed.error) };
    const segs = await this.current(ws, 'segment');
    const comps = await this.current(ws, 'computed_trait');
    const defs = new Map(segs.filter((s) => s.status === 'active').map((s) => [s.key, JSON.parse(s.definition) as Condition]));
    const diagnostics = checkReferences(parsed.data, { segments: defs, computed: new Set(comps.filter((c) => c.status === 'active').map((c) => c.key)), selfKey });
    if (this.conditionGuard && !diagnostics.some((d) => d.severity === 'error')) diagnostics.push(...await this.conditionGuard(ws, parsed.data, selfKey));
    return diagnostics.some((d) => d.severity === 'error') ? { diagnostics } : { condition: parsed.data, diagnostics };
  }

  async create(ws: string, input: NewSegment): Promise<SegmentView> {
    const existing = (await this.versions(ws, 'segment')).get(input.key);
    if (existing) throw new InputError('segment.exists', `segment '${input.key}' exists already (version ${existing.length}); edit it instead`);
    await this.insertNew(ws, input);
    await this.computeNow(ws);
    return this.get(ws, input.key);
  }

  /** Check a new segment against the workspace and store it as version 1 (not computed yet). */
  private async insertNew(ws: string, input: NewSegment): Promise<void> {
    if (!SEGMENT_KEY.test(input.key)) throw new InputError('segment.key', `segment key '${input.key}' must be lower-case letters, digits and _, starting with a letter (at most 63)`);
    const { condition, diagnostics } = await this.check(ws, input.condition, input.key);
    if (!condition) fail(diagnostics);
    await this.saveDefinition({
      workspaceId: ws, kind: 'segment', key: input.key, version: 1, name: input.name ?? input.key, description: input.description ?? null,
      definition: JSON.stringify(condition), status: 'active', createdAt: this.clock(),
    });
  }

  /**
   * Create several segments and compute once (not once per segment): each is checked against the
   * workspace and the ones before it, so later ones may refer to earlier ones. Existing keys are skipped.
   */
  async createMany(ws: string, inputs: NewSegment[]): Promise<SegmentView[]> {
    const existing = await this.versions(ws, 'segment');
    const created: string[] = [];
    for (const input of inputs) {
      if (existing.has(input.key)) continue;
      await this.insertNew(ws, input);
      created.push(input.key);
    }
    if (created.length) await this.computeNow(ws);
    const all = await this.list(ws);
    return all.filter((s) => inputs.some((i) => i.key === s.key));
  }

  async update(ws: string, key: string, input: { name?: string; description?: string; condition?: unknown }): Promise<SegmentView> {
    const list = (await this.versions(ws, 'segment')).get(key);
    const last = list?.[list.length - 1];
    if (!last) throw new InputError('not_found', `no segment '${key}'`);
    let definition = last.definition;
    if (input.condition !== undefined) {
      const { condition, diagnostics } = await this.check(ws, input.condition, key);
      if (!condition) fail(diagnostics);
      definition = JSON.stringify(condition);
    }
    await this.saveDefinition({
      ...last, version: last.version + 1, name: input.name ?? last.name, description: input.description ?? last.description,
      definition, status: 'active', createdAt: this.clock(),
    });
    await this.computeNow(ws);
    return this.get(ws, key);
  }

  async archive(ws: string, key: string): Promise<SegmentView> {
    const list = (await this.versions(ws, 'segment')).get(key);
    const last = list?.[list.length - 1];
    if (!last) throw new InputError('not_found', `no segment '${key}'`);
    const users = (await this.current(ws, 'segment')).filter((s) => s.status === 'active' && s.key !== key && s.definition.includes(`"segment":${JSON.stringify(key)}`));
    if (users.length) throw new InputError('segment.in_use', `segment '${key}' is used by ${users.map((u) => `'${u.key}'`).join(', ')}; change those first`);
    await this.saveDefinition({ ...last, version: last.version + 1, status: 'archived', createdAt: this.clock() });
    await this.computeNow(ws);
    return this.get(ws, key);
  }

  async history(ws: string, key: string): Promise<Array<{ version: number; name: string; status: string; condition: Condition; createdAt: string }>> {
    const list = (await this.versions(ws, 'segment')).get(key);
    if (!list) throw new InputError('not_found', `no segment '${key}'`);
    return list.map((v) => ({ version: v.version, name: v.name, status: v.status, condition: JSON.parse(v.definition) as Condition, createdAt: new Date(v.createdAt).toISOString() }));
  }

  async list(ws: string, opts: { includeArchived?: boolean } = {}): Promise<SegmentView[]> {
    const [segs, counts, runs] = await Promise.all([this.current(ws, 'segment'), this.store.segments.memberCounts(ws), this.store.segments.lastRuns(ws)]);
    const runByKey = new Map(runs.filter((r) => r.kind === 'segment').map((r) => [r.key, r]));
    return segs.filter((s) => opts.includeArchived || s.status === 'active').map((s) => this.view(s, counts.get(s.key) ?? 0, runByKey.get(s.key)));
  }

  async get(ws: string, key: string): Promise<SegmentView> {
    const found = (await this.list(ws, { includeArchived: true })).find((s) => s.key === key);
    if (!found) throw new InputError('not_found', `no segment '${key}'`);
    return found;
  }

  private view(s: DefinitionVersion, members: number, run: RunRecord | undefined): SegmentView {
    let staleReason: string | null = null;
    if (s.status === 'active') {
      if (!run) staleReason = 'never computed';
      else if (run.error) staleReason = `last computation failed: ${run.error}`;
      else if (run.version !== s.version) staleReason = `memberships are of version ${run.version}, the definition is version ${s.version}`;
      else if (this.clock() - run.startedAt > this.config.staleAfterMs) staleReason = `last computed ${Math.round((this.clock() - run.startedAt) / 1000)} s ago`;
    }
    return {
      key: s.key, name: s.name, description: s.description, version: s.version, status: s.status, condition: JSON.parse(s.definition) as Condition,
      members: s.status === 'active' ? members : 0,
      lastComputed: run ? { at: new Date(run.startedAt).toISOString(), durationMs: run.durationMs, rowsRead: run.rowsRead, mode: run.mode, entered: run.entered, exited: run.exited } : null,
      error: run?.error ?? null, stale: staleReason !== null, staleReason,
    };
  }

  // ---- computed traits ---------------------------------------------------------------------------

  async createComputedTrait(ws: string, input: unknown): Promise<ComputedTraitDefinition> {
    const parsed = ComputedTraitSchema.safeParse(input);
    if (!parsed.success) fail(schemaDiagnostics(parsed.error));
    const def = parsed.data as ComputedTraitDefinition;
    if (def.kind !== 'count' && def.kind !== 'days_since_last' && def.kind !== 'days_since_first' && !def.path) {
      throw new InputError('computed.path', `a '${def.kind}' computed trait needs a path (e.g. properties.revenue)`);
    }
    if ((def.kind === 'first' || def.kind === 'last' || def.kind === 'most_frequent') && def.path?.startsWith('products.')) {
      throw new InputError('computed.path', `a '${def.kind}' computed trait reads one value per event: use a properties. or context. path (for line items use unique_list or unique_count)`);
    }
    const existing = (await this.versions(ws, 'computed_trait')).get(def.key);
    const last = existing?.[existing.length - 1];
    await this.saveDefinition({
      workspaceId: ws, kind: 'computed_trait', key: def.key, version: (last?.version ?? 0) + 1, name: def.key, description: null,
      definition: JSON.stringify(def), status: 'active', createdAt: this.clock(),
    });
    await this.computeNow(ws);
    return def;
  }

  async computedTraits(ws: string): Promise<ComputedTraitDefinition[]> {
    return (await this.current(ws, 'computed_trait')).filter((c) => c.status === 'active').map((c) => JSON.parse(c.definition) as ComputedTraitDefinition);
  }

  // ---- computation -------------------------------------------------------------------------------

  private async definitionsOf(ws: string) {
    const all = await this.current(ws, 'segment');
    const segs = all.filter((s) => s.status === 'active');
    const archived = all.filter((s) => s.status === 'archived').map((s) => ({ key: s.key, version: s.version }));
    const computed = await this.computedTraits(ws);
    const segments = segs.map((s) => ({ key: s.key, version: s.version, condition: JSON.parse(s.definition) as Condition }));
    return { segments, computed, archived };
  }

  /**
   * The definitions evaluated by a run: all of them, or (incremental lanes) only those the lane keeps:
   * 'fast' = state can keep them and the state table has their columns; 'slow' = the others.
   */
  private async plan(ws: string, now: number, opts: ComputeOptions) {
    const defs = await this.definitionsOf(ws);
    let { segments, computed } = defs;
    const d = DIALECTS[this.store.segments.dialect];
    const lane = opts.lane === 'fast' ? 'fast' : opts.lane === 'slow' && !opts.all ? 'slow' : null;
    const cls = classifyWorkspace(d, { workspaceId: ws, now, segments, computed });
    // Every segment's memberships are mirrored in a state column: fast runs read those of the segments
    // state keeps; a full run diffs all of them row-wise against the state (prepareDiff). The slow lane
    // keeps the columns of its segments equal to the memberships it writes.
    const stateColumns = new Map(segments.map((s) => [s.key, membershipStateColumn(s.key, s.version)]));
    // and computed traits state can keep their last written values
    const computedColumns = new Map(computed.filter((c) => cls.computed.get(c.key)).map((c) => [c.key, computedStateColumn(c)]));
    if (lane) {
      // kept in state (every column it needs, and a segment's membership column, is in the state
      // table) → fast lane; the others → slow
      const columns = opts.stateInfo?.columns ?? new Set<string>();
      const kept = (needs: string[] | null | undefined, own?: string) => (needs?.every((n) => columns.has(n)) ?? false) && (own === undefined || columns.has(own));
      segments = segments.filter((s) => kept(cls.segments.get(s.key), stateColumns.get(s.key) ?? '') === (lane === 'fast'));
      computed = computed.filter((c) => kept(cls.computed.get(c.key), computedColumns.get(c.key) ?? '') === (lane === 'fast'));
    }
    const info = opts.stateInfo;
    const state: CompileInput['state'] = opts.lane === 'fast' && info ? { mode: 'read', table: info.table, minHwm: info.minHwm, defaultHwm: info.builtSeq }
      : !opts.profileIds && opts.lane !== 'fast' && opts.lane !== 'slow' ? { mode: 'emit' } : undefined;
    // Segments referenced by the evaluated ones are inlined from the full list.
    const references = defs.segments.map((x) => ({ key: x.key, condition: x.condition }));
    const q = compileWorkspace(d, {
      workspaceId: ws, now, segments, computed, profileIds: opts.profileIds, references, state, typedColumns: this.store.segments.typedColumns(), modelTraits: await this.modelTraits(ws),
      // (a run for a list of profiles reads its few rows once, materialized: the shares do not matter)
      eventShares: opts.profileIds ? undefined : await this.store.segments.eventShares(ws),
    });
    return { q, segments, computed, stateColumns, computedColumns, archived: opts.profileIds ? [] : defs.archived };
  }

  /**
   * Recompute every segment and computed trait of a workspace (or only the given profiles) in one
   * statement, and record entries, exits and a run per definition. Errors are recorded, then thrown.
   */
  async compute(ws: string, opts: ComputeOptions = {}): Promise<EvaluationOutcome> {
    const now = opts.now ?? this.clock();
    const started = performance.now();
    const mode = opts.profileIds ? 'incremental' : 'full';
    const { q, segments, computed, stateColumns, computedColumns, archived } = await this.plan(ws, now, opts);
    const runs = (o: EvaluationOutcome | undefined, error: string | null): RunRecord[] => [
      ...segments.map((s) => {
        const r = o?.segments.find((x) => x.key === s.key);
        return {
          workspaceId: ws, kind: 'segment' as const, key: s.key, version: s.version, mode, startedAt: now, durationMs: performance.now() - started,
          rowsRead: o?.eventsRead ?? 0, members: r?.members ?? null, entered: r?.entered ?? null, exited: r?.exited ?? null, error,
        };
      }),
      ...computed.map((c) => ({
        workspaceId: ws, kind: 'computed_trait' as const, key: c.key, version: 0, mode, startedAt: now, durationMs: performance.now() - started,
        rowsRead: o?.eventsRead ?? 0, members: null, entered: null, exited: null, error,
      })),
    ] as RunRecord[];
    if (segments.length === 0 && computed.length === 0 && archived.length === 0) return { profilesEvaluated: 0, eventsRead: 0, segments: [] };
    let outcome: EvaluationOutcome;
    try {
      outcome = await this.store.segments.evaluate(q, {
        workspaceId: ws, now, profileIds: opts.profileIds,
        segments: q.segmentColumns.map((c) => ({ key: c.key, column: c.column, version: segments.find((s) => s.key === c.key)?.version ?? 0, stateColumn: stateColumns.get(c.key) })),
        computed: q.computedColumns.map((c) => ({ key: c.key, column: c.column, numeric: NUMERIC_COMPUTED_KINDS.has(c.kind), stateColumn: computedColumns.get(c.key) })),
        archived,
        lane: opts.lane ?? 'full',
        state: q.stateColumns ? { mode: opts.lane === 'fast' ? 'update' : 'build', columns: q.stateColumns } : undefined,
      });
      if (!opts.profileIds && q.stateColumns) this.stateReady.add(ws);
    } catch (err) {
      this.metrics.failures++;
      await this.store.segments.insertRuns(runs(undefined, err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err)));
      throw err;
    }
    if (mode === 'full') this.metrics.fullRuns++;
    else this.metrics.incrementalRuns++;
    if (opts.lane === 'fast') {
      this.metrics.fastRuns++;
      this.metrics.fastEventsRead += outcome.eventsRead;
      if (outcome.lockWaitMs !== undefined) this.latency.fastLockWait.add(outcome.lockWaitMs);
      if (outcome.applyMs !== undefined) this.latency.fastApply.add(outcome.applyMs);
    }
    if (opts.lane === 'slow') this.metrics.slowRuns++;
    await this.store.segments.insertRuns(runs(outcome, null));
    if (outcome.segments.some((x) => x.entered > 0 || x.exited > 0) || archived.length > 0) for (const l of this.changeListeners) l(ws);
    return outcome;
  }

  private readonly changeListeners: Array<(ws: string) => void> = [];
  /** Called after a computation that recorded entries or exits (webhook delivery). */
  onChanges(listener: (ws: string) => void): void {
    this.changeListeners.push(listener);
  }

  /** Compute now, one run per workspace at a time (later requests join the queue). */
  private async computeNow(ws: string): Promise<void> {
    this.pendingFull.add(ws);
    // definitions changed: their property paths may be new (typed in the background; runs read the
    // JSON until a path is ready)
    void this.ensureTypedColumns().catch(() => undefined);
    await this.drainSlow(ws);
  }

  private typedWork: Promise<number> = Promise.resolve(0);
  private readonly typedStop = new AbortController();

  /**
   * Keep the property and context paths that active definitions of every workspace read in typed
   * columns (docs/segments.md, "Typed property columns"): adds new paths and back-fills older events.
   * One at a time; resolves with the number of paths added.
   */
  private featureSource: ((ws: string) => Promise<ComputedTraitDefinition[]>) | undefined;
  /**
   * Other readers of event properties whose paths are worth typed columns too: the behavioural models a
   * workspace runs (their features are computed traits over the same events).
   */
  setFeatureSource(source: (ws: string) => Promise<ComputedTraitDefinition[]>): void {
    this.featureSource = source;
  }

  private conditionGuard: ((ws: string, condition: Condition, selfKey: string | undefined) => Promise<Diagnostic[]>) | undefined;
  /**
   * An extra check of every saved definition (segments marked "no protected attributes" refuse protected
   * traits, directly or through the segments they refer to).
   */
  setConditionGuard(guard: (ws: string, condition: Condition, selfKey: string | undefined) => Promise<Diagnostic[]>): void {
    this.conditionGuard = guard;
  }

  private modelTraitSource: ((ws: string) => Promise<ReadonlyMap<string, string>>) | undefined;
  /**
   * Trait keys that statistical models of a workspace write (key → the model_traits model id): unlike the
   * behavioural library's fixed keys, they depend on the models a workspace has fitted.
   */
  setModelTraitSource(source: (ws: string) => Promise<ReadonlyMap<string, string>>): void {
    this.modelTraitSource = source;
  }

  /** Every model-written trait key of a workspace → its model id in model_traits. */
  async modelTraits(ws: string): Promise<ReadonlyMap<string, string>> {
    const more = await this.modelTraitSource?.(ws);
    return more?.size ? new Map([...MODEL_TRAITS, ...more]) : MODEL_TRAITS;
  }

  ensureTypedColumns(progress?: (p: TypedColumnsProgress) => void): Promise<number> {
    const run = async (): Promise<number> => {
      if (this.config.typedColumnsMax <= 0 || this.typedStop.signal.aborted) return 0;
      const d = DIALECTS[this.store.segments.dialect];
      const paths = new Map<string, PropertyPath>();
      for (const w of await this.store.listWorkspaces()) {
        const { segments, computed } = await this.definitionsOf(w.id);
        const more = await this.featureSource?.(w.id).catch(() => []) ?? [];
        for (const p of propertyPaths(d, { workspaceId: w.id, now: this.clock(), segments, computed: [...computed, ...more] })) paths.set(propertyColumn(p), p);
      }
      return this.store.segments.ensureTypedColumns([...paths.values()], { max: this.config.typedColumnsMax, signal: this.typedStop.signal, ...(progress ? { progress } : {}) });
    };
    this.typedWork = this.typedWork.catch(() => 0).then(run);
    return this.typedWork;
  }

  /**
   * Queue profiles touched by an ingest commit; recomputed as soon as the previous run is done. `events`
   * (the commit's new events by workspace and profile) go to the instant lane first.
   */
  touch(touched: Map<string, Set<string>>, merged?: Map<string, Set<string>>, events?: ReadonlyMap<string, ReadonlyMap<string, EvalEvent[]>>): void {
    for (const [ws, pids] of merged ?? []) addAll(this.pendingInvalid, ws, pids);
    if (events) {
      // merged profiles' events were re-pointed: their state is about to be invalid
      const fresh = new Map<string, Map<string, EvalEvent[]>>();
      for (const [ws, byProfile] of events) {
        const m = merged?.get(ws);
        fresh.set(ws, new Map([...byProfile].filter(([pid]) => !m?.has(pid))));
      }
      this.instant.offer(fresh);
    }
    for (const [ws, pids] of touched) {
      addAll(this.pendingProfiles, ws, pids);
      void this.drainWorkspace(ws).catch(() => undefined);
    }
  }

  private hasWork(ws: string): boolean {
    return this.pendingProfiles.has(ws);
  }

  private hasSlowWork(ws: string): boolean {
    return this.pendingSlow.has(ws) || this.pendingFull.has(ws);
  }

  /**
   * One job per workspace drains its queue. Touched profiles go first (fresh data is what users wait
   * for); a waiting full run comes after them.
   */
  private drainWorkspace(ws: string): Promise<unknown> {
    const running = this.running.get(ws);
    if (running) return running.then(() => (this.hasWork(ws) ? this.drainWorkspace(ws) : undefined));
    // The body starts after the job is registered (a body that finished synchronously used to leave a
    // settled job registered, and later calls chained on it in a loop of microtasks).
    const job = Promise.resolve().then(async () => {
      try {
        for (let profiles = this.pendingProfiles.get(ws); profiles; profiles = this.pendingProfiles.get(ws)) {
          const t0 = performance.now();
          const take: string[] = [];
          for (const p of profiles) {
            if (take.length >= this.config.fastBatchMax) break;
            take.push(p);
          }
          if (take.length === profiles.size) this.pendingProfiles.delete(ws);
          else for (const p of take) profiles.delete(p);
          await this.fastRun(ws, take);
          const ms = performance.now() - t0;
          this.metrics.lastIncrementalMs = ms;
          this.latency.fastRun.add(ms);
          if (this.config.fastPauseRatio > 0 && this.pendingProfiles.has(ws)) await new Promise((r) => setTimeout(r, this.config.fastPauseRatio * ms));
        }
      } finally {
        this.running.delete(ws);
      }
    });
    this.running.set(ws, job);
    return job;
  }

  /**
   * Touched profiles, fast lane: definitions kept in state are evaluated from each profile's state row
   * plus its new events (cost: the new events, not the history); the rest, and profiles whose state is
   * invalid, are queued for the slow lane.
   */
  private async fastRun(ws: string, pids: string[]): Promise<void> {
    const invalid = this.pendingInvalid.get(ws);
    if (invalid) {
      this.pendingInvalid.delete(ws);
      await this.store.segments.invalidateState(ws, [...invalid]);
    }
    const info = this.stateReady.has(ws) ? await this.store.segments.stateInfo(ws, pids) : null;
    // Collected here and queued at the end: an empty queue entry visible while the fast run awaits
    // was taken by the slow lane as a batch with nothing in it, and what was added later was lost.
    const slow = new Map<string, 'slow' | 'all'>();
    if (!info) {
      for (const p of pids) slow.set(p, 'all');
    } else {
      const valid = pids.filter((p) => !info.invalid.has(p));
      for (const p of info.invalid) slow.set(p, 'all');
      if (valid.length) {
        try {
          await this.compute(ws, { profileIds: valid, lane: 'fast', stateInfo: info });
        } catch {
          // recorded on the runs; the profiles still get evaluated, from their history
          for (const p of valid) slow.set(p, 'all');
        }
      }
      // the slow lane takes the definitions state cannot keep (a run with none of them does nothing)
      for (const p of valid) if (slow.get(p) !== 'all') slow.set(p, 'slow');
    }
    if (slow.size === 0) return;
    const queued = this.pendingSlow.get(ws) ?? new Map<string, 'slow' | 'all'>();
    for (const [p, k] of slow) if (queued.get(p) !== 'all') queued.set(p, k);
    this.pendingSlow.set(ws, queued);
    void this.drainSlow(ws).catch(() => undefined);
  }

  /**
   * The slow lane of a workspace, one run at a time: touched profiles' other definitions from their
   * history, then a waiting full run (whose long part runs beside the fast lane; see the store).
   */
  private drainSlow(ws: string): Promise<unknown> {
    const running = this.runningSlow.get(ws);
    if (running) return running.then(() => (this.hasSlowWork(ws) ? this.drainSlow(ws) : undefined));
    const job = Promise.resolve().then(async () => { // registered before it runs (see drainWorkspace)
      try {
        while (this.hasSlowWork(ws)) {
          const batch = this.pendingSlow.get(ws);
          // A waiting full run goes before the touched profiles' history runs once one has passed it, and
          // at once while this process has no state yet (no fast lane before it). Under steady ingest a
          // new batch is always waiting when a history run ends: batches first starved the full run,
          // so after a restart the fast lane never started and expiring windows never expired.
          const fullFirst = this.pendingFull.has(ws) && (!this.stateReady.has(ws) || this.fullPassed.has(ws));
          if (!batch || fullFirst) {
            const t0 = performance.now();
            this.fullPassed.delete(ws);
            this.pendingFull.delete(ws);
            this.fullRunning.add(ws);
            try {
              await this.compute(ws);
            } finally {
              this.fullRunning.delete(ws);
            }
            this.lastFull.set(ws, { endedAt: this.clock(), ms: performance.now() - t0 });
            continue;
          }
          // (the first history run of a workspace also waits one interval: it batches what comes meanwhile)
          if (!this.lastSlowEnd.has(ws)) this.lastSlowEnd.set(ws, performance.now());
          const wait = (this.lastSlowEnd.get(ws) ?? 0) + Math.max(this.config.slowIntervalMs, this.config.slowPauseRatio * (this.lastSlowMs.get(ws) ?? 0)) - performance.now();
          if (wait > 0) {
            await new Promise((r) => setTimeout(r, wait));
            continue; // more profiles may have come meanwhile: take them in the same run
          }
          this.pendingSlow.delete(ws);
          if (this.pendingFull.has(ws)) this.fullPassed.add(ws);
          const all = [...batch].filter(([, k]) => k === 'all').map(([p]) => p);
          const some = [...batch].filter(([, k]) => k === 'slow').map(([p]) => p);
          const info = some.length ? await this.store.segments.stateInfo(ws, []) : null;
          const started = performance.now();
          try {
            if (all.length) await this.compute(ws, { profileIds: all, lane: 'slow', all: true });
            if (some.length) await this.compute(ws, { profileIds: some, lane: 'slow', stateInfo: info ?? undefined });
          } finally {
            this.lastSlowEnd.set(ws, performance.now());
            this.lastSlowMs.set(ws, performance.now() - started);
          }
        }
      } finally {
        this.runningSlow.delete(ws);
      }
    });
    this.runningSlow.set(ws, job);
    return job;
  }

  /** Wait until queued recomputations are done (tests, shutdown). */
  async idle(): Promise<void> {
    await this.instant.idle();
    while (this.running.size > 0 || this.runningSlow.size > 0) await Promise.allSettled([...this.running.values(), ...this.runningSlow.values()]);
  }

  /** Periodic full recomputation of every workspace with definitions: windows expire without events. */
  startRefresh(workspaces: () => Promise<string[]>): void {
    if (this.timer) return;
    // A full run is due refreshMs after the last one ended, and never sooner than four times its
    // duration, so that on a large workspace full runs do not follow each other back to back.
    const tick = Math.max(1000, Math.min(this.config.refreshMs, 10_000));
    this.timer = setInterval(() => {
      void workspaces().then((list) => {
        for (const ws of list) {
          // (not while one runs: measured from the end of the one before, it was due again at once, and
          // under load full runs came in pairs, back to back)
          if (this.fullRunning.has(ws)) continue;
          const last = this.lastFull.get(ws);
          if (last && this.clock() - last.endedAt < Math.max(this.config.refreshMs, 4 * last.ms)) continue;
          // (no last run in this process: due now, since windows may have expired while it was down)
          this.pendingFull.add(ws);
          void this.drainSlow(ws).catch(() => undefined);
        }
      });
    }, tick);
    this.timer.unref();
  }

  stopRefresh(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stop background work that can resume later (a typed-column back-fill stops between chunks). */
  async stopBackground(): Promise<void> {
    this.stopRefresh();
    this.typedStop.abort();
    await this.typedWork.catch(() => undefined);
  }

  /**
   * Why a profile is (not) in a segment: the condition tree with each node's value and whether it
   * holds now, computed by the same compiler as the memberships, beside the stored membership.
   */
  async explain(ws: string, key: string, ref: string, resolve: (ref: string) => Promise<string | undefined>): Promise<ExplainView> {
    const seg = await this.get(ws, key);
    const profileId = await resolve(ref);
    if (!profileId) throw new InputError('not_found', `no profile for '${ref}'`);
    const segs = (await this.current(ws, 'segment')).filter((s) => s.status === 'active').map((s) => ({ key: s.key, condition: JSON.parse(s.definition) as Condition }));
    const now = this.clock();
    const { query, nodes } = compileExplain(DIALECTS[this.store.segments.dialect], {
      workspaceId: ws, now, condition: seg.condition, profileId, references: segs, computed: await this.computedTraits(ws), typedColumns: this.store.segments.typedColumns(), modelTraits: await this.modelTraits(ws),
    });
    const row = (await this.store.segments.query(query))[0];
    if (!row) throw new InputError('not_found', `profile '${ref}' is not an active profile of this workspace (merged into another?)`);
    const build = (i: number): ExplainNode => {
      const n = nodes[i] as (typeof nodes)[number];
      const children: ExplainNode[] = [];
      for (let j = i + 1; j < nodes.length && (nodes[j] as (typeof nodes)[number]).depth > n.depth; j++) {
        if ((nodes[j] as (typeof nodes)[number]).depth === n.depth + 1) children.push(build(j));
      }
      const holds = row[`s_${i}`] === true;
      const value = describeValue(n.condition, row[`v_${i}`]);
      return { label: describe(n.condition), holds, ...(value !== undefined ? { value } : {}), ...(children.length ? { children } : {}) };
    };
    const tree = build(0);
    const member = await this.store.segments.isMember(ws, key, profileId);
    return { segment: key, version: seg.version, profileId, at: new Date(now).toISOString(), holds: tree.holds, member, tree };
  }

  // ---- reading -----------------------------------------------------------------------------------

  /**
   * Size of an unsaved definition. Large workspaces first get a sampled estimate: a contiguous range
   * of profile ids (ids are random, so the range is a uniform sample, and events sorted by profile let
   * the engine read only that range) with a 95 % Wilson interval scaled to the workspace; then the
   * exact count. `mode` chooses one or both.
   */
  async estimate(ws: string, condition: unknown, mode: 'sample' | 'exact' | 'both' = 'both'): Promise<EstimateView> {
    const checked = await this.check(ws, condition);
    if (!checked.condition) fail(checked.diagnostics);
    const segs = (await this.current(ws, 'segment')).filter((s) => s.status === 'active').map((s) => ({ key: s.key, condition: JSON.parse(s.definition) as Condition }));
    const computed = await this.computedTraits(ws);
    const now = this.clock();
    const count = async (ranges?: Array<{ from: string; to: string }>) => {
      const q = compileWorkspace(DIALECTS[this.store.segments.dialect], {
        workspaceId: ws, now, segments: [{ key: '__estimate', condition: checked.condition as Condition }], references: segs, computed, output: 'counts', profileRanges: ranges,
        typedColumns: this.store.segments.typedColumns(), modelTraits: await this.modelTraits(ws),
      });
      const r = (await this.store.segments.query(q))[0] ?? {};
      return { size: Number(r['s_0'] ?? 0), profiles: Number(r['profiles'] ?? 0) };
    };
    const total = await this.store.segments.profileCount(ws);
    const out: EstimateView = { profiles: total, size: 0, exact: false, sample: null, exactResult: null, diagnostics: checked.diagnostics };
    if (mode !== 'exact' && total > this.config.sampleSize * 2.5) {
      const t0 = performance.now();
      // Stratified: one contiguous block of ids in each of 8 equal strata of the id order, so an id space
      // that is not uniform (ids of another shape, a block created at once) is still represented in
      // proportion; blocks keep the read cheap (events are sorted by profile). Deterministic per draft.
      const strata = 8;
      const width = Math.floor(total / strata);
      const block = Math.floor(this.config.sampleSize / strata);
      const seed = fnv1a(JSON.stringify(checked.condition));
      const offsets: number[] = [];
      for (let i = 0; i < strata; i++) {
        const start = i * width + (Math.imul(seed ^ (i * 0x9e3779b9), 0x85ebca6b) >>> 0) % Math.max(1, width - block);
        offsets.push(start, start + block);
      }
      const ids = await this.store.segments.profileIdsAt(ws, offsets);
      // Blocks are clusters, not independent draws: the interval comes from the spread between the
      // eight blocks (t with 7 degrees of freedom), which stays honest when ids correlate with behaviour.
      const blocks: Array<{ size: number; profiles: number }> = [];
      for (let i = 0; i < strata; i++) blocks.push(await count([{ from: ids[2 * i] ?? '', to: ids[2 * i + 1] ?? '' }]));
      const k = blocks.reduce((a, b) => a + b.size, 0);
      const n = blocks.reduce((a, b) => a + b.profiles, 0);
      const [lo, hi] = clusterInterval(blocks);
      out.sample = { sampled: n, inSample: k, size: Math.round((k / Math.max(n, 1)) * total), low: Math.floor(lo * total), high: Math.ceil(hi * total), durationMs: performance.now() - t0 };
      out.size = out.sample.size;
    }
    if (mode !== 'sample' || out.sample === null) {
      const t0 = performance.now();
      const r = await count();
      out.exactResult = { size: r.size, durationMs: performance.now() - t0 };
      out.size = r.size;
      out.exact = true;
    }
    return out;
  }

  async members(ws: string, key: string, limit = 100, offset = 0) {
    await this.get(ws, key);
    return this.store.segments.members(ws, key, Math.min(Math.max(limit, 1), 10_000), Math.max(offset, 0));
  }

  async changes(ws: string, cursor: number, limit = 1000, key?: string): Promise<{ changes: Array<Omit<MembershipChange, 'at'> & { at: string }>; cursor: number }> {
    const list = await this.store.segments.changesSince(ws, cursor, Math.min(Math.max(limit, 1), 10_000), key);
    return { changes: list.map((c) => ({ ...c, at: new Date(c.at).toISOString() })), cursor: list.length ? (list[list.length - 1] as MembershipChange).seq : cursor };
  }

  async overlap(ws: string, keys: string[]) {
    for (const k of keys) await this.get(ws, k);
    const pairs = await this.store.segments.overlap(ws, keys);
    const size = new Map(keys.map((k) => [k, pairs.find((p) => p.a === k && p.b === k)?.both ?? 0]));
    return keys.map((a) => ({
      segment: a,
      cells: keys.map((b) => {
        const both = pairs.find((p) => p.a === a && p.b === b)?.both ?? 0;
        const union = (size.get(a) ?? 0) + (size.get(b) ?? 0) - both;
        return { segment: b, both, jaccard: union > 0 ? both / union : 0 };
      }),
    }));
  }

  async sizes(ws: string, key: string) {
    await this.get(ws, key);
    return this.store.segments.sizes(ws, key);
  }

  /**
   * The guard: warns when a segment is below the configured minimum, or too small for an experiment
   * to detect `lift` (relative) on a `baseline` conversion rate with a `holdout` share, at α = 0.05
   * (two-sided) and power 0.8: MDE = (z₀.₉₇₅ + z₀.₈) · √(p(1−p)(1/n_t + 1/n_c)) / p.
   */
  async guard(ws: string, key: string, opts: { baseline?: number; lift?: number; holdout?: number } = {}) {
    const s = await this.get(ws, key);
    const p = opts.baseline ?? 0.05;
    const lift = opts.lift ?? 0.1;
    const h = opts.holdout ?? 0.1;
    const nc = s.members * h;
    const nt = s.members - nc;
    const mde = nt > 0 && nc > 0 ? ((1.959964 + 0.841621) * Math.sqrt(p * (1 - p) * (1 / nt + 1 / nc))) / p : Infinity;
    const warnings: string[] = [];
    if (s.members < this.config.minSize) warnings.push(`${s.members} members, below the minimum of ${this.config.minSize}`);
    if (mde > lift) warnings.push(`with a ${Math.round(h * 100)} % holdout the smallest detectable relative lift is ${Number.isFinite(mde) ? `${(mde * 100).toFixed(1)} %` : 'undefined'}, above the ${(lift * 100).toFixed(1)} % you want to detect`);
    return { segment: key, members: s.members, minSize: this.config.minSize, baseline: p, holdout: h, minimumDetectableLift: Number.isFinite(mde) ? mde : null, ok: warnings.length === 0, warnings };
  }
}

/**
 * The segment storage port: definitions with versions, evaluation of a compiled workspace plan into
 * memberships (entries and exits recorded as history), computed trait values, runs and sizes.
 * The engine applies a plan inside the database (no membership rows cross into the process).
 */
import type { CompiledQuery, EventShare, PropertyPath, StateColumn } from '../domain/segments/compile.js';

/** Progress of adding typed property columns: registering, back-filling older events (rows of the table), done. */
export interface TypedColumnsProgress { phase: 'add' | 'fill' | 'done'; paths: number; rowsDone: number; rowsTotal: number }

/** `max`: paths kept typed in all; `signal`: stop a back-fill between chunks (the next call finishes it). */
export interface TypedColumnsOptions { max: number; chunkRows?: number; progress?: (p: TypedColumnsProgress) => void; signal?: AbortSignal }

export type DefinitionKind = 'segment' | 'computed_trait';

export interface DefinitionVersion {
  workspaceId: string;
  kind: DefinitionKind;
  key: string;
  version: number;
  name: string;
  description: string | null;
  /** JSON text of the definition (a condition, or a computed trait definition). */
  definition: string;
  status: 'active' | 'archived';
  createdAt: number;
}

export interface EvaluationTarget {
  workspaceId: string;
  now: number;
  /** Only these profiles were evaluated (incremental); memberships of others are left alone. */
  profileIds?: string[] | undefined;
  /**
   * `stateColumn` (membershipStateColumn): the state-table column that mirrors this segment's
   * memberships, for segments state can keep. Every apply that writes a segment's memberships writes
   * that column too where the state table has it, so a fast run reads the current memberships of its
   * profiles from their state rows.
   */
  segments: Array<{ key: string; version: number; column: string; stateColumn?: string | undefined }>;
  /**
   * `stateColumn` (computedStateColumn): the state-table column that mirrors this trait's written value,
   * for traits state can keep; every apply that writes the trait's values writes it too where the state
   * table has it, so a fast run writes only the values that changed.
   */
  computed: Array<{ key: string; column: string; numeric: boolean; stateColumn?: string | undefined }>;
  /** Archived segments whose remaining members exit now. */
  archived?: Array<{ key: string; version: number }> | undefined;
  /**
   * Which lane runs it. 'fast': evaluation from incremental state (touched profiles, definitions whose
   * aggregates merge); 'slow': the other definitions for touched profiles, from their whole history,
   * concurrently with the fast lane (they apply disjoint segments); 'full' (default): everything,
   * exclusive of both lanes.
   */
  lane?: 'fast' | 'slow' | 'full' | undefined;
  /** 'build': replace the state table from the plan's state columns (full runs); 'update': write back the evaluated profiles' rows (fast runs). */
  state?: { mode: 'build' | 'update'; columns: StateColumn[] } | undefined;
}

/** A workspace's incremental state: its table, columns, the seq it was built up to, and the asked profiles' marks. */
export interface StateInfo {
  table: string;
  columns: Set<string>;
  builtSeq: number;
  /** The lowest high-water mark among the asked profiles (builtSeq when none has a row). */
  minHwm: number;
  /** Asked profiles whose state is invalid (merged, or with events dated after the state was built). */
  invalid: Set<string>;
}

export interface EvaluationOutcome {
  profilesEvaluated: number;
  eventsRead: number;
  /** members: the size after a full run; null after an incremental one (only entries and exits are known). */
  segments: Array<{ key: string; members: number | null; entered: number; exited: number }>;
  /** Fast runs: how long the apply waited for the write lock, and how long it held it (ms). */
  lockWaitMs?: number;
  applyMs?: number;
}

export interface RunRecord {
  workspaceId: string;
  kind: DefinitionKind;
  key: string;
  version: number;
  mode: 'full' | 'incremental' | 'estimate';
  startedAt: number;
  durationMs: number;
  rowsRead: number;
  members: number | null;
  entered: number | null;
  exited: number | null;
  error: string | null;
}

export interface MembershipChange {
  seq: number;
  segmentKey: string;
  profileId: string;
  change: 'entered' | 'exited';
  at: number;
  version: number;
}

export interface InstantDecision {
  profileId: string;
  segmentKey: string;
  version: number;
  /** membershipStateColumn of the segment's version. */
  stateColumn: string;
  member: boolean;
}

export interface InstantOutcome {
  entered: number;
  exited: number;
  /** Decisions not applied: the profile's state row is invalid, or the state table lacks the column. */
  skipped: number;
  /** How long the write waited for the write lock (ms). */
  waitMs?: number;
}

export interface SegmentStorage extends WebhookStorage {
  readonly dialect: 'duckdb' | 'clickhouse';
  insertDefinition(v: DefinitionVersion): Promise<void>;
  /** Every version of every definition of a kind (oldest first). */
  definitions(workspaceId: string, kind: DefinitionKind): Promise<DefinitionVersion[]>;
  /** Run a compiled plan and apply it: memberships, history, computed values, today's sizes. */
  evaluate(q: CompiledQuery, target: EvaluationTarget): Promise<EvaluationOutcome>;
  /** The incremental state of a workspace, null when none was built. */
  stateInfo(workspaceId: string, profileIds: string[]): Promise<StateInfo | null>;
  /** Mark profiles' state invalid (their events were re-pointed by a merge): they take the slow lane until the next full run. */
  invalidateState(workspaceId: string, profileIds: string[]): Promise<void>;
  /**
   * Instant decisions (docs/segments.md, "Instant decisions"): a profile is now a member (or not) of a
   * segment the state lanes keep, proven by its new events alone. Applied where the state table mirrors
   * the segment and the profile's row is valid (a profile without one is newer than the state: it gets an
   * empty row); an entry or exit is written (memberships, history, the state row's membership column)
   * only where the decision differs from the mirror.
   */
  applyInstant(workspaceId: string, decisions: InstantDecision[], now: number): Promise<InstantOutcome>;
  /** Run a compiled plan and read its rows (estimates and one-profile checks). */
  query(q: CompiledQuery): Promise<Array<Record<string, unknown>>>;
  /**
   * Run a compiled plan and read it column-wise, chunk by chunk: the `numeric` columns as numbers (NaN
   * for NULL), the others as text. For results of a row per profile and many columns (model features:
   * 1M profiles × 200 columns as row objects did not fit a 4 GB heap).
   */
  queryColumns(q: CompiledQuery, numeric: ReadonlySet<string>): Promise<{ rows: number; numbers: Map<string, Float64Array>; texts: Map<string, Array<string | null>> }>;
  /** Base names of the property paths whose typed columns are filled for every event (CompileInput.typedColumns). */
  typedColumns(): ReadonlySet<string>;
  /**
   * Keep these paths in typed columns (up to `max` paths in all): add what is new and back-fill older
   * events, reporting progress. Returns how many paths were added. Engines without them return 0.
   */
  ensureTypedColumns(paths: PropertyPath[], opts: TypedColumnsOptions): Promise<number>;
  /** The runs of one computation (same workspace, mode, time, duration, rows read and error). */
  insertRuns(runs: RunRecord[]): Promise<void>;
  lastRuns(workspaceId: string): Promise<RunRecord[]>;
  members(workspaceId: string, key: string, limit: number, offset: number): Promise<Array<{ profileId: string; enteredAt: number; version: number }>>;
  memberCounts(workspaceId: string): Promise<Map<string, number>>;
  isMember(workspaceId: string, key: string, profileId: string): Promise<boolean>;
  profileSegments(workspaceId: string, profileId: string): Promise<Array<{ key: string; enteredAt: number }>>;
  changesSince(workspaceId: string, cursor: number, limit: number, key?: string): Promise<MembershipChange[]>;
  profileHistory(workspaceId: string, profileId: string): Promise<MembershipChange[]>;
  overlap(workspaceId: string, keys: string[]): Promise<Array<{ a: string; b: string; both: number }>>;
  sizes(workspaceId: string, key: string): Promise<Array<{ day: string; members: number }>>;
  computedValues(workspaceId: string, profileId: string): Promise<Array<{ key: string; value: unknown; computedAt: number }>>;
  profileCount(workspaceId: string): Promise<number>;
  /** Each event kind's share of a workspace's events, estimated from a sample (CompileInput.eventShares; may be minutes old). */
  eventShares(workspaceId: string): Promise<readonly EventShare[]>;
  /** Active profile ids at these offsets of the id order (bounds of a sampled range). */
  profileIdsAt(workspaceId: string, offsets: number[]): Promise<string[]>;
}

export interface WebhookRecord {
  workspaceId: string;
  id: string;
  url: string;
  secret: string;
  /** Only changes of these segments; null = all. */
  segments: string[] | null;
  createdAt: number;
  deletedAt: number | null;
  /** Last change seq delivered (acknowledged with 2xx). */
  cursor: number;
  /** The seq range being delivered (kept across retries so the idempotency key stays the same). */
  pendingTo: number | null;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  delivered: number;
}

export interface WebhookStorage {
  insertWebhook(w: WebhookRecord): Promise<void>;
  webhooks(workspaceId?: string): Promise<WebhookRecord[]>;
  updateWebhook(w: WebhookRecord): Promise<void>;
  /** The last change seq of a workspace (a new subscription starts after it). */
  lastChangeSeq(workspaceId: string): Promise<number>;
  /** Changes with cursor < seq <= upTo (of the given segments), oldest first. */
  changesBetween(workspaceId: string, cursor: number, upTo: number | null, limit: number, segments: string[] | null): Promise<MembershipChange[]>;
}

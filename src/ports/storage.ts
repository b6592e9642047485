/**
 * The storage port: everything services need from a database, in domain terms. The embedded DuckDB
 * engine implements it; a ClickHouse + PostgreSQL engine implements the same interface later, without
 * touching services. Nothing here names a driver, a table layout or SQL.
 */
import type { SegmentStorage } from './segments.js';
import type { EventRow } from '../domain/normalize.js';
import type { InsightQuery, InsightStats } from '../domain/insights/features.js';

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: number;
}

export type CredentialKind = 'write_key' | 'token';
export type Role = 'admin' | 'editor' | 'viewer';

export interface CredentialRecord {
  /** SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  kind: CredentialKind;
  workspaceId: string;
  role: Role | null;
  label: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface IdentityRecord {
  workspaceId: string;
  type: string;
  value: string;
  profileId: string;
  firstSeen: number;
  source: string;
}

export interface ProfileRecord {
  workspaceId: string;
  profileId: string;
  createdAt: number;
}

export interface MergeRecord {
  workspaceId: string;
  /** The profile that disappears: its events, identities and traits move to `to`. */
  from: string;
  to: string;
  reason: string;
  messageId: string;
  at: number;
}

export interface TraitUpdate {
  workspaceId: string;
  /** 'profile' or 'group'. */
  entityType: 'profile' | 'group';
  entityId: string;
  key: string;
  /** JSON text of the value. */
  value: string;
  source: string;
  messageId: string;
  at: number;
}

export interface IdentityDrop {
  workspaceId: string;
  messageId: string;
  type: string;
  value: string;
  reason: string;
  at: number;
}

/**
 * An event serialised by the engine ahead of its commit (`StoragePort.prepareEvent`), so that the
 * costly encoding happens while the previous commit is being written; the profile id is bound late,
 * when identity resolution has run in arrival order.
 */
export interface PreparedEvent {
  readonly payload: string;
  readonly messageId: string;
}

export interface CommitEvent {
  workspaceId: string;
  profileId: string;
  prepared: PreparedEvent;
}

/** One group commit: written in one transaction, durable when `commitIngest` resolves. */
export interface IngestCommit {
  events: CommitEvent[];
  profiles: ProfileRecord[];
  identities: IdentityRecord[];
  merges: MergeRecord[];
  traits: TraitUpdate[];
  drops: IdentityDrop[];
}

export interface TraitValue {
  key: string;
  value: unknown;
  source: string;
  updatedAt: number;
  messageId: string;
}

/** The traits one model run gives one profile. */
export interface ModelTraitRow { profileId: string; traits: Record<string, string | number> }

/** A model run in the registry (behavioural models; statistical models later). */
export interface ModelRunRecord {
  workspaceId: string;
  model: string;
  runId: string;
  /** The time the run describes (features as of then). */
  asOf: number;
  config: unknown;
  summary: unknown;
  /** Profiles the run wrote traits for. */
  profiles: number;
  startedAt: number;
  durationMs: number;
  error: string | null;
}

/** A statistical model fit in the registry (docs/models.md). */
export interface MlModelRecord {
  workspaceId: string;
  name: string;
  version: number;
  kind: string;
  config: unknown;
  /** What it was trained on: windows, rows, positives, dates. */
  training: unknown;
  /** The fitted parameters, enough to score again (centres and pipeline, BTYD parameters, trees). */
  artifact: unknown;
  metrics: unknown;
  /** The output trait keys it writes. */
  traits: string[];
  startedAt: number;
  durationMs: number;
  error: string | null;
}

/** Per profile, its purchases as a buy-till-you-die summary needs them (whole UTC days). */
export interface PurchaseSummaryRow {
  profileId: string;
  /** Epoch ms of the first purchase. */
  first: number;
  /** Epoch ms of the last purchase up to the calibration end. */
  last: number;
  /** Distinct purchase days up to the calibration end (the first included). */
  days: number;
  /** Revenue up to the calibration end, and of the first purchase day alone. */
  revenue: number;
  firstDayRevenue: number;
  /** Distinct purchase days after the calibration end, up to asOf (holdout); 0 without a holdout. */
  holdoutDays: number;
}

export interface StoredEvent {
  messageId: string;
  type: string;
  event: string | null;
  name: string | null;
  timestamp: number;
  receivedAt: number;
  source: string;
  revenue: number | null;
  properties: unknown;
}

export interface EventCount {
  type: string;
  event: string | null;
  count: number;
  first: number;
  last: number;
}

export interface EventTotal {
  type: string;
  event: string | null;
  count: number;
  profiles: number;
  revenue: number;
}

export interface WorkspaceStats {
  events: number;
  profiles: number;
  identities: number;
  merges: number;
  firstEvent: number | null;
  lastEvent: number | null;
}

export interface StoragePort {
  readonly engine: string;
  /** Segments, computed traits, memberships and their history. */
  readonly segments: SegmentStorage;
  /** Apply pending schema migrations; returns the versions applied now. */
  migrate(): Promise<number[]>;
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
  /** Checkpoint when the write-ahead log has grown past the engine's threshold without one. */
  checkpointIfNeeded(): Promise<'small' | 'done' | 'busy'>;
  /**
   * Checkpoint now, whatever the log's size (after a bulk write: written but not checkpointed rows hold
   * engine memory); 'busy' when another write transaction is open.
   */
  checkpoint(): Promise<'done' | 'busy'>;
  walHealth(): { walBytes: number; checkpoints: number; checkpointsBusy: number };

  insertWorkspace(ws: WorkspaceRecord): Promise<void>;
  getWorkspace(id: string): Promise<WorkspaceRecord | undefined>;
  listWorkspaces(): Promise<WorkspaceRecord[]>;
  insertCredential(c: CredentialRecord): Promise<void>;
  findCredential(hash: string): Promise<CredentialRecord | undefined>;
  listCredentials(workspaceId: string): Promise<CredentialRecord[]>;
  /** Mark revoked the workspace's credentials whose hash starts with `hashPrefix`; returns how many. */
  revokeCredentials(workspaceId: string, hashPrefix: string, at: number): Promise<number>;

  /** Encode an event for a later `commitIngest` (its `profileId` is ignored: the commit binds it). */
  prepareEvent(row: EventRow): PreparedEvent;
  commitIngest(commit: IngestCommit): Promise<void>;
  /** Message ids received since a time, for the deduplication window after a restart. */
  messageIdsSince(since: number): Promise<Array<{ workspaceId: string; messageId: string; receivedAt: number }>>;
  /** Which of these message ids a workspace has stored already (for imports beyond the window). */
  existingMessageIds(workspaceId: string, ids: string[]): Promise<Set<string>>;
  /** The whole identity graph, in pages, to rebuild the in-memory index at start. */
  scanIdentities(onPage: (rows: IdentityRecord[]) => void): Promise<void>;

  profileExists(workspaceId: string, profileId: string): Promise<boolean>;
  /** The profile holding an identifier, from storage (reads that need no in-memory graph). */
  profileByIdentity(workspaceId: string, type: string, value: string): Promise<string | undefined>;
  profileIdentities(workspaceId: string, profileId: string): Promise<IdentityRecord[]>;
  profileTraits(workspaceId: string, profileId: string): Promise<TraitValue[]>;
  profileEventCounts(workspaceId: string, profileId: string): Promise<EventCount[]>;
  profileRecentEvents(workspaceId: string, profileId: string, limit: number): Promise<StoredEvent[]>;
  profileMerges(workspaceId: string, profileId: string): Promise<MergeRecord[]>;
  /** Where a merged-away profile went (follows chains). */
  mergedInto(workspaceId: string, profileId: string): Promise<string | undefined>;
  identityDrops(workspaceId: string, limit: number): Promise<IdentityDrop[]>;
  workspaceStats(workspaceId: string): Promise<WorkspaceStats>;
  /** Events per type and name in a workspace, with revenue sums and distinct profiles. */
  eventTotals(workspaceId: string): Promise<EventTotal[]>;

  /**
   * Model outputs: in one transaction, replace every profile's traits from this model (one row per
   * profile). Reads see them as traits with source `model:<model>` and message id `runId`; readers see
   * the old or the new set, never a mix.
   */
  replaceModelTraits(workspaceId: string, model: string, rows: ModelTraitRow[], at: number, runId: string): Promise<void>;
  /** Current values of one output trait of a model (the previous run's groups): profile → JSON text. */
  modelTraitValues(workspaceId: string, model: string, key: string): Promise<Map<string, string>>;
  /**
   * Current values (JSON text) of these profile traits for every profile that has one, model outputs
   * included: `modelKeys` maps each model-written key to its model (SegmentService.modelTraits); a key
   * no model writes is read from the update log alone.
   */
  latestTraitValues(workspaceId: string, keys: string[], modelKeys: ReadonlyMap<string, string>): Promise<Array<{ profileId: string; key: string; value: string }>>;
  /**
   * Per profile, how many of an event (up to `asOf`) fell on weekdays / weekends and in each part of the
   * day (UTC; TIMING_BUCKETS and DAY_PARTS of the behavioural library): the profiles with the event
   * and a column of counts per bucket, in the same order (a row object per profile was ~1 s at 1M).
   */
  eventTiming(workspaceId: string, event: string, asOf: number): Promise<{ profileIds: string[]; counts: Record<string, Float64Array> }>;
  insertModelRun(r: ModelRunRecord): Promise<void>;
  insertMlModel(r: MlModelRecord): Promise<void>;
  /** Fits of a workspace (of one name when given), newest first. */
  mlModels(workspaceId: string, name: string | undefined, limit: number): Promise<MlModelRecord[]>;
  protectedTraits(workspaceId: string): Promise<string[]>;
  /** Replace the workspace's protected trait keys. */
  setProtectedTraits(workspaceId: string, keys: string[]): Promise<void>;
  /** Segments marked "no protected attributes". */
  guardedSegments(workspaceId: string): Promise<string[]>;
  setSegmentGuard(workspaceId: string, key: string, on: boolean): Promise<void>;
  /** A model's scores: profile → score. */
  scoreValues(workspaceId: string, model: string): Promise<Map<string, number>>;
  /** Replace a model's scores (the `score <model>` condition reads them) in one transaction. */
  replaceScores(workspaceId: string, model: string, profileIds: readonly string[], scores: Float64Array, at: number): Promise<void>;
  /**
   * Per profile with a purchase (track `event`) up to `calibrationEnd`: first and last purchase, distinct
   * purchase days, revenue (the event's normalized revenue), and the distinct
   * purchase days in (calibrationEnd, asOf].
   */
  purchaseSummary(workspaceId: string, opts: { event: string; calibrationEnd: number; asOf: number }): Promise<PurchaseSummaryRow[]>;
  /** Runs of a workspace (of one model when given), newest first. */
  modelRuns(workspaceId: string, model: string | undefined, limit: number): Promise<ModelRunRecord[]>;

  /**
   * Segment insights (docs/insights.md): the features of the active profiles from their events up to
   * `asOf` (domain/insights/features.ts, read with `rules`), reduced to sufficient statistics for the
   * segment's current members and for the rest, in one statement; above `maxProfiles`, features of a
   * deterministic sample (each group's rate in `sampleRate`), sizes, orders and revenue still exact.
   * Per dimension, the `topValues` most common values overall and among the members.
   */
  segmentInsightStats(workspaceId: string, segmentKey: string, query: InsightQuery): Promise<InsightStats>;

  /** Re-sort stored events by workspace, profile and time so per-profile scans read few blocks. */
  compact(): Promise<void>;
}

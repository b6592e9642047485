/**
 * Ingestion: validate → deduplicate → resolve identity → normalise → group commit.
 *
 * Requests are validated whole before anything is queued (a bad message rejects its request and
 * nothing of it is written). Accepted messages wait in a bounded queue; one flush takes everything
 * queued, resolves identities in order, and writes events, identities, merges and traits in ONE
 * transaction. Each request's promise resolves only after that commit, so a 200 means durable.
 * When the queue is full, `submit` throws `BackpressureError` at once (HTTP 429 + Retry-After)
 * instead of letting memory grow.
 */
import { LatencyWindow } from './latency-window.js';
import { InputError } from '../domain/errors.js';
import {
  DEFAULT_IDENTITY_CONFIG,
  extractIdentifiers,
  IdentityRules,
  resolveIdentifiers,
  type Identifier,
  type IdentityConfig,
  type IdentityGraphView,
} from '../domain/identity.js';
import { normalizeMessage, type EventRow } from '../domain/normalize.js';
import type { EvalEvent } from '../domain/segments/reference.js';
import { applyEnvelope, parseMessage, type BatchEnvelope, type MessageType, type SegmentMessage } from '../domain/segment-message.js';
import type { IngestCommit, PreparedEvent, StoragePort, TraitUpdate } from '../ports/storage.js';
import { IdentityIndex } from './identity-index.js';
import { MessageDedup } from './dedup.js';
import { newId } from './secrets.js';

export class BackpressureError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the ingestion queue is full; retry later');
    this.name = 'BackpressureError';
  }
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; code: string; reason: string }>;
}

export interface SubmitOptions {
  /** Provenance recorded on events and traits: 'api', 'api:import', 'file:<name>', 'demo'. */
  source: string;
  /** 'atomic' (HTTP): any invalid message rejects the whole request. 'partial' (file import): invalid ones are reported and skipped. */
  mode: 'atomic' | 'partial';
  envelope?: BatchEnvelope;
  forcedType?: MessageType;
}

export interface IngestConfig {
  /** Most messages waiting for a commit before new requests get 429. */
  maxQueuedMessages: number;
  /** Most messages written in one transaction. */
  maxCommitMessages: number;
  /** How long message ids are remembered in memory for deduplication (Segment: about a day). */
  dedupWindowMs: number;
  identity: IdentityConfig;
}

export const DEFAULT_INGEST_CONFIG: IngestConfig = {
  maxQueuedMessages: 50_000,
  maxCommitMessages: 20_000,
  dedupWindowMs: 7 * 24 * 3600 * 1000,
  identity: DEFAULT_IDENTITY_CONFIG,
};

interface Accepted {
  msg: SegmentMessage;
  messageId: string;
  timestamp: number;
  prepared: PreparedEvent;
  /** The event as segment conditions read it (the instant lane decides on it after the commit). */
  view: EvalEvent;
}

/** The stored event as the segment language reads it (same name, time, properties and context). */
function evalView(row: EventRow): EvalEvent {
  return {
    type: row.type, messageId: row.messageId, event: row.event ?? undefined, name: row.name ?? undefined,
    timestamp: row.timestamp, properties: row.properties, context: row.context,
  };
}

/** New events of one commit, by workspace and profile. */
export type CommittedEvents = Map<string, Map<string, EvalEvent[]>>;

interface Pending {
  workspaceId: string;
  messages: Accepted[];
  receivedAt: number;
  source: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface IngestMetrics {
  acceptedMessages: number;
  duplicateMessages: number;
  rejectedMessages: number;
  commits: number;
  commitFailures: number;
  backpressureRejections: number;
  queuedMessages: number;
  lastCommitMs: number;
}

export class IngestService {
  private readonly queue: Pending[] = [];
  private queued = 0;
  private flushing = false;
  private readonly index = new IdentityIndex();
  private readonly dedup: MessageDedup;
  /** Commit of each accepted message id not yet committed: a duplicate of one waits for it before its 200. */
  private readonly pendingIds = new Map<string, Promise<void>>();
  private readonly rules: IdentityRules;
  private idle: Array<() => void> = [];
  /** Durations of the recent group commits (resolve identities, write, commit), for quantiles. */
  readonly commitLatency = new LatencyWindow();
  readonly metrics: IngestMetrics = {
    acceptedMessages: 0, duplicateMessages: 0, rejectedMessages: 0, commits: 0, commitFailures: 0,
    backpressureRejections: 0, queuedMessages: 0, lastCommitMs: 0,
  };

  constructor(private readonly store: StoragePort, readonly config: IngestConfig = DEFAULT_INGEST_CONFIG) {
    this.dedup = new MessageDedup(config.dedupWindowMs);
    this.rules = new IdentityRules(config.identity);
  }

  private ready: Promise<void> | undefined;

  /**
   * Load the in-memory state once, before the first submit (a server calls it at start, so that the
   * first requests do not wait for the identity graph of a large workspace).
   */
  ensureStarted(): Promise<void> {
    this.ready ??= this.start().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** Rebuild in-memory state (identity graph, recent message ids) from storage. */
  async start(): Promise<void> {
    await this.loadIdentities();
    const now = Date.now();
    this.dedup.clear();
    for (const r of await this.store.messageIdsSince(now - this.config.dedupWindowMs)) this.dedup.add(r.workspaceId, r.messageId, r.receivedAt);
  }

  private async loadIdentities(): Promise<void> {
    this.index.clear();
    await this.store.scanIdentities((rows) => this.index.load(rows));
  }

  /** Validate and enqueue; resolves after the accepted messages are durably committed. */
  async submit(workspaceId: string, raws: unknown[], opts: SubmitOptions): Promise<IngestResult> {
    await this.ensureStarted();
    const receivedAt = Date.now();
    const result: IngestResult = { accepted: 0, duplicates: 0, rejected: [] };
    const valid: Array<{ msg: SegmentMessage; messageId: string }> = [];
    const seenHere = new Set<string>();
    // Commits still under way for ids this request repeats: its answer must not come before them.
    const waitFor = new Set<Promise<void>>();
    for (let i = 0; i < raws.length; i++) {
      let msg: SegmentMessage;
      try {
        msg = parseMessage(raws[i], opts.forcedType);
        if (opts.envelope) msg = applyEnvelope(msg, opts.envelope);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        if (opts.mode === 'atomic') {
          this.metrics.rejectedMessages += 1;
          throw raws.length > 1 ? new InputError(err.code, err.message, `batch[${i}]`) : err;
        }
        result.rejected.push({ index: i, code: err.code, reason: err.message });
        continue;
      }
      const messageId = msg.messageId ?? newId('msg');
      if (seenHere.has(messageId) || this.dedup.has(workspaceId, messageId)) {
        result.duplicates++;
        const pending = this.pendingIds.get(pendingKey(workspaceId, messageId));
        if (pending) waitFor.add(pending);
        continue;
      }
      seenHere.add(messageId);
      valid.push({ msg, messageId });
    }
    this.metrics.rejectedMessages += result.rejected.length;

    // Imports can repeat a file long after the in-memory window: ask storage about those ids.
    if (opts.source !== 'api' && valid.length > 0) {
      const known = await this.store.existingMessageIds(workspaceId, valid.map((v) => v.messageId));
      if (known.size > 0) {
        const before = valid.length;
        const kept = valid.filter((v) => !known.has(v.messageId));
        result.duplicates += before - kept.length;
        valid.length = 0;
        valid.push(...kept);
      }
    }
    this.metrics.duplicateMessages += result.duplicates;
    if (valid.length === 0) {
      // A retry of messages still being committed: answer after that commit (and fail if it fails).
      await Promise.all(waitFor);
      return result;
    }

    if (this.queued + valid.length > this.config.maxQueuedMessages && this.queued > 0) {
      this.metrics.backpressureRejections++;
      throw new BackpressureError(1);
    }
    // Normalise and encode now, while an earlier commit may still be writing: the flush only binds profiles.
    const accepted: Accepted[] = valid.map(({ msg, messageId }) => {
      const row = normalizeMessage(msg, { workspaceId, profileId: '', messageId, receivedAt, source: opts.source });
      return { msg, messageId, timestamp: row.timestamp, prepared: this.store.prepareEvent(row), view: evalView(row) };
    });
    for (const v of valid) this.dedup.add(workspaceId, v.messageId, receivedAt);
    this.queued += valid.length;
    this.metrics.queuedMessages = this.queued;
    const committed = new Promise<void>((resolve, reject) => {
      this.queue.push({ workspaceId, messages: accepted, receivedAt, source: opts.source, resolve, reject });
      this.scheduleFlush();
    });
    const keys = valid.map((v) => pendingKey(workspaceId, v.messageId));
    for (const k of keys) this.pendingIds.set(k, committed);
    try {
      await committed;
    } finally {
      for (const k of keys) if (this.pendingIds.get(k) === committed) this.pendingIds.delete(k);
    }
    await Promise.all(waitFor);
    result.accepted = valid.length;
    this.metrics.acceptedMessages += valid.length;
    return result;
  }

  /** Resolves when nothing is queued or being written. */
  drain(): Promise<void> {
    if (!this.flushing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => void this.flushLoop());
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length > 0 && (batch.length === 0 || n + (this.queue[0]?.messages.length ?? 0) <= this.config.maxCommitMessages)) {
          const p = this.queue.shift();
          if (!p) break;
          batch.push(p);
          n += p.messages.length;
        }
        await this.flush(batch, n);
      }
    } finally {
      this.flushing = false;
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
      if (this.queue.length > 0) this.scheduleFlush();
    }
  }

  private async flush(batch: Pending[], n: number): Promise<void> {
    const t0 = performance.now();
    let commit: IngestCommit;
    let views: EvalEvent[];
    try {
      ({ commit, views } = this.resolveBatch(batch));
      await this.store.commitIngest(commit);
    } catch (err) {
      this.metrics.commitFailures++;
      // The in-memory graph may hold changes that were never written: rebuild it from storage.
      await this.loadIdentities().catch(() => undefined);
      if (batch.length > 1) {
        // One request's data may be what the engine refused: commit the requests one by one so that
        // only the request that fails again is answered with an error, not everybody in the group.
        for (const p of batch) await this.flush([p], p.messages.length);
        return;
      }
      // Forget this request's ids so that the client's retry is accepted.
      for (const p of batch) for (const m of p.messages) this.dedup.delete(p.workspaceId, m.messageId);
      this.queued -= n;
      this.metrics.queuedMessages = this.queued;
      for (const p of batch) p.reject(err);
      return;
    }
    this.queued -= n;
    this.metrics.queuedMessages = this.queued;
    this.metrics.commits++;
    this.metrics.lastCommitMs = performance.now() - t0;
    this.commitLatency.add(this.metrics.lastCommitMs);
    for (const p of batch) p.resolve();
    if (this.committedListeners.length) {
      const touched = new Map<string, Set<string>>();
      const add = (ws: string, pid: string, into = touched) => {
        let set = into.get(ws);
        if (!set) into.set(ws, (set = new Set()));
        set.add(pid);
      };
      for (const e of commit.events) add(e.workspaceId, e.profileId);
      for (const m of commit.merges) { add(m.workspaceId, m.from); add(m.workspaceId, m.to); }
      for (const t of commit.traits) if (t.entityType === 'profile') add(t.workspaceId, t.entityId);
      // Merged profiles: their events were re-pointed, so per-profile incremental state no longer holds.
      const merged = new Map<string, Set<string>>();
      for (const m of commit.merges) { add(m.workspaceId, m.from, merged); add(m.workspaceId, m.to, merged); }
      const events: CommittedEvents = new Map();
      commit.events.forEach((e, i) => {
        const view = views[i];
        if (!view) return;
        let byProfile = events.get(e.workspaceId);
        if (!byProfile) events.set(e.workspaceId, (byProfile = new Map()));
        const list = byProfile.get(e.profileId);
        if (list) list.push(view);
        else byProfile.set(e.profileId, [view]);
      });
      for (const l of this.committedListeners) l(touched, merged, events);
    }
  }

  private readonly committedListeners: Array<(touched: Map<string, Set<string>>, merged: Map<string, Set<string>>, events: CommittedEvents) => void> = [];
  /**
   * Called after every durable commit with the profiles it touched, per workspace, and the new events
   * by profile (segment updates).
   */
  onCommitted(listener: (touched: Map<string, Set<string>>, merged: Map<string, Set<string>>, events: CommittedEvents) => void): void {
    this.committedListeners.push(listener);
  }

  /** Resolve identities in arrival order and build the rows of one commit (updates the in-memory graph). */
  private resolveBatch(batch: Pending[]): { commit: IngestCommit; views: EvalEvent[] } {
    const commit: IngestCommit = { events: [], profiles: [], identities: [], merges: [], traits: [], drops: [] };
    const views: EvalEvent[] = [];
    for (const p of batch) {
      const view = this.index.view(p.workspaceId);
      for (const { msg, messageId, timestamp, prepared, view: evalEvent } of p.messages) {
        const ids = aliasPreviousAsKnown(msg, extractIdentifiers(msg), view);
        const res = resolveIdentifiers(ids, view, this.rules);
        let profileId = res.profileId;
        const at = msg.timestamp !== undefined ? Math.min(Date.parse(msg.timestamp), p.receivedAt) : p.receivedAt;
        if (profileId === undefined) {
          profileId = newId('prof');
          commit.profiles.push({ workspaceId: p.workspaceId, profileId, createdAt: p.receivedAt });
        }
        for (const from of res.mergeFrom) {
          commit.merges.push({
            workspaceId: p.workspaceId, from, to: profileId, messageId, at: p.receivedAt,
            reason: `${msg.type} message ${messageId} carries identifiers of both profiles (${ids.map((i) => `${i.type}=${i.value}`).join(', ')})`,
          });
          this.index.merge(p.workspaceId, from, profileId);
        }
        for (const id of res.attach) {
          this.index.attach(p.workspaceId, profileId, id);
          commit.identities.push({ workspaceId: p.workspaceId, type: id.type, value: id.value, profileId, firstSeen: at, source: p.source });
        }
        for (const d of res.dropped) {
          commit.drops.push({ workspaceId: p.workspaceId, messageId, type: d.identifier.type, value: d.identifier.value, reason: d.reason, at: p.receivedAt });
        }
        commit.events.push({ workspaceId: p.workspaceId, profileId, prepared });
        views.push(evalEvent);
        if (msg.type === 'identify' || msg.type === 'group') {
          const entityType = msg.type === 'identify' ? 'profile' : 'group';
          const entityId = msg.type === 'identify' ? profileId : msg.groupId ?? '';
          pushTraits(commit.traits, p.workspaceId, entityType, entityId, msg.traits, `${msg.type}:${p.source}`, messageId, timestamp);
        }
      }
    }
    return { commit, views };
  }
}

function pendingKey(workspaceId: string, messageId: string): string {
  return workspaceId + '\u0001' + messageId;
}

/**
 * An alias's previousId is typed user_id unless it equals the message's anonymousId, but server SDKs
 * (analytics-node) send `alias({userId, previousId})` without an anonymousId: a previousId that the graph
 * knows only as an anonymous id, or does not know yet, is that anonymous id, or the alias would link nothing.
 */
function aliasPreviousAsKnown(msg: SegmentMessage, ids: Identifier[], view: IdentityGraphView): Identifier[] {
  const prev = msg.previousId;
  if (msg.type !== 'alias' || prev === undefined) return ids;
  if (view.profileOf({ type: 'user_id', value: prev }) !== undefined) return ids;
  // Unknown so far: batches from one SDK may arrive out of order, so the alias can come before the events
  // of its previousId. As a second user_id it would be dropped by the one-user_id limit and link nothing,
  // so with a userId beside it the previousId is taken as an anonymous id (Segment's common case).
  if (view.profileOf({ type: 'anonymous_id', value: prev }) === undefined && (msg.userId === undefined || msg.userId === prev)) return ids;
  const out: Identifier[] = [];
  for (const id of ids) {
    const next = id.type === 'user_id' && id.value === prev ? { type: 'anonymous_id', value: prev } : id;
    if (!out.some((o) => o.type === next.type && o.value === next.value)) out.push(next);
  }
  return out;
}

function pushTraits(out: TraitUpdate[], workspaceId: string, entityType: 'profile' | 'group', entityId: string,
  traits: Record<string, unknown>, source: string, messageId: string, at: number): void {
  for (const key of Object.keys(traits)) {
    out.push({ workspaceId, entityType, entityId, key, value: JSON.stringify(traits[key] ?? null), source, messageId, at });
  }
}

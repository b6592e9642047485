/**
 * The embedded engine: one DuckDB file holds everything (DESIGN.md §Engines). Writes go through one
 * connection, serialised, with the appender inside a transaction (a group commit is one transaction,
 * durable in DuckDB's WAL when COMMIT returns); reads use a second connection and see committed data.
 */
import { PrioritySerial, Serial, inTransaction } from './serial.js';
import { DuckDBSegmentStore } from './segment-store.js';
import type { SegmentStorage } from '../../ports/segments.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  listValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { EventRow } from '../../domain/normalize.js';
import type {
  CommitEvent,
  CredentialRecord,
  EventCount,
  EventTotal,
  IdentityDrop,
  IdentityRecord,
  IngestCommit,
  MergeRecord,
  MlModelRecord,
  ModelRunRecord,
  PurchaseSummaryRow,
  ModelTraitRow,
  PreparedEvent,
  StoragePort,
  StoredEvent,
  TraitValue,
  WorkspaceRecord,
  WorkspaceStats,
} from '../../ports/storage.js';
import { quoteIdent } from '../../domain/sql/identifiers.js';
import { MIGRATIONS } from './migrations.js';
import { Params } from '../../domain/sql/dialect.js';
import { duckdbDialect, pointer } from '../../domain/sql/dialects.js';
import { toDuckParams } from './params.js';
import { TypedColumns } from './typed-columns.js';
import { DAY_PARTS, TIMING_BUCKETS } from '../../domain/behavioural/model.js';
import { OTHER_CHANNELS, type DimensionKey, type FlagKey, type InsightQuery, type InsightStats, type MetricKey, type Population } from '../../domain/insights/features.js';
import type { Moments } from '../../domain/insights/stats.js';

type Row = Record<string, unknown>;

function ts(ms: number): DuckDBTimestampTZValue {
  return new DuckDBTimestampTZValue(BigInt(Math.round(ms)) * 1000n);
}

function toMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Date.parse(v);
  throw new Error(`not a timestamp: ${String(v)}`);
}

function optMs(v: unknown): number | null {
  return v === null || v === undefined ? null : toMs(v);
}

function toNum(v: unknown): number {
  return typeof v === 'bigint' ? Number(v) : Number(v);
}

function parseJson(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}


export interface DuckDBEngineOptions {
  /** Folder of the database; ':memory:' for a throw-away in-memory database (tests). */
  dataDir: string;
  threads?: number;
  memoryLimit?: string;
  /**
   * WAL size in MiB that triggers a checkpoint (DuckDB setting `checkpoint_threshold`); above it,
   * `checkpointIfNeeded` checkpoints when DuckDB's automatic checkpoint did not. Default 1024.
   */
  checkpointThresholdMiB?: number;
}

export class DuckDBEngine implements StoragePort {
  readonly engine = 'duckdb';
  private readonly writeLock = new Serial();
  private stagingSeq = 0;
  private walPath: string | undefined;
  private walLimitBytes = Infinity;
  private readonly walStats = { checkpoints: 0, busy: 0 };
  readonly segments: SegmentStorage;
  private readonly typed: TypedColumns;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
    private readonly stagingDir: string,
    private readonly segmentWriter: DuckDBConnection,
    private readonly slowWriter: DuckDBConnection,
    private readonly fastWriter: DuckDBConnection,
  ) {
    // Segment evaluation writes other tables than ingest (memberships, history, computed values) on its
    // own connection and lock, so a long evaluation never holds up ingest commits (DuckDB runs the two
    // transactions concurrently; they touch disjoint tables, so they cannot conflict).
    this.typed = new TypedColumns(writer, this.writeLock, new Serial());
    this.segments = new DuckDBSegmentStore(segmentWriter, reader, new PrioritySerial(), slowWriter, new Serial(), this.typed, fastWriter);
  }

  static async open(opts: DuckDBEngineOptions): Promise<DuckDBEngine> {
    let path = ':memory:';
    let stagingDir: string;
    if (opts.dataDir !== ':memory:') {
      mkdirSync(opts.dataDir, { recursive: true });
      path = join(opts.dataDir, 'segmenta.duckdb');
    }
    // Staged bulk files live only inside one transaction: memory-backed /dev/shm where there is one.
    const shm = '/dev/shm';
    const stagingRoot = existsSync(shm) ? shm : tmpdir();
    removeOrphanedStaging(stagingRoot);
    stagingDir = mkdtempSync(join(stagingRoot, `segmenta-staging-${process.pid}-`));
    const config: Record<string, string> = {};
    if (opts.threads) config['threads'] = String(opts.threads);
    if (opts.memoryLimit) config['memory_limit'] = opts.memoryLimit;
    // Checkpoints run inside COMMIT; at the 16 MB default a busy ingest checkpoints on almost every
    // group commit. Larger, rarer checkpoints; the WAL still makes every commit durable.
    const thresholdMiB = opts.checkpointThresholdMiB ?? 1024;
    config['checkpoint_threshold'] = `${thresholdMiB}MiB`;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, config);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/lock/i.test(msg)) {
        throw new Error(`the database ${path} is in use by another segmenta process (${msg.split('\n')[0]}); stop it or choose another --data folder`);
      }
      throw err;
    }
    const writer = await instance.connect();
    const reader = await instance.connect();
    const segmentWriter = await instance.connect();
    const slowWriter = await instance.connect();
    const fastWriter = await instance.connect();
    const engine = new DuckDBEngine(instance, writer, reader, stagingDir, segmentWriter, slowWriter, fastWriter);
    engine.walPath = path === ':memory:' ? undefined : `${path}.wal`;
    engine.walLimitBytes = thresholdMiB * 1024 * 1024;
    return engine;
  }

  private async all(sql: string, params: DuckDBValue[] = [], conn: DuckDBConnection = this.reader): Promise<Row[]> {
    const r = await conn.runAndReadAll(sql, params);
    return r.getRowObjectsJS() as Row[];
  }

  async migrate(): Promise<number[]> {
    return this.writeLock.run(async () => {
      await this.writer.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`);
      const rows = await this.all('SELECT version FROM schema_migrations', [], this.writer);
      const have = new Set(rows.map((r) => toNum(r['version'])));
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (have.has(m.version)) continue;
        await this.writer.run('BEGIN TRANSACTION');
        try {
          for (const s of m.statements) await this.writer.run(s);
          await this.writer.run('INSERT INTO schema_migrations VALUES ($1, $2, now())', [m.version, m.name]);
          await this.writer.run('COMMIT');
        } catch (err) {
          await this.writer.run('ROLLBACK');
          throw new Error(`migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        applied.push(m.version);
      }
      // Schema changes leave the WAL at once (nothing else runs while a database opens): replaying
      // DDL is where DuckDB failed us after a crash (migration 9).
      if (applied.length) await this.writer.run('CHECKPOINT');
      await this.typed.load();
      return applied;
    });
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.all('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
    return toNum(rows[0]?.['v'] ?? 0);
  }

  /**
   * DuckDB checkpoints automatically on a COMMIT that takes the WAL past the threshold, but only when
   * no other write transaction is open. Ingest commits, the segment lanes and full runs overlap almost
   * all the time under load, and the WAL grew to 643 MB and on (observed during a 5,000 events/s
   * bench): a longer replay at the next open, and more of the WAL exposed to replay bugs. So the WAL
   * is watched, and past the threshold a checkpoint is tried under the ingest lock; it is 'busy' when
   * a segment write is open, and is tried again on the next call.
   */
  async checkpointIfNeeded(): Promise<'small' | 'done' | 'busy'> {
    if (this.walBytes() < this.walLimitBytes) return 'small';
    return this.checkpoint();
  }

  checkpoint(): Promise<'done' | 'busy'> {
    return this.writeLock.run(async () => {
      try {
        await this.writer.run('CHECKPOINT');
        this.walStats.checkpoints++;
        return 'done' as const;
      } catch {
        this.walStats.busy++;
        return 'busy' as const;
      }
    });
  }

  walBytes(): number {
    if (!this.walPath) return 0;
    try {
      return statSync(this.walPath).size;
    } catch {
      return 0; // no WAL: everything is in the database file
    }
  }

  walHealth(): { walBytes: number; checkpoints: number; checkpointsBusy: number } {
    return { walBytes: this.walBytes(), checkpoints: this.walStats.checkpoints, checkpointsBusy: this.walStats.busy };
  }

  async close(): Promise<void> {
    await this.writeLock.run(async () => {
      this.writer.closeSync();
      this.reader.closeSync();
      this.segmentWriter.closeSync();
      this.slowWriter.closeSync();
      this.fastWriter.closeSync();
      this.instance.closeSync();
    });
    await rm(this.stagingDir, { recursive: true, force: true });
  }

  async insertWorkspace(ws: WorkspaceRecord): Promise<void> {
    await this.writeLock.run(() => this.writer.run('INSERT INTO workspaces VALUES ($1, $2, $3)', [ws.id, ws.name, ts(ws.createdAt)]));
  }

  private static workspace(r: Row): WorkspaceRecord {
    return { id: String(r['id']), name: String(r['name']), createdAt: toMs(r['created_at']) };
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | undefined> {
    const rows = await this.all('SELECT * FROM workspaces WHERE id = $1', [id]);
    return rows[0] ? DuckDBEngine.workspace(rows[0]) : undefined;
  }

  async listWorkspaces(): Promise<WorkspaceRecord[]> {
    return (await this.all('SELECT * FROM workspaces ORDER BY created_at')).map(DuckDBEngine.workspace);
  }

  async insertCredential(c: CredentialRecord): Promise<void> {
    await this.writeLock.run(() =>
      this.writer.run('INSERT INTO credentials VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        c.hash, c.kind, c.workspaceId, c.role, c.label, ts(c.createdAt), c.revokedAt === null ? null : ts(c.revokedAt),
      ]),
    );
  }

  async findCredential(hash: string): Promise<CredentialRecord | undefined> {
    const r = (await this.all('SELECT * FROM credentials WHERE hash = $1', [hash]))[0];
    return r ? DuckDBEngine.credential(r) : undefined;
  }

  async listCredentials(workspaceId: string): Promise<CredentialRecord[]> {
    return (await this.all('SELECT * FROM credentials WHERE workspace_id = $1 ORDER BY created_at, hash', [workspaceId])).map(DuckDBEngine.credential);
  }

  async revokeCredentials(workspaceId: string, hashPrefix: string, at: number): Promise<number> {
    return this.writeLock.run(async () => {
      const r = await this.writer.run(
        'UPDATE credentials SET revoked_at = $1 WHERE workspace_id = $2 AND starts_with(hash, $3) AND revoked_at IS NULL',
        [ts(at), workspaceId, hashPrefix]);
      return Number(r.rowsChanged);
    });
  }

  private static credential(r: Row): CredentialRecord {
    return {
      hash: String(r['hash']),
      kind: r['kind'] === 'token' ? 'token' : 'write_key',
      workspaceId: String(r['workspace_id']),
      role: r['role'] === 'admin' || r['role'] === 'editor' || r['role'] === 'viewer' ? r['role'] : null,
      label: String(r['label']),
      createdAt: toMs(r['created_at']),
      revokedAt: optMs(r['revoked_at']),
    };
  }

  async commitIngest(commit: IngestCommit): Promise<void> {
    await this.writeLock.run(() => inTransaction(this.writer, async () => {
      await this.appendAll(commit);
      for (const m of commit.merges) await this.applyMerge(m);
    }));
  }

  prepareEvent(row: EventRow): PreparedEvent {
    // '{"profile_id":"…",' is put in front at commit time; the rest is complete JSON object members.
    return { payload: JSON.stringify(eventJson(row)).slice(1), messageId: row.messageId };
  }

  private async appendAll(c: IngestCommit): Promise<void> {
    if (c.events.length) {
      const lines = new Array<string>(c.events.length);
      for (let i = 0; i < c.events.length; i++) {
        const e = c.events[i] as CommitEvent;
        lines[i] = `{"profile_id":${JSON.stringify(e.profileId)},${e.prepared.payload}`;
      }
      // seq has no default (migration 9): the commit order is drawn here.
      await this.insertNdjson('events', EVENT_COLUMNS, lines, (p) => {
        const typed = this.typed.insertColumns(p, (root) => quoteIdent(root));
        return { columns: [quoteIdent('seq'), ...typed.columns], values: [`nextval('event_seq')`, ...typed.values] };
      });
    }
    if (c.profiles.length) {
      await this.insertNdjson('profiles', PROFILE_COLUMNS, c.profiles.map((p) => JSON.stringify({
        workspace_id: p.workspaceId, profile_id: p.profileId, created_at: ms(p.createdAt), merged_into: null,
      })));
    }
    if (c.identities.length) {
      await this.insertNdjson('identities', IDENTITY_COLUMNS, c.identities.map((i) => JSON.stringify({
        workspace_id: i.workspaceId, type: i.type, value: i.value, profile_id: i.profileId, first_seen: ms(i.firstSeen), source: i.source,
      })));
    }
    if (c.traits.length) {
      await this.insertNdjson('trait_updates', TRAIT_COLUMNS, c.traits.map((t) => JSON.stringify({
        workspace_id: t.workspaceId, entity_type: t.entityType, entity_id: t.entityId, key: t.key, value: t.value,
        source: t.source, message_id: t.messageId, updated_at: ms(t.at),
      })));
    }
    if (c.drops.length) {
      await this.insertNdjson('identity_drops', DROP_COLUMNS, c.drops.map((d) => JSON.stringify({
        workspace_id: d.workspaceId, message_id: d.messageId, type: d.type, value: d.value, reason: d.reason, dropped_at: ms(d.at),
      })));
    }
  }

  /**
   * Bulk rows go in through a staged NDJSON file read by DuckDB's C++ JSON reader inside the open
   * transaction: measured about 10× faster than the appender for the 52-column event row with lists
   * (the appender converts every value through N-API one by one). The file lives only for the insert.
   */
  private async insertNdjson(table: string, columns: Columns, lines: string[], extra?: (p: Params) => { columns: string[]; values: string[] }): Promise<void> {
    const file = join(this.stagingDir, `${table}-${process.pid}-${++this.stagingSeq}.ndjson`);
    await writeFile(file, lines.join('\n'));
    try {
      // Times travel as epoch milliseconds (cheaper than formatting dates in JS) and become TIMESTAMPTZ here.
      const p = new Params(duckdbDialect);
      const fileParam = p.str(file);
      // Derived columns (typed property columns) computed from the row's own values.
      const more = extra?.(p) ?? { columns: [], values: [] };
      const list = [...columns.map(([c]) => quoteIdent(c)), ...more.columns].join(', ');
      const select = [...columns.map(([c, t]) => (t === 'TIMESTAMPTZ' ? `make_timestamptz(${quoteIdent(c)} * 1000)` : quoteIdent(c))), ...more.values].join(', ');
      // Type names are our own constants; column names go through the quoting function like every identifier.
      const types = `{${columns.map(([c, t]) => `${quoteIdent(c)}: '${t === 'TIMESTAMPTZ' ? 'BIGINT' : t}'`).join(', ')}}`;
      await this.writer.run(`INSERT INTO ${quoteIdent(table)} (${list}) SELECT ${select} FROM read_ndjson(${fileParam}, columns = ${types}, maximum_object_size = 1048576)`, toDuckParams(p.list));
    } finally {
      await rm(file, { force: true });
    }
  }

  private async applyMerge(m: MergeRecord): Promise<void> {
    const p = [m.to, m.workspaceId, m.from];
    await this.writer.run('UPDATE events SET profile_id = $1 WHERE workspace_id = $2 AND profile_id = $3', p);
    await this.writer.run('UPDATE identities SET profile_id = $1 WHERE workspace_id = $2 AND profile_id = $3', p);
    await this.writer.run(`UPDATE trait_updates SET entity_id = $1 WHERE workspace_id = $2 AND entity_type = 'profile' AND entity_id = $3`, p);
    // Model outputs describe the profile as it was: the next run classifies the merged profile anew.
    await this.writer.run('DELETE FROM model_traits WHERE workspace_id = $1 AND profile_id = $2', [m.workspaceId, m.from]);
    await this.writer.run('DELETE FROM scores WHERE workspace_id = $1 AND profile_id = $2', [m.workspaceId, m.from]);
    await this.writer.run('UPDATE profiles SET merged_into = $1 WHERE workspace_id = $2 AND profile_id = $3', p);
    await this.writer.run('INSERT INTO merges VALUES ($1, $2, $3, $4, $5, $6)', [m.workspaceId, m.from, m.to, m.reason, m.messageId, ts(m.at)]);
  }

  async messageIdsSince(since: number): Promise<Array<{ workspaceId: string; messageId: string; receivedAt: number }>> {
    const r = await this.reader.runAndReadAll(
      'SELECT workspace_id, message_id, epoch_ms(received_at) AS r FROM events WHERE received_at >= $1', [ts(since)]);
    const out: Array<{ workspaceId: string; messageId: string; receivedAt: number }> = [];
    for (const row of r.getRowsJS()) out.push({ workspaceId: String(row[0]), messageId: String(row[1]), receivedAt: toNum(row[2]) });
    return out;
  }

  async existingMessageIds(workspaceId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const r = await this.reader.runAndReadAll(
      // (a semi join: list_contains searched the whole list for every event, 5.1 s for 2,000 ids at 5M
      // events against 0.09 s)
      'SELECT DISTINCT message_id FROM events WHERE workspace_id = $1 AND message_id IN (SELECT unnest($2))',
      [workspaceId, listOf(ids)]);
    return new Set(r.getRowsJS().map((row) => String(row[0])));
  }

  async scanIdentities(onPage: (rows: IdentityRecord[]) => void): Promise<void> {
    // A streaming result lives only until its connection runs another query: on the shared reader, any
    // concurrent read (an API request, a poll) silently ended the scan early and left identities
    // unloaded, so known customers got new profiles. The scan gets a connection of its own.
    const conn = await this.instance.connect();
    try {
      const result = await conn.stream('SELECT workspace_id, type, value, profile_id, epoch_ms(first_seen), source FROM identities');
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const rows = chunk.getRows().map((r) => ({
          workspaceId: String(r[0]), type: String(r[1]), value: String(r[2]), profileId: String(r[3]), firstSeen: toNum(r[4]), source: String(r[5]),
        }));
        onPage(rows);
      }
    } finally {
      conn.closeSync();
    }
  }

  async profileExists(workspaceId: string, profileId: string): Promise<boolean> {
    const rows = await this.all('SELECT 1 FROM profiles WHERE workspace_id = $1 AND profile_id = $2 AND merged_into IS NULL', [workspaceId, profileId]);
    return rows.length > 0;
  }

  async profileByIdentity(workspaceId: string, type: string, value: string): Promise<string | undefined> {
    const rows = await this.all('SELECT profile_id FROM identities WHERE workspace_id = $1 AND type = $2 AND value = $3 LIMIT 1', [workspaceId, type, value]);
    const p = rows[0]?.['profile_id'];
    return p === undefined || p === null ? undefined : String(p);
  }

  async profileIdentities(workspaceId: string, profileId: string): Promise<IdentityRecord[]> {
    const rows = await this.all(
      'SELECT * FROM identities WHERE workspace_id = $1 AND profile_id = $2 ORDER BY first_seen, type, value', [workspaceId, profileId]);
    return rows.map((r) => ({
      workspaceId, type: String(r['type']), value: String(r['value']), profileId, firstSeen: toMs(r['first_seen']), source: String(r['source']),
    }));
  }

  async profileTraits(workspaceId: string, profileId: string): Promise<TraitValue[]> {
    // Trait updates and model outputs (one JSON object per model): the latest value of each key.
    const rows = await this.all(
      `SELECT key, arg_max(value, updated_at) AS value, arg_max(source, updated_at) AS source, arg_max(message_id, updated_at) AS message_id, max(updated_at) AS updated_at FROM (
         SELECT key, value, source, message_id, updated_at FROM trait_updates WHERE workspace_id = $1 AND entity_type = 'profile' AND entity_id = $2
         UNION ALL
         SELECT je.key, je.value, 'model:' || mt.model, mt.run_id, mt.computed_at FROM model_traits mt, json_each(mt.traits) je WHERE mt.workspace_id = $1 AND mt.profile_id = $2)
       GROUP BY key ORDER BY key`,
      [workspaceId, profileId]);
    return rows.map((r) => ({
      key: String(r['key']), value: parseJson(r['value']), source: String(r['source']), messageId: String(r['message_id']), updatedAt: toMs(r['updated_at']),
    }));
  }

  async profileEventCounts(workspaceId: string, profileId: string): Promise<EventCount[]> {
    const rows = await this.all(
      `SELECT type, event, count(*) AS n, min(timestamp) AS first, max(timestamp) AS last FROM events
       WHERE workspace_id = $1 AND profile_id = $2 GROUP BY type, event ORDER BY n DESC, type, event`, [workspaceId, profileId]);
    return rows.map((r) => ({
      type: String(r['type']), event: r['event'] === null ? null : String(r['event']), count: toNum(r['n']), first: toMs(r['first']), last: toMs(r['last']),
    }));
  }

  async profileRecentEvents(workspaceId: string, profileId: string, limit: number): Promise<StoredEvent[]> {
    const rows = await this.all(
      `SELECT message_id, type, event, name, timestamp, received_at, source, revenue, properties FROM events
       WHERE workspace_id = $1 AND profile_id = $2 ORDER BY timestamp DESC, message_id LIMIT $3`, [workspaceId, profileId, limit]);
    return rows.map((r) => ({
      messageId: String(r['message_id']), type: String(r['type']), event: r['event'] === null ? null : String(r['event']),
      name: r['name'] === null ? null : String(r['name']), timestamp: toMs(r['timestamp']), receivedAt: toMs(r['received_at']),
      source: String(r['source']), revenue: r['revenue'] === null ? null : toNum(r['revenue']), properties: parseJson(r['properties']),
    }));
  }

  async profileMerges(workspaceId: string, profileId: string): Promise<MergeRecord[]> {
    // Every merge that fed this profile, directly or through profiles merged into it earlier.
    const rows = await this.all(
      `WITH RECURSIVE fed(p) AS (SELECT $2::VARCHAR UNION SELECT m.from_profile FROM merges m JOIN fed ON m.to_profile = fed.p WHERE m.workspace_id = $1)
       SELECT m.* FROM merges m WHERE m.workspace_id = $1 AND m.to_profile IN (SELECT p FROM fed) ORDER BY m.merged_at`, [workspaceId, profileId]);
    return rows.map((r) => ({
      workspaceId, from: String(r['from_profile']), to: String(r['to_profile']), reason: String(r['reason']), messageId: String(r['message_id']), at: toMs(r['merged_at']),
    }));
  }

  async mergedInto(workspaceId: string, profileId: string): Promise<string | undefined> {
    let cur = profileId;
    for (let hops = 0; hops < 100; hops++) {
      const rows = await this.all('SELECT merged_into FROM profiles WHERE workspace_id = $1 AND profile_id = $2', [workspaceId, cur]);
      const next = rows[0]?.['merged_into'];
      if (next === undefined || next === null) return cur === profileId ? undefined : cur;
      cur = String(next);
    }
    return cur;
  }

  async replaceModelTraits(workspaceId: string, model: string, rows: ModelTraitRow[], at: number, runId: string): Promise<void> {
    const CHUNK = 250_000;
    await this.writeLock.run(() => inTransaction(this.writer, async () => {
      await this.writer.run('DELETE FROM model_traits WHERE workspace_id = $1 AND model = $2', [workspaceId, model]);
      for (let i = 0; i < rows.length; i += CHUNK) {
        // Each line holds the profile and its traits; the run's constants are bound once, not repeated
        // on a million lines to be written and parsed again.
        await this.insertNdjson('model_traits', MODEL_TRAIT_COLUMNS, rows.slice(i, i + CHUNK).map((r) => JSON.stringify({ profile_id: r.profileId, traits: r.traits })), (p) => ({
          columns: ['workspace_id', 'model', 'run_id', 'computed_at'].map((c) => quoteIdent(c)),
          values: [p.str(workspaceId), p.str(model), p.str(runId), `make_timestamptz(CAST(${p.int(ms(at))} AS BIGINT) * 1000)`],
        }));
      }
    }));
  }

  /** A statement's result read column-wise (the segment store's reader): `numeric` columns as doubles. */
  private readColumns(p: Params, sql: string, numeric: Iterable<string> = []): ReturnType<SegmentStorage['queryColumns']> {
    return this.segments.queryColumns({ sql, params: p.list, segmentColumns: [], computedColumns: [] }, new Set(numeric));
  }

  async modelTraitValues(workspaceId: string, model: string, key: string): Promise<Map<string, string>> {
    // Read as columns: a row object per profile was most of a run's "classify" phase at 1M profiles.
    const p = new Params(duckdbDialect);
    const read = await this.readColumns(p, `SELECT profile_id AS pid, CAST(json_extract(traits, ${p.str(pointer([key]))}) AS VARCHAR) AS value FROM model_traits
            WHERE workspace_id = ${p.str(workspaceId)} AND model = ${p.str(model)}`);
    const pids = read.texts.get('pid') ?? [];
    const values = read.texts.get('value') ?? [];
    const out = new Map<string, string>();
    for (let i = 0; i < pids.length; i++) {
      const v = values[i];
      if (v !== null && v !== undefined && v !== 'null') out.set(String(pids[i]), v);
    }
    return out;
  }

  async latestTraitValues(workspaceId: string, keys: string[], modelKeys: ReadonlyMap<string, string>): Promise<Array<{ profileId: string; key: string; value: string }>> {
    if (keys.length === 0) return [];
    const params: DuckDBValue[] = [workspaceId, listValue(keys)];
    const bind = (v: DuckDBValue) => `$${params.push(v)}`;
    // A model-written key from its own model's rows, one JSON path each: expanding every key of every
    // model's object (json_each) took 0.9 s of a 1.0 s read at 100k profiles × 10 models, for keys that
    // no model writes.
    const fromModels = keys.filter((k) => modelKeys.has(k)).map((k) =>
      `SELECT profile_id, ${bind(k)} AS key, json_extract(traits, ${bind(pointer([k]))}) AS value, computed_at FROM model_traits
       WHERE workspace_id = $1 AND model = ${bind(modelKeys.get(k) ?? '')}`);
    const rows = await this.all(
      `SELECT entity_id, key, CAST(arg_max(value, updated_at) AS VARCHAR) AS value FROM (
         SELECT entity_id, key, value, updated_at FROM trait_updates WHERE workspace_id = $1 AND entity_type = 'profile' AND list_contains($2, key)
         ${fromModels.length > 0 ? `UNION ALL SELECT * FROM (${fromModels.join(' UNION ALL ')}) WHERE value IS NOT NULL` : ''})
       GROUP BY entity_id, key`,
      params);
    return rows.filter((r) => r['value'] !== null).map((r) => ({ profileId: String(r['entity_id']), key: String(r['key']), value: String(r['value']) }));
  }

  async eventTiming(workspaceId: string, event: string, asOf: number): Promise<{ profileIds: string[]; counts: Record<string, Float64Array> }> {
    const part = (name: keyof typeof DAY_PARTS) => `count(*) FILTER (WHERE hr BETWEEN ${DAY_PARTS[name][0]} AND ${DAY_PARTS[name][1]}) AS ${name}`;
    // (weekday and hour by arithmetic on epoch ms: with AT TIME ZONE, six conversions per row took 0.35 s at 5M events)
    const { weekend, hour } = utcWeekendHour('ms');
    const p = new Params(duckdbDialect);
    const sql = `SELECT profile_id AS pid, count(*) FILTER (WHERE NOT weekend) AS weekday, count(*) FILTER (WHERE weekend) AS weekend,
              ${part('night')}, ${part('morning')}, ${part('afternoon')}, ${part('evening')}
       FROM (SELECT profile_id, ${weekend} AS weekend, ${hour} AS hr
             FROM (SELECT profile_id, epoch_ms(timestamp) AS ms FROM events
                   WHERE workspace_id = ${p.str(workspaceId)} AND type = 'track' AND event = ${p.str(event)} AND epoch_ms(timestamp) <= ${p.int(asOf)}))
       GROUP BY profile_id`;
    const read = await this.readColumns(p, sql, TIMING_BUCKETS);
    return {
      profileIds: (read.texts.get('pid') ?? []).map((x) => String(x)),
      counts: Object.fromEntries(TIMING_BUCKETS.map((b) => [b, read.numbers.get(b) ?? new Float64Array(read.rows)])),
    };
  }

  async insertModelRun(r: ModelRunRecord): Promise<void> {
    await this.writeLock.run(() => this.writer.run(
      'INSERT INTO model_runs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [r.workspaceId, r.model, r.runId, ts(r.asOf), JSON.stringify(r.config), r.summary === null ? null : JSON.stringify(r.summary), r.profiles, ts(r.startedAt), Math.round(r.durationMs), r.error]));
  }

  async insertMlModel(r: MlModelRecord): Promise<void> {
    const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));
    await this.writeLock.run(() => this.writer.run(
      'INSERT INTO ml_models VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [r.workspaceId, r.name, r.version, r.kind, JSON.stringify(r.config ?? {}), json(r.training), json(r.artifact), json(r.metrics), JSON.stringify(r.traits),
        ts(r.startedAt), Math.round(r.durationMs), r.error]));
  }

  async mlModels(workspaceId: string, name: string | undefined, limit: number): Promise<MlModelRecord[]> {
    const rows = await this.all(
      `SELECT name, version, kind, CAST(config AS VARCHAR) AS config, CAST(training AS VARCHAR) AS training, CAST(artifact AS VARCHAR) AS artifact,
              CAST(metrics AS VARCHAR) AS metrics, CAST(traits AS VARCHAR) AS traits, started_at, duration_ms, error
       FROM ml_models WHERE workspace_id = $1${name === undefined ? '' : ' AND name = $3'} ORDER BY started_at DESC, version DESC LIMIT $2`,
      name === undefined ? [workspaceId, limit] : [workspaceId, limit, name]);
    const opt = (v: unknown) => (v === null || v === undefined ? null : parseJson(v));
    return rows.map((r) => ({
      workspaceId, name: String(r['name']), version: toNum(r['version']), kind: String(r['kind']), config: parseJson(r['config']),
      training: opt(r['training']), artifact: opt(r['artifact']), metrics: opt(r['metrics']), traits: (parseJson(r['traits']) as unknown[]).map(String),
      startedAt: toMs(r['started_at']), durationMs: toNum(r['duration_ms']), error: r['error'] === null ? null : String(r['error']),
    }));
  }

  async protectedTraits(workspaceId: string): Promise<string[]> {
    return (await this.all('SELECT key FROM protected_traits WHERE workspace_id = $1 ORDER BY key', [workspaceId])).map((r) => String(r['key']));
  }

  async setProtectedTraits(workspaceId: string, keys: string[]): Promise<void> {
    await this.writeLock.run(() => inTransaction(this.writer, async () => {
      await this.writer.run('DELETE FROM protected_traits WHERE workspace_id = $1', [workspaceId]);
      for (const k of keys) await this.writer.run('INSERT INTO protected_traits VALUES ($1, $2)', [workspaceId, k]);
    }));
  }

  async guardedSegments(workspaceId: string): Promise<string[]> {
    return (await this.all('SELECT key FROM guarded_segments WHERE workspace_id = $1 ORDER BY key', [workspaceId])).map((r) => String(r['key']));
  }

  async setSegmentGuard(workspaceId: string, key: string, on: boolean): Promise<void> {
    await this.writeLock.run(async () => {
      await this.writer.run('DELETE FROM guarded_segments WHERE workspace_id = $1 AND key = $2', [workspaceId, key]);
      if (on) await this.writer.run('INSERT INTO guarded_segments VALUES ($1, $2)', [workspaceId, key]);
    });
  }

  async scoreValues(workspaceId: string, model: string): Promise<Map<string, number>> {
    const rows = await this.all('SELECT profile_id, score FROM scores WHERE workspace_id = $1 AND model = $2', [workspaceId, model]);
    return new Map(rows.map((r) => [String(r['profile_id']), toNum(r['score'])]));
  }

  async replaceScores(workspaceId: string, model: string, profileIds: readonly string[], scores: Float64Array, at: number): Promise<void> {
    if (profileIds.length !== scores.length) throw new Error(`${profileIds.length} profiles but ${scores.length} scores`);
    const CHUNK = 250_000;
    await this.writeLock.run(() => inTransaction(this.writer, async () => {
      await this.writer.run('DELETE FROM scores WHERE workspace_id = $1 AND model = $2', [workspaceId, model]);
      for (let i = 0; i < profileIds.length; i += CHUNK) {
        const lines: string[] = [];
        for (let j = i; j < Math.min(i + CHUNK, profileIds.length); j++) {
          const v = scores[j] as number;
          if (Number.isFinite(v)) lines.push(JSON.stringify({ workspace_id: workspaceId, profile_id: profileIds[j], model, score: v, scored_at: ms(at) }));
        }
        if (lines.length) await this.insertNdjson('scores', SCORE_COLUMNS, lines);
      }
    }));
  }

  async purchaseSummary(workspaceId: string, opts: { event: string; calibrationEnd: number; asOf: number }): Promise<PurchaseSummaryRow[]> {
    // Whole UTC days, as the buy-till-you-die literature counts transactions: two orders on one day are
    // one purchase occasion.
    const rows = await this.all(
      `WITH d AS (
         SELECT profile_id, CAST(timestamp AT TIME ZONE 'UTC' AS DATE) AS day, min(epoch_ms(timestamp)) AS t, coalesce(sum(revenue), 0) AS revenue
         FROM events WHERE workspace_id = $1 AND type = 'track' AND event = $2 AND timestamp <= $4
         GROUP BY ALL),
       f AS (SELECT profile_id, min(day) AS first_day FROM d WHERE t <= epoch_ms($3::TIMESTAMPTZ) GROUP BY ALL)
       SELECT d.profile_id, min(d.t) FILTER (WHERE d.t <= epoch_ms($3::TIMESTAMPTZ)) AS first, max(d.t) FILTER (WHERE d.t <= epoch_ms($3::TIMESTAMPTZ)) AS last,
              count(*) FILTER (WHERE d.t <= epoch_ms($3::TIMESTAMPTZ)) AS days,
              sum(d.revenue) FILTER (WHERE d.t <= epoch_ms($3::TIMESTAMPTZ)) AS revenue,
              sum(d.revenue) FILTER (WHERE d.day = f.first_day) AS first_revenue,
              count(*) FILTER (WHERE d.t > epoch_ms($3::TIMESTAMPTZ)) AS holdout
       FROM d JOIN f USING (profile_id) GROUP BY d.profile_id ORDER BY d.profile_id`,
      [workspaceId, opts.event, ts(opts.calibrationEnd), ts(opts.asOf)]);
    return rows.map((r) => ({
      profileId: String(r['profile_id']), first: toNum(r['first']), last: toNum(r['last']), days: toNum(r['days']), revenue: toNum(r['revenue']),
      firstDayRevenue: toNum(r['first_revenue']), holdoutDays: toNum(r['holdout']),
    }));
  }

  async modelRuns(workspaceId: string, model: string | undefined, limit: number): Promise<ModelRunRecord[]> {
    const rows = await this.all(
      `SELECT model, run_id, as_of, CAST(config AS VARCHAR) AS config, CAST(summary AS VARCHAR) AS summary, profiles, started_at, duration_ms, error
       FROM model_runs WHERE workspace_id = $1${model === undefined ? '' : ' AND model = $3'} ORDER BY started_at DESC, run_id DESC LIMIT $2`,
      model === undefined ? [workspaceId, limit] : [workspaceId, limit, model]);
    return rows.map((r) => ({
      workspaceId, model: String(r['model']), runId: String(r['run_id']), asOf: toMs(r['as_of']), config: parseJson(r['config']),
      summary: r['summary'] === null ? null : parseJson(r['summary']), profiles: toNum(r['profiles']), startedAt: toMs(r['started_at']),
      durationMs: toNum(r['duration_ms']), error: r['error'] === null ? null : String(r['error']),
    }));
  }

  async identityDrops(workspaceId: string, limit: number): Promise<IdentityDrop[]> {
    const rows = await this.all('SELECT * FROM identity_drops WHERE workspace_id = $1 ORDER BY dropped_at DESC LIMIT $2', [workspaceId, limit]);
    return rows.map((r) => ({
      workspaceId, messageId: String(r['message_id']), type: String(r['type']), value: String(r['value']), reason: String(r['reason']), at: toMs(r['dropped_at']),
    }));
  }

  async workspaceStats(workspaceId: string): Promise<WorkspaceStats> {
    const rows = await this.all(
      `SELECT (SELECT count(*) FROM events WHERE workspace_id = $1) AS events,
              (SELECT count(*) FROM profiles WHERE workspace_id = $1 AND merged_into IS NULL) AS profiles,
              (SELECT count(*) FROM identities WHERE workspace_id = $1) AS identities,
              (SELECT count(*) FROM merges WHERE workspace_id = $1) AS merges,
              (SELECT min(timestamp) FROM events WHERE workspace_id = $1) AS first_event,
              (SELECT max(timestamp) FROM events WHERE workspace_id = $1) AS last_event`, [workspaceId]);
    const r = rows[0] ?? {};
    return {
      events: toNum(r['events'] ?? 0), profiles: toNum(r['profiles'] ?? 0), identities: toNum(r['identities'] ?? 0),
      merges: toNum(r['merges'] ?? 0), firstEvent: optMs(r['first_event']), lastEvent: optMs(r['last_event']),
    };
  }

  async eventTotals(workspaceId: string): Promise<EventTotal[]> {
    const rows = await this.all(
      `SELECT type, event, count(*) AS n, count(DISTINCT profile_id) AS profiles, coalesce(sum(revenue), 0) AS revenue
       FROM events WHERE workspace_id = $1 GROUP BY type, event ORDER BY n DESC, type, event`, [workspaceId]);
    return rows.map((r) => ({
      type: String(r['type']), event: r['event'] === null ? null : String(r['event']), count: toNum(r['n']),
      profiles: toNum(r['profiles']), revenue: toNum(r['revenue']),
    }));
  }

  // ---- segment insights (docs/insights.md) ----------------------------------------------------------

  async segmentInsightStats(workspaceId: string, segmentKey: string, q: InsightQuery): Promise<InsightStats> {
    const { asOf, rules, topValues } = q;
    // Sizes first: they decide whether features are read for every profile or for a sample.
    const sizes = (await this.all(
      `SELECT count(*) FILTER (WHERE m.profile_id IS NOT NULL) AS members, count(*) FILTER (WHERE m.profile_id IS NULL) AS rest FROM profiles pr
       LEFT JOIN (SELECT DISTINCT profile_id FROM memberships WHERE workspace_id = $1 AND segment_key = $2) m ON m.profile_id = pr.profile_id
       WHERE pr.workspace_id = $1 AND pr.merged_into IS NULL`, [workspaceId, segmentKey]))[0] ?? {};
    const rate = sampleRates(toNum(sizes['members'] ?? 0), toNum(sizes['rest'] ?? 0), q.maxProfiles);
    const sampled = rate.members < 1 || rate.rest < 1;
    const p = new Params(duckdbDialect);
    const ws = p.str(workspaceId);
    const nowMs = `CAST(${p.int(asOf)} AS BIGINT)`;
    const at = `make_timestamptz(${nowMs} * 1000)`;
    const host = (col: string) => `lower(nullif(regexp_extract(${col}, ${p.str('^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)')}, 1), ''))`;
    const medium = rules.mediumChannels.map((c) => `WHEN list_contains(${p.bind(c.mediums.map((x) => x.toLowerCase()), 'string[]')}, lower(campaign_medium)) THEN ${p.str(c.channel)}`).join(' ');
    // The columns the features read; hosts only for page views (the regular expression is the costly part).
    const raw = `SELECT e.profile_id, e.timestamp, epoch_ms(e.timestamp) AS ms, e.type, e.event, e.revenue, e.coupon, e.discount, e.categories, e.brands,
        e.country, e.device_type, e.campaign_medium, (e.campaign_medium IS NOT NULL OR e.campaign_source IS NOT NULL OR e.campaign_name IS NOT NULL) AS tagged,
        e.referrer IS NULL AS no_referrer,
        CASE WHEN e.type = 'page' THEN ${host('e.referrer')} END AS ref_host,
        CASE WHEN e.type = 'page' AND e.referrer IS NOT NULL THEN ${host('e.page_url')} END AS page_host
      FROM events e WHERE e.workspace_id = ${ws} AND e.timestamp <= ${at}${sampled ? ' AND e.profile_id IN (SELECT profile_id FROM picked)' : ''}`;
    // One row per event with what the features need: UTC weekday (0 = Monday, from the day number) and hour
    // by arithmetic on epoch milliseconds (AT TIME ZONE costs several times the whole scan), a device
    // class, and for an arrival (a page view not referred by the site itself) its channel: the
    // campaign's medium, else the referrer's kind, else direct. Pages inside a visit, screens and
    // tracks have none.
    const DAY = 86_400_000;
    const utc = utcWeekendHour('ms');
    const ev = `SELECT profile_id, timestamp, ${utc.weekend} AS weekend, ${utc.hour} AS hr,
        (type = 'track' AND event = ${p.str(rules.orderEvent)}) AS is_order, (type = 'track' AND event = ${p.str(rules.productViewEvent)}) AS is_view,
        revenue, (coupon IS NOT NULL OR coalesce(discount, 0) > 0) AS with_coupon, categories, brands, country,
        CASE WHEN device_type IS NULL THEN NULL
             WHEN list_contains(${p.bind(rules.deviceTypes.mobile, 'string[]')}, lower(device_type)) THEN 'mobile'
             WHEN list_contains(${p.bind(rules.deviceTypes.tablet, 'string[]')}, lower(device_type)) THEN 'tablet'
             WHEN list_contains(${p.bind(rules.deviceTypes.desktop, 'string[]')}, lower(device_type)) THEN 'desktop' ELSE 'other' END AS dev,
        CASE WHEN type <> 'page' THEN NULL
             WHEN NOT no_referrer AND ref_host IS NOT DISTINCT FROM page_host THEN NULL
             WHEN tagged THEN CASE ${medium} ELSE ${p.str(OTHER_CHANNELS.campaign)} END
             WHEN ref_host IS NULL THEN ${p.str(OTHER_CHANNELS.direct)}
             WHEN regexp_matches(ref_host, ${p.str(rules.searchHosts)}, 'i') THEN ${p.str(OTHER_CHANNELS.search)}
             WHEN regexp_matches(ref_host, ${p.str(rules.socialHosts)}, 'i') THEN ${p.str(OTHER_CHANNELS.social)}
             ELSE ${p.str(OTHER_CHANNELS.referral)} END AS channel
      FROM (${raw})`;
    // The most frequent key of a histogram (value → count); ties to the first in code-unit order.
    const main = (histogram: string) => `list_sort(list_transform(map_entries(${histogram}), x -> {'c': -CAST(x.value AS BIGINT), 'k': x.key}))[1].k`;
    const part = (name: keyof typeof DAY_PARTS) => `count(*) FILTER (WHERE hr BETWEEN ${DAY_PARTS[name][0]} AND ${DAY_PARTS[name][1]}) AS ${quoteIdent(`dp_${name}`)}`;
    const perProfile = `SELECT profile_id, count(*) AS events, count(*) FILTER (WHERE weekend) AS weekend_events,
        count(dev) AS device_events, count(*) FILTER (WHERE dev = 'mobile') AS mobile_events, count(*) FILTER (WHERE dev = 'tablet') AS tablet_events,
        count(*) FILTER (WHERE dev = 'desktop') AS desktop_events, count(*) FILTER (WHERE dev = 'other') AS other_events,
        ${part('night')}, ${part('morning')}, ${part('afternoon')}, ${part('evening')},
        count(*) FILTER (WHERE is_order) AS orders, coalesce(sum(revenue) FILTER (WHERE is_order), 0) AS revenue,
        count(*) FILTER (WHERE is_order AND with_coupon) AS coupon_orders, count(*) FILTER (WHERE is_order AND weekend) AS weekend_orders,
        count(*) FILTER (WHERE is_view) AS product_views,
        epoch_ms(min(timestamp)) AS first_ms, epoch_ms(max(timestamp)) AS last_ms, epoch_ms(max(timestamp) FILTER (WHERE is_order)) AS last_order_ms,
        arg_max(country, timestamp) FILTER (WHERE country IS NOT NULL) AS country,
        ${main('histogram(channel) FILTER (WHERE channel IS NOT NULL)')} AS channel,
        ${main(`list_aggregate(flatten(list(categories) FILTER (WHERE is_order)), 'histogram')`)} AS category,
        ${main(`list_aggregate(flatten(list(brands) FILTER (WHERE is_order)), 'histogram')`)} AS brand
      FROM (${ev}) GROUP BY profile_id`;
    const greatest = (...xs: string[]) => `greatest(${xs.join(', ')})`;
    const dayParts = ['night', 'morning', 'afternoon', 'evening'] as const;
    const dp = (n: (typeof dayParts)[number]) => quoteIdent(`dp_${n}`);
    // Ties go to the first in the written order, so every profile has one value.
    const dominantDevice = `CASE WHEN coalesce(f.device_events, 0) = 0 THEN NULL
        WHEN f.mobile_events >= ${greatest('f.tablet_events', 'f.desktop_events', 'f.other_events')} THEN 'mobile'
        WHEN f.tablet_events >= ${greatest('f.desktop_events', 'f.other_events')} THEN 'tablet'
        WHEN f.desktop_events >= f.other_events THEN 'desktop' ELSE 'other' END`;
    const dominantPart = `CASE WHEN coalesce(f.events, 0) = 0 THEN NULL
        ${dayParts.slice(0, -1).map((n, i) => `WHEN f.${dp(n)} >= ${greatest(...dayParts.slice(i + 1).map((o) => `f.${dp(o)}`))} THEN ${p.str(n)}`).join(' ')}
        ELSE ${p.str('evening')} END`;
    const trait = `SELECT entity_id, arg_max(value, updated_at) AS v FROM trait_updates
        WHERE workspace_id = ${ws} AND entity_type = 'profile' AND key = ${p.str(rules.countryTrait)} GROUP BY entity_id`;
    const members = `SELECT DISTINCT profile_id FROM memberships WHERE workspace_id = ${ws} AND segment_key = ${p.str(segmentKey)}`;
    // A deterministic sample by a hash of the profile id, at each group's rate (in millionths).
    const pick = (member: boolean) => `hash(pr.profile_id) % 1000000 < ${p.int(Math.round((member ? rate.members : rate.rest) * 1e6))}`;
    // (built only when sampled: an unused bound parameter is an error)
    const picked = sampled ? `SELECT pr.profile_id FROM profiles pr LEFT JOIN (${members}) m ON m.profile_id = pr.profile_id
      WHERE pr.workspace_id = ${ws} AND pr.merged_into IS NULL AND CASE WHEN m.profile_id IS NOT NULL THEN ${pick(true)} ELSE ${pick(false)} END` : '';
    const prof = `SELECT pr.profile_id, m.profile_id IS NOT NULL AS member,
        coalesce(f.events, 0) AS events, coalesce(f.orders, 0) AS orders, coalesce(f.revenue, 0) AS revenue, coalesce(f.device_events, 0) AS device_events,
        f.weekend_events, f.mobile_events + f.tablet_events AS handheld_events, f.coupon_orders, f.weekend_orders, f.product_views,
        f.first_ms, f.last_ms, f.last_order_ms, f.channel, f.category, f.brand,
        coalesce(CASE WHEN json_type(t.v) = 'VARCHAR' THEN nullif(json_extract_string(t.v, '$'), '') END, f.country) AS country,
        ${dominantDevice} AS device, ${dominantPart} AS daypart
      FROM profiles pr
      LEFT JOIN (${perProfile}) f ON f.profile_id = pr.profile_id
      LEFT JOIN (${members}) m ON m.profile_id = pr.profile_id
      LEFT JOIN (${trait}) t ON t.entity_id = pr.profile_id
      WHERE pr.workspace_id = ${ws} AND pr.merged_into IS NULL${sampled ? ` AND pr.profile_id IN (SELECT profile_id FROM picked)` : ''}`;
    const metrics: Record<MetricKey, string> = {
      orders: 'CAST(orders AS DOUBLE)',
      revenue: 'CAST(revenue AS DOUBLE)',
      orders_per_year: `CASE WHEN orders > 0 THEN orders / (greatest(${nowMs} - first_ms, ${p.int(rules.minTenureDays * DAY)}) / ${p.float(365.25 * DAY)}) END`,
      aov: 'CASE WHEN orders > 0 THEN revenue / orders END',
      coupon_share: 'CASE WHEN orders > 0 THEN coupon_orders / orders END',
      weekend_share: 'CASE WHEN events > 0 THEN weekend_events / events END',
      weekend_order_share: 'CASE WHEN orders > 0 THEN weekend_orders / orders END',
      mobile_share: 'CASE WHEN device_events > 0 THEN handheld_events / device_events END',
      events: 'CASE WHEN events > 0 THEN CAST(events AS DOUBLE) END',
      product_views: 'CASE WHEN events > 0 THEN CAST(product_views AS DOUBLE) END',
      recency_days: `CASE WHEN events > 0 THEN (${nowMs} - last_ms) / ${p.float(DAY)} END`,
      days_since_order: `CASE WHEN orders > 0 THEN (${nowMs} - last_order_ms) / ${p.float(DAY)} END`,
    };
    const populations: Record<Population, string> = {
      all: 'true', active: 'events > 0', visitors: 'channel IS NOT NULL', buyers: 'orders > 0', devices: 'device_events > 0', located: 'country IS NOT NULL',
    };
    const flags: Record<FlagKey, string> = { buyer: 'orders > 0', repeat_buyer: 'orders > 1' };
    const dims: Record<DimensionKey, { expr: string; population: Population }> = {
      category: { expr: 'category', population: 'buyers' },
      brand: { expr: 'brand', population: 'buyers' },
      channel: { expr: 'channel', population: 'visitors' },
      device: { expr: 'device', population: 'devices' },
      country: { expr: 'country', population: 'located' },
      daypart: { expr: 'daypart', population: 'active' },
    };
    const struct = (kind: string, name: string, n: string, s1 = 'NULL', s2 = 'NULL') =>
      `{'kind': ${p.str(kind)}, 'name': ${p.str(name)}, 'n': CAST(${n} AS BIGINT), 's1': CAST(${s1} AS DOUBLE), 's2': CAST(${s2} AS DOUBLE)}`;
    // Every per-group number in one aggregate row per group, unpivoted through a list of structs.
    const groupItems = [
      struct('size', 'profiles', 'count(*)', 'sum(orders)', 'sum(revenue)'),
      ...Object.entries(populations).map(([k, cond]) => struct('population', k, `count(*) FILTER (WHERE ${cond})`)),
      ...Object.entries(metrics).map(([k, x]) => struct('metric', k, `count(${x})`, `avg(${x})`, `coalesce(stddev_samp(${x}), 0)`)),
      ...Object.entries(flags).map(([k, cond]) => struct('flag', k, `count(*) FILTER (WHERE ${cond})`)),
    ];
    const values = Object.entries(dims).map(([k, d]) => `SELECT ${p.str(k)} AS dim, ${d.expr} AS val, member FROM prof WHERE ${populations[d.population]}`).join(' UNION ALL ');
    const k = p.int(topValues);
    // Sampled: orders and revenue of each group still from every order (they are shares of the whole).
    const totals = sampled ? `UNION ALL SELECT m.profile_id IS NOT NULL, 'total', 'orders', NULL, count(*), coalesce(sum(e.revenue), 0), NULL
        FROM events e JOIN profiles pr ON pr.workspace_id = e.workspace_id AND pr.profile_id = e.profile_id LEFT JOIN (${members}) m ON m.profile_id = e.profile_id
        WHERE e.workspace_id = ${ws} AND e.timestamp <= ${at} AND e.type = 'track' AND e.event = ${p.str(rules.orderEvent)} AND pr.merged_into IS NULL GROUP BY ALL` : '';
    const sql = `WITH ${sampled ? `picked AS MATERIALIZED (${picked}), ` : ''}prof AS MATERIALIZED (${prof}),
      cons AS (
        SELECT profile_id, prefs, max(timestamp) AS ts FROM (
          SELECT profile_id, timestamp, json_extract(context, '$.consent.categoryPreferences') AS prefs FROM events
          WHERE workspace_id = ${ws} AND timestamp <= ${at} AND contains(CAST(context AS VARCHAR), 'categoryPreferences')${sampled ? ' AND profile_id IN (SELECT profile_id FROM picked)' : ''}
        ) WHERE json_type(prefs) = 'OBJECT' GROUP BY ALL),
      purposes AS (
        -- the latest boolean per purpose (segment condition \`consent\`); at a tie in time, granted wins
        SELECT c.profile_id, j.key AS purpose, arg_max(CAST(j.value AS BOOLEAN), epoch_us(c.ts) * 2 + CAST(CAST(j.value AS BOOLEAN) AS BIGINT)) AS granted
        FROM cons c, json_each(c.prefs) j WHERE json_type(j.value) = 'BOOLEAN' GROUP BY ALL),
      vc AS (SELECT dim, val, count(*) FILTER (WHERE member) AS m, count(*) FILTER (WHERE NOT member) AS r FROM (${values}) WHERE val IS NOT NULL GROUP BY ALL),
      top AS (SELECT * FROM vc QUALIFY row_number() OVER (PARTITION BY dim ORDER BY m + r DESC, val) <= ${k} OR row_number() OVER (PARTITION BY dim ORDER BY m DESC, val) <= ${k})
      SELECT member, x.kind, x.name, NULL AS val, x.n, x.s1, x.s2 FROM (SELECT member, unnest([${groupItems.join(', ')}]) AS x FROM prof GROUP BY member)
      UNION ALL SELECT pr.member, 'consent', NULL, q.purpose, count(*) FILTER (WHERE q.granted), NULL, NULL FROM purposes q JOIN prof pr USING (profile_id) GROUP BY ALL
      UNION ALL SELECT true, 'value', dim, val, m, NULL, NULL FROM top
      UNION ALL SELECT false, 'value', dim, val, r, NULL, NULL FROM top
      ${totals}`;
    const rows = await this.all(sql, toDuckParams(p.list));
    const empty = (sampleRate: number): InsightStats['members'] => ({
      profiles: 0, orders: 0, revenue: 0, sampleRate,
      populations: { all: 0, active: 0, visitors: 0, buyers: 0, devices: 0, located: 0 },
      metrics: Object.fromEntries(Object.keys(metrics).map((m) => [m, { n: 0, mean: 0, sd: 0 }])) as Record<MetricKey, Moments>,
      flags: { buyer: 0, repeat_buyer: 0 },
      consent: new Map(),
      values: { category: new Map(), brand: new Map(), channel: new Map(), device: new Map(), country: new Map(), daypart: new Map() },
    });
    const out: InsightStats = { members: empty(rate.members), rest: empty(rate.rest) };
    const isKey = <K extends string>(o: Record<K, unknown>, key: string): key is K => Object.hasOwn(o, key);
    for (const r of rows) {
      const g = r['member'] === true ? out.members : out.rest;
      const name = String(r['name']);
      const n = toNum(r['n'] ?? 0);
      const [s1, s2] = ['s1', 's2'].map((c) => (r[c] === null || r[c] === undefined ? 0 : toNum(r[c]))) as [number, number];
      switch (r['kind']) {
        case 'size': if (!sampled) Object.assign(g, { orders: s1, revenue: s2 }); break;
        case 'total': Object.assign(g, { orders: n, revenue: s1 }); break;
        case 'population': if (isKey(g.populations, name)) g.populations[name] = n; break;
        case 'metric': if (isKey(g.metrics, name)) g.metrics[name] = { n, mean: s1, sd: s2 }; break;
        case 'flag': if (isKey(g.flags, name)) g.flags[name] = n; break;
        case 'consent': g.consent.set(String(r['val']), n); break;
        case 'value': if (isKey(g.values, name)) g.values[name].set(String(r['val']), n); break;
      }
    }
    // exact sizes, whether sampled or not
    out.members.profiles = toNum(sizes['members'] ?? 0);
    out.rest.profiles = toNum(sizes['rest'] ?? 0);
    return out;
  }

  async compact(): Promise<void> {
    // not while typed columns are back-filled (it walks row ids; a compaction renumbers them)
    await this.typed.maintenance.run(() => this.writeLock.run(async () => {
      await inTransaction(this.writer, async () => {
        await this.writer.run('CREATE TEMP TABLE events_sorted AS SELECT * FROM events ORDER BY workspace_id, profile_id, timestamp');
        await this.writer.run('DELETE FROM events');
        await this.writer.run('INSERT INTO events SELECT * FROM events_sorted');
        await this.writer.run('DROP TABLE events_sorted');
      });
      await this.writer.run('CHECKPOINT');
    }));
  }
}

/**
 * A process killed with SIGKILL never removes its staging folder (and the file of the insert it was
 * in): in memory-backed /dev/shm that is RAM lost per crash. Remove the folders of processes that are gone.
 */
function removeOrphanedStaging(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^segmenta-staging-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
    } catch {
      // another process's folder we may not remove: leave it
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Sampling rates of segment insights: everyone up to `maxProfiles`; above, members are kept whole up to
 * half the budget (else sampled to it) and the rest fills the remainder.
 */
function sampleRates(members: number, rest: number, maxProfiles: number): { members: number; rest: number } {
  if (members + rest <= maxProfiles) return { members: 1, rest: 1 };
  const m = members > maxProfiles / 2 ? maxProfiles / 2 / members : 1;
  const r = rest > 0 ? Math.min(1, (maxProfiles - members * m) / rest) : 1;
  return { members: m, rest: r };
}

/** Bound as one LIST parameter: any number of ids, still a single bound value. */
function listOf(values: string[]): DuckDBValue {
  return listValue(values);
}

/** Columns of `events` (migration 1) with their types, in table order; the NDJSON keys are the same names. */
type Columns = ReadonlyArray<readonly [string, string]>;
const EVENT_COLUMNS: Columns = [
  ['workspace_id', 'VARCHAR'], ['message_id', 'VARCHAR'], ['type', 'VARCHAR'], ['event', 'VARCHAR'], ['event_original', 'VARCHAR'],
  ['name', 'VARCHAR'], ['profile_id', 'VARCHAR'], ['user_id', 'VARCHAR'], ['anonymous_id', 'VARCHAR'], ['group_id', 'VARCHAR'],
  ['previous_id', 'VARCHAR'], ['timestamp', 'TIMESTAMPTZ'], ['received_at', 'TIMESTAMPTZ'], ['sent_at', 'TIMESTAMPTZ'],
  ['original_timestamp', 'TIMESTAMPTZ'], ['source', 'VARCHAR'], ['properties', 'JSON'], ['context', 'JSON'], ['traits', 'JSON'],
  ['integrations', 'JSON'], ['revenue', 'DOUBLE'], ['total', 'DOUBLE'], ['order_id', 'VARCHAR'], ['currency', 'VARCHAR'],
  ['coupon', 'VARCHAR'], ['discount', 'DOUBLE'], ['quantity', 'DOUBLE'], ['product_ids', 'VARCHAR[]'], ['categories', 'VARCHAR[]'],
  ['brands', 'VARCHAR[]'], ['page_url', 'VARCHAR'], ['page_path', 'VARCHAR'], ['referrer', 'VARCHAR'], ['campaign_name', 'VARCHAR'],
  ['campaign_source', 'VARCHAR'], ['campaign_medium', 'VARCHAR'], ['campaign_term', 'VARCHAR'], ['campaign_content', 'VARCHAR'],
  ['ip', 'VARCHAR'], ['user_agent', 'VARCHAR'], ['browser', 'VARCHAR'], ['browser_version', 'VARCHAR'], ['os', 'VARCHAR'],
  ['os_version', 'VARCHAR'], ['device_type', 'VARCHAR'], ['device_vendor', 'VARCHAR'], ['device_model', 'VARCHAR'],
  ['country', 'VARCHAR'], ['region', 'VARCHAR'], ['city', 'VARCHAR'], ['locale', 'VARCHAR'], ['timezone', 'VARCHAR'],
];
const PROFILE_COLUMNS: Columns = [['workspace_id', 'VARCHAR'], ['profile_id', 'VARCHAR'], ['created_at', 'TIMESTAMPTZ'], ['merged_into', 'VARCHAR']];
const IDENTITY_COLUMNS: Columns = [
  ['workspace_id', 'VARCHAR'], ['type', 'VARCHAR'], ['value', 'VARCHAR'], ['profile_id', 'VARCHAR'], ['first_seen', 'TIMESTAMPTZ'], ['source', 'VARCHAR'],
];
const TRAIT_COLUMNS: Columns = [
  ['workspace_id', 'VARCHAR'], ['entity_type', 'VARCHAR'], ['entity_id', 'VARCHAR'], ['key', 'VARCHAR'], ['value', 'VARCHAR'],
  ['source', 'VARCHAR'], ['message_id', 'VARCHAR'], ['updated_at', 'TIMESTAMPTZ'],
];
/** The per-line columns of model_traits rows (the run's workspace, model, run id and time are bound). */
const MODEL_TRAIT_COLUMNS: Columns = [['profile_id', 'VARCHAR'], ['traits', 'JSON']];
const SCORE_COLUMNS: Columns = [['workspace_id', 'VARCHAR'], ['profile_id', 'VARCHAR'], ['model', 'VARCHAR'], ['score', 'DOUBLE'], ['scored_at', 'TIMESTAMPTZ']];
const DROP_COLUMNS: Columns = [
  ['workspace_id', 'VARCHAR'], ['message_id', 'VARCHAR'], ['type', 'VARCHAR'], ['value', 'VARCHAR'], ['reason', 'VARCHAR'], ['dropped_at', 'TIMESTAMPTZ'],
];

/** Milliseconds as an integer (JSON stays integral; DuckDB multiplies to microseconds exactly). */
function ms(value: number): number {
  return Math.round(value);
}

function eventJson(e: EventRow): Record<string, unknown> {
  return {
    workspace_id: e.workspaceId, message_id: e.messageId, type: e.type, event: e.event, event_original: e.eventOriginal,
    name: e.name, user_id: e.userId, anonymous_id: e.anonymousId, group_id: e.groupId,
    previous_id: e.previousId, timestamp: ms(e.timestamp), received_at: ms(e.receivedAt), sent_at: e.sentAt === null ? null : ms(e.sentAt),
    original_timestamp: e.originalTimestamp === null ? null : ms(e.originalTimestamp), source: e.source, properties: e.properties, context: e.context,
    traits: e.traits, integrations: e.integrations, revenue: e.revenue, total: e.total, order_id: e.orderId, currency: e.currency,
    coupon: e.coupon, discount: e.discount, quantity: e.quantity, product_ids: e.productIds, categories: e.categories,
    brands: e.brands, page_url: e.pageUrl, page_path: e.pagePath, referrer: e.referrer, campaign_name: e.campaignName,
    campaign_source: e.campaignSource, campaign_medium: e.campaignMedium, campaign_term: e.campaignTerm,
    campaign_content: e.campaignContent, ip: e.ip, user_agent: e.userAgent, browser: e.browser, browser_version: e.browserVersion,
    os: e.os, os_version: e.osVersion, device_type: e.deviceType, device_vendor: e.deviceVendor, device_model: e.deviceModel,
    country: e.country, region: e.region, city: e.city, locale: e.locale, timezone: e.timezone,
  };
}

/**
 * Saturday or Sunday, and the hour, in UTC, of an epoch-ms column by integer arithmetic (AT TIME ZONE
 * costs several times a whole scan): the day number floored (1970-01-01 was a Thursday, so Monday is
 * (day + 3) mod 7 = 0), both moduli kept non-negative (no stored time is before 1970, by the
 * messages' check; the guard costs nothing).
 */
function utcWeekendHour(ms: string): { weekend: string; hour: string } {
  const DAY = 86_400_000;
  const inDay = `((${ms} % ${DAY}) + ${DAY}) % ${DAY}`;
  return { weekend: `((((${ms} - ${inDay}) // ${DAY}) + 3) % 7 + 7) % 7 >= 5`, hour: `${inDay} // 3600000` };
}

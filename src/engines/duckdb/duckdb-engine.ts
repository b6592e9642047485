/**
 * The embedded engine: one DuckDB file holds everything (DESIGN.md §Engines). Writes go through one
 * connection, serialised, with the appender inside a transaction (a group commit is one transaction,
 * durable in DuckDB's WAL when COMMIT returns); reads use a second connection and see committed data.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  LIST,
  listValue,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { EventRow } from '../../domain/normalize.js';
import type {
  CredentialRecord,
  EventCount,
  IdentityDrop,
  IdentityRecord,
  IngestCommit,
  MergeRecord,
  StoragePort,
  StoredEvent,
  TraitValue,
  WorkspaceRecord,
  WorkspaceStats,
} from '../../ports/storage.js';
import { MIGRATIONS } from './migrations.js';

type Row = Record<string, unknown>;
const VARCHAR_LIST = LIST(VARCHAR);

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

/** A small promise-chain mutex: DuckDB allows one open transaction per connection. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export interface DuckDBEngineOptions {
  /** Folder of the database; ':memory:' for a throw-away in-memory database (tests). */
  dataDir: string;
  threads?: number;
  memoryLimit?: string;
}

export class DuckDBEngine implements StoragePort {
  readonly engine = 'duckdb';
  private readonly writeLock = new Serial();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  static async open(opts: DuckDBEngineOptions): Promise<DuckDBEngine> {
    let path = ':memory:';
    if (opts.dataDir !== ':memory:') {
      mkdirSync(opts.dataDir, { recursive: true });
      path = join(opts.dataDir, 'segmenta.duckdb');
    }
    const config: Record<string, string> = {};
    if (opts.threads) config['threads'] = String(opts.threads);
    if (opts.memoryLimit) config['memory_limit'] = opts.memoryLimit;
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
    const engine = new DuckDBEngine(instance, writer, reader);
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
      return applied;
    });
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.all('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
    return toNum(rows[0]?.['v'] ?? 0);
  }

  async close(): Promise<void> {
    await this.writeLock.run(async () => {
      this.writer.closeSync();
      this.reader.closeSync();
      this.instance.closeSync();
    });
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
    if (!r) return undefined;
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
    await this.writeLock.run(async () => {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await this.appendAll(commit);
        for (const m of commit.merges) await this.applyMerge(m);
        await this.writer.run('COMMIT');
      } catch (err) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async appendAll(c: IngestCommit): Promise<void> {
    if (c.events.length) await this.append('events', (a) => { for (const e of c.events) appendEvent(a, e); });
    if (c.profiles.length) {
      await this.append('profiles', (a) => {
        for (const p of c.profiles) {
          a.appendVarchar(p.workspaceId); a.appendVarchar(p.profileId); a.appendTimestampTZ(ts(p.createdAt)); a.appendNull(); a.endRow();
        }
      });
    }
    if (c.identities.length) {
      await this.append('identities', (a) => {
        for (const i of c.identities) {
          a.appendVarchar(i.workspaceId); a.appendVarchar(i.type); a.appendVarchar(i.value); a.appendVarchar(i.profileId);
          a.appendTimestampTZ(ts(i.firstSeen)); a.appendVarchar(i.source); a.endRow();
        }
      });
    }
    if (c.traits.length) {
      await this.append('trait_updates', (a) => {
        for (const t of c.traits) {
          a.appendVarchar(t.workspaceId); a.appendVarchar(t.entityType); a.appendVarchar(t.entityId); a.appendVarchar(t.key);
          a.appendVarchar(t.value); a.appendVarchar(t.source); a.appendVarchar(t.messageId); a.appendTimestampTZ(ts(t.at)); a.endRow();
        }
      });
    }
    if (c.drops.length) {
      await this.append('identity_drops', (a) => {
        for (const d of c.drops) {
          a.appendVarchar(d.workspaceId); a.appendVarchar(d.messageId); a.appendVarchar(d.type); a.appendVarchar(d.value);
          a.appendVarchar(d.reason); a.appendTimestampTZ(ts(d.at)); a.endRow();
        }
      });
    }
  }

  private async append(table: string, fill: (a: DuckDBAppender) => void): Promise<void> {
    const a = await this.writer.createAppender(table);
    try {
      fill(a);
      a.flushSync();
    } finally {
      a.closeSync();
    }
  }

  private async applyMerge(m: MergeRecord): Promise<void> {
    const p = [m.to, m.workspaceId, m.from];
    await this.writer.run('UPDATE events SET profile_id = $1 WHERE workspace_id = $2 AND profile_id = $3', p);
    await this.writer.run('UPDATE identities SET profile_id = $1 WHERE workspace_id = $2 AND profile_id = $3', p);
    await this.writer.run(`UPDATE trait_updates SET entity_id = $1 WHERE workspace_id = $2 AND entity_type = 'profile' AND entity_id = $3`, p);
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
      'SELECT DISTINCT message_id FROM events WHERE workspace_id = $1 AND list_contains($2, message_id)',
      [workspaceId, listOf(ids)]);
    return new Set(r.getRowsJS().map((row) => String(row[0])));
  }

  async scanIdentities(onPage: (rows: IdentityRecord[]) => void): Promise<void> {
    const result = await this.reader.stream('SELECT workspace_id, type, value, profile_id, epoch_ms(first_seen), source FROM identities');
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const rows = chunk.getRows().map((r) => ({
        workspaceId: String(r[0]), type: String(r[1]), value: String(r[2]), profileId: String(r[3]), firstSeen: toNum(r[4]), source: String(r[5]),
      }));
      onPage(rows);
    }
  }

  async profileExists(workspaceId: string, profileId: string): Promise<boolean> {
    const rows = await this.all('SELECT 1 FROM profiles WHERE workspace_id = $1 AND profile_id = $2 AND merged_into IS NULL', [workspaceId, profileId]);
    return rows.length > 0;
  }

  async profileIdentities(workspaceId: string, profileId: string): Promise<IdentityRecord[]> {
    const rows = await this.all(
      'SELECT * FROM identities WHERE workspace_id = $1 AND profile_id = $2 ORDER BY first_seen, type, value', [workspaceId, profileId]);
    return rows.map((r) => ({
      workspaceId, type: String(r['type']), value: String(r['value']), profileId, firstSeen: toMs(r['first_seen']), source: String(r['source']),
    }));
  }

  async profileTraits(workspaceId: string, profileId: string): Promise<TraitValue[]> {
    const rows = await this.all(
      `SELECT key, value, source, message_id, updated_at FROM traits WHERE workspace_id = $1 AND entity_type = 'profile' AND entity_id = $2 ORDER BY key`,
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

  async compact(): Promise<void> {
    await this.writeLock.run(async () => {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await this.writer.run('CREATE TEMP TABLE events_sorted AS SELECT * FROM events ORDER BY workspace_id, profile_id, timestamp');
        await this.writer.run('DELETE FROM events');
        await this.writer.run('INSERT INTO events SELECT * FROM events_sorted');
        await this.writer.run('DROP TABLE events_sorted');
        await this.writer.run('COMMIT');
      } catch (err) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      await this.writer.run('CHECKPOINT');
    });
  }
}

/** Bound as one LIST parameter: any number of ids, still a single bound value. */
function listOf(values: string[]): DuckDBValue {
  return listValue(values);
}

function vs(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull(); else a.appendVarchar(v);
}

function vd(a: DuckDBAppender, v: number | null): void {
  if (v === null) a.appendNull(); else a.appendDouble(v);
}

function vt(a: DuckDBAppender, v: number | null): void {
  if (v === null) a.appendNull(); else a.appendTimestampTZ(ts(v));
}

function vl(a: DuckDBAppender, v: string[]): void {
  a.appendList(v, VARCHAR_LIST);
}

/** Column order must match migration 1's `events` table. */
function appendEvent(a: DuckDBAppender, e: EventRow): void {
  a.appendVarchar(e.workspaceId); a.appendVarchar(e.messageId); a.appendVarchar(e.type); vs(a, e.event); vs(a, e.eventOriginal);
  vs(a, e.name); a.appendVarchar(e.profileId); vs(a, e.userId); vs(a, e.anonymousId); vs(a, e.groupId); vs(a, e.previousId);
  vt(a, e.timestamp); vt(a, e.receivedAt); vt(a, e.sentAt); vt(a, e.originalTimestamp); a.appendVarchar(e.source);
  a.appendVarchar(e.properties); a.appendVarchar(e.context); a.appendVarchar(e.traits); a.appendVarchar(e.integrations);
  vd(a, e.revenue); vd(a, e.total); vs(a, e.orderId); vs(a, e.currency); vs(a, e.coupon); vd(a, e.discount); vd(a, e.quantity);
  vl(a, e.productIds); vl(a, e.categories); vl(a, e.brands);
  vs(a, e.pageUrl); vs(a, e.pagePath); vs(a, e.referrer);
  vs(a, e.campaignName); vs(a, e.campaignSource); vs(a, e.campaignMedium); vs(a, e.campaignTerm); vs(a, e.campaignContent);
  vs(a, e.ip); vs(a, e.userAgent); vs(a, e.browser); vs(a, e.browserVersion); vs(a, e.os); vs(a, e.osVersion);
  vs(a, e.deviceType); vs(a, e.deviceVendor); vs(a, e.deviceModel); vs(a, e.country); vs(a, e.region); vs(a, e.city);
  vs(a, e.locale); vs(a, e.timezone);
  a.endRow();
}

/**
 * Runs compiled segment SQL on both engines over the same scenario tables: DuckDB (the real migrations
 * of the embedded engine, in memory) and ClickHouse (chdb, the schema of the scale-out engine).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Session } from 'chdb';
import { MIGRATIONS } from '../../src/engines/duckdb/migrations.js';
import { CLICKHOUSE_SCHEMA } from '../../src/engines/clickhouse/schema.js';
import { toDuckParams } from '../../src/engines/duckdb/params.js';
import { toClickHouseParams } from '../../src/engines/clickhouse/params.js';
import type { CompiledQuery } from '../../src/domain/segments/compile.js';
import type { JsonValue } from '../../src/domain/errors.js';
import type { EvalProfile } from '../../src/domain/segments/reference.js';

export interface ScenarioEvent {
  pid: string;
  mid: string;
  type: 'track' | 'page' | 'screen' | 'identify';
  event?: string;
  name?: string;
  ts: number;
  properties: Record<string, JsonValue>;
  context: Record<string, JsonValue>;
  /** Commit order (incremental state); unset = before any state. */
  seq?: number;
}

export interface ScenarioData {
  workspaceId: string;
  profiles: string[];
  events: ScenarioEvent[];
  /** Trait updates (at: epoch ms of the update, default 0). */
  traits: Array<{ pid: string; key: string; value: JsonValue; at?: number }>;
  scores: Array<{ pid: string; model: string; score: number }>;
  /** Behavioural model outputs: one row per profile and model (model_traits). */
  modelTraits?: Array<{ pid: string; model: string; traits: Record<string, JsonValue>; at: number }>;
}

/** The tables of profiles as the reference evaluator sees them (one source for both sides of a comparison). */
export function scenarioOf(workspaceId: string, profiles: EvalProfile[]): ScenarioData {
  return {
    workspaceId,
    profiles: profiles.map((p) => p.profileId),
    events: profiles.flatMap((p) => p.events.map((e) => ({
      pid: p.profileId, mid: e.messageId, type: e.type as ScenarioEvent['type'],
      ...(e.event !== undefined ? { event: e.event } : {}), ...(e.name !== undefined ? { name: e.name } : {}),
      ts: e.timestamp, properties: e.properties, context: e.context,
    }))),
    traits: profiles.flatMap((p) => Object.entries(p.traits).map(([key, value]) => ({ pid: p.profileId, key, value }))),
    scores: profiles.flatMap((p) => Object.entries(p.scores).map(([model, score]) => ({ pid: p.profileId, model, score }))),
  };
}

export interface ResultRow {
  pid: string;
  segments: Record<string, boolean>;
  computed: Record<string, JsonValue | undefined>;
}

export interface EngineRunner {
  name: 'duckdb' | 'clickhouse';
  load(data: ScenarioData): Promise<void>;
  run(q: CompiledQuery): Promise<ResultRow[]>;
  /** Create a table from a compiled plan: `CREATE TABLE name AS SELECT <select> FROM (plan)`. */
  createFrom(name: string, select: string, q: CompiledQuery): Promise<void>;
  close(): Promise<void>;
}

const NUMERIC_KINDS = new Set(['count', 'sum', 'avg', 'min', 'max', 'unique_count', 'days_since_last', 'days_since_first']);

function normalize(q: CompiledQuery, rows: Array<Record<string, unknown>>): ResultRow[] {
  return rows.map((r) => ({
    pid: String(r['pid']),
    segments: Object.fromEntries(q.segmentColumns.map((s) => [s.key, r[s.column] === true || r[s.column] === 1 || r[s.column] === '1' || r[s.column] === 'true'])),
    computed: Object.fromEntries(q.computedColumns.map((c) => {
      const v = r[c.column];
      if (v === null || v === undefined) return [c.key, undefined];
      if (NUMERIC_KINDS.has(c.kind)) return [c.key, Number(v)];
      return [c.key, JSON.parse(String(v)) as JsonValue];
    })),
  }));
}

export async function duckRunner(): Promise<EngineRunner> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const c: DuckDBConnection = await db.connect();
  for (const m of MIGRATIONS) for (const s of m.statements) await c.run(s);
  return {
    name: 'duckdb',
    async load(data) {
      const ws = data.workspaceId;
      for (const pid of data.profiles) await c.run(`INSERT INTO profiles VALUES ($1, $2, make_timestamptz(0::BIGINT), NULL)`, [ws, pid]);
      for (const e of data.events) {
        await c.run(`INSERT INTO events (workspace_id, message_id, type, event, name, profile_id, timestamp, received_at, source, properties, context, seq)
          VALUES ($1, $2, $3, $4, $5, $6, make_timestamptz($7::BIGINT * 1000), make_timestamptz($7::BIGINT * 1000), 'test', $8, $9, $10)`,
        [ws, e.mid, e.type, e.event ?? null, e.name ?? null, e.pid, BigInt(e.ts), JSON.stringify(e.properties), JSON.stringify(e.context), e.seq === undefined ? null : BigInt(e.seq)]);
      }
      for (const t of data.traits) {
        await c.run(`INSERT INTO trait_updates VALUES ($1, 'profile', $2, $3, $4, 'test', 'm', make_timestamptz($5::BIGINT * 1000))`, [ws, t.pid, t.key, JSON.stringify(t.value), BigInt(t.at ?? 0)]);
      }
      for (const m of data.modelTraits ?? []) {
        await c.run(`INSERT INTO model_traits VALUES ($1, $2, $3, 'run', make_timestamptz($4::BIGINT * 1000), $5)`, [ws, m.model, m.pid, BigInt(m.at), JSON.stringify(m.traits)]);
      }
      for (const s of data.scores) await c.run(`INSERT INTO scores VALUES ($1, $2, $3, $4, make_timestamptz(0::BIGINT))`, [ws, s.pid, s.model, s.score]);
    },
    async run(q) {
      const r = await c.runAndReadAll(q.sql, toDuckParams(q.params));
      return normalize(q, r.getRowObjectsJS() as Array<Record<string, unknown>>);
    },
    async createFrom(name, select, q) {
      await c.run(`CREATE TABLE ${name} AS SELECT ${select} FROM (${q.sql})`, toDuckParams(q.params));
    },
    async close() {
      c.closeSync();
      db.closeSync();
    },
  };
}

export async function chdbRunner(): Promise<EngineRunner> {
  const s = new Session();
  for (const stmt of CLICKHOUSE_SCHEMA) s.query(stmt);
  return {
    name: 'clickhouse',
    async load(data) {
      const ws = data.workspaceId;
      const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');
      const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
      if (data.profiles.length) s.query(`INSERT INTO profiles FORMAT JSONEachRow ${lines(data.profiles.map((pid) => ({ workspace_id: ws, profile_id: pid, created_at: iso(0), merged_into: null })))}`);
      if (data.events.length) {
        s.query(`INSERT INTO events FORMAT JSONEachRow ${lines(data.events.map((e) => ({
          workspace_id: ws, message_id: e.mid, type: e.type, event: e.event ?? null, name: e.name ?? null, profile_id: e.pid,
          user_id: null, anonymous_id: null, timestamp: iso(e.ts), received_at: iso(e.ts), source: 'test',
          properties: JSON.stringify(e.properties), context: JSON.stringify(e.context), traits: '{}', seq: e.seq ?? null,
        })))}`);
      }
      if (data.traits.length) {
        s.query(`INSERT INTO trait_updates FORMAT JSONEachRow ${lines(data.traits.map((t) => ({
          workspace_id: ws, entity_type: 'profile', entity_id: t.pid, key: t.key, value: JSON.stringify(t.value), source: 'test', message_id: 'm', updated_at: iso(t.at ?? 0),
        })))}`);
      }
      if (data.modelTraits?.length) {
        s.query(`INSERT INTO model_traits FORMAT JSONEachRow ${lines(data.modelTraits.map((m) => ({
          workspace_id: ws, model: m.model, profile_id: m.pid, run_id: 'run', computed_at: iso(m.at), traits: JSON.stringify(m.traits),
        })))}`);
      }
      if (data.scores.length) s.query(`INSERT INTO scores FORMAT JSONEachRow ${lines(data.scores.map((x) => ({ workspace_id: ws, profile_id: x.pid, model: x.model, score: x.score, scored_at: iso(0) })))}`);
    },
    async run(q) {
      const text = s.queryBind(q.sql, toClickHouseParams(q.params), 'JSONEachRow');
      const rows = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      return normalize(q, rows);
    },
    async createFrom(name, select, q) {
      // the plan's SETTINGS go on the outer SELECT (a subquery takes none)
      const settings = q.sql.slice(q.sql.lastIndexOf(' SETTINGS '));
      const inner = q.sql.slice(0, q.sql.lastIndexOf(' SETTINGS '));
      s.queryBind(`CREATE TABLE ${name} ENGINE = Memory AS SELECT ${select} FROM (${inner})${settings}`, toClickHouseParams(q.params));
    },
    async close() {
      s.cleanup();
    },
  };
}

/**
 * Segment storage on DuckDB. `evaluate` materialises the compiled workspace plan into a temporary
 * table and derives entries, exits, memberships, computed values, sizes and the incremental state
 * with set operations in SQL: membership rows never cross into JavaScript. Incremental runs are one
 * transaction on their lane's connection; a full run is two (its snapshot, then the apply).
 */
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { listValue } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { LITTLE_ENDIAN } from '../../domain/radix.js';
import { quoteIdent } from '../../domain/sql/identifiers.js';
import type { CompiledQuery, EventShare, PropertyPath, StateColumn } from '../../domain/segments/compile.js';
import type {
  DefinitionKind, DefinitionVersion, EvaluationOutcome, EvaluationTarget, InstantDecision, InstantOutcome, MembershipChange, RunRecord, SegmentStorage,
  StateInfo, TypedColumnsOptions, WebhookRecord,
} from '../../ports/segments.js';
import type { TypedColumns } from './typed-columns.js';
import { toDuckParams } from './params.js';
import { inTransaction, Serial, type PrioritySerial } from './serial.js';

type SegmentTarget = EvaluationTarget['segments'][number];

type Row = Record<string, unknown>;
/**
 * A state column written from a plan column: an aggregate, or a mirror of a membership or a computed
 * value. Computed values are mirrored as their hash, which is all a fast run compares: a column of JSON
 * texts (a trait's list of categories) made reading 2,000 profiles' rows a 0.6 s decode of 1M strings.
 */
type Mirror = StateColumn & { hashed?: boolean };
/** A computed value as the JSON that computed_values holds. */
const valueOf = (c: EvaluationTarget['computed'][number], from: string): string =>
  (c.numeric ? `CAST(to_json(${from}.${quoteIdent(c.column)}) AS JSON)` : `CAST(${from}.${quoteIdent(c.column)} AS JSON)`);
/** Every computed value of the plan as (key, pid, value) rows; the keys are $first… in order. */
const allValues = (t: EvaluationTarget, first = 1): string =>
  t.computed.map((c, i) => `SELECT $${first + i} AS key, e.pid AS pid, ${valueOf(c, 'e')} AS value FROM seg_eval e`).join(' UNION ALL ');
/**
 * The changes from the (segment_key, profile_id) pairs `before` to those `now`, as seg_diff rows
 * (segment_key, profile_id, gone): one full outer join, kept where one side is missing. `extra`: more
 * columns of `before` (c) first.
 */
const pairDiffSql = (now: string, before: string, extra = ''): string =>
  `SELECT ${extra}coalesce(n.segment_key, c.segment_key) AS segment_key, coalesce(n.profile_id, c.profile_id) AS profile_id, n.profile_id IS NULL AS gone
    FROM (${now}) n FULL OUTER JOIN (${before}) c ON n.segment_key = c.segment_key AND n.profile_id = c.profile_id
    WHERE n.profile_id IS NULL OR c.profile_id IS NULL`;
const mirrorValue = (m: Mirror, from = ''): string =>
  (m.hashed ? `(CASE WHEN ${from}${quoteIdent(m.column)} IS NOT NULL THEN hash(${from}${quoteIdent(m.column)}) END)` : `${from}${quoteIdent(m.column)}`);
const ts = (ms: number) => BigInt(Math.round(ms)) * 1000n;
const TS = (p: string) => `make_timestamptz(${p}::BIGINT)`;
const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v ?? 0));

export class DuckDBSegmentStore implements SegmentStorage {
  readonly dialect = 'duckdb';
  /**
   * `lock` serialises every write of memberships, history and state rows of the segments the state keeps:
   * instant decisions and everything else that writes use `writer` under it; a fast run plans on
   * `fastWriter` (one at a time: `fastLock`) outside the lock and takes it for its apply only.
   * `slowWriter` / `slowLock`: history-based incremental runs of the definitions state cannot keep,
   * concurrent with the fast lane (disjoint segments, so disjoint rows). Full runs hold both locks.
   */
  private readonly fastLock = new Serial();
  /**
   * Whole-workspace statements one at a time: a full run's plan and a column-wise read (model features,
   * discovery, timing). Two at once need twice the memory: a model run's feature statement at 1M
   * profiles failed under a 3 GB DuckDB limit while the first full run after opening ran beside it, and
   * on two cores running them side by side is no faster.
   */
  private readonly heavy = new Serial();
  /**
   * While a full run of a workspace is under way: the profiles fast runs have applied since its
   * snapshot, whose computed values its apply rewrites from its plan (prepareValues).
   */
  private readonly fastSince = new Map<string, Set<string>>();

  constructor(
    private readonly writer: DuckDBConnection, private readonly reader: DuckDBConnection, private readonly lock: PrioritySerial,
    private readonly slowWriter: DuckDBConnection, private readonly slowLock: Serial,
    private readonly typed: TypedColumns,
    private readonly fastWriter: DuckDBConnection,
  ) {}

  typedColumns(): ReadonlySet<string> {
    return this.typed.ready();
  }

  ensureTypedColumns(paths: PropertyPath[], opts: TypedColumnsOptions): Promise<number> {
    return this.typed.ensure(paths, opts);
  }

  /** The state table of a workspace (one per workspace: its columns are that workspace's aggregates). */
  private stateTable(workspaceId: string): string {
    return `segment_state_${workspaceId.replace(/[^A-Za-z0-9_]/g, '_')}`;
  }

  async stateInfo(workspaceId: string, profileIds: string[]): Promise<StateInfo | null> {
    const meta = (await this.all('SELECT table_name, built_seq FROM segment_state_meta WHERE workspace_id = $1', [workspaceId]))[0];
    if (!meta) return null;
    const table = String(meta['table_name']);
    const builtSeq = num(meta['built_seq']);
    const cols = await this.columnsOf(table);
    if (cols.size === 0) return null;
    const rows = profileIds.length === 0 ? [] : await this.all(
      `SELECT pid, hwm FROM ${quoteIdent(table)} WHERE pid IN (SELECT unnest($1))`, [listValue(profileIds)]);
    let minHwm = builtSeq;
    const invalid = new Set<string>();
    for (const r of rows) {
      const h = num(r['hwm']);
      if (h < 0) invalid.add(String(r['pid']));
      else minHwm = Math.min(minHwm, h);
    }
    return { table, columns: cols, builtSeq, minHwm, invalid };
  }

  /** Column names of a table of the main schema (empty when there is no such table). */
  private async columnsOf(table: string, conn = this.reader): Promise<Set<string>> {
    const rows = await this.all(`SELECT column_name FROM duckdb_columns() WHERE table_name = $1 AND schema_name = 'main'`, [table], conn);
    return new Set(rows.map((r) => String(r['column_name'])));
  }

  async invalidateState(workspaceId: string, profileIds: string[]): Promise<void> {
    if (profileIds.length === 0) return;
    const table = quoteIdent(this.stateTable(workspaceId));
    await this.lock.run(async () => {
      if ((await this.columnsOf(this.stateTable(workspaceId), this.writer)).size === 0) return;
      await inTransaction(this.writer, async () => {
        await this.writer.run(`DELETE FROM ${table} WHERE pid IN (SELECT unnest($1))`, [listValue(profileIds)]);
        await this.writer.run(`INSERT INTO ${table} (pid, hwm) SELECT unnest($1), -1`, [listValue(profileIds)]);
      });
    });
  }

  private async all(sql: string, params: DuckDBValue[] = [], conn = this.reader): Promise<Row[]> {
    const r = await conn.runAndReadAll(sql, params);
    return r.getRowObjectsJS() as Row[];
  }

  async insertDefinition(v: DefinitionVersion): Promise<void> {
    await this.lock.run(() => this.writer.run(
      `INSERT INTO segment_versions VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ${TS('$9')})`,
      [v.workspaceId, v.kind, v.key, v.version, v.name, v.description, v.definition, v.status, ts(v.createdAt)],
    ));
  }

  async definitions(workspaceId: string, kind: DefinitionKind): Promise<DefinitionVersion[]> {
    const rows = await this.all(
      `SELECT workspace_id, kind, key, version, name, description, CAST(definition AS VARCHAR) AS definition, status, epoch_ms(created_at) AS created_at
       FROM segment_versions WHERE workspace_id = $1 AND kind = $2 ORDER BY key, version`, [workspaceId, kind]);
    return rows.map((r) => ({
      workspaceId: String(r['workspace_id']), kind: r['kind'] as DefinitionKind, key: String(r['key']), version: num(r['version']),
      name: String(r['name']), description: r['description'] === null ? null : String(r['description']), definition: String(r['definition']),
      status: r['status'] === 'archived' ? 'archived' : 'active', createdAt: num(r['created_at']),
    }));
  }

  async query(q: CompiledQuery): Promise<Row[]> {
    return this.all(q.sql, toDuckParams(q.params));
  }

  async queryColumns(q: CompiledQuery, numeric: ReadonlySet<string>): Promise<{ rows: number; numbers: Map<string, Float64Array>; texts: Map<string, Array<string | null>> }> {
    // (not beside a full run's plan: see heavy)
    return this.heavy.run(() => this.readColumnsNow(q, numeric));
  }

  private async readColumnsNow(q: CompiledQuery, numeric: ReadonlySet<string>): Promise<{ rows: number; numbers: Map<string, Float64Array>; texts: Map<string, Array<string | null>> }> {
    // Materialized in DuckDB's memory (not streamed): another statement on this connection while a
    // stream is open cuts the stream short, and the background work shares the connection.
    // Numbers as DOUBLE, read item by item from the vectors: converting each chunk's values to JS values
    // first (a BigInt for every count) took ~1.1 s of an all-models run at 100k profiles × 200 features.
    const casts = [...numeric].map((c) => `CAST(${quoteIdent(c)} AS DOUBLE) AS ${quoteIdent(c)}`);
    const res = await this.reader.run(casts.length > 0 ? `SELECT * REPLACE (${casts.join(', ')}) FROM (${q.sql})` : q.sql, toDuckParams(q.params));
    const names = res.columnNames();
    let next = 0;
    let cap = 1 << 16;
    let n = 0;
    const nums = new Map<number, Float64Array>();
    const txt = new Map<number, Array<string | null>>();
    names.forEach((name, i) => (numeric.has(name) ? nums.set(i, new Float64Array(cap)) : txt.set(i, [])));
    for (;;) {
      if (next >= res.chunkCount) break;
      const chunk = res.getChunk(next++);
      if (chunk.rowCount === 0) continue;
      const rc = chunk.rowCount;
      if (n + rc > cap) {
        cap = Math.max(cap * 2, n + rc);
        for (const [i, arr] of nums) {
          const grown = new Float64Array(cap);
          grown.set(arr.subarray(0, n));
          nums.set(i, grown);
        }
      }
      for (const [i, arr] of nums) {
        if (LITTLE_ENDIAN) copyDoubles(duckdb.data_chunk_get_vector(chunk.chunk, i), rc, arr, n);
        else {
          const vec = chunk.getColumnVector(i);
          for (let j = 0; j < rc; j++) arr[n + j] = numberOf(vec.getItem(j));
        }
      }
      for (const [i, arr] of txt) {
        const vals = chunk.getColumnValues(i);
        for (let j = 0; j < rc; j++) {
          const v = vals[j];
          arr.push(v === null || v === undefined ? null : String(v));
        }
      }
      n += rc;
    }
    const numbers = new Map<string, Float64Array>();
    const texts = new Map<string, Array<string | null>>();
    for (const [i, arr] of nums) numbers.set(names[i] as string, arr.subarray(0, n));
    for (const [i, arr] of txt) texts.set(names[i] as string, arr);
    return { rows: n, numbers, texts };
  }

  async evaluate(q: CompiledQuery, t: EvaluationTarget): Promise<EvaluationOutcome> {
    const lane = t.lane ?? 'full';
    if (lane === 'fast') {
      // The plan (the costly part) as a snapshot up to a seq, outside the lock, so that instant decisions
      // wait at most for an apply; profiles with events after the snapshot are left to the next run
      // (those events touched them again).
      return this.fastLock.run(async () => {
        const w = this.fastWriter;
        const seq = await inTransaction(w, async () => {
          const s = await this.lastSeq(t.workspaceId, w);
          await this.materialize(w, q);
          return s;
        });
        const asked = performance.now();
        let got = asked;
        const out = await this.lock.run(async () => {
          got = performance.now();
          const applied = await this.evaluateOn(w, q, t, seq);
          const since = this.fastSince.get(t.workspaceId);
          if (since) for (const p of t.profileIds ?? []) since.add(p);
          return applied;
        });
        return { ...out, lockWaitMs: got - asked, applyMs: performance.now() - got };
      });
    }
    if (lane === 'slow') return this.slowLock.run(() => this.evaluateOn(this.slowWriter, q, t));
    if (t.state?.mode !== 'build') return this.slowLock.run(() => this.heavy.run(() => this.lock.run(() => this.evaluateOn(this.writer, q, t))));
    // A full run: the long part (the plan over every event) on the slow lane's connection, committed
    // as a snapshot, while the fast lane goes on; then only the apply holds the fast lane. Profiles with
    // events after the snapshot keep what the lanes gave them (newer than the snapshot).
    return this.slowLock.run(() => this.heavy.run(async () => {
      const w = this.slowWriter;
      // (before the snapshot: a fast apply that commits after it must be in the set)
      const since = new Set<string>();
      this.fastSince.set(t.workspaceId, since);
      try {
        // The seq the state is built up to: read in the same transaction (same snapshot) as the plan.
        const { builtSeq, diffSeq } = await inTransaction(w, async () => {
          const seq = num((await this.all('SELECT coalesce(max(seq), 0) AS s FROM events', [], w))[0]?.['s']);
          await this.materialize(w, q);
          // the changed computed values before the lock too (under it, fast runs' profiles are redone).
          // (The new state table is not: built in this transaction and changed in the apply's, its
          // rows' deletes in the WAL did not replay after a crash: "Conflict on tuple deletion!".)
          if (t.computed.length > 0) await this.prepareValues(w, t);
          return { builtSeq: seq, diffSeq: t.segments.length > 0 ? await this.prepareDiff(w, t) : undefined };
        });
        return await this.lock.run(() => this.evaluateOn(w, q, t, builtSeq, diffSeq, t.computed.length > 0 ? since : undefined));
      } finally {
        if (this.fastSince.get(t.workspaceId) === since) this.fastSince.delete(t.workspaceId);
      }
    }));
  }

  /**
   * A full run's membership changes (seg_diff: segment, profile, gone), diffed against the run's
   * snapshot before the write lock. Returns the newest membership-history seq of the snapshot.
   * Memberships change only under the write lock, one transaction at a time (slow-lane runs wait for
   * the full run), so every change after the snapshot has a history row with a higher seq: the apply
   * redoes those profiles' pairs (seg_fix).
   *
   * Row-wise where the state table mirrors a segment's memberships (its membership column): the plan's
   * row and the state row of each profile compared, and only the profiles where some segment differs
   * unpivoted. Unpivoting every (segment, profile) pair now and joining it to every membership took
   * 6.1 s at 1M profiles × 50 segments (2.8 s for the pairs, 3.3 s for the join), most of a full run's
   * apply; the rows compare in ~1 s. The state is trusted only where it holds: profiles without a row
   * and rows that leave some segment's column empty are diffed pair-wise against the memberships, as are
   * segments the state has no column for (new or edited since it was built). A membership column that is
   * set equals the membership, whatever the row's hwm: rows invalidated by a merge or left behind by a
   * full run have every column empty until a history run of the profile sets them (updateMirrors), and
   * rows of profiles with events dated after the run (hwm -1, their aggregates incomplete) hold the
   * memberships the run wrote. (Those were diffed pair-wise too: 101,026 of 1M profiles in the segment
   * bench, whose live pings are dated after its data clock.)
   */
  private async prepareDiff(w: DuckDBConnection, t: EvaluationTarget): Promise<number> {
    await this.segmentKeys(w, t);
    const table = this.stateTable(t.workspaceId);
    const have = await this.columnsOf(table, w);
    const rowWise = have.has('hwm') ? t.segments.filter((s) => s.stateColumn !== undefined && have.has(s.stateColumn)) : [];
    const pairWise = t.segments.filter((s) => !rowWise.includes(s));
    const parts: string[] = [];
    const params: DuckDBValue[] = [];
    const bind = (v: DuckDBValue) => `$${params.push(v)}`;
    if (rowWise.length > 0) {
      // (a row written by a lane without some segment's column, e.g. the instant lane's row for a
      // profile newer than the state, leaves it NULL: unknown, not "not a member")
      const unknown = rowWise.map((s) => `${quoteIdent(s.stateColumn ?? '')} IS NULL`).join(' OR ');
      await w.run(`CREATE OR REPLACE TEMP TABLE seg_unsure AS SELECT pid FROM ${quoteIdent(table)} WHERE ${unknown}
        UNION SELECT pid FROM seg_eval WHERE pid NOT IN (SELECT pid FROM ${quoteIdent(table)})`);
      const now = (s: SegmentTarget) => `coalesce(n.${quoteIdent(s.column)}, false)`;
      const before = (s: SegmentTarget) => `coalesce(o.${quoteIdent(s.stateColumn ?? '')}, false)`;
      const changes = rowWise.map((s) => `CASE WHEN ${now(s)} <> ${before(s)} THEN {'k': ${bind(s.key)}, 'gone': NOT ${now(s)}} END`);
      parts.push(`SELECT d.k AS segment_key, pid AS profile_id, d.gone AS gone FROM (
          SELECT coalesce(n.pid, o.pid) AS pid, unnest([${changes.join(', ')}]) AS d
          FROM seg_eval n FULL OUTER JOIN ${quoteIdent(table)} o ON n.pid = o.pid
          WHERE coalesce(n.pid, o.pid) NOT IN (SELECT pid FROM seg_unsure) AND (${rowWise.map((s) => `${now(s)} <> ${before(s)}`).join(' OR ')})
        ) WHERE d IS NOT NULL`);
    }
    const unsure = rowWise.length > 0 && num((await this.all('SELECT count(*) AS n FROM seg_unsure', [], w))[0]?.['n']) > 0;
    if (pairWise.length > 0 || unsure) {
      // the pairs of the segments the state does not mirror, and of the others for the profiles it is unsure of
      const now = [
        ...(pairWise.length > 0 ? [this.pairsSql(pairWise, bind, '')] : []),
        ...(unsure ? [this.pairsSql(rowWise, bind, 'WHERE pid IN (SELECT pid FROM seg_unsure)')] : []),
      ];
      const before = [
        ...(pairWise.length > 0 ? [`list_contains(${bind(listValue(pairWise.map((s) => s.key)))}, segment_key)`] : []),
        ...(unsure ? [`(list_contains(${bind(listValue(rowWise.map((s) => s.key)))}, segment_key) AND profile_id IN (SELECT pid FROM seg_unsure))`] : []),
      ];
      parts.push(pairDiffSql(now.join(' UNION ALL '), `SELECT segment_key, profile_id FROM memberships WHERE workspace_id = ${bind(t.workspaceId)} AND (${before.join(' OR ')})`));
    }
    await w.run(`CREATE OR REPLACE TEMP TABLE seg_diff AS ${parts.length > 0 ? parts.join(' UNION ALL ') : 'SELECT NULL::VARCHAR AS segment_key, NULL::VARCHAR AS profile_id, NULL::BOOLEAN AS gone WHERE false'}`, params);
    await w.run('DROP TABLE IF EXISTS seg_unsure');
    return num((await this.all('SELECT coalesce(max(seq), 0) AS s FROM membership_history WHERE workspace_id = $1', [t.workspaceId], w))[0]?.['s']);
  }

  /**
   * A full run's computed values that differ from those written in its snapshot (seg_values: key, pid,
   * value; NULL: the profile has none now), before the write lock: writing every value of every profile
   * under it took ~2.5 s at 1M profiles. Fast runs write values for the profiles they apply; the apply
   * redoes those (fastSince), and leaves late profiles alone.
   */
  private async prepareValues(w: DuckDBConnection, t: EvaluationTarget): Promise<void> {
    const k = t.computed.length;
    // A number equal to the written one but for rounding is not a change: DuckDB adds in parallel, in no
    // fixed order, and a sum of fractional amounts came out 2650.57 in one full run and
    // 2650.5699999999997 in the next (~1,600 of 1M profiles), each time rewriting the value and moving
    // its computedAt.
    const a = 'TRY_CAST(n.value AS DOUBLE)';
    const b = 'TRY_CAST(o.value AS DOUBLE)';
    const close = `(list_contains($${k + 3}, n.key) AND abs(${a} - ${b}) <= 1e-12 * greatest(abs(${a}), abs(${b})))`;
    await w.run(`CREATE OR REPLACE TEMP TABLE seg_values AS SELECT coalesce(n.key, o.key) AS key, coalesce(n.pid, o.pid) AS pid, n.value AS value
      FROM (${allValues(t)}) n
      FULL OUTER JOIN (SELECT key, profile_id AS pid, value FROM computed_values WHERE workspace_id = $${k + 1} AND list_contains($${k + 2}, key)) o
        ON n.key = o.key AND n.pid = o.pid
      WHERE n.value IS DISTINCT FROM o.value AND NOT coalesce(${close}, false)`,
    [...t.computed.map((c) => c.key), t.workspaceId, listValue(t.computed.map((c) => c.key)), listValue(t.computed.filter((c) => c.numeric).map((c) => c.key))]);
  }

  /** Write the computed values seg_values lists (each (key, profile) replaced; NULL: deleted). */
  private async writeValues(w: DuckDBConnection, workspaceId: string, now: bigint): Promise<void> {
    if (num((await this.all('SELECT count(*) AS n FROM seg_values', [], w))[0]?.['n']) === 0) return;
    await w.run(`DELETE FROM computed_values v WHERE v.workspace_id = $1 AND v.profile_id IN (SELECT pid FROM seg_values)
      AND EXISTS (SELECT 1 FROM seg_values x WHERE x.key = v.key AND x.pid = v.profile_id)`, [workspaceId]);
    await w.run(`INSERT INTO computed_values SELECT $1, key, pid, value, ${TS('$2')} FROM seg_values WHERE value IS NOT NULL`, [workspaceId, now]);
  }

  /** seg_new: the (segment, profile) pairs the plan selects; seg_keys: the run's segments and versions. */
  private async pairsNow(w: DuckDBConnection, t: EvaluationTarget): Promise<void> {
    const params: DuckDBValue[] = [];
    await w.run(`CREATE OR REPLACE TEMP TABLE seg_new AS ${this.pairsSql(t.segments, (v) => `$${params.push(v)}`, '')}`, params);
    await this.segmentKeys(w, t);
  }

  /** The (segment_key, profile_id) pairs the plan selects for these segments, of the seg_eval rows `where` keeps. */
  private pairsSql(segments: SegmentTarget[], bind: (v: DuckDBValue) => string, where: string): string {
    const pairs = segments.map((s) => `CASE WHEN ${quoteIdent(s.column)} THEN ${bind(s.key)} END`).join(', ');
    return `SELECT segment_key, pid AS profile_id FROM (SELECT pid, unnest([${pairs || 'NULL'}]) AS segment_key FROM seg_eval ${where}) WHERE segment_key IS NOT NULL`;
  }

  private async segmentKeys(w: DuckDBConnection, t: EvaluationTarget): Promise<void> {
    await w.run(`CREATE OR REPLACE TEMP TABLE seg_keys AS SELECT unnest($1) AS segment_key, unnest($2) AS version`, [listValue(t.segments.map((s) => s.key)), listValue(t.segments.map((s) => s.version))]);
  }

  /** The newest event seq (read past the state's build seq, so that only the newest row groups are scanned). */
  private async lastSeq(workspaceId: string, w: DuckDBConnection): Promise<number> {
    const built = num((await this.all('SELECT coalesce(max(built_seq), 0) AS s FROM segment_state_meta WHERE workspace_id = $1', [workspaceId], w))[0]?.['s']);
    return num((await this.all('SELECT coalesce(max(seq), $1) AS s FROM events WHERE seq > $1', [BigInt(built)], w))[0]?.['s']);
  }

  async applyInstant(workspaceId: string, decisions: InstantDecision[], now: number): Promise<InstantOutcome> {
    if (decisions.length === 0) return { entered: 0, exited: 0, skipped: 0 };
    const asked = performance.now();
    let waitMs = 0;
    const out = await this.lock.run(() => inTransaction(this.writer, async (): Promise<InstantOutcome> => {
      waitMs = performance.now() - asked;
      const w = this.writer;
      const table = this.stateTable(workspaceId);
      const have = await this.columnsOf(table, w);
      const usable = decisions.filter((d) => have.has(d.stateColumn));
      let skipped = decisions.length - usable.length;
      if (usable.length === 0) return { entered: 0, exited: 0, skipped };
      const cols = [...new Set(usable.map((d) => d.stateColumn))];
      const rows = await this.all(`SELECT pid, hwm, ${cols.map((c) => quoteIdent(c)).join(', ')} FROM ${quoteIdent(table)} WHERE pid IN (SELECT unnest($1))`,
        [listValue([...new Set(usable.map((d) => d.profileId))])], w);
      const byPid = new Map(rows.map((r) => [String(r['pid']), r]));
      // A profile without a row is newer than the state (every profile then had one): all its events came
      // after the build, so an empty row at the built seq holds, as fast runs already assume; it is a
      // member of nothing yet. One is written for those that enter something.
      const fresh = [...new Set(usable.filter((d) => d.member && !byPid.has(d.profileId)).map((d) => d.profileId))];
      if (fresh.length) {
        const built = num((await this.all('SELECT built_seq FROM segment_state_meta WHERE workspace_id = $1', [workspaceId], w))[0]?.['built_seq']);
        await w.run(`INSERT INTO ${quoteIdent(table)} (pid, hwm) SELECT unnest($1), $2`, [listValue(fresh), BigInt(built)]);
        for (const pid of fresh) byPid.set(pid, { pid, hwm: built });
      }
      const moves: InstantDecision[] = [];
      for (const d of usable) {
        const r = byPid.get(d.profileId);
        // an invalid row (merged, events dated after the state's time): the lanes decide from history
        if (!r || num(r['hwm']) < 0) {
          if (r) skipped++;
          continue;
        }
        if ((r[d.stateColumn] === true) !== d.member) moves.push(d);
      }
      if (moves.length === 0) return { entered: 0, exited: 0, skipped };
      const list = <T extends string | number>(f: (d: InstantDecision) => T, of = moves) => listValue(of.map(f));
      for (const col of new Set(moves.map((d) => d.stateColumn))) {
        for (const member of [true, false]) {
          const pids = moves.filter((d) => d.stateColumn === col && d.member === member).map((d) => d.profileId);
          if (pids.length) await w.run(`UPDATE ${quoteIdent(table)} SET ${quoteIdent(col)} = $1 WHERE pid IN (SELECT unnest($2))`, [member, listValue(pids)]);
        }
      }
      const exits = moves.filter((d) => !d.member);
      const entries = moves.filter((d) => d.member);
      if (exits.length) {
        await w.run(`DELETE FROM memberships m WHERE m.workspace_id = $1 AND m.profile_id IN (SELECT unnest($2))
          AND EXISTS (SELECT 1 FROM (SELECT unnest($3) AS k, unnest($2) AS p) x WHERE x.k = m.segment_key AND x.p = m.profile_id)`,
        [workspaceId, list((d) => d.profileId, exits), list((d) => d.segmentKey, exits)]);
      }
      if (entries.length) {
        await w.run(`INSERT INTO memberships SELECT $1, unnest($2), unnest($3), ${TS('$4')}, unnest($5)`,
          [workspaceId, list((d) => d.segmentKey, entries), list((d) => d.profileId, entries), ts(now), list((d) => d.version, entries)]);
      }
      await w.run(`INSERT INTO membership_history (workspace_id, segment_key, profile_id, change, changed_at, version)
        SELECT $1, k, p, c, ${TS('$2')}, v FROM (SELECT unnest($3) AS k, unnest($4) AS p, unnest($5) AS c, unnest($6) AS v) ORDER BY c DESC, k, p`,
      [workspaceId, ts(now), list((d) => d.segmentKey), list((d) => d.profileId), list((d) => (d.member ? 'entered' : 'exited')), list((d) => d.version)]);
      return { entered: entries.length, exited: exits.length, skipped };
    }), true);
    return { ...out, waitMs };
  }

  private async materialize(w: DuckDBConnection, q: CompiledQuery): Promise<void> {
    await w.run(`CREATE OR REPLACE TEMP TABLE seg_eval AS ${q.sql}`, toDuckParams(q.params));
  }

  /**
   * Apply a plan. `snapshotSeq` given: seg_eval was materialised before (a full run's snapshot up to
   * that seq) and profiles with later events are left out of this apply. `diffSeq` given: seg_new,
   * seg_keys and seg_diff were prepared from that snapshot (prepareDiff), up to that history seq.
   */
  private async evaluateOn(w: DuckDBConnection, q: CompiledQuery, t: EvaluationTarget, snapshotSeq?: number, diffSeq?: number, valuesSince?: ReadonlySet<string>): Promise<EvaluationOutcome> {
    const restrict = t.profileIds ? listValue(t.profileIds) : null;
    const now = ts(t.now);
    const late = snapshotSeq !== undefined;
    return inTransaction(w, async () => {
      if (late) {
        await w.run(`CREATE OR REPLACE TEMP TABLE seg_late AS SELECT DISTINCT profile_id AS pid FROM events WHERE workspace_id = $1 AND seq > $2`, [t.workspaceId, BigInt(snapshotSeq)]);
        await w.run('DELETE FROM seg_eval WHERE pid IN (SELECT pid FROM seg_late)');
      } else {
        await this.materialize(w, q);
      }
      // Segments whose memberships the state table mirrors (its membership columns; see EvaluationTarget).
      const table = this.stateTable(t.workspaceId);
      const stateHas = t.state?.mode === 'build' ? new Set<string>() : await this.columnsOf(table, w);
      const mirrored = t.segments.filter((s) => s.stateColumn !== undefined && (t.state?.mode === 'build' || stateHas.has(s.stateColumn)));
      const mirroredValues = t.computed.filter((c) => c.stateColumn !== undefined && (t.state?.mode === 'build' || stateHas.has(c.stateColumn)));
      // A fast run reads the evaluated profiles' current memberships and computed values from their state
      // rows (before the rows are rewritten) instead of scanning every membership row (0.6–1.7 s per run
      // at 1M profiles) and every computed value (~0.2 s).
      const fromState = t.state?.mode === 'update' && t.segments.length > 0 && mirrored.length === t.segments.length;
      const valuesFromState = t.state?.mode === 'update' && t.computed.length > 0 && mirroredValues.length === t.computed.length;
      if (fromState || valuesFromState) {
        const cols = [...mirrored.map((s) => s.stateColumn ?? ''), ...mirroredValues.map((c) => c.stateColumn ?? '')];
        await w.run(`CREATE OR REPLACE TEMP TABLE seg_old AS SELECT pid${cols.map((c) => `, ${quoteIdent(c)}`).join('')}
          FROM ${quoteIdent(table)} WHERE pid IN (SELECT pid FROM seg_eval)`);
      }
      if (fromState) {
        const cur = mirrored.map((s, i) => `CASE WHEN ${quoteIdent(s.stateColumn ?? '')} THEN $${i + 1} END`).join(', ');
        await w.run(`CREATE OR REPLACE TEMP TABLE seg_cur AS SELECT segment_key, pid AS profile_id
          FROM (SELECT pid, unnest([${cur}]) AS segment_key FROM seg_old) WHERE segment_key IS NOT NULL`,
        mirrored.map((s) => s.key));
      }
      const valueMirrors: Mirror[] = mirroredValues.map((c) => ({ column: c.column, name: c.stateColumn ?? '', hashed: true }));
      const mirror: Mirror[] = [...mirrored.map((s) => ({ column: s.column, name: s.stateColumn ?? '' })), ...valueMirrors];
      if (t.state) await this.writeState(w, t, snapshotSeq ?? 0, late, mirror);
      const notLate = (col: string) => (late ? `AND ${col} NOT IN (SELECT pid FROM seg_late)` : '');
      let movedBy = new Map<string, Row>();
      let sizeBy = new Map<string, number>();
      if (t.segments.length > 0) {
        // Set-wise over all segments at once: (segment, profile) pairs the plan selects now.
        if (diffSeq === undefined) await this.pairsNow(w, t);
        const byKey = fromState || diffSeq !== undefined;
        // Current memberships in scope: the evaluated segments, and only the evaluated profiles when incremental.
        // rowid kept: the exits are then deleted by row id (a semi join on two text columns over every
        // membership took seconds at 1M profiles)
        // Incremental: the touched profiles as the semi join's build side and the segment keys as a
        // list test (measured 350 ms against 450–550 ms for two IN subqueries over 17.6M memberships).
        if (diffSeq !== undefined) {
          // Prepared from the snapshot: the profiles whose memberships changed since (history after
          // diffSeq) are diffed again against the memberships now, and the late ones are left out.
          await w.run(`CREATE OR REPLACE TEMP TABLE seg_fix AS SELECT DISTINCT profile_id AS pid FROM membership_history
            WHERE workspace_id = $1 AND seq > $2 AND profile_id NOT IN (SELECT pid FROM seg_late)`, [t.workspaceId, BigInt(diffSeq)]);
          await w.run('DELETE FROM seg_diff WHERE profile_id IN (SELECT pid FROM seg_late) OR profile_id IN (SELECT pid FROM seg_fix)');
          const fixParams: DuckDBValue[] = [t.workspaceId, listValue(t.segments.map((x) => x.key))];
          const fixPairs = this.pairsSql(t.segments, (v) => `$${fixParams.push(v)}`, 'WHERE pid IN (SELECT pid FROM seg_fix)');
          await w.run(`INSERT INTO seg_diff ${pairDiffSql(fixPairs, `SELECT segment_key, profile_id FROM memberships
            WHERE workspace_id = $1 AND list_contains($2, segment_key) AND profile_id IN (SELECT pid FROM seg_fix)`)}`, fixParams);
        } else if (!fromState) {
          await w.run(`CREATE OR REPLACE TEMP TABLE seg_cur AS SELECT m.rowid AS rid, m.segment_key, m.profile_id FROM memberships m
            ${restrict ? 'SEMI JOIN (SELECT unnest($2) AS pid) p ON m.profile_id = p.pid' : ''}
            WHERE m.workspace_id = $1 AND list_contains(${restrict ? '$3' : '$2'}, m.segment_key) ${notLate('m.profile_id')}`,
          restrict ? [t.workspaceId, restrict, listValue(t.segments.map((x) => x.key))] : [t.workspaceId, listValue(t.segments.map((x) => x.key))]);
        }
        // Exits and entries from one full outer join of the pairs now and before (two anti joins of the
        // 17M pairs of a full run at 1M profiles took 3.7 s each).
        if (diffSeq === undefined) {
          await w.run(`CREATE OR REPLACE TEMP TABLE seg_diff AS ${pairDiffSql('SELECT * FROM seg_new', 'SELECT * FROM seg_cur', byKey ? '' : 'c.rid, ')}`);
        }
        await w.run(`CREATE OR REPLACE TEMP TABLE seg_exit AS SELECT ${byKey ? '' : 'rid, '}segment_key, profile_id FROM seg_diff WHERE gone`);
        await w.run('CREATE OR REPLACE TEMP TABLE seg_enter AS SELECT segment_key, profile_id FROM seg_diff WHERE NOT gone');
        await w.run(`INSERT INTO membership_history (workspace_id, segment_key, profile_id, change, changed_at, version)
          SELECT $1, x.segment_key, x.profile_id, x.change, ${TS('$2')}, k.version FROM (
            SELECT segment_key, profile_id, 'exited' AS change FROM seg_exit UNION ALL SELECT segment_key, profile_id, 'entered' FROM seg_enter) x
          JOIN seg_keys k USING (segment_key) ORDER BY x.change DESC, x.segment_key, x.profile_id`, [t.workspaceId, now]);
        if (!byKey) await w.run('DELETE FROM memberships WHERE rowid IN (SELECT rid FROM seg_exit)');
        else if (num((await this.all('SELECT count(*) AS n FROM seg_exit', [], w))[0]?.['n']) > 0) {
          // (no row ids from the state rows, nor from a snapshot's memberships, whose row ids a checkpoint
          // may move: the exits' rows are found by key, a scan only when some exit)
          await w.run(`DELETE FROM memberships m WHERE m.workspace_id = $1 AND m.profile_id IN (SELECT profile_id FROM seg_exit)
            AND EXISTS (SELECT 1 FROM seg_exit x WHERE x.segment_key = m.segment_key AND x.profile_id = m.profile_id)`, [t.workspaceId]);
        }
        if (restrict && t.state?.mode !== 'update') {
          // Other runs of some profiles (slow lane, invalid profiles from their history) keep the
          // membership columns of the segments they applied equal to the memberships (update: rewrites the rows).
          await this.updateMirrors(w, table, mirrored.map((s) => ({ column: s.column, name: s.stateColumn ?? '' })));
        }
        await w.run(`INSERT INTO memberships SELECT $1, n.segment_key, n.profile_id, ${TS('$2')}, k.version FROM seg_enter n JOIN seg_keys k USING (segment_key)`, [t.workspaceId, now]);
        const moved = await this.all(`SELECT segment_key, sum(e) AS entered, sum(x) AS exited FROM (
            SELECT segment_key, 1 AS e, 0 AS x FROM seg_enter UNION ALL SELECT segment_key, 0, 1 FROM seg_exit) GROUP BY segment_key`, [], w);
        movedBy = new Map(moved.map((r) => [String(r['segment_key']), r]));
        if (!restrict) {
          // Sizes and the day's size row on full runs; incremental runs only move members in and out.
          // (counted once: the day's rows are written from these counts, not from a second count)
          const sizes = await this.all(`SELECT k.segment_key, coalesce(n.n, 0) AS n FROM seg_keys k LEFT JOIN (
              SELECT segment_key, count(*) AS n FROM memberships WHERE workspace_id = $1 AND segment_key IN (SELECT segment_key FROM seg_keys) GROUP BY segment_key) n USING (segment_key)`, [t.workspaceId], w);
          sizeBy = new Map(sizes.map((r) => [String(r['segment_key']), num(r['n'])]));
          await w.run(`INSERT OR REPLACE INTO segment_sizes SELECT $1, k, CAST(${TS('$2')} AS DATE), n FROM (SELECT unnest($3::VARCHAR[]) AS k, unnest($4::BIGINT[]) AS n)`,
            [t.workspaceId, now, listValue([...sizeBy.keys()]), listValue([...sizeBy.values()].map((n) => BigInt(n)))]);
        }
      }
      for (const a of t.archived ?? []) {
        const base: DuckDBValue[] = [t.workspaceId, a.key];
        await w.run(`INSERT INTO membership_history (workspace_id, segment_key, profile_id, change, changed_at, version)
          SELECT $1, $2, profile_id, 'exited', ${TS('$3')}, $4 FROM memberships WHERE workspace_id = $1 AND segment_key = $2 ORDER BY profile_id`, [...base, now, a.version]);
        await w.run('DELETE FROM memberships WHERE workspace_id = $1 AND segment_key = $2', base);
      }
      if (valuesFromState) {
        // Only the values that changed (most commits change none: a page view moves no order total).
        const changed = t.computed.map((c, i) => `SELECT $${i + 1} AS key, e.pid AS pid, ${valueOf(c, 'e')} AS value FROM seg_eval e LEFT JOIN seg_old o ON o.pid = e.pid
          WHERE ${mirrorValue({ column: c.column, name: '', hashed: true }, 'e.')} IS DISTINCT FROM o.${quoteIdent(c.stateColumn ?? '')}`).join(' UNION ALL ');
        await w.run(`CREATE OR REPLACE TEMP TABLE seg_values AS ${changed}`, t.computed.map((c) => c.key));
        await this.writeValues(w, t.workspaceId, now);
      } else if (valuesSince) {
        // Prepared from the snapshot (prepareValues): late profiles are left alone, and the profiles fast
        // runs applied since are rewritten whole from this plan (their values, and so their state hashes).
        await w.run('DELETE FROM seg_values WHERE pid IN (SELECT pid FROM seg_late)');
        if (valuesSince.size > 0) {
          // A table joined, not list_contains over the ids: that searches the whole list for every row.
          // With ~20k profiles applied by fast runs during a 40 s full run under ingest, it took 455 s
          // here, under the write lock: every lane and instant write waited for it.
          await w.run('CREATE OR REPLACE TEMP TABLE seg_redo AS SELECT DISTINCT unnest($1) AS pid', [listValue([...valuesSince])]);
          await w.run('DELETE FROM seg_values WHERE pid IN (SELECT pid FROM seg_redo)');
          await w.run(`INSERT INTO seg_values SELECT key, pid, value FROM (${allValues(t)}) WHERE pid IN (SELECT pid FROM seg_redo)`,
            t.computed.map((c) => c.key));
          await w.run('DROP TABLE seg_redo');
        }
        await this.writeValues(w, t.workspaceId, now);
      } else {
        if (t.computed.length > 0) {
          // one delete for every trait of the run (each was a scan of all computed values: ~0.1 s per trait per fast run at 1M profiles)
          const base: DuckDBValue[] = [t.workspaceId, listValue(t.computed.map((c) => c.key))];
          await w.run(`DELETE FROM computed_values WHERE workspace_id = $1 AND list_contains($2, key) ${notLate('profile_id')} ${restrict ? 'AND profile_id IN (SELECT unnest($3))' : ''}`, restrict ? [...base, restrict] : base);
        }
        for (const c of t.computed) {
          await w.run(`INSERT INTO computed_values SELECT $1, $2, e.pid, ${valueOf(c, 'e')}, ${TS('$3')} FROM seg_eval e WHERE e.${quoteIdent(c.column)} IS NOT NULL`, [t.workspaceId, c.key, now]);
        }
        // (as for memberships: history runs of some profiles keep the mirrored values equal to what they wrote)
        if (restrict && t.state?.mode !== 'update') await this.updateMirrors(w, table, valueMirrors);
      }
      const profiles = await this.all('SELECT count(*) AS n FROM seg_eval', [], w);
      // Rows read: a fast run reads only the events after each profile's high-water mark (counted by the plan).
      const events = t.state?.mode === 'update'
        ? await this.all('SELECT coalesce(sum(st_read), 0) AS n FROM seg_eval', [], w)
        : await this.all(
          `SELECT count(*) AS n FROM events WHERE workspace_id = $1 ${restrict ? 'AND profile_id IN (SELECT unnest($2))' : ''}`,
          restrict ? [t.workspaceId, restrict] : [t.workspaceId], w);
      for (const tbl of ['seg_eval', 'seg_new', 'seg_keys', 'seg_cur', 'seg_old', 'seg_values', 'seg_diff', 'seg_fix', 'seg_exit', 'seg_enter', 'seg_late']) await w.run(`DROP TABLE IF EXISTS ${quoteIdent(tbl)}`);
      return {
        profilesEvaluated: num(profiles[0]?.['n']), eventsRead: num(events[0]?.['n']),
        segments: t.segments.map((s) => ({ key: s.key, members: restrict ? null : sizeBy.get(s.key) ?? 0, entered: num(movedBy.get(s.key)?.['entered']), exited: num(movedBy.get(s.key)?.['exited']) })),
      };
    });
  }

  /** Set state columns (mirrors of memberships or computed values) of the evaluated profiles' rows from the plan. */
  private async updateMirrors(w: DuckDBConnection, table: string, mirror: Mirror[]): Promise<void> {
    const sets = mirror.map((m) => `${quoteIdent(m.name)} = ${mirrorValue(m, 'e.')}`);
    if (sets.length > 0) await w.run(`UPDATE ${quoteIdent(table)} SET ${sets.join(', ')} FROM seg_eval e WHERE ${quoteIdent(table)}.pid = e.pid`);
  }

  /**
   * 'build': the state table anew, every profile's mergeable aggregates up to `builtSeq` (a profile
   * with events dated after now gets hwm -1: invalid, since those events enter no aggregate yet).
   * 'update': the evaluated profiles' rows, with their new high-water marks.
   */
  private async writeState(w: DuckDBConnection, t: EvaluationTarget, builtSeq: number, late: boolean, mirror: Mirror[]): Promise<void> {
    const st = t.state;
    if (!st) return;
    const table = this.stateTable(t.workspaceId);
    // the aggregates, then the mirrors (memberships, computed values) of the definitions state keeps
    const columns: Mirror[] = [...st.columns, ...mirror];
    const select = columns.map((c) => `, ${mirrorValue(c)} AS ${quoteIdent(c.name)}`).join('');
    const names = columns.map((c) => `, ${quoteIdent(c.name)}`).join('');
    if (st.mode === 'build') {
      const fresh = `${table}_new`;
      await w.run(`CREATE OR REPLACE TABLE ${quoteIdent(fresh)} AS SELECT pid, CAST(CASE WHEN st_future = 1 THEN -1 ELSE $1 END AS BIGINT) AS hwm${select} FROM seg_eval`, [BigInt(builtSeq)]);
      if (late) {
        // Profiles with events after the snapshot keep their current rows when those have every column;
        // otherwise they are marked invalid (the slow lane evaluates them until the next full run).
        const have = await this.columnsOf(table, w);
        if (have.size > 0 && columns.every((c) => have.has(c.name))) {
          await w.run(`INSERT INTO ${quoteIdent(fresh)} (pid, hwm${names}) SELECT pid, hwm${names} FROM ${quoteIdent(table)} WHERE pid IN (SELECT pid FROM seg_late)`);
        }
        await w.run(`INSERT INTO ${quoteIdent(fresh)} (pid, hwm) SELECT pid, -1 FROM seg_late WHERE pid NOT IN (SELECT pid FROM ${quoteIdent(fresh)})`);
      }
      await w.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
      await w.run(`ALTER TABLE ${quoteIdent(fresh)} RENAME TO ${quoteIdent(table)}`);
      await w.run(`INSERT OR REPLACE INTO segment_state_meta VALUES ($1, $2, $3, $4, ${TS('$5')})`,
        [t.workspaceId, table, columns.map((c) => c.name).join(','), BigInt(builtSeq), ts(t.now)]);
      return;
    }
    // The rows are rewritten whole; the columns this run does not write (the memberships of the
    // segments the slow lane keeps) are carried over from the rows they replace.
    const written = new Set(['pid', 'hwm', ...columns.map((c) => c.name)]);
    const kept = [...await this.columnsOf(table, w)].filter((c) => !written.has(c));
    if (kept.length > 0) {
      await w.run(`CREATE OR REPLACE TEMP TABLE seg_prev AS SELECT pid${kept.map((c) => `, ${quoteIdent(c)}`).join('')} FROM ${quoteIdent(table)} WHERE pid IN (SELECT pid FROM seg_eval)`);
    }
    await w.run(`DELETE FROM ${quoteIdent(table)} WHERE pid IN (SELECT pid FROM seg_eval)`);
    const values = columns.map((c) => `, ${mirrorValue(c, 'e.')}`).join('');
    await w.run(`INSERT INTO ${quoteIdent(table)} (pid, hwm${names}${kept.map((c) => `, ${quoteIdent(c)}`).join('')})
      SELECT e.pid, CASE WHEN e.st_future = 1 THEN -1 ELSE e.st_hwm END${values}${kept.map((c) => `, prev.${quoteIdent(c)}`).join('')}
      FROM seg_eval e${kept.length > 0 ? ' LEFT JOIN seg_prev prev ON prev.pid = e.pid' : ''}`);
    if (kept.length > 0) await w.run('DROP TABLE seg_prev');
  }

  async insertRuns(runs: RunRecord[]): Promise<void> {
    if (runs.length === 0) return;
    // One statement for all the runs of a computation (one row per definition), as parallel lists.
    const col = <T>(f: (r: RunRecord) => T) => runs.map(f);
    const big = (v: number | null) => (v === null ? null : BigInt(Math.round(v)));
    await this.lock.run(() => this.writer.run(
      `INSERT INTO segment_runs SELECT $1, unnest($2), unnest($3), unnest($4), $5, ${TS('$6')}, $7, $8, unnest(CAST($9 AS BIGINT[])), unnest(CAST($10 AS BIGINT[])), unnest(CAST($11 AS BIGINT[])), $12`,
      [
        runs[0]?.workspaceId ?? '', listValue(col((r) => r.kind)), listValue(col((r) => r.key)), listValue(col((r) => r.version)),
        runs[0]?.mode ?? 'full', ts(runs[0]?.startedAt ?? 0), runs[0]?.durationMs ?? 0, BigInt(runs[0]?.rowsRead ?? 0),
        listValue(col((r) => big(r.members))), listValue(col((r) => big(r.entered))), listValue(col((r) => big(r.exited))), runs[0]?.error ?? null,
      ],
    ));
  }

  async lastRuns(workspaceId: string): Promise<RunRecord[]> {
    const rows = await this.all(`SELECT workspace_id, kind, key, arg_max(version, started_at) AS version, arg_max(mode, started_at) AS mode,
        epoch_ms(max(started_at)) AS started_at, arg_max(duration_ms, started_at) AS duration_ms, arg_max(rows_read, started_at) AS rows_read,
        arg_max(members, started_at) AS members, arg_max(entered, started_at) AS entered, arg_max(exited, started_at) AS exited,
        arg_max(coalesce(error, ''), started_at) AS error
      FROM segment_runs WHERE workspace_id = $1 AND mode <> 'estimate' GROUP BY workspace_id, kind, key`, [workspaceId]);
    return rows.map((r) => ({
      workspaceId, kind: r['kind'] as DefinitionKind, key: String(r['key']), version: num(r['version']), mode: r['mode'] as RunRecord['mode'],
      startedAt: num(r['started_at']), durationMs: num(r['duration_ms']), rowsRead: num(r['rows_read']),
      members: r['members'] === null ? null : num(r['members']), entered: r['entered'] === null ? null : num(r['entered']),
      exited: r['exited'] === null ? null : num(r['exited']), error: r['error'] ? String(r['error']) : null,
    }));
  }

  async members(workspaceId: string, key: string, limit: number, offset: number) {
    const rows = await this.all(`SELECT profile_id, epoch_ms(entered_at) AS entered_at, version FROM memberships
      WHERE workspace_id = $1 AND segment_key = $2 ORDER BY profile_id LIMIT $3 OFFSET $4`, [workspaceId, key, limit, offset]);
    return rows.map((r) => ({ profileId: String(r['profile_id']), enteredAt: num(r['entered_at']), version: num(r['version']) }));
  }

  async memberCounts(workspaceId: string): Promise<Map<string, number>> {
    const rows = await this.all('SELECT segment_key, count(*) AS n FROM memberships WHERE workspace_id = $1 GROUP BY segment_key', [workspaceId]);
    return new Map(rows.map((r) => [String(r['segment_key']), num(r['n'])]));
  }

  async isMember(workspaceId: string, key: string, profileId: string): Promise<boolean> {
    const rows = await this.all('SELECT 1 FROM memberships WHERE workspace_id = $1 AND segment_key = $2 AND profile_id = $3', [workspaceId, key, profileId]);
    return rows.length > 0;
  }

  async profileSegments(workspaceId: string, profileId: string) {
    const rows = await this.all(`SELECT segment_key, epoch_ms(entered_at) AS entered_at FROM memberships WHERE workspace_id = $1 AND profile_id = $2 ORDER BY segment_key`, [workspaceId, profileId]);
    return rows.map((r) => ({ key: String(r['segment_key']), enteredAt: num(r['entered_at']) }));
  }

  private static change(r: Row): MembershipChange {
    return { seq: num(r['seq']), segmentKey: String(r['segment_key']), profileId: String(r['profile_id']), change: r['change'] === 'exited' ? 'exited' : 'entered', at: num(r['at']), version: num(r['version']) };
  }

  async changesSince(workspaceId: string, cursor: number, limit: number, key?: string): Promise<MembershipChange[]> {
    const rows = await this.all(`SELECT seq, segment_key, profile_id, change, epoch_ms(changed_at) AS at, version FROM membership_history
      WHERE workspace_id = $1 AND seq > $2 ${key ? 'AND segment_key = $4' : ''} ORDER BY seq LIMIT $3`,
    key ? [workspaceId, BigInt(cursor), limit, key] : [workspaceId, BigInt(cursor), limit]);
    return rows.map(DuckDBSegmentStore.change);
  }

  async profileHistory(workspaceId: string, profileId: string): Promise<MembershipChange[]> {
    const rows = await this.all(`SELECT seq, segment_key, profile_id, change, epoch_ms(changed_at) AS at, version FROM membership_history
      WHERE workspace_id = $1 AND profile_id = $2 ORDER BY seq`, [workspaceId, profileId]);
    return rows.map(DuckDBSegmentStore.change);
  }

  async overlap(workspaceId: string, keys: string[]) {
    const rows = await this.all(`SELECT a.segment_key AS a, b.segment_key AS b, count(*) AS both
      FROM memberships a JOIN memberships b ON a.workspace_id = b.workspace_id AND a.profile_id = b.profile_id
      WHERE a.workspace_id = $1 AND list_contains($2, a.segment_key) AND list_contains($2, b.segment_key)
      GROUP BY ALL`, [workspaceId, listValue(keys)]);
    return rows.map((r) => ({ a: String(r['a']), b: String(r['b']), both: num(r['both']) }));
  }

  async sizes(workspaceId: string, key: string) {
    const rows = await this.all(`SELECT CAST(day AS VARCHAR) AS day, members FROM segment_sizes WHERE workspace_id = $1 AND segment_key = $2 ORDER BY day`, [workspaceId, key]);
    return rows.map((r) => ({ day: String(r['day']), members: num(r['members']) }));
  }

  async computedValues(workspaceId: string, profileId: string) {
    const rows = await this.all(`SELECT key, CAST(value AS VARCHAR) AS value, epoch_ms(computed_at) AS computed_at FROM computed_values
      WHERE workspace_id = $1 AND profile_id = $2 ORDER BY key`, [workspaceId, profileId]);
    return rows.map((r) => ({ key: String(r['key']), value: JSON.parse(String(r['value'])) as unknown, computedAt: num(r['computed_at']) }));
  }

  async eventShares(workspaceId: string): Promise<readonly EventShare[]> {
    // Kept ten minutes: the mix of a shop's events changes slowly, and a wrong guess costs speed, not results.
    const hit = this.shares.get(workspaceId);
    if (hit && performance.now() - hit.at < 600_000) return hit.shares;
    // A sample of the table's vectors (TABLESAMPLE SYSTEM): 5–70 ms at 50M events, where counting every
    // row took 0.44 s. A small sample (a small table) is replaced by a whole count, cheap at that size.
    const read = (sample: boolean) => this.all(`SELECT type, CASE WHEN type = 'track' THEN event ELSE name END AS ev, count(*) AS n
      FROM events${sample ? ' TABLESAMPLE SYSTEM(1%)' : ''} WHERE workspace_id = $1 GROUP BY ALL`, [workspaceId]);
    let rows = await read(true);
    if (rows.reduce((sum, r) => sum + num(r['n']), 0) < 20_000) rows = await read(false);
    const total = rows.reduce((sum, r) => sum + num(r['n']), 0);
    const shares = rows.filter((r) => r['ev'] !== null).map((r) => ({ type: String(r['type']), event: String(r['ev']), share: num(r['n']) / total }));
    this.shares.set(workspaceId, { at: performance.now(), shares });
    return shares;
  }

  private readonly shares = new Map<string, { at: number; shares: readonly EventShare[] }>();

  async profileCount(workspaceId: string): Promise<number> {
    const rows = await this.all('SELECT count(*) AS n FROM profiles WHERE workspace_id = $1 AND merged_into IS NULL', [workspaceId]);
    return num(rows[0]?.['n']);
  }

  async profileIdsAt(workspaceId: string, offsets: number[]): Promise<string[]> {
    // one sort of the ids for all offsets
    const rows = await this.all(`SELECT rn, profile_id FROM (
        SELECT profile_id, row_number() OVER (ORDER BY profile_id) - 1 AS rn FROM profiles WHERE workspace_id = $1 AND merged_into IS NULL)
      WHERE rn IN (SELECT unnest($2))`, [workspaceId, listValue(offsets.map((o) => BigInt(Math.max(0, Math.floor(o)))))]);
    const byRank = new Map(rows.map((r) => [num(r['rn']), String(r['profile_id'])]));
    return offsets.map((o) => byRank.get(Math.max(0, Math.floor(o))) ?? '');
  }

  // ---- webhooks ----------------------------------------------------------------------------------

  async insertWebhook(w: WebhookRecord): Promise<void> {
    await this.lock.run(() => this.writer.run(
      `INSERT INTO webhooks (workspace_id, id, url, secret, segments, created_at, cursor) VALUES ($1, $2, $3, $4, $5, ${TS('$6')}, $7)`,
      [w.workspaceId, w.id, w.url, w.secret, w.segments ? listValue(w.segments) : null, ts(w.createdAt), BigInt(w.cursor)],
    ));
  }

  async webhooks(workspaceId?: string): Promise<WebhookRecord[]> {
    const rows = await this.all(`SELECT workspace_id, id, url, secret, segments, epoch_ms(created_at) AS created_at, epoch_ms(deleted_at) AS deleted_at,
        cursor, pending_to, attempts, epoch_ms(next_attempt_at) AS next_attempt_at, last_status, last_error, delivered
      FROM webhooks ${workspaceId ? 'WHERE workspace_id = $1' : ''} ORDER BY created_at, id`, workspaceId ? [workspaceId] : []);
    const opt = (v: unknown) => (v === null || v === undefined ? null : num(v));
    return rows.map((r) => ({
      workspaceId: String(r['workspace_id']), id: String(r['id']), url: String(r['url']), secret: String(r['secret']),
      segments: Array.isArray(r['segments']) ? (r['segments'] as unknown[]).map(String) : null,
      createdAt: num(r['created_at']), deletedAt: opt(r['deleted_at']), cursor: num(r['cursor']), pendingTo: opt(r['pending_to']),
      attempts: num(r['attempts']), nextAttemptAt: opt(r['next_attempt_at']), lastStatus: opt(r['last_status']),
      lastError: r['last_error'] === null ? null : String(r['last_error']), delivered: num(r['delivered']),
    }));
  }

  async updateWebhook(w: WebhookRecord): Promise<void> {
    const t = (v: number | null) => (v === null ? null : ts(v));
    await this.lock.run(() => this.writer.run(
      `UPDATE webhooks SET cursor = $3, pending_to = $4, attempts = $5, next_attempt_at = make_timestamptz($6::BIGINT), last_status = $7,
         last_error = $8, delivered = $9, deleted_at = make_timestamptz($10::BIGINT) WHERE workspace_id = $1 AND id = $2`,
      [w.workspaceId, w.id, BigInt(w.cursor), w.pendingTo === null ? null : BigInt(w.pendingTo), w.attempts, t(w.nextAttemptAt), w.lastStatus,
        w.lastError, BigInt(w.delivered), t(w.deletedAt)],
    ));
  }

  async lastChangeSeq(workspaceId: string): Promise<number> {
    const rows = await this.all('SELECT coalesce(max(seq), 0) AS s FROM membership_history WHERE workspace_id = $1', [workspaceId]);
    return num(rows[0]?.['s']);
  }

  async changesBetween(workspaceId: string, cursor: number, upTo: number | null, limit: number, segments: string[] | null): Promise<MembershipChange[]> {
    const params: DuckDBValue[] = [workspaceId, BigInt(cursor), limit];
    let extra = '';
    if (upTo !== null) { params.push(BigInt(upTo)); extra += ` AND seq <= $${params.length}`; }
    if (segments) { params.push(listValue(segments)); extra += ` AND list_contains($${params.length}, segment_key)`; }
    const rows = await this.all(`SELECT seq, segment_key, profile_id, change, epoch_ms(changed_at) AS at, version FROM membership_history
      WHERE workspace_id = $1 AND seq > $2${extra} ORDER BY seq LIMIT $3`, params);
    return rows.map(DuckDBSegmentStore.change);
  }
}

/**
 * A DOUBLE vector's values copied whole into `out` at `at`, NULLs as NaN. Item by item through the
 * node API, each validity test made BigInts (a sixth of an all-models round at 100k profiles, and much
 * of its garbage). The validity mask is 64-bit words of bits, item j at bit j: on a little-endian
 * machine, byte j >> 3, bit j & 7.
 */
function copyDoubles(vector: duckdb.Vector, rows: number, out: Float64Array, at: number): void {
  const data = duckdb.vector_get_data(vector, rows * Float64Array.BYTES_PER_ELEMENT);
  out.set(new Float64Array(data.buffer, data.byteOffset, rows), at);
  const valid: Uint8Array | null | undefined = duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8);
  if (!valid) return; // no mask: every value is present
  for (let b = 0; b < Math.ceil(rows / 8); b++) {
    const byte = valid[b] as number;
    if (byte === 0xff) continue; // eight present values
    for (let j = b * 8; j < Math.min(rows, b * 8 + 8); j++) if ((byte & (1 << (j & 7))) === 0) out[at + j] = NaN;
  }
}

/** A DuckDB value as a number: NULL → NaN; BIGINT, DECIMAL and numeric text through their text. */
function numberOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  const n = Number(String(v));
  return Number.isFinite(n) ? n : NaN;
}

/**
 * Typed property columns (docs/segments.md, "Typed property columns"). For each property or context
 * path that segment definitions read row by row, events get three columns (`<base>_s` string, `_b`
 * boolean, `_r` raw JSON text; numbers are derived from them when read) holding exactly what the
 * compiler's JSON accessors would compute (compile.ts, propertyColumnValues). They are filled at ingest from the moment a path is
 * registered and back-filled once for older events; the compiler reads them only when ready.
 *
 * Why: DuckDB re-parses the JSON text for every json_* call, ~40-60 ns per path per row (measured at
 * 5M events); the shared scan of a workspace with a handful of property paths spent most of its time
 * there. A typed column costs a few ns per row to read.
 */
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { Params } from '../../domain/sql/dialect.js';
import { duckdbDialect } from '../../domain/sql/dialects.js';
import { quoteIdent } from '../../domain/sql/identifiers.js';
import { itemColumnValues, propertyColumn, propertyColumnValues, TYPED_SUFFIXES, type PropertyPath, type TypedSuffix } from '../../domain/segments/compile.js';
import type { TypedColumnsOptions } from '../../ports/segments.js';
import { toDuckParams } from './params.js';
import { inTransaction, type Serial } from './serial.js';

const TYPES: Record<TypedSuffix, string> = { s: 'VARCHAR', b: 'BOOLEAN', r: 'VARCHAR' };
/** A line-item path's columns hold one value per order line. */
const typeOf = (path: PropertyPath, sfx: TypedSuffix) => (path.root === 'products' ? `${TYPES[sfx]}[]` : TYPES[sfx]);

interface Entry { base: string; path: PropertyPath; ready: boolean }

export class TypedColumns {
  private entries: Entry[] = [];

  /**
   * `writer` / `writeLock`: the ingest connection and its lock (adding columns must not race an
   * insert); `maintenance` serialises `ensure` with compaction (a back-fill walks row ids, which a
   * compaction renumbers).
   */
  constructor(private readonly writer: DuckDBConnection, private readonly writeLock: Serial, readonly maintenance: Serial) {}

  async load(): Promise<void> {
    const r = await this.writer.runAndReadAll('SELECT base, root, path, ready FROM property_columns ORDER BY created_at, base');
    // rows of a root this version does not know (written by another version) are left alone
    this.entries = r.getRowObjects().filter((o) => o['root'] === 'properties' || o['root'] === 'context' || o['root'] === 'products').map((o) => ({
      base: String(o['base']), path: { root: String(o['root']) as PropertyPath['root'], keys: JSON.parse(String(o['path'])) as string[] }, ready: o['ready'] === true,
    }));
  }

  /** Base names of the paths whose columns are filled for every event. */
  ready(): Set<string> {
    return new Set(this.entries.filter((e) => e.ready).map((e) => e.base));
  }

  /**
   * Column names and values for rows being inserted, for every registered path (filled from
   * registration on, so a back-fill never misses a row inserted while it runs). `source(root)` is the
   * SQL of the inserted row's JSON column.
   */
  insertColumns(p: Params, source: (root: 'properties' | 'context') => string): { columns: string[]; values: string[] } {
    const pairs = this.values(this.entries, p, source);
    return { columns: pairs.map(([c]) => c), values: pairs.map(([, v]) => v) };
  }

  /** Each typed column of these entries (quoted) with the SQL of its value over the JSON column `source(root)`. */
  private values(entries: Entry[], p: Params, source: (root: 'properties' | 'context') => string): Array<[string, string]> {
    return entries.flatMap((e) => {
      const v = e.path.root === 'products'
        ? itemColumnValues(duckdbDialect, p, `CAST(${source('properties')} AS VARCHAR)`, e.path.keys)
        : propertyColumnValues(duckdbDialect, p, `CAST(${source(e.path.root)} AS VARCHAR)`, e.path.keys);
      return TYPED_SUFFIXES.map((sfx): [string, string] => [quoteIdent(`${e.base}_${sfx}`), v[sfx]]);
    });
  }

  /**
   * A checkpoint right after columns are added to events, so that the ALTER leaves the WAL. DuckDB
   * (1.5.x) could not replay `ADD COLUMN` while events.seq had a `nextval` default, and a process that
   * died before the next checkpoint left a database that would not open (migration 9 dropped the
   * default). Replaying DDL is DuckDB's least exercised path, so the ALTER still does not wait there
   * for an automatic checkpoint. A checkpoint fails while other write transactions run, so it is
   * retried for up to a minute.
   */
  private async checkpointAfterAlter(): Promise<void> {
    for (let attempt = 0; attempt < 120; attempt++) {
      try {
        await this.writeLock.run(() => this.writer.run('CHECKPOINT'));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /**
   * Register the paths not registered yet (up to `max` in all), add their columns, back-fill older
   * events in chunks of row ids (each chunk briefly holds the ingest lock), then mark them ready.
   * Also finishes a back-fill an earlier process left unfinished. Returns the paths added.
   */
  async ensure(paths: PropertyPath[], opts: TypedColumnsOptions): Promise<number> {
    return this.maintenance.run(async () => {
      const known = new Set(this.entries.map((e) => e.base));
      const fresh: Entry[] = [];
      for (const path of paths) {
        const base = propertyColumn(path);
        if (known.has(base) || this.entries.length + fresh.length >= opts.max) continue;
        known.add(base);
        fresh.push({ base, path, ready: false });
      }
      if (fresh.length) {
        opts.progress?.({ phase: 'add', paths: fresh.length, rowsDone: 0, rowsTotal: 0 });
        await this.writeLock.run(async () => {
          await inTransaction(this.writer, async () => {
            for (const e of fresh) {
              for (const sfx of TYPED_SUFFIXES) await this.writer.run(`ALTER TABLE events ADD COLUMN ${quoteIdent(`${e.base}_${sfx}`)} ${typeOf(e.path, sfx)}`);
              await this.writer.run('INSERT INTO property_columns VALUES ($1, $2, $3, false, now())', [e.base, e.path.root, JSON.stringify(e.path.keys)]);
            }
          });
          // inside the lock: the next insert fills the new columns
          this.entries = [...this.entries, ...fresh];
        });
        await this.checkpointAfterAlter();
      }
      const pending = this.entries.filter((e) => !e.ready);
      if (pending.length === 0) return fresh.length;
      const maxRow = await this.writeLock.run(async () => {
        const r = await this.writer.runAndReadAll('SELECT coalesce(max(rowid), -1) AS m FROM events');
        return Number(r.getRowObjects()[0]?.['m'] ?? -1);
      });
      const p = new Params(duckdbDialect);
      const sets = this.values(pending, p, quoteIdent).map(([c, v]) => `${c} = ${v}`);
      // the row-id bounds of a chunk follow the expressions' parameters
      const n = p.list.length;
      const sql = `UPDATE events SET ${sets.join(', ')} WHERE rowid >= ${duckdbDialect.placeholder('lo', n + 1, 'int')} AND rowid < ${duckdbDialect.placeholder('hi', n + 2, 'int')}`;
      const bound = toDuckParams(p.list);
      // Smaller chunks while line-item lists are filled: DuckDB moves a row whose list changes size, and
      // a chunk of 500,000 rows held the ingest lock ~2.5 s (~1 s for scalar paths), measured at 50M events.
      const chunk = Math.max(1, opts.chunkRows ?? (pending.some((e) => e.path.root === 'products') ? 100_000 : 500_000));
      const total = maxRow + 1;
      for (let lo = 0; lo < total; lo += chunk) {
        if (opts.signal?.aborted) return fresh.length; // left not ready: the next ensure fills it again
        await this.writeLock.run(() => this.writer.run(sql, [...bound, BigInt(lo), BigInt(lo + chunk)]));
        opts.progress?.({ phase: 'fill', paths: pending.length, rowsDone: Math.min(total, lo + chunk), rowsTotal: total });
      }
      await this.writeLock.run(async () => {
        await this.writer.run('UPDATE property_columns SET ready = true WHERE list_contains($1, base)', [listValue(pending.map((e) => e.base))]);
        for (const e of pending) e.ready = true;
        // Updated rows are read through their update versions until a checkpoint folds them into the
        // table (measured: the shared scan was slower than on the JSON). DuckDB refuses while other
        // transactions run; then the next automatic checkpoint does it.
        await this.writer.run('CHECKPOINT').catch(() => undefined);
      });
      opts.progress?.({ phase: 'done', paths: pending.length, rowsDone: total, rowsTotal: total });
      return fresh.length;
    });
  }
}

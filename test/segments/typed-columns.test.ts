/**
 * Typed property columns (docs/segments.md, "Typed property columns"): the property and context paths
 * that definitions read are kept typed beside the JSON, filled at ingest and back-filled for older
 * events. Random definitions over random JSON values (numbers, numeric strings, other strings,
 * booleans, null, objects, arrays, dates) must give the same members and computed values whether the
 * plan reads the typed columns or parses the JSON — for events back-filled and for events ingested
 * after the columns were added. Seeded: SEGMENTA_SEED=<n> replays a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Segmenta } from '../../src/app/segmenta.js';
import type { ComputedTraitDefinition, Condition } from '../../src/domain/segments/ast.js';
import { compileWorkspace, propertyColumn, propertyPaths, type CompileInput } from '../../src/domain/segments/compile.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import type { TypedColumnsProgress } from '../../src/ports/segments.js';
import { mulberry32 } from '../../src/demo/random.js';
import { conditionArbs } from './arbitrary.js';

const SEED = Number(process.env['SEGMENTA_SEED'] ?? 5);
const D = 86_400_000;
const EVENTS = ['Order Completed', 'Product Viewed', 'Checkout Started'];
const KEYS = ['revenue', 'currency', 'category', 'when', 'odd key'];
const d = DIALECTS.duckdb;

const conditionArb = conditionArbs({
  vocabulary: {
    eventNames: [...EVENTS, '*'], traitKeys: ['plan'], pathSegments: KEYS, strings: ['EUR', 'shoes', '12', 'true'],
    computedKeys: ['x'], scoreModels: ['x'], segmentKeys: ['x'], consentPurposes: ['marketing'], salts: ['s'],
  },
  maxDepth: 3,
}).conditionArb.filter((c) => !/"type":"(segment|computed_trait|score)"/.test(JSON.stringify(c)));

const COMPUTED: ComputedTraitDefinition[] = [
  { key: 'rev', kind: 'sum', event: 'Order Completed', path: 'properties.revenue' },
  { key: 'cur', kind: 'most_frequent', event: '*', path: 'properties.currency' },
  { key: 'last_cat', kind: 'last', event: '*', path: 'context.category' },
  { key: 'cats', kind: 'unique_list', event: '*', path: 'properties.category' },
  { key: 'odd', kind: 'max', event: '*', path: 'properties.odd key' },
  { key: 'item_cats', kind: 'unique_list', event: '*', path: 'products.category' },
  { key: 'item_rev', kind: 'sum', event: 'Order Completed', path: 'products.revenue', where: [{ path: 'products.currency', op: 'eq', value: 'EUR' }] },
];

/** A JSON value; objects use the same keys, so generated nested paths (properties.a.b) often exist. */
/** Every comparison kind on top-level and nested paths of both roots (random ones rarely hit each). */
function handWritten(): Condition[] {
  const comparisons: Array<Record<string, unknown>> = [
    { op: 'eq', value: true }, { op: 'eq', value: false }, { op: 'neq', value: true }, { op: 'eq', value: 'EUR' }, { op: 'gt', value: 10 },
    { op: 'lte', value: 12 }, { op: 'in', values: ['shoes', 12, false] }, { op: 'contains', value: 'E' }, { op: 'exists' }, { op: 'not_exists' },
    { op: 'before', date: '2026-01-01' }, { op: 'after', date: '1971-01-01' }, { op: 'within_last', amount: 200, unit: 'days' },
    { op: 'more_than_ago', amount: 30, unit: 'days' }, { op: 'anniversary_within', days: 40 },
  ];
  const out: Condition[] = [];
  for (const path of ['products.revenue', 'products.when', 'products.odd key.currency']) {
    for (const c of comparisons) out.push({ type: 'event', event: '*', where: [{ path, ...c } as never] });
    out.push({ type: 'aggregate', event: '*', fn: 'avg', path, op: 'gt', value: 20 });
    out.push({ type: 'aggregate', event: 'Order Completed', fn: 'count_distinct', path, op: 'gte', value: 2 });
  }
  // two filters on the same line
  out.push({ type: 'event', event: '*', where: [{ path: 'products.currency', op: 'eq', value: 'EUR' }, { path: 'products.revenue', op: 'gt', value: 10 }] });
  for (const path of ['properties.revenue', 'properties.when', 'context.category', 'properties.odd key.currency']) {
    for (const c of comparisons) out.push({ type: 'event', event: '*', where: [{ path, ...c } as never] });
    out.push({ type: 'last_value', event: '*', path, op: 'eq', value: true });
    out.push({ type: 'last_value', event: '*', path, op: 'before', date: '2026-01-01' });
    out.push({ type: 'aggregate', event: '*', fn: 'count_distinct', path, op: 'gte', value: 3 });
    out.push({ type: 'aggregate', event: '*', fn: 'avg', path, op: 'gt', value: 20 });
  }
  return out;
}

function value(rand: () => number, depth = 0): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  if (depth < 2 && rand() < 0.35) return Object.fromEntries(KEYS.filter(() => rand() < 0.5).map((k) => [k, value(rand, depth + 1)]));
  switch (Math.floor(rand() * 9)) {
    case 0: return Math.round(rand() * 400) - 20;
    case 1: return pick(['12', ' 7 ', '1e2', '0x10', '', 'NaN', '-0']);
    case 2: return pick(['EUR', 'USD', 'shoes', 'Shoes', 'ünïcödé "q"', 'true']);
    case 3: return rand() < 0.5;
    case 4: return null;
    case 5: return { nested: pick([1, 'a', true]) };
    case 6: return [1, 'a'];
    case 7: return new Date(Date.UTC(2025, 0, 1) + Math.floor(rand() * 700) * D).toISOString().slice(0, pick([10, 16, 19, 24]));
    default: return pick([0.5, 99.5, 1e15, 12]);
  }
}

function batch(rand: () => number, n: number, tag: string, now: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const props: Record<string, unknown> = {};
    const ctx: Record<string, unknown> = {};
    for (const k of KEYS) if (rand() < 0.6) props[k] = value(rand);
    for (const k of KEYS) if (rand() < 0.3) ctx[k] = value(rand);
    // order lines: objects of the same keys, now and then a line or a whole value that is not one
    if (rand() < 0.5) {
      props['products'] = rand() < 0.1 ? value(rand) : Array.from({ length: Math.floor(rand() * 4) }, () =>
        rand() < 0.85 ? Object.fromEntries(KEYS.filter(() => rand() < 0.6).map((k) => [k, value(rand, 1)])) : value(rand, 2));
    }
    out.push({
      type: 'track', userId: `u${Math.floor(rand() * 12)}`, event: EVENTS[Math.floor(rand() * EVENTS.length)], messageId: `${tag}-${i}`,
      timestamp: new Date(now - Math.floor(rand() * 400) * D).toISOString(), properties: props, context: ctx,
    });
  }
  return out;
}

/** Rows of a plan, keyed by profile, values as text (exact comparison). */
async function rowsOf(sg: Segmenta, input: CompileInput): Promise<{ sql: string; rows: Map<string, string> }> {
  const q = compileWorkspace(d, input);
  const rows = await sg.store.segments.query(q);
  return { sql: q.sql, rows: new Map(rows.map((r) => [String(r['pid']), JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))])) };
}

test(`typed property columns read the same values as the JSON (back-filled and ingested after; seed ${SEED})`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-typed-'));
  const rand = mulberry32(SEED);
  const now = Date.now();
  let sg = await Segmenta.open({ dataDir: dir, threads: 1, segments: { typedColumnsMax: 0 } });
  try {
    const { workspace: ws } = await sg.workspaces.create('t');
    await sg.ingest.submit(ws, batch(rand, 300, 'a', now), { source: 'api', mode: 'atomic' });
    await sg.ingest.drain();

    const conditions = [...handWritten(), ...fc.sample(conditionArb, { seed: SEED, numRuns: 80 }).map((c) => JSON.parse(JSON.stringify(c)) as Condition)];
    const input: CompileInput = { workspaceId: ws, now, segments: conditions.map((condition, i) => ({ key: `g${i}`, condition })), computed: COMPUTED };
    const paths = propertyPaths(d, input);
    assert.ok(paths.length >= 6, `the definitions read several paths: ${JSON.stringify(paths)}`);

    // back-fill the 300 older events in chunks of 7 rows, with progress
    const seen: TypedColumnsProgress[] = [];
    const added = await sg.store.segments.ensureTypedColumns(paths, { max: 200, chunkRows: 7, progress: (p) => seen.push(p) });
    assert.equal(added, paths.length);
    assert.ok(seen.filter((p) => p.phase === 'fill').length >= 300 / 7, 'progress per chunk');
    assert.deepEqual(seen.at(-1), { phase: 'done', paths: paths.length, rowsDone: 300, rowsTotal: 300 });
    assert.equal(await sg.store.segments.ensureTypedColumns(paths, { max: 200 }), 0, 'nothing new the second time');

    // events after: filled at ingest
    await sg.ingest.submit(ws, batch(rand, 300, 'b', now), { source: 'api', mode: 'atomic' });
    await sg.ingest.drain();

    const typed = sg.store.segments.typedColumns();
    assert.deepEqual([...typed].sort(), paths.map(propertyColumn).sort());
    const json = await rowsOf(sg, input);
    const viaColumns = await rowsOf(sg, { ...input, typedColumns: typed });
    assert.ok(!json.sql.includes('tp_') && viaColumns.sql.includes('tp_'), 'the typed plan reads the columns, the other the JSON');
    assert.ok(viaColumns.sql.includes('list_zip(') && !json.sql.includes('list_zip('), 'the typed plan reads the line items from their columns');
    assert.equal(viaColumns.rows.size, json.rows.size);
    for (const [pid, row] of json.rows) assert.equal(viaColumns.rows.get(pid), row, `profile ${pid}`);
    // the comparison means something: the generated segments both hold and fail
    const verdicts = [...json.rows.values()].flatMap((r) => conditions.map((_c, i) => (JSON.parse(r) as Record<string, unknown>)[`s_${i}`]));
    assert.ok(verdicts.filter((v) => v === true).length > 20 && verdicts.filter((v) => v === false).length > 20, 'verdicts are mixed');

    // state column names do not depend on typing (a state built before a path was typed stays usable)
    const names = (i: CompileInput) => compileWorkspace(d, { ...i, state: { mode: 'emit' } }).stateColumns?.map((c) => c.name).sort();
    assert.deepEqual(names({ ...input, typedColumns: typed }), names(input));

    // the registry survives a restart; a back-fill cut short is finished by the next call
    await sg.close();
    sg = await Segmenta.open({ dataDir: dir, threads: 1, segments: { typedColumnsMax: 0 } });
    assert.deepEqual([...sg.store.segments.typedColumns()].sort(), [...typed].sort());
    const more = [{ root: 'properties' as const, keys: ['late', 'path'] }];
    const stop = new AbortController();
    await sg.store.segments.ensureTypedColumns(more, { max: 200, chunkRows: 50, signal: stop.signal, progress: (p) => { if (p.phase === 'fill') stop.abort(); } });
    assert.ok(!sg.store.segments.typedColumns().has(propertyColumn(more[0] as (typeof more)[0])), 'not ready after an interrupted back-fill');
    await sg.store.segments.ensureTypedColumns(more, { max: 200 });
    assert.ok(sg.store.segments.typedColumns().has(propertyColumn(more[0] as (typeof more)[0])), 'ready once finished');
    // the cap: no more paths than max
    assert.equal(await sg.store.segments.ensureTypedColumns([{ root: 'context', keys: ['one', 'more'] }], { max: paths.length + 1 }), 0);
  } finally {
    await sg.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

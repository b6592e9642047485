/**
 * Incremental state (fast lane): after every ingest commit the touched profiles' mergeable aggregates
 * are their state row plus their new events only. Random commits (orders, views, consent, traits,
 * merges through alias, events dated in the future) go through the real ingest service; after each,
 * every segment's members and every computed value must equal a from-scratch evaluation of the whole
 * history, also when a full run is under way as the commit lands. Seeded: SEGMENTA_SEED=<n> replays a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenta } from '../../src/app/segmenta.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileWorkspace, computedStateColumn, membershipStateColumn } from '../../src/domain/segments/compile.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import { quoteIdent } from '../../src/domain/sql/identifiers.js';
import type { ComputedTraitDefinition, Condition } from '../../src/domain/segments/ast.js';
import { mulberry32 } from '../../src/demo/random.js';

const SEED = Number(process.env['SEGMENTA_SEED'] ?? 11);
const D = 86_400_000;

const OC = 'Order Completed';
const SEGMENTS: Array<{ key: string; condition: Condition }> = [
  // kept in state
  { key: 'orders_ge_2', condition: { type: 'event', event: OC, count: { op: 'at_least', value: 2 } } },
  { key: 'spent_300', condition: { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: 300 } },
  { key: 'avg_high', condition: { type: 'aggregate', event: OC, fn: 'avg', path: 'properties.revenue', op: 'gt', value: 100 } },
  { key: 'max_big', condition: { type: 'aggregate', event: OC, fn: 'max', path: 'properties.revenue', op: 'gte', value: 150 } },
  { key: 'min_small', condition: { type: 'aggregate', event: OC, fn: 'min', path: 'properties.revenue', op: 'lt', value: 30 } },
  { key: 'first_old', condition: { type: 'first_performed', event: OC, op: 'more_than_ago', amount: 20, unit: 'days' } },
  { key: 'last_recent', condition: { type: 'last_performed', event: 'Product Viewed', op: 'within_last', amount: 10, unit: 'days' } },
  { key: 'eur_last', condition: { type: 'last_value', event: OC, path: 'properties.currency', op: 'eq', value: 'EUR' } },
  { key: 'bought_shoes', condition: { type: 'event', event: OC, where: [{ path: 'products.category', op: 'eq', value: 'shoes' }] } },
  { key: 'items_avg', condition: { type: 'aggregate', event: OC, fn: 'avg', path: 'products.price', op: 'gt', value: 50 } },
  { key: 'consented', condition: { type: 'consent', purpose: 'marketing' } },
  { key: 'pro', condition: { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' } },
  { key: 'holdout', condition: { type: 'bucket', salt: 's', from: 0, to: 50 } },
  { key: 'pro_spenders', condition: { type: 'and', conditions: [{ type: 'segment', segment: 'pro' }, { type: 'segment', segment: 'spent_300' }] } },
  { key: 'not_buyers', condition: { type: 'not', condition: { type: 'event', event: OC } } },
  { key: 'fixed_window', condition: { type: 'event', event: 'Checkout Started', window: { type: 'between', from: '2020-01-01', to: '2100-01-01' } } },
  // not kept in state: the slow lane evaluates them from history
  { key: 'ordered_30d', condition: { type: 'event', event: OC, window: { type: 'last', amount: 30, unit: 'days' } } },
  { key: 'many_products', condition: { type: 'aggregate', event: 'Product Viewed', fn: 'count_distinct', path: 'properties.product_id', op: 'gte', value: 3 } },
  { key: 'viewed_then_ordered', condition: { type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: OC }], within: { amount: 3, unit: 'days' } } },
];
const COMPUTED: ComputedTraitDefinition[] = [
  { key: 'revenue_total', kind: 'sum', event: OC, path: 'properties.revenue' },
  { key: 'orders', kind: 'count', event: OC },
  { key: 'last_currency', kind: 'last', event: OC, path: 'properties.currency' },
  { key: 'categories', kind: 'unique_list', event: OC, path: 'products.category' },
  { key: 'days_last', kind: 'days_since_last', event: OC },
  { key: 'fav', kind: 'most_frequent', event: 'Product Viewed', path: 'properties.category' },
  { key: 'orders_30d', kind: 'count', event: OC, window: { type: 'last', amount: 30, unit: 'days' } },
];

/**
 * Profiles whose valid state row disagrees with the memberships about a segment the state mirrors
 * (fast runs read the state column as the current membership).
 */
async function mirrorMismatches(sg: Segmenta, ws: string, keys: string[]): Promise<string[]> {
  const info = await sg.store.segments.stateInfo(ws, []);
  if (!info) return [];
  const out: string[] = [];
  for (const key of keys) {
    const col = membershipStateColumn(key, (await sg.segments.get(ws, key)).version);
    if (!info.columns.has(col)) continue;
    const rows = await sg.store.segments.query({
      sql: `SELECT s.pid FROM "${info.table}" s WHERE s.hwm >= 0 AND coalesce(s."${col}", false)
          <> EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = $1 AND m.segment_key = $2 AND m.profile_id = s.pid)`,
      params: [{ name: 'p1', type: 'string', value: ws }, { name: 'p2', type: 'string', value: key }], segmentColumns: [], computedColumns: [] });
    for (const r of rows) out.push(`${key} / ${String(r['pid'])}`);
  }
  return out;
}

/** State rows whose mirrored computed value differs from the trait's written value (as JSON text). */
async function valueMirrorMismatches(sg: Segmenta, ws: string, defs: ComputedTraitDefinition[]): Promise<string[]> {
  const info = await sg.store.segments.stateInfo(ws, []);
  if (!info) return [];
  const out: string[] = [];
  for (const def of defs) {
    const col = computedStateColumn(def);
    if (!info.columns.has(col)) continue;
    const rows = await sg.store.segments.query({
      sql: `SELECT s.pid, CAST(s."${col}" AS VARCHAR) AS mirror, CAST(v.value AS VARCHAR) AS written FROM "${info.table}" s
          LEFT JOIN computed_values v ON v.workspace_id = $1 AND v.key = $2 AND v.profile_id = s.pid
          WHERE s.hwm >= 0 AND (s."${col}" IS NULL) <> (v.value IS NULL)`,
      params: [{ name: 'p1', type: 'string', value: ws }, { name: 'p2', type: 'string', value: def.key }], segmentColumns: [], computedColumns: [] });
    for (const r of rows) out.push(`${def.key} / ${String(r['pid'])}: state ${String(r['mirror'])}, written ${String(r['written'])}`);
  }
  return out;
}

/**
 * Every segment's members equal a from-scratch evaluation at `now`; no membership twice; each
 * (segment, profile)'s history alternates entered / exited and ends as the membership stands; valid
 * state rows mirror the memberships. Returns the evaluation's rows.
 */
async function assertMembershipsHold(sg: Segmenta, ws: string, segments: Array<{ key: string; condition: Condition }>, computed: ComputedTraitDefinition[], now: number, label: string) {
  const q = compileWorkspace(DIALECTS.duckdb, { workspaceId: ws, now, segments, computed });
  const rows = await sg.store.segments.query(q);
  for (const col of q.segmentColumns) {
    const expected = rows.filter((x) => x[col.column] === true).map((x) => String(x['pid'])).sort();
    const actual = (await sg.segments.members(ws, col.key, 1000)).map((m) => m.profileId).sort();
    assert.deepEqual(actual, expected, `${label}: members of ${col.key} (SEGMENTA_SEED=${SEED})`);
  }
  const dup = await sg.store.segments.query({ sql: `SELECT segment_key, profile_id FROM memberships GROUP BY ALL HAVING count(*) > 1`, params: [], segmentColumns: [], computedColumns: [] });
  assert.deepEqual(dup, [], `${label}: duplicate memberships (SEGMENTA_SEED=${SEED})`);
  const hist = await sg.store.segments.query({
    sql: `SELECT h.segment_key, h.profile_id, list(h.change ORDER BY h.seq) AS changes, any_value(m.profile_id IS NOT NULL) AS member
      FROM membership_history h LEFT JOIN memberships m USING (workspace_id, segment_key, profile_id) GROUP BY ALL`,
    params: [], segmentColumns: [], computedColumns: [] });
  for (const h of hist) {
    const changes = h['changes'] as string[];
    const alternates = changes.every((c, i) => c === (i % 2 === 0 ? 'entered' : 'exited'));
    assert.ok(alternates && (changes.length % 2 === 1) === h['member'], `${label}: history of ${String(h['segment_key'])} / ${String(h['profile_id'])}: ${changes.join(', ')}, member ${String(h['member'])} (SEGMENTA_SEED=${SEED})`);
  }
  assert.deepEqual(await mirrorMismatches(sg, ws, segments.map((x) => x.key)), [], `${label}: state membership columns (SEGMENTA_SEED=${SEED})`);
  return rows;
}

test(`fast lane = whole history after every commit (seed ${SEED})`, async () => {
  const r = mulberry32(SEED);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const ws = (await sg.workspaces.create('inc')).workspace;
    const now = Date.now();
    let n = 0;
    const event = (user: { userId?: string; anonymousId?: string }, future = false) => {
      const kind = pick([OC, OC, 'Product Viewed', 'Product Viewed', 'Checkout Started']);
      const ts = future ? now + 2 * D : now - Math.floor(r() * 60 * D);
      const cat = pick(['shoes', 'hats', 'bags']);
      const properties = kind === OC
        ? { revenue: Math.round(r() * 20000) / 100, currency: pick(['EUR', 'USD']), products: [{ category: cat, price: Math.round(r() * 10000) / 100 }] }
        : { product_id: `sku${Math.floor(r() * 6)}`, category: cat };
      const context = r() < 0.2 ? { consent: { categoryPreferences: { marketing: r() < 0.5 } } } : {};
      return { type: 'track', ...user, event: kind, properties, context, timestamp: new Date(ts).toISOString(), messageId: `m${++n}` };
    };
    // history before the definitions: the first full run builds the state from it
    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    await sg.ingest.submit(ws, users.flatMap((u) => Array.from({ length: 3 }, () => event({ userId: u }))), { source: 'api', mode: 'atomic' });
    for (const s of SEGMENTS) await sg.segments.create(ws, s);
    for (const c of COMPUTED) await sg.segments.createComputedTrait(ws, c);
    await sg.segments.idle();
    const fastBefore = sg.segments.metrics.fastRuns;

    for (let round = 0; round < 8; round++) {
      const batch: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 6; i++) batch.push(event({ userId: pick(users) }));
      if (round === 2) batch.push(event({ userId: pick(users) }, true)); // dated after now: that profile's state is invalid
      if (round === 3) {
        // an anonymous visitor with history, then identified: merged into a known profile
        batch.push(event({ anonymousId: `anon${round}` }), event({ anonymousId: `anon${round}` }));
      }
      if (round === 4) batch.push({ type: 'identify', userId: 'u1', anonymousId: 'anon3', messageId: `m${++n}` });
      if (round === 5) batch.push({ type: 'identify', userId: pick(users), traits: { plan: pick(['pro', 'free']) }, messageId: `m${++n}` });
      // every other round a full run is under way while the commit lands (before or after its snapshot:
      // either way, the profiles touched after it must keep their newer memberships)
      const full = round % 2 === 1 ? sg.segments.compute(ws) : Promise.resolve();
      // a definition edited while commits land: its new version has no membership column in the state
      // table until a full run builds one (slow lane meanwhile); the old version's column is never read
      if (round === 4 || round === 6) {
        const i = SEGMENTS.findIndex((x) => x.key === 'orders_ge_2');
        const condition: Condition = { type: 'event', event: OC, count: { op: 'at_least', value: round === 4 ? 3 : 2 } };
        SEGMENTS[i] = { key: 'orders_ge_2', condition };
        await sg.segments.update(ws, 'orders_ge_2', { condition });
      }
      await sg.ingest.submit(ws, batch, { source: 'api', mode: 'atomic' });
      await full;
      await sg.segments.idle();

      const rows = await assertMembershipsHold(sg, ws, SEGMENTS, COMPUTED, Date.now(), `round ${round}`);
      assert.deepEqual(await valueMirrorMismatches(sg, ws, COMPUTED), [], `round ${round}: state computed-value columns (SEGMENTA_SEED=${SEED})`);
      const q = compileWorkspace(DIALECTS.duckdb, { workspaceId: ws, now: Date.now(), segments: SEGMENTS, computed: COMPUTED });
      for (const row of rows) {
        const pid = String(row['pid']);
        const got = new Map((await sg.store.segments.computedValues(ws, pid)).map((v) => [v.key, v.value]));
        for (const col of q.computedColumns) {
          const raw = row[col.column];
          const want = raw === null || raw === undefined ? undefined : typeof raw === 'string' && !['count', 'sum', 'days_since_last'].includes(col.kind) ? JSON.parse(raw) : Number(raw);
          const have = got.get(col.key);
          if (typeof want === 'number') assert.ok(typeof have === 'number' && Math.abs(have - want) < 1e-9, `round ${round}: ${col.key} of ${pid}: ${String(have)} ≠ ${want}`);
          else assert.deepEqual(have, want, `round ${round}: ${col.key} of ${pid} (SEGMENTA_SEED=${SEED})`);
        }
      }
    }
    const m = sg.segments.metrics;
    assert.equal(m.failures, 0, 'no run failed (the lanes write the same tables concurrently, never the same rows)');
    assert.ok(m.fastRuns > fastBefore, 'the fast lane ran');
    assert.ok(m.slowRuns > 0, 'the slow lane ran (windows, distinct counts, sequences, most frequent, invalid profiles)');
    assert.ok(m.fastEventsRead < 8 * 10, `fast runs read only new events (${m.fastEventsRead})`);
  } finally {
    await sg.segments.idle();
    await sg.close();
  }
});

/** A workspace in a new in-memory instance (full runs only when a test asks), closed after `body`. */
async function inWorkspace(name: string, body: (sg: Segmenta, ws: string) => Promise<void>): Promise<void> {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1, segments: { refreshMs: 3_600_000 } });
  try {
    await body(sg, (await sg.workspaces.create(name)).workspace);
  } finally {
    await sg.segments.idle();
    await sg.close();
  }
}

test('a full run diffs against the state rows where they mirror the memberships, pair-wise where they cannot tell', () => inWorkspace('diff', async (sg, ws) => {
  const t0 = Date.now();
  let n = 0;
  const order = (userId: string, daysAgo: number, revenue = 50) => ({ type: 'track', userId, event: OC, properties: { revenue }, timestamp: new Date(t0 - daysAgo * D).toISOString(), messageId: `o${++n}` });
  // g also has a view dated after both runs: its state row is marked -1 (aggregates incomplete), yet its
  // membership columns hold what the run wrote, and the next run diffs it row-wise like the others
  await sg.ingest.submit(ws, [order('a', 2), order('b', 5), order('c', 30, 400), order('d', 1), order('f', 8), order('g', 5),
    { type: 'track', userId: 'e', event: 'Product Viewed', properties: {}, timestamp: new Date(t0 - 3 * D).toISOString(), messageId: 'v1' },
    { type: 'track', userId: 'g', event: 'Product Viewed', properties: {}, timestamp: new Date(t0 + 30 * D).toISOString(), messageId: 'v2' }], { source: 'api', mode: 'atomic' });
  // all kept in state (membership columns), so a later full run diffs them row-wise
  const segments: Array<{ key: string; condition: Condition }> = [
    { key: 'recent', condition: { type: 'last_performed', event: OC, op: 'within_last', amount: 7, unit: 'days' } },
    { key: 'buyer', condition: { type: 'event', event: OC } },
    { key: 'not_buyer', condition: { type: 'not', condition: { type: 'event', event: OC } } },
  ];
  for (const x of segments) await sg.segments.create(ws, x);
  await sg.segments.idle();
  await sg.segments.compute(ws, { now: t0 });
  await assertMembershipsHold(sg, ws, segments, [], t0, 'built');
  const info = await sg.store.segments.stateInfo(ws, []);
  for (const x of segments) assert.ok(info?.columns.has(membershipStateColumn(x.key, 1)), `the state mirrors ${x.key}`);
  const historyRows = async () => Number((await sg.store.segments.query({ sql: 'SELECT count(*) AS n FROM membership_history', params: [], segmentColumns: [], computedColumns: [] }))[0]?.['n']);
  const exitsOf = async (key: string) => (await sg.store.segments.query({ sql: `SELECT count(*) AS n FROM membership_history WHERE segment_key = $1 AND change = 'exited'`, params: [{ name: 'p1', type: 'string', value: key }], segmentColumns: [], computedColumns: [] }))[0]?.['n'];

  const gId = (await sg.profiles.get(ws, 'g')).profileId;
  const gHwm = async () => Number((await sg.store.segments.query({ sql: `SELECT hwm FROM ${quoteIdent(info?.table ?? '')} WHERE pid = $1`, params: [{ name: 'p1', type: 'string', value: gId }], segmentColumns: [], computedColumns: [] }))[0]?.['hwm']);
  assert.equal(await gHwm(), -1, 'g has an event dated after the run');

  // the clock moves on: b's, f's and g's last orders are now more than 7 days ago (row-wise exits)
  const t1 = t0 + 4 * D;
  assert.equal(Number(await exitsOf('recent')), 0);
  await sg.segments.compute(ws, { now: t1 });
  await assertMembershipsHold(sg, ws, segments, [], t1, 'clock moved');
  assert.equal(Number(await exitsOf('recent')), 2, 'b and g left recent (f was never in it)');
  assert.equal(await gHwm(), -1, 'g\'s row is still marked');
  const settled = await historyRows();
  await sg.segments.compute(ws, { now: t1 });
  assert.equal(await historyRows(), settled, 'the same run again enters and exits no one (g included)');

  // a state row marked invalid has no membership columns: read as "member of nothing" it would make
  // d enter buyer and recent again (a second membership each); diffed pair-wise, nothing changes
  const dId = (await sg.profiles.get(ws, 'd')).profileId;
  assert.ok((await sg.segments.members(ws, 'recent', 100)).some((m) => m.profileId === dId), 'd is in recent');
  await sg.store.segments.invalidateState(ws, [dId]);
  const before = await historyRows();
  await sg.segments.compute(ws, { now: t1 });
  await assertMembershipsHold(sg, ws, segments, [], t1, 'an invalid row');
  assert.equal(await historyRows(), before, 'no entry or exit for the invalid row nor anyone else');

  // a segment created after the state was built has no column in it: its first full run diffs it
  // pair-wise (the others row-wise), and the next builds its column
  const big = { key: 'big', condition: { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: 300 } } as const;
  await sg.segments.create(ws, big);
  segments.push(big);
  await sg.segments.idle();
  await sg.segments.compute(ws, { now: t1 });
  await assertMembershipsHold(sg, ws, segments, [], t1, 'a new segment');
  assert.deepEqual((await sg.segments.members(ws, 'big', 100)).length, 1, 'c spent 400');
}));

test('the slow lane\'s membership columns survive a fast run\'s rewrite of the row, and a full run does not trust an empty one', () => inWorkspace('carry', async (sg, ws) => {
  const t0 = Date.now();
  const at = (daysAgo: number) => new Date(t0 - daysAgo * D).toISOString();
  await sg.ingest.submit(ws, [
    { type: 'track', userId: 'x', event: 'Product Viewed', properties: { product_id: 'p1' }, timestamp: at(3), messageId: 'v1' },
    { type: 'track', userId: 'x', event: 'Product Viewed', properties: { product_id: 'p2' }, timestamp: at(2), messageId: 'v2' },
    { type: 'track', userId: 'x', event: OC, properties: { revenue: 10 }, timestamp: at(1), messageId: 'o1' },
  ], { source: 'api', mode: 'atomic' });
  // 'many' is the slow lane's (a distinct count), 'buyer' the fast lane's; the state mirrors both
  const segments: Array<{ key: string; condition: Condition }> = [
    { key: 'many', condition: { type: 'aggregate', event: 'Product Viewed', fn: 'count_distinct', path: 'properties.product_id', op: 'gte', value: 2 } },
    { key: 'buyer', condition: { type: 'event', event: OC } },
  ];
  for (const x of segments) await sg.segments.create(ws, x);
  await sg.segments.idle();
  await sg.segments.compute(ws, { now: t0 });
  await assertMembershipsHold(sg, ws, segments, [], t0, 'built');
  const xId = (await sg.profiles.get(ws, 'x')).profileId;
  const info = await sg.store.segments.stateInfo(ws, [xId]);
  assert.ok(info?.columns.has(membershipStateColumn('many', 1)), 'the state mirrors the slow lane\'s segment too');
  // a fast run rewrites x's row with the columns of its own segments
  await sg.segments.compute(ws, { profileIds: [xId], lane: 'fast', stateInfo: info ?? undefined, now: t0 });
  assert.deepEqual(await mirrorMismatches(sg, ws, ['many', 'buyer']), [], 'x is still a member of many in its state row');
  // a column left empty (as by a lane that wrote the row without it): the full run diffs x pair-wise
  const store = sg.store.segments as unknown as { writer: { run(sql: string): Promise<unknown> } };
  await store.writer.run(`UPDATE "${info?.table ?? ''}" SET "${membershipStateColumn('many', 1)}" = NULL`);
  const history = async () => Number((await sg.store.segments.query({ sql: 'SELECT count(*) AS n FROM membership_history', params: [], segmentColumns: [], computedColumns: [] }))[0]?.['n']);
  const before = await history();
  await sg.segments.compute(ws, { now: t0 });
  await assertMembershipsHold(sg, ws, segments, [], t0, 'an empty column');
  assert.equal(await history(), before, 'x did not enter many a second time');
}));

test('a full run does not rewrite a number that differs from the written one only by rounding, and does rewrite a real change', () => inWorkspace('round', async (sg, ws) => {
  const t0 = Date.now();
  await sg.ingest.submit(ws, [0.1, 0.2, 0.7].map((revenue, i) => ({ type: 'track', userId: 'x', event: OC, properties: { revenue, currency: 'EUR' }, timestamp: new Date(t0 - (i + 1) * D).toISOString(), messageId: `o${i}` })), { source: 'api', mode: 'atomic' });
  const traits: ComputedTraitDefinition[] = [
    { key: 'spent', kind: 'sum', event: OC, path: 'properties.revenue' },
    { key: 'orders', kind: 'count', event: OC },
    { key: 'cur', kind: 'last', event: OC, path: 'properties.currency' },
  ];
  for (const c of traits) await sg.segments.createComputedTrait(ws, c);
  await sg.segments.idle();
  await sg.segments.compute(ws, { now: t0 });
  const xId = (await sg.profiles.get(ws, 'x')).profileId;
  const before = new Map((await sg.store.segments.computedValues(ws, xId)).map((v) => [v.key, v]));
  // as if the last full run had added in another order: the same sum but for its last bits; and a count that is off
  const store = sg.store.segments as unknown as { writer: { run(sql: string): Promise<unknown> } };
  await store.writer.run(`UPDATE computed_values SET value = CAST(to_json(CAST(value AS DOUBLE) * (1 + 4e-16)) AS JSON) WHERE key = 'spent'`);
  await store.writer.run(`UPDATE computed_values SET value = CAST(to_json(99) AS JSON) WHERE key = 'orders'`);
  const tampered = new Map((await sg.store.segments.computedValues(ws, xId)).map((v) => [v.key, v]));
  assert.notEqual(tampered.get('spent')?.value, before.get('spent')?.value, 'the written sum now differs in its last bits');
  await sg.segments.compute(ws, { now: t0 + 60_000 });
  const after = new Map((await sg.store.segments.computedValues(ws, xId)).map((v) => [v.key, v]));
  assert.deepEqual(after.get('spent'), tampered.get('spent'), 'the sum was not written again (same value and computedAt)');
  assert.equal(after.get('orders')?.value, 3, 'a count that is off is rewritten');
  assert.equal(after.get('orders')?.computedAt, t0 + 60_000);
  assert.deepEqual(after.get('cur'), before.get('cur'), 'an unchanged text value is left alone');
}));

test('a history run before the first full run of a process keeps the state membership columns equal to the memberships', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-mirror-'));
  try {
    const order = (userId: string, revenue: number, id: string) => ({ type: 'track', userId, event: OC, properties: { revenue }, messageId: id, timestamp: new Date(Date.now() - D).toISOString() });
    let sg = await Segmenta.open({ dataDir: dir, threads: 1 });
    const ws = (await sg.workspaces.create('mirror')).workspace;
    await sg.ingest.submit(ws, [order('a', 50, 'm1'), { type: 'identify', userId: 'b', traits: { plan: 'free' }, messageId: 'm2' }], { source: 'api', mode: 'atomic' });
    await sg.segments.create(ws, { key: 'buyer', condition: { type: 'event', event: OC } });
    await sg.segments.create(ws, { key: 'big', condition: { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: 100 } });
    const spent: ComputedTraitDefinition = { key: 'spent', kind: 'sum', event: OC, path: 'properties.revenue' };
    await sg.segments.createComputedTrait(ws, spent);
    await sg.segments.idle();
    assert.deepEqual((await sg.segments.members(ws, 'buyer')).length, 1);
    await sg.close();
    // a new process: no fast lane until its first full run, so these commits take the history lane
    sg = await Segmenta.open({ dataDir: dir, threads: 1, segments: { refreshMs: 3_600_000 } });
    try {
      await sg.ingest.submit(ws, [order('b', 70, 'm3'), order('a', 60, 'm4')], { source: 'api', mode: 'atomic' });
      await sg.segments.idle();
      assert.equal(sg.segments.metrics.fastRuns, 0, 'no fast run before the first full run of the process');
      assert.deepEqual((await sg.segments.members(ws, 'buyer')).length, 2);
      assert.deepEqual((await sg.segments.members(ws, 'big')).length, 1);
      assert.deepEqual(await mirrorMismatches(sg, ws, ['buyer', 'big']), []);
      // and the computed values kept in state (b has one now; a's grew from 50 to 110)
      assert.deepEqual(await valueMirrorMismatches(sg, ws, [spent]), []);
      const info = await sg.store.segments.stateInfo(ws, []);
      // (the state holds each value's hash: equal to the hash of the value the history run wrote)
      const col = computedStateColumn(spent);
      const stale = await sg.store.segments.query({ sql: `SELECT s.pid FROM "${info?.table ?? ''}" s JOIN computed_values v ON v.profile_id = s.pid AND v.key = 'spent'
          WHERE s."${col}" IS DISTINCT FROM hash(CAST(v.value AS DOUBLE))`, params: [], segmentColumns: [], computedColumns: [] });
      assert.deepEqual(stale, [], 'the state rows hold the values the history run wrote');
    } finally {
      await sg.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('state column names of line-item aggregates are those of the expressions written out (stable across compiles and releases)', () => {
  const now = Date.parse('2026-06-15T12:00:00Z');
  const spend: ComputedTraitDefinition = { key: 'spend_shoes', kind: 'sum', event: OC, path: 'products.price', where: [{ path: 'products.category', op: 'eq', value: 'shoes' }] };
  const brands: ComputedTraitDefinition = { key: 'brands', kind: 'unique_count', event: OC, path: 'products.brand' };
  const cats: ComputedTraitDefinition = { key: 'cats', kind: 'unique_list', event: OC, path: 'products.category', window: { type: 'between', from: '2026-01-01', to: '2026-06-01' } };
  // The names of an earlier release (compiled then), so that a refactor which changes them is seen.
  // Changed once on purpose (2026-11-24): line-item sums are per-row partials and distinct counts / lists
  // sets, instead of every line concatenated. A state table built before lacks the new columns; those
  // definitions take the slow lane until the next full run builds the state anew.
  const pinned = {
    duckdb: ['k_82e9db6caf8a118c26dd', 'k_bc4253151a21036ec718', 'k_ff65637e0be8e1e75583'],
    clickhouse: ['k_5db9e096c808a49c0e88', 'k_abb7afaecba9e112374f', 'k_f94aa4cd5e1e3a1d6a2d'],
  };
  for (const d of [DIALECTS.duckdb, DIALECTS.clickhouse]) {
    const names = (computed: ComputedTraitDefinition[]) => compileWorkspace(d, { workspaceId: 'w', now, segments: [], computed, state: { mode: 'emit' } }).stateColumns?.map((c) => c.name);
    assert.deepEqual(names([spend, brands, cats]), pinned[d.name], `${d.name}: the names of earlier releases`);
    // the fields of a line's record are numbered in order of use: another order, the same names
    assert.deepEqual(names([cats, brands, spend]), [...pinned[d.name]].reverse(), `${d.name}: another order of definitions`);
  }
});

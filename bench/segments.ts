/**
 * Segment benchmark (issue 3): generated shop data in a DuckDB file (default 1M profiles, 50M events,
 * deterministic from a seed), then
 *  (a) all 50 varied segments (and 5 computed traits) in one shared statement, beside hand-written
 *      DuckDB queries for the heaviest kinds of segment alone, in the same run (target ≤ 3×);
 *  (b) event → membership change latency while ingesting at a steady rate through the ingest service
 *      (target p99 ≤ 1 s at 5,000 events/s);
 *  (c) size-estimate and explain latency.
 *
 *   npm run bench -- segments [--profiles N] [--events N] [--rate N] [--seconds N] [--dir D] [--latency-only] [--slow-interval MS] [--slow-pause-ratio R]
 *     [--fast-pause-ratio R] [--fast-batch-max N] [--threads N] [--memory-limit 8GB] [--refresh MS]
 *   (--dir keeps the generated database in D and reuses it on the next run of the same size)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Segmenta } from '../src/app/segmenta.js';
import type { ComputedTraitDefinition, Condition } from '../src/domain/segments/ast.js';
import { propertyColumn } from '../src/domain/segments/compile.js';

export interface SegmentBenchOptions { profiles?: number; events?: number; rate?: number; seconds?: number; dir?: string; latencyOnly?: boolean; slowIntervalMs?: number; slowPauseRatio?: number; fastPauseRatio?: number; fastBatchMax?: number; threads?: number; memoryLimit?: string | undefined; refreshMs?: number | undefined }

const D = 86_400_000;
/** The generated shop's clock (its events span the two years before). */
export const NOW = Date.parse('2026-10-31T12:00:00Z');

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** 50 varied definitions over the generated events (every condition family). */
export function fiftySegments(): Array<{ key: string; condition: Condition }> {
  const OC = 'Order Completed';
  const last = (amount: number) => ({ type: 'last' as const, amount, unit: 'days' as const });
  const cats = ['shoes', 'hats', 'bags', 'shirts', 'books'];
  const out: Array<{ key: string; condition: Condition }> = [];
  const add = (key: string, condition: Condition) => out.push({ key, condition });
  for (const n of [1, 2, 3, 5, 10]) add(`orders_ge_${n}`, { type: 'event', event: OC, count: { op: 'at_least', value: n } });
  for (const d of [7, 30, 90, 365]) add(`ordered_${d}d`, { type: 'event', event: OC, window: last(d) });
  for (const v of [100, 500, 1000, 2500]) add(`spent_${v}`, { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: v });
  add('avg_basket_high', { type: 'aggregate', event: OC, fn: 'avg', path: 'properties.revenue', op: 'gt', value: 120 });
  add('max_order_big', { type: 'aggregate', event: OC, fn: 'max', path: 'properties.revenue', op: 'gte', value: 400 });
  add('many_products', { type: 'aggregate', event: 'Product Viewed', fn: 'count_distinct', path: 'properties.product_id', op: 'gte', value: 10 });
  for (const c of cats) add(`bought_${c}`, { type: 'event', event: OC, where: [{ path: 'products.category', op: 'eq', value: c }] });
  for (const c of cats) add(`viewed_${c}_30d`, { type: 'event', event: 'Product Viewed', window: last(30), where: [{ path: 'properties.category', op: 'eq', value: c }] });
  add('lapsed', { type: 'and', conditions: [{ type: 'event', event: OC }, { type: 'last_performed', event: OC, op: 'more_than_ago', amount: 180, unit: 'days' }] });
  add('new_buyers', { type: 'first_performed', event: OC, op: 'within_last', amount: 30, unit: 'days' });
  add('eur_last', { type: 'last_value', event: OC, path: 'properties.currency', op: 'eq', value: 'EUR' });
  add('newsletter_visitors', { type: 'event', event: 'Product Viewed', where: [{ path: 'context.campaign.source', op: 'eq', value: 'newsletter' }] });
  add('viewed_then_added', { type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }], within: { amount: 1, unit: 'hours' }, window: last(30) });
  add('abandoned_cart', { type: 'sequence', steps: [{ event: 'Checkout Started' }], thenNot: { event: OC }, within: { amount: 2, unit: 'hours' }, window: last(30) });
  add('pro_plan', { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' });
  add('age_30s', { type: 'and', conditions: [{ type: 'trait', trait: 'age', op: 'gte', value: 30 }, { type: 'trait', trait: 'age', op: 'lt', value: 40 }] });
  add('birthday_week', { type: 'trait', trait: 'birthday', op: 'anniversary_within', days: 7 });
  add('consented', { type: 'consent', purpose: 'marketing' });
  add('holdout_10', { type: 'bucket', salt: 'bench', from: 0, to: 10 });
  add('frequent_recent', { type: 'computed_trait', key: 'orders_90d', op: 'gte', value: 2 });
  add('high_value_at_risk', { type: 'and', conditions: [{ type: 'segment', segment: 'spent_1000' }, { type: 'segment', segment: 'lapsed' }] });
  add('not_buyers', { type: 'not', condition: { type: 'event', event: OC } });
  add('browsers_only', { type: 'and', conditions: [{ type: 'event', event: 'Product Viewed', count: { op: 'at_least', value: 5 } }, { type: 'not', condition: { type: 'event', event: OC } }] });
  add('shoes_or_bags', { type: 'or', conditions: [{ type: 'segment', segment: 'bought_shoes' }, { type: 'segment', segment: 'bought_bags' }] });
  add('pro_spenders', { type: 'and', conditions: [{ type: 'segment', segment: 'pro_plan' }, { type: 'segment', segment: 'spent_500' }] });
  add('checkout_90d', { type: 'event', event: 'Checkout Started', window: last(90), count: { op: 'at_least', value: 2 } });
  add('cheap_items', { type: 'event', event: OC, where: [{ path: 'products.price', op: 'lt', value: 20 }] });
  add('mid_orders_year', { type: 'event', event: OC, window: last(365), count: { op: 'exactly', value: 2 } });
  add('few_orders', { type: 'event', event: OC, count: { op: 'at_most', value: 1 } });
  add('seniors', { type: 'trait', trait: 'age', op: 'gte', value: 65 });
  add('usd_buyers', { type: 'event', event: OC, where: [{ path: 'properties.currency', op: 'eq', value: 'USD' }], count: { op: 'at_least', value: 2 } });
  add('ping', { type: 'event', event: 'Bench Ping' });
  return out.slice(0, 50);
}

export const COMPUTED: ComputedTraitDefinition[] = [
  { key: 'orders_90d', kind: 'count', event: 'Order Completed', window: { type: 'last', amount: 90, unit: 'days' } },
  { key: 'revenue_total', kind: 'sum', event: 'Order Completed', path: 'properties.revenue' },
  { key: 'fav_category', kind: 'most_frequent', event: 'Product Viewed', path: 'properties.category' },
  { key: 'last_order_days', kind: 'days_since_last', event: 'Order Completed' },
  { key: 'categories', kind: 'unique_list', event: 'Order Completed', path: 'products.category' },
];

/** Generate profiles, traits and events with SQL (deterministic: hashes of the row number). */
export async function generate(file: string, ws: string, profiles: number, events: number): Promise<void> {
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  const pid = (expr: string) => `'p' || lpad(CAST(${expr} AS VARCHAR), 8, '0')`;
  await c.run(`INSERT INTO profiles SELECT $1, ${pid('i')}, make_timestamptz(0::BIGINT), NULL FROM range(${profiles}) t(i)`, [ws]);
  await c.run(`INSERT INTO identities SELECT $1, 'user_id', 'u' || i, ${pid('i')}, make_timestamptz(0::BIGINT), 'bench' FROM range(${profiles}) t(i)`, [ws]);
  await c.run(`INSERT INTO trait_updates
    SELECT $1, 'profile', ${pid('i')}, k, v, 'bench', 'gen', make_timestamptz(0::BIGINT) FROM (
      SELECT i, 'plan' AS k, CASE hash(i, 1) % 4 WHEN 0 THEN '"pro"' ELSE '"free"' END AS v FROM range(${profiles}) t(i)
      UNION ALL SELECT i, 'age', CAST(18 + hash(i, 2) % 60 AS VARCHAR) FROM range(${profiles}) t(i)
      UNION ALL SELECT i, 'birthday', '"' || strftime(DATE '1960-01-01' + CAST(hash(i, 3) % 15000 AS INTEGER), '%Y-%m-%d') || '"' FROM range(${profiles}) t(i))`, [ws]);
  // events: per row a profile, a kind, a time within two years; orders carry revenue and a line item
  await c.run(`INSERT INTO events (workspace_id, message_id, type, event, profile_id, timestamp, received_at, source, properties, context, revenue, seq)
    SELECT $1, 'm' || i, 'track', ev, ${pid('hash(i, 11) % ' + profiles)}, make_timestamptz(ts * 1000), make_timestamptz(ts * 1000), 'bench',
      CASE WHEN ev = 'Order Completed'
        THEN '{"revenue":' || rev || ',"currency":"' || (CASE hash(i, 13) % 3 WHEN 0 THEN 'USD' ELSE 'EUR' END) || '","products":[{"product_id":"sku' || prod || '","category":"' || cat || '","price":' || price || '}]}'
        ELSE '{"product_id":"sku' || prod || '","category":"' || cat || '","price":' || price || '}' END,
      CASE WHEN hash(i, 17) % 10 = 0 THEN '{"campaign":{"source":"newsletter"},"consent":{"categoryPreferences":{"marketing":true}}}' ELSE '{}' END,
      CASE WHEN ev = 'Order Completed' THEN rev END, nextval('event_seq')
    FROM (SELECT i,
        CASE WHEN hash(i, 5) % 100 < 60 THEN 'Product Viewed' WHEN hash(i, 5) % 100 < 80 THEN 'Product Added'
             WHEN hash(i, 5) % 100 < 90 THEN 'Checkout Started' ELSE 'Order Completed' END AS ev,
        ${NOW} - CAST(hash(i, 7) % ${730 * D} AS BIGINT) AS ts,
        round(5 + (hash(i, 19) % 40000) / 100.0, 2) AS rev,
        hash(i, 23) % 5000 AS prod,
        ['shoes', 'hats', 'bags', 'shirts', 'books'][CAST(1 + hash(i, 29) % 5 AS BIGINT)] AS cat,
        round(1 + (hash(i, 31) % 30000) / 100.0, 2) AS price
      FROM range(${events}) t(i)) x
    ORDER BY 5, 6`, [ws]);
  await c.run('CHECKPOINT');
  c.closeSync();
  db.closeSync();
}

export async function runSegmentBench(opts: SegmentBenchOptions = {}) {
  const profiles = opts.profiles ?? 1_000_000;
  const events = opts.events ?? 50_000_000;
  const rate = opts.rate ?? 5000;
  const seconds = opts.seconds ?? 20;
  const keep = opts.dir !== undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'segmenta-segbench-'));
  try {
    let sg = await Segmenta.open({ dataDir: dir, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}), segments: { refreshMs: 3_600_000 } });
    const existing = (await sg.workspaces.list()).find((w) => w.name === `bench-${profiles}-${events}`);
    const ws = existing ? { workspace: existing.id } : await sg.workspaces.create(`bench-${profiles}-${events}`);
    await sg.close();
    let genMs = 0;
    if (!existing) {
      [, genMs] = await time(() => generate(join(dir, 'segmenta.duckdb'), ws.workspace, profiles, events));
      console.error(`generated ${profiles} profiles, ${events} events in ${(genMs / 1000).toFixed(0)} s`);
    }

    // Define everything first, compute once afterwards (creation computes; keep that out of the timing).
    let clock = NOW;
    sg = await Segmenta.open({ dataDir: dir, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}), segments: { refreshMs: opts.refreshMs ?? 3_600_000, slowIntervalMs: opts.slowIntervalMs ?? 0, ...(opts.slowPauseRatio !== undefined ? { slowPauseRatio: opts.slowPauseRatio } : {}), ...(opts.fastPauseRatio !== undefined ? { fastPauseRatio: opts.fastPauseRatio } : {}), ...(opts.fastBatchMax !== undefined ? { fastBatchMax: opts.fastBatchMax } : {}) } });
    if (!existing) for (const c of COMPUTED) await sg.store.segments.insertDefinition({ workspaceId: ws.workspace, kind: 'computed_trait', key: c.key, version: 1, name: c.key, description: null, definition: JSON.stringify(c), status: 'active', createdAt: clock });
    const segs = fiftySegments();
    if (!existing) for (const s of segs) await sg.store.segments.insertDefinition({ workspaceId: ws.workspace, kind: 'segment', key: s.key, version: 1, name: s.key, description: null, definition: JSON.stringify(s.condition), status: 'active', createdAt: clock });

    // Typed property columns for the paths the definitions read (added and back-filled once; the
    // background does the same after a definition change). Timed apart: a one-time cost per path.
    console.error('typed property columns…');
    let lastPct = -1;
    const [typedAdded, typedMs] = await time(() => sg.segments.ensureTypedColumns((p) => {
      const pct = p.rowsTotal ? Math.floor((100 * p.rowsDone) / p.rowsTotal) : 0;
      if (p.phase === 'fill' && pct >= lastPct + 10) { lastPct = pct; console.error(`  back-fill ${pct} % (${p.paths} paths)`); }
    }));
    console.error(`  ${typedAdded} paths added in ${(typedMs / 1000).toFixed(1)} s; typed: ${sg.store.segments.typedColumns().size}`);

    // (a) all 50 + computed traits, one statement, evaluated and applied (memberships, history)
    const skip = opts.latencyOnly === true;
    if (skip) {
      console.error('latency only: shared, hand-written, estimate and explain skipped; one full run (untimed) builds the incremental state…');
      // at the real time: live events are stamped now, and events after a run's time invalidate state
      await sg.segments.compute(ws.workspace);
    }
    else console.error('computing all segments (shared statement)…');
    const [outcome, sharedMs] = skip ? [{ profilesEvaluated: 0 }, NaN] : await time(() => sg.segments.compute(ws.workspace, { now: clock }));
    if (!skip) console.error(`  ${(sharedMs / 1000).toFixed(1)} s`);
    const [, sharedAgainMs] = skip ? [null, NaN] : await time(() => sg.segments.compute(ws.workspace, { now: clock }));
    // hand-written DuckDB queries for the heaviest kinds, alone (hot columns where they exist)
    const hand: Record<string, string> = {
      'spent_1000 (sum of revenue)': `SELECT profile_id FROM events WHERE workspace_id = $1 AND type = 'track' AND event = 'Order Completed' AND timestamp <= make_timestamptz($2::BIGINT * 1000) GROUP BY profile_id HAVING sum(revenue) >= 1000`,
      'bought_shoes (line items)': `SELECT DISTINCT profile_id FROM events WHERE workspace_id = $1 AND type = 'track' AND event = 'Order Completed' AND timestamp <= make_timestamptz($2::BIGINT * 1000) AND list_contains(CAST(json_extract(properties, '$.products[*].category') AS VARCHAR[]), 'shoes')`,
      'viewed_then_added (sequence)': `SELECT DISTINCT a.profile_id FROM events a JOIN events b ON a.profile_id = b.profile_id AND b.timestamp >= a.timestamp AND b.timestamp <= a.timestamp + INTERVAL 1 HOUR AND a.message_id <> b.message_id
         WHERE a.workspace_id = $1 AND b.workspace_id = $1 AND a.event = 'Product Viewed' AND b.event = 'Product Added' AND a.timestamp > make_timestamptz(($2::BIGINT - ${30 * D}) * 1000) AND b.timestamp <= make_timestamptz($2::BIGINT * 1000)`,
      'many_products (distinct count)': `SELECT profile_id FROM events WHERE workspace_id = $1 AND event = 'Product Viewed' AND timestamp <= make_timestamptz($2::BIGINT * 1000) GROUP BY profile_id HAVING count(DISTINCT properties->>'product_id') >= 10`,
    };
    // the same with the typed column of properties.product_id, where segmenta has one (a DBA would use it)
    const productIdCol = propertyColumn({ root: 'properties', keys: ['product_id'] });
    if (sg.store.segments.typedColumns().has(productIdCol)) {
      hand['many_products (distinct count, typed column)'] = `SELECT profile_id FROM events WHERE workspace_id = $1 AND event = 'Product Viewed' AND timestamp <= make_timestamptz($2::BIGINT * 1000) GROUP BY profile_id HAVING count(DISTINCT "${productIdCol}_r") >= 10`;
    }
    console.error('hand-written queries…');
    const handMs: Record<string, number> = {};
    for (const [name, sql] of Object.entries(skip ? {} : hand)) {
      const [, ms] = await time(() => sg.store.segments.query({ sql: `SELECT count(*) AS n FROM (${sql})`, params: [{ name: 'p1', type: 'string', value: ws.workspace }, { name: 'p2', type: 'int', value: clock }], segmentColumns: [], computedColumns: [] }));
      handMs[name] = ms;
    }
    const heaviest = Math.max(...Object.values(handMs));

    // (c) estimate and explain
    console.error('estimate and explain…');
    const draft: Condition = { type: 'aggregate', event: 'Order Completed', fn: 'sum', path: 'properties.revenue', op: 'gte', value: 750 };
    const [sampled, estimateSampleMs] = skip ? [{ sample: null }, NaN] : await time(() => sg.segments.estimate(ws.workspace, draft, 'sample'));
    const [exact, estimateExactMs] = skip ? [{ exactResult: null }, NaN] : await time(() => sg.segments.estimate(ws.workspace, draft, 'exact'));
    const someone = (await sg.segments.members(ws.workspace, 'spent_1000', 1, 0))[0]?.profileId ?? 'p00000001';
    const [, explainMs] = skip ? [null, NaN] : await time(() => sg.segments.explain(ws.workspace, 'high_value_at_risk', someone, async (r) => r));

    console.error('latency under ingest…');
    // --refresh MS: periodic full runs during the window, as `serve` has them (the first is due at the
    // first tick, since this process has run none from its queue); without it, none
    if (opts.refreshMs !== undefined) sg.segments.startRefresh(async () => [ws.workspace]);
    // the identity graph of 1M customers loads in seconds: before the clock starts, as a server does at start
    await sg.ingest.ensureStarted();
    // (b) latency: steady ingest of ordinary events plus pings; a ping makes its profile enter 'ping'
    const latencies: number[] = [];
    /** submit → durable commit of each batch: the part of the latency that is ingestion's. */
    const acks: number[] = [];
    const sentAt = new Map<string, number>();
    let cursor = await sg.store.segments.lastChangeSeq(ws.workspace);
    // One poll at a time (a slow change-feed read must not pile up overlapping reads: it did, and ran
    // the benchmark out of memory), every 20 ms.
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const list = await sg.store.segments.changesBetween(ws.workspace, cursor, null, 10_000, ['ping']);
        const t = performance.now();
        for (const ch of list) {
          cursor = Math.max(cursor, ch.seq);
          const s = sentAt.get(ch.profileId);
          if (s !== undefined && ch.change === 'entered') { latencies.push(t - s); sentAt.delete(ch.profileId); }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const perTick = Math.max(1, Math.round(rate / 50));
    let sent = 0;
    let seq = 0;
    // Ping targets: generated customers not yet in 'ping' (on a reused database earlier runs' pings
    // made theirs members; counting on from the member count re-pinged ~a third of them, whose pings
    // then entered nothing and went untimed), in a seeded-hash order.
    const targets = (await sg.store.segments.query({
      sql: `SELECT p.profile_id AS pid FROM profiles p WHERE p.workspace_id = $1 AND p.merged_into IS NULL AND regexp_full_match(p.profile_id, 'p[0-9]{8}')
        AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = $1 AND m.segment_key = 'ping' AND m.profile_id = p.profile_id)
        ORDER BY hash(p.profile_id || 'ping') LIMIT $2`,
      params: [{ name: 'p1', type: 'string', value: ws.workspace }, { name: 'p2', type: 'int', value: Math.ceil((rate * seconds) / 100) + 100 }],
      segmentColumns: [], computedColumns: [] })).map((r) => Number(String(r['pid']).slice(1)));
    let pingNo = 0;
    const pingStart = pingNo;
    let rejected = 0;
    let firstRejection: string | undefined;
    const runId = Date.now().toString(36); // message ids unique per run: a reused database must not dedupe them
    const t0 = performance.now();
    const dbg = process.env['SEGBENCH_DEBUG'] ? setInterval(() => console.error(JSON.stringify({ t: Math.round(performance.now() - t0), heapMb: Math.round(process.memoryUsage().heapUsed / 1e6), cursor, sent, timed: latencies.length, waiting: sentAt.size, runs: sg.segments.metrics.incrementalRuns, instant: sg.segments.metrics.instantRuns, lastInstantMs: Math.round(sg.segments.metrics.lastInstantMs), lastCommitMs: Math.round(sg.ingest.metrics.lastCommitMs), queued: sg.ingest.metrics.queuedMessages })), 250) : undefined;
    while (performance.now() - t0 < seconds * 1000) {
      const batch = [];
      for (let i = 0; i < perTick; i++) {
        seq++;
        const isPing = seq % 100 === 0;
        // pings go to distinct customers not yet in 'ping', so each one is a new entry
        const pidNum = isPing ? (targets[pingNo++ % targets.length] ?? 0) : (seq * 104729) % profiles;
        const userId = `u${pidNum}`; // an existing customer (identities generated with the data)
        batch.push({ type: 'track', userId, event: isPing ? 'Bench Ping' : 'Product Viewed', messageId: `live-${runId}-${seq}`, properties: { product_id: `sku${pidNum % 5000}`, category: 'shoes', price: 10 } });
      }
      const sendT = performance.now();
      // the generated customer uNNN is profile pNNNNNNNN: known before the submit, no lookup racing the entry
      for (const m of batch) if (m.event === 'Bench Ping') sentAt.set(`p${m.userId.slice(1).padStart(8, '0')}`, sendT);
      void sg.ingest.submit(ws.workspace, batch, { source: 'api', mode: 'atomic' })
        .then(() => { acks.push(performance.now() - sendT); })
        .catch((err: unknown) => { rejected += batch.length; firstRejection ??= err instanceof Error ? err.message : String(err); });
      sent += batch.length;
      const due = t0 + (sent / rate) * 1000;
      const wait = due - performance.now();
      // always yield: behind schedule, a loop that never awaits starves the commits and the poll (it ran out of memory)
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    }
    // accepted events per second of the sending loop (earlier runs divided by the time until the last
    // run ended too, which understated the rate that was kept up)
    const loopSeconds = (performance.now() - t0) / 1000;
    await sg.ingest.drain();
    if (dbg) console.error('drained');
    await sg.segments.idle();
    if (dbg) console.error('idle');
    await new Promise((r) => setTimeout(r, 500));
    polling = false;
    await poll;
    if (dbg) clearInterval(dbg);
    const achieved = (sent - rejected) / loopSeconds;
    const settleSeconds = (performance.now() - t0) / 1000 - loopSeconds;
    const pingRows = await sg.store.segments.query({ sql: `SELECT (SELECT count(*) FROM events WHERE event = 'Bench Ping') AS events, (SELECT count(*) FROM memberships WHERE segment_key = 'ping') AS members, (SELECT count(*) FROM membership_history WHERE segment_key = 'ping') AS history`, params: [], segmentColumns: [], computedColumns: [] });
    const pingCheck = { events: Number(pingRows[0]?.['events'] ?? 0), entered: Number(pingRows[0]?.['history'] ?? 0), rejectedEvents: rejected, firstRejection };
    const runs = { ...sg.segments.metrics, lastErrors: (await sg.segments.list(ws.workspace)).filter((x) => x.error).map((x) => `${x.key}: ${x.error}`).slice(0, 3) };
    latencies.sort((a, b) => a - b);
    acks.sort((a, b) => a - b);
    clock = Date.now();
    await sg.close();
    return {
      profiles, events, generateSeconds: genMs / 1000,
      typedColumns: { added: typedAdded, ms: typedMs, paths: sg.store.segments.typedColumns().size },
      shared: { segments: segs.length, computedTraits: COMPUTED.length, ms: sharedMs, secondRunMs: sharedAgainMs, profilesEvaluated: outcome.profilesEvaluated },
      handWrittenMs: handMs, ratioToHeaviestHandWritten: Math.min(sharedMs, sharedAgainMs) / heaviest,
      estimate: { sampleMs: estimateSampleMs, sample: sampled.sample, exactMs: estimateExactMs, exact: exact.exactResult?.size }, explainMs,
      segmentRuns: runs,
      latency: {
        // Without --latency-only the full runs above ran at the data clock: live events are later than
        // them, so no incremental state applies and entries wait for history runs. Not the (b) figure.
        mode: skip ? '(b): state built at the real time, as a server runs' : 'after full runs at the data clock: not the (b) figure (use --latency-only)',
        targetRate: rate, achievedRate: achieved, settleSeconds, pingsSent: pingNo - pingStart, ...pingCheck, pingsTimed: latencies.length, p50Ms: pct(latencies, 50), p99Ms: pct(latencies, 99), maxMs: latencies[latencies.length - 1] ?? NaN,
        commitAck: { p50Ms: pct(acks, 50), p99Ms: pct(acks, 99), maxMs: acks[acks.length - 1] ?? NaN },
        // the server's side of it (recent windows of 1,024): where an entry's latency goes
        server: { commit: sg.ingest.commitLatency.summary(), ...Object.fromEntries(Object.entries(sg.segments.latency).map(([k, w]) => [k, w.summary()])) } },
    };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

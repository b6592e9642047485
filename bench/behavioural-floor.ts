/**
 * Floor of the behavioural benchmark's target (issue 4): how long hand-written SQL takes to compute
 * only PART of the built-in models' default features, beside the same baseline as `behavioural`
 * (one aggregate scan of the events, read to the end).
 *
 *   npm run bench -- behavioural-floor [--profiles N] [--events N] --dir D
 *   (D: the folder of a database the `behavioural` bench has run on, so that typed columns exist)
 *
 * The families are the models' own feature definitions as of the bench's time (the same windows,
 * events and paths; test/behavioural/floor.test.ts checks them against the compiler's values on the
 * demo shop), written by hand the cheapest ways we found, and not read into JavaScript: each
 * statement is reduced to one row (`max` of every column), so DuckDB computes every aggregate but
 * nothing is transferred. No classification, no trait reads, none of the other features.
 * - wide: one row per profile (the form a classification reads; usage: per profile and message type);
 * - long: one row per profile and period / window / event (sometimes cheaper to aggregate; a
 *   classification would still have to pivot it).
 * A family's floor is its cheaper form. Each family scans the events on its own; "scans shared"
 * subtracts one whole scan of the columns every family reads per family beyond the first, which is
 * more than one shared statement could save.
 * If even that exceeds a good part of 3× the baseline, an implementation that recomputes every
 * feature from the events cannot meet the target on this machine, whatever its compiler.
 */
import { BEHAVIOURAL_MODELS } from '../src/domain/behavioural/index.js';
import { UNIT_MS, type ComputedTraitDefinition } from '../src/domain/segments/ast.js';
import { propertyColumn } from '../src/domain/segments/compile.js';
import { Params } from '../src/domain/sql/dialect.js';
import { DIALECTS } from '../src/domain/sql/dialects.js';
import { quoteIdent } from '../src/domain/sql/identifiers.js';
import { Segmenta } from '../src/app/segmenta.js';
import { baselineQuery } from './behavioural.js';
import { NOW, time } from './segments.js';

export interface FloorBenchOptions { profiles?: number; events?: number; dir?: string; rounds?: number }

export type Form = 'wide' | 'long';
/** model: whose features (`*`: several, one per definition in `models`). */
export type Family = { name: string; model: string; defs: ComputedTraitDefinition[]; models?: string[]; forms: Partial<Record<Form, (p: Params) => string>> };

export function defaultFeatures(id: string, asOf: number): ComputedTraitDefinition[] {
  const m = BEHAVIOURAL_MODELS.find((x) => x.id === id);
  if (!m) throw new Error(`no model ${id}`);
  return m.features(m.config.parse({}), asOf, []);
}

const ms = (iso: string) => Date.parse(iso);
const betweenOf = (d: ComputedTraitDefinition): [number, number] => {
  if (d.window?.type !== 'between') throw new Error(`${d.key}: expected a between window`);
  return [ms(d.window.from), ms(d.window.to)];
};
/** A definition's window on `ts` as the compiler reads it: [from, to) for between, (now − N, now] for last. */
const windowOf = (d: ComputedTraitDefinition, p: Params, asOf: number): string => {
  const w = d.window;
  if (!w) return 'true';
  if (w.type === 'between') return `ts >= ${p.int(ms(w.from))} AND ts < ${p.int(ms(w.to))}`;
  return `ts > ${p.int(asOf - w.amount * UNIT_MS[w.unit])}`;
};
/** The message type and, for track events, the name a definition selects (`*`: any). */
const kindOf = (d: ComputedTraitDefinition, p: Params): string => {
  const type = d.messageType ?? 'track';
  return d.event === '*' ? `type = ${p.str(type)}` : `type = ${p.str(type)} AND event = ${p.str(d.event)}`;
};

/**
 * The hand-written families as of a time (the bench's NOW by default). Each one computes exactly the
 * listed features of the models' defaults (test/behavioural/floor.test.ts compares them with the compiler's).
 */
export function floorFamilies(ws: string, typed: ReadonlySet<string>, asOf = NOW): Family[] {
  const defaults = (id: string) => defaultFeatures(id, asOf);
  const usage = defaults('usage');
  const occasion = defaults('occasion').filter((d) => d.key.startsWith('window_'));
  // (the stage events without a property condition: advocacy's review rating is left out)
  const funnel = defaults('funnel').filter((d) => d.kind === 'days_since_last' && !d.where?.length);
  const buying = defaults('buying').filter((d) => d.kind === 'unique_count');
  const views = buying.filter((d) => d.path?.startsWith('properties.'));
  const lines = buying.filter((d) => d.path?.startsWith('products.'));
  const interest = defaults('enrichment').find((d) => d.kind === 'most_frequent');
  // Every model's plain order measures: counts, revenue and times of the order event, without a
  // property condition (RFM, lifecycle, loyalty, buying, micro, funnel, occasion, benefit).
  const ORDER_KINDS = new Set(['count', 'sum', 'avg', 'days_since_first', 'days_since_last']);
  const orderEvent = defaults('rfm').find((d) => d.kind === 'count')?.event ?? 'Order Completed';
  // (less what the families above cover: the holiday windows, the stage times)
  const covered = new Set([...occasion.map((d) => `occasion:${d.key}`), ...funnel.map((d) => `funnel:${d.key}`)]);
  const orderDefs = BEHAVIOURAL_MODELS.flatMap((m) => defaults(m.id).map((d) => ({ model: m.id, d })))
    .filter(({ model, d }) => !covered.has(`${model}:${d.key}`) && d.event === orderEvent && (d.messageType ?? 'track') === 'track' && ORDER_KINDS.has(d.kind) && !d.where?.length
      && (d.path === undefined || d.path === 'properties.revenue'));
  const events = (p: Params) =>
    `(SELECT profile_id AS pid, type, event, epoch_ms(timestamp) AS ts FROM events WHERE workspace_id = ${p.str(ws)} AND epoch_ms(timestamp) <= ${p.int(asOf)})`;
  const col = (name: string) => quoteIdent(name);
  // A value as text: its typed string column where the models' runs created one, else the JSON.
  const prop = (path: string, p: Params) => {
    const keys = path.split('.').slice(1);
    const base = propertyColumn({ root: 'properties', keys });
    return typed.has(base) ? col(`${base}_s`) : `json_extract_string(properties, ${p.str('$.' + keys.join('.'))})`;
  };
  // An order's line-item values as a list: the typed list column, else the JSON.
  const itemList = (path: string, p: Params) => {
    const keys = path.split('.').slice(1);
    const base = propertyColumn({ root: 'products', keys });
    return typed.has(base) ? col(`${base}_s`) : `CAST(json_extract_string(properties, ${p.str('$.products[*].' + keys.join('.'))}) AS VARCHAR[])`;
  };
  const occEvent = occasion[0]?.event ?? 'Order Completed';
  // usage's defaults count every track event, page and screen: the same periods for each type
  if (usage.some((d) => d.event !== '*')) throw new Error('usage defaults changed: the floor expects "*" selectors');
  if (!interest?.path) throw new Error('enrichment defaults changed: the floor expects a most frequent value of a property');
  const usageTypes = [...new Set(usage.map((d) => d.messageType ?? 'track'))];
  // one definition per period (the message types share the periods)
  const periods = [...new Map(usage.map((d) => [JSON.stringify(d.window), d] as const)).values()];
  const [periodStart, periodEnd] = periods[0] ? betweenOf(periods[0]) : [0, 1];
  const period = periodEnd - 1 - periodStart;
  const rowsOf = (p: Params, event: string, from?: number, to?: number, cols: string[] = []) =>
    `(SELECT profile_id AS pid, epoch_ms(timestamp) AS ts${cols.map((c) => `, ${c}`).join('')} FROM events WHERE workspace_id = ${p.str(ws)} AND type = ${p.str('track')} AND event = ${p.str(event)}`
    + `${from === undefined ? '' : ` AND epoch_ms(timestamp) >= ${p.int(from)}`} AND epoch_ms(timestamp) ${to === undefined ? `<= ${p.int(asOf)}` : `< ${p.int(to)}`})`;
  return [
    {
      name: 'usage: events per period and message type', model: 'usage', defs: usage,
      forms: {
        // one group per profile and message type with the periods' counts: cheaper than 36 counts per
        // profile (the compiler's own statement groups each kind of row apart, too)
        wide: (p) => `SELECT pid, type, ${periods.map((d, i) => `count(*) FILTER (WHERE ${windowOf(d, p, asOf)}) AS ${col(`f${i}`)}`).join(', ')}
          FROM ${events(p)} WHERE type IN (${usageTypes.map((t) => p.str(t)).join(', ')}) GROUP BY pid, type`,
        long: (p) => `SELECT pid, type, (${p.int(asOf)} - ts) // ${p.int(period)} AS period, count(*) AS n FROM ${events(p)}
          WHERE ts >= ${p.int(asOf - periods.length * period)} AND type IN (${usageTypes.map((t) => p.str(t)).join(', ')}) GROUP BY ALL`,
      },
    },
    {
      name: 'occasion: orders per holiday window', model: 'occasion', defs: occasion,
      forms: {
        wide: (p) => `SELECT pid, ${occasion.map((d, i) => `count(*) FILTER (WHERE ${windowOf(d, p, asOf)}) AS ${col(`f${i}`)}`).join(', ')} FROM ${rowsOf(p, occEvent)} GROUP BY pid`,
        long: (p) => `SELECT o.pid, w.i, count(*) AS n FROM ${rowsOf(p, occEvent)} o
          JOIN (VALUES ${occasion.map((d, i) => { const [a, b] = betweenOf(d); return `(${p.int(i)}, ${p.int(a)}, ${p.int(b)})`; }).join(', ')}) w(i, s, e)
          ON o.ts >= w.s AND o.ts < w.e GROUP BY ALL`,
      },
    },
    {
      name: 'funnel: last time of each stage event', model: 'funnel', defs: funnel,
      forms: {
        wide: (p) => `SELECT pid, ${funnel.map((d, i) => `max(ts) FILTER (WHERE ${kindOf(d, p)}) AS ${col(`f${i}`)}`).join(', ')} FROM ${events(p)} GROUP BY pid`,
        long: (p) => `SELECT pid, type, event, max(ts) AS t FROM ${events(p)} GROUP BY ALL`,
      },
    },
    {
      name: 'buying: distinct products, brands, categories viewed', model: 'buying', defs: views,
      forms: {
        wide: (p) => {
          const [a, b] = betweenOf(views[0] as ComputedTraitDefinition);
          return `SELECT pid, ${views.map((d, i) => `count(DISTINCT v${i}) AS ${col(`f${i}`)}`).join(', ')}
            FROM ${rowsOf(p, (views[0] as ComputedTraitDefinition).event, a, b, views.map((d, i) => `${prop(d.path ?? '', p)} AS v${i}`))} GROUP BY pid`;
        },
      },
    },
    {
      name: 'buying: distinct products, brands, categories bought (line items)', model: 'buying', defs: lines,
      forms: {
        wide: (p) => {
          const [a, b] = betweenOf(lines[0] as ComputedTraitDefinition);
          return `SELECT pid, ${lines.map((_d, i) => `count(DISTINCT v${i}) AS ${col(`f${i}`)}`).join(', ')}
            FROM (SELECT pid, ${lines.map((_d, i) => `unnest(l${i}) AS v${i}`).join(', ')} FROM ${rowsOf(p, (lines[0] as ComputedTraitDefinition).event, a, b, lines.map((d, i) => `${itemList(d.path ?? '', p)} AS l${i}`))}) x GROUP BY pid`;
        },
      },
    },
    {
      // (the revenue from the events' extracted revenue column; DuckDB computes an aggregate that
      // several models share once)
      name: 'orders: counts, revenue and times of the orders', model: '*', defs: orderDefs.map(({ d }) => d), models: orderDefs.map(({ model }) => model),
      forms: {
        wide: (p) => `SELECT pid, ${orderDefs.map(({ d }, i) => {
          const w = windowOf(d, p, asOf);
          const agg = d.kind === 'count' ? 'count(*)' : d.kind === 'sum' ? 'sum(revenue)' : d.kind === 'avg' ? 'avg(revenue)' : d.kind === 'days_since_first' ? 'min(ts)' : 'max(ts)';
          return `${agg} FILTER (WHERE ${w}) AS ${col(`f${i}`)}`;
        }).join(', ')} FROM ${rowsOf(p, orderEvent, undefined, undefined, ['revenue'])} GROUP BY pid`,
      },
    },
    {
      name: 'enrichment: most frequent category viewed (last 180 days)', model: 'enrichment', defs: [interest],
      forms: {
        wide: (p) => {
          // (ties: the smallest value, as the compiler breaks them)
          return `SELECT pid, arg_min(v, struct_pack(k := -n, v := v)) AS top FROM (SELECT pid, v, count(*) AS n
            FROM ${rowsOf(p, interest.event, undefined, undefined, [`${prop(interest.path ?? '', p)} AS v`])} WHERE v IS NOT NULL AND ${windowOf(interest, p, asOf)} GROUP BY ALL) GROUP BY pid`;
        },
      },
    },
  ];
}

export async function runBehaviouralFloorBench(opts: FloorBenchOptions = {}) {
  const profiles = opts.profiles ?? 1_000_000;
  const events = opts.events ?? 50_000_000;
  if (!opts.dir) throw new Error('behavioural-floor needs --dir: the folder of a database the behavioural bench has run on');
  const sg = await Segmenta.open({ dataDir: opts.dir, segments: { refreshMs: 3_600_000 } });
  try {
    const name = `bench-${profiles}-${events}`;
    const ws = (await sg.workspaces.list()).find((w) => w.name === name)?.id;
    if (!ws) throw new Error(`no workspace '${name}' in ${opts.dir}: run the behavioural bench there first`);
    const families = floorFamilies(ws, sg.store.segments.typedColumns());
    // Every aggregate computed, nothing transferred: the max of every column.
    const run = (sqlOf: (p: Params) => string) => {
      const p = new Params(DIALECTS.duckdb);
      return sg.store.segments.query({ sql: `SELECT max(COLUMNS(*)) FROM (${sqlOf(p)}) f`, params: p.list, segmentColumns: [], computedColumns: [] });
    };
    const baseline = () => sg.store.segments.query(baselineQuery(ws));
    // Each family scans the events on its own; one statement would share the scans. What sharing could
    // save at most: one scan of the columns every family reads, per family beyond the first.
    const scan = () => {
      const p = new Params(DIALECTS.duckdb);
      return sg.store.segments.query({
        sql: `SELECT max(profile_id), max(type), max(event), max(epoch_ms(timestamp)) FROM events WHERE workspace_id = ${p.str(ws)} AND epoch_ms(timestamp) <= ${p.int(NOW)}`,
        params: p.list, segmentColumns: [], computedColumns: [],
      });
    };
    type Round = { baselineMs: number; scanMs: number; families: Record<string, Partial<Record<Form, number>>>; floorMs: number; sharedFloorMs: number };
    const rounds: Round[] = [];
    for (let r = 0; r < (opts.rounds ?? 3); r++) {
      const [, b] = await time(baseline);
      const [, sc] = await time(scan);
      const out: Round = { baselineMs: Math.round(b), scanMs: Math.round(sc), families: {}, floorMs: 0, sharedFloorMs: 0 };
      for (const f of families) {
        const times: Partial<Record<Form, number>> = {};
        for (const [form, sqlOf] of Object.entries(f.forms) as Array<[Form, (p: Params) => string]>) times[form] = Math.round((await time(() => run(sqlOf)))[1]);
        out.families[f.name] = times;
        // the family's floor: its cheaper form
        out.floorMs += Math.min(...Object.values(times));
      }
      out.sharedFloorMs = Math.max(0, out.floorMs - (families.length - 1) * out.scanMs);
      rounds.push(out);
      console.error(`round ${r + 1}: baseline ${(b / 1000).toFixed(2)} s, floor of ${families.length} families ${(out.floorMs / 1000).toFixed(2)} s (${(out.floorMs / b).toFixed(2)}×), scans shared ${(out.sharedFloorMs / 1000).toFixed(2)} s (${(out.sharedFloorMs / b).toFixed(2)}×)`);
    }
    // The first round warms the caches; the rest are reported.
    const kept = rounds.length > 1 ? rounds.slice(1) : rounds;
    const covered = families.reduce((a, f) => a + f.defs.length, 0);
    const all = BEHAVIOURAL_MODELS.reduce((a, m) => a + m.features(m.config.parse({}), NOW, []).length, 0);
    return {
      profiles, events, rounds, featuresCovered: covered, featuresOfAllDefaults: all,
      ratios: kept.map((r) => ({ floor: Number((r.floorMs / r.baselineMs).toFixed(2)), scansShared: Number((r.sharedFloorMs / r.baselineMs).toFixed(2)) })), target: 3,
      command: `npm run bench -- behavioural-floor${opts.profiles ? ` --profiles ${profiles}` : ''}${opts.events ? ` --events ${events}` : ''} --dir ${opts.dir}`,
    };
  } finally {
    await sg.close();
  }
}

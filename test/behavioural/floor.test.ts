/**
 * The behavioural bench's floor (bench/behavioural-floor.ts) is evidence only if its hand-written SQL
 * computes the same features the models read: each family's wide form, run on the demo shop, must give
 * every profile the values of the compiler's own feature statement (as a run reads them), with the
 * property paths read from the JSON and from typed columns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { floorFamilies, type Family } from '../../bench/behavioural-floor.js';
import { BEHAVIOURAL_MODELS, type Features } from '../../src/domain/behavioural/index.js';
import type { ComputedTraitDefinition } from '../../src/domain/segments/ast.js';
import { propertyColumn } from '../../src/domain/segments/compile.js';
import { Params } from '../../src/domain/sql/dialect.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import { loadDemo, type DemoFixture } from './demo-fixture.js';

let fx: DemoFixture;
let features: Map<string, Features>;
before(async () => {
  fx = await loadDemo(300);
  const parts = BEHAVIOURAL_MODELS.map((m) => ({ m, config: m.config.parse({}) }));
  const read: Features[] = await fx.sg.behavioural['featuresOf'](fx.ws, parts, fx.end);
  features = new Map(parts.map(({ m }, i) => [m.id, read[i] as Features]));
});
after(async () => { await fx.sg.close(); });

const DAY = 86_400_000;
type Row = Record<string, unknown>;
const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

async function wide(f: Family): Promise<Row[]> {
  const sqlOf = f.forms.wide;
  assert.ok(sqlOf, `${f.name}: a wide form`);
  const p = new Params(DIALECTS.duckdb);
  return fx.sg.store.segments.query({ sql: sqlOf(p), params: p.list, segmentColumns: [], computedColumns: [] });
}

/** The compiler's value of a feature for a profile: a number (NaN: none) or text (null: none). */
function featureOf(model: string, key: string): (pid: string) => number | string | null {
  const f = features.get(model) as Features;
  const index = new Map(f.profileIds.map((pid, i) => [pid, i]));
  const col = f.columns[key];
  const text = f.text[key];
  assert.ok(col || text, `${model} has a feature ${key}`);
  return (pid) => {
    const i = index.get(pid);
    if (i === undefined) return null;
    return col ? (col[i] as number) : (text?.[i] ?? null);
  };
}

/** Every active profile: the floor's value (absent row: `missing`) against the compiler's. */
function compare(f: Family, model: string, def: ComputedTraitDefinition, floor: (pid: string) => number | string | null, counted = true): number {
  const mine = featureOf(model, def.key);
  let nonEmpty = 0;
  for (const pid of (features.get(model) as Features).profileIds) {
    const a = floor(pid);
    const b = mine(pid);
    // a count the floor has no row for is 0; the compiler's count of nothing is 0 or NULL (unique counts)
    const same = typeof b === 'number' && typeof a === 'number'
      ? (Number.isNaN(a) && Number.isNaN(b)) || a === b || (counted && ((Number.isNaN(a) && b === 0) || (a === 0 && Number.isNaN(b))))
      : a === b;
    assert.ok(same, `${f.name}: ${model} ${def.key} of ${pid}: floor ${String(a)}, compiler ${String(b)}`);
    if (a !== null && !(typeof a === 'number' && (Number.isNaN(a) || a === 0))) nonEmpty++;
  }
  return nonEmpty;
}

for (const mode of ['json', 'typed'] as const) {
  test(`the floor's hand-written families compute the compiler's features (${mode === 'json' ? 'paths from the JSON' : 'typed columns where the store has them'})`, async () => {
    if (mode === 'typed') {
      // the typed columns of the models' paths come after a model run (as on the bench's database)
      await fx.sg.behavioural.runMany(fx.ws, ['buying', 'enrichment'], { asOf: fx.end });
      await fx.sg.segments.ensureTypedColumns();
      for (const path of [['properties', 'product_id'], ['properties', 'brand'], ['products', 'category']] as const) {
        assert.ok(fx.sg.store.segments.typedColumns().has(propertyColumn({ root: path[0], keys: [path[1]] })), `typed column of ${path.join('.')}`);
      }
    }
    const families = floorFamilies(fx.ws, mode === 'json' ? new Set() : fx.sg.store.segments.typedColumns(), fx.end);
    assert.deepEqual(families.map((f) => f.model), ['usage', 'occasion', 'funnel', 'buying', 'buying', '*', 'enrichment']);
    const orders = families.find((f) => f.model === '*');
    assert.ok(orders && orders.defs.length >= 15, `order measures of several models: ${orders?.defs.length}`);
    for (const f of families) {
      const rows = await wide(f);
      assert.ok(rows.length > 0, `${f.name}: rows`);
      let nonEmpty = 0;
      if (f.model === 'usage') {
        // one row per profile and message type; f<i>: the i-th distinct period
        const windows = [...new Set(f.defs.map((d) => JSON.stringify(d.window)))];
        const byKey = new Map(rows.map((r) => [`${String(r['pid'])}|${String(r['type'])}`, r]));
        for (const d of f.defs) {
          const col = `f${windows.indexOf(JSON.stringify(d.window))}`;
          nonEmpty += compare(f, f.model, d, (pid) => { const r = byKey.get(`${pid}|${d.messageType ?? 'track'}`); return r ? num(r[col]) : 0; });
        }
      } else {
        const byPid = new Map(rows.map((r) => [String(r['pid']), r]));
        f.defs.forEach((d, i) => {
          const col = f.model === 'enrichment' ? 'top' : `f${i}`;
          nonEmpty += compare(f, f.models?.[i] ?? f.model, d, (pid) => {
            const r = byPid.get(pid);
            if (d.kind === 'most_frequent') return r && r[col] !== null && r[col] !== undefined ? String(r[col]) : null;
            if (d.kind.startsWith('days_since')) return r && r[col] !== null && r[col] !== undefined ? Math.floor((fx.end - num(r[col])) / DAY) : NaN;
            return r ? num(r[col]) : 0;
          }, !d.kind.startsWith('days_since'));
        });
      }
      // (a family whose features are all empty on the demo shop would prove nothing)
      assert.ok(nonEmpty > 20, `${f.name}: ${nonEmpty} profile values that are not empty`);
    }
  });
}

/**
 * Injection corpus, run against every registered dialect: hostile strings in every place a definition
 * carries text (event names, trait keys, property paths, values, salts, purposes, models, segment and
 * computed keys). The SQL text never contains them (values are bound, identifiers quoted), the
 * statement runs on the real engine, matches what it should, and the tables are intact afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../../src/domain/segments/ast.js';
import { compileWorkspace } from '../../src/domain/segments/compile.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import { chdbRunner, duckRunner, type EngineRunner } from './engines.js';

const CORPUS = [
  `'; DROP TABLE events; --`,
  `") OR 1=1 --`,
  '`; DROP TABLE profiles; --',
  `{p1:String}`,
  `$1`,
  `\\'; SELECT 1; --`,
  `x' UNION SELECT profile_id FROM profiles --`,
  `/* comment */`,
  `${'{'}evil:Int64}`,
  `é'"\`\\`,
];

const NOW = Date.parse('2026-06-15T12:00:00Z');

function conditionsFor(x: string): Condition[] {
  return [
    { type: 'event', event: x },
    { type: 'event', event: 'Order Completed', where: [{ path: `properties.${x.replace(/\./g, '_')}`, op: 'eq', value: x }] },
    { type: 'event', event: 'Order Completed', where: [{ path: 'properties.note', op: 'eq', value: x }] },
    { type: 'trait', trait: x, op: 'exists' },
    { type: 'trait', trait: 'note', op: 'in', values: [x, 'other'] },
    { type: 'trait', trait: 'note', op: 'contains', value: x },
    { type: 'aggregate', event: x, fn: 'sum', path: `properties.${x.replace(/\./g, '_')}`, op: 'gte', value: 0 },
    { type: 'last_value', event: 'Order Completed', path: 'context.note', op: 'eq', value: x },
    { type: 'score', model: x, op: 'gt', value: 0 },
    { type: 'consent', purpose: x },
    { type: 'bucket', salt: x, from: 0, to: 100 },
    { type: 'sequence', steps: [{ event: x }, { event: 'Order Completed' }], within: { amount: 1, unit: 'days' } },
  ];
}

for (const open of [duckRunner, chdbRunner]) {
  test(`injection corpus on ${open === duckRunner ? 'DuckDB' : 'ClickHouse (chdb)'}: values bound, identifiers quoted, nothing executed`, async () => {
    const r: EngineRunner = await open();
    try {
      const hostile = CORPUS[0] as string;
      await r.load({
        workspaceId: 'ws_inj', profiles: ['p1', 'p2'],
        events: [
          { pid: 'p1', mid: 'm1', type: 'track', event: hostile, ts: NOW - 1000, properties: {}, context: {} },
          { pid: 'p1', mid: 'm2', type: 'track', event: 'Order Completed', ts: NOW - 500, properties: { note: hostile }, context: { note: hostile } },
          { pid: 'p2', mid: 'm3', type: 'track', event: 'Order Completed', ts: NOW - 500, properties: { note: 'plain' }, context: {} },
        ],
        traits: [{ pid: 'p1', key: 'note', value: hostile }, { pid: 'p2', key: hostile, value: 'x' }],
        scores: [{ pid: 'p2', model: hostile, score: 0.9 }],
      });
      for (const x of CORPUS) {
        const segments = conditionsFor(x).map((condition, i) => ({ key: `s${i}`, condition }));
        const q = compileWorkspace(DIALECTS[r.name], { workspaceId: 'ws_inj', now: NOW, segments, computed: [{ key: x.replace(/[^a-z]/g, '') || 'k', kind: 'last', event: x, path: 'properties.note' }] });
        for (const fragment of ['DROP TABLE', 'UNION SELECT', 'OR 1=1', '/* comment */']) {
          if (x.includes(fragment)) assert.ok(!q.sql.includes(fragment), `${r.name}: "${fragment}" reached the SQL text`);
        }
        const rows = await r.run(q);
        assert.deepEqual(rows.map((row) => row.pid), ['p1', 'p2'], `${r.name}: ${x}`);
        if (x === hostile) {
          const p1 = rows[0]?.segments ?? {};
          const p2 = rows[1]?.segments ?? {};
          assert.equal(p1['s0'], true, 'the hostile event name matches as a plain value');
          assert.equal(p1['s2'], true, 'the hostile property value matches as a plain value');
          assert.equal(p2['s3'], true, 'the hostile trait key is a plain key');
          assert.equal(p1['s4'], true);
          assert.equal(p1['s7'], true);
          assert.equal(p2['s8'], true, 'the hostile model name is a plain value');
          assert.equal(p1['s10'], true);
          assert.equal(p1['s11'], true, 'the sequence with a hostile step name');
        }
      }
      // the tables survived: the same plan still runs and sees the data
      const check = await r.run(compileWorkspace(DIALECTS[r.name], { workspaceId: 'ws_inj', now: NOW, segments: [{ key: 'any', condition: { type: 'event', event: '*' } }], computed: [] }));
      assert.deepEqual(check.map((row) => row.segments['any']), [true, true]);
    } finally {
      await r.close();
    }
  });
}

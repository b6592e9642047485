/**
 * The column-wise read of a statement (the models' features): numbers copied a vector at a time with
 * their NULLs as NaN, text as strings or null, across DuckDB's 2048-row chunks, with columns that have
 * no NULL in some chunks (no validity mask there), none at all, or only NULLs in a chunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Segmenta } from '../../src/app/segmenta.js';

test('queryColumns: numbers with NULLs as NaN and text, across chunks, equal the values row by row', async () => {
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const N = 5000;
    const q = {
      sql: `SELECT i AS pid,
              CASE WHEN i % 3 = 0 THEN NULL ELSE i * 1.5 END AS a,
              CASE WHEN i < 2100 THEN NULL ELSE -i END AS b,
              CAST(i AS BIGINT) * 1000003 AS c,
              CASE WHEN i = 4999 THEN NULL ELSE 0.25 END AS d,
              CASE WHEN i % 7 = 0 THEN NULL ELSE 'x' || i END AS t
            FROM range(${N}) r(i) ORDER BY i`,
      params: [], segmentColumns: [], computedColumns: [],
    };
    const r = await sg.store.segments.queryColumns(q, new Set(['a', 'b', 'c', 'd']));
    assert.equal(r.rows, N);
    const col = (k: string) => {
      const c = r.numbers.get(k);
      assert.ok(c, `numeric column ${k}`);
      assert.equal(c.length, N, `${k} has a value per row`);
      return c;
    };
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(col) as [Float64Array, Float64Array, Float64Array, Float64Array];
    const t = r.texts.get('t') ?? [];
    const pid = r.texts.get('pid') ?? [];
    for (let i = 0; i < N; i++) {
      assert.equal(String(pid[i]), String(i), `row ${i} in order`);
      assert.ok(Object.is(a[i], i % 3 === 0 ? NaN : i * 1.5), `a[${i}] = ${a[i]}`);
      assert.ok(Object.is(b[i], i < 2100 ? NaN : -i), `b[${i}] = ${b[i]}`);
      assert.equal(c[i], i * 1000003, `c[${i}]`);
      assert.ok(Object.is(d[i], i === 4999 ? NaN : 0.25), `d[${i}] = ${d[i]}`);
      assert.equal(t[i], i % 7 === 0 ? null : `x${i}`, `t[${i}]`);
    }
  } finally {
    await sg.close();
  }
});

test('a column-wise read waits for a full run that is planning: one whole-workspace statement at a time', async () => {
  // Two at once need twice the memory (a model run's features beside the first full run after opening
  // failed under a 3 GB DuckDB limit at 1M profiles), and two cores run them no faster side by side.
  const sg = await Segmenta.open({ dataDir: ':memory:', threads: 1 });
  try {
    const { workspace: ws } = await sg.workspaces.create('heavy');
    await sg.ingest.submit(ws, [1, 2, 3].map((i) => ({ type: 'track', userId: `u${i}`, event: 'X', messageId: `m${i}` })), { source: 'api', mode: 'atomic' });
    await sg.segments.create(ws, { key: 'did_x', condition: { type: 'event', event: 'X' } });
    await sg.segments.idle();
    // The full run's plan and the read, each timed; the plan held open a while, and the read asked for
    // while it runs.
    const store = sg.store.segments as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const spans: Record<string, [number, number]> = {};
    let planning!: () => void;
    const planStarted = new Promise<void>((r) => { planning = r; });
    const wrap = (name: string, label: string, hold = 0) => {
      const orig = store[name] as (...a: unknown[]) => Promise<unknown>;
      store[name] = async function (this: unknown, ...a: unknown[]) {
        const start = performance.now();
        if (label === 'plan') planning();
        try {
          const out = await orig.apply(this, a);
          if (hold) await new Promise((r) => setTimeout(r, hold));
          return out;
        } finally {
          spans[label] ??= [start, performance.now()];
        }
      };
    };
    wrap('materialize', 'plan', 300);
    wrap('readColumnsNow', 'read');
    const full = sg.segments.compute(ws);
    await planStarted;
    const read = sg.store.segments.queryColumns({ sql: 'SELECT 1 AS pid', params: [], segmentColumns: [], computedColumns: [] }, new Set());
    await Promise.all([full, read]);
    const plan = spans['plan'];
    const r = spans['read'];
    assert.ok(plan && r, `both ran: ${JSON.stringify(spans)}`);
    assert.ok(r[0] >= plan[1], `the read started ${(plan[1] - r[0]).toFixed(0)} ms before the full run's plan ended: they overlapped`);
  } finally {
    await sg.close();
  }
});

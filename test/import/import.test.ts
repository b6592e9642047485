/**
 * File import through the real ingestion path (an in-memory segmenta): every format, the presets on
 * hand-made fixtures in the layouts of real exports, rejections with reasons, and re-import without
 * duplicates.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { importFile, parseMappingSpec, type ImportOptions } from '../../src/services/import/import-file.js';
import { parseDate } from '../../src/services/import/mapping.js';
import { openTestApp, type TestApp } from '../helpers.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'segmenta-import-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function importInto(t: TestApp, opts: ImportOptions) {
  return importFile(opts, (messages) => t.sg.ingest.submit(t.ws.workspace, messages, { source: opts.source ?? 'file:test', mode: 'partial' }));
}

async function eventsOf(t: TestApp, ref: string) {
  const pid = await t.sg.profiles.resolve(t.ws.workspace, ref);
  assert.ok(pid, `no profile for ${ref}`);
  return t.sg.store.profileRecentEvents(t.ws.workspace, pid, 1000);
}

// The layout of a retailer's invoice-line export (UCI Online Retail): an order spread over
// non-adjacent lines, a cancellation, a line without customer, a zero-price adjustment, "17850.0" ids.
const RETAIL = [
  'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
  '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom',
  '536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom',
  '536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom',
  '536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,United Kingdom',
  '536414,22139,"RETROSPOT TEA SET, CERAMIC",56,2010-12-01 11:52:00,0,,United Kingdom',
  '536365,84406B,CREAM CUPID HEARTS COAT HANGER,8,2010-12-01 08:26:00,2.75,17850.0,United Kingdom',
  'C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom',
  '536380,22961,JAM MAKING SET PRINTED,24,2010-12-01 09:41:00,1.45,14527.0,United Kingdom',
  '536381,22086,PAPER CHAIN KIT,0,2010-12-01 09:45:00,0,15311.0,United Kingdom',
  '536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,2010-12-01 14:32:00,2.51,,United Kingdom',
].join('\n');

test('online-retail preset: gzip export imports unmodified; orders grouped, cancellations, skips counted', async () => {
  const t = await openTestApp();
  try {
    const path = file('retail.csv.gz', gzipSync(RETAIL));
    const r = await importInto(t, { path, kind: 'orders', preset: 'online-retail' });
    assert.equal(r.rowsRead, 10);
    assert.equal(r.skippedCounts['no customer id (cannot be attributed to a profile)'], 2);
    assert.equal(r.skippedCounts['quantity or price not positive outside a cancellation (stock adjustment)'], 1);
    assert.equal(r.rejectedRows, 0);
    const events = await eventsOf(t, '17850');
    const orders = events.filter((e) => e.event === 'Order Completed');
    assert.deepEqual(orders.map((o) => (o.properties as { order_id: string }).order_id).sort(), ['536365', '536366']);
    const o365 = orders.find((o) => (o.properties as { order_id: string }).order_id === '536365');
    const props = o365?.properties as { products: unknown[]; total: number };
    assert.equal(props.products.length, 3, 'three lines of 536365, two of them not adjacent');
    assert.equal(props.total, Math.round((6 * 2.55 + 6 * 3.39 + 8 * 2.75) * 100) / 100);
    assert.equal(o365?.revenue, props.total);
    const refunds = (await eventsOf(t, '14527')).filter((e) => e.event === 'Order Refunded');
    assert.equal(refunds.length, 1);
    assert.equal((refunds[0]?.properties as { order_id: string }).order_id, 'C536379');
    // the country arrives as a trait with file provenance
    const pid = await t.sg.profiles.resolve(t.ws.workspace, '13047');
    assert.ok(pid);
    const traits = await t.sg.store.profileTraits(t.ws.workspace, pid);
    assert.deepEqual(traits.map((x) => [x.key, x.value, x.source]), [['country', 'United Kingdom', 'identify:file:test']]);

    const before = (await t.sg.store.workspaceStats(t.ws.workspace)).events;
    const again = await importInto(t, { path, kind: 'orders', preset: 'online-retail' });
    assert.equal(again.imported, 0);
    assert.equal(again.duplicates, again.messages);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).events, before);
  } finally {
    await t.close();
  }
});

test('cdnow preset: whitespace purchase log, header line, same-day lines stay separate transactions', async () => {
  const t = await openTestApp();
  try {
    const path = file('cdnow.txt', ' customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n 00002 19970112  5   77.00\r\n 00003 19970102  2   20.76\r\n');
    const r = await importInto(t, { path, kind: 'orders', preset: 'cdnow' });
    assert.equal(r.rowsRead, 4);
    assert.equal(r.imported, 4);
    const two = (await eventsOf(t, '00002')).filter((e) => e.event === 'Order Completed');
    assert.equal(two.length, 2);
    assert.deepEqual(two.map((e) => e.revenue).sort((a, b) => (a ?? 0) - (b ?? 0)), [12, 77]);
    assert.equal(new Date(two[0]?.timestamp ?? 0).toISOString(), '1997-01-12T00:00:00.000Z');
    assert.equal((await importInto(t, { path, kind: 'orders', preset: 'cdnow' })).imported, 0);
  } finally {
    await t.close();
  }
});

test('events CSV with an explicit mapping; unmapped columns become typed properties', async () => {
  const t = await openTestApp();
  try {
    const path = file('events.csv', 'user,name,ts,price,colour\nu1,Product Viewed,2024-03-01T10:00:00Z,19.90,red\nu1,Signed Up,2024-02-01T09:00:00Z,,\n,Orphan,2024-02-01,1,x\n');
    const r = await importInto(t, { path, kind: 'events', mapping: parseMappingSpec('userId=user,event=name,timestamp=ts') });
    assert.equal(r.imported, 2);
    assert.equal(r.rejectedRows, 1);
    assert.deepEqual(r.rejections, [{ row: 4, reason: 'no user id and no anonymous id' }]);
    const events = await eventsOf(t, 'u1');
    const viewed = events.find((e) => e.event === 'Product Viewed');
    assert.deepEqual(viewed?.properties, { price: 19.9, colour: 'red' });
    assert.equal(viewed?.timestamp, Date.parse('2024-03-01T10:00:00Z'));
  } finally {
    await t.close();
  }
});

test('JSONL: a bad line is rejected with its reason, the rest imports; columns are recognised without a mapping', async () => {
  const t = await openTestApp();
  try {
    const path = file('events.jsonl', [
      JSON.stringify({ user_id: 'j1', event: 'Order Completed', timestamp: '2024-01-05T12:00:00Z', total: 42 }),
      '{"user_id": "j1", "event": ',
      JSON.stringify({ user_id: 'j1', event: 'Product Viewed', timestamp: 'not a date' }),
      JSON.stringify({ user_id: 'j2', event: 'Product Viewed', timestamp: 1704456000 }),
    ].join('\n'));
    const r = await importInto(t, { path, kind: 'events' });
    assert.equal(r.rowsRead, 4);
    assert.equal(r.imported, 2);
    assert.equal(r.rejectedRows, 2);
    assert.match(r.rejections[0]?.reason ?? '', /not valid JSON/);
    assert.equal(r.rejections[0]?.row, 2);
    assert.match(r.rejections[1]?.reason ?? '', /cannot read the date 'not a date'/);
    const [j2] = await eventsOf(t, 'j2');
    assert.equal(j2?.timestamp, 1704456000 * 1000);
    const [j1] = await eventsOf(t, 'j1');
    assert.equal(j1?.revenue, 42, 'total of an Order Completed is its revenue');
  } finally {
    await t.close();
  }
});

test('customers CSV: identify with traits; email links to events of the same person', async () => {
  const t = await openTestApp();
  try {
    const path = file('customers.csv', 'customer_id,email,first_name,birthday,vip\nc1,Ada@Example.com,Ada,1990-05-01,true\nc2,bob@example.com,Bob,,false\n,,Nobody,,\n');
    const r = await importInto(t, { path, kind: 'customers', source: 'file:customers.csv' });
    assert.equal(r.imported, 2);
    assert.equal(r.rejectedRows, 1);
    const pid = await t.sg.profiles.resolve(t.ws.workspace, 'email:ada@example.com');
    assert.equal(pid, await t.sg.profiles.resolve(t.ws.workspace, 'c1'));
    assert.ok(pid);
    const traits = Object.fromEntries((await t.sg.store.profileTraits(t.ws.workspace, pid)).map((x) => [x.key, x.value]));
    assert.deepEqual(traits, { email: 'Ada@Example.com', first_name: 'Ada', birthday: '1990-05-01', vip: true });
    assert.equal((await importInto(t, { path, kind: 'customers', source: 'file:customers.csv' })).imported, 0);
  } finally {
    await t.close();
  }
});

test('Parquet: an orders file written by DuckDB imports with a mapping', async () => {
  const t = await openTestApp();
  try {
    const path = join(dir, 'orders.parquet');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    await c.run(`COPY (SELECT * FROM (VALUES
      ('p1', 'o-1', TIMESTAMP '2024-04-01 10:00:00', 'sku-1', 2, 10.5::DOUBLE, 'EUR'),
      ('p1', 'o-1', TIMESTAMP '2024-04-01 10:00:00', 'sku-2', 1, 4.0::DOUBLE, 'EUR'),
      ('p2', 'o-2', TIMESTAMP '2024-04-02 11:00:00', 'sku-1', 1, 10.5::DOUBLE, 'EUR')
    ) AS t(customer, order_no, ts, sku, qty, unit_price, currency)) TO '${path.replace(/'/g, "''")}' (FORMAT parquet)`);
    c.closeSync();
    db.closeSync();
    const r = await importInto(t, { path, kind: 'orders', mapping: parseMappingSpec('userId=customer,orderId=order_no,timestamp=ts,productId=sku,quantity=qty,price=unit_price,currency=currency') });
    assert.equal(r.format, 'parquet');
    assert.equal(r.rowsRead, 3);
    assert.equal(r.imported, 2);
    const [o1] = (await eventsOf(t, 'p1')).filter((e) => e.event === 'Order Completed');
    assert.equal(o1?.revenue, 25);
    assert.equal(o1?.timestamp, Date.parse('2024-04-01T10:00:00Z'));
  } finally {
    await t.close();
  }
});

test('mapping errors and unknown presets say what is wrong', async () => {
  const t = await openTestApp();
  try {
    assert.throws(() => parseMappingSpec('userId'), /'userId' is not field=Column/);
    assert.throws(() => parseMappingSpec('shoeSize=Size'), /unknown field 'shoeSize'/);
    assert.deepEqual(parseMappingSpec('userId=A, properties.size=S'), { userId: 'A', properties: { size: 'S' } });
    const path = file('weird.csv', 'a,b\n1,2\n');
    await assert.rejects(importInto(t, { path, kind: 'events' }), /cannot tell which column is the event name \(columns: a, b\)/);
    await assert.rejects(importInto(t, { path, kind: 'orders', preset: 'nope' }), /no preset 'nope'/);
    await assert.rejects(importInto(t, { path, kind: 'events', preset: 'cdnow' }), /imports orders, not events/);
  } finally {
    await t.close();
  }
});

test('dates: ISO, YYYYMMDD, epoch, and day- or month-first with a format', () => {
  assert.equal(parseDate('2010-12-01 08:26:00'), Date.UTC(2010, 11, 1, 8, 26));
  assert.equal(parseDate('19970112'), Date.UTC(1997, 0, 12));
  assert.equal(parseDate('12/1/2010 8:26', 'M/D/YYYY'), Date.UTC(2010, 11, 1, 8, 26));
  assert.equal(parseDate('12/1/2010', 'DD/MM/YYYY'), Date.UTC(2010, 0, 12));
  assert.equal(parseDate('25/12/2020'), Date.UTC(2020, 11, 25), 'a first number over 12 is a day');
  assert.equal(parseDate('1704456000'), 1704456000000);
  assert.equal(parseDate('1704456000123'), 1704456000123);
  assert.equal(parseDate('2024-02-30x'), undefined);
  assert.equal(parseDate('13/13/2020', 'M/D/YYYY'), undefined);
});

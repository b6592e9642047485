/**
 * Validation against the public datasets (not part of the repository):
 *
 *   npm run validate -- ../shared/data
 *
 * For each dataset, facts are computed independently from the raw file here (a plain streaming parse),
 * checked against the published numbers of REFERENCES.md, and then compared with what segmenta stores
 * after importing the same file through `segmenta import` with the dataset's preset, unmodified.
 * Exits 1 on any mismatch.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { Segmenta } from '../src/app/segmenta.js';
import { importFile, type ImportReport } from '../src/services/import/import-file.js';

const dataDir = resolve(process.argv[2] ?? '../shared/data');
let failures = 0;

function check(label: string, actual: number, expected: number, tolerance = 0): void {
  const ok = Math.abs(actual - expected) <= tolerance;
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${actual}${ok ? '' : ` (expected ${expected}${tolerance ? ` ± ${tolerance}` : ''})`}`);
}

async function importInto(file: string, kind: 'orders', preset: string): Promise<{ report: ImportReport; sg: Segmenta; ws: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'segmenta-validate-'));
  const sg = await Segmenta.open({ dataDir: dir });
  const { workspace } = await sg.workspaces.create('validate');
  const t0 = Date.now();
  let last = 0;
  const report = await importFile({ path: file, kind, preset, source: `file:${preset}` },
    (messages) => sg.ingest.submit(workspace, messages, { source: `file:${preset}`, mode: 'partial' }),
    (p) => {
      if (Date.now() - last > 5000) {
        last = Date.now();
        console.log(`  … ${p.rows} rows, ${Math.round((100 * p.bytesRead) / Math.max(p.bytesTotal, 1))} %`);
      }
    });
  console.log(`  imported in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${report.rowsRead} rows → ${report.messages} messages, ${report.imported} stored, ${report.skippedRows} skipped, ${report.rejectedRows} rejected`);
  return { report, sg, ws: workspace, dir };
}

/** UCI Online Retail: published facts, then the import of the raw gzip export. */
async function onlineRetail(): Promise<void> {
  const file = join(dataDir, 'online_retail', 'online_retail.csv.gz');
  if (!existsSync(file)) return void console.log(`skip online retail: ${file} not found`);
  console.log(`\n# Online Retail (${file})`);
  let lines = 0;
  let noCustomer = 0;
  let cancelLines = 0;
  let sum = 0;
  let cleanLines = 0;
  const customers = new Set<string>();
  const cleanCustomers = new Set<string>();
  const cleanInvoices = new Set<string>();
  const parser = createReadStream(file).pipe(createGunzip()).pipe(parse({ columns: true, bom: true }));
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    lines++;
    const qty = Number(row['Quantity']);
    const price = Number(row['UnitPrice']);
    const invoice = row['InvoiceNo'] ?? '';
    const cust = (row['CustomerID'] ?? '').trim();
    sum += qty * price;
    if (invoice.startsWith('C')) cancelLines++;
    if (cust === '') noCustomer++;
    else customers.add(String(Math.round(Number(cust))));
    if (cust !== '' && !invoice.startsWith('C') && qty > 0 && price > 0) {
      cleanLines++;
      cleanCustomers.add(String(Math.round(Number(cust))));
      cleanInvoices.add(invoice);
    }
  }
  check('lines', lines, 541_909);
  check('customers', customers.size, 4_372);
  check('lines without customer', noCustomer, 135_080);
  check('cancellation lines', cancelLines, 9_288);
  check('sum(Quantity × UnitPrice) × 100', Math.round(sum * 100), 974_774_793);
  check('clean subset lines', cleanLines, 397_884);
  check('clean subset customers', cleanCustomers.size, 4_338);
  check('clean subset invoices', cleanInvoices.size, 18_532);

  const { report, sg, ws, dir } = await importInto(file, 'orders', 'online-retail');
  try {
    const totals = await sg.store.eventTotals(ws);
    const stats = await sg.store.workspaceStats(ws);
    const completed = totals.find((t) => t.event === 'Order Completed');
    check('rows read by the import', report.rowsRead, 541_909);
    check('profiles (one per customer with any line)', stats.profiles, customers.size);
    check('Order Completed events (clean invoices)', completed?.count ?? 0, cleanInvoices.size);
    check('profiles with an order (clean customers)', completed?.profiles ?? 0, cleanCustomers.size);
    const again = await importFile({ path: file, kind: 'orders', preset: 'online-retail', source: 'file:online-retail' },
      (messages) => sg.ingest.submit(ws, messages, { source: 'file:online-retail', mode: 'partial' }));
    check('re-import stores nothing new', again.imported, 0);
    check('events unchanged after re-import', (await sg.store.workspaceStats(ws)).events, stats.events);
  } finally {
    await sg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CDNOW master purchase log (whitespace-separated): every line one order. */
async function cdnow(): Promise<void> {
  const file = join(dataDir, 'cdnow', 'CDNOW_master.txt');
  if (!existsSync(file)) return void console.log(`skip CDNOW: ${file} not found`);
  console.log(`\n# CDNOW master (${file})`);
  let rows = 0;
  let dollars = 0;
  const customers = new Set<string>();
  const rl = createInterface({ input: createReadStream(file) });
  for await (const line of rl) {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 4 || !/^\d+$/.test(parts[0] ?? '')) continue;
    rows++;
    customers.add(parts[0] ?? '');
    dollars += Number(parts[3]);
  }
  check('transactions', rows, 69_659);
  check('customers', customers.size, 23_570);
  check('dollars × 100', Math.round(dollars * 100), 250_031_563);

  const { sg, ws, dir } = await importInto(file, 'orders', 'cdnow');
  try {
    const totals = await sg.store.eventTotals(ws);
    const completed = totals.find((t) => t.event === 'Order Completed');
    check('Order Completed events', completed?.count ?? 0, rows);
    check('profiles', (await sg.store.workspaceStats(ws)).profiles, customers.size);
    check('revenue × 100', Math.round((completed?.revenue ?? 0) * 100), Math.round(dollars * 100));
  } finally {
    await sg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!existsSync(dataDir)) {
  console.error(`no data folder at ${dataDir}: pass it as the first argument`);
  process.exit(2);
}
await onlineRetail();
await cdnow();
console.log(failures === 0 ? '\nvalidation passed' : `\nvalidation FAILED: ${failures} check(s)`);
process.exit(failures === 0 ? 0 : 1);

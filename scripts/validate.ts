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
import { validateBtyd } from './validate-btyd.js';
import { validateClassifiers } from './validate-classifiers.js';
import { validateHillstrom } from './validate-hillstrom.js';
import { validateKmeans } from './validate-kmeans.js';

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
  const invoices = new Map<string, RawInvoice>();
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
      const id = String(Math.round(Number(cust)));
      const at = invoiceTime(row['InvoiceDate'] ?? '');
      const inv = invoices.get(`${id}|${invoice}`);
      if (!inv) invoices.set(`${id}|${invoice}`, { customer: id, at, total: qty * price });
      else {
        inv.total += qty * price;
        if (at < inv.at) inv.at = at;
      }
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
    await onlineRetailRfm(sg, ws, invoices);
  } finally {
    await sg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One clean invoice of a customer as the raw lines give it: the import's unit of an order. */
interface RawInvoice { customer: string; at: number; total: number }

/** InvoiceDate `YYYY-MM-DD HH:MM:SS` carries no zone; the import reads such times as UTC, so here too. */
function invoiceTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new Error(`unexpected InvoiceDate '${s}'`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/**
 * The RFM grid of docs/behavioural.md, written out again (not imported) so that the check is
 * independent of src/domain/behavioural/rfm.ts: RFM_GRID_BY_HAND[fm][r − 1].
 */
const RFM_GRID_BY_HAND: Record<number, string[]> = {
  5: ["Can't Lose", 'At Risk', 'Loyal', 'Champions', 'Champions'],
  4: ["Can't Lose", 'At Risk', 'Loyal', 'Loyal', 'Champions'],
  3: ['At Risk', 'At Risk', 'Need Attention', 'Potential Loyalist', 'Potential Loyalist'],
  2: ['Hibernating', 'Hibernating', 'About to Sleep', 'Potential Loyalist', 'Potential Loyalist'],
  1: ['Lost', 'Hibernating', 'About to Sleep', 'Promising', 'New'],
};

/**
 * RFM on the clean subset, snapshot 2011-12-10 (the customary one: the day after the last invoice),
 * computed here in plain code from the raw invoices and compared customer by customer with what
 * `sg.behavioural.run(ws, 'rfm')` wrote as profile traits:
 * - recency = whole days from the customer's last invoice to the snapshot, frequency = invoices,
 *   monetary = sum of the invoice totals, each rounded to cents (as the import rounds them);
 * - score s = 1 + floor(5 · (customers strictly worse) / n), naive O(n²) count;
 * - FM = floor((F + M + 1) / 2), the group from the grid above.
 */
async function onlineRetailRfm(sg: Segmenta, ws: string, invoices: Map<string, RawInvoice>): Promise<void> {
  console.log('\n## RFM on the clean subset, snapshot 2011-12-10');
  const snapshot = Date.parse('2011-12-10T00:00:00Z');
  const day = 86_400_000;
  const byCustomer = new Map<string, { last: number; invoices: number; cents: number }>();
  for (const inv of invoices.values()) {
    const c = byCustomer.get(inv.customer) ?? { last: -Infinity, invoices: 0, cents: 0 };
    c.last = Math.max(c.last, inv.at);
    c.invoices++;
    c.cents += Math.round(inv.total * 100);
    byCustomer.set(inv.customer, c);
  }
  const ids = [...byCustomer.keys()];
  const rec = ids.map((id) => Math.floor((snapshot - (byCustomer.get(id)?.last ?? 0)) / day));
  const freq = ids.map((id) => byCustomer.get(id)?.invoices ?? 0);
  const cents = ids.map((id) => byCustomer.get(id)?.cents ?? 0);
  const n = ids.length;
  const score = (values: number[], worse: (other: number, v: number) => boolean) => values.map((v) => {
    let below = 0;
    for (const w of values) if (worse(w, v)) below++;
    return 1 + Math.floor((5 * below) / n);
  });
  const R = score(rec, (w, v) => w > v);
  const F = score(freq, (w, v) => w < v);
  const M = score(cents, (w, v) => w < v);
  const groups = ids.map((_, i) => {
    const fm = Math.floor(((F[i] ?? 0) + (M[i] ?? 0) + 1) / 2);
    return RFM_GRID_BY_HAND[fm]?.[(R[i] ?? 0) - 1] ?? '?';
  });

  const t0 = Date.now();
  const run = await sg.behavioural.run(ws, 'rfm', { asOf: snapshot });
  console.log(`  segmenta rfm run in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${run.profiles} profiles classified`);
  check('customers scored (independent)', n, 4_338);
  check('customers scored by segmenta', run.profiles, n);

  const keys = ['rfm_recency_days', 'rfm_frequency', 'rfm_monetary', 'rfm_r', 'rfm_f', 'rfm_m', 'rfm_group'] as const;
  const traits = Object.fromEntries(keys.map((k) => [k, new Map<string, unknown>()])) as Record<(typeof keys)[number], Map<string, unknown>>;
  for (const t of await sg.store.latestTraitValues(ws, [...keys], await sg.segments.modelTraits(ws))) traits[t.key as (typeof keys)[number]].set(t.profileId, JSON.parse(t.value) as unknown);
  const mismatches: Record<string, number> = Object.fromEntries(['profile', ...keys].map((k) => [k, 0]));
  const examples: string[] = [];
  for (const [i, id] of ids.entries()) {
    const pid = await sg.store.profileByIdentity(ws, 'user_id', id);
    if (!pid) {
      mismatches['profile'] = (mismatches['profile'] ?? 0) + 1;
      continue;
    }
    const expected: Record<(typeof keys)[number], unknown> = {
      rfm_recency_days: rec[i], rfm_frequency: freq[i], rfm_monetary: (cents[i] ?? 0) / 100,
      rfm_r: R[i], rfm_f: F[i], rfm_m: M[i], rfm_group: groups[i],
    };
    for (const k of keys) {
      const got = traits[k].get(pid);
      const same = k === 'rfm_monetary' ? typeof got === 'number' && Math.abs(got - Number(expected[k])) <= 0.01 : got === expected[k];
      if (!same) {
        mismatches[k] = (mismatches[k] ?? 0) + 1;
        if (examples.length < 10) examples.push(`    customer ${id}: ${k} = ${JSON.stringify(got)}, expected ${JSON.stringify(expected[k])}`);
      }
    }
  }
  for (const [k, count] of Object.entries(mismatches)) check(`customers whose ${k === 'profile' ? 'profile was not found' : `${k} differs`}`, count, 0);
  if (examples.length) console.log(examples.join('\n'));
  check('profiles with an rfm_group trait', traits.rfm_group.size, n);
  const first = await sg.store.profileByIdentity(ws, 'user_id', ids[0] ?? '');
  const provenance = first ? (await sg.store.profileTraits(ws, first)).find((t) => t.key === 'rfm_group')?.source : undefined;
  check(`rfm_group of customer ${ids[0]} has source model:rfm (got ${provenance})`, provenance === 'model:rfm' ? 1 : 0, 1);

  const dist = (scores: number[]) => [1, 2, 3, 4, 5].map((s) => scores.filter((x) => x === s).length);
  const summary = run.summary as { scores?: { r?: number[]; f?: number[]; m?: number[] }; groups?: Record<string, number> };
  console.log('  score distributions (customers with score 1 … 5), independent computation:');
  for (const [name, scores, theirs] of [['R', R, summary.scores?.r], ['F', F, summary.scores?.f], ['M', M, summary.scores?.m]] as const) {
    const mine = dist(scores);
    console.log(`    ${name}: ${mine.join(' · ')}${JSON.stringify(mine) === JSON.stringify(theirs) ? '' : `   (segmenta's summary: ${JSON.stringify(theirs)})`}`);
    check(`${name} score distribution equals segmenta's summary`, JSON.stringify(mine) === JSON.stringify(theirs) ? 1 : 0, 1);
  }
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g, (counts.get(g) ?? 0) + 1);
  console.log('  groups (independent | segmenta summary):');
  const names = [...new Set([...Object.values(RFM_GRID_BY_HAND).flat(), ...Object.keys(summary.groups ?? {})])];
  for (const g of names.sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0))) {
    console.log(`    ${g.padEnd(20)} ${String(counts.get(g) ?? 0).padStart(5)} ${((100 * (counts.get(g) ?? 0)) / n).toFixed(1).padStart(5)} % | ${String(summary.groups?.[g] ?? 0).padStart(5)}`);
  }
  for (const g of names) check(`group ${g}`, summary.groups?.[g] ?? 0, counts.get(g) ?? 0);
  console.log('  customers per cell, FM down (5 … 1), R across (1 … 5):');
  for (let fm = 5; fm >= 1; fm--) {
    const row = [1, 2, 3, 4, 5].map((r) => ids.filter((_, i) => R[i] === r && Math.floor(((F[i] ?? 0) + (M[i] ?? 0) + 1) / 2) === fm).length);
    console.log(`    FM ${fm}: ${row.map((x) => String(x).padStart(5)).join(' ')}`);
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
console.log('\n# CDNOW sample: BG/NBD, Pareto/NBD, Gamma-Gamma (Fader, Hardie & Lee 2005; Fader & Hardie 2013)');
await validateBtyd(dataDir, check);
console.log('\n# Hillstrom e-mail experiment: arms, effects, an uplift model on a seeded 50 / 50 split');
await validateHillstrom(dataDir, check);
console.log('\n# Hillstrom visits: logistic regression and gradient-boosted trees against scikit-learn');
await validateClassifiers(dataDir, check);
console.log('\n# k-means: Mall Customers and Online Retail RFM against scikit-learn');
await validateKmeans(dataDir, check);
console.log(failures === 0 ? '\nvalidation passed' : `\nvalidation FAILED: ${failures} check(s)`);
process.exit(failures === 0 ? 0 : 1);

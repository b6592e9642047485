/**
 * Validation of k-means, the feature pipeline and silhouette on two public datasets (not part of the
 * repository; see REFERENCES.md), against scikit-learn 1.2 on the same data:
 *
 * 1. Mall Customers (200 rows; annual income and spending score, raw): inertia and silhouette for
 *    k = 3 … 6, scikit-learn's best of KMeans(n_init = 10) over random_state 0 … 9.
 * 2. UCI Online Retail, the usual clean RFM subset (customer present, not cancelled, quantity and price
 *    > 0; REFERENCES.md: 397,884 lines, 4,338 customers, 18,532 invoices): recency (days before
 *    2011-12-10), frequency (distinct invoices), monetary (Σ quantity × price) per customer; the
 *    pipeline must choose log1p for all three (skewness 1.25, 12.1, 19.3) and standardise; then k-means
 *    for k = 3, 4, 5 against scikit-learn's best on numpy's log1p + population z-score of the same table.
 *
 * The RFM surface has many local optima within 0.02 % of each other, so inertia is checked to 0.1 %
 * (and never below scikit-learn's best, which would mean a bug in the objective), silhouette to 0.005.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { silhouetteScore } from '../src/domain/ml/cluster-quality.js';
import { fitKMeans } from '../src/domain/ml/kmeans.js';
import { applyPipeline, fitPipeline } from '../src/domain/ml/pipeline.js';
import { fromRows } from '../src/domain/ml/types.js';

type Check = (label: string, actual: number, expected: number, tolerance?: number) => void;

/** scikit-learn 1.2.1, best inertia of KMeans(k, n_init=10, random_state=0…9), and its silhouette. */
const MALL = [
  { k: 3, inertia: 106348.37306211122, silhouette: 0.46761358158775435 },
  { k: 4, inertia: 73679.78903948836, silhouette: 0.4931963109249047 },
  { k: 5, inertia: 44448.4554479337, silhouette: 0.553931997444648 },
  { k: 6, inertia: 37233.814510710006, silhouette: 0.53976103063432 },
];
const RFM = [
  { k: 3, inertia: 4868.109533630699, silhouette: 0.3389334429910335 },
  { k: 4, inertia: 3941.20924530057, silhouette: 0.3360377000184808 },
  { k: 5, inertia: 3298.7513533849233, silhouette: 0.31603423225478217 },
];

function checkFit(check: Check, label: string, x: ReturnType<typeof fromRows>, ref: { k: number; inertia: number; silhouette: number }, tolerance: number): void {
  const fit = fitKMeans(x, { k: ref.k, nInit: 10, seed: 0 });
  check(`${label} k = ${ref.k} inertia`, fit.inertia, ref.inertia, tolerance * ref.inertia);
  check(`${label} k = ${ref.k} inertia not below scikit-learn's best`, Math.min(0, fit.inertia - ref.inertia * (1 - 1e-9)), 0);
  check(`${label} k = ${ref.k} silhouette`, silhouetteScore(x, fit.labels).score, ref.silhouette, tolerance === 0 ? 1e-6 : 0.005);
}

export async function validateKmeans(dataDir: string, check: Check): Promise<void> {
  const mall = join(dataDir, 'mall_customers', 'Mall_Customers.csv');
  if (existsSync(mall)) {
    console.log(`\n# k-means: Mall Customers (${mall})`);
    const lines = readFileSync(mall, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim());
    const x = fromRows(lines.map((l) => {
      const f = l.split(',');
      return [Number(f[3]), Number(f[4])];
    }));
    check('mall rows', x.rows, 200);
    // The k = 3 … 6 optima of this small set are found by every seed: exact to 1e-9.
    for (const ref of MALL) checkFit(check, 'mall', x, ref, 1e-9);
  } else console.log(`skip k-means on Mall Customers: ${mall} not found`);

  const retail = join(dataDir, 'online_retail', 'online_retail.csv.gz');
  if (!existsSync(retail)) return void console.log(`skip k-means on Online Retail: ${retail} not found`);
  console.log(`\n# k-means: Online Retail RFM (${retail})`);
  const last = new Map<string, number>();
  const invoices = new Map<string, Set<string>>();
  const monetary = new Map<string, number>();
  let lines = 0;
  const parser = createReadStream(retail).pipe(createGunzip()).pipe(parse({ columns: true, relax_quotes: true }));
  for await (const r of parser as AsyncIterable<Record<string, string>>) {
    const c = r['CustomerID'] ?? '';
    const inv = r['InvoiceNo'] ?? '';
    const q = Number(r['Quantity']);
    const p = Number(r['UnitPrice']);
    if (!c || inv.startsWith('C') || !(q > 0) || !(p > 0)) continue;
    lines++;
    const d = r['InvoiceDate'] ?? '';
    const ts = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10)), Number(d.slice(11, 13)), Number(d.slice(14, 16)), Number(d.slice(17, 19)));
    if (!(ts <= (last.get(c) ?? -Infinity))) last.set(c, ts);
    let s = invoices.get(c);
    if (!s) invoices.set(c, (s = new Set()));
    s.add(inv);
    monetary.set(c, (monetary.get(c) ?? 0) + q * p);
  }
  const ids = [...last.keys()].sort();
  check('rfm clean lines', lines, 397_884);
  check('rfm customers', ids.length, 4_338);
  const ref = Date.UTC(2011, 11, 10);
  const raw = {
    recency: ids.map((c) => (ref - (last.get(c) as number)) / 86_400_000),
    frequency: ids.map((c) => (invoices.get(c) as Set<string>).size),
    monetary: ids.map((c) => monetary.get(c) as number),
  };
  check('rfm invoices', raw.frequency.reduce((a, b) => a + b, 0), 18_532);
  check('rfm monetary total', raw.monetary.reduce((a, b) => a + b, 0), 8_911_407.904, 1e-3);
  const { spec } = fitPipeline(raw);
  const skews = [1.24540679, 12.06285787, 19.31827038];
  spec.steps.forEach((s, i) => {
    check(`rfm ${s.name} log1p chosen`, s.kind === 'numeric' && s.log1p ? 1 : 0, 1);
    check(`rfm ${s.name} skewness`, s.kind === 'numeric' ? (s.skewness ?? NaN) : NaN, skews[i] as number, 1e-6);
  });
  const x = applyPipeline(spec, raw).x;
  for (const r of RFM) checkFit(check, 'rfm', x, r, 1e-3);
}

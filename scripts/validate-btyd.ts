/**
 * Validation of the buy-till-you-die models against the CDNOW sample of Fader, Hardie & Lee (2005)
 * (`<dataDir>/cdnow/CDNOW_sample.txt`, not part of the repository; see REFERENCES.md):
 *
 * 1. the calibration summary built by `buildBtydSummary` from the raw transactions (weeks 1–39,
 *    calibration ending 1997-09-30, same-day purchases merged, t_x and T in weeks from the first
 *    purchase) against lifetimes' own summary of the same sample (`cdnow_customers_summary*.csv`,
 *    printed to 2 decimals) and the published totals;
 * 2. BG/NBD, Pareto/NBD and Gamma-Gamma fitted on it against the published maximum-likelihood
 *    estimates and log-likelihoods;
 * 3. the published per-customer and per-t values with the fitted models;
 * 4. the holdout (weeks 40–78): repeat purchases, cumulative tracking at week 78 and the conditional
 *    expectations by calibration frequency.
 *
 * Tolerances follow the printed precision: half a unit of the last printed digit where the published
 * number is the MLE of exactly this data; wider (and said so) where the reference was computed from
 * rounded parameters or by a spreadsheet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bgnbdLogLikelihood, fitBgNbd } from '../src/domain/ml/bgnbd.js';
import { cumulativeTracking, conditionalExpectations } from '../src/domain/ml/btyd-diagnostics.js';
import { buildBtydSummary, repeatPurchasesByPeriod, DAY_MS, WEEK_MS, type CustomerTransactions } from '../src/domain/ml/btyd-summary.js';
import { fitGammaGamma } from '../src/domain/ml/gamma-gamma.js';
import { fitParetoNbd } from '../src/domain/ml/pareto-nbd.js';

type Check = (label: string, actual: number, expected: number, tolerance?: number) => void;

function utc(yyyymmdd: string): number {
  return Date.UTC(Number(yyyymmdd.slice(0, 4)), Number(yyyymmdd.slice(4, 6)) - 1, Number(yyyymmdd.slice(6, 8)));
}

/** CDNOW_sample.txt: master id, sample id, date (yyyymmdd), CDs, dollars; whitespace-separated, CRLF, no header. */
function readSample(file: string): { ids: number[]; customers: CustomerTransactions[] } {
  const byId = new Map<number, { times: number[]; amounts: number[] }>();
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    const id = Number(f[1]);
    let c = byId.get(id);
    if (!c) byId.set(id, (c = { times: [], amounts: [] }));
    c.times.push(utc(f[2] as string));
    c.amounts.push(Number(f[4]));
  }
  const ids = [...byId.keys()].sort((a, b) => a - b);
  return { ids, customers: ids.map((id) => byId.get(id) as CustomerTransactions) };
}

function readCsv(file: string): number[][] {
  return readFileSync(file, 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(',').map(Number));
}

export async function validateBtyd(dataDir: string, check: Check): Promise<void> {
  const dir = join(dataDir, 'cdnow');
  const sampleFile = join(dir, 'CDNOW_sample.txt');
  if (!existsSync(sampleFile)) {
    console.log(`skip BTYD: ${sampleFile} not found`);
    return;
  }
  console.log(`\n# BTYD models on the CDNOW sample (${sampleFile})`);
  const { ids, customers } = readSample(sampleFile);
  const calibrationEnd = utc('19970930');
  const holdoutEnd = utc('19980630');
  const origin = utc('19970101');
  const sum = buildBtydSummary(customers, { calibrationEnd, holdoutEnd, periodMs: DAY_MS, unitMs: WEEK_MS });

  // 1. The summary.
  check('BTYD summary: customers', sum.n, 2357);
  let sx = 0; let zeros = 0; let hx = 0; let hxZeros = 0;
  for (let i = 0; i < sum.n; i++) {
    sx += sum.x[i] as number;
    hx += (sum.holdoutX as Float64Array)[i] as number;
    if (sum.x[i] === 0) { zeros++; hxZeros += (sum.holdoutX as Float64Array)[i] as number; }
  }
  check('BTYD summary: calibration repeat transactions', sx, 2457);
  check('BTYD summary: customers with x = 0', zeros, 1411);
  check('BTYD summary: holdout repeat transactions (weeks 40-78)', hx, 1882);
  check('BTYD summary: holdout transactions of the x = 0 customers', hxZeros, 334);
  check('BTYD summary: holdout length (weeks)', sum.holdoutLength ?? NaN, 39, 1e-12);
  const lifetimesFile = join(dir, 'cdnow_customers_summary_with_transactions.csv');
  if (existsSync(lifetimesFile)) {
    const rows = readCsv(lifetimesFile);
    check('BTYD summary: rows of lifetimes\' summary', rows.length, sum.n);
    let dx = 0; let dtx = 0; let dT = 0; let dm = 0;
    for (let i = 0; i < Math.min(rows.length, sum.n); i++) {
      const r = rows[i] as number[];
      if (r[0] !== ids[i]) throw new Error(`customer order differs at row ${i}`);
      dx = Math.max(dx, Math.abs((r[1] as number) - (sum.x[i] as number)));
      dtx = Math.max(dtx, Math.abs((r[2] as number) - (sum.tx[i] as number)));
      dT = Math.max(dT, Math.abs((r[3] as number) - (sum.T[i] as number)));
      dm = Math.max(dm, Math.abs((r[4] as number) - (sum.m[i] as number)));
    }
    // lifetimes prints 2 decimals: every value must agree to half a unit of the second decimal.
    check('BTYD summary: max |x − lifetimes x|', dx, 0);
    check('BTYD summary: max |t_x − lifetimes t_x| (printed to 2 dp)', dtx, 0, 0.005 + 1e-9);
    check('BTYD summary: max |T − lifetimes T| (printed to 2 dp)', dT, 0, 0.005 + 1e-9);
    check('BTYD summary: max |m − lifetimes zbar| (printed to 2 dp)', dm, 0, 0.005 + 1e-9);
  }
  const c1516 = ids.indexOf(1516);
  check('BTYD summary: customer 1516 x', sum.x[c1516] ?? NaN, 26);
  check('BTYD summary: customer 1516 t_x (weeks)', sum.tx[c1516] ?? NaN, 30.857, 0.0005);
  check('BTYD summary: customer 1516 T (weeks)', sum.T[c1516] ?? NaN, 31, 1e-12);

  // 2. Fits.
  const t0 = performance.now();
  const bg = fitBgNbd(sum, { seed: 1 });
  const tBg = performance.now() - t0;
  console.log(`  BG/NBD fit in ${tBg.toFixed(0)} ms: r ${bg.params.r.toFixed(6)}, α ${bg.params.alpha.toFixed(6)}, a ${bg.params.a.toFixed(6)}, b ${bg.params.b.toFixed(6)}, LL ${bg.logLikelihood.toFixed(4)}; ${bg.convergence.message}`);
  check('BG/NBD converged', bg.convergence.converged ? 1 : 0, 1);
  // FHL print 4 decimals from an Excel Solver run; the likelihood is flat there (standard errors
  // 0.01–0.7), and our gradient-converged MLE of the same data differs from theirs in the 4th decimal
  // (α by 1e-4, b by 3e-4) while its log-likelihood is at least as high. So: the parameters to 3
  // decimals (as lifetimes' test of the same numbers), the log-likelihood to the printed 2 decimals,
  // and no lower than at FHL's parameters.
  const fhl = { r: 0.2426, alpha: 4.4137, a: 0.7930, b: 2.4262 };
  check('BG/NBD r (FHL 0.2426)', bg.params.r, fhl.r, 0.0005);
  check('BG/NBD alpha (FHL 4.4137)', bg.params.alpha, fhl.alpha, 0.0005);
  check('BG/NBD a (FHL 0.7930)', bg.params.a, fhl.a, 0.0005);
  check('BG/NBD b (FHL 2.4262)', bg.params.b, fhl.b, 0.0005);
  check('BG/NBD log-likelihood (FHL −9582.43)', bg.logLikelihood, -9582.43, 0.005);
  const llFhl = bgnbdLogLikelihood(fhl, sum);
  console.log(`  BG/NBD LL at FHL's parameters ${llFhl.toFixed(5)}, at ours ${bg.logLikelihood.toFixed(5)}`);
  check('BG/NBD LL(ours) − LL(FHL parameters) ≥ 0 (our optimum is at least as good)', Math.max(0, llFhl - bg.logLikelihood), 0, 1e-9);

  const t1 = performance.now();
  const pn = fitParetoNbd(sum, { seed: 1 });
  const tPn = performance.now() - t1;
  console.log(`  Pareto/NBD fit in ${tPn.toFixed(0)} ms: r ${pn.params.r.toFixed(5)}, α ${pn.params.alpha.toFixed(4)}, s ${pn.params.s.toFixed(5)}, β ${pn.params.beta.toFixed(4)}, LL ${pn.logLikelihood.toFixed(4)}; ${pn.convergence.message}`);
  check('Pareto/NBD converged', pn.convergence.converged ? 1 : 0, 1);
  check('Pareto/NBD r (0.553)', pn.params.r, 0.553, 0.0005);
  check('Pareto/NBD alpha (10.578)', pn.params.alpha, 10.578, 0.0005);
  check('Pareto/NBD s (0.606)', pn.params.s, 0.606, 0.0005);
  check('Pareto/NBD beta (11.669, weakly identified: ± 0.02)', pn.params.beta, 11.669, 0.02);
  check('Pareto/NBD log-likelihood (−9594.98)', pn.logLikelihood, -9594.98, 0.005);

  const t2 = performance.now();
  const gg = fitGammaGamma(sum, { seed: 1 });
  const tGg = performance.now() - t2;
  console.log(`  Gamma-Gamma fit in ${tGg.toFixed(0)} ms on ${gg.customers} repeat customers: p ${gg.params.p.toFixed(5)}, q ${gg.params.q.toFixed(5)}, γ ${gg.params.gamma.toFixed(5)}, LL ${gg.logLikelihood.toFixed(4)}; corr(x, m) ${gg.frequencyMonetaryCorrelation.toFixed(3)}`);
  check('Gamma-Gamma customers with x > 0', gg.customers, 946);
  // REFERENCES: p = 6.25, q = 3.74, γ = 15.44 (2 decimals) on the raw data, whose LL CLVTools gives
  // as −4055.9177; the 4-decimal MLE 6.2488 / 3.7446 / 15.4477 is that of lifetimes' summary file,
  // whose mean values are rounded to cents: checked on that file below.
  check('Gamma-Gamma p (6.25)', gg.params.p, 6.25, 0.005);
  check('Gamma-Gamma q (3.74)', gg.params.q, 3.74, 0.005);
  check('Gamma-Gamma gamma (15.44)', gg.params.gamma, 15.44, 0.005);
  check('Gamma-Gamma log-likelihood (−4055.92; CLVTools −4055.9177)', gg.logLikelihood, -4055.9177, 0.00005);
  check('Gamma-Gamma population mean p γ / (q − 1) (≈ 35.2)', gg.populationMean, 35.2, 0.05);
  if (existsSync(lifetimesFile)) {
    const rows = readCsv(lifetimesFile);
    const ggFile = fitGammaGamma({ x: rows.map((r) => r[1] as number), m: rows.map((r) => r[4] as number) }, { seed: 1 });
    console.log(`  Gamma-Gamma on lifetimes' rounded summary: p ${ggFile.params.p.toFixed(5)}, q ${ggFile.params.q.toFixed(5)}, γ ${ggFile.params.gamma.toFixed(5)}, LL ${ggFile.logLikelihood.toFixed(4)}`);
    check('Gamma-Gamma p on the rounded summary (6.2488)', ggFile.params.p, 6.2488, 0.00005);
    check('Gamma-Gamma q on the rounded summary (3.7446)', ggFile.params.q, 3.7446, 0.00005);
    check('Gamma-Gamma gamma on the rounded summary (15.4477)', ggFile.params.gamma, 15.4477, 0.00005);
    check('Gamma-Gamma LL on the rounded summary (−4055.92)', ggFile.logLikelihood, -4055.92, 0.005);
  }
  const spends = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
  spends.forEach((v, i) => check(`Gamma-Gamma conditional spend of customer ${ids[i]}`, gg.conditionalExpectedValue(sum.x[i] as number, sum.m[i] as number), v, 0.005));

  // 3. Published per-t and per-customer values, with the fitted models.
  const ts = [0.1429, 1, 3, 31.8571, 32, 78];
  const ex = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
  // Hardie's spreadsheet sums ~150 terms of the 2F1 series; at t = 78 (z = 0.95) that truncation
  // leaves it 3.4e-4 below the converged value, hence the wider tolerance there.
  ts.forEach((t, i) => check(`BG/NBD E[X(${t})]`, bg.expected(t), ex[i] as number, t === 78 ? 0.0005 : 0.00005));
  check('BG/NBD E[Y(39) | x = 2, t_x = 30.43, T = 38.86]', bg.conditionalExpected(39, 2, 30.43, 38.86), 1.226, 0.0005);
  check('BG/NBD customer 1516 E[Y(52)]', bg.conditionalExpected(52, 26, sum.tx[c1516] as number, 31), 25.757, 0.0005);
  check('BG/NBD customer 1516 P(alive)', bg.pAlive(26, sum.tx[c1516] as number, 31), 0.9689, 0.00005);
  // β is weakly identified (±0.02 between fitters, the log-likelihood moving by 5e-6 along that
  // ridge); refitting r, α, s with β fixed at 11.649 … 11.689 moves this value over 25.4515 … 25.4588.
  check('Pareto/NBD customer 1516 E[Y(52)] (± the β-ridge spread)', pn.conditionalExpected(52, 26, sum.tx[c1516] as number, 31), 25.456, 0.004);
  check('Pareto/NBD customer 1516 P(alive)', pn.pAlive(26, sum.tx[c1516] as number, 31), 0.9979, 0.00005);
  check('BG/NBD new customer E[X(52)]', bg.expected(52), 1.4440, 0.00005);
  check('Pareto/NBD new customer E[X(52)]', pn.expected(52), 1.4734, 0.00005);

  // 4. Holdout.
  const perWeek = repeatPurchasesByPeriod(customers, { origin, periods: 78, unitMs: WEEK_MS, periodMs: DAY_MS });
  // Read the curve at the last day of each week, the convention of T (age on 1997-09-30 = week 39's last day).
  const periodEnds = Float64Array.from({ length: 78 }, (_, k) => (7 * (k + 1) - 1) / 7);
  const firstPurchase = Float64Array.from(sum.firstPurchase, (ms) => (ms - origin) / WEEK_MS);
  const track = cumulativeTracking(bg, { firstPurchase, periodEnds, actualPerPeriod: perWeek, calibrationEnd: 39 });
  const actual78 = (track.actualCumulative as Float64Array)[77] as number;
  const expected78 = track.expectedCumulative[77] as number;
  const actual39 = (track.actualCumulative as Float64Array)[38] as number;
  console.log(`  cumulative repeat purchases: week 39 actual ${actual39}, expected ${(track.expectedCumulative[38] as number).toFixed(1)}; week 78 actual ${actual78}, expected ${expected78.toFixed(1)}; MAPE ${((track.errors?.mape ?? NaN) * 100).toFixed(2)} %, holdout MAPE ${((track.errors?.holdoutMape ?? NaN) * 100).toFixed(2)} %`);
  // Implementations read the curve at slightly different ages: aligned with T (above: a customer who
  // first bought on 1 January is 78 − 1/7 weeks old at the end of week 78), BTYD's R code (78 weeks),
  // or one day later still. FHL's ≈ 4,171 matches the last; the three differ by 10 transactions.
  for (const [name, shift] of [['BTYD R (age 78 − d/7)', 1 / 7], ['one more day', 2 / 7]] as const) {
    const alt = cumulativeTracking(bg, { firstPurchase, periodEnds: Float64Array.from(periodEnds, (t) => t + shift) });
    console.log(`  expected cumulative at week 78, ${name}: ${(alt.expectedCumulative[77] as number).toFixed(1)}`);
  }
  check('BTYD tracking: actual cumulative repeat purchases at week 39', actual39, 2457);
  check('BTYD tracking: actual cumulative repeat purchases at week 78', actual78, 4339);
  check('BTYD tracking: BG/NBD expected cumulative at week 78 (≈ 4,171; ± 11 = the spread of age conventions)', expected78, 4171, 11);
  const cond = conditionalExpectations(bg, { x: sum.x, tx: sum.tx, T: sum.T, holdoutX: sum.holdoutX as Float64Array, holdoutLength: 39 });
  console.log('  conditional expectations (holdout purchases by calibration x):');
  for (const b of cond.buckets) console.log(`    x = ${b.label.padEnd(3)} n = ${String(b.customers).padStart(4)}  actual ${b.actualMean.toFixed(3)}  BG/NBD ${b.predictedMean.toFixed(3)}`);
  console.log(`    total actual ${cond.totalActual}, predicted ${cond.totalPredicted.toFixed(1)}; MAE ${cond.mae.toFixed(3)}, RMSE ${cond.rmse.toFixed(3)}, bucket MAPE ${(cond.bucketMape * 100).toFixed(1)} %`);
  check('BTYD conditional: total actual holdout purchases', cond.totalActual, 1882);
  check('BTYD conditional: actual mean holdout purchases of x = 0 customers (334 / 1,411)', cond.buckets[0]?.actualMean ?? NaN, 334 / 1411, 1e-12);
  // The per-customer conditional forecasts must add up to what the tracking curve forecasts for the
  // holdout (expected at week 78 − expected at week 39; different formulas, same model): within 2 %.
  const trackingHoldout = expected78 - (track.expectedCumulative[38] as number);
  check(`BTYD conditional: BG/NBD holdout total vs the tracking curve's ${trackingHoldout.toFixed(1)}`, cond.totalPredicted, trackingHoldout, 0.02 * trackingHoldout);
}

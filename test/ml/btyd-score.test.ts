/**
 * Scoring (P(alive), churn, expected purchases, next order, CLV with monthly or continuous discounting)
 * and the calibration / holdout diagnostics (cumulative tracking, conditional expectations), checked
 * against the model functions directly, hand-computed sums, and a seeded simulation with a holdout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { bgnbdConditionalExpected, bgnbdModel, fitBgNbd, type BgNbdParams } from '../../src/domain/ml/bgnbd.js';
import { conditionalExpectations, cumulativeTracking } from '../../src/domain/ml/btyd-diagnostics.js';
import { discountGrid, scoreCustomers } from '../../src/domain/ml/btyd-score.js';
import { simulateBgNbd } from '../../src/domain/ml/btyd-simulate.js';
import { gammaGammaModel } from '../../src/domain/ml/gamma-gamma.js';
import { paretoNbdModel } from '../../src/domain/ml/pareto-nbd.js';
import { stream } from '../../src/domain/random.js';

const FHL: BgNbdParams = { r: 0.2426, alpha: 4.4137, a: 0.7930, b: 2.4262 };
const bg = bgnbdModel(FHL);
const gg = gammaGammaModel({ p: 6.2488, q: 3.7446, gamma: 15.4477 });
const INPUT = {
  x: [0, 2, 26, 10, 2],
  tx: [0, 30.43, 30.857, 1, 30.43],
  T: [38.86, 38.86, 31, 100, 38.86],
  m: [0, 22.35, 40, 15, 22.35],
  revenue: [29.33, 74, 1200, 180, 74],
};

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

test('discount grid: months of 365.25 / 12 days, last one partial', () => {
  const g = discountGrid(52, 7, 0.1, 'monthly');
  assert.equal(g.ends.length, 12, '52 weeks = 11.96 months → 12 steps');
  assert.ok(rel(g.ends[0] as number, 365.25 / 12 / 7) < 1e-15, 'first month ends at 4.348 weeks');
  assert.equal(g.ends[11], 52, 'the last step ends at the horizon');
  assert.ok(rel(g.weights[0] as number, Math.pow(1.1, -1 / 12)) < 1e-14, 'end of month 1 discounted by 1.1^(−1/12)');
  const c = discountGrid(52, 7, 0.1, 'continuous');
  for (let k = 0; k < 12; k++) assert.ok((c.weights[k] as number) > (g.weights[k] as number), `continuous (mid-month on average) discounts less than end-of-month, month ${k + 1}`);
  const none = discountGrid(52, 7, 0, 'monthly');
  assert.ok(none.weights.every((w) => w === 1), 'rate 0: no discount');
});

test('scores agree with the model functions; CLV by hand', () => {
  const s = scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: 7, annualDiscountRate: 0.1 });
  for (let i = 0; i < 5; i++) {
    const x = INPUT.x[i] as number;
    const tx = INPUT.tx[i] as number;
    const T = INPUT.T[i] as number;
    assert.ok(rel(s.expectedPurchases[i] as number, bgnbdConditionalExpected(FHL, 52, x, tx, T)) < 1e-12, `expected purchases, customer ${i}`);
    assert.equal(s.pAlive[i], bg.pAlive(x, tx, T), `P(alive), customer ${i}`);
    assert.ok(Math.abs((s.churn[i] as number) - (1 - (s.pAlive[i] as number))) < 1e-15, `churn = 1 − P(alive), customer ${i}`);
    assert.equal(s.expectedOrderValue?.[i], gg.conditionalExpectedValue(x, INPUT.m[i] as number), `order value, customer ${i}`);
    // CLV by hand: month-by-month increments of E[Y(t)], discounted at each month's end.
    const month = 365.25 / 12 / 7;
    let clv = 0;
    let prev = 0;
    for (let k = 1; k <= 12; k++) {
      const t = Math.min(k * month, 52);
      const e = bgnbdConditionalExpected(FHL, t, x, tx, T);
      clv += (e - prev) * Math.pow(1.1, -(t * 7) / 365.25);
      prev = e;
    }
    clv *= gg.conditionalExpectedValue(x, INPUT.m[i] as number);
    assert.ok(rel(s.clv?.[i] as number, clv) < 1e-12, `CLV customer ${i}: ${s.clv?.[i]} vs ${clv}`);
    assert.equal(s.historicClv?.[i], INPUT.revenue[i], `historic CLV, customer ${i}`);
  }
  assert.equal(s.expectedPurchases[1], s.expectedPurchases[4], 'identical profiles, identical scores');
  // Customer 3 (10 purchases, the last 99 weeks ago) is almost surely gone: no next order expected.
  assert.ok((s.pAlive[3] as number) < 0.01, `customer 3 P(alive) ${s.pAlive[3]}`);
  assert.equal(s.expectedNextOrder[3], Infinity, 'no next order expected below P(alive) 0.5');
  assert.ok(Number.isFinite(s.nextPurchaseIfAlive[3] as number), 'the if-alive median is still reported');
  assert.equal(s.expectedNextOrder[2], s.nextPurchaseIfAlive[2], 'customer 1516-like: next order = median gap if alive');
  assert.ok((s.expectedNextOrder[2] as number) < 2, `a heavy buyer's next order within 2 weeks: ${s.expectedNextOrder[2]}`);
});

test('discounting: undiscounted CLV = value × expected purchases; continuous between', () => {
  const none = scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: 7, annualDiscountRate: 0 });
  const monthly = scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: 7, annualDiscountRate: 0.1 });
  const cont = scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: 7, annualDiscountRate: 0.1, discounting: 'continuous' });
  for (let i = 0; i < 5; i++) {
    const v = (none.expectedOrderValue?.[i] as number) * (none.expectedPurchases[i] as number);
    assert.ok(rel(none.clv?.[i] as number, v) < 1e-12, `no discount: value × purchases, customer ${i}`);
    assert.ok((monthly.clv?.[i] as number) < (cont.clv?.[i] as number) && (cont.clv?.[i] as number) < (none.clv?.[i] as number), `monthly < continuous < undiscounted, customer ${i}`);
  }
  const dflt = scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: 7 });
  assert.deepEqual(dflt.clv, monthly.clv, 'the default is 10 % a year, discounted monthly');
});

test('Pareto/NBD scores, without a spend model', () => {
  const pn = paretoNbdModel({ r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 });
  const s = scoreCustomers(pn, INPUT, null, { horizon: 52, unitDays: 7 });
  assert.equal(s.clv, undefined, 'no spend model, no CLV');
  assert.ok(rel(s.expectedPurchases[2] as number, 25.457281659934512) < 1e-12, `customer 1516 (Pareto/NBD): ${s.expectedPurchases[2]}`);
  assert.ok(rel(s.pAlive[2] as number, 0.99787203492776162) < 1e-14, 'customer 1516 P(alive)');
});

test('scoring input errors', () => {
  assert.throws(() => scoreCustomers(bg, { x: INPUT.x, tx: INPUT.tx, T: INPUT.T }, gg, { horizon: 52, unitDays: 7 }), InputError, 'spend model without m');
  assert.throws(() => scoreCustomers(bg, INPUT, gg, { horizon: 0, unitDays: 7 }), InputError, 'horizon 0');
  assert.throws(() => scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: -7 }), InputError, 'negative unit');
  assert.throws(() => scoreCustomers(bg, INPUT, gg, { horizon: 52, unitDays: 7, annualDiscountRate: -0.1 }), InputError, 'negative rate');
  assert.throws(() => scoreCustomers(bg, { ...INPUT, m: [0, 0, 40, 15, 22.35] }, gg, { horizon: 52, unitDays: 7 }), InputError, 'x ≥ 1 with m = 0');
});

test('cumulative tracking by hand', () => {
  const tr = cumulativeTracking(bg, { firstPurchase: [0, 2, 2], periodEnds: [1, 2, 3, 4], actualPerPeriod: [0, 1, 0, 3], calibrationEnd: 2 });
  const E = (t: number) => bg.expected(t);
  const expected = [E(1), E(2), E(3) + 2 * E(1), E(4) + 2 * E(2)];
  const actual = [0, 1, 1, 4];
  expected.forEach((v, k) => assert.ok(rel(tr.expectedCumulative[k] as number, v) < 1e-14, `period ${k + 1}: ${tr.expectedCumulative[k]} vs ${v}`));
  assert.ok(rel(tr.expectedPerPeriod[2] as number, E(3) + 2 * E(1) - E(2)) < 1e-14, 'per-period increments');
  assert.deepEqual(Array.from(tr.actualCumulative ?? []), actual, 'actual cumulative');
  const ape = [1, 2, 3].map((k) => Math.abs((expected[k] as number) - (actual[k] as number)) / (actual[k] as number));
  const [ape1, ape2, ape3] = ape as [number, number, number];
  assert.ok(Math.abs((tr.errors?.mape as number) - (ape1 + ape2 + ape3) / 3) < 1e-14, 'MAPE over periods with actual > 0');
  assert.ok(Math.abs((tr.errors?.holdoutMape as number) - (ape2 + ape3) / 2) < 1e-14, 'holdout MAPE: periods after t = 2');
  assert.ok(Math.abs((tr.errors?.endError as number) - (E(4) + 2 * E(2) - 4)) < 1e-14, 'end error');
  assert.throws(() => cumulativeTracking(bg, { firstPurchase: [0], periodEnds: [2, 1] }), InputError, 'decreasing periods');
});

test('holdout diagnostics on a seeded simulation: the fitted model forecasts the holdout', () => {
  const truth: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const rng = stream(31, 'ages');
  const T = Float64Array.from({ length: 20_000 }, () => 26 + rng() * 13);
  const sim = simulateBgNbd(truth, { seed: 31, T, holdout: 39 });
  const fit = fitBgNbd(sim, { seed: 1 });
  const ce = conditionalExpectations(fit, { x: sim.x, tx: sim.tx, T: sim.T, holdoutX: sim.holdoutX, holdoutLength: 39 });
  assert.ok(Math.abs(ce.totalPredicted - ce.totalActual) / ce.totalActual < 0.03, `holdout total: predicted ${ce.totalPredicted.toFixed(0)}, actual ${ce.totalActual}`);
  assert.equal(ce.buckets.length, 8, 'buckets 0 … 6 and 7+');
  assert.equal(ce.buckets.reduce((s, b) => s + b.customers, 0), 20_000, 'every customer in one bucket');
  // Each bucket's actual mean is itself noisy (heavy buyers dominate it): allow 4 of its standard errors
  // plus 5 % for the error of the fitted parameters. (With the true parameters and 200,000 customers
  // every bucket agrees to ~1 %.)
  for (const b of ce.buckets) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < sim.n; i++) {
      if (Math.min(sim.x[i] as number, 7) !== b.from) continue;
      const y = sim.holdoutX[i] as number;
      s1 += y;
      s2 += y * y;
    }
    const sd = Math.sqrt(s2 / b.customers - (s1 / b.customers) ** 2);
    const se = sd / Math.sqrt(b.customers);
    assert.ok(Math.abs(b.predictedMean - b.actualMean) < 4 * se + 0.05 * b.actualMean, `x = ${b.label} (${b.customers} customers): predicted ${b.predictedMean.toFixed(3)}, actual ${b.actualMean.toFixed(3)} ± ${se.toFixed(3)}`);
  }
  assert.ok(ce.mae > 0 && ce.rmse >= ce.mae, `MAE ${ce.mae}, RMSE ${ce.rmse}`);
  // The per-customer forecasts add up to what the tracking curve predicts for the holdout.
  const first = Float64Array.from(sim.T, (t) => 39 - t);
  const tr = cumulativeTracking(fit, { firstPurchase: first, periodEnds: [39, 78] });
  const trackingHoldout = (tr.expectedCumulative[1] as number) - (tr.expectedCumulative[0] as number);
  assert.ok(Math.abs(trackingHoldout - ce.totalPredicted) / ce.totalPredicted < 0.03, `tracking ${trackingHoldout.toFixed(0)} vs conditional ${ce.totalPredicted.toFixed(0)}`);
  const per = conditionalExpectations(fit, { x: sim.x, tx: sim.tx, T: sim.T, holdoutX: sim.holdoutX, holdoutLength: new Float64Array(20_000).fill(39) });
  assert.equal(per.totalPredicted, ce.totalPredicted, 'per-customer holdout lengths give the same result');
  assert.throws(() => conditionalExpectations(fit, { x: sim.x, tx: sim.tx, T: sim.T, holdoutX: [1], holdoutLength: 39 }), InputError, 'holdout length mismatch');
});

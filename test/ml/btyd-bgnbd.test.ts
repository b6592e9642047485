/**
 * BG/NBD: the published CDNOW numbers of Fader, Hardie & Lee (2005) with their parameters
 * (REFERENCES.md), high-precision values (mpmath, 30 digits) of the same expressions, a likelihood
 * computed by hand, the analytic gradient, recovery of known parameters from seeded simulations, the
 * penalizer, determinism and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import {
  bgnbdConditionalExpected, bgnbdExpected, bgnbdLogLikelihood, bgnbdModel, bgnbdPAlive, bgnbdProbPurchaseWithin,
  bgnbdRowLogLikelihood, fitBgNbd, type BgNbdParams,
} from '../../src/domain/ml/bgnbd.js';
import { simulateBgNbd } from '../../src/domain/ml/btyd-simulate.js';
import { stream } from '../../src/domain/random.js';

/** FHL 2005's estimates on CDNOW, printed to 4 decimals. */
const FHL: BgNbdParams = { r: 0.2426, alpha: 4.4137, a: 0.7930, b: 2.4262 };

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

/**
 * The range of f over the corners of the box of parameters that round to the published ones (each ±
 * half a unit of the printed digit). A value printed from the full-precision estimates can only be
 * reproduced from the rounded ones up to this range.
 */
function roundingBox<P extends object>(p: P, half: number, f: (q: P) => number): [number, number] {
  const keys = Object.keys(p) as Array<keyof P>;
  let lo = Infinity;
  let hi = -Infinity;
  for (let mask = 0; mask < 1 << keys.length; mask++) {
    const q = { ...p };
    keys.forEach((k, i) => {
      (q[k] as number) = (p[k] as number) + ((mask >> i) & 1 ? half : -half);
    });
    const v = f(q);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

function reproduces(printed: number, digits: number, range: [number, number], what: string): void {
  const half = 0.5 * 10 ** -digits;
  assert.ok(printed >= range[0] - half && printed <= range[1] + half, `${what}: published ${printed} outside [${range[0]}, ${range[1]}] ± ${half}`);
}

test('E[X(t)] of a new customer: published values (t = 0.1429 … 78) and mpmath', () => {
  const ts = [0.1429, 1, 3, 31.8571, 32, 78];
  const published = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576];
  // mpmath: (a+b−1)/(a−1) [1 − (α/(α+t))^r 2F1(r, b; a+b−1; t/(α+t))] at FHL's parameters.
  const exact = [0.0078160046804418632, 0.053184366246287572, 0.15063124621433955, 1.0404901842651716, 1.0437330624607905, 1.8579455174652957];
  ts.forEach((t, i) => {
    const v = bgnbdExpected(FHL, t);
    assert.ok(rel(v, exact[i] as number) < 1e-12, `E[X(${t})] = ${v}, mpmath ${exact[i]}`);
    reproduces(published[i] as number, 4, roundingBox(FHL, 0.00005, (q) => bgnbdExpected(q, t)), `E[X(${t})]`);
  });
  // At t = 78 the printed 1.8576 is 3.4e-4 below the converged value: Hardie's spreadsheet sums the
  // 2F1 series to ~150 terms. Summing the untransformed series directly shows both.
  const { r, alpha, a, b } = FHL;
  const t = 78;
  const z = t / (alpha + t);
  const partial = (terms: number): number => {
    let term = 1;
    let sum = 1;
    for (let n = 0; n < terms - 1; n++) {
      term *= (((r + n) * (b + n)) / ((a + b - 1 + n) * (n + 1))) * z;
      sum += term;
    }
    return ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * sum);
  };
  assert.equal(partial(150).toFixed(4), '1.8576', 'the published value is the 150-term partial sum');
  assert.ok(rel(partial(3000), bgnbdExpected(FHL, 78)) < 1e-12, 'the full series agrees with the Euler-transformed evaluation');
});

test('conditional expectation, customer 1516 and a new customer over 52 weeks: published and mpmath', () => {
  const c = bgnbdConditionalExpected(FHL, 39, 2, 30.43, 38.86);
  assert.ok(rel(c, 1.2258954857111505) < 1e-12, `E[Y(39) | 2, 30.43, 38.86] = ${c}`);
  reproduces(1.226, 3, roundingBox(FHL, 0.00005, (q) => bgnbdConditionalExpected(q, 39, 2, 30.43, 38.86)), 'E[Y(39) | 2, 30.43, 38.86]');
  const e1516 = bgnbdConditionalExpected(FHL, 52, 26, 30.857, 31);
  const a1516 = bgnbdPAlive(FHL, 26, 30.857, 31);
  assert.ok(rel(e1516, 25.756331127122756) < 1e-12, `customer 1516 E[Y(52)] = ${e1516}`);
  assert.ok(rel(a1516, 0.96884859675195631) < 1e-14, `customer 1516 P(alive) = ${a1516}`);
  reproduces(25.757, 3, roundingBox(FHL, 0.00005, (q) => bgnbdConditionalExpected(q, 52, 26, 30.857, 31)), 'customer 1516 E[Y(52)]');
  reproduces(0.9689, 4, roundingBox(FHL, 0.00005, (q) => bgnbdPAlive(q, 26, 30.857, 31)), 'customer 1516 P(alive)');
  const n52 = bgnbdExpected(FHL, 52);
  assert.ok(rel(n52, 1.4440086224530928) < 1e-12, `new customer E[X(52)] = ${n52}`);
  reproduces(1.444, 4, roundingBox(FHL, 0.00005, (q) => bgnbdExpected(q, 52)), 'new customer E[X(52)]');
});

test('log-likelihood by hand: r = α = a = b = 1', () => {
  const one: BgNbdParams = { r: 1, alpha: 1, a: 1, b: 1 };
  // x = 0, T = 1: B(1,1)/B(1,1) · Γ(1)·1/(Γ(1)·2) = 1/2.
  assert.ok(Math.abs(bgnbdRowLogLikelihood(one, 0, 0, 1) + Math.LN2) < 1e-15, 'x = 0, T = 1 → ln 1/2');
  // x = 1, t_x = 1, T = 2: B(1,2)/B(1,1) · 1/3² + B(2,1)/B(1,1) · 1/2² = 1/18 + 1/8 = 13/72.
  assert.ok(Math.abs(bgnbdRowLogLikelihood(one, 1, 1, 2) - Math.log(13 / 72)) < 1e-15, 'x = 1, t_x = 1, T = 2 → ln 13/72');
  const total = bgnbdLogLikelihood(one, { x: [0, 1, 1], tx: [0, 1, 1], T: [1, 2, 2] });
  assert.ok(Math.abs(total - (-Math.LN2 + 2 * Math.log(13 / 72))) < 1e-14, `sum over customers (duplicates merged): ${total}`);
  const weighted = bgnbdLogLikelihood(one, { x: [0, 1], tx: [0, 1], T: [1, 2], weights: [1, 2] });
  assert.ok(Math.abs(weighted - total) < 1e-14, 'a weight of 2 counts a row twice');
});

test('the vectorised log-likelihood and its analytic gradient agree with per-row sums and finite differences', () => {
  const sim = simulateBgNbd(FHL, { seed: 5, T: Float64Array.from({ length: 300 }, (_, i) => 1 + (i % 40)) });
  let rows = 0;
  for (let i = 0; i < sim.n; i++) rows += bgnbdRowLogLikelihood(FHL, sim.x[i] as number, sim.tx[i] as number, sim.T[i] as number);
  const g = new Float64Array(4);
  const ll = bgnbdLogLikelihood(FHL, sim, g);
  assert.ok(rel(ll, rows) < 1e-13, `vectorised ${ll} vs rows ${rows}`);
  const keys = ['r', 'alpha', 'a', 'b'] as const;
  keys.forEach((k, j) => {
    const h = 1e-6 * FHL[k];
    const fd = (bgnbdLogLikelihood({ ...FHL, [k]: FHL[k] + h }, sim) - bgnbdLogLikelihood({ ...FHL, [k]: FHL[k] - h }, sim)) / (2 * h);
    assert.ok(Math.abs((g[j] as number) - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `∂LL/∂${k}: analytic ${g[j]}, finite difference ${fd}`);
  });
});

test('properties: P(alive), expectations, a = 1', () => {
  assert.equal(bgnbdPAlive(FHL, 0, 0, 30), 1, 'BG/NBD: a customer with no repeat purchase has not had a chance to drop out');
  assert.ok(bgnbdPAlive(FHL, 5, 30, 30) > bgnbdPAlive(FHL, 5, 20, 30) && bgnbdPAlive(FHL, 5, 20, 30) > bgnbdPAlive(FHL, 5, 5, 30), 'P(alive) falls as the last purchase recedes');
  let prev = 0;
  for (const t of [1, 5, 20, 100, 1000]) {
    const e = bgnbdConditionalExpected(FHL, t, 4, 20, 30);
    assert.ok(e > prev, `E[Y(t)] increases with t (t = ${t})`);
    prev = e;
    assert.ok(bgnbdProbPurchaseWithin(FHL, t, 4, 20, 30) <= bgnbdPAlive(FHL, 4, 20, 30), 'P(purchase within t) ≤ P(alive)');
  }
  const m = bgnbdModel(FHL);
  assert.ok(rel(m.conditionalExpected(10, 3, 12, 30), m.expectedIfAlive(10, 3, 30) * m.pAlive(3, 12, 30)) < 1e-14, 'conditional = if-alive × P(alive)');
  assert.ok(rel(m.medianTimeToNextPurchase(3, 30), (FHL.alpha + 30) * (Math.pow(2, 1 / (FHL.r + 3)) - 1)) < 1e-14, 'median next purchase given alive');
  // a = 1 is a removable singularity of (a + b + x − 1)/(a − 1) [ … ].
  const at1 = bgnbdConditionalExpected({ ...FHL, a: 1 }, 20, 3, 10, 30);
  const near = bgnbdConditionalExpected({ ...FHL, a: 1 + 1e-4 }, 20, 3, 10, 30);
  assert.ok(Number.isFinite(at1) && rel(at1, near) < 1e-3, `finite and continuous at a = 1: ${at1} vs ${near}`);
  // Long horizons and heavy buyers: the untransformed 2F1 would overflow here.
  const heavy = bgnbdConditionalExpected(FHL, 5000, 400, 99, 100);
  assert.ok(Number.isFinite(heavy) && heavy > 0, `x = 400 over 5,000 weeks is finite: ${heavy}`);
});

function uniformAges(n: number, seed: number, max: number): Float64Array {
  const rng = stream(seed, 'ages');
  return Float64Array.from({ length: n }, () => 1 + rng() * (max - 1));
}

test('recovers known parameters from 20,000 simulated customers (within 3 standard errors)', () => {
  const truth: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  const sim = simulateBgNbd(truth, { seed: 11, T: uniformAges(20_000, 11, 52) });
  const fit = fitBgNbd(sim, { seed: 1 });
  assert.ok(fit.convergence.converged, fit.convergence.message);
  assert.ok(fit.standardErrors, 'standard errors are available');
  for (const k of ['r', 'alpha', 'a', 'b'] as const) {
    const se = (fit.standardErrors as BgNbdParams)[k];
    // |estimate − truth| < 3 SE holds with probability 99.7 % per parameter for an asymptotically normal
    // MLE; the SE must also be small enough for the check to mean something.
    assert.ok(Math.abs(fit.params[k] - truth[k]) < 3 * se, `${k}: ${fit.params[k]} vs ${truth[k]} (SE ${se})`);
    assert.ok(se < 0.2 * truth[k], `${k}: SE ${se} is informative`);
  }
  // P(alive) is calibrated: its mean matches the share of simulated customers still alive.
  let pa = 0;
  let alive = 0;
  for (let i = 0; i < sim.n; i++) {
    pa += fit.pAlive(sim.x[i] as number, sim.tx[i] as number, sim.T[i] as number);
    alive += sim.aliveAtT[i] as number;
  }
  assert.ok(Math.abs(pa - alive) / sim.n < 0.01, `mean P(alive) ${pa / sim.n} vs actual alive share ${alive / sim.n}`);
});

test('recovers parameters from day-grid times (compressed rows) as well', () => {
  const truth: BgNbdParams = { r: 0.5, alpha: 8, a: 1.5, b: 4 };
  const rng = stream(4, 'ages');
  const T = Float64Array.from({ length: 20_000 }, () => Math.ceil(rng() * 365) / 7);
  const sim = simulateBgNbd(truth, { seed: 4, T, grid: 1 / 7 });
  const fit = fitBgNbd(sim);
  for (const k of ['r', 'alpha', 'a', 'b'] as const) {
    const se = (fit.standardErrors as BgNbdParams)[k];
    assert.ok(Math.abs(fit.params[k] - truth[k]) < 3 * se, `${k}: ${fit.params[k]} vs ${truth[k]} (SE ${se})`);
  }
});

test('same seed, same fit; the penalizer shrinks the parameters', () => {
  const sim = simulateBgNbd(FHL, { seed: 2, T: uniformAges(3000, 2, 40) });
  const a = fitBgNbd(sim, { seed: 9 });
  const b = fitBgNbd(sim, { seed: 9 });
  assert.deepEqual(a.params, b.params, 'identical parameters');
  assert.equal(a.logLikelihood, b.logLikelihood, 'identical log-likelihood');
  assert.equal(fitBgNbd(sim, { penalizer: 0 }).params.b, a.params.b, 'penalizer 0 is the default');
  const pen = fitBgNbd(sim, { penalizer: 0.01 });
  const norm = (p: BgNbdParams) => p.r ** 2 + p.alpha ** 2 + p.a ** 2 + p.b ** 2;
  assert.ok(norm(pen.params) < norm(a.params), `Σ p² shrinks: ${norm(pen.params)} < ${norm(a.params)}`);
  assert.ok(pen.logLikelihood < a.logLikelihood, 'and the likelihood can only get worse');
  let calls = 0;
  fitBgNbd(sim, { progress: () => { calls++; } });
  assert.ok(calls > 3, `progress is reported per iteration (${calls} calls)`);
});

test('bad input is an InputError', () => {
  const bad = (s: { x: number[]; tx: number[]; T: number[] }, why: RegExp) =>
    assert.throws(() => fitBgNbd(s), (e: unknown) => e instanceof InputError && why.test(e.message), `InputError matching ${why}`);
  bad({ x: [-1, 2], tx: [0, 1], T: [2, 3] }, /non-negative integer/);
  bad({ x: [1.5, 2], tx: [1, 1], T: [2, 3] }, /non-negative integer/);
  bad({ x: [1, 2], tx: [3, 1], T: [2, 3] }, /t_x = 3 must lie in \[0, T = 2\]/);
  bad({ x: [0, 2], tx: [1, 1], T: [2, 3] }, /x = 0 but t_x = 1/);
  bad({ x: [1, 2], tx: [1, 1], T: [NaN, 3] }, /T = NaN/);
  bad({ x: [1, 2], tx: [1], T: [2, 3] }, /same length/);
  bad({ x: new Array(12).fill(0), tx: new Array(12).fill(0), T: new Array(12).fill(3) }, /no customer has a repeat purchase/);
  bad({ x: [], tx: [], T: [] }, /0 customers; at least 10/);
  bad({ x: [1, 0, 3], tx: [2, 0, 5], T: [10, 4, 6] }, /3 customers; at least 10/);
  assert.throws(() => fitBgNbd({ x: [1], tx: [1], T: [2] }, { penalizer: -1 }), (e: unknown) => e instanceof InputError && /penalizer/.test(e.message), 'negative penalizer');
  assert.throws(() => bgnbdModel({ ...FHL, a: 0 }), InputError, 'a = 0 is not a parameter');
  assert.throws(() => bgnbdExpected(FHL, -1), InputError, 'negative horizon');
});

/**
 * The boundary of the buy-till-you-die models (segmenta issue 5): when customers do not differ in their
 * dropout probability (BG/NBD), dropout rate (Pareto/NBD) or typical order value (Gamma-Gamma), the
 * maximum likelihood lies at infinite a + b (s, q) with a fixed ratio. Scoring used to overflow there.
 * Checked here: the numerics for large parameters against mpmath (50 digits); the exact limiting models
 * against the general formulas as the parameters grow (with the rate the theory gives); and fits on
 * simulated customers who really do share one value, which must report the boundary, return finite
 * parameters and score sensibly against what the simulated customers did next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bgnbdConditionalExpected, bgnbdExpected, bgnbdExpectedIfAlive, bgnbdLimitConditionalExpected, bgnbdLimitExpected,
  bgnbdLimitExpectedIfAlive, bgnbdLimitLogLikelihood, bgnbdLimitPAlive, bgnbdLimitRowLogLikelihood, bgnbdLogLikelihood,
  bgnbdModel, bgnbdPAlive, bgnbdProbPurchaseWithin, bgnbdRowLogLikelihood, BOUNDARY_CONCENTRATION, fitBgNbd, type BgNbdParams,
} from '../../src/domain/ml/bgnbd.js';
import { BOUNDARY_LR_CRITICAL } from '../../src/domain/ml/btyd-data.js';
import { scoreCustomers } from '../../src/domain/ml/btyd-score.js';
import { simulateBgNbd, simulateGammaGamma, simulateParetoNbd } from '../../src/domain/ml/btyd-simulate.js';
import {
  fitGammaGamma, gammaGammaLimitLogLikelihood, gammaGammaLimitRowLogLikelihood, gammaGammaLogLikelihood, gammaGammaRowLogLikelihood,
  type GammaGammaParams,
} from '../../src/domain/ml/gamma-gamma.js';
import {
  fitParetoNbd, paretoNbdExpectedIfAlive, paretoNbdLimitExpectedIfAlive, paretoNbdLimitLogLikelihood, paretoNbdLimitPAlive,
  paretoNbdLnK, paretoNbdLogLikelihood, paretoNbdPAlive, paretoNbdRowLogLikelihood, type ParetoNbdParams,
} from '../../src/domain/ml/pareto-nbd.js';
import { digammaDiff, hyp2f1, hyp2f1PeakIndex, lgammaDiff, lnHyp2f1Positive } from '../../src/domain/ml/special.js';
import { stream } from '../../src/domain/random.js';

function rel(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

/** Ages on a day grid over a year, in weeks (as real first-purchase dates give). */
function dayGridAges(n: number, seed: number): Float64Array {
  const rng = stream(seed, 'ages');
  return Float64Array.from({ length: n }, () => Math.ceil(rng() * 365) / 7);
}

/** The BG/NBD parameters the issue-5 fit stopped at, where scoring threw "2F1(…) overflowed". */
const ISSUE5: BgNbdParams = { r: 0.9647141269354714, alpha: 20.802909330644106, a: 673083.6660601007, b: 6185232.271882918 };

test('special functions for large arguments: Γ and ψ differences, ln 2F1 of positive series (mpmath, 50 digits)', () => {
  // ln Γ(y + x) − ln Γ(y): the plain difference of two ~1.5e8 numbers is off by ~1e-8 here.
  assert.ok(rel(lgammaDiff(1e7, 3), 48.354287252874934364) < 1e-15, `lnΓ(1e7 + 3) − lnΓ(1e7) = ${lgammaDiff(1e7, 3)}`);
  assert.ok(rel(lgammaDiff(6858313.973228891, 12.5), 196.7621628924352285) < 1e-15, 'lnΓ difference at the issue-5 a + b');
  assert.ok(rel(lgammaDiff(1e12, 40), 1105.2408446379219283) < 1e-15, 'lnΓ difference at 1e12');
  assert.ok(rel(lgammaDiff(12.5, 7.25), 19.864514778671318857) < 1e-14, 'lnΓ difference at small y (plain branch)');
  assert.ok(rel(digammaDiff(1e7, 3), 2.99999970000005e-7) < 1e-14, `ψ(1e7 + 3) − ψ(1e7) = ${digammaDiff(1e7, 3)}`);
  assert.ok(rel(digammaDiff(6858313.973228891, 12.5), 1.8226038599026480291e-6) < 1e-14, 'ψ difference at the issue-5 a + b');
  assert.ok(rel(digammaDiff(1e12, 40), 3.999999999922e-11) < 1e-13, 'ψ difference at 1e12');
  assert.ok(rel(digammaDiff(12.5, 7.25), 0.47242779810395162384) < 1e-14, 'ψ difference at small y');
  // The series that overflowed in issue 5, and where its logarithm is needed.
  const [a, b, c, z] = [6858313.973228891, 673082.6660601007, 6858314.937943018, 0.03988884964724281];
  assert.throws(() => hyp2f1(a, b, c, z), /overflowed/, 'the plain 2F1 overflows: its value is e^27399');
  assert.ok(rel(lnHyp2f1Positive(a, b, c, z), 27398.64689143703142) < 1e-14, 'ln 2F1 of the issue-5 arguments');
  assert.ok(rel(lnHyp2f1Positive(501, 9.3e7, 1e8, 0.7), 527.39469107998861947) < 1e-14, 'ln 2F1 with a large second parameter');
  // A sum within 2e-5 of 1: the logarithm must keep its relative precision (log1p, not log).
  assert.ok(rel(lnHyp2f1Positive(2.7, 1e-4, 6.0001, 0.38461538461538464), 1.939305097719544362e-5) < 1e-14, 'ln 2F1 close to 0');
  assert.equal(lnHyp2f1Positive(2, 3, 4, 0), 0, 'z = 0');
  assert.ok(Math.abs(lnHyp2f1Positive(3, 4, 5, 0.5) - Math.log(hyp2f1(3, 4, 5, 0.5))) < 1e-15, 'agrees with hyp2f1 where that works');
  assert.throws(() => lnHyp2f1Positive(-1, 2, 3, 0.5), /a, b, c > 0/, 'needs positive parameters');
  // Peak of the terms: 2F1(n, b; b; z) = (1 − z)^−n, negative-binomial terms with mode ≈ (n − 1) z / (1 − z).
  const peak = hyp2f1PeakIndex(101, 1e9, 1e9, 0.5);
  assert.ok(Math.abs(peak - 100) < 1.01, `peak index ${peak} ≈ 100`);
});

test('BG/NBD scoring at the issue-5 parameters and at large r, α is finite and matches mpmath', () => {
  // mpmath, two ways that agree to 20 digits: the closed form with hyp2f1 at 50 digits, and
  // ∫ (1 − ((α+T)/(α+T+pt))^(r+x)) / p · Beta(p; a, b + x) dp (E[Y | alive] averaged over the posterior of p).
  const cases: Array<[BgNbdParams, number, number, number, number]> = [
    [ISSUE5, 52, 12, 30, 7.2437500551868615824],
    [ISSUE5, 52, 0, 1, 1.8711335983394648149],
    [{ r: 1e6, alpha: 1e7, a: 2, b: 5 }, 52, 3, 40, 3.3810616271989204235],
    [{ r: 1e6, alpha: 1e7, a: 0.8, b: 5 }, 52, 3, 40, 4.2635814080034601175],
    [{ r: 0.5, alpha: 0.1, a: 50, b: 2 }, 5000, 2, 3, 1.0816326403971624107],
    // a < 1: the path through hyp2f1 kept from before (CDNOW's), good to ~1e-13 here.
    [{ r: 2, alpha: 3, a: 0.001, b: 1000 }, 52, 5, 40, 8.465075681493382946135103],
  ];
  for (const [p, t, x, T, ref] of cases) {
    const v = bgnbdExpectedIfAlive(p, t, x, T);
    assert.ok(rel(v, ref) < 1e-13, `E[Y(${t}) | alive, x = ${x}, T = ${T}] at ${JSON.stringify(p)}: ${v} vs mpmath ${ref}`);
  }
  // Every per-customer quantity, over a spread of histories, at the exact parameters of the issue.
  const m = bgnbdModel(ISSUE5);
  for (const x of [0, 1, 3, 12, 60, 300]) {
    for (const T of [0.5, 10, 52, 104]) {
      const tx = x === 0 ? 0 : T * 0.6;
      for (const t of [1, 13, 52, 520]) {
        const vals = [m.conditionalExpected(t, x, tx, T), m.expectedIfAlive(t, x, T), m.pAlive(x, tx, T), m.probPurchaseWithin(t, x, tx, T), m.expected(t)];
        assert.ok(vals.every((v) => Number.isFinite(v) && v >= 0), `finite at x = ${x}, T = ${T}, t = ${t}: ${vals.join(', ')}`);
        assert.ok(vals[3] as number <= (vals[2] as number) + 1e-15, 'P(purchase within t) ≤ P(alive)');
      }
    }
  }
  // Heavy buyer, long horizon, large r and α: still finite and increasing in t.
  let prev = 0;
  for (const t of [1, 10, 100, 1000]) {
    const e = bgnbdConditionalExpected({ r: 5e5, alpha: 2e6, a: 3e4, b: 2e5 }, t, 400, 99, 100);
    assert.ok(Number.isFinite(e) && e > prev, `large r, α, a, b: E[Y(${t})] = ${e} increases`);
    prev = e;
  }
  // The old path's removable singularity at a = 1 is kept continuous.
  const at1 = bgnbdExpectedIfAlive({ r: 0.3, alpha: 2, a: 1, b: 3 }, 20, 3, 30);
  const near = bgnbdExpectedIfAlive({ r: 0.3, alpha: 2, a: 1.0001, b: 3 }, 20, 3, 30);
  assert.ok(rel(near, 1.749420515398164530672993) < 2e-12, `a = 1.0001 (mpmath), cancellation ~1e-16/(a − 1): ${near}`);
  assert.ok(rel(at1, near) < 1e-4, `continuous at a = 1: ${at1} vs ${near}`);
});

test('BG/NBD: the general formulas approach the point-mass limit at the rate (x + 1/p) / (a + b)', () => {
  // Given survival, p | history ~ Beta(a, b + x): its mean is a/(a+b) shifted by a relative x/(a+b+x),
  // and its variance p(1−p)/(a+b+1) enters through the curvature of g(p) = (1 − (1 + pu)^−(r+x)) / p
  // (|p g′/g| ≤ 1, |p² g″/g| ≤ 2). So |general − limit| / limit ≤ (x + (1 − p)/p) / (a + b) to first
  // order; 1.2 × (x + 1/p)/(a + b) leaves room for the second-order terms at a + b = 1e3 (x ≤ 100).
  const r = 0.9;
  const alpha = 20;
  for (const p of [0.01, 0.1, 0.5]) {
    for (const x of [0, 5, 100]) {
      for (const T of [0, 1, 40]) {
        for (const t of [1, 52, 500]) {
          const lim = bgnbdLimitExpectedIfAlive({ r, alpha, p }, t, x, T);
          const errs = [1e3, 1e4].map((K) => {
            const g = bgnbdExpectedIfAlive({ r, alpha, a: p * K, b: (1 - p) * K }, t, x, T);
            const e = rel(g, lim);
            assert.ok(e <= (1.2 * (x + 1 / p)) / K, `p = ${p}, x = ${x}, T = ${T}, t = ${t}, a + b = ${K}: relative gap ${e.toExponential(2)} > 1.2 (x + 1/p)/(a + b)`);
            return e;
          });
          // First-order convergence: ten times the concentration, a tenth of the gap.
          const ratio = (errs[0] as number) / (errs[1] as number);
          assert.ok(ratio > 8 && ratio < 12, `p = ${p}, x = ${x}, T = ${T}, t = ${t}: gap ratio ${ratio} between a + b = 1e3 and 1e4 should be ≈ 10`);
        }
      }
      // P(alive): the odds a/(b + x − 1) vs p/(1 − p) differ by a relative (x − 1)/((1 − p)(a + b) + x − 1),
      // and |Δ P| ≤ P(1 − P) |Δ log-odds| ≤ |Δ log-odds| / 4.
      for (const K of [1e3, 1e4]) {
        const ga = bgnbdPAlive({ r, alpha, a: p * K, b: (1 - p) * K }, x, 20, 40);
        const la = bgnbdLimitPAlive({ r, alpha, p }, x, 20, 40);
        assert.ok(Math.abs(ga - la) <= (0.25 * (Math.abs(x - 1) + 1e-12)) / ((1 - p) * K) + 1e-15, `P(alive) p = ${p}, x = ${x}, a + b = ${K}: ${ga} vs ${la}`);
      }
    }
    // E[X(t)], the conditional expectation and P(purchase within t) of the general model at the
    // boundary's representation a + b = 1e8 equal the limit's to ~(x + 1/p) · 1e-8 (the conditional
    // expectation also carries P(alive)'s relative gap, at most (x − 1)/((1 − p)(a + b))).
    const K = BOUNDARY_CONCENTRATION;
    const gp: BgNbdParams = { r, alpha, a: p * K, b: (1 - p) * K };
    assert.ok(rel(bgnbdExpected(gp, 52), bgnbdLimitExpected({ r, alpha, p }, 52)) < 1.2 / (p * K), `E[X(52)] at a + b = 1e8, p = ${p}`);
    const ce = rel(bgnbdConditionalExpected(gp, 52, 7, 30, 45), bgnbdLimitConditionalExpected({ r, alpha, p }, 52, 7, 30, 45));
    assert.ok(ce < (1.2 * (7 + 1 / p)) / K + 6 / ((1 - p) * K), `E[Y(52) | 7, 30, 45] at a + b = 1e8, p = ${p}: relative gap ${ce}`);
    const ppw = bgnbdProbPurchaseWithin(gp, 13, 7, 30, 45);
    const ppwGap = rel(ppw, bgnbdLimitPAlive({ r, alpha, p }, 7, 30, 45) * -Math.expm1(-(r + 7) * Math.log1p(13 / (alpha + 45))));
    assert.ok(ppwGap < 6 / ((1 - p) * K), `P(purchase within 13) at a + b = 1e8, p = ${p}: relative gap ${ppwGap} (P(alive)'s)`);
  }
  // Log-likelihood of a customer: the general one tends to the limit's like 1/(a + b) (x ≥ 2; for
  // x ≤ 1 they are equal: B(a, b + 1)/B(a, b) = b/(a + b) = 1 − p and a/(b + x − 1) = p/(1 − p) at x = 1).
  for (const [x, tx, T] of [[0, 0, 30], [1, 5, 30], [2, 9, 30], [8, 25, 30], [40, 29, 30]] as const) {
    const lim = bgnbdLimitRowLogLikelihood({ r: 0.9, alpha: 20, p: 0.1 }, x, tx, T);
    const d = [1e3, 1e4, 1e6].map((K) => Math.abs(bgnbdRowLogLikelihood({ r: 0.9, alpha: 20, a: 0.1 * K, b: 0.9 * K }, x, tx, T) - lim));
    if (x >= 2) assert.ok((d[0] as number) / (d[1] as number) > 8 && (d[0] as number) / (d[1] as number) < 12, `row LL gap falls like 1/(a + b) (x = ${x}): ${d.join(', ')}`);
    else assert.ok(Math.max(...d) < 1e-14, `row LL equal to the limit's at x = ${x}: ${d.join(', ')}`);
    // ln B(a, b+x)/B(a, b) − x ln(1−p) = Σ_{k<x} [ln(1 + k/b) − ln(1 + k/(a+b))] ≤ x²/(2(1−p)(a+b)), and the
    // odds ln(a/(b+x−1)) − ln(p/(1−p)) differ by at most (x − 1)/((1−p)(a+b)).
    const bound = (x * x / 2 + x) / (0.9 * 1e6);
    assert.ok((d[2] as number) <= bound + 1e-14, `row LL at a + b = 1e6 within ${bound} of the limit (x = ${x}): ${d[2]}`);
  }
  // The limit's likelihood by hand, r = α = 1, p = 1/2: x = 1, t_x = 1, T = 2:
  // Γ(2)/Γ(1) · (1/2) · [3^−2 + 1 · 2^−2] = 13/72; x = 0, T = 1: (1/(1+1))^1 = 1/2.
  assert.ok(Math.abs(bgnbdLimitRowLogLikelihood({ r: 1, alpha: 1, p: 0.5 }, 1, 1, 2) - Math.log(13 / 72)) < 1e-15, 'limit LL by hand, x = 1');
  assert.ok(Math.abs(bgnbdLimitRowLogLikelihood({ r: 1, alpha: 1, p: 0.5 }, 0, 0, 1) + Math.LN2) < 1e-15, 'limit LL by hand, x = 0');
});

test('BG/NBD likelihood gradients at large a, b and in the limit agree with finite differences', () => {
  const sim = simulateBgNbd({ r: 0.8, alpha: 6, a: 1.5e8, b: 8.5e8 }, { seed: 3, T: dayGridAges(400, 3), grid: 1 / 7 });
  const big: BgNbdParams = { r: 0.8, alpha: 6, a: 1.5e5, b: 8.5e5 };
  const g = new Float64Array(4);
  bgnbdLogLikelihood(big, sim, g);
  (['r', 'alpha', 'a', 'b'] as const).forEach((k, j) => {
    // Central differences in ln θ: the gradient in a and b is ~1e-5 while the log-likelihood is ~1e3.
    const h = 1e-4;
    const fd = (bgnbdLogLikelihood({ ...big, [k]: big[k] * Math.exp(h) }, sim) - bgnbdLogLikelihood({ ...big, [k]: big[k] * Math.exp(-h) }, sim)) / (2 * h);
    const an = (g[j] as number) * big[k];
    assert.ok(Math.abs(an - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `∂LL/∂ln ${k} at a + b = 1e6: analytic ${an}, finite difference ${fd}`);
  });
  const q = { r: 0.8, alpha: 6, p: 0.15 };
  const gl = new Float64Array(3);
  bgnbdLimitLogLikelihood(q, sim, gl);
  (['r', 'alpha', 'p'] as const).forEach((k, j) => {
    const h = 1e-6 * q[k];
    const fd = (bgnbdLimitLogLikelihood({ ...q, [k]: q[k] + h }, sim) - bgnbdLimitLogLikelihood({ ...q, [k]: q[k] - h }, sim)) / (2 * h);
    assert.ok(Math.abs((gl[j] as number) - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `limit ∂LL/∂${k}: analytic ${gl[j]}, finite difference ${fd}`);
  });
  let rows = 0;
  for (let i = 0; i < sim.n; i++) rows += bgnbdLimitRowLogLikelihood(q, sim.x[i] as number, sim.tx[i] as number, sim.T[i] as number);
  assert.ok(rel(bgnbdLimitLogLikelihood(q, sim), rows) < 1e-13, 'vectorised limit log-likelihood = sum of rows');
});

test('BG/NBD fit on customers who share one dropout probability: boundary reported, finite parameters, sensible scores', () => {
  // p ~ Beta(1.5e8, 8.5e8): sd 1e-5, i.e. p = 0.15 for everyone. When the truth is on the boundary the
  // maximum-likelihood estimate lands on it about half the time, otherwise inside at some finite
  // a + b: every outcome is checked for what it must satisfy.
  const truth = { r: 0.8, alpha: 6, p: 0.15 };
  const n = 10_000;
  let atLimit = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const sim = simulateBgNbd({ r: truth.r, alpha: truth.alpha, a: 1.5e8, b: 8.5e8 }, { seed, T: dayGridAges(n, seed), grid: 1 / 7, holdout: 26 });
    const m = fitBgNbd(sim, { seed });
    const p = m.params;
    assert.ok([p.r, p.alpha, p.a, p.b].every((v) => Number.isFinite(v) && v > 0), `seed ${seed}: finite parameters ${JSON.stringify(p)}`);
    const b = m.boundary;
    if (b?.returned === 'limit') {
      atLimit++;
      assert.equal(b.limit, 'dropout probability homogeneous (a + b → ∞)', 'which limit');
      assert.match(b.message, /equally likely \(\d+(\.\d+)? %\) to lapse after a purchase/, 'the message says what it means');
      assert.ok(rel(p.a + p.b, BOUNDARY_CONCENTRATION) < 1e-12 && rel(p.a / (p.a + p.b), b.limitParams['p'] as number) < 1e-12, `a + b = 1e8 stands for ∞, a/(a+b) = p: ${JSON.stringify(p)}`);
      assert.ok(b.limitLogLikelihood >= b.interiorLogLikelihood - 1e-9 * n, `the limit is at least as likely: ${b.limitLogLikelihood} vs ${b.interiorLogLikelihood}`);
      assert.ok(b.interiorParams['a'] as number + (b.interiorParams['b'] as number) > 100, 'the optimiser had walked off');
      // The likelihood at the representation a + b = 1e8 is the limit's up to ~n · 0.03 / 1e8.
      assert.ok(Math.abs(m.logLikelihood - b.limitLogLikelihood) < 1e-4, `LL at a + b = 1e8 ${m.logLikelihood} vs limit ${b.limitLogLikelihood}`);
      const se = b.limitStandardErrors as Record<string, number>;
      assert.ok(se !== null && Number.isNaN(m.standardErrors?.a) && Number.isNaN(m.standardErrors?.b), 'a and b have no standard errors; r, α, p have');
      for (const k of ['r', 'alpha', 'p'] as const) {
        const est = b.limitParams[k] as number;
        assert.ok(Math.abs(est - truth[k]) < 3 * (se[k] as number), `seed ${seed}: ${k} = ${est} vs truth ${truth[k]} (SE ${se[k]})`);
      }
    } else if (b?.returned === 'interior') {
      assert.ok(p.a + p.b >= 1e3 && b.likelihoodRatio < BOUNDARY_LR_CRITICAL, `near the boundary: a + b = ${p.a + p.b}, LR ${b.likelihoodRatio}`);
      assert.match(b.message, /not significantly more likely/, 'says the data are consistent with the limit');
    } else {
      assert.ok(p.a + p.b < 1e3 || m.convergence.converged, `no boundary: a + b = ${p.a + p.b} is an ordinary interior estimate`);
    }
    // Scores are finite and agree with what the simulated customers did next. The holdout mean has
    // standard error sd/√n; 4 of those also cover the estimation error of the parameters here.
    const sc = scoreCustomers(m, sim, null, { horizon: 26, unitDays: 7 });
    let pred = 0;
    let act = 0;
    let act2 = 0;
    let pa = 0;
    let alive = 0;
    for (let i = 0; i < n; i++) {
      const e = sc.expectedPurchases[i] as number;
      assert.ok(Number.isFinite(e) && e >= 0, `seed ${seed}: customer ${i} expected purchases ${e}`);
      pred += e;
      const h = sim.holdoutX[i] as number;
      act += h;
      act2 += h * h;
      pa += sc.pAlive[i] as number;
      alive += sim.aliveAtT[i] as number;
    }
    const se = Math.sqrt((act2 / n - (act / n) ** 2) / n);
    assert.ok(Math.abs(pred - act) / n < 4 * se, `seed ${seed}: predicted ${pred / n} vs actual ${act / n} purchases per customer over 26 weeks (SE ${se})`);
    assert.ok(Math.abs(pa - alive) / n < 0.01, `seed ${seed}: mean P(alive) ${pa / n} vs alive share ${alive / n}`);
  }
  assert.ok(atLimit >= 4, `most seeds end on the boundary (${atLimit} of 8)`);
});

test('BG/NBD: no boundary on heterogeneous data or with a penalizer', () => {
  const sim = simulateBgNbd({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, { seed: 5, T: dayGridAges(5000, 5), grid: 1 / 7 });
  const m = fitBgNbd(sim, { seed: 1 });
  assert.equal(m.boundary, null, 'CDNOW-like customers differ in their dropout probability: an interior fit');
  const hom = simulateBgNbd({ r: 0.8, alpha: 6, a: 1.5e8, b: 8.5e8 }, { seed: 2, T: dayGridAges(5000, 2), grid: 1 / 7 });
  const pen = fitBgNbd(hom, { penalizer: 1e-4 });
  assert.equal(pen.boundary, null, 'a penalizer keeps a and b finite: nothing to report');
  assert.ok(pen.params.a + pen.params.b < 1e4, `penalised a + b = ${pen.params.a + pen.params.b}`);
});

test('Pareto/NBD at large s, β: series and quadrature agree, values match mpmath, the limit is approached', () => {
  // Where both evaluations of ln K(u) work, they must agree, gradient included.
  const grid: ParetoNbdParams[] = [
    { r: 0.553, alpha: 10.578, s: 0.606, beta: 11.669 }, { r: 0.553, alpha: 13, s: 0.606, beta: 11.669 },
    { r: 1, alpha: 10, s: 50, beta: 2500 }, { r: 2, alpha: 40, s: 3, beta: 30 }, { r: 0.3, alpha: 2, s: 20, beta: 200 },
  ];
  for (const p of grid) {
    for (const [x, u] of [[0, 0], [0, 12], [3, 5], [3, 40], [25, 30]] as const) {
      const a = paretoNbdLnK(p, x, u, 'series');
      const b = paretoNbdLnK(p, x, u, 'quadrature');
      assert.ok(Math.abs((a[0] as number) - (b[0] as number)) < 1e-12 * Math.max(1, Math.abs(a[0] as number)), `ln K at ${JSON.stringify(p)}, x = ${x}, u = ${u}: series ${a[0]}, quadrature ${b[0]}`);
      for (let j = 1; j < 5; j++) {
        assert.ok(Math.abs((a[j] as number) - (b[j] as number)) < 1e-9 * Math.max(1, Math.abs(a[j] as number)), `∂ ln K [${j}] at ${JSON.stringify(p)}, x = ${x}, u = ${u}: ${a[j]} vs ${b[j]}`);
      }
    }
  }
  // mpmath: ln of Γ(r+x)α^r β^s/Γ(r) [ (α+T)^−(r+x) (β+T)^−s + s ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ ],
  // the integral by Gauss–Legendre on 1,024 panels (128 panels agree to 7e-14).
  const ref: Array<[ParetoNbdParams, number, number, number, number, number]> = [
    [{ r: 1, alpha: 10, s: 1000, beta: 50000 }, 3, 20, 52, -11.630217761876305213, 0.16147018106354979719],
    [{ r: 1, alpha: 10, s: 1e6, beta: 5e7 }, 5, 10, 52, -13.697567500609975182, 0.0066365605902816228713],
    [{ r: 0.8, alpha: 6, s: 1e6, beta: 2e6 }, 12, 40, 52, -48.674152859377859416, 0.00019662571612943867483],
    [{ r: 1e5, alpha: 1e6, s: 1e5, beta: 1e7 }, 4, 30, 40, -13.442985304920544014, 0.84588296626717803344],
  ];
  for (const [p, x, tx, T, ll, pa] of ref) {
    const l = paretoNbdRowLogLikelihood(p, x, tx, T);
    const a = paretoNbdPAlive(p, x, tx, T);
    assert.ok(Math.abs(l - ll) < 1e-12 * Math.abs(ll), `row LL at ${JSON.stringify(p)}: ${l} vs mpmath ${ll}`);
    assert.ok(rel(a, pa) < 1e-12, `P(alive) at ${JSON.stringify(p)}: ${a} vs mpmath ${pa}`);
  }
  // s, β → ∞ with s/β = μ: P(alive) and E[Y | alive] approach the limit's like 1/s.
  const q = { r: 1, alpha: 10, mu: 0.02 };
  for (const [x, tx, T] of [[0, 0, 5], [1, 0.5, 2], [5, 10, 52], [50, 3, 52]] as const) {
    const lim = paretoNbdLimitPAlive(q, x, tx, T);
    const d = [1e3, 1e4, 1e6].map((s) => Math.abs(paretoNbdPAlive({ r: 1, alpha: 10, s, beta: s / q.mu }, x, tx, T) - lim));
    assert.ok((d[2] as number) < 1e-5 * lim + 1e-15, `P(alive) at s = 1e6 within 1e-5 relative of the limit (x = ${x}): ${d.join(', ')}`);
    if ((d[1] as number) > 1e-13) assert.ok((d[0] as number) / (d[1] as number) > 8 && (d[0] as number) / (d[1] as number) < 12, `P(alive) gap falls like 1/s (x = ${x}): ${d.join(', ')}`);
    const e = [1e3, 1e6].map((s) => rel(paretoNbdExpectedIfAlive({ r: 1, alpha: 10, s, beta: s / q.mu }, 52, x, T), paretoNbdLimitExpectedIfAlive(q, 52, x, T)));
    assert.ok((e[1] as number) < 1e-5 && (e[0] as number) > 100 * (e[1] as number), `E[Y(52) | alive] → the limit like 1/s (x = ${x}): ${e.join(', ')}`);
  }
  // Gradients on the quadrature path (s = 1e4) and in the limit, against finite differences.
  const sim = simulateParetoNbd({ r: 1, alpha: 10, s: 1e9, beta: 5e10 }, { seed: 4, T: dayGridAges(300, 4), grid: 1 / 7 });
  const big: ParetoNbdParams = { r: 1, alpha: 10, s: 1e4, beta: 5e5 };
  const g = new Float64Array(4);
  paretoNbdLogLikelihood(big, sim, g);
  (['r', 'alpha', 's', 'beta'] as const).forEach((k, j) => {
    const h = 1e-4;
    const fd = (paretoNbdLogLikelihood({ ...big, [k]: big[k] * Math.exp(h) }, sim) - paretoNbdLogLikelihood({ ...big, [k]: big[k] * Math.exp(-h) }, sim)) / (2 * h);
    const an = (g[j] as number) * big[k];
    assert.ok(Math.abs(an - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `∂LL/∂ln ${k} at s = 1e4: analytic ${an}, finite difference ${fd}`);
  });
  const gl = new Float64Array(3);
  paretoNbdLimitLogLikelihood(q, sim, gl);
  (['r', 'alpha', 'mu'] as const).forEach((k, j) => {
    const h = 1e-6 * q[k];
    const fd = (paretoNbdLimitLogLikelihood({ ...q, [k]: q[k] + h }, sim) - paretoNbdLimitLogLikelihood({ ...q, [k]: q[k] - h }, sim)) / (2 * h);
    assert.ok(Math.abs((gl[j] as number) - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `limit ∂LL/∂${k}: analytic ${gl[j]}, finite difference ${fd}`);
  });
  // The likelihood at s = 1e8 is the limit's up to O(1/s).
  assert.ok(Math.abs(paretoNbdLogLikelihood({ r: 1, alpha: 10, s: 1e8, beta: 1e8 / q.mu }, sim) - paretoNbdLimitLogLikelihood(q, sim)) < 1e-5, 'LL at s = 1e8 ≈ limit LL');
});

test('Pareto/NBD fit on customers who share one dropout rate: ends, reports the boundary, scores sensibly', () => {
  // μ ~ Gamma(1e9, 5e10): μ = 0.02 for everyone. Before issue 5's fix this fit ran for more than ten
  // minutes (series of ~s terms per customer). Seed 5 ends on the boundary, seed 3 inside (s ≈ 80).
  // Both have customers whose t_x and T differ by one ulp (the day grid), where rounding in K puts
  // K(T) ≥ K(t_x): that once made P(alive) NaN.
  const n = 5000;
  for (const seed of [5, 3]) {
    const sim = simulateParetoNbd({ r: 1, alpha: 10, s: 1e9, beta: 5e10 }, { seed, T: dayGridAges(n, seed), grid: 1 / 7, holdout: 26 });
    const m = fitParetoNbd(sim, { seed });
    const p = m.params;
    assert.ok([p.r, p.alpha, p.s, p.beta].every((v) => Number.isFinite(v) && v > 0), `seed ${seed}: finite parameters ${JSON.stringify(p)}`);
    let roundingCases = 0;
    for (let i = 0; i < n; i++) {
      const [x, tx, T] = [sim.x[i] as number, sim.tx[i] as number, sim.T[i] as number];
      if (tx < T && T - tx < 1e-12 && (paretoNbdLnK(p, x, T)[0] as number) >= (paretoNbdLnK(p, x, tx)[0] as number)) roundingCases++;
    }
    assert.ok(roundingCases > 0, `seed ${seed}: the one-ulp case occurs (${roundingCases} customers)`);
    if (seed === 5) {
      const b = m.boundary;
      assert.ok(b !== null && b.returned === 'limit', `seed 5 ends on the boundary: ${JSON.stringify(b?.returned)}`);
      assert.equal(b?.limit, 'dropout rate homogeneous (s, β → ∞)', 'which limit');
      const mu = b?.limitParams['mu'] as number;
      const se = b?.limitStandardErrors?.['mu'] as number;
      assert.ok(Math.abs(mu - 0.02) < 3 * se, `μ = ${mu} vs truth 0.02 (SE ${se})`);
      assert.ok(rel(p.s / p.beta, mu) < 1e-12 && p.s === 1e8, 's = 1e8, β = s/μ stand for the limit');
    }
    const sc = scoreCustomers(m, sim, null, { horizon: 26, unitDays: 7 });
    let pred = 0;
    let act = 0;
    let act2 = 0;
    for (let i = 0; i < n; i++) {
      const e = sc.expectedPurchases[i] as number;
      assert.ok(Number.isFinite(e) && e >= 0 && Number.isFinite(sc.pAlive[i] as number), `seed ${seed}: customer ${i}: expected ${e}, P(alive) ${sc.pAlive[i]}`);
      pred += e;
      const h = sim.holdoutX[i] as number;
      act += h;
      act2 += h * h;
    }
    const se = Math.sqrt((act2 / n - (act / n) ** 2) / n);
    assert.ok(Math.abs(pred - act) / n < 4 * se, `seed ${seed}: predicted ${pred / n} vs actual ${act / n} purchases per customer over 26 weeks (SE ${se})`);
  }
});

test('Gamma-Gamma: stable likelihood at large q and p (mpmath), boundary on homogeneous spend', () => {
  // mpmath (50 digits) of lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln(mx) + ln x − (px+q) ln(γ+mx).
  const ref: Array<[GammaGammaParams, number, number, number]> = [
    [{ p: 5, q: 1e8, gamma: 1e9 }, 3, 60, -3.9299894065183139518],
    [{ p: 5, q: 1e8, gamma: 1e9 }, 1, 12.5, -5.8380646727726534551],
    [{ p: 2e6, q: 3, gamma: 5e-5 }, 4, 30, -3.8157596631331531589],
  ];
  for (const [p, x, m, ll] of ref) {
    const v = gammaGammaRowLogLikelihood(p, x, m);
    assert.ok(Math.abs(v - ll) < 1e-12, `row LL at ${JSON.stringify(p)}, x = ${x}, m = ${m}: ${v} vs mpmath ${ll} (the plain form is off by ~1e-8)`);
  }
  // The general likelihood tends to the limit's (m x ~ Gamma(p x, ν)) as q = γ ν → ∞.
  for (const [x, m] of [[1, 40], [3, 60], [9, 45]] as const) {
    const lim = gammaGammaLimitRowLogLikelihood({ p: 5, nu: 0.1 }, x, m);
    const d = [1e4, 1e5].map((q) => Math.abs(gammaGammaRowLogLikelihood({ p: 5, q, gamma: q / 0.1 }, x, m) - lim));
    assert.ok((d[0] as number) / (d[1] as number) > 8 && (d[0] as number) / (d[1] as number) < 12, `row LL gap falls like 1/q (x = ${x}): ${d.join(', ')}`);
  }
  const x = Float64Array.from({ length: 3000 }, (_, i) => 1 + (i % 9));
  // Gradients: at large q, and in the limit.
  const m0 = simulateGammaGamma({ p: 5, q: 1e9, gamma: 1e10 }, x, 9);
  const big: GammaGammaParams = { p: 5, q: 1e5, gamma: 1e6 };
  const g = new Float64Array(3);
  gammaGammaLogLikelihood(big, { x, m: m0 }, g);
  (['p', 'q', 'gamma'] as const).forEach((k, j) => {
    const h = 1e-4;
    const fd = (gammaGammaLogLikelihood({ ...big, [k]: big[k] * Math.exp(h) }, { x, m: m0 }) - gammaGammaLogLikelihood({ ...big, [k]: big[k] * Math.exp(-h) }, { x, m: m0 })) / (2 * h);
    const an = (g[j] as number) * big[k];
    assert.ok(Math.abs(an - fd) < 1e-6 * Math.max(1, Math.abs(fd)), `∂LL/∂ln ${k} at q = 1e5: analytic ${an}, finite difference ${fd}`);
  });
  const gl = new Float64Array(2);
  gammaGammaLimitLogLikelihood({ p: 5, nu: 0.1 }, { x, m: m0 }, gl);
  const lq = { p: 5, nu: 0.1 };
  (['p', 'nu'] as const).forEach((k, j) => {
    const h = 1e-6 * lq[k];
    const fd = (gammaGammaLimitLogLikelihood({ ...lq, [k]: lq[k] + h }, { x, m: m0 }) - gammaGammaLimitLogLikelihood({ ...lq, [k]: lq[k] - h }, { x, m: m0 })) / (2 * h);
    assert.ok(Math.abs((gl[j] as number) - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `limit ∂LL/∂${k}: analytic ${gl[j]}, finite difference ${fd}`);
  });
  // Fits: ν ~ Gamma(1e9, 1e10), i.e. ν = 0.1 and a mean order value p/ν = 50 for everyone.
  for (const seed of [1, 2, 3]) {
    const m = simulateGammaGamma({ p: 5, q: 1e9, gamma: 1e10 }, x, seed);
    const fit = fitGammaGamma({ x, m }, { seed });
    const b = fit.boundary;
    assert.ok(b !== null && b.returned === 'limit', `seed ${seed}: boundary reported (${fit.convergence.evaluations} evaluations)`);
    assert.equal(b?.limit, 'typical order value homogeneous (q, γ → ∞)', 'which limit');
    const lp = b?.limitParams as Record<string, number>;
    const se = b?.limitStandardErrors as Record<string, number>;
    assert.ok(Math.abs((lp['p'] as number) - 5) < 3 * (se['p'] as number), `p = ${lp['p']} vs 5 (SE ${se['p']})`);
    const mean = (lp['p'] as number) / (lp['nu'] as number);
    // Conservative SE of p/ν (the positive correlation of p and ν only makes the true one smaller).
    const seMean = mean * Math.hypot((se['p'] as number) / (lp['p'] as number), (se['nu'] as number) / (lp['nu'] as number));
    assert.ok(Math.abs(mean - 50) < 3 * seMean, `mean order value ${mean} vs 50 (SE ≤ ${seMean})`);
    assert.ok(rel(fit.populationMean, mean) < 1e-7, `population mean at q = 1e8 ${fit.populationMean} = p/ν`);
    // Everyone's expected order value is the population mean, whatever their own average.
    for (const [xi, mi] of [[1, 5], [4, 50], [9, 400]] as const) {
      assert.ok(rel(fit.conditionalExpectedValue(xi, mi), mean) < 1e-5, `E[value | x = ${xi}, m = ${mi}] = ${fit.conditionalExpectedValue(xi, mi)} ≈ ${mean}`);
    }
  }
});

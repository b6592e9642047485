/**
 * Gamma-Gamma spend model: the published population mean and conditional-spend formula (REFERENCES.md),
 * likelihoods by hand (including one integrated out analytically), the analytic gradient, recovery from
 * seeded simulations, determinism and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { simulateGammaGamma } from '../../src/domain/ml/btyd-simulate.js';
import {
  fitGammaGamma, gammaGammaConditionalExpectedValue, gammaGammaLogLikelihood, gammaGammaModel, gammaGammaRowLogLikelihood,
  type GammaGammaParams,
} from '../../src/domain/ml/gamma-gamma.js';
import { stream } from '../../src/domain/random.js';

/** The MLE on CDNOW's 946 repeat customers (Fader & Hardie 2013; lifetimes). */
const PUB: GammaGammaParams = { p: 6.2488, q: 3.7446, gamma: 15.4477 };

test('published: population mean ≈ 35.2 (35.17 for customers without repeat purchases)', () => {
  const m = gammaGammaModel(PUB);
  assert.ok(Math.abs(m.populationMean - 35.2) < 0.05, `p γ / (q − 1) = ${m.populationMean}`);
  // Four of the first ten CDNOW customers have x = 0: their printed conditional spend is 35.17.
  assert.equal(m.conditionalExpectedValue(0, 0).toFixed(2), '35.17', 'x = 0 → the population mean, printed 35.17');
  // The conditional mean is the credibility-weighted average of population and own mean.
  const x = 3;
  const mean = 50;
  const w = (PUB.p * x) / (PUB.p * x + PUB.q - 1);
  assert.ok(Math.abs(m.conditionalExpectedValue(x, mean) - (w * mean + (1 - w) * m.populationMean)) < 1e-12, 'weighted average form');
  assert.ok(m.conditionalExpectedValue(100, mean) > m.conditionalExpectedValue(1, mean), 'more purchases, more weight on the own mean (above the population mean)');
});

test('log-likelihood by hand', () => {
  // p = q = γ = 1: z | ν ~ Exp(ν), ν ~ Exp(1) → f(z) = 1/(1 + z)²; x = 1, m = 1 → 1/4.
  assert.ok(Math.abs(gammaGammaRowLogLikelihood({ p: 1, q: 1, gamma: 1 }, 1, 1) - Math.log(1 / 4)) < 1e-15, 'ln 1/4');
  // x = 2, m = 3, p = 2, q = 3, γ = 4: m̄ | ν ~ Gamma(4, 2ν); integrating ν ~ Gamma(3, 4) out by hand:
  // (1024 m³ / 12) · 6! / (2m + 4)^7 = 0.165888.
  assert.ok(Math.abs(gammaGammaRowLogLikelihood({ p: 2, q: 3, gamma: 4 }, 2, 3) - Math.log(0.165888)) < 1e-14, 'ln 0.165888');
  const total = gammaGammaLogLikelihood({ p: 2, q: 3, gamma: 4 }, { x: [2, 0, 2], m: [3, 0, 3] });
  assert.ok(Math.abs(total - 2 * Math.log(0.165888)) < 1e-13, 'x = 0 rows are ignored, duplicates counted');
});

test('analytic gradient vs finite differences', () => {
  const x = Float64Array.from({ length: 200 }, (_, i) => 1 + (i % 9));
  const m = simulateGammaGamma(PUB, x, 4);
  const g = new Float64Array(3);
  gammaGammaLogLikelihood(PUB, { x, m }, g);
  (['p', 'q', 'gamma'] as const).forEach((k, j) => {
    const h = 1e-6 * PUB[k];
    const fd = (gammaGammaLogLikelihood({ ...PUB, [k]: PUB[k] + h }, { x, m }) - gammaGammaLogLikelihood({ ...PUB, [k]: PUB[k] - h }, { x, m })) / (2 * h);
    assert.ok(Math.abs((g[j] as number) - fd) < 1e-5 * Math.max(1, Math.abs(fd)), `∂LL/∂${k}: analytic ${g[j]}, finite difference ${fd}`);
  });
});

test('recovers known parameters from 20,000 simulated repeat customers (within 3 standard errors)', () => {
  const rng = stream(7, 'x');
  // Repeat counts like a BTYD population: mostly small.
  const x = Float64Array.from({ length: 20_000 }, () => 1 + Math.floor(-Math.log(1 - rng()) * 2.5));
  const m = simulateGammaGamma(PUB, x, 7);
  const fit = fitGammaGamma({ x, m }, { seed: 1 });
  assert.ok(fit.convergence.converged, fit.convergence.message);
  assert.ok(fit.standardErrors, 'standard errors available');
  for (const k of ['p', 'q', 'gamma'] as const) {
    const se = (fit.standardErrors as GammaGammaParams)[k];
    assert.ok(Math.abs(fit.params[k] - PUB[k]) < 3 * se, `${k}: ${fit.params[k]} vs ${PUB[k]} (SE ${se})`);
    assert.ok(se < 0.1 * PUB[k], `${k}: SE ${se} is informative`);
  }
  assert.ok(Math.abs(fit.frequencyMonetaryCorrelation) < 0.05, `simulated spend is independent of frequency: corr ${fit.frequencyMonetaryCorrelation}`);
  const again = fitGammaGamma({ x, m }, { seed: 1 });
  assert.deepEqual(again.params, fit.params, 'same seed, same result');
});

test('bad input is an InputError', () => {
  assert.throws(() => fitGammaGamma({ x: [1, 2, 3], m: [10, 0, 5] }), (e: unknown) => e instanceof InputError && /m = 0 must be positive/.test(e.message), 'm = 0 with x ≥ 1');
  assert.throws(() => fitGammaGamma({ x: [1, 2, 3], m: [10, -3, 5] }), InputError, 'negative m');
  assert.throws(() => fitGammaGamma({ x: [1, -2, 3], m: [10, 3, 5] }), InputError, 'negative x');
  assert.throws(() => fitGammaGamma({ x: [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], m: [10, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }), (e: unknown) => e instanceof InputError && /2 customers with a repeat purchase; at least 10/.test(e.message), 'too few repeat customers');
  assert.throws(() => fitGammaGamma({ x: [1, 2, 3], m: [10, 3] }), InputError, 'length mismatch');
  assert.throws(() => gammaGammaConditionalExpectedValue({ p: 2, q: 0.8, gamma: 3 }, 0, 0), (e: unknown) => e instanceof InputError && /no finite mean/.test(e.message), 'q ≤ 1: no population mean');
  assert.equal(gammaGammaModel({ p: 2, q: 0.8, gamma: 3 }).populationMean, Infinity, 'q ≤ 1: infinite population mean reported as such');
});

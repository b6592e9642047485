/**
 * Special functions and the optimiser behind the BTYD models: log-gamma, digamma, trigamma, 2F1 and
 * log-sum-exp against closed forms and high-precision reference values (mpmath, 30 digits); BFGS and
 * Nelder–Mead on known functions, and their failure modes (no silent NaN).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { digamma, hyp2f1, lbeta, lgamma, logAddExp, logSumExp, trigamma } from '../../src/domain/ml/special.js';
import { bfgs, minimize, nelderMead, numericGradient, type Objective } from '../../src/domain/ml/optimize.js';

const EULER = 0.5772156649015329;

function rel(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(rel(actual, expected) <= tol, `${what}: ${actual} vs ${expected} (relative error ${rel(actual, expected).toExponential(2)} > ${tol})`);
}

test('lgamma: closed forms and mpmath values to ~1e-14 relative', () => {
  close(lgamma(0.5), 0.5 * Math.log(Math.PI), 1e-15, 'lnΓ(1/2)');
  close(lgamma(1.5), 0.5 * Math.log(Math.PI) - Math.LN2, 1e-14, 'lnΓ(3/2)');
  assert.equal(lgamma(1), 0, 'lnΓ(1) is exactly 0');
  assert.equal(lgamma(2), 0, 'lnΓ(2) is exactly 0');
  let logFact = 0;
  for (let k = 2; k <= 99; k++) logFact += Math.log(k);
  close(lgamma(100), logFact, 1e-14, 'lnΓ(100) = ln 99!');
  close(lgamma(11), Math.log(3628800), 1e-15, 'lnΓ(11) = ln 10!');
  // Near the zeros at 1 and 2 a plain Lanczos sum loses relative precision; these must not. (Reference
  // values at the double nearest each decimal, e.g. 1.001 = 1.00099999999999988987.)
  const mp: Array<[number, number]> = [
    [0.3, 1.0957979948180755217], [1.001, -0.00057639359828330615152], [0.999, 0.00057803853289138023817],
    [1.4616321449683622, -0.1214862905358496081], [2.2, 0.096947466790638776492], [7.7, 7.9265413562690044281],
    [33.3, 82.603723581654952928],
  ];
  for (const [x, v] of mp) close(lgamma(x), v, 2e-15, `lnΓ(${x})`);
  close(lgamma(1e-10), -Math.log(1e-10) - EULER * 1e-10, 1e-15, 'lnΓ(1e-10)');
  assert.equal(lgamma(0), Infinity, 'pole at 0');
  assert.equal(lgamma(-3), Infinity, 'pole at −3');
  close(lgamma(-0.5), Math.log(2 * Math.sqrt(Math.PI)), 1e-14, 'ln|Γ(−1/2)| by reflection');
});

test('digamma, trigamma and lbeta: closed forms and mpmath values', () => {
  close(digamma(1), -EULER, 1e-15, 'ψ(1) = −γ');
  close(digamma(0.5), -EULER - 2 * Math.LN2, 1e-15, 'ψ(1/2)');
  close(digamma(10), 1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5 + 1 / 6 + 1 / 7 + 1 / 8 + 1 / 9 - EULER, 1e-15, 'ψ(10) = H_9 − γ');
  close(digamma(0.3), -3.502524222200132989, 1e-15, 'ψ(0.3)');
  close(digamma(7.7), 1.974882094913101819, 1e-15, 'ψ(7.7)');
  close(trigamma(1), (Math.PI * Math.PI) / 6, 1e-15, 'ψ′(1) = π²/6');
  close(trigamma(0.5), (Math.PI * Math.PI) / 2, 1e-15, 'ψ′(1/2) = π²/2');
  close(lbeta(2, 3), Math.log(1 / 12), 1e-15, 'ln B(2, 3) = ln 1/12');
  // ψ is the derivative of lnΓ: check against a central difference.
  for (const x of [0.2, 1.3, 4.5, 50]) {
    const h = 1e-5;
    close(digamma(x), (lgamma(x + h) - lgamma(x - h)) / (2 * h), 1e-8, `ψ(${x}) vs d lnΓ / dx`);
  }
});

test('hyp2f1: closed forms on every branch (series, Pfaff for z < 0, Euler near 1)', () => {
  for (const z of [0.1, 0.5, 0.9]) close(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, 1e-14, `2F1(1,1;2;${z}) = −ln(1−z)/z`);
  // z = 0.999 takes ~30,000 terms: rounding accumulates to a few 1e-14.
  close(hyp2f1(1, 1, 2, 0.999), -Math.log1p(-0.999) / 0.999, 1e-13, '2F1(1,1;2;0.999)');
  for (const z of [-0.5, -3, -50]) close(hyp2f1(1, 1, 2, z), Math.log1p(-z) / -z, 1e-14, `2F1(1,1;2;${z}) (Pfaff)`);
  // c − a − b = −a < 0: the Euler transformation branch for z > 0.5.
  for (const z of [0.3, 0.7, 0.99]) close(hyp2f1(2.5, 1.7, 1.7, z), Math.pow(1 - z, -2.5), 1e-13, `2F1(a,b;b;${z}) = (1−z)^−a`);
  for (const z of [0.2, 0.99]) close(hyp2f1(0.5, 0.5, 1.5, z), Math.asin(Math.sqrt(z)) / Math.sqrt(z), 1e-14, `2F1(½,½;3/2;${z}) = asin√z/√z`);
  close(hyp2f1(0.8, -0.2, 3.2, 0.95), 0.94026500438573209216, 1e-14, 'mpmath 2F1(0.8,−0.2;3.2;0.95)');
  close(hyp2f1(5.2, 3.1, 2.2, 0.93), 23408129.855744753589, 1e-13, 'mpmath 2F1(5.2,3.1;2.2;0.93)');
  close(hyp2f1(26.2426, 28.4262, 28.2192, 0.6), 33224795027.283324955, 1e-13, 'mpmath 2F1 with BG/NBD-sized parameters');
  close(hyp2f1(2, 3, 4, -3), 0.10860125308446875137, 1e-14, 'mpmath 2F1(2,3;4;−3)');
  assert.equal(hyp2f1(-2, 3, 4, 0.5), 1 + (-2 * 3 / 4) * 0.5 + ((-2 * -1 * 3 * 4) / (4 * 5 * 2)) * 0.25, 'a terminating series (a = −2) is a polynomial');
  assert.throws(() => hyp2f1(1, 1, 2, 1), /z must be < 1/, 'z = 1 is outside the domain');
  assert.throws(() => hyp2f1(1, 1, -2, 0.5), /non-positive integer/, 'c = −2 is a pole');
  assert.throws(() => hyp2f1(1, 1, 2, NaN), /non-finite/, 'NaN argument');
  assert.throws(() => hyp2f1(1, 1, 2, 0.999999, { maxTerms: 100 }), /did not converge/, 'a truncated series is an error, not a silent value');
});

test('logAddExp and logSumExp do not overflow', () => {
  close(logAddExp(1000, 1000), 1000 + Math.LN2, 1e-15, 'ln(e^1000 + e^1000)');
  assert.equal(logAddExp(-Infinity, 3), 3, 'ln(0 + e^3)');
  close(logSumExp([-1000, -1000, -1000]), -1000 + Math.log(3), 1e-15, 'three tiny terms');
  close(logSumExp([0, Math.log(2), Math.log(3)]), Math.log(6), 1e-15, 'ln(1 + 2 + 3)');
  assert.equal(logSumExp([]), -Infinity, 'empty sum');
});

const rosenbrock: Objective = (x, g) => {
  const a = x[0] as number;
  const b = x[1] as number;
  if (g) {
    g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
    g[1] = 200 * (b - a * a);
  }
  return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
};

test('BFGS finds the Rosenbrock minimum with analytic and with finite-difference gradients', () => {
  const r = bfgs(rosenbrock, [-1.2, 1]);
  assert.ok(r.converged, `converged: ${r.message}`);
  assert.ok(Math.abs((r.x[0] as number) - 1) < 1e-6 && Math.abs((r.x[1] as number) - 1) < 1e-6, `minimum at (1, 1), got ${Array.from(r.x)}`);
  assert.ok(r.gradNorm <= 1e-8 || r.message.includes('predicted decrease'), `final gradient ${r.gradNorm} reported`);
  assert.ok(r.iterations > 5 && r.iterations < 100, `iterations ${r.iterations} reported and plausible`);
  const fd = bfgs(rosenbrock, [-1.2, 1], { gradient: 'central', gradTolerance: 1e-6 });
  assert.ok(Math.abs((fd.x[0] as number) - 1) < 1e-4 && Math.abs((fd.x[1] as number) - 1) < 1e-4, `finite differences also reach (1, 1): ${Array.from(fd.x)}`);
  assert.ok(fd.evaluations > r.evaluations, 'finite differences cost more evaluations than the analytic gradient');
});

test('BFGS on an ill-conditioned quadratic converges to machine precision', () => {
  const scales = [1, 100, 1e4, 1e-2];
  const f: Objective = (x, g) => {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      const d = (x[i] as number) - (i + 1);
      s += 0.5 * (scales[i] as number) * d * d;
      if (g) g[i] = (scales[i] as number) * d;
    }
    return s;
  };
  const r = bfgs(f, [0, 0, 0, 0], { gradTolerance: 1e-10 });
  assert.ok(r.converged, r.message);
  r.x.forEach((v, i) => assert.ok(Math.abs(v - (i + 1)) < 1e-6, `coordinate ${i}: ${v}`));
});

test('numericGradient matches an analytic gradient', () => {
  const g = new Float64Array(2);
  const x = Float64Array.from([0.3, -0.7]);
  numericGradient((z) => rosenbrock(z, null), x, g);
  const ga = new Float64Array(2);
  rosenbrock(x, ga);
  for (let i = 0; i < 2; i++) close(g[i] as number, ga[i] as number, 1e-8, `component ${i}`);
});

test('Nelder–Mead minimises Rosenbrock without derivatives; same seed, same result', () => {
  const f = (x: Float64Array) => rosenbrock(x, null);
  const r = nelderMead(f, [-1.2, 1], { seed: 3, restarts: 2 });
  assert.ok(Math.abs((r.x[0] as number) - 1) < 1e-4 && Math.abs((r.x[1] as number) - 1) < 1e-4, `Nelder–Mead reaches (1, 1): ${Array.from(r.x)}`);
  const again = nelderMead(f, [-1.2, 1], { seed: 3, restarts: 2 });
  assert.deepEqual(Array.from(again.x), Array.from(r.x), 'same seed, same point');
});

test('minimize never returns NaN silently', () => {
  const nowhere: Objective = () => NaN;
  const r = minimize(nowhere, [1, 2]);
  assert.equal(r.converged, false, 'an objective that is never finite does not converge');
  assert.ok(r.message.length > 0 && /finite/.test(r.message), `the message says why: ${r.message}`);
  // Finite only for x > 0 (like a likelihood in raw parameters): the start is infeasible, the search must
  // find its way to the feasible region and the minimum there.
  const half: Objective = (x, g) => {
    const v = x[0] as number;
    if (!(v > 0)) return NaN;
    if (g) g[0] = 1 - 1 / v;
    return v - Math.log(v);
  };
  const h = minimize(half, [-3], { seed: 1 });
  assert.ok(h.converged, h.message);
  assert.ok(Math.abs((h.x[0] as number) - 1) < 1e-6, `minimum of x − ln x at 1, got ${h.x[0]}`);
  // A line search that steps into the NaN region backs off instead of accepting it.
  const b = bfgs(half, [5]);
  assert.ok(b.converged && Math.abs((b.x[0] as number) - 1) < 1e-6, `BFGS from 5 reaches 1: ${b.x[0]} (${b.message})`);
});

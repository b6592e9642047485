/**
 * The statistics of segment insights against published and hand-computed values: Wilson and Newcombe
 * (Newcombe 1998), Hedges' g (Borenstein et al. 2009, ch. 4), Welch, Student and normal quantiles,
 * Cohen's h, MOVER-R against the Katz interval, Benjamini–Hochberg; and the exact identities behind
 * "against the base" (property tests with a fixed seed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  cohensH, combine, differenceVsBase, fisherExactP, hedgesG, meanInterval, moverRatio, newcombeDifference, normalCdf, normalQuantile, ratioOfMeans,
  ratioVsBase, studentCdf, studentQuantile, twoProportionP, welchDifference, wilson, zFor, type Estimate, type Moments,
} from '../../src/domain/insights/stats.js';
import { benjaminiHochberg } from '../../src/domain/insights/analyze.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261123);
const Z = zFor(0.95);

function close(got: number | null, want: number, tol: number, what: string): void {
  assert.ok(got !== null && Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

function closeEst(got: Estimate, want: [number, number, number], tol: number, what: string): void {
  close(got.value, want[0], tol, `${what} value`);
  close(got.low, want[1], tol, `${what} low`);
  close(got.high, want[2], tol, `${what} high`);
}

test('normal and Student quantiles match the tables', () => {
  close(normalQuantile(0.975), 1.959963984540054, 1e-12, 'z 0.975');
  close(normalQuantile(0.995), 2.5758293035489, 1e-12, 'z 0.995');
  close(normalQuantile(0.05), -1.6448536269514722, 1e-12, 'z 0.05');
  close(normalQuantile(1e-10), -6.361340902404056, 1e-9, 'z 1e-10 (tail branch)');
  close(Z, 1.959963984540054, 1e-12, 'zFor(0.95)');
  // t tables: t(0.975; 1) = 12.706, t(0.975; 10) = 2.228, t(0.975; 30) = 2.042, t(0.995; 5) = 4.032
  close(studentQuantile(0.975, 1), 12.7062047, 1e-6, 't 1 df');
  close(studentQuantile(0.975, 10), 2.2281389, 1e-6, 't 10 df');
  close(studentQuantile(0.975, 30), 2.0422725, 1e-6, 't 30 df');
  close(studentQuantile(0.995, 5), 4.0321430, 1e-6, 't 5 df');
  close(studentQuantile(0.025, 10), -2.2281389, 1e-6, 't lower tail');
  close(studentCdf(2.2281389, 10), 0.975, 1e-7, 't cdf');
  for (const x of [-3, -1.5, -0.2, 0, 0.7, 2.4]) close(normalCdf(x), normalCdf(-x) === 0 ? 1 : 1 - normalCdf(-x), 1e-7, `Φ symmetric at ${x}`);
  for (const p of [0.001, 0.025, 0.3, 0.5, 0.9, 0.999]) close(normalCdf(normalQuantile(p)), p, 2e-7, `Φ(Φ⁻¹(${p}))`);
});

test('Wilson intervals: Newcombe (1998) table values, exact 0 and 1 at the edges', () => {
  // Newcombe, Statistics in Medicine 17:857-872, Table I, method 3 (score, no continuity correction)
  closeEst(wilson(81, 263, Z), [0.3080, 0.2553, 0.3662], 5e-5, '81/263');
  closeEst(wilson(15, 148, Z), [0.1014, 0.0624, 0.1605], 5e-5, '15/148');
  closeEst(wilson(0, 20, Z), [0, 0, 0.1611], 5e-5, '0/20');
  closeEst(wilson(1, 29, Z), [0.0345, 0.0061, 0.1718], 5e-5, '1/29');
  assert.equal(wilson(0, 20, Z).low, 0);
  assert.equal(wilson(20, 20, Z).high, 1);
  assert.deepEqual(wilson(0, 0, Z), { value: null, low: null, high: null });
});

test('Newcombe hybrid score intervals for a difference of proportions: the published examples', () => {
  // Newcombe, Statistics in Medicine 17:873-890, Table II, method 10
  closeEst(newcombeDifference(56, 70, 48, 80, Z), [0.2, 0.0524, 0.3339], 5e-5, '56/70 − 48/80');
  closeEst(newcombeDifference(9, 10, 3, 10, Z), [0.6, 0.1705, 0.8090], 5e-5, '9/10 − 3/10');
  closeEst(newcombeDifference(6, 7, 2, 7, Z), [0.5714, 0.0582, 0.8062], 5e-5, '6/7 − 2/7');
  closeEst(newcombeDifference(5, 56, 0, 29, Z), [0.0893, -0.0381, 0.1926], 5e-5, '5/56 − 0/29');
});

test('Cohen\'s h and the two-proportion test: hand values', () => {
  // h = 2·asin√0.5 − 2·asin√0.25 = π/2 − π/3 = 0.5236 (Cohen 1988: 0.52); half-width z·√(1/100 + 1/100)
  closeEst(cohensH(50, 100, 25, 100, Z), [Math.PI / 6, Math.PI / 6 - Z * Math.sqrt(0.02), Math.PI / 6 + Z * Math.sqrt(0.02)], 1e-12, 'h');
  // pooled 0.375, se = √(0.375·0.625·0.02) = 0.068465, z = 0.25 / 0.068465 = 3.6515 → p = 0.000261
  close(twoProportionP(50, 100, 25, 100), 0.000261, 2e-6, 'two-proportion p');
  assert.equal(twoProportionP(0, 10, 0, 10), null, 'no variance, no test');
});

test('Fisher\'s exact test where cells are small: the lady tasting tea and R\'s fisher.test', () => {
  // Fisher (1935): 3 of 4 cups right against 1 of 4 → two-sided p = 34/70 = 0.4857
  close(fisherExactP(3, 4, 1, 4), 34 / 70, 1e-9, 'tea');
  // fisher.test(matrix(c(1, 9, 9, 1), 2)) → p = 0.001093
  close(fisherExactP(1, 10, 9, 10), 0.0010933, 1e-6, '1/10 vs 9/10');
  // small expected counts go to Fisher: 7 of 87 against 16 of 800 (expected 2.3 members)
  assert.equal(twoProportionP(7, 87, 16, 800), fisherExactP(7, 87, 16, 800));
  // the pooled z test would say p = 0.00075 (z = 3.37); exact: 0.0046, six times less sure
  close(twoProportionP(7, 87, 16, 800), 0.004567, 5e-6, 'exact p');
});

test('Hedges\' g: Borenstein et al. (2009) worked example and a small example by hand', () => {
  // Introduction to Meta-Analysis, ch. 4: means 103 / 100, SD 5.5 / 4.5, n 50 / 50 → d = 0.5970,
  // J = 0.9923, g = 0.5924, V(g) = 0.0411 (SE 0.2028)
  const g = hedgesG({ n: 50, mean: 103, sd: 5.5 }, { n: 50, mean: 100, sd: 4.5 }, Z);
  close(g.value, 0.5924, 5e-5, 'g');
  close(((g.high as number) - (g.low as number)) / (2 * Z), Math.sqrt(0.0411), 5e-4, 'SE of g');
  // [1..5] against [3..7]: means 3 and 5, SD √2.5 each, d = −2/√2.5 = −1.26491, J = 1 − 3/31,
  // g = −1.14250, SE = J·√(10/25 + d²/20) = 0.62578, interval g ± 1.959964·SE = (−2.36900, 0.08400)
  const a = moments([1, 2, 3, 4, 5]);
  const b = moments([3, 4, 5, 6, 7]);
  closeEst(hedgesG(a, b, Z), [-1.14250, -2.36900, 0.08400], 5e-5, 'small example');
  assert.deepEqual(hedgesG({ n: 5, mean: 1, sd: 0 }, { n: 5, mean: 2, sd: 0 }, Z), { value: null, low: null, high: null }, 'no spread: undefined');
});

test('Welch: interval and p-value by hand; the mean interval is Student\'s', () => {
  // va = 16/10 = 1.6, vb = 36/15 = 2.4, se = 2, df = 16 / (1.6²/9 + 2.4²/14) = 22.993,
  // t(0.975; 22.993) = 2.06872 → 3 ± 4.13744; p = 2·P(T > 1.5) = 0.1472
  const w = welchDifference({ n: 10, mean: 20, sd: 4 }, { n: 15, mean: 17, sd: 6 }, 0.95);
  close(w.df, 22.993, 1e-3, 'df');
  closeEst(w, [3, -1.13744, 7.13744], 1e-4, 'Welch interval');
  close(w.p, 0.1472, 1e-3, 'Welch p');
  // mean 3, sd √2.5, n 5: 3 ± t(0.975; 4)·√2.5/√5 = 3 ± 2.776445·0.707107
  closeEst(meanInterval(moments([1, 2, 3, 4, 5]), 0.95), [3, 3 - 1.963243, 3 + 1.963243], 1e-5, 'mean interval');
});

test('ratios: MOVER-R agrees with the Katz log interval for large counts, covers 0 successes; ratio of means by the delta method', () => {
  // Katz: ln 2 ± z·√(1/500 − 1/1000 + 1/250 − 1/1000) → (1.76691, 2.26385)
  const r = moverRatio(500, 1000, 250, 1000, Z);
  close(r.value, 2, 1e-12, 'ratio');
  close(r.low, 1.76691, 0.005, 'low ≈ Katz');
  close(r.high, 2.26385, 0.005, 'high ≈ Katz');
  const zero = moverRatio(0, 10, 5, 10, Z);
  assert.equal(zero.value, 0);
  assert.equal(zero.low, 0);
  assert.ok(zero.high !== null && zero.high > 0.3 && zero.high < 1, `0/10 vs 5/10: upper limit ${zero.high}`);
  assert.deepEqual(moverRatio(3, 10, 0, 10, Z), { value: null, low: null, high: null }, 'no ratio over 0');
  // exp(ln 2 ± z·√(4/(100·4) + 1/(100·1))) = 2·exp(± 1.959964·0.141421)
  closeEst(ratioOfMeans({ n: 100, mean: 2, sd: 2 }, { n: 100, mean: 1, sd: 1 }, Z), [2, 2 * Math.exp(-Z * Math.sqrt(0.02)), 2 * Math.exp(Z * Math.sqrt(0.02))], 1e-12, 'ratio of means');
});

test('Benjamini–Hochberg step-up: the largest i with p(i) ≤ i·q/m decides', () => {
  assert.deepEqual([...benjaminiHochberg([0.01, 0.04, 0.03, 0.005], 0.05)].sort(), [0, 1, 2, 3]);
  assert.deepEqual([...benjaminiHochberg([0.01, 0.02, 0.5, 0.04], 0.05)].sort(), [0, 1]);
  // 0.013 ≤ 3·0.05/4 carries 0.012 with it although 0.012 > 1·0.05/4
  assert.deepEqual([...benjaminiHochberg([0.3, 0.012, 0.013, 0.001], 0.05)].sort(), [1, 2, 3]);
  assert.deepEqual([...benjaminiHochberg([0.2, null, 0.6], 0.05)], []);
});

function moments(xs: number[]): Moments {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  return { n, mean, sd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) };
}

test('against the base: differences and ratios equal the direct computation, intervals keep their order (property)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 5000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }),
    (n1, n2, s1, s2) => {
      const k1 = Math.round(s1 * n1);
      const k2 = Math.max(1, Math.round(s2 * n2));
      const f = n1 / (n1 + n2);
      const p1 = k1 / n1;
      const pb = (k1 + k2) / (n1 + n2);
      const d = differenceVsBase(newcombeDifference(k1, n1, k2, n2, Z), f);
      close(d.value, p1 - pb, 1e-12, 'difference vs base');
      assert.ok((d.low as number) <= (d.value as number) && (d.value as number) <= (d.high as number), 'difference interval contains the estimate');
      const r = ratioVsBase(moverRatio(k1, n1, k2, n2, Z), f);
      close(r.value, p1 / pb, 1e-9, 'ratio vs base');
      assert.ok((r.low as number) <= (r.value as number) + 1e-12 && (r.high === null || (r.value as number) <= r.high + 1e-12), 'ratio interval contains the estimate');
      // the base's ratio can never exceed 1/f: the members are part of the base
      assert.ok(r.high === null || r.high <= 1 / f + 1e-9, 'ratio vs base at most 1/f');
    }), { seed: SEED, numRuns: 400 });
});

test('combining moments equals the moments of the pooled values (property)', () => {
  fc.assert(fc.property(
    fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 2, maxLength: 40 }),
    fc.array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 2, maxLength: 40 }),
    (xs, ys) => {
      const c = combine(moments(xs), moments(ys));
      const all = moments([...xs, ...ys]);
      assert.equal(c.n, all.n);
      close(c.mean, all.mean, 1e-9 * (1 + Math.abs(all.mean)), 'mean');
      close(c.sd, all.sd, 1e-7 * (1 + all.sd), 'sd');
      const w = welchDifference(moments(xs), moments(ys), 0.95);
      const f = xs.length / (xs.length + ys.length);
      close(differenceVsBase(w, f).value, moments(xs).mean - all.mean, 1e-7 * (1 + Math.abs(all.mean)), 'mean difference vs base');
    }), { seed: SEED, numRuns: 300 });
});

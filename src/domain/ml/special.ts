/**
 * Special functions for the buy-till-you-die models (BG/NBD, Pareto/NBD, Gamma-Gamma): log-gamma,
 * digamma, log-beta, the Gauss hypergeometric function 2F1 and log-sum-exp.
 *
 * Written here rather than taken from a package because the pure core may depend on nothing but zod,
 * and because the likelihoods need them with known accuracy: log-gamma to ~1e-15 relative (including
 * near its zeros at 1 and 2, where a plain Lanczos formula loses all relative precision), 2F1 with
 * explicit convergence checks instead of a silently truncated series.
 */

const EULER_GAMMA = 0.5772156649015329;
const HALF_LOG_2PI = 0.9189385332046728;

/** Bernoulli numbers B2, B4, …, B14 (exact fractions as doubles). */
const BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6];

/**
 * ζ(k) − 1 for k = 2 … 60, by Euler–Maclaurin summation (16 explicit terms, then the integral tail and
 * six Bernoulli corrections: the error is below 1e-18 for every k), computed once at load. Used by the
 * Taylor series of log-gamma around 1 and 2.
 */
const ZETA_MINUS_1: Float64Array = (() => {
  const out = new Float64Array(61);
  const N = 16;
  for (let k = 2; k <= 60; k++) {
    // Tail first (smallest terms first for accuracy).
    let tail = Math.pow(N, 1 - k) / (k - 1) + Math.pow(N, -k) / 2;
    let rising = k; // k (k+1) … (k+2j−2)
    let fact = 2; // (2j)!
    for (let j = 1; j <= BERNOULLI.length; j++) {
      tail += ((BERNOULLI[j - 1] as number) / fact) * rising * Math.pow(N, -k - 2 * j + 1);
      rising *= (k + 2 * j - 1) * (k + 2 * j);
      fact *= (2 * j + 1) * (2 * j + 2);
    }
    let s = tail;
    for (let n = N - 1; n >= 2; n--) s += Math.pow(n, -k);
    out[k] = s;
  }
  return out;
})();

/**
 * S(ε) = ln Γ(2 + ε) = ε(1 − γ) + Σ_{k≥2} (−1)^k (ζ(k) − 1) ε^k / k, for |ε| ≤ 0.5 (terms shrink like
 * (ε/2)^k, so 30 terms are plenty). Exact zero at ε = 0, hence full relative accuracy near x = 2.
 */
function lnGamma2Plus(eps: number): number {
  let sum = 0;
  let p = -eps; // (−ε)^k, starting from k = 1
  for (let k = 2; k <= 60; k++) {
    p *= -eps;
    const term = ((ZETA_MINUS_1[k] as number) * p) / k;
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return eps * (1 - EULER_GAMMA) + sum;
}

/** The correction series of Stirling's formula, ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π], for x ≥ 10. */
function stirlingSeries(x: number): number {
  const inv = 1 / x;
  const inv2 = inv * inv;
  return inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 * (1 / 156 + inv2 * (-3617 / 122400))))))));
}

/** Stirling's series for x ≥ 10 (truncation error below 1e-17). */
function lnGammaStirling(x: number): number {
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + stirlingSeries(x);
}

/**
 * ln |Γ(x)|. Positive x: Taylor series around 1 and 2 on [0.5, 2.5), upward recurrence from there on
 * [2.5, 10), Stirling beyond; x < 0.5 through Γ(x) = Γ(x + 1) / x. Negative non-integers through the
 * reflection formula; 0 and negative integers give +∞ (a pole).
 */
export function lgamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x <= 0) {
    if (Number.isInteger(x)) return Infinity;
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  }
  if (x < 0.5) return lgamma(x + 1) - Math.log(x);
  if (x < 1.5) return lnGamma2Plus(x - 1) - Math.log1p(x - 1);
  if (x < 2.5) return lnGamma2Plus(x - 2);
  if (x < 10) {
    let y = x;
    let prod = 1;
    while (y >= 2.5) {
      y -= 1;
      prod *= y;
    }
    return lnGamma2Plus(y - 2) + Math.log(prod);
  }
  return lnGammaStirling(x);
}

/** ψ(x) = d/dx ln Γ(x): recurrence up to x ≥ 10, then the asymptotic series (error below 1e-16). */
export function digamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) {
    if (Number.isInteger(x)) return NaN;
    return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  }
  let acc = 0;
  let y = x;
  while (y < 10) {
    acc -= 1 / y;
    y += 1;
  }
  return acc + Math.log(y) - 0.5 / y - digammaSeries(y);
}

/** The tail of the asymptotic series of ψ: ln y − 1/(2y) − ψ(y), for y ≥ 10. */
function digammaSeries(y: number): number {
  const inv2 = 1 / (y * y);
  return inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760 - inv2 / 12))))));
}

/**
 * ln Γ(y + x) − ln Γ(y) = ln (y)_x for y > 0, x ≥ 0, without the cancellation of the plain difference:
 * at y = 10^7 both log-gammas are ~1.5e8, so their difference would carry an absolute error ~1e-8 (and
 * the BTYD likelihoods take such differences once per customer). For y ≥ 10 the difference of Stirling's
 * formulas is rearranged as (y − ½) ln(1 + x/y) + x (ln(y + x) − 1) + ΔS, every term of which is
 * computed to full relative precision.
 */
export function lgammaDiff(y: number, x: number): number {
  if (x === 0) return 0;
  if (y >= 10) return (y - 0.5) * Math.log1p(x / y) + x * (Math.log(y + x) - 1) + (stirlingSeries(y + x) - stirlingSeries(y));
  return lgamma(y + x) - lgamma(y);
}

/** ψ(y + x) − ψ(y) for y > 0, x ≥ 0, without cancellation for large y (same idea as `lgammaDiff`). */
export function digammaDiff(y: number, x: number): number {
  if (x === 0) return 0;
  if (y >= 10) return Math.log1p(x / y) + (0.5 * x) / (y * (y + x)) - (digammaSeries(y + x) - digammaSeries(y));
  return digamma(y + x) - digamma(y);
}

/** ψ'(x), the trigamma function (recurrence, then the asymptotic series). */
export function trigamma(x: number): number {
  if (!(x > 0)) return NaN;
  let acc = 0;
  let y = x;
  while (y < 10) {
    acc += 1 / (y * y);
    y += 1;
  }
  const inv = 1 / y;
  const inv2 = inv * inv;
  const series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 * (1 / 30 - inv2 * (5 / 66 - inv2 * (691 / 2730 - inv2 * 7 / 6))))));
  return acc + series;
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function lbeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** ln(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** ln Σ e^{v_i} without overflow (−∞ for an empty list). */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i] as number);
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp((values[i] as number) - max);
  return max + Math.log(s);
}

export interface Hyp2f1Options {
  /** Relative tolerance of the bound on the neglected tail (default 1e-15). */
  tolerance?: number;
  /** Most terms summed before giving up (default 200,000). */
  maxTerms?: number;
}

/**
 * Power series of 2F1 for 0 ≤ z < 1, summed until a bound on the whole neglected tail is below the
 * tolerance. The ratio of successive terms tends to z; while it is above z the current ratio bounds the
 * later ones, otherwise z does, so the geometric bound |t| ρ / (1 − ρ) with ρ = max(ratio, z) is safe.
 */
function hyp2f1Series(a: number, b: number, c: number, z: number, tol: number, maxTerms: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < maxTerms; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (term === 0) return sum;
    const next = Math.abs((((a + n + 1) * (b + n + 1)) / ((c + n + 1) * (n + 2))) * z);
    const rho = Math.max(next, z);
    if (rho < 1 && (Math.abs(term) * rho) / (1 - rho) <= tol * Math.abs(sum)) return sum;
    if (!Number.isFinite(sum)) throw new Error(`2F1(${a}, ${b}; ${c}; ${z}) overflowed`);
  }
  throw new Error(`2F1(${a}, ${b}; ${c}; ${z}) did not converge in ${maxTerms} terms`);
}

/**
 * Gauss hypergeometric function 2F1(a, b; c; z) for real z < 1.
 *
 * - z < 0: Pfaff's transformation 2F1(a, b; c; z) = (1 − z)^(−b) 2F1(c − a, b; c; z / (z − 1)) maps z
 *   into [0, 1), where the series has no alternating signs from z.
 * - 0 < z < 1 with c − a − b < 0 and z > 0.5: Euler's transformation
 *   2F1(a, b; c; z) = (1 − z)^(c − a − b) 2F1(c − a, c − b; c; z): the new series has c' − a' − b' > 0,
 *   so its terms fall polynomially as well as geometrically (this is how the BG/NBD and Pareto/NBD
 *   expressions of Fader & Hardie are kept convergent near z = 1).
 *
 * Throws an Error when c is a non-positive integer (a pole), z ≥ 1, or the series does not converge in
 * `maxTerms` terms; never returns NaN for finite input.
 */
export function hyp2f1(a: number, b: number, c: number, z: number, opts: Hyp2f1Options = {}): number {
  const tol = opts.tolerance ?? 1e-15;
  const maxTerms = opts.maxTerms ?? 200_000;
  if (![a, b, c, z].every(Number.isFinite)) throw new Error(`2F1(${a}, ${b}; ${c}; ${z}): non-finite argument`);
  if (c <= 0 && Number.isInteger(c)) throw new Error(`2F1(${a}, ${b}; ${c}; ${z}): c is a non-positive integer`);
  if (z >= 1) throw new Error(`2F1(${a}, ${b}; ${c}; ${z}): z must be < 1`);
  if (z === 0 || a === 0 || b === 0) return 1;
  if (z < 0) {
    const w = z / (z - 1);
    return Math.pow(1 - z, -b) * hyp2f1(c - a, b, c, w, opts);
  }
  if (c - a - b < 0 && z > 0.5) {
    return Math.exp((c - a - b) * Math.log1p(-z)) * hyp2f1Series(c - a, c - b, c, z, tol, maxTerms);
  }
  return hyp2f1Series(a, b, c, z, tol, maxTerms);
}

/**
 * ln 2F1(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, where every term of the power series is positive.
 *
 * Why another 2F1: with the large parameters of a degenerate fit (BG/NBD with a + b ~ 1e7, where the
 * beta distribution of the dropout probability has collapsed to a point) the series' terms first grow
 * by many orders of magnitude before they fall, so `hyp2f1` overflows although the quantity the models
 * need, a power of (1 − z) times the series, is of order 1. Here the partial sum is kept as a mantissa
 * times e^scale (rescaled whenever it passes 1e250), so only its logarithm is returned, and the caller
 * combines it with the power of (1 − z) in logs. With positive terms there is no cancellation: the
 * relative error is a few ulps per term summed.
 *
 * The tail test is exact, not heuristic: the ratio of successive terms f(k) = z (a+k)(b+k) / ((c+k)(k+1))
 * is a ratio of quadratics in k, so its supremum over k' ≥ k is the larger of f(k), its limit z and its
 * values at the (at most two) real roots of f′ beyond k; with that supremum ρ < 1 the neglected tail is
 * below term · ρ / (1 − ρ), and the sum stops when that is below 1e-16 of the terms after the
 * leading 1 (so ln(1 + small) keeps its relative precision). Cost: about the index of the largest term
 * (`hyp2f1PeakIndex`) plus a geometric tail. Throws an Error when `maxTerms` (default 5,000,000) are
 * not enough.
 */
export function lnHyp2f1Positive(a: number, b: number, c: number, z: number, maxTerms = 5_000_000): number {
  if (!(a > 0 && b > 0 && c > 0 && Number.isFinite(a + b + c)) || !(z >= 0 && z < 1)) {
    throw new Error(`ln 2F1(${a}, ${b}; ${c}; ${z}): needs finite a, b, c > 0 and 0 ≤ z < 1`);
  }
  if (z === 0) return 0;
  // f′(k) ∝ (c + 1 − a − b) k² + 2 (c − ab) k + (ac + bc − abc − ab): its real roots k1, k2 (NaN if
  // none) and f there; a root only matters while it lies ahead of k.
  const qa = c + 1 - a - b;
  const qb = 2 * (c - a * b);
  const qc = a * c + b * c - a * b * c - a * b;
  let k1 = NaN;
  let k2 = NaN;
  if (qa === 0) {
    if (qb !== 0) k1 = -qc / qb;
  } else {
    const disc = qb * qb - 4 * qa * qc;
    if (disc >= 0) {
      const sq = Math.sqrt(disc);
      const q = -0.5 * (qb + (qb >= 0 ? sq : -sq));
      k1 = q / qa;
      if (q !== 0) k2 = qc / q;
    }
  }
  const f1 = k1 > 0 ? ((a + k1) / (c + k1)) * (((b + k1) / (k1 + 1)) * z) : 0;
  const f2 = k2 > 0 ? ((a + k2) / (c + k2)) * (((b + k2) / (k2 + 1)) * z) : 0;
  const LN_RESCALE = 250 * Math.LN10;
  // The leading 1 is kept apart (`one`, rescaled with the rest) so that a sum close to 1 goes through
  // log1p: ln(1 + 2e-5) from Math.log would keep only ~11 significant digits.
  let one = 1;
  let term = 1;
  let rest = 0;
  let scale = 0;
  let ratio = (a / c) * (b * z); // f(0)
  for (let k = 0; k < maxTerms; k++) {
    term *= ratio;
    rest += term;
    if (term === 0) break;
    if (rest > 1e250) {
      rest *= 1e-250;
      term *= 1e-250;
      one *= 1e-250;
      scale += LN_RESCALE;
    }
    const k1n = k + 1;
    ratio = ((a + k1n) / (c + k1n)) * (((b + k1n) / (k1n + 1)) * z); // f(k + 1)
    let rho = ratio > z ? ratio : z;
    if (k1 > k1n && f1 > rho) rho = f1;
    if (k2 > k1n && f2 > rho) rho = f2;
    // Relative to `rest`, not to the whole sum: the logarithm of a sum near 1 is ~rest, and must keep
    // its relative precision.
    if (rho < 1 && (term * rho) / (1 - rho) <= 1e-16 * rest) {
      return scale === 0 ? Math.log1p(rest) : scale + Math.log(one + rest);
    }
    if (!Number.isFinite(rest)) throw new Error(`ln 2F1(${a}, ${b}; ${c}; ${z}) overflowed`);
    if (k === maxTerms - 1) throw new Error(`ln 2F1(${a}, ${b}; ${c}; ${z}) did not converge in ${maxTerms} terms`);
  }
  return scale === 0 ? Math.log1p(rest) : scale + Math.log(one + rest);
}

/**
 * Index of the largest term of the power series of 2F1(a, b; c; z) (a, b, c > 0, 0 ≤ z < 1): the
 * larger root of z (a+k)(b+k) = (c+k)(k+1), or 0 when the terms only fall. A measure of what a series
 * costs, used to choose between equivalent representations.
 */
export function hyp2f1PeakIndex(a: number, b: number, c: number, z: number): number {
  const A = 1 - z;
  const B = c + 1 - z * (a + b);
  const C = c - z * a * b;
  const disc = B * B - 4 * A * C;
  if (disc < 0) return 0;
  const root = (-B + Math.sqrt(disc)) / (2 * A);
  return root > 0 ? root : 0;
}

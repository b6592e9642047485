/**
 * The statistics of segment insights: intervals for a proportion (Wilson), for a difference and a
 * ratio of two proportions (Newcombe's hybrid score, Donner & Zou's MOVER-R on Wilson limits), for a
 * difference and a ratio of two means (Welch, delta method on the log ratio), standardized effects
 * (Hedges' g, Cohen's h) with their approximate intervals, and the quantiles they need. Pure numeric
 * code, tested against published values (test/insights/stats.test.ts).
 *
 * Why these: Wilson-based intervals keep their coverage near 0 % and 100 % and for small groups, where
 * the textbook Wald interval fails (Newcombe 1998); Welch's interval does not assume equal variances,
 * which segments rarely have; g and h put means and shares on one scale, so distinguishing features
 * of different kinds can be ranked together.
 */

/** An estimate with its interval; `null` where it is undefined (a ratio over zero, an empty group). */
export interface Estimate {
  value: number | null;
  low: number | null;
  high: number | null;
}

export const NONE: Estimate = { value: null, low: null, high: null };

/** Mean, sample standard deviation (n − 1) and count of a group. */
export interface Moments {
  n: number;
  mean: number;
  sd: number;
}

// ---- quantiles ------------------------------------------------------------------------------------

/**
 * Quantile of the standard normal distribution (Wichura's AS 241, PPND16: about 16 correct digits).
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return -Infinity;
    if (p === 1) return Infinity;
    return NaN;
  }
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r
      + 13731.693765509461125) * r + 1971.5909503065514427) * r + 133.14166789178437745) * r + 3.387132872796366608)
      / (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r
        + 5394.1960214247511077) * r + 687.1870074920579083) * r + 42.313330701600911252) * r + 1);
  }
  let r = q < 0 ? p : 1 - p;
  r = Math.sqrt(-Math.log(r));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r + 1.27045825245236838258) * r
      + 3.64784832476320460504) * r + 5.7694972214606914055) * r + 4.6303378461565452959) * r + 1.42343711074968357734)
      / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r + 0.14810397642748007459) * r
        + 0.68976733498510000455) * r + 1.6763848301838038494) * r + 2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r + 0.026532189526576123093) * r
      + 0.29656057182850489123) * r + 1.7848265399172913358) * r + 5.4637849111641143699) * r + 6.6579046435011037772)
      / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r
        + 0.0148753612908506148525) * r + 0.13692988092273580531) * r + 0.59983220655588793769) * r + 1);
  }
  return q < 0 ? -x : x;
}

/**
 * The standard normal distribution function, Φ(x) = erfc(−x/√2)/2, with the Chebyshev fit of erfc
 * from Numerical Recipes (fractional error below 1.2·10⁻⁷ everywhere): ample for p-values.
 */
export function normalCdf(x: number): number {
  const t0 = -x / Math.SQRT2;
  const a = Math.abs(t0);
  const t = 1 / (1 + 0.5 * a);
  const erfcA = t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  const erfc = t0 >= 0 ? erfcA : 2 - erfcA;
  return erfc / 2;
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 digits). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const y = x - 1;
  let a = c[0] as number;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional: Welch). */
export function studentCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** Quantile of Student's t (bisection on the CDF; the normal quantile beyond 10⁷ degrees of freedom). */
export function studentQuantile(p: number, df: number): number {
  if (!(df > 0)) return NaN;
  if (df > 1e7) return normalQuantile(p);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentQuantile(1 - p, df);
  let lo = 0;
  let hi = Math.max(1, normalQuantile(p) * 2);
  while (studentCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The two-sided critical value of the normal distribution for a confidence level (0.95 → 1.959964). */
export function zFor(confidence: number): number {
  return normalQuantile(1 - (1 - confidence) / 2);
}

// ---- proportions ----------------------------------------------------------------------------------

/** Wilson's score interval for k successes in n trials (without continuity correction). */
export function wilson(k: number, n: number, z: number): Estimate {
  if (!(n > 0)) return NONE;
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // at k = 0 (k = n) the limit is exactly 0 (1); the formula leaves rounding dust there
  return { value: p, low: k <= 0 ? 0 : Math.max(0, centre - half), high: k >= n ? 1 : Math.min(1, centre + half) };
}

/**
 * Two-sided p-value of p₁ = p₂: Fisher's exact test where a cell of the 2×2 table expects fewer than
 * 10 profiles (a rare value in a small segment, where the normal approximation is several times too
 * optimistic), else the pooled two-proportion z test (the score test).
 */
export function twoProportionP(k1: number, n1: number, k2: number, n2: number): number | null {
  if (!(n1 > 0 && n2 > 0)) return null;
  const k = k1 + k2;
  const n = n1 + n2;
  if (k === 0 || k === n) return null;
  const expected = Math.min(n1 * k, n1 * (n - k), n2 * k, n2 * (n - k)) / n;
  if (expected < 10) return fisherExactP(k1, n1, k2, n2);
  const pooled = k / n;
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return 2 * (1 - normalCdf(Math.abs(k1 / n1 - k2 / n2) / se));
}

/**
 * Fisher's exact test of a 2×2 table (k₁ of n₁ against k₂ of n₂), two-sided: the probability, given
 * the margins, of every table at most as likely as the one observed (hypergeometric; relative
 * tolerance 10⁻⁷ for ties, as in R's fisher.test).
 */
export function fisherExactP(k1: number, n1: number, k2: number, n2: number): number {
  const k = k1 + k2;
  const n = n1 + n2;
  const lnChoose = (a: number, b: number) => lnGamma(a + 1) - lnGamma(b + 1) - lnGamma(a - b + 1);
  const lnDenominator = lnChoose(n, k);
  const lnP = (x: number) => lnChoose(n1, x) + lnChoose(n2, k - x) - lnDenominator;
  const observed = lnP(k1);
  let p = 0;
  for (let x = Math.max(0, k - n2); x <= Math.min(n1, k); x++) {
    const lp = lnP(x);
    if (lp <= observed + 1e-7) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

/** p₁ − p₂ with Newcombe's hybrid score interval (his method 10: Wilson limits of each proportion). */
export function newcombeDifference(k1: number, n1: number, k2: number, n2: number, z: number): Estimate {
  if (!(n1 > 0 && n2 > 0)) return NONE;
  const a = wilson(k1, n1, z);
  const b = wilson(k2, n2, z);
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const d = p1 - p2;
  const l1 = a.low as number, u1 = a.high as number, l2 = b.low as number, u2 = b.high as number;
  return { value: d, low: d - Math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), high: d + Math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2) };
}

/**
 * p₁ / p₂ with the MOVER-R interval on Wilson limits (Donner & Zou 2012): good coverage for small
 * counts and defined at k₁ = 0. No estimate when p₂ = 0; an unbounded upper limit (null) when the
 * lower Wilson limit of p₂ is 0.
 */
export function moverRatio(k1: number, n1: number, k2: number, n2: number, z: number): Estimate {
  if (!(n1 > 0 && n2 > 0) || k2 === 0) return NONE;
  const a = wilson(k1, n1, z);
  const b = wilson(k2, n2, z);
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const l1 = a.low as number, u1 = a.high as number, l2 = b.low as number, u2 = b.high as number;
  const pp = p1 * p2;
  const low = (pp - Math.sqrt(Math.max(0, pp * pp - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2)))) / (u2 * (2 * p2 - u2));
  const dHigh = l2 * (2 * p2 - l2);
  const high = dHigh > 0 ? (pp + Math.sqrt(Math.max(0, pp * pp - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2)))) / dHigh : null;
  return { value: p1 / p2, low: Math.max(0, low), high };
}

/** Cohen's h = 2·asin√p₁ − 2·asin√p₂ with its interval h ± z·√(1/n₁ + 1/n₂) (variance-stabilised scale). */
export function cohensH(k1: number, n1: number, k2: number, n2: number, z: number): Estimate {
  if (!(n1 > 0 && n2 > 0)) return NONE;
  const h = 2 * Math.asin(Math.sqrt(k1 / n1)) - 2 * Math.asin(Math.sqrt(k2 / n2));
  const half = z * Math.sqrt(1 / n1 + 1 / n2);
  return { value: h, low: h - half, high: h + half };
}

// ---- means ----------------------------------------------------------------------------------------

/**
 * m₁ − m₂ with Welch's interval (unequal variances, Welch–Satterthwaite degrees of freedom) and the
 * two-sided p-value of Welch's t test.
 */
export function welchDifference(a: Moments, b: Moments, confidence: number): Estimate & { df: number | null; p: number | null } {
  if (a.n < 2 || b.n < 2) return { ...NONE, df: null, p: null };
  const va = (a.sd * a.sd) / a.n;
  const vb = (b.sd * b.sd) / b.n;
  const d = a.mean - b.mean;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { value: d, low: d, high: d, df: null, p: null };
  const df = (va + vb) ** 2 / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const t = studentQuantile(1 - (1 - confidence) / 2, df);
  return { value: d, low: d - t * se, high: d + t * se, df, p: 2 * (1 - studentCdf(Math.abs(d) / se, df)) };
}

/**
 * Hedges' g (the standardized mean difference with its small-sample correction J) and its approximate
 * interval g ± z·J·√((n₁+n₂)/(n₁n₂) + d²/(2(n₁+n₂))) (Borenstein et al., Introduction to
 * Meta-Analysis, ch. 4). None when the pooled standard deviation is 0.
 */
export function hedgesG(a: Moments, b: Moments, z: number): Estimate {
  if (a.n < 2 || b.n < 2) return NONE;
  const n = a.n + b.n;
  const sp = Math.sqrt(((a.n - 1) * a.sd * a.sd + (b.n - 1) * b.sd * b.sd) / (n - 2));
  if (!(sp > 0)) return NONE;
  const d = (a.mean - b.mean) / sp;
  const j = 1 - 3 / (4 * n - 9);
  const se = j * Math.sqrt(n / (a.n * b.n) + (d * d) / (2 * n));
  const g = j * d;
  return { value: g, low: g - z * se, high: g + z * se };
}

/**
 * m₁ / m₂ of two positive means, interval by the delta method on the log ratio:
 * exp(ln(m₁/m₂) ± z·√(s₁²/(n₁m₁²) + s₂²/(n₂m₂²))).
 */
export function ratioOfMeans(a: Moments, b: Moments, z: number): Estimate {
  if (a.n < 2 || b.n < 2 || !(a.mean > 0) || !(b.mean > 0)) return NONE;
  const r = a.mean / b.mean;
  const se = Math.sqrt((a.sd * a.sd) / (a.n * a.mean * a.mean) + (b.sd * b.sd) / (b.n * b.mean * b.mean));
  return { value: r, low: r * Math.exp(-z * se), high: r * Math.exp(z * se) };
}

/** Interval of one group's mean (Student's t). */
export function meanInterval(a: Moments, confidence: number): Estimate {
  if (a.n < 1) return NONE;
  if (a.n < 2) return { value: a.mean, low: null, high: null };
  const half = studentQuantile(1 - (1 - confidence) / 2, a.n - 1) * (a.sd / Math.sqrt(a.n));
  return { value: a.mean, low: a.mean - half, high: a.mean + half };
}

/** The moments of the union of two groups (Chan et al.'s pairwise combination). */
export function combine(a: Moments, b: Moments): Moments {
  const n = a.n + b.n;
  if (n === 0) return { n: 0, mean: 0, sd: 0 };
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const mean = (a.n * a.mean + b.n * b.mean) / n;
  const ss = (a.n - 1) * a.sd * a.sd + (b.n - 1) * b.sd * b.sd + ((a.n * b.n) / n) * (a.mean - b.mean) ** 2;
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

// ---- members against the rest, read against the base --------------------------------------------

/**
 * The base is the members plus the rest, so with f = n_members / n_base its value is
 * f·member + (1 − f)·rest, and exactly: member − base = (1 − f)·(member − rest). The interval of a
 * difference against the base is therefore the interval against the rest scaled by (1 − f).
 */
export function differenceVsBase(vsRest: Estimate, f: number): Estimate {
  const s = (x: number | null) => (x === null ? null : (1 - f) * x);
  return { value: s(vsRest.value), low: s(vsRest.low), high: s(vsRest.high) };
}

/**
 * Likewise member / base = R / (f·R + 1 − f) with R = member / rest: increasing in R, so it maps the
 * interval's limits (an unbounded R gives 1 / f).
 */
export function ratioVsBase(vsRest: Estimate, f: number): Estimate {
  const m = (r: number | null, unbounded: number | null) => (r === null ? unbounded : r / (f * r + 1 - f));
  if (vsRest.value === null) return NONE;
  return { value: m(vsRest.value, null), low: m(vsRest.low, 0), high: m(vsRest.high, f > 0 ? 1 / f : null) };
}

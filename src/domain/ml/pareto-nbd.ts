/**
 * Pareto/NBD (Schmittlein, Morrison & Colombo 1987; likelihood and expressions as in Fader & Hardie
 * 2005, "A note on deriving the Pareto/NBD model and related expressions"): while alive a customer buys
 * at a Poisson rate λ ~ Gamma(r, α) and dies after an exponential lifetime of rate μ ~ Gamma(s, β)
 * (unlike BG/NBD, death can happen at any time, not only just after a purchase).
 *
 * The likelihood needs, per customer, the Gauss hypergeometric function
 * 2F1(r+s+x, s+1; r+s+x+1; (α−β)/(α+t)) when α ≥ β, or 2F1(r+s+x, r+x; r+s+x+1; (β−α)/(β+t)) when
 * α < β (Fader & Hardie's choice, which keeps the argument in [0, 1)). Its series is summed here
 * together with its derivatives in the three arguments, so BFGS gets an analytic gradient: a
 * finite-difference gradient would cost 8 extra passes per iteration over a million rows.
 *
 * Large s and β (segmenta issue 5): when every customer has nearly the same dropout rate μ = s / β, the
 * fit drives s and β up together and the series argument w tends to 1, so the series needs ~s terms (it
 * gave up at s ≈ 1,000, and a fit on such data ran for more than ten minutes). The likelihood is
 * therefore written in a normalised form whose pieces stay of order 1 for any s, β, r, α:
 *
 *   L = Γ(r+x)/Γ(r) · { E(T) + K(t_x) − K(T) },
 *   E(u) = (1 + u/α)^−r (α+u)^−x (1 + u/β)^−s               (alive throughout),
 *   K(u) = ∫_u^∞ (1 + v/α)^−r (α+v)^−x (1 + v/β)^−s · s/(β+v) dv   (= s α^r β^s Term(u) / (r+s+x)),
 *
 * (the dead branch is ∫_{t_x}^T E[λ^x e^−λv] E[μ e^−μv] dv, Fader & Hardie 2005 eq. 3 integrated over
 * the two gammas), and K(u) comes from the hypergeometric series when that is cheap, otherwise from a
 * double-exponential quadrature of the integral (`lnKQuadrature`). As s, β → ∞ with s/β = μ, E and K
 * tend to the model with one dropout rate μ for everyone, (1 + u/β)^−s → e^−μu and s/(β+v) → μ, so the
 * fit detects that boundary as BG/NBD's (see fitParetoNbd).
 */
import { InputError } from '../errors.js';
import {
  BOUNDARY_CHECK_CONCENTRATION, BOUNDARY_LR_CRITICAL, boundaryKind, compressRows, indexValues, MIN_FIT_CUSTOMERS,
  fitLogScale, iterationProgress, validateSummary, type IterationCallback,
  type BtydFitOptions, type BtydSummaryInput, type Convergence, boundaryReport, gainWords, type FitBoundary, type TransactionModel,
} from './btyd-data.js';
import { digammaDiff, lgammaDiff } from './special.js';

export interface ParetoNbdParams {
  r: number;
  alpha: number;
  s: number;
  beta: number;
}

export interface ParetoNbdModel extends TransactionModel {
  readonly kind: 'pareto-nbd';
  readonly params: ParetoNbdParams;
  readonly logLikelihood: number;
  readonly customers: number;
  readonly penalizer: number;
  readonly convergence: Convergence;
  /** At the boundary s and β have none (NaN): see `boundary.limitStandardErrors` for r, α and μ. */
  readonly standardErrors: ParetoNbdParams | null;
  /** Set when the fit ended at s, β → ∞ (every customer has the same dropout rate); null otherwise. */
  readonly boundary: FitBoundary | null;
}

function checkParams(p: ParetoNbdParams): void {
  for (const k of ['r', 'alpha', 's', 'beta'] as const) {
    if (!(p[k] > 0) || !Number.isFinite(p[k])) throw new InputError('bad_parameters', `Pareto/NBD: ${k} = ${p[k]} must be a finite positive number`);
  }
}

/** Scratch output of `f21Plus1`: ln F, ∂lnF/∂A, ∂lnF/∂B, ∂lnF/∂w (NaN when the series failed). */
const F21 = new Float64Array(4);

/** Most terms of one series before giving up (the optimiser then treats the point as infeasible). */
const MAX_TERMS = 100_000;

/**
 * ln 2F1(A, B; A + 1; w) for 0 ≤ w < 1 and its partial derivatives, into F21.
 *
 * For B ≤ 1 the power series itself: c_n = A / (A + n) · (B)_n / n! · w^n, with
 * ∂c_n/∂A = c_n · n / (A (A + n)), ∂c_n/∂B = c_n · Σ_{k<n} 1 / (B + k), ∂c_n/∂w = c_n · n / w.
 * For B > 1 Euler's transformation first, F = (1 − w)^(1 − B) G, G = Σ_n (A + 1 − B)_n / (A + 1)_n · w^n:
 * its terms fall like n^(−B) w^n where the original ones grow like n^(B − 2) w^n (they overflow for heavy
 * buyers, B = r + x in the hundreds, and converge slowly as w → 1).
 *
 * In both series the ratio of successive terms stays below w, and the derivative sums carry at most
 * an extra factor n (1 + |ln n|), so the geometric tail bound below covers them too. Returns false
 * (F21 = NaN) when MAX_TERMS are not enough (w within ~1e-4 of 1: only at extreme parameters).
 */
function f21Plus1(A: number, B: number, w: number, withGrad: boolean): boolean {
  if (w === 0) {
    F21[0] = 0; F21[1] = 0; F21[2] = 0; F21[3] = (A * B) / (A + 1);
    return true;
  }
  const tailFactor = w / ((1 - w) * (1 - w));
  let sum = 1;
  let sA = 0;
  let sB = 0;
  let sW = 0;
  if (B > 1) {
    const C = A + 1 - B; // > 0: r + x or s + 1
    let g = 1;
    let hA = 0; // ∂ ln g_n / ∂A
    let hB = 0; // ∂ ln g_n / ∂B
    let n = 1;
    for (; n <= MAX_TERMS; n++) {
      const k = n - 1;
      hA += 1 / (C + k) - 1 / (A + 1 + k);
      hB -= 1 / (C + k);
      g *= ((C + k) / (A + 1 + k)) * w;
      sum += g;
      if (withGrad) {
        sA += g * hA;
        sB += g * hB;
        sW += g * n;
      }
      if (g * (n + 1) * (1 + Math.abs(hA) + Math.abs(hB)) * tailFactor <= 1e-16 * sum) break;
    }
    if (n > MAX_TERMS || !Number.isFinite(sum)) {
      F21.fill(NaN);
      return false;
    }
    const l1w = Math.log1p(-w);
    F21[0] = (1 - B) * l1w + Math.log(sum);
    F21[1] = sA / sum;
    F21[2] = -l1w + sB / sum;
    F21[3] = (B - 1) / (1 - w) + sW / (w * sum);
    return true;
  }
  let q = 1; // (B)_n / n! · w^n
  let h = 0; // Σ_{k<n} 1 / (B + k)
  let n = 1;
  for (; n <= MAX_TERMS; n++) {
    h += 1 / (B + n - 1);
    q *= ((B + n - 1) / n) * w;
    const c = (A * q) / (A + n);
    sum += c;
    if (withGrad) {
      sA += (c * n) / (A * (A + n));
      sB += c * h;
      sW += c * n;
    }
    if (c * (n + 1) * (1 + h) * tailFactor <= 1e-16 * sum) break;
  }
  if (n > MAX_TERMS || !Number.isFinite(sum)) {
    F21.fill(NaN);
    return false;
  }
  F21[0] = Math.log(sum);
  F21[1] = sA / sum;
  F21[2] = sB / sum;
  F21[3] = sW / (w * sum);
  return true;
}

/** Scratch output of `lnTerm`: ln Term(u) and its derivatives in (r, α, s, β). */
const TERM = new Float64Array(5);

/**
 * ln Term(u) = ln 2F1(A, B; A+1; w_u) − A ln(ρ + u), A = r + s + x; (ρ, B, w_u) = (α, s + 1, (α−β)/(α+u))
 * when α ≥ β, (β, r + x, (β−α)/(β+u)) otherwise. A0 = Term(t_x) − Term(T).
 */
function lnTerm(r: number, alpha: number, s: number, beta: number, x: number, u: number, withGrad: boolean): void {
  const A = r + s + x;
  if (alpha >= beta) {
    const au = alpha + u;
    const lau = Math.log(au);
    const w = (alpha - beta) / au;
    f21Plus1(A, s + 1, w, withGrad);
    TERM[0] = (F21[0] as number) - A * lau;
    if (withGrad) {
      const GA = F21[1] as number;
      const GB = F21[2] as number;
      const Gw = F21[3] as number;
      TERM[1] = GA - lau;
      TERM[2] = (Gw * (beta + u)) / (au * au) - A / au;
      TERM[3] = GA + GB - lau;
      TERM[4] = -Gw / au;
    }
  } else {
    const bu = beta + u;
    const lbu = Math.log(bu);
    const w = (beta - alpha) / bu;
    f21Plus1(A, r + x, w, withGrad);
    TERM[0] = (F21[0] as number) - A * lbu;
    if (withGrad) {
      const GA = F21[1] as number;
      const GB = F21[2] as number;
      const Gw = F21[3] as number;
      TERM[1] = GA + GB - lbu;
      TERM[2] = -Gw / bu;
      TERM[3] = GA - lbu;
      TERM[4] = (Gw * (alpha + u)) / (bu * bu) - A / bu;
    }
  }
}

/**
 * Terms the series of `f21Plus1` needs, roughly: its terms fall like w^n, and (Euler form, B > 1) also
 * like ((A + 1 − B)/(A + 1))^n; 40 e-folds reach the 1e-16 tail test.
 */
function seriesCost(r: number, alpha: number, s: number, beta: number, x: number, u: number): number {
  const A = r + s + x;
  const [w, B] = alpha >= beta ? [(alpha - beta) / (alpha + u), s + 1] : [(beta - alpha) / (beta + u), r + x];
  return 40 / (1 - w + (B > 1 ? (B - 1) / (A + 1) : 0));
}

/** Above this many predicted series terms, K(u) is integrated numerically instead (~300 nodes cost about as much as 1,000 terms). */
const SERIES_MAX_COST = 1000;

/** Scratch output of `lnK`: ln K(u) and its derivatives in (r, α, s, β) (NaN when it failed). */
const KU = new Float64Array(5);

/**
 * ln K(u) (see the file comment) with its gradient, into KU. From the series: ln K = ln s − ln A +
 * ln Term(u) + r ln α + s ln β, with the last three terms combined without cancellation; from the
 * quadrature when the series would be long (s and β large, or α far from β with u small).
 */
function lnK(r: number, alpha: number, s: number, beta: number, x: number, u: number, withGrad: boolean): void {
  const shift = lnKShift(r, alpha, s, beta, x, u);
  if (Math.abs(shift) > 1e3 || seriesCost(r, alpha, s, beta, x, u) > SERIES_MAX_COST) {
    lnKQuadrature(r, alpha, s, beta, x, u, withGrad);
    if (Number.isFinite(KU[0] as number)) return;
    // Tails too heavy for the grid (r + s + x below ~0.1): the series, with its own term budget.
  }
  lnKSeries(r, alpha, s, beta, x, u, withGrad, shift);
}

/**
 * −A ln(ρ+u) + r ln α + s ln β, regrouped: with ρ = α, −r ln(1+u/α) − x ln(α+u) − s ln((α+u)/β); with
 * ρ = β, −s ln(1+u/β) − x ln(β+u) − r ln((β+u)/α). ln F nearly cancels its large part (r or s times the
 * log of a ratio far from 1), so when that part is large (|shift| > 1e3: homogeneous rates, r or s in
 * the thousands) the series would lose |shift| · 1e-16 in absolute terms, and `lnK` uses the
 * quadrature, which has no cancellation.
 */
function lnKShift(r: number, alpha: number, s: number, beta: number, x: number, u: number): number {
  return alpha >= beta
    ? -r * Math.log1p(u / alpha) - x * Math.log(alpha + u) - s * Math.log1p((alpha - beta + u) / beta)
    : -s * Math.log1p(u / beta) - x * Math.log(beta + u) - r * Math.log1p((beta - alpha + u) / alpha);
}

/** ln K(u) from the series: ln s − ln A + ln 2F1 + shift; gradient from ln Term's. */
function lnKSeries(r: number, alpha: number, s: number, beta: number, x: number, u: number, withGrad: boolean, shift: number): void {
  lnTerm(r, alpha, s, beta, x, u, withGrad);
  const A = r + s + x;
  KU[0] = Math.log(s) - Math.log(A) + (F21[0] as number) + shift;
  if (withGrad) {
    KU[1] = (TERM[1] as number) - 1 / A + Math.log(alpha);
    KU[2] = (TERM[2] as number) + r / alpha;
    KU[3] = (TERM[3] as number) + 1 / s - 1 / A + Math.log(beta);
    KU[4] = (TERM[4] as number) + s / beta;
  }
}

/**
 * Nodes of the exp-sinh (double-exponential) rule on [0, ∞): τ = exp(π/2 · sinh t) on the grid
 * t = k / 64, k from −5·64 to 6.5·64 (τ from 1e-51 to 1e226, still finite), and the weights dτ/dt. The
 * trapezoidal rule in t converges double-exponentially for integrands analytic near (0, ∞), which this
 * one is (its singularities lie on the negative axis), with power-law tails down to τ^−(r+s+x+1)
 * (Takahasi & Mori 1974). Written here because the pure core takes no numeric dependency.
 */
const DE_KMIN = -5 * 64;
const DE_KMAX = 416;
const DE_TAU = new Float64Array(DE_KMAX - DE_KMIN + 1);
const DE_W = new Float64Array(DE_KMAX - DE_KMIN + 1);
for (let k = DE_KMIN; k <= DE_KMAX; k++) {
  const t = k / 64;
  const tau = Math.exp((Math.PI / 2) * Math.sinh(t));
  DE_TAU[k - DE_KMIN] = tau;
  DE_W[k - DE_KMIN] = tau * (Math.PI / 2) * Math.cosh(t);
}
const DE_SUMS = new Float64Array(5);

/**
 * ln K(u) by quadrature. K(u) = k(u) · J with k(u) the integrand at u and
 * J = ∫_0^∞ (1 + y/A)^−n (1 + y/B)^−m dy, n = r + x, m = s + 1, A = α + u, B = β + u; y = c τ with
 * c = 1 / (n/A + m/B), so the log-integrand starts with slope −1 in τ. The trapezoidal sums are halved
 * in step from 1/2 to 1/64 until two successive ones agree to 1e-11 (the error of the finer is then
 * ~1e-22 by the double-exponential rate; checked against the series to 1e-13 in the tests). All terms
 * are positive, and the gradient comes from the same nodes: ∂ ln J / ∂n = E[−ln(1 + y/A)],
 * ∂ ln J / ∂A = E[n y / (A (A + y))], and likewise for m, B.
 */
function lnKQuadrature(r: number, alpha: number, s: number, beta: number, x: number, u: number, withGrad: boolean): void {
  lnKQuad(r, alpha, s, beta, NaN, x, u, withGrad);
}

/**
 * The quadrature for both the model (s, β finite) and its limit s, β → ∞ with s/β = μ (s = Infinity,
 * μ given), where (1 + y/B)^−m becomes e^−μy and the last two gradient slots are (∂/∂μ, 0).
 */
function lnKQuad(r: number, alpha: number, s: number, beta: number, mu: number, x: number, u: number, withGrad: boolean): void {
  const limit = s === Infinity;
  const n = r + x;
  const m = s + 1;
  const A = alpha + u;
  const B = beta + u;
  const c = 1 / (n / A + (limit ? mu : m / B));
  const cA = c / A;
  const cB = limit ? mu * c : c / B;
  const sums = DE_SUMS;
  sums.fill(0);
  const add = (k: number): number => {
    const j = k - DE_KMIN;
    const tau = DE_TAU[j] as number;
    const l1 = Math.log1p(cA * tau);
    // limit: m ln(1 + y/B) → μ y, which is cB τ
    const l2 = limit ? cB * tau : m * Math.log1p(cB * tau);
    const f = Math.exp(-n * l1 - l2) * (DE_W[j] as number);
    sums[0] = (sums[0] as number) + f;
    if (withGrad) {
      const y = c * tau;
      sums[1] = (sums[1] as number) - f * l1;
      sums[2] = (sums[2] as number) - (limit ? f * y : (f * l2) / m);
      sums[3] = (sums[3] as number) + (f * n * y) / (A * (A + y));
      if (!limit) sums[4] = (sums[4] as number) + (f * m * y) / (B * (B + y));
    }
    return f;
  };
  // Level 0 (step 1/2): sweep out from t = 0 until the terms are negligible past the peak, which also
  // fixes the range [kLo, kHi] the finer levels fill in.
  let step = 32;
  add(0);
  let kHi = 0;
  let tailDone = false;
  for (let k = step; k <= DE_KMAX; k += step) {
    kHi = k;
    const f = add(k);
    const tau = DE_TAU[k - DE_KMIN] as number;
    const slope = 1 - (n * cA * tau) / (1 + cA * tau) - (limit ? cB * tau : (m * cB * tau) / (1 + cB * tau)); // d ln(f/w)/d ln τ + 1
    if (slope < 0 && f <= 1e-20 * (sums[0] as number)) {
      tailDone = true;
      break;
    }
  }
  let kLo = 0;
  for (let k = -step; k >= DE_KMIN; k -= step) {
    kLo = k;
    if (add(k) <= 1e-20 * (sums[0] as number)) break;
  }
  let prev = (sums[0] as number) * (step / 64);
  let converged = false;
  while (step > 1) {
    const half = step / 2;
    for (let k = kLo + half; k < kHi; k += step) add(k);
    step = half;
    const cur = (sums[0] as number) * (step / 64);
    if (Math.abs(cur - prev) <= 1e-11 * cur && step <= 8) {
      converged = true;
      break;
    }
    prev = cur;
  }
  const S = sums[0] as number;
  if (!converged || !tailDone || !(S > 0) || !Number.isFinite(S)) {
    KU.fill(NaN);
    return;
  }
  // ln of the integrand at u: −r ln(1+u/α) − x ln(α+u) − s ln(1+u/β) + ln(s/(β+u)) (limit: −μu + ln μ).
  const lk = -r * Math.log1p(u / alpha) - x * Math.log(alpha + u) + (limit ? Math.log(mu) - mu * u : Math.log(s) - s * Math.log1p(u / beta) - Math.log(B));
  KU[0] = lk + Math.log(c) + Math.log(S * (step / 64));
  if (withGrad) {
    KU[1] = -Math.log1p(u / alpha) + (sums[1] as number) / S;
    KU[2] = (r * u) / (alpha * A) - x / A + (sums[3] as number) / S;
    if (limit) {
      KU[3] = 1 / mu - u + (sums[2] as number) / S;
      KU[4] = 0;
    } else {
      KU[3] = -Math.log1p(u / beta) + 1 / s + (sums[2] as number) / S;
      KU[4] = (s * u) / (beta * B) - 1 / B + (sums[4] as number) / S;
    }
  }
}

/** ln E(T) = −r ln(1 + T/α) − x ln(α + T) − s ln(1 + T/β): the "alive throughout" part of the likelihood. */
function lnAlivePart(p: ParetoNbdParams, x: number, T: number): number {
  return -p.r * Math.log1p(T / p.alpha) - x * Math.log(p.alpha + T) - p.s * Math.log1p(T / p.beta);
}

/** ln(K(t_x) − K(T)) − ln E(T), the log-odds of "dead" in P(alive); −∞ when t_x = T. */
function deadLogOdds(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  if (tx === T) return -Infinity;
  const { r, alpha, s, beta } = p;
  lnK(r, alpha, s, beta, x, tx, false);
  const k1 = KU[0] as number;
  lnK(r, alpha, s, beta, x, T, false);
  const k2 = KU[0] as number;
  if (!Number.isFinite(k1) || !Number.isFinite(k2)) {
    throw new Error(`Pareto/NBD: the hypergeometric series for x = ${x}, t_x = ${tx}, T = ${T} did not converge at r = ${r}, α = ${alpha}, s = ${s}, β = ${beta}`);
  }
  return deadFromK(k1, k2) - lnAlivePart(p, x, T);
}

/**
 * ln(K(t_x) − K(T)) from the two logs. When t_x and T are a rounding error apart (a simulation's day
 * grid can leave them one ulp apart), rounding in K may put K(T) ≥ K(t_x): the true difference is
 * ≈ k(T) (T − t_x), below 1e-14 of E(T) since K(t_x) ≲ E(T), so it counts as 0 (P(alive) = 1 to
 * ~1e-14) instead of becoming the logarithm of a negative number.
 */
function deadFromK(k1: number, k2: number): number {
  return k2 >= k1 ? -Infinity : k1 + Math.log(-Math.expm1(k2 - k1));
}

/** P(alive at T | x, t_x, T). */
export function paretoNbdPAlive(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  return 1 / (1 + Math.exp(deadLogOdds(p, x, tx, T)));
}

/** [1 − q^(s−1)] / (s − 1) with its limit −ln q at s = 1. */
function survivalFactor(s: number, lnq: number): number {
  return s === 1 ? -lnq : -Math.expm1((s - 1) * lnq) / (s - 1);
}

/** E[X(t)] = r β / α · [1 − (β / (β + t))^(s − 1)] / (s − 1): expected purchases of a new customer in (0, t]. */
export function paretoNbdExpected(p: ParetoNbdParams, t: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `Pareto/NBD: horizon t = ${t} must be ≥ 0`);
  return ((p.r * p.beta) / p.alpha) * survivalFactor(p.s, -Math.log1p(t / p.beta));
}

/** Expected purchases in (T, T + t] if alive at T: (r + x)(β + T) / (α + T) · [1 − ((β+T)/(β+T+t))^(s−1)] / (s − 1). */
export function paretoNbdExpectedIfAlive(p: ParetoNbdParams, t: number, x: number, T: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `Pareto/NBD: horizon t = ${t} must be ≥ 0`);
  return (((p.r + x) * (p.beta + T)) / (p.alpha + T)) * survivalFactor(p.s, -Math.log1p(t / (p.beta + T)));
}

/** E[Y(t) | x, t_x, T] = expected purchases if alive × P(alive). */
export function paretoNbdConditionalExpected(p: ParetoNbdParams, t: number, x: number, tx: number, T: number): number {
  return paretoNbdExpectedIfAlive(p, t, x, T) * paretoNbdPAlive(p, x, tx, T);
}

/** Per-row log-likelihood of one customer: ln Γ(r+x)/Γ(r) + ln(E(T) + K(t_x) − K(T)). */
export function paretoNbdRowLogLikelihood(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const lE = lnAlivePart(p, x, T);
  const odds = deadLogOdds(p, x, tx, T);
  return lgammaDiff(p.r, x) + lE + (odds === -Infinity ? 0 : Math.log1p(Math.exp(odds)));
}

/**
 * The likelihood on compressed rows. K(t_x) depends on (x, t_x) only and K(T) on (x, T) only: with
 * day-level data a million customers have a few thousand such pairs, so the series (or quadratures)
 * run once per distinct pair per evaluation and each row only combines them. `evalLimit` is the
 * limit s, β → ∞ with one dropout rate μ for everyone (gradient in r, α, μ).
 */
class ParetoNbdLikelihood {
  readonly n: number;
  readonly W: number;
  private readonly x: Float64Array;
  private readonly tx: Float64Array;
  private readonly T: Float64Array;
  private readonly w: Float64Array;
  private readonly xi: Int32Array;
  private readonly ux: Float64Array;
  private readonly lgR: Float64Array;
  private readonly dR: Float64Array;
  /** Distinct (x, T) pairs: row → pair, pair values, and per evaluation ln K(T) with its gradient (5 per pair). */
  private readonly rowT: Int32Array;
  private readonly pT: Float64Array[];
  private readonly termT: Float64Array;
  /** Distinct (x, t_x) pairs, likewise. */
  private readonly rowTx: Int32Array;
  private readonly pTx: Float64Array[];
  private readonly termTx: Float64Array;

  constructor(x: Float64Array, tx: Float64Array, T: Float64Array, w: Float64Array) {
    const c = compressRows([x, tx, T], w);
    this.x = c.cols[0] as Float64Array;
    this.tx = c.cols[1] as Float64Array;
    this.T = c.cols[2] as Float64Array;
    this.w = c.w;
    this.n = c.n;
    let W = 0;
    for (let i = 0; i < c.n; i++) W += c.w[i] as number;
    this.W = W;
    const iv = indexValues(this.x);
    this.xi = iv.index;
    this.ux = iv.values;
    this.lgR = new Float64Array(this.ux.length);
    this.dR = new Float64Array(this.ux.length);
    // Pairs only over rows that need K (t_x < T).
    const need = new Float64Array(c.n);
    for (let i = 0; i < c.n; i++) need[i] = this.tx[i] === this.T[i] ? 0 : 1;
    const ct = compressRows([this.x, this.T], need);
    const cx = compressRows([this.x, this.tx], need);
    this.rowT = ct.map;
    this.pT = ct.cols;
    this.termT = new Float64Array(ct.n * 5);
    this.rowTx = cx.map;
    this.pTx = cx.cols;
    this.termTx = new Float64Array(cx.n * 5);
  }

  eval(r: number, alpha: number, s: number, beta: number, grad: Float64Array | null): number {
    return this.run(r, alpha, s, beta, NaN, grad);
  }

  /** The limit s, β → ∞, s/β = μ; gradient (r, α, μ) into grad[0..2]. */
  evalLimit(r: number, alpha: number, mu: number, grad: Float64Array | null): number {
    return this.run(r, alpha, Infinity, Infinity, mu, grad);
  }

  private run(r: number, alpha: number, s: number, beta: number, mu: number, grad: Float64Array | null): number {
    const withGrad = grad !== null;
    const limit = s === Infinity;
    const { ux, lgR, dR, termT, termTx } = this;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      lgR[k] = lgammaDiff(r, x);
      if (withGrad) dR[k] = digammaDiff(r, x);
    }
    const fill = (pairs: Float64Array[], out: Float64Array) => {
      const px = pairs[0] as Float64Array;
      const pu = pairs[1] as Float64Array;
      for (let j = 0; j < px.length; j++) {
        if (limit) lnKQuad(r, alpha, Infinity, Infinity, mu, px[j] as number, pu[j] as number, withGrad);
        else lnK(r, alpha, s, beta, px[j] as number, pu[j] as number, withGrad);
        out.set(KU, j * 5);
      }
    };
    fill(this.pT, termT);
    fill(this.pTx, termTx);
    const { x, tx, T, w, xi, rowT, rowTx } = this;
    let ll = 0;
    let gr = 0;
    let gal = 0;
    let gs = 0;
    let gbe = 0;
    for (let i = 0; i < this.n; i++) {
      const wi = w[i] as number;
      const k = xi[i] as number;
      const xv = x[i] as number;
      const Ti = T[i] as number;
      const aT = alpha + Ti;
      const l1a = Math.log1p(Ti / alpha);
      // ln E(T) = −r ln(1+T/α) − x ln(α+T) − s ln(1+T/β) (limit: − μT) and its gradient.
      const l1b = limit ? 0 : Math.log1p(Ti / beta);
      const lE = -r * l1a - xv * Math.log(aT) - (limit ? mu * Ti : s * l1b);
      const e0 = -l1a;
      const e1 = (r * Ti) / (alpha * aT) - xv / aT;
      const e2 = limit ? -Ti : -l1b;
      const e3 = limit ? 0 : (s * Ti) / (beta * (beta + Ti));
      const dRk = withGrad ? (dR[k] as number) : 0;
      if (tx[i] === Ti) {
        ll += wi * ((lgR[k] as number) + lE);
        if (withGrad) { gr += wi * (dRk + e0); gal += wi * e1; gs += wi * e2; gbe += wi * e3; }
        continue;
      }
      const o1 = (rowTx[i] as number) * 5;
      const o2 = (rowT[i] as number) * 5;
      const lk1 = termTx[o1] as number;
      const lk2 = termT[o2] as number;
      const M = Math.max(lE, lk1);
      const q1 = Math.exp(lE - M);
      const q2 = Math.exp(lk1 - M);
      const q3 = Math.exp(lk2 - M);
      const S = q1 + q2 - q3;
      ll += wi * ((lgR[k] as number) + M + Math.log(S));
      if (withGrad) {
        // d ln(E + K1 − K2) = (E d ln E + K1 d ln K1 − K2 d ln K2) / (E + K1 − K2).
        const E1 = q1 / S;
        const E2 = q2 / S;
        const E3 = q3 / S;
        gr += wi * (dRk + E1 * e0 + E2 * (termTx[o1 + 1] as number) - E3 * (termT[o2 + 1] as number));
        gal += wi * (E1 * e1 + E2 * (termTx[o1 + 2] as number) - E3 * (termT[o2 + 2] as number));
        gs += wi * (E1 * e2 + E2 * (termTx[o1 + 3] as number) - E3 * (termT[o2 + 3] as number));
        gbe += wi * (E1 * e3 + E2 * (termTx[o1 + 4] as number) - E3 * (termT[o2 + 4] as number));
      }
    }
    if (grad) {
      grad[0] = gr;
      grad[1] = gal;
      grad[2] = gs;
      if (grad.length > 3) grad[3] = gbe;
    }
    return ll;
  }
}

/**
 * Total (weighted) log-likelihood of a summary at given parameters; when `grad` (length 4) is given,
 * the gradient with respect to (r, α, s, β) is written into it.
 */
export function paretoNbdLogLikelihood(p: ParetoNbdParams, summary: BtydSummaryInput, grad?: Float64Array): number {
  checkParams(p);
  const s = validateSummary(summary, 'Pareto/NBD');
  return new ParetoNbdLikelihood(s.x, s.tx, s.T, s.w).eval(p.r, p.alpha, p.s, p.beta, grad ?? null);
}

/** Parameters of the Pareto/NBD limit s, β → ∞ with one dropout rate μ = s / β for every customer. */
export interface ParetoNbdLimitParams {
  r: number;
  alpha: number;
  /** The dropout rate (per time unit) shared by every customer: lifetimes are exponential with mean 1/μ. */
  mu: number;
}

/**
 * P(alive) in the limit s, β → ∞: the same normalised form with (1 + u/β)^−s → e^−μu and
 * s/(β+v) → μ, i.e. 1 / (1 + (K(t_x) − K(T)) / E(T)) with E(T) = (1 + T/α)^−r (α+T)^−x e^−μT and
 * K(u) = ∫_u^∞ (1 + v/α)^−r (α+v)^−x μ e^−μv dv (by quadrature).
 */
export function paretoNbdLimitPAlive(q: ParetoNbdLimitParams, x: number, tx: number, T: number): number {
  if (tx === T) return 1;
  lnKQuad(q.r, q.alpha, Infinity, Infinity, q.mu, x, tx, false);
  const k1 = KU[0] as number;
  lnKQuad(q.r, q.alpha, Infinity, Infinity, q.mu, x, T, false);
  const k2 = KU[0] as number;
  if (!Number.isFinite(k1) || !Number.isFinite(k2)) throw new Error(`Pareto/NBD limit: the quadrature for x = ${x}, t_x = ${tx}, T = ${T} failed at r = ${q.r}, α = ${q.alpha}, μ = ${q.mu}`);
  const lE = -q.r * Math.log1p(T / q.alpha) - x * Math.log(q.alpha + T) - q.mu * T;
  return 1 / (1 + Math.exp(deadFromK(k1, k2) - lE));
}

/**
 * Expected purchases in (T, T + t] if alive at T, in the limit: (r + x)/(α + T) · (1 − e^−μt)/μ (the
 * posterior mean rate times the expected time alive in the window; the limit of the general formula as
 * (β+T)/(s−1) → 1/μ and ((β+T)/(β+T+t))^(s−1) → e^−μt).
 */
export function paretoNbdLimitExpectedIfAlive(q: ParetoNbdLimitParams, t: number, x: number, T: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `Pareto/NBD: horizon t = ${t} must be ≥ 0`);
  return ((q.r + x) / (q.alpha + T)) * (-Math.expm1(-q.mu * t) / q.mu);
}

/**
 * Total log-likelihood of the limit s, β → ∞ (homogeneous dropout rate μ); when `grad` (length 3) is
 * given, the gradient with respect to (r, α, μ) is written into it.
 */
export function paretoNbdLimitLogLikelihood(q: ParetoNbdLimitParams, summary: BtydSummaryInput, grad?: Float64Array): number {
  if (!(q.r > 0 && q.alpha > 0 && q.mu > 0) || !Number.isFinite(q.r + q.alpha + q.mu)) {
    throw new InputError('bad_parameters', `Pareto/NBD limit: r = ${q.r}, α = ${q.alpha}, μ = ${q.mu} must be finite and positive`);
  }
  const s = validateSummary(summary, 'Pareto/NBD');
  return new ParetoNbdLikelihood(s.x, s.tx, s.T, s.w).evalLimit(q.r, q.alpha, q.mu, grad ?? null);
}

/**
 * ln K(u) and its gradient in (r, α, s, β) (see the file comment), by the series, the quadrature, or
 * the automatic choice the model makes: exposed so tests can check the two methods against each other.
 */
export function paretoNbdLnK(p: ParetoNbdParams, x: number, u: number, method: 'auto' | 'series' | 'quadrature' = 'auto'): Float64Array {
  checkParams(p);
  if (method === 'quadrature') lnKQuadrature(p.r, p.alpha, p.s, p.beta, x, u, true);
  else if (method === 'auto') lnK(p.r, p.alpha, p.s, p.beta, x, u, true);
  else lnKSeries(p.r, p.alpha, p.s, p.beta, x, u, true, lnKShift(p.r, p.alpha, p.s, p.beta, x, u));
  return Float64Array.from(KU);
}

export interface ParetoNbdFitInfo {
  logLikelihood: number;
  customers: number;
  penalizer: number;
  convergence: Convergence;
  standardErrors: ParetoNbdParams | null;
  boundary?: FitBoundary | null;
}

/** A model object from known parameters, without a fit. */
export function paretoNbdModel(params: ParetoNbdParams, fit?: ParetoNbdFitInfo): ParetoNbdModel {
  checkParams(params);
  const p = { ...params };
  return {
    kind: 'pareto-nbd',
    params: p,
    logLikelihood: fit?.logLikelihood ?? NaN,
    customers: fit?.customers ?? 0,
    penalizer: fit?.penalizer ?? 0,
    convergence: fit?.convergence ?? { converged: false, iterations: 0, evaluations: 0, gradNorm: NaN, method: 'none', message: 'parameters given, not fitted' },
    standardErrors: fit?.standardErrors ?? null,
    boundary: fit?.boundary ?? null,
    expected: (t) => paretoNbdExpected(p, t),
    conditionalExpected: (t, x, tx, T) => paretoNbdConditionalExpected(p, t, x, tx, T),
    expectedIfAlive: (t, x, T) => paretoNbdExpectedIfAlive(p, t, x, T),
    pAlive: (x, tx, T) => paretoNbdPAlive(p, x, tx, T),
    medianTimeToNextPurchase: (x, T) => (p.alpha + T) * Math.expm1(Math.LN2 / (p.r + x)),
  };
}

/**
 * The finite s that stands for ∞ at the boundary (β = s / μ). Scores then differ from the exact limit's
 * by O(1/s): (1 + u/β)^−s = e^−μu (1 + O(μ²u²/s)) and s/(β+u) = μ (1 + O(μu/s)), so ~1e-6 relative
 * for μu up to 10 (tested in btyd-boundary.test.ts).
 */
export const PARETO_BOUNDARY_SHAPE = 1e8;

/**
 * Maximum-likelihood fit of Pareto/NBD (BFGS on log-parameters with the analytic gradient; Nelder–Mead
 * restarts if BFGS stalls). Same contract as `fitBgNbd`. β is weakly identified on small samples (a
 * flat ridge in β/s): expect fitters to agree on the log-likelihood to 0.01 but on β only to ~1e-2.
 *
 * Boundary: as for BG/NBD. When every customer has the same dropout rate, the likelihood rises along
 * s, β → ∞ with s/β = μ; without a penalizer, a fit ending with s > 100 (or unconverged) is compared
 * with the exactly fitted limit (r, α, μ), and when the limit is at least as likely the model returned
 * is the limit, with s = 1e8 and β = 1e8 / μ standing for it, reported in `boundary`; a finite s ≥ 1,000
 * that is not significantly more likely is kept and reported as near the boundary.
 */
export function fitParetoNbd(summary: BtydSummaryInput, opts: BtydFitOptions = {}): ParetoNbdModel {
  const sm = validateSummary(summary, 'Pareto/NBD');
  const pen = opts.penalizer ?? 0;
  if (!(pen >= 0) || !Number.isFinite(pen)) throw new InputError('bad_penalizer', `Pareto/NBD: penalizer ${pen} must be ≥ 0`);
  const lik = new ParetoNbdLikelihood(sm.x, sm.tx, sm.T, sm.w);
  let sx = 0;
  let sT = 0;
  for (let i = 0; i < sm.n; i++) {
    sx += (sm.w[i] as number) * (sm.x[i] as number);
    sT += (sm.w[i] as number) * (sm.T[i] as number);
  }
  if (!(lik.W >= MIN_FIT_CUSTOMERS)) throw new InputError('too_few_customers', `Pareto/NBD: ${lik.W} customers; at least ${MIN_FIT_CUSTOMERS} are needed to fit 4 parameters`);
  if (!(sx > 0)) throw new InputError('no_repeat_purchases', 'Pareto/NBD: no customer has a repeat purchase, so purchase and drop-out rates cannot be estimated');
  if (!(sT > 0)) throw new InputError('no_exposure', 'Pareto/NBD: every customer has age T = 0');
  const init = opts.initial ?? {};
  const r0 = init['r'] ?? 1;
  const meanT = sT / lik.W;
  const theta0 = [Math.log(r0), Math.log(init['alpha'] ?? (r0 * sT) / sx), Math.log(init['s'] ?? 1), Math.log(init['beta'] ?? meanT)];
  const W = lik.W;
  const progress = (label: string) => iterationProgress(opts, label);
  const fit = fitLogScale((v, grad) => lik.eval(v[0] as number, v[1] as number, v[2] as number, v[3] as number, grad), theta0, W, pen, opts, progress('Pareto/NBD'));
  if (!Number.isFinite(fit.f)) throw new InputError('fit_failed', `Pareto/NBD: the likelihood could not be evaluated (${fit.convergence.message})`);
  const [r, alpha, shape, beta] = fit.values as [number, number, number, number];
  const params: ParetoNbdParams = { r, alpha, s: shape, beta };
  const logLikelihood = lik.eval(params.r, params.alpha, params.s, params.beta, null);
  const convergence = fit.convergence;
  let near: FitBoundary | null = null;
  if (pen === 0 && (params.s > BOUNDARY_CHECK_CONCENTRATION || !convergence.converged)) {
    const limit = fitLimit(lik, params, opts, progress('Pareto/NBD limit s, β → ∞'));
    const kind = limit ? boundaryKind(logLikelihood, limit.logLikelihood, W, params.s) : null;
    if (limit && kind === 'limit') return boundaryModel(lik, params, logLikelihood, limit, convergence);
    if (limit && kind === 'near') near = nearBoundary(params, logLikelihood, limit);
  }
  const se = fit.standardErrors();
  return paretoNbdModel(params, {
    logLikelihood,
    customers: W,
    penalizer: pen,
    convergence,
    standardErrors: se ? { r: se[0] as number, alpha: se[1] as number, s: se[2] as number, beta: se[3] as number } : null,
    boundary: near,
  });
}

interface LimitFit {
  params: ParetoNbdLimitParams;
  logLikelihood: number;
  standardErrors: ParetoNbdLimitParams | null;
  convergence: Convergence;
}

/** Maximum likelihood of the limit s, β → ∞ over (ln r, ln α, ln μ), started from a full fit. */
function fitLimit(lik: ParetoNbdLikelihood, start: ParetoNbdParams, opts: BtydFitOptions, onIteration: IterationCallback | undefined): LimitFit | null {
  const theta0 = [Math.log(start.r), Math.log(start.alpha), Math.log(start.s / start.beta)];
  const fit = fitLogScale((v, grad) => lik.evalLimit(v[0] as number, v[1] as number, v[2] as number, grad), theta0, lik.W, 0, opts, onIteration);
  if (!Number.isFinite(fit.f)) return null;
  const [r, alpha, mu] = fit.values as [number, number, number];
  const params: ParetoNbdLimitParams = { r, alpha, mu };
  const se = fit.standardErrors();
  return {
    params,
    logLikelihood: lik.evalLimit(params.r, params.alpha, params.mu, null),
    standardErrors: se ? { r: se[0] as number, alpha: se[1] as number, mu: se[2] as number } : null,
    convergence: fit.convergence,
  };
}

function boundaryModel(lik: ParetoNbdLikelihood, interior: ParetoNbdParams, interiorLL: number, limit: LimitFit, interiorConvergence: Convergence): ParetoNbdModel {
  const q = limit.params;
  const S = PARETO_BOUNDARY_SHAPE;
  const params: ParetoNbdParams = { r: q.r, alpha: q.alpha, s: S, beta: S / q.mu };
  const gain = limit.logLikelihood - interiorLL;
  const message =
    `The maximum-likelihood estimate lies on the edge of the parameter space: s and β grow without bound (the ` +
    `optimiser had reached s = ${interior.s.toPrecision(3)}) with s / β ≈ ${(interior.s / interior.beta).toPrecision(3)}, the likelihood ` +
    `still creeping up. In words: the data show no customer-to-customer variation in how fast customers lapse; every ` +
    `customer has the same dropout rate μ = ${q.mu.toPrecision(3)} per time unit (an expected lifetime of ${(1 / q.mu).toPrecision(3)} ` +
    `units). The limiting model (r, α and one dropout rate μ) was fitted exactly: log-likelihood ${limit.logLikelihood.toFixed(4)}, ` +
    `${gainWords(gain)} the best finite s, β found. ` +
    `The parameters returned stand for that limit: s = ${S.toExponential(0).replace("+", "")}, β = s / μ (s = ${S.toExponential(0).replace("+", "")} represents ∞; ` +
    `scores differ from the exact limit's by O(1/s)). s and β have no standard errors; see limitStandardErrors for r, α and μ.`;
  const boundary = boundaryReport('dropout rate homogeneous (s, β → ∞)', 'limit', message, limit, interior, interiorLL, { s: S });
  const c = limit.convergence;
  return paretoNbdModel(params, {
    logLikelihood: lik.eval(params.r, params.alpha, params.s, params.beta, null),
    customers: lik.W,
    penalizer: 0,
    convergence: { ...c, evaluations: c.evaluations + interiorConvergence.evaluations, message: `limit s, β → ∞ fitted: ${c.message} (full model: ${interiorConvergence.message})` },
    standardErrors: limit.standardErrors ? { r: limit.standardErrors.r, alpha: limit.standardErrors.alpha, s: NaN, beta: NaN } : null,
    boundary,
  });
}

/** The report for a finite but huge s whose gain over the limit is not significant. */
function nearBoundary(interior: ParetoNbdParams, interiorLL: number, limit: LimitFit): FitBoundary {
  const q = limit.params;
  const lr = 2 * (interiorLL - limit.logLikelihood);
  return boundaryReport('dropout rate homogeneous (s, β → ∞)', 'interior',
      `s and β are large (s = ${interior.s.toPrecision(3)}): the dropout rate barely varies between customers (mean ` +
      `${(interior.s / interior.beta).toPrecision(3)} per time unit, spread ±${(100 / Math.sqrt(interior.s)).toPrecision(2)} % of that). This finite ` +
      `estimate is the maximum likelihood and was kept, but it is not significantly more likely than the limit in which every ` +
      `customer has the same dropout rate μ = ${q.mu.toPrecision(3)} (likelihood ratio ${lr.toFixed(3)} < ${BOUNDARY_LR_CRITICAL.toFixed(2)}, ` +
      `the 5 % critical value on a boundary).`,
    limit, interior, interiorLL, {});
}

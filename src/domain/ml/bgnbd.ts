/**
 * BG/NBD ("beta-geometric / negative binomial distribution", Fader, Hardie & Lee 2005, "Counting your
 * customers the easy way"): while alive a customer buys at a Poisson rate λ ~ Gamma(r, α); after each
 * purchase they drop out with probability p ~ Beta(a, b). Fitted by maximum likelihood on per-customer
 * summaries (x repeat purchases, last purchase at t_x, age T), it gives P(alive), expected purchases
 * over a horizon (the input of predicted CLV) and the expected purchases of a new customer.
 *
 * Speed: the likelihood is evaluated on the distinct (x, t_x, T) rows with their counts, the ln Γ / ψ
 * terms once per distinct x, and the analytic gradient goes to BFGS on log-parameters, so a fit is a
 * few dozen passes over the distinct rows (1M customers fit in well under a second).
 *
 * The boundary (segmenta issue 5): when every customer has the same dropout probability, the
 * maximum-likelihood estimate lies at a + b → ∞ with a / (a + b) = p fixed (the beta distribution
 * collapses to a point). The fit detects it by also fitting that limiting model (r, α, p) exactly and
 * comparing likelihoods, returns finite parameters standing for it (a + b = BOUNDARY_CONCENTRATION) and
 * reports it in `boundary`. Every per-customer quantity is computed stably for any finite a, b, r, α:
 * in logs, with whichever of two equivalent positive-term hypergeometric series is cheaper.
 */
import { InputError } from '../errors.js';
import {
  BOUNDARY_CHECK_CONCENTRATION, BOUNDARY_LR_CRITICAL, boundaryKind, compressRows, hessianFromGradient, indexValues, MIN_FIT_CUSTOMERS,
  fitLogScale, iterationProgress, standardErrorsFromHessian, validateSummary, type IterationCallback,
  type BtydFitOptions, type BtydSummaryInput, type Convergence, boundaryReport, gainWords, type FitBoundary, type TransactionModel,
} from './btyd-data.js';
import { minimize } from './optimize.js';
import { digammaDiff, hyp2f1, hyp2f1PeakIndex, lgammaDiff, lnHyp2f1Positive } from './special.js';

export interface BgNbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

export interface BgNbdModel extends TransactionModel {
  readonly kind: 'bgnbd';
  readonly params: BgNbdParams;
  /** Total log-likelihood at the parameters (weighted; without the penalty). */
  readonly logLikelihood: number;
  /** Customers (sum of weights) the model was fitted on. */
  readonly customers: number;
  readonly penalizer: number;
  readonly convergence: Convergence;
  /**
   * Asymptotic standard errors (inverse observed information, delta method), null when not available.
   * At the boundary a and b have none (NaN): see `boundary.limitStandardErrors` for r, α and p.
   */
  readonly standardErrors: BgNbdParams | null;
  /** Set when the fit ended at a + b → ∞ (every customer has the same dropout probability); null otherwise. */
  readonly boundary: FitBoundary | null;
  /** P(at least one purchase in (T, T + t]) for a customer with summary (x, tx, T). */
  probPurchaseWithin(t: number, x: number, tx: number, T: number): number;
}

function checkParams(p: BgNbdParams): void {
  for (const k of ['r', 'alpha', 'a', 'b'] as const) {
    if (!(p[k] > 0) || !Number.isFinite(p[k])) throw new InputError('bad_parameters', `BG/NBD: ${k} = ${p[k]} must be a finite positive number`);
  }
}

/** ln of the odds "dropped out at the last purchase" : "alive", given x ≥ 1 repeat purchases. */
function deadLogOdds(p: BgNbdParams, x: number, tx: number, T: number): number {
  // (r + x) ln((α+T)/(α+t_x)) via log1p: for large α (homogeneous purchase rates) the two logs would
  // cancel, and r + x multiplies the rounding error.
  return Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * Math.log1p((T - tx) / (p.alpha + tx));
}

/** P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)). */
export function bgnbdPAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  return 1 / (1 + Math.exp(deadLogOdds(p, x, tx, T)));
}

/**
 * E[Y(t) | alive at T, x] = (a + b + x − 1) / (a − 1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z)],
 * z = t / (α+T+t). Three equivalent evaluations of the bracket, chosen by what stays finite and cheap:
 *
 * - O (original): 1 − exp((r+x) ln(1−z) + ln 2F1(r+x, b+x; a+b+x−1; z)), a series of positive terms
 *   whenever a + b + x − 1 > 0. Its terms peak near k ≈ (r+x) q / (1 − q), q ≈ z b / (a + b): cheap
 *   when the dropout probability is concentrated (large a, b), where the Euler form is hopeless.
 * - E (Euler's transformation): 1 − exp((a−1) ln(1−z) + ln 2F1(a+b−1−r, a−1; a+b+x−1; z)), positive
 *   terms when a > 1 and a + b − 1 > r, peak near (a−1) z / (1−z): cheap for small a and long
 *   horizons (z → 1), where O's terms decay slowly.
 *   Both are summed in logs (`lnHyp2f1Positive`), so a series of size e^30000 times a power of (1 − z)
 *   of size e^−30000 (a = 7e5, the repro of issue 5) gives its O(1) product without overflow.
 * - For a < 1 (CDNOW's a = 0.79: the validated path) the Euler form through `hyp2f1`, as before; it is
 *   left only when its first parameter a + b − 1 − r is negative (huge r), whose alternating terms
 *   would cancel, for O.
 */
function aliveExpectation(p: BgNbdParams, t: number, x: number, T: number, a: number): number {
  const { r, alpha, b } = p;
  const z = t / (alpha + T + t);
  const C = a + b + x - 1;
  const n = r + x;
  const eulerA = a + b - 1 - r;
  if (a < 1 && (eulerA >= 0 || !(C > 0))) {
    const f = hyp2f1(eulerA, a - 1, C, z);
    return (C / (a - 1)) * (1 - Math.exp((a - 1) * Math.log1p(-z)) * f);
  }
  const ln1z = -Math.log1p(t / (alpha + T)); // ln(1 − z) without the rounding of 1 − z
  const eulerOk = a > 1 && eulerA > 0;
  const originalOk = C > 0;
  let useEuler = eulerOk && !originalOk;
  if (eulerOk && originalOk) useEuler = hyp2f1PeakIndex(eulerA, a - 1, C, z) < hyp2f1PeakIndex(b + x, n, C, z);
  const lnPart = useEuler ? (a - 1) * ln1z + lnHyp2f1Positive(eulerA, a - 1, C, z) : n * ln1z + lnHyp2f1Positive(b + x, n, C, z);
  return (C / (a - 1)) * -Math.expm1(lnPart);
}

function expectedAlive(p: BgNbdParams, t: number, x: number, T: number): number {
  if (t === 0) return 0;
  // a = 1 is a removable singularity (0 / 0): average the two sides.
  if (Math.abs(p.a - 1) < 1e-7) return (aliveExpectation(p, t, x, T, 1 - 1e-5) + aliveExpectation(p, t, x, T, 1 + 1e-5)) / 2;
  return aliveExpectation(p, t, x, T, p.a);
}

/** E[X(t)]: expected repeat purchases of a new customer in (0, t]. */
export function bgnbdExpected(p: BgNbdParams, t: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `BG/NBD: horizon t = ${t} must be ≥ 0`);
  return expectedAlive(p, t, 0, 0);
}

/**
 * Expected purchases in (T, T + t] of a customer alive at T with x repeat purchases:
 * (a + b + x − 1) / (a − 1) · [1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))].
 */
export function bgnbdExpectedIfAlive(p: BgNbdParams, t: number, x: number, T: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `BG/NBD: horizon t = ${t} must be ≥ 0`);
  return expectedAlive(p, t, x, T);
}

/** E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] of a customer with that history. */
export function bgnbdConditionalExpected(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `BG/NBD: horizon t = ${t} must be ≥ 0`);
  if (x === 0) return expectedAlive(p, t, 0, T);
  return expectedAlive(p, t, x, T) / (1 + Math.exp(deadLogOdds(p, x, tx, T)));
}

/**
 * P(at least one purchase in (T, T + t] | x, t_x, T). Under BG/NBD a customer alive at T cannot drop
 * out before their next purchase, so this is P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).
 */
export function bgnbdProbPurchaseWithin(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  return bgnbdPAlive(p, x, tx, T) * -Math.expm1(-(p.r + x) * Math.log1p(t / (p.alpha + T)));
}

/**
 * ln of the λ-part of the likelihood, r ln α − (r + x) ln(α + u), as −r ln(1 + u/α) − x ln(α + u): the
 * same number without the cancellation of r ln α against r ln(α + u) when r and α are large.
 */
function lnRatePart(r: number, alpha: number, x: number, u: number): number {
  return -r * Math.log1p(u / alpha) - x * Math.log(alpha + u);
}

/** Per-row log-likelihood of one customer (for tests and small cases; the fit uses the vectorised form). */
export function bgnbdRowLogLikelihood(p: BgNbdParams, x: number, tx: number, T: number): number {
  // ln Γ(r+x)/Γ(r) and ln B(a, b+x)/B(a, b) = ln Γ(b+x)/Γ(b) − ln Γ(a+b+x)/Γ(a+b), as stable differences.
  const A12 = lgammaDiff(p.r, x) + lgammaDiff(p.b, x) - lgammaDiff(p.a + p.b, x);
  const A3 = lnRatePart(p.r, p.alpha, x, T);
  if (x === 0) return A12 + A3;
  const A4 = Math.log(p.a) - Math.log(p.b + x - 1) + lnRatePart(p.r, p.alpha, x, tx);
  const m = Math.max(A3, A4);
  return A12 + m + Math.log(Math.exp(A3 - m) + Math.exp(A4 - m));
}

// ---------------------------------------------------------------------------------------------------
// The limit a + b → ∞, a / (a + b) = p: every customer drops out with the same probability p after each
// purchase.
//
// Derivation. Given λ, a customer alive at T buys at rate λ; each purchase is, independently with
// probability p, their last. The "last" purchases form a Poisson process of rate λp (thinning), so the
// customer is still alive at T + s with probability e^(−λps), and expected purchases in (T, T + t] are
// ∫_0^t λ e^(−λps) ds = (1 − e^(−λpt)) / p (the last purchase counts: it happens while alive). Given
// the history and being alive at T, the likelihood in λ is (1 − p)^x λ^x e^(−λT), so λ | alive ~
// Gamma(r + x, α + T) and E[e^(−λpt)] = ((α+T)/(α+T+pt))^(r+x):
//
//   E[Y(t) | alive, x, T] = (1 / p) · [1 − ((α+T)/(α+T+pt))^(r+x)],   E[X(t)] = the same at x = T = 0.
//
// The history's likelihood is (1−p)^x λ^x e^(−λT) (alive) + [x > 0] p (1−p)^(x−1) λ^x e^(−λ t_x)
// (dropped at the last purchase); over λ ~ Gamma(r, α):
//
//   L = Γ(r+x)/Γ(r) α^r (1−p)^x [ (α+T)^−(r+x) + [x > 0] p/(1−p) (α+t_x)^−(r+x) ],
//   P(alive) = 1 / (1 + [x > 0] p/(1−p) ((α+T)/(α+t_x))^(r+x)).
//
// These are the limits of the general formulas: (a+b+x−1)/(a−1) → 1/p, a/(b+x−1) → p/(1−p),
// B(a, b+x)/B(a, b) → (1−p)^x, and term by term (b+x)_k/(a+b+x−1)_k → (1−p)^k, so 2F1(r+x, b+x;
// a+b+x−1; z) → (1 − (1−p)z)^−(r+x) with 1 − (1−p)z = (α+T+pt)/(α+T+t). The general formula differs
// from the limit by O(1/a): the posterior of p given alive is Beta(a, b + x), whose mean is shifted by
// x/(a+b) and whose relative spread is ~1/√a.
// ---------------------------------------------------------------------------------------------------

/** Parameters of the BG/NBD limit with a homogeneous dropout probability p (a + b → ∞). */
export interface BgNbdLimitParams {
  r: number;
  alpha: number;
  /** The dropout probability after each purchase, the same for every customer (a / (a + b)). */
  p: number;
}

/** P(alive) in the limit: 1 / (1 + [x > 0] p/(1−p) ((α+T)/(α+t_x))^(r+x)). */
export function bgnbdLimitPAlive(q: BgNbdLimitParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  return 1 / (1 + Math.exp(Math.log(q.p) - Math.log1p(-q.p) + (q.r + x) * Math.log1p((T - tx) / (q.alpha + tx))));
}

/** Expected purchases in (T, T + t] if alive, in the limit: (1/p) [1 − ((α+T)/(α+T+pt))^(r+x)]. */
export function bgnbdLimitExpectedIfAlive(q: BgNbdLimitParams, t: number, x: number, T: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `BG/NBD: horizon t = ${t} must be ≥ 0`);
  return -Math.expm1(-(q.r + x) * Math.log1p((q.p * t) / (q.alpha + T))) / q.p;
}

/** E[X(t)] of a new customer in the limit: (1/p) [1 − (α/(α+pt))^r]. */
export function bgnbdLimitExpected(q: BgNbdLimitParams, t: number): number {
  return bgnbdLimitExpectedIfAlive(q, t, 0, 0);
}

/** E[Y(t) | x, t_x, T] in the limit. */
export function bgnbdLimitConditionalExpected(q: BgNbdLimitParams, t: number, x: number, tx: number, T: number): number {
  return bgnbdLimitExpectedIfAlive(q, t, x, T) * bgnbdLimitPAlive(q, x, tx, T);
}

/** Per-row log-likelihood in the limit (see the derivation above). */
export function bgnbdLimitRowLogLikelihood(q: BgNbdLimitParams, x: number, tx: number, T: number): number {
  const A12 = lgammaDiff(q.r, x) + x * Math.log1p(-q.p);
  const A3 = lnRatePart(q.r, q.alpha, x, T);
  if (x === 0) return A12 + A3;
  const A4 = Math.log(q.p) - Math.log1p(-q.p) + lnRatePart(q.r, q.alpha, x, tx);
  const m = Math.max(A3, A4);
  return A12 + m + Math.log(Math.exp(A3 - m) + Math.exp(A4 - m));
}

/**
 * The likelihood on compressed rows, with its gradient: in (r, α, a, b) for the full model, in
 * (r, α, η) with η = logit p for the limit a + b → ∞ (`evalLimit`). Both share the row loop; only the
 * per-x terms differ (ln B(a, b+x)/B(a, b) and ln a/(b+x−1) in general, x ln(1−p) and ln p/(1−p) in the
 * limit).
 */
class BgNbdLikelihood {
  readonly n: number;
  readonly W: number;
  private readonly x: Float64Array;
  private readonly tx: Float64Array;
  private readonly T: Float64Array;
  private readonly w: Float64Array;
  private readonly xi: Int32Array;
  private readonly ux: Float64Array;
  // Per distinct x, recomputed per evaluation.
  private readonly lgR: Float64Array;
  private readonly lA2: Float64Array;
  private readonly lA4: Float64Array;
  private readonly dR: Float64Array;
  /** ∂A2/∂θ3, ∂A2/∂θ4 and the factors of the "dropped" weight w4 in ∂/∂θ3, ∂/∂θ4 (θ3, θ4 = a, b or η, −). */
  private readonly d3: Float64Array;
  private readonly d4: Float64Array;
  private readonly c3: Float64Array;
  private readonly c4: Float64Array;

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
    const k = this.ux.length;
    this.lgR = new Float64Array(k);
    this.lA2 = new Float64Array(k);
    this.lA4 = new Float64Array(k);
    this.dR = new Float64Array(k);
    this.d3 = new Float64Array(k);
    this.d4 = new Float64Array(k);
    this.c3 = new Float64Array(k);
    this.c4 = new Float64Array(k);
  }

  private prepareRate(r: number, withGrad: boolean): void {
    const { ux, lgR, dR } = this;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      lgR[k] = lgammaDiff(r, x);
      dR[k] = withGrad ? digammaDiff(r, x) : 0;
    }
  }

  /** Total weighted log-likelihood; when grad is given, d LL / d(r, α, a, b) is written into it. */
  eval(r: number, alpha: number, a: number, b: number, grad: Float64Array | null): number {
    const { ux, lA2, lA4, d3, d4, c3, c4 } = this;
    const withGrad = grad !== null;
    this.prepareRate(r, withGrad);
    const la = Math.log(a);
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      if (x === 0) {
        lA2[k] = 0; lA4[k] = -Infinity; d3[k] = 0; d4[k] = 0; c3[k] = 0; c4[k] = 0;
        continue;
      }
      // ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x) as stable differences (a + b may be ~1e7).
      lA2[k] = lgammaDiff(b, x) - lgammaDiff(a + b, x);
      lA4[k] = la - Math.log(b + x - 1);
      if (withGrad) {
        const dab = digammaDiff(a + b, x);
        d3[k] = -dab;
        d4[k] = digammaDiff(b, x) - dab;
        c3[k] = 1 / a;
        c4[k] = -1 / (b + x - 1);
      }
    }
    return this.rows(r, alpha, grad);
  }

  /** The limit a + b → ∞ with dropout probability p; when grad is given, d LL / d(r, α, logit p) goes into grad[0..2]. */
  evalLimit(r: number, alpha: number, p: number, grad: Float64Array | null): number {
    const { ux, lA2, lA4, d3, d4, c3, c4 } = this;
    const withGrad = grad !== null;
    this.prepareRate(r, withGrad);
    const l1p = Math.log1p(-p);
    const lodds = Math.log(p) - l1p;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      lA2[k] = x * l1p;
      lA4[k] = x === 0 ? -Infinity : lodds;
      d3[k] = -x * p; // ∂(x ln(1−p))/∂η with dp/dη = p(1−p)
      c3[k] = x === 0 ? 0 : 1; // ∂ ln(p/(1−p))/∂η
      d4[k] = 0;
      c4[k] = 0;
    }
    return this.rows(r, alpha, grad);
  }

  private rows(r: number, alpha: number, grad: Float64Array | null): number {
    const { x, tx, T, w, xi, lgR, lA2, lA4, dR, d3, d4, c3, c4 } = this;
    let ll = 0;
    let gr = 0;
    let gal = 0;
    let g3 = 0;
    let g4 = 0;
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const wi = w[i] as number;
      const k = xi[i] as number;
      const xv = x[i] as number;
      const Ti = T[i] as number;
      const aT = alpha + Ti;
      const lT = Math.log(aT);
      const l1T = Math.log1p(Ti / alpha);
      // r ln α − (r + x) ln(α + T), written without the cancellation of r ln α against r ln(α + T).
      const A3 = -r * l1T - xv * lT;
      const dA3a = (r * Ti) / (alpha * aT) - xv / aT;
      if (xv === 0) {
        ll += wi * A3;
        if (grad) {
          gr -= wi * l1T;
          gal += wi * dA3a;
        }
        continue;
      }
      const txi = tx[i] as number;
      const at = alpha + txi;
      const l1t = Math.log1p(txi / alpha);
      const A4 = (lA4[k] as number) - r * l1t - xv * Math.log(at);
      let m: number;
      let w3: number;
      let w4: number;
      if (A3 >= A4) {
        const e = Math.exp(A4 - A3);
        m = A3 + Math.log1p(e);
        w3 = 1 / (1 + e);
        w4 = e * w3;
      } else {
        const e = Math.exp(A3 - A4);
        m = A4 + Math.log1p(e);
        w4 = 1 / (1 + e);
        w3 = e * w4;
      }
      ll += wi * ((lgR[k] as number) + (lA2[k] as number) + m);
      if (grad) {
        gr += wi * ((dR[k] as number) - w3 * l1T - w4 * l1t);
        gal += wi * (w3 * dA3a + w4 * ((r * txi) / (alpha * at) - xv / at));
        g3 += wi * ((d3[k] as number) + w4 * (c3[k] as number));
        g4 += wi * ((d4[k] as number) + w4 * (c4[k] as number));
      }
    }
    if (grad) {
      grad[0] = gr;
      grad[1] = gal;
      grad[2] = g3;
      if (grad.length > 3) grad[3] = g4;
    }
    return ll;
  }
}

/**
 * Total (weighted) log-likelihood of a summary at given parameters; when `grad` (length 4) is given,
 * the gradient with respect to (r, α, a, b) is written into it.
 */
export function bgnbdLogLikelihood(p: BgNbdParams, summary: BtydSummaryInput, grad?: Float64Array): number {
  checkParams(p);
  const s = validateSummary(summary, 'BG/NBD');
  return new BgNbdLikelihood(s.x, s.tx, s.T, s.w).eval(p.r, p.alpha, p.a, p.b, grad ?? null);
}

/**
 * Total log-likelihood of the limit a + b → ∞ (homogeneous dropout probability p); when `grad`
 * (length 3) is given, the gradient with respect to (r, α, p) is written into it.
 */
export function bgnbdLimitLogLikelihood(q: BgNbdLimitParams, summary: BtydSummaryInput, grad?: Float64Array): number {
  if (!(q.r > 0 && q.alpha > 0 && q.p > 0 && q.p < 1) || !Number.isFinite(q.r + q.alpha)) {
    throw new InputError('bad_parameters', `BG/NBD limit: r = ${q.r}, α = ${q.alpha} must be finite and positive, 0 < p = ${q.p} < 1`);
  }
  const s = validateSummary(summary, 'BG/NBD');
  const ll = new BgNbdLikelihood(s.x, s.tx, s.T, s.w).evalLimit(q.r, q.alpha, q.p, grad ?? null);
  if (grad) grad[2] = (grad[2] as number) / (q.p * (1 - q.p)); // from logit p to p
  return ll;
}

export interface BgNbdFitInfo {
  logLikelihood: number;
  customers: number;
  penalizer: number;
  convergence: Convergence;
  standardErrors: BgNbdParams | null;
  boundary?: FitBoundary | null;
}

/** A model object from known parameters (e.g. published ones), without a fit. */
export function bgnbdModel(params: BgNbdParams, fit?: BgNbdFitInfo): BgNbdModel {
  checkParams(params);
  const p = { ...params };
  return {
    kind: 'bgnbd',
    params: p,
    logLikelihood: fit?.logLikelihood ?? NaN,
    customers: fit?.customers ?? 0,
    penalizer: fit?.penalizer ?? 0,
    convergence: fit?.convergence ?? { converged: false, iterations: 0, evaluations: 0, gradNorm: NaN, method: 'none', message: 'parameters given, not fitted' },
    standardErrors: fit?.standardErrors ?? null,
    boundary: fit?.boundary ?? null,
    expected: (t) => bgnbdExpected(p, t),
    conditionalExpected: (t, x, tx, T) => bgnbdConditionalExpected(p, t, x, tx, T),
    expectedIfAlive: (t, x, T) => bgnbdExpectedIfAlive(p, t, x, T),
    pAlive: (x, tx, T) => bgnbdPAlive(p, x, tx, T),
    medianTimeToNextPurchase: (x, T) => (p.alpha + T) * Math.expm1(Math.LN2 / (p.r + x)),
    probPurchaseWithin: (t, x, tx, T) => bgnbdProbPurchaseWithin(p, t, x, tx, T),
  };
}

/**
 * The finite a + b that stands for ∞ in the parameters returned at the boundary: a = p · 1e8,
 * b = (1 − p) · 1e8. A score computed from them differs from the exact limit's by at most about
 * (x + 1/p) / 1e8 relative: the posterior of p given survival is Beta(a, b + x), whose mean is shifted
 * by x / (a + b) and whose variance p(1 − p)/(a + b) enters through the curvature of the expectation
 * (|p g′/g| ≤ 1, |p² g″/g| ≤ 2 for g(p) = (1 − (1 + pu)^−(r+x)) / p); tested in btyd-boundary.test.ts.
 * That is 1e-5 at x = 1,000, far inside the statistical uncertainty of p, and the general formulas
 * stay cheap there (the series' terms fall like ((1 − p) z)^k).
 */
export const BOUNDARY_CONCENTRATION = 1e8;

/*
 * When the limit is fitted (btyd-data: BOUNDARY_CHECK_CONCENTRATION): walking off along the ridge
 * a / (a + b) = p, the log-likelihood per customer rises like c − d / (a + b) (d ≈ 0.03 on the issue-5
 * data), so its gradient in ln(a + b) is ~d / (a + b): the optimiser cannot pass its 1e-9 gradient test
 * on the ridge until a + b is in the millions. A fit that converges with a + b ≤ 100 has found an
 * interior maximum (CDNOW: a + b = 3.2), and the extra fit would only cost time.
 */

/**
 * Maximum-likelihood fit of BG/NBD. Minimises −LL / N (+ penalizer · Σ params²) over log-parameters
 * with BFGS and the analytic gradient (Nelder–Mead restarts if BFGS stalls). Throws InputError when
 * the summary is invalid, has no repeat purchase at all (nothing identifies the model), or the
 * likelihood cannot be evaluated; a fit that ends without meeting the gradient test is returned with
 * `convergence.converged = false`.
 *
 * Boundary: without a penalizer, when the full fit ends with a + b > 100 or unconverged, the limit
 * a + b → ∞ (one dropout probability p for everyone) is fitted too (3 parameters, started from the
 * full fit's r, α, a/(a+b)). When it is at least as likely (to 1e-9 per customer), the full model's
 * optimum is that limit: the optimiser can only walk a and b off towards infinity. The model returned
 * is then the limit, with a = p · 1e8, b = (1 − p) · 1e8 standing for it, and `boundary` says so
 * (returned: 'limit', with both likelihoods, the limit's own parameters and their standard errors).
 * When the finite estimate is more likely but has a + b ≥ 1,000 and is not significantly better
 * (likelihood ratio < 2.71), it is kept and `boundary` (returned: 'interior') explains the huge a, b.
 * With a penalizer the penalty keeps a and b finite, so there is no boundary to detect.
 */
export function fitBgNbd(summary: BtydSummaryInput, opts: BtydFitOptions = {}): BgNbdModel {
  const s = validateSummary(summary, 'BG/NBD');
  const pen = opts.penalizer ?? 0;
  if (!(pen >= 0) || !Number.isFinite(pen)) throw new InputError('bad_penalizer', `BG/NBD: penalizer ${pen} must be ≥ 0`);
  const lik = new BgNbdLikelihood(s.x, s.tx, s.T, s.w);
  let sx = 0;
  let sT = 0;
  for (let i = 0; i < s.n; i++) {
    sx += (s.w[i] as number) * (s.x[i] as number);
    sT += (s.w[i] as number) * (s.T[i] as number);
  }
  if (!(lik.W >= MIN_FIT_CUSTOMERS)) throw new InputError('too_few_customers', `BG/NBD: ${lik.W} customers; at least ${MIN_FIT_CUSTOMERS} are needed to fit 4 parameters`);
  if (!(sx > 0)) throw new InputError('no_repeat_purchases', 'BG/NBD: no customer has a repeat purchase, so purchase and drop-out rates cannot be estimated');
  if (!(sT > 0)) throw new InputError('no_exposure', 'BG/NBD: every customer has age T = 0');
  const init = opts.initial ?? {};
  const r0 = init['r'] ?? 1;
  const theta0 = [Math.log(r0), Math.log(init['alpha'] ?? (r0 * sT) / sx), Math.log(init['a'] ?? 1), Math.log(init['b'] ?? 1)];
  const W = lik.W;
  const progress = (label: string) => iterationProgress(opts, label);
  const fit = fitLogScale((v, grad) => lik.eval(v[0] as number, v[1] as number, v[2] as number, v[3] as number, grad), theta0, W, pen, opts, progress('BG/NBD'));
  if (!Number.isFinite(fit.f)) throw new InputError('fit_failed', `BG/NBD: the likelihood could not be evaluated (${fit.convergence.message})`);
  const [r, alpha, a, b] = fit.values as [number, number, number, number];
  const params: BgNbdParams = { r, alpha, a, b };
  const logLikelihood = lik.eval(params.r, params.alpha, params.a, params.b, null);
  const convergence = fit.convergence;
  let near: FitBoundary | null = null;
  if (pen === 0 && (params.a + params.b > BOUNDARY_CHECK_CONCENTRATION || !convergence.converged)) {
    const limit = fitLimit(lik, params, opts, progress('BG/NBD limit a + b → ∞'));
    const kind = limit ? boundaryKind(logLikelihood, limit.logLikelihood, W, params.a + params.b) : null;
    if (limit && kind === 'limit') return boundaryModel(lik, params, logLikelihood, limit, convergence);
    if (limit && kind === 'near') near = nearBoundary(params, logLikelihood, limit);
  }
  const se = fit.standardErrors();
  return bgnbdModel(params, {
    logLikelihood,
    customers: W,
    penalizer: pen,
    convergence,
    standardErrors: se ? { r: se[0] as number, alpha: se[1] as number, a: se[2] as number, b: se[3] as number } : null,
    boundary: near,
  });
}

interface LimitFit {
  params: BgNbdLimitParams;
  logLikelihood: number;
  standardErrors: BgNbdLimitParams | null;
  convergence: Convergence;
}

const logistic = (eta: number) => (eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta)));

/** Maximum likelihood of the limit a + b → ∞ over (ln r, ln α, logit p), started from a full fit. */
function fitLimit(lik: BgNbdLikelihood, start: BgNbdParams, opts: BtydFitOptions, onIteration: IterationCallback | undefined): LimitFit | null {
  const W = lik.W;
  const g = new Float64Array(3);
  const p0 = Math.min(Math.max(start.a / (start.a + start.b), 1e-9), 1 - 1e-9);
  const theta0 = [Math.log(start.r), Math.log(start.alpha), Math.log(p0) - Math.log1p(-p0)];
  const objective = (theta: Float64Array, grad: Float64Array | null): number => {
    const r = Math.exp(theta[0] as number);
    const alpha = Math.exp(theta[1] as number);
    const ll = lik.evalLimit(r, alpha, logistic(theta[2] as number), grad ? g : null);
    if (grad) {
      grad[0] = (-(g[0] as number) * r) / W;
      grad[1] = (-(g[1] as number) * alpha) / W;
      grad[2] = -(g[2] as number) / W;
    }
    return -ll / W;
  };
  const res = minimize(objective, theta0, { seed: opts.seed ?? 0, maxIterations: opts.maxIterations ?? 200, gradTolerance: 1e-9, onIteration });
  if (!Number.isFinite(res.f)) return null;
  const t = res.x;
  const params: BgNbdLimitParams = { r: Math.exp(t[0] as number), alpha: Math.exp(t[1] as number), p: logistic(t[2] as number) };
  const H = hessianFromGradient((th, out) => {
    objective(th, out);
    for (let j = 0; j < 3; j++) out[j] = (out[j] as number) * W;
  }, t);
  const se = standardErrorsFromHessian(H, 3);
  return {
    params,
    logLikelihood: lik.evalLimit(params.r, params.alpha, params.p, null),
    // Delta method: d r / d ln r = r, d α / d ln α = α, d p / d logit p = p (1 − p).
    standardErrors: se ? { r: (se[0] as number) * params.r, alpha: (se[1] as number) * params.alpha, p: (se[2] as number) * params.p * (1 - params.p) } : null,
    convergence: { converged: res.converged, iterations: res.iterations, evaluations: res.evaluations, gradNorm: res.gradNorm, method: res.method, message: res.message },
  };
}

function boundaryModel(lik: BgNbdLikelihood, interior: BgNbdParams, interiorLL: number, limit: LimitFit, interiorConvergence: Convergence): BgNbdModel {
  const q = limit.params;
  const K = BOUNDARY_CONCENTRATION;
  const params: BgNbdParams = { r: q.r, alpha: q.alpha, a: q.p * K, b: (1 - q.p) * K };
  const pct = (100 * q.p).toPrecision(3);
  const gain = limit.logLikelihood - interiorLL;
  const message =
    `The maximum-likelihood estimate lies on the edge of the parameter space: a and b grow without bound ` +
    `(the optimiser had reached a + b = ${(interior.a + interior.b).toPrecision(3)}) with a / (a + b) ≈ ` +
    `${(interior.a / (interior.a + interior.b)).toPrecision(3)}, the likelihood still creeping up. In words: the data show no ` +
    `customer-to-customer variation in the dropout probability; every customer is equally likely (${pct} %) to lapse ` +
    `after a purchase. The limiting model (r, α and one dropout probability p) was fitted exactly: log-likelihood ` +
    `${limit.logLikelihood.toFixed(4)}, ${gainWords(gain)} ` +
    `the best finite a, b found. The parameters returned stand for that limit: a = p × ${K.toExponential(0).replace("+", "")}, ` +
    `b = (1 − p) × ${K.toExponential(0).replace("+", "")} (a + b = ${K.toExponential(0).replace("+", "")} represents ∞; scores differ from the exact ` +
    `limit's by about (x + 1/p) × 1e-8 relative). a and b have no standard errors; see limitStandardErrors for r, α and p.`;
  const boundary = boundaryReport('dropout probability homogeneous (a + b → ∞)', 'limit', message, limit, interior, interiorLL, { 'a + b': K });
  const c = limit.convergence;
  return bgnbdModel(params, {
    logLikelihood: lik.eval(params.r, params.alpha, params.a, params.b, null),
    customers: lik.W,
    penalizer: 0,
    convergence: {
      ...c,
      evaluations: c.evaluations + interiorConvergence.evaluations,
      message: `limit a + b → ∞ fitted: ${c.message} (full model: ${interiorConvergence.message})`,
    },
    standardErrors: limit.standardErrors ? { r: limit.standardErrors.r, alpha: limit.standardErrors.alpha, a: NaN, b: NaN } : null,
    boundary,
  });
}

/** The report for a finite but huge a + b whose gain over the limit is not significant. */
function nearBoundary(interior: BgNbdParams, interiorLL: number, limit: LimitFit): FitBoundary {
  const q = limit.params;
  const lr = 2 * (interiorLL - limit.logLikelihood);
  const p = interior.a / (interior.a + interior.b);
  const cv = Math.sqrt((1 - p) / (p * (interior.a + interior.b + 1)));
  return boundaryReport('dropout probability homogeneous (a + b → ∞)', 'interior',
      `a and b are large (a + b = ${(interior.a + interior.b).toPrecision(3)}): the dropout probability barely varies between ` +
      `customers (mean ${(100 * p).toPrecision(3)} %, spread ±${(100 * cv).toPrecision(2)} % of that). This finite estimate is the ` +
      `maximum likelihood and was kept, but it is not significantly more likely than the limit in which every customer has ` +
      `the same dropout probability p = ${q.p.toPrecision(3)} (likelihood ratio ${lr.toFixed(3)} < ${BOUNDARY_LR_CRITICAL.toFixed(2)}, ` +
      `the 5 % critical value on a boundary): the data are consistent with "every customer is equally likely to lapse after a purchase".`,
    limit, interior, interiorLL, {});
}

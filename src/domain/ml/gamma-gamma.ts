/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The
 * Gamma-Gamma model of monetary value"): each transaction of a customer is worth Z ~ Gamma(p, ν), and
 * ν ~ Gamma(q, γ) across customers. Fitted on the customers with at least one repeat purchase, from x
 * (repeat transactions) and m (their mean value), it gives the expected value of a customer's future
 * transactions: a weighted average of the population mean p γ / (q − 1) and the customer's own mean,
 * the weight on their own mean growing with x. Multiplied by expected purchases (BG/NBD or Pareto/NBD)
 * it gives CLV.
 *
 * It assumes spend per transaction is independent of purchase frequency: `frequencyMonetaryCorrelation`
 * reports the correlation of x and m so a caller can check that (values near 0 are what the model needs).
 *
 * Boundary (segmenta issue 5): when customers do not differ in their typical order value beyond what
 * the order-to-order noise explains, the likelihood rises along q, γ → ∞ with q/γ = ν fixed (the gamma
 * distribution of ν collapses to a point). The likelihood is written without the cancellations that
 * made such a fit wander (ln Γ differences and q ln γ − q ln(γ + m x) at q ~ 1e8), the limit (p, ν) is
 * fitted exactly, and the fit reports it in `boundary`. The expected order value then is the population
 * mean p/ν for every customer: their own average carries no information beyond noise.
 */
import { InputError } from '../errors.js';
import {
  BOUNDARY_CHECK_CONCENTRATION, BOUNDARY_LR_CRITICAL, boundaryKind, compressRows, indexValues, MIN_FIT_CUSTOMERS,
  fitLogScale, iterationProgress, type IterationCallback,
  type BtydFitOptions, type Convergence, boundaryReport, gainWords, type FitBoundary,
} from './btyd-data.js';
import { digamma, digammaDiff, lgamma, lgammaDiff } from './special.js';

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

/** Per-customer spend summary: x repeat transactions and m, the mean value of those repeat transactions. */
export interface SpendSummaryInput {
  x: ArrayLike<number>;
  m: ArrayLike<number>;
  weights?: ArrayLike<number>;
}

export interface GammaGammaModel {
  readonly kind: 'gamma-gamma';
  readonly params: GammaGammaParams;
  readonly logLikelihood: number;
  /** Customers with x ≥ 1 the model was fitted on (sum of weights). */
  readonly customers: number;
  readonly penalizer: number;
  readonly convergence: Convergence;
  /** At the boundary q and γ have none (NaN): see `boundary.limitStandardErrors` for p and ν. */
  readonly standardErrors: GammaGammaParams | null;
  /** Set when the fit ended at q, γ → ∞ (customers share one typical order value); null otherwise. */
  readonly boundary: FitBoundary | null;
  /** Pearson correlation of x and m over the fitted customers (the model assumes none). */
  readonly frequencyMonetaryCorrelation: number;
  /** Mean transaction value of the population, p γ / (q − 1); Infinity when q ≤ 1. */
  readonly populationMean: number;
  /** Expected value of a future transaction of a customer with x repeat transactions of mean value m. */
  conditionalExpectedValue(x: number, m: number): number;
}

function checkParams(p: GammaGammaParams): void {
  for (const k of ['p', 'q', 'gamma'] as const) {
    if (!(p[k] > 0) || !Number.isFinite(p[k])) throw new InputError('bad_parameters', `Gamma-Gamma: ${k} = ${p[k]} must be a finite positive number`);
  }
}

/**
 * E[Z | x, m] = p (γ + x m) / (p x + q − 1) = (q − 1)/(p x + q − 1) · p γ/(q − 1) + p x/(p x + q − 1) · m.
 * For x = 0 it is the population mean p γ / (q − 1), infinite when q ≤ 1: that case throws InputError
 * (the fitted spend distribution has no mean, so no CLV can be computed for a customer with no repeat
 * purchase).
 */
export function gammaGammaConditionalExpectedValue(p: GammaGammaParams, x: number, m: number): number {
  if (!(x >= 0) || !Number.isInteger(x)) throw new InputError('bad_summary', `Gamma-Gamma: x = ${x} must be a non-negative integer`);
  if (x > 0 && !(m > 0 && Number.isFinite(m))) throw new InputError('bad_summary', `Gamma-Gamma: m = ${m} must be a positive finite mean value when x ≥ 1`);
  const denom = p.p * x + p.q - 1;
  if (!(denom > 0)) throw new InputError('infinite_mean', `Gamma-Gamma: q = ${p.q} ≤ 1, the fitted spend distribution has no finite mean for a customer with x = ${x}`);
  return x === 0 ? (p.p * p.gamma) / (p.q - 1) : (p.p * (p.gamma + x * m)) / denom;
}

/**
 * ln Γ(px + q) − ln Γ(px) − ln Γ(q) = −ln B(px, q), as a stable difference from the larger argument
 * (at q ~ 1e8 the plain form loses ~1e-8 per customer, enough to stall the optimiser).
 */
function lnInvBeta(px: number, q: number): number {
  return q >= px ? lgammaDiff(q, px) - lgamma(px) : lgammaDiff(px, q) - lgamma(q);
}

/**
 * Log-likelihood of one customer's mean repeat value m given x ≥ 1:
 * ln Γ(px+q)/(Γ(px)Γ(q)) + q ln γ + (px−1) ln(mx) + ln x − (px+q) ln(γ+mx), regrouped as
 * −ln B(px, q) − q ln(1 + mx/γ) − px ln(1 + γ/(mx)) − ln(mx) + ln x: q ln γ against q ln(γ+mx) would
 * cancel at large q, γ (one order value for everyone), px ln(mx) against px ln(γ+mx) at large p (every
 * order of a customer worth the same).
 */
export function gammaGammaRowLogLikelihood(p: GammaGammaParams, x: number, m: number): number {
  const px = p.p * x;
  const mx = m * x;
  return lnInvBeta(px, p.q) - p.q * Math.log1p(mx / p.gamma) - px * Math.log1p(p.gamma / mx) - Math.log(mx) + Math.log(x);
}

/** Parameters of the Gamma-Gamma limit q, γ → ∞ with q/γ = ν: every customer's ν is the same. */
export interface GammaGammaLimitParams {
  p: number;
  /** The common rate of order values: each order is Gamma(p, ν), of mean p/ν. */
  nu: number;
}

/** Log-likelihood of one customer in the limit: m x ~ Gamma(p x, ν). */
export function gammaGammaLimitRowLogLikelihood(q: GammaGammaLimitParams, x: number, m: number): number {
  const px = q.p * x;
  const mx = m * x;
  return px * Math.log(q.nu) - lgamma(px) + (px - 1) * Math.log(mx) - q.nu * mx + Math.log(x);
}

interface SpendColumns { x: Float64Array; m: Float64Array; w: Float64Array; n: number }

/** Keeps the rows with x ≥ 1 (and weight > 0), checking them. */
function spendColumns(s: SpendSummaryInput): SpendColumns {
  const n = s.x.length;
  if (s.m.length !== n) throw new InputError('bad_summary', `Gamma-Gamma: x and m must have the same length (${n}, ${s.m.length})`);
  if (s.weights && s.weights.length !== n) throw new InputError('bad_summary', `Gamma-Gamma: weights has ${s.weights.length} values for ${n} customers`);
  const x: number[] = [];
  const m: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < n; i++) {
    const xi = s.x[i] as number;
    const mi = s.m[i] as number;
    const wi = s.weights ? (s.weights[i] as number) : 1;
    if (!(xi >= 0) || !Number.isInteger(xi)) throw new InputError('bad_summary', `Gamma-Gamma: customer ${i}: x = ${xi} must be a non-negative integer`);
    if (!(wi >= 0) || !Number.isFinite(wi)) throw new InputError('bad_summary', `Gamma-Gamma: customer ${i}: weight ${wi} must be finite and ≥ 0`);
    if (xi === 0 || wi === 0) continue;
    if (!(mi > 0) || !Number.isFinite(mi)) throw new InputError('bad_summary', `Gamma-Gamma: customer ${i}: mean repeat value m = ${mi} must be positive (x = ${xi}); drop customers whose repeat purchases are all worth 0`);
    x.push(xi);
    m.push(mi);
    w.push(wi);
  }
  return { x: Float64Array.from(x), m: Float64Array.from(m), w: Float64Array.from(w), n: x.length };
}

class GammaGammaLikelihood {
  readonly n: number;
  readonly W: number;
  private readonly x: Float64Array;
  private readonly mx: Float64Array;
  private readonly lmx: Float64Array;
  private readonly w: Float64Array;
  private readonly xi: Int32Array;
  private readonly ux: Float64Array;
  private readonly G: Float64Array;
  private readonly dP: Float64Array;
  private readonly dQ: Float64Array;
  /** Σ w ln x, a constant of the log-likelihood. */
  private readonly constant: number;

  constructor(cols: SpendColumns) {
    const c = compressRows([cols.x, cols.m], cols.w);
    this.n = c.n;
    this.x = c.cols[0] as Float64Array;
    const m = c.cols[1] as Float64Array;
    this.w = c.w;
    this.mx = new Float64Array(c.n);
    this.lmx = new Float64Array(c.n);
    let W = 0;
    let constant = 0;
    for (let i = 0; i < c.n; i++) {
      const v = (m[i] as number) * (this.x[i] as number);
      this.mx[i] = v;
      this.lmx[i] = Math.log(v);
      W += c.w[i] as number;
      constant += (c.w[i] as number) * Math.log(this.x[i] as number);
    }
    this.W = W;
    this.constant = constant;
    const iv = indexValues(this.x);
    this.xi = iv.index;
    this.ux = iv.values;
    this.G = new Float64Array(this.ux.length);
    this.dP = new Float64Array(this.ux.length);
    this.dQ = new Float64Array(this.ux.length);
  }

  eval(p: number, q: number, gamma: number, grad: Float64Array | null): number {
    const { ux, G, dP, dQ } = this;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      const px = p * x;
      G[k] = lnInvBeta(px, q);
      if (grad) {
        dP[k] = x * digammaDiff(px, q);
        dQ[k] = digammaDiff(q, px);
      }
    }
    const { x, mx, lmx, w, xi } = this;
    let ll = this.constant;
    let gp = 0;
    let gq = 0;
    let gg = 0;
    for (let i = 0; i < this.n; i++) {
      const wi = w[i] as number;
      const k = xi[i] as number;
      const xv = x[i] as number;
      const px = p * xv;
      const mxi = mx[i] as number;
      const den = gamma + mxi;
      const lq = Math.log1p(mxi / gamma); // ln(γ + mx) − ln γ
      const lp = Math.log1p(gamma / mxi); // ln(γ + mx) − ln(mx)
      ll += wi * ((G[k] as number) - q * lq - px * lp - (lmx[i] as number));
      if (grad) {
        gp += wi * ((dP[k] as number) - xv * lp);
        gq += wi * ((dQ[k] as number) - lq);
        gg += wi * ((q * mxi) / (gamma * den) - px / den); // q/γ − (px + q)/(γ + mx)
      }
    }
    if (grad) {
      grad[0] = gp;
      grad[1] = gq;
      grad[2] = gg;
    }
    return ll;
  }

  /** The limit q, γ → ∞ with q/γ = ν; gradient (p, ν) into grad[0..1]. */
  evalLimit(p: number, nu: number, grad: Float64Array | null): number {
    const { ux, G, dP } = this;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      G[k] = -lgamma(p * x);
      if (grad) dP[k] = -x * digamma(p * x);
    }
    const { x, mx, lmx, w, xi } = this;
    const lnu = Math.log(nu);
    let ll = this.constant;
    let gp = 0;
    let gn = 0;
    for (let i = 0; i < this.n; i++) {
      const wi = w[i] as number;
      const k = xi[i] as number;
      const xv = x[i] as number;
      const px = p * xv;
      const mxi = mx[i] as number;
      const l = lmx[i] as number;
      ll += wi * ((G[k] as number) + px * lnu + (px - 1) * l - nu * mxi);
      if (grad) {
        gp += wi * ((dP[k] as number) + xv * (lnu + l));
        gn += wi * (px / nu - mxi);
      }
    }
    if (grad) {
      grad[0] = gp;
      grad[1] = gn;
    }
    return ll;
  }
}

/**
 * Total log-likelihood of the customers with x ≥ 1 at given parameters; when `grad` (length 3) is
 * given, the gradient with respect to (p, q, γ) is written into it.
 */
export function gammaGammaLogLikelihood(p: GammaGammaParams, summary: SpendSummaryInput, grad?: Float64Array): number {
  checkParams(p);
  return new GammaGammaLikelihood(spendColumns(summary)).eval(p.p, p.q, p.gamma, grad ?? null);
}

function correlation(c: SpendColumns): number {
  let W = 0; let sx = 0; let sm = 0;
  for (let i = 0; i < c.n; i++) {
    const w = c.w[i] as number;
    W += w; sx += w * (c.x[i] as number); sm += w * (c.m[i] as number);
  }
  const mx = sx / W;
  const mm = sm / W;
  let cxx = 0; let cmm = 0; let cxm = 0;
  for (let i = 0; i < c.n; i++) {
    const w = c.w[i] as number;
    const dx = (c.x[i] as number) - mx;
    const dm = (c.m[i] as number) - mm;
    cxx += w * dx * dx; cmm += w * dm * dm; cxm += w * dx * dm;
  }
  return cxx > 0 && cmm > 0 ? cxm / Math.sqrt(cxx * cmm) : 0;
}

/**
 * Total log-likelihood of the limit q, γ → ∞ (one order-value rate ν for every customer); when `grad`
 * (length 2) is given, the gradient with respect to (p, ν) is written into it.
 */
export function gammaGammaLimitLogLikelihood(q: GammaGammaLimitParams, summary: SpendSummaryInput, grad?: Float64Array): number {
  if (!(q.p > 0 && q.nu > 0) || !Number.isFinite(q.p + q.nu)) throw new InputError('bad_parameters', `Gamma-Gamma limit: p = ${q.p}, ν = ${q.nu} must be finite and positive`);
  return new GammaGammaLikelihood(spendColumns(summary)).evalLimit(q.p, q.nu, grad ?? null);
}

export interface GammaGammaFitInfo {
  logLikelihood: number;
  customers: number;
  penalizer: number;
  convergence: Convergence;
  standardErrors: GammaGammaParams | null;
  frequencyMonetaryCorrelation: number;
  boundary?: FitBoundary | null;
}

export function gammaGammaModel(params: GammaGammaParams, fit?: GammaGammaFitInfo): GammaGammaModel {
  checkParams(params);
  const p = { ...params };
  return {
    kind: 'gamma-gamma',
    params: p,
    logLikelihood: fit?.logLikelihood ?? NaN,
    customers: fit?.customers ?? 0,
    penalizer: fit?.penalizer ?? 0,
    convergence: fit?.convergence ?? { converged: false, iterations: 0, evaluations: 0, gradNorm: NaN, method: 'none', message: 'parameters given, not fitted' },
    standardErrors: fit?.standardErrors ?? null,
    boundary: fit?.boundary ?? null,
    frequencyMonetaryCorrelation: fit?.frequencyMonetaryCorrelation ?? NaN,
    populationMean: p.q > 1 ? (p.p * p.gamma) / (p.q - 1) : Infinity,
    conditionalExpectedValue: (x, m) => gammaGammaConditionalExpectedValue(p, x, m),
  };
}

/**
 * The finite q that stands for ∞ at the boundary (γ = q / ν). The expected order value
 * p (γ + x m) / (p x + q − 1) then differs from the limit's p/ν by a factor (1 + x m ν/q) / (1 + (p x − 1)/q),
 * i.e. by (x m ν + p x) / 1e8 relative: 1e-6 for a customer with 100 orders at 10× the mean value.
 */
export const GAMMA_GAMMA_BOUNDARY_SHAPE = 1e8;

/**
 * Maximum-likelihood fit on the customers with x ≥ 1 (rows with x = 0 are ignored, as in the
 * literature: they carry no information on spend beyond the first purchase, which is left out because
 * first purchases are often atypical). Throws InputError for bad rows (m ≤ 0 with x ≥ 1) or fewer than
 * MIN_FIT_CUSTOMERS repeat customers.
 *
 * Boundary: without a penalizer, a fit ending with q > 100 (or unconverged) is compared with the
 * exactly fitted limit q, γ → ∞ (p and one rate ν); when the limit is at least as likely, the model
 * returned is the limit with q = 1e8, γ = 1e8/ν standing for it, and `boundary` says so; a finite
 * q ≥ 1,000 that is not significantly more likely is kept and reported as near the boundary.
 */
export function fitGammaGamma(summary: SpendSummaryInput, opts: BtydFitOptions = {}): GammaGammaModel {
  const cols = spendColumns(summary);
  const pen = opts.penalizer ?? 0;
  if (!(pen >= 0) || !Number.isFinite(pen)) throw new InputError('bad_penalizer', `Gamma-Gamma: penalizer ${pen} must be ≥ 0`);
  const lik = new GammaGammaLikelihood(cols);
  if (!(lik.W >= MIN_FIT_CUSTOMERS)) throw new InputError('too_few_customers', `Gamma-Gamma: ${lik.W} customers with a repeat purchase; at least ${MIN_FIT_CUSTOMERS} are needed to fit 3 parameters`);
  let sm = 0;
  for (let i = 0; i < cols.n; i++) sm += (cols.w[i] as number) * (cols.m[i] as number);
  const meanM = sm / lik.W;
  const init = opts.initial ?? {};
  const p0 = init['p'] ?? 1;
  const q0 = init['q'] ?? 2;
  const theta0 = [Math.log(p0), Math.log(q0), Math.log(init['gamma'] ?? (meanM * (q0 - 1)) / p0)];
  const W = lik.W;
  const progress = (label: string) => iterationProgress(opts, label);
  const fit = fitLogScale((v, grad) => lik.eval(v[0] as number, v[1] as number, v[2] as number, grad), theta0, W, pen, opts, progress('Gamma-Gamma'));
  if (!Number.isFinite(fit.f)) throw new InputError('fit_failed', `Gamma-Gamma: the likelihood could not be evaluated (${fit.convergence.message})`);
  const [pp, q, gamma] = fit.values as [number, number, number];
  const params: GammaGammaParams = { p: pp, q, gamma };
  const logLikelihood = lik.eval(params.p, params.q, params.gamma, null);
  const convergence = fit.convergence;
  const corr = correlation(cols);
  let near: FitBoundary | null = null;
  if (pen === 0 && (params.q > BOUNDARY_CHECK_CONCENTRATION || !convergence.converged)) {
    const limit = fitLimit(lik, params, opts, progress('Gamma-Gamma limit q, γ → ∞'));
    const kind = limit ? boundaryKind(logLikelihood, limit.logLikelihood, W, params.q) : null;
    if (limit && kind === 'limit') return boundaryModel(lik, params, logLikelihood, limit, convergence, corr);
    if (limit && kind === 'near') near = nearBoundary(params, logLikelihood, limit);
  }
  const se = fit.standardErrors();
  return gammaGammaModel(params, {
    logLikelihood,
    customers: W,
    penalizer: pen,
    convergence,
    standardErrors: se ? { p: se[0] as number, q: se[1] as number, gamma: se[2] as number } : null,
    frequencyMonetaryCorrelation: corr,
    boundary: near,
  });
}

interface LimitFit {
  params: GammaGammaLimitParams;
  logLikelihood: number;
  standardErrors: GammaGammaLimitParams | null;
  convergence: Convergence;
}

/** Maximum likelihood of the limit over (ln p, ln ν), started from a full fit. */
function fitLimit(lik: GammaGammaLikelihood, start: GammaGammaParams, opts: BtydFitOptions, onIteration: IterationCallback | undefined): LimitFit | null {
  const theta0 = [Math.log(start.p), Math.log(start.q / start.gamma)];
  const fit = fitLogScale((v, grad) => lik.evalLimit(v[0] as number, v[1] as number, grad), theta0, lik.W, 0, opts, onIteration);
  if (!Number.isFinite(fit.f)) return null;
  const [pp, nu] = fit.values as [number, number];
  const params: GammaGammaLimitParams = { p: pp, nu };
  const se = fit.standardErrors();
  return {
    params,
    logLikelihood: lik.evalLimit(params.p, params.nu, null),
    standardErrors: se ? { p: se[0] as number, nu: se[1] as number } : null,
    convergence: fit.convergence,
  };
}

function boundaryModel(lik: GammaGammaLikelihood, interior: GammaGammaParams, interiorLL: number, limit: LimitFit, interiorConvergence: Convergence, corr: number): GammaGammaModel {
  const q = limit.params;
  const Q = GAMMA_GAMMA_BOUNDARY_SHAPE;
  const params: GammaGammaParams = { p: q.p, q: Q, gamma: Q / q.nu };
  const gain = limit.logLikelihood - interiorLL;
  const message =
    `The maximum-likelihood estimate lies on the edge of the parameter space: q and γ grow without bound (the ` +
    `optimiser had reached q = ${interior.q.toPrecision(3)}) with q / γ ≈ ${(interior.q / interior.gamma).toPrecision(3)}, the likelihood ` +
    `still creeping up. In words: customers do not differ in their typical order value beyond the order-to-order ` +
    `noise; every customer's orders average ${(q.p / q.nu).toPrecision(4)}, and a customer's own average says nothing more. ` +
    `The limiting model (p and one rate ν) was fitted exactly: log-likelihood ${limit.logLikelihood.toFixed(4)}, ` +
    `${gainWords(gain)} the best finite q, γ found. ` +
    `The parameters returned stand for that limit: q = ${Q.toExponential(0).replace("+", "")}, γ = q / ν (q = ${Q.toExponential(0).replace("+", "")} represents ∞), ` +
    `so every customer's expected order value is the population mean p/ν. q and γ have no standard errors; see limitStandardErrors for p and ν.`;
  const boundary = boundaryReport('typical order value homogeneous (q, γ → ∞)', 'limit', message, limit, interior, interiorLL, { q: Q });
  const c = limit.convergence;
  return gammaGammaModel(params, {
    logLikelihood: lik.eval(params.p, params.q, params.gamma, null),
    customers: lik.W,
    penalizer: 0,
    convergence: { ...c, evaluations: c.evaluations + interiorConvergence.evaluations, message: `limit q, γ → ∞ fitted: ${c.message} (full model: ${interiorConvergence.message})` },
    standardErrors: limit.standardErrors ? { p: limit.standardErrors.p, q: NaN, gamma: NaN } : null,
    boundary,
    frequencyMonetaryCorrelation: corr,
  });
}

/** The report for a finite but huge q whose gain over the limit is not significant. */
function nearBoundary(interior: GammaGammaParams, interiorLL: number, limit: LimitFit): FitBoundary {
  const q = limit.params;
  const lr = 2 * (interiorLL - limit.logLikelihood);
  return boundaryReport('typical order value homogeneous (q, γ → ∞)', 'interior',
      `q and γ are large (q = ${interior.q.toPrecision(3)}): customers' typical order values barely differ (spread ` +
      `±${(100 / Math.sqrt(interior.q)).toPrecision(2)} %), so a customer's expected order value is nearly the population mean. This ` +
      `finite estimate is the maximum likelihood and was kept, but it is not significantly more likely than the limit in which ` +
      `every customer's orders average ${(q.p / q.nu).toPrecision(4)} (likelihood ratio ${lr.toFixed(3)} < ${BOUNDARY_LR_CRITICAL.toFixed(2)}, ` +
      `the 5 % critical value on a boundary).`,
    limit, interior, interiorLL, {});
}

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
 */
import { InputError } from '../errors.js';
import { compressRows, indexValues, MIN_FIT_CUSTOMERS, standardErrors, type BtydFitOptions, type Convergence } from './btyd-data.js';
import { minimize } from './optimize.js';
import { digamma, lgamma } from './special.js';

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
  readonly standardErrors: GammaGammaParams | null;
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

/** Log-likelihood of one customer's mean repeat value m given x ≥ 1. */
export function gammaGammaRowLogLikelihood(p: GammaGammaParams, x: number, m: number): number {
  const px = p.p * x;
  return lgamma(px + p.q) - lgamma(px) - lgamma(p.q) + p.q * Math.log(p.gamma) + (px - 1) * Math.log(m * x) + Math.log(x) - (px + p.q) * Math.log(p.gamma + m * x);
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
    const lgq = lgamma(q);
    const psq = grad ? digamma(q) : 0;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      const px = p * x;
      G[k] = lgamma(px + q) - lgamma(px) - lgq;
      if (grad) {
        const psi = digamma(px + q);
        dP[k] = x * (psi - digamma(px));
        dQ[k] = psi - psq;
      }
    }
    const { x, mx, lmx, w, xi } = this;
    const lg = Math.log(gamma);
    let ll = this.constant;
    let gp = 0;
    let gq = 0;
    let gg = 0;
    for (let i = 0; i < this.n; i++) {
      const wi = w[i] as number;
      const k = xi[i] as number;
      const xv = x[i] as number;
      const px = p * xv;
      const den = gamma + (mx[i] as number);
      const L = Math.log(den);
      const l = lmx[i] as number;
      ll += wi * ((G[k] as number) + q * lg + (px - 1) * l - (px + q) * L);
      if (grad) {
        gp += wi * ((dP[k] as number) + xv * (l - L));
        gq += wi * ((dQ[k] as number) + lg - L);
        gg += wi * (q / gamma - (px + q) / den);
      }
    }
    if (grad) {
      grad[0] = gp;
      grad[1] = gq;
      grad[2] = gg;
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

export function gammaGammaModel(params: GammaGammaParams, fit?: { logLikelihood: number; customers: number; penalizer: number; convergence: Convergence; standardErrors: GammaGammaParams | null; frequencyMonetaryCorrelation: number }): GammaGammaModel {
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
    frequencyMonetaryCorrelation: fit?.frequencyMonetaryCorrelation ?? NaN,
    populationMean: p.q > 1 ? (p.p * p.gamma) / (p.q - 1) : Infinity,
    conditionalExpectedValue: (x, m) => gammaGammaConditionalExpectedValue(p, x, m),
  };
}

/**
 * Maximum-likelihood fit on the customers with x ≥ 1 (rows with x = 0 are ignored, as in the
 * literature: they carry no information on spend beyond the first purchase, which is left out because
 * first purchases are often atypical). Throws InputError for bad rows (m ≤ 0 with x ≥ 1) or fewer than
 * MIN_FIT_CUSTOMERS repeat customers.
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
  const g = new Float64Array(3);
  const objective = (theta: Float64Array, grad: Float64Array | null): number => {
    const params = [Math.exp(theta[0] as number), Math.exp(theta[1] as number), Math.exp(theta[2] as number)];
    const ll = lik.eval(params[0] as number, params[1] as number, params[2] as number, grad ? g : null);
    let penalty = 0;
    for (const v of params) penalty += v * v;
    if (grad) {
      for (let j = 0; j < 3; j++) {
        const pj = params[j] as number;
        grad[j] = (-(g[j] as number) * pj) / W + 2 * pen * pj * pj;
      }
    }
    return -ll / W + pen * penalty;
  };
  const res = minimize(objective, theta0, {
    seed: opts.seed ?? 0,
    maxIterations: opts.maxIterations ?? 200,
    gradTolerance: 1e-9,
    onIteration: opts.progress ? (it, f, gn) => opts.progress?.({ phase: 'fit', done: it, total: 0, detail: `Gamma-Gamma iteration ${it}: −LL/N = ${f.toFixed(6)}, |grad| = ${gn.toExponential(1)}` }) : undefined,
  });
  if (!Number.isFinite(res.f)) throw new InputError('fit_failed', `Gamma-Gamma: the likelihood could not be evaluated (${res.message})`);
  const theta = res.x;
  const params: GammaGammaParams = { p: Math.exp(theta[0] as number), q: Math.exp(theta[1] as number), gamma: Math.exp(theta[2] as number) };
  const se = standardErrors((t, out) => {
    objective(t, out);
    for (let j = 0; j < 3; j++) out[j] = (out[j] as number) * W;
  }, theta);
  return gammaGammaModel(params, {
    logLikelihood: lik.eval(params.p, params.q, params.gamma, null),
    customers: W,
    penalizer: pen,
    convergence: { converged: res.converged, iterations: res.iterations, evaluations: res.evaluations, gradNorm: res.gradNorm, method: res.method, message: res.message },
    standardErrors: se ? { p: se[0] as number, q: se[1] as number, gamma: se[2] as number } : null,
    frequencyMonetaryCorrelation: correlation(cols),
  });
}

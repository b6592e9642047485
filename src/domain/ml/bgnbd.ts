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
 */
import { InputError } from '../errors.js';
import {
  compressRows, indexValues, MIN_FIT_CUSTOMERS, standardErrors, validateSummary,
  type BtydFitOptions, type BtydSummaryInput, type Convergence, type TransactionModel,
} from './btyd-data.js';
import { minimize } from './optimize.js';
import { digamma, hyp2f1, lgamma } from './special.js';

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
  /** Asymptotic standard errors (inverse observed information, delta method), null when not available. */
  readonly standardErrors: BgNbdParams | null;
  /** P(at least one purchase in (T, T + t]) for a customer with summary (x, tx, T). */
  probPurchaseWithin(t: number, x: number, tx: number, T: number): number;
}

function checkParams(p: BgNbdParams): void {
  for (const k of ['r', 'alpha', 'a', 'b'] as const) {
    if (!(p[k] > 0) || !Number.isFinite(p[k])) throw new InputError('bad_parameters', `BG/NBD: ${k} = ${p[k]} must be a finite positive number`);
  }
}

/** P(alive at T | x, t_x, T) = 1 / (1 + [x > 0] · a / (b + x − 1) · ((α + T) / (α + t_x))^(r + x)). */
export function bgnbdPAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const logOdds = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
  return 1 / (1 + Math.exp(logOdds));
}

/**
 * The bracket of E[Y(t) | x, t_x, T] times (a + b + x − 1) / (a − 1):
 * 1 − ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x; a+b+x−1; z), z = t / (α+T+t), computed after Euler's
 * transformation as 1 − (1 − z)^(a − 1) 2F1(a+b−1−r, a−1; a+b+x−1; z), which stays bounded as z → 1
 * (the untransformed 2F1 overflows for large x and long horizons).
 */
function expectedNumerator(p: BgNbdParams, t: number, x: number, T: number, a: number): number {
  const z = t / (p.alpha + T + t);
  const f = hyp2f1(a + p.b - 1 - p.r, a - 1, a + p.b + x - 1, z);
  return ((a + p.b + x - 1) / (a - 1)) * (1 - Math.exp((a - 1) * Math.log1p(-z)) * f);
}

function expectedAlive(p: BgNbdParams, t: number, x: number, T: number): number {
  if (t === 0) return 0;
  // a = 1 is a removable singularity (0 / 0): average the two sides.
  if (Math.abs(p.a - 1) < 1e-7) return (expectedNumerator(p, t, x, T, 1 - 1e-5) + expectedNumerator(p, t, x, T, 1 + 1e-5)) / 2;
  return expectedNumerator(p, t, x, T, p.a);
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
  const logOdds = Math.log(p.a) - Math.log(p.b + x - 1) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
  return expectedAlive(p, t, x, T) / (1 + Math.exp(logOdds));
}

/**
 * P(at least one purchase in (T, T + t] | x, t_x, T). Under BG/NBD a customer alive at T cannot drop
 * out before their next purchase, so this is P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).
 */
export function bgnbdProbPurchaseWithin(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  return bgnbdPAlive(p, x, tx, T) * -Math.expm1((p.r + x) * Math.log((p.alpha + T) / (p.alpha + T + t)));
}

/** Per-row log-likelihood of one customer (for tests and small cases; the fit uses the vectorised form). */
export function bgnbdRowLogLikelihood(p: BgNbdParams, x: number, tx: number, T: number): number {
  const A1 = lgamma(p.r + x) - lgamma(p.r) + p.r * Math.log(p.alpha);
  const A2 = lgamma(p.a + p.b) + lgamma(p.b + x) - lgamma(p.b) - lgamma(p.a + p.b + x);
  const A3 = -(p.r + x) * Math.log(p.alpha + T);
  if (x === 0) return A1 + A2 + A3;
  const A4 = Math.log(p.a) - Math.log(p.b + x - 1) - (p.r + x) * Math.log(p.alpha + tx);
  const m = Math.max(A3, A4);
  return A1 + A2 + m + Math.log(Math.exp(A3 - m) + Math.exp(A4 - m));
}

/** The likelihood on compressed rows, with its gradient in the parameters (not log-parameters). */
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
  private readonly dA: Float64Array;
  private readonly dB: Float64Array;
  private readonly dB4: Float64Array;

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
    this.dA = new Float64Array(k);
    this.dB = new Float64Array(k);
    this.dB4 = new Float64Array(k);
  }

  /** Total weighted log-likelihood; when grad is given, d LL / d(r, α, a, b) is written into it. */
  eval(r: number, alpha: number, a: number, b: number, grad: Float64Array | null): number {
    const { ux, lgR, lA2, lA4, dR, dA, dB, dB4 } = this;
    const lgr = lgamma(r);
    const lgb = lgamma(b);
    const lgab = lgamma(a + b);
    const psr = grad ? digamma(r) : 0;
    const psb = grad ? digamma(b) : 0;
    const psab = grad ? digamma(a + b) : 0;
    const la = Math.log(a);
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      if (x === 0) {
        lgR[k] = 0; lA2[k] = 0; lA4[k] = -Infinity; dR[k] = 0; dA[k] = 0; dB[k] = 0; dB4[k] = 0;
        continue;
      }
      lgR[k] = lgamma(r + x) - lgr;
      lA2[k] = lgab + lgamma(b + x) - lgb - lgamma(a + b + x);
      lA4[k] = la - Math.log(b + x - 1);
      if (grad) {
        const psabx = digamma(a + b + x);
        dR[k] = digamma(r + x) - psr;
        dA[k] = psab - psabx;
        dB[k] = psab + digamma(b + x) - psb - psabx;
        dB4[k] = -1 / (b + x - 1);
      }
    }
    const { x, tx, T, w, xi } = this;
    const lalpha = Math.log(alpha);
    let ll = 0;
    let gr = 0;
    let gal = 0;
    let ga = 0;
    let gb = 0;
    const n = this.n;
    for (let i = 0; i < n; i++) {
      const wi = w[i] as number;
      const k = xi[i] as number;
      const xv = x[i] as number;
      const rx = r + xv;
      const aT = alpha + (T[i] as number);
      const lT = Math.log(aT);
      const A3 = -rx * lT;
      if (xv === 0) {
        ll += wi * (r * lalpha + A3);
        if (grad) {
          gr += wi * (lalpha - lT);
          gal += wi * (r / alpha - rx / aT);
        }
        continue;
      }
      const at = alpha + (tx[i] as number);
      const lt = Math.log(at);
      const A4 = (lA4[k] as number) - rx * lt;
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
      ll += wi * ((lgR[k] as number) + r * lalpha + (lA2[k] as number) + m);
      if (grad) {
        gr += wi * ((dR[k] as number) + lalpha - w3 * lT - w4 * lt);
        gal += wi * (r / alpha - rx * (w3 / aT + w4 / at));
        ga += wi * ((dA[k] as number) + w4 / a);
        gb += wi * ((dB[k] as number) + w4 * (dB4[k] as number));
      }
    }
    if (grad) {
      grad[0] = gr;
      grad[1] = gal;
      grad[2] = ga;
      grad[3] = gb;
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

/** A model object from known parameters (e.g. published ones), without a fit. */
export function bgnbdModel(params: BgNbdParams, fit?: { logLikelihood: number; customers: number; penalizer: number; convergence: Convergence; standardErrors: BgNbdParams | null }): BgNbdModel {
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
    expected: (t) => bgnbdExpected(p, t),
    conditionalExpected: (t, x, tx, T) => bgnbdConditionalExpected(p, t, x, tx, T),
    expectedIfAlive: (t, x, T) => bgnbdExpectedIfAlive(p, t, x, T),
    pAlive: (x, tx, T) => bgnbdPAlive(p, x, tx, T),
    medianTimeToNextPurchase: (x, T) => (p.alpha + T) * Math.expm1(Math.LN2 / (p.r + x)),
    probPurchaseWithin: (t, x, tx, T) => bgnbdProbPurchaseWithin(p, t, x, tx, T),
  };
}

/**
 * Maximum-likelihood fit of BG/NBD. Minimises −LL / N (+ penalizer · Σ params²) over log-parameters
 * with BFGS and the analytic gradient (Nelder–Mead restarts if BFGS stalls). Throws InputError when
 * the summary is invalid, has no repeat purchase at all (nothing identifies the model), or the
 * likelihood cannot be evaluated; a fit that ends without meeting the gradient test is returned with
 * `convergence.converged = false`.
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
  const g = new Float64Array(4);
  const objective = (theta: Float64Array, grad: Float64Array | null): number => {
    const r = Math.exp(theta[0] as number);
    const alpha = Math.exp(theta[1] as number);
    const a = Math.exp(theta[2] as number);
    const b = Math.exp(theta[3] as number);
    const ll = lik.eval(r, alpha, a, b, grad ? g : null);
    const params = [r, alpha, a, b];
    let penalty = 0;
    for (const v of params) penalty += v * v;
    if (grad) {
      for (let j = 0; j < 4; j++) {
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
    onIteration: opts.progress ? (it, f, gn) => opts.progress?.({ phase: 'fit', done: it, total: 0, detail: `BG/NBD iteration ${it}: −LL/N = ${f.toFixed(6)}, |grad| = ${gn.toExponential(1)}` }) : undefined,
  });
  if (!Number.isFinite(res.f)) throw new InputError('fit_failed', `BG/NBD: the likelihood could not be evaluated (${res.message})`);
  const theta = res.x;
  const params: BgNbdParams = { r: Math.exp(theta[0] as number), alpha: Math.exp(theta[1] as number), a: Math.exp(theta[2] as number), b: Math.exp(theta[3] as number) };
  const logLikelihood = lik.eval(params.r, params.alpha, params.a, params.b, null);
  const se = standardErrors((t, out) => {
    objective(t, out);
    for (let j = 0; j < 4; j++) out[j] = (out[j] as number) * W;
  }, theta);
  return bgnbdModel(params, {
    logLikelihood,
    customers: W,
    penalizer: pen,
    convergence: { converged: res.converged, iterations: res.iterations, evaluations: res.evaluations, gradNorm: res.gradNorm, method: res.method, message: res.message },
    standardErrors: se ? { r: se[0] as number, alpha: se[1] as number, a: se[2] as number, b: se[3] as number } : null,
  });
}

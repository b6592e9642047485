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
 */
import { InputError } from '../errors.js';
import {
  compressRows, indexValues, MIN_FIT_CUSTOMERS, standardErrors, validateSummary,
  type BtydFitOptions, type BtydSummaryInput, type Convergence, type TransactionModel,
} from './btyd-data.js';
import { minimize } from './optimize.js';
import { digamma, lgamma } from './special.js';

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
  readonly standardErrors: ParetoNbdParams | null;
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

/** ln(s / (r+s+x) · A0) − L1, the log-odds of "dead" in P(alive); −∞ when t_x = T. */
function deadLogOdds(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  if (tx === T) return -Infinity;
  const { r, alpha, s, beta } = p;
  lnTerm(r, alpha, s, beta, x, tx, false);
  const t1 = TERM[0] as number;
  lnTerm(r, alpha, s, beta, x, T, false);
  const t2 = TERM[0] as number;
  if (!Number.isFinite(t1) || !Number.isFinite(t2)) {
    throw new Error(`Pareto/NBD: the hypergeometric series for x = ${x}, t_x = ${tx}, T = ${T} did not converge at r = ${r}, α = ${alpha}, s = ${s}, β = ${beta}`);
  }
  const lnA0 = t1 + Math.log(-Math.expm1(t2 - t1));
  const L1 = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
  return Math.log(s) - Math.log(r + s + x) + lnA0 - L1;
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
  return ((p.r * p.beta) / p.alpha) * survivalFactor(p.s, Math.log(p.beta / (p.beta + t)));
}

/** Expected purchases in (T, T + t] if alive at T: (r + x)(β + T) / (α + T) · [1 − ((β+T)/(β+T+t))^(s−1)] / (s − 1). */
export function paretoNbdExpectedIfAlive(p: ParetoNbdParams, t: number, x: number, T: number): number {
  if (!(t >= 0)) throw new InputError('bad_horizon', `Pareto/NBD: horizon t = ${t} must be ≥ 0`);
  return (((p.r + x) * (p.beta + T)) / (p.alpha + T)) * survivalFactor(p.s, Math.log((p.beta + T) / (p.beta + T + t)));
}

/** E[Y(t) | x, t_x, T] = expected purchases if alive × P(alive). */
export function paretoNbdConditionalExpected(p: ParetoNbdParams, t: number, x: number, tx: number, T: number): number {
  return paretoNbdExpectedIfAlive(p, t, x, T) * paretoNbdPAlive(p, x, tx, T);
}

/** Per-row log-likelihood of one customer. */
export function paretoNbdRowLogLikelihood(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p;
  const C = lgamma(r + x) - lgamma(r) + r * Math.log(alpha) + s * Math.log(beta);
  const L1 = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T);
  const odds = deadLogOdds(p, x, tx, T);
  return C + L1 + (odds === -Infinity ? 0 : Math.log1p(Math.exp(odds)));
}

/**
 * The likelihood on compressed rows. Term(t_x) depends on (x, t_x) only and Term(T), ln(α+T), ln(β+T)
 * on (x, T) only: with day-level data a million customers have a few thousand such pairs, so the
 * hypergeometric series run once per distinct pair per evaluation and each row only combines them.
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
  /** Distinct (x, T) pairs: row → pair, pair values, and per evaluation ln Term(T) with its gradient (5 per pair). */
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
    // Pairs only over rows that need A0 (t_x < T).
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
    const withGrad = grad !== null;
    const { ux, lgR, dR, termT, termTx } = this;
    const lgr = lgamma(r);
    const psr = withGrad ? digamma(r) : 0;
    for (let k = 0; k < ux.length; k++) {
      const x = ux[k] as number;
      lgR[k] = lgamma(r + x) - lgr;
      if (withGrad) dR[k] = digamma(r + x) - psr;
    }
    const fill = (pairs: Float64Array[], out: Float64Array) => {
      const px = pairs[0] as Float64Array;
      const pu = pairs[1] as Float64Array;
      for (let j = 0; j < px.length; j++) {
        lnTerm(r, alpha, s, beta, px[j] as number, pu[j] as number, withGrad);
        out.set(TERM, j * 5);
      }
    };
    fill(this.pT, termT);
    fill(this.pTx, termTx);
    const { x, tx, T, w, xi, rowT, rowTx } = this;
    const lalpha = Math.log(alpha);
    const lbeta = Math.log(beta);
    const ls = Math.log(s);
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
      const bT = beta + Ti;
      const laT = Math.log(aT);
      const lbT = Math.log(bT);
      const L1 = -(r + xv) * laT - s * lbT;
      const C = (lgR[k] as number) + r * lalpha + s * lbeta;
      // dC + dL1 with respect to (r, α, s, β).
      const c0 = (withGrad ? (dR[k] as number) : 0) + lalpha - laT;
      const c1 = r / alpha - (r + xv) / aT;
      const c2 = lbeta - lbT;
      const c3 = s / beta - s / bT;
      if (tx[i] === Ti) {
        ll += wi * (C + L1);
        if (withGrad) { gr += wi * c0; gal += wi * c1; gs += wi * c2; gbe += wi * c3; }
        continue;
      }
      const o1 = (rowTx[i] as number) * 5;
      const o2 = (rowT[i] as number) * 5;
      const A = r + s + xv;
      const lk = ls - Math.log(A);
      const lt1 = lk + (termTx[o1] as number);
      const lt2 = lk + (termT[o2] as number);
      const M = Math.max(L1, lt1);
      const e1 = Math.exp(L1 - M);
      const e2 = Math.exp(lt1 - M);
      const e3 = Math.exp(lt2 - M);
      const S = e1 + e2 - e3;
      ll += wi * (C + M + Math.log(S));
      if (withGrad) {
        const E1 = e1 / S;
        const E2 = e2 / S;
        const E3 = e3 / S;
        const E23 = E2 - E3; // weight of d ln k
        // dL1 carries weight E1 only: c_j − (1 − E1) dL1_j = dC_j + E1 dL1_j.
        const dL1r = -laT;
        const dL1a = -(r + xv) / aT;
        const dL1s = -lbT;
        const dL1b = -s / bT;
        gr += wi * (c0 - (1 - E1) * dL1r + E23 * (-1 / A) + E2 * (termTx[o1 + 1] as number) - E3 * (termT[o2 + 1] as number));
        gal += wi * (c1 - (1 - E1) * dL1a + E2 * (termTx[o1 + 2] as number) - E3 * (termT[o2 + 2] as number));
        gs += wi * (c2 - (1 - E1) * dL1s + E23 * (1 / s - 1 / A) + E2 * (termTx[o1 + 3] as number) - E3 * (termT[o2 + 3] as number));
        gbe += wi * (c3 - (1 - E1) * dL1b + E2 * (termTx[o1 + 4] as number) - E3 * (termT[o2 + 4] as number));
      }
    }
    if (grad) {
      grad[0] = gr;
      grad[1] = gal;
      grad[2] = gs;
      grad[3] = gbe;
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

/** A model object from known parameters, without a fit. */
export function paretoNbdModel(params: ParetoNbdParams, fit?: { logLikelihood: number; customers: number; penalizer: number; convergence: Convergence; standardErrors: ParetoNbdParams | null }): ParetoNbdModel {
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
    expected: (t) => paretoNbdExpected(p, t),
    conditionalExpected: (t, x, tx, T) => paretoNbdConditionalExpected(p, t, x, tx, T),
    expectedIfAlive: (t, x, T) => paretoNbdExpectedIfAlive(p, t, x, T),
    pAlive: (x, tx, T) => paretoNbdPAlive(p, x, tx, T),
    medianTimeToNextPurchase: (x, T) => (p.alpha + T) * Math.expm1(Math.LN2 / (p.r + x)),
  };
}

/**
 * Maximum-likelihood fit of Pareto/NBD (BFGS on log-parameters with the analytic gradient; Nelder–Mead
 * restarts if BFGS stalls). Same contract as `fitBgNbd`. β is weakly identified on small samples (a
 * flat ridge in β/s): expect fitters to agree on the log-likelihood to 0.01 but on β only to ~1e-2.
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
  const g = new Float64Array(4);
  const objective = (theta: Float64Array, grad: Float64Array | null): number => {
    const params = [Math.exp(theta[0] as number), Math.exp(theta[1] as number), Math.exp(theta[2] as number), Math.exp(theta[3] as number)];
    const ll = lik.eval(params[0] as number, params[1] as number, params[2] as number, params[3] as number, grad ? g : null);
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
    onIteration: opts.progress ? (it, f, gn) => opts.progress?.({ phase: 'fit', done: it, total: 0, detail: `Pareto/NBD iteration ${it}: −LL/N = ${f.toFixed(6)}, |grad| = ${gn.toExponential(1)}` }) : undefined,
  });
  if (!Number.isFinite(res.f)) throw new InputError('fit_failed', `Pareto/NBD: the likelihood could not be evaluated (${res.message})`);
  const theta = res.x;
  const params: ParetoNbdParams = { r: Math.exp(theta[0] as number), alpha: Math.exp(theta[1] as number), s: Math.exp(theta[2] as number), beta: Math.exp(theta[3] as number) };
  const logLikelihood = lik.eval(params.r, params.alpha, params.s, params.beta, null);
  const se = standardErrors((t, out) => {
    objective(t, out);
    for (let j = 0; j < 4; j++) out[j] = (out[j] as number) * W;
  }, theta);
  return paretoNbdModel(params, {
    logLikelihood,
    customers: W,
    penalizer: pen,
    convergence: { converged: res.converged, iterations: res.iterations, evaluations: res.evaluations, gradNorm: res.gradNorm, method: res.method, message: res.message },
    standardErrors: se ? { r: se[0] as number, alpha: se[1] as number, s: se[2] as number, beta: se[3] as number } : null,
  });
}

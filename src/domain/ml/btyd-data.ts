/**
 * Shared pieces of the buy-till-you-die models (BG/NBD, Pareto/NBD, Gamma-Gamma): the per-customer
 * summary they are fitted on (x, t_x, T and optionally the mean repeat spend m), its validation, the
 * interface a fitted transaction model exposes, and the compression of identical rows.
 *
 * Compression matters for speed: with day-level timestamps a million customers have far fewer distinct
 * (x, t_x, T) triples, and the likelihood only needs each distinct row once with its count. It is done
 * with a small open-addressing hash over the raw float bits (no string keys, no per-row objects).
 */
import { InputError } from '../errors.js';
import { minimize } from './optimize.js';
import type { FitProgress } from './types.js';

/**
 * Per-customer summary, columnar. x = number of repeat transactions (purchase periods after the
 * first), tx = time of the last purchase, T = age (time from the first purchase to the end of the
 * calibration period); tx and T from the first purchase, in one time unit chosen by the caller.
 */
export interface BtydSummaryInput {
  x: ArrayLike<number>;
  tx: ArrayLike<number>;
  T: ArrayLike<number>;
  /** Optional row weights (counts of identical customers), default 1. */
  weights?: ArrayLike<number>;
}

/** Options common to the BTYD fits. */
export interface BtydFitOptions {
  /**
   * L2 penalty on the parameters, as in lifetimes: the fit minimises −(mean log-likelihood) +
   * penalizer × Σ parameter². Default 0 (plain maximum likelihood).
   */
  penalizer?: number;
  /** Seed of the optimiser's restarts (same seed, same result). */
  seed?: number;
  progress?: FitProgress;
  /** Starting values (defaults are data-driven). */
  initial?: Partial<Record<string, number>>;
  /** Iteration budget of each BFGS run (default 200). */
  maxIterations?: number;
}

/** How the optimiser ended. */
export interface Convergence {
  converged: boolean;
  iterations: number;
  evaluations: number;
  /** Largest absolute gradient component of the objective (mean negative log-likelihood) in log-parameters. */
  gradNorm: number;
  method: string;
  message: string;
}

/**
 * What a fit reports when its maximum likelihood lies on (or next to) the edge of the parameter space:
 * some parameters run off to infinity with a ratio fixed, which means a distribution across customers
 * has collapsed to a single value (every customer shares it). The fit then fits that limiting model
 * exactly and either returns finite parameters that stand for it (`returned: 'limit'`), or, when a
 * huge but finite estimate is (insignificantly) more likely, keeps it (`returned: 'interior'`) and
 * says that the data are consistent with the limit.
 */
export interface FitBoundary {
  /** Which limit, e.g. 'dropout probability homogeneous (a + b → ∞)'. */
  limit: string;
  /** 'limit': the parameters returned stand for the limit; 'interior': the finite estimate was kept. */
  returned: 'limit' | 'interior';
  /** What happened, what it means for the customers, and what the fit returned. */
  message: string;
  /** The limiting model's own parameters at its maximum likelihood (e.g. r, alpha, p). */
  limitParams: Record<string, number>;
  /** Their asymptotic standard errors (null when the Hessian is not positive definite). */
  limitStandardErrors: Record<string, number> | null;
  /** Log-likelihood of the limiting model at limitParams. */
  limitLogLikelihood: number;
  /** The best log-likelihood the full model reached inside the parameter space (≤ the limit's, up to `tolerance`). */
  interiorLogLikelihood: number;
  /** The full model's parameters where its optimiser stopped (huge, but only their ratios matter). */
  interiorParams: Record<string, number>;
  /**
   * 2 (interiorLogLikelihood − limitLogLikelihood): the likelihood-ratio statistic for "customers
   * differ" against "customers are alike" (≤ 0 at the boundary). On a boundary it follows
   * ½χ²₀ + ½χ²₁ under "alike", so values below 2.71 are not significant at the 5 % level.
   */
  likelihoodRatio: number;
  /** The finite values that stand for ∞ in the returned parameters, e.g. { 'a + b': 1e8 } (empty when 'interior'). */
  representedAs: Record<string, number>;
}

/** What a fitted limiting model reports: its own parameters, their standard errors, its log-likelihood. */
export interface LimitReport<P> {
  params: P;
  standardErrors: P | null;
  logLikelihood: number;
}

/**
 * A FitBoundary from its words and the two fits: the fields every model fills the same way (the limit's
 * parameters and log-likelihood, where the full model stopped, and the likelihood-ratio statistic).
 */
export function boundaryReport<P extends object, I extends object>(
  limit: string, returned: FitBoundary['returned'], message: string,
  fit: LimitReport<P>, interior: I, interiorLL: number, representedAs: Record<string, number>,
): FitBoundary {
  const numbers = (o: object): Record<string, number> => ({ ...(o as Record<string, number>) });
  return {
    limit, returned, message,
    limitParams: numbers(fit.params),
    limitStandardErrors: fit.standardErrors ? numbers(fit.standardErrors) : null,
    limitLogLikelihood: fit.logLikelihood,
    interiorLogLikelihood: interiorLL,
    interiorParams: numbers(interior),
    likelihoodRatio: 2 * (interiorLL - fit.logLikelihood),
    representedAs,
  };
}

/** The limit's log-likelihood gain over the best finite point, in words ("3.2e-9 above" / "within 1.0e-8 of"). */
export function gainWords(gain: number): string {
  return gain >= 0 ? `${gain.toExponential(1)} above` : `within ${(-gain).toExponential(1)} of`;
}

/**
 * The limit wins when its log-likelihood is at least the full model's minus this much per customer:
 * the full model then gains nothing measurable from finite parameters (the log-likelihoods are exact
 * to ~1e-12 per customer, so this only absorbs rounding and where the optimisers stopped).
 */
export const BOUNDARY_TOLERANCE_PER_CUSTOMER = 1e-9;
/** Fit the limit only when the full fit ends with its concentration parameter (a + b, s, q) above this, or unconverged. */
export const BOUNDARY_CHECK_CONCENTRATION = 100;
/** An interior estimate this concentrated (a + b, s or q) whose gain over the limit is not significant is reported as near the boundary. */
export const NEAR_BOUNDARY_CONCENTRATION = 1e3;
/** 5 % critical value of ½χ²₀ + ½χ²₁, the likelihood-ratio statistic's law when the truth is on the boundary (the χ²₁ 90 % quantile). */
export const BOUNDARY_LR_CRITICAL = 2.705543454095404;

/**
 * 'limit' when the limiting model is at least as likely as the full model's estimate; 'near' when the
 * estimate is finite but concentrated (≥ NEAR_BOUNDARY_CONCENTRATION) and not significantly more likely;
 * null otherwise.
 */
export function boundaryKind(interiorLL: number, limitLL: number, customers: number, concentration: number): 'limit' | 'near' | null {
  if (limitLL >= interiorLL - BOUNDARY_TOLERANCE_PER_CUSTOMER * customers) return 'limit';
  if (concentration >= NEAR_BOUNDARY_CONCENTRATION && 2 * (interiorLL - limitLL) < BOUNDARY_LR_CRITICAL) return 'near';
  return null;
}

/**
 * A fitted model of the transaction process, in the caller's time unit: what scoring, CLV and the
 * holdout diagnostics need.
 */
export interface TransactionModel {
  readonly kind: 'bgnbd' | 'pareto-nbd';
  /** Set when the fit ended on the edge of the parameter space (see FitBoundary); null or absent otherwise. */
  readonly boundary?: FitBoundary | null;
  /** Expected repeat purchases of a new customer in (0, t]: E[X(t)]. */
  expected(t: number): number;
  /** Expected purchases in (T, T + t] of a customer with summary (x, tx, T). */
  conditionalExpected(t: number, x: number, tx: number, T: number): number;
  /**
   * Expected purchases in (T, T + t] if the customer is alive at T: conditionalExpected =
   * expectedIfAlive × pAlive for both models, and this factor depends on (x, T) only, which lets
   * scoring compute the horizon curve once per distinct (x, T) rather than per (x, t_x, T).
   */
  expectedIfAlive(t: number, x: number, T: number): number;
  /** Probability that the customer is still alive at T. */
  pAlive(x: number, tx: number, T: number): number;
  /**
   * Median time from T to the next purchase if the customer is alive at T (and, for Pareto/NBD,
   * stays alive): the median of an exponential waiting time whose rate has the posterior
   * Gamma(r + x, α + T), i.e. (α + T)(2^(1/(r + x)) − 1).
   */
  medianTimeToNextPurchase(x: number, T: number): number;
}

/**
 * Fewest customers (sum of weights) a fit accepts: with fewer, the maximum-likelihood estimate of 3–4
 * parameters typically lies at infinity and says nothing.
 */
export const MIN_FIT_CUSTOMERS = 10;

/** Validated columns as Float64Arrays. */
export interface BtydColumns {
  n: number;
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  w: Float64Array;
}

function toF64(a: ArrayLike<number>): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Checks a summary: same lengths, x a non-negative integer, 0 ≤ tx ≤ T, tx = 0 when x = 0, weights ≥ 0. */
export function validateSummary(s: BtydSummaryInput, model: string): BtydColumns {
  const n = s.x.length;
  if (s.tx.length !== n || s.T.length !== n) throw new InputError('bad_summary', `${model}: x, t_x and T must have the same length (${n}, ${s.tx.length}, ${s.T.length})`);
  if (s.weights && s.weights.length !== n) throw new InputError('bad_summary', `${model}: weights has ${s.weights.length} values for ${n} customers`);
  const x = toF64(s.x);
  const tx = toF64(s.tx);
  const T = toF64(s.T);
  const w = s.weights ? toF64(s.weights) : new Float64Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    const ti = tx[i] as number;
    const Ti = T[i] as number;
    const wi = w[i] as number;
    if (!(xi >= 0) || !Number.isInteger(xi)) throw new InputError('bad_summary', `${model}: customer ${i}: x = ${xi}, the number of repeat transactions must be a non-negative integer`);
    if (!Number.isFinite(Ti) || Ti < 0) throw new InputError('bad_summary', `${model}: customer ${i}: T = ${Ti}, the age must be finite and ≥ 0`);
    if (!Number.isFinite(ti) || ti < 0 || ti > Ti) throw new InputError('bad_summary', `${model}: customer ${i}: t_x = ${ti} must lie in [0, T = ${Ti}]`);
    if (xi === 0 && ti !== 0) throw new InputError('bad_summary', `${model}: customer ${i}: x = 0 but t_x = ${ti} (with no repeat purchase the last purchase is the first, t_x = 0)`);
    if (!(wi >= 0) || !Number.isFinite(wi)) throw new InputError('bad_summary', `${model}: customer ${i}: weight ${wi} must be finite and ≥ 0`);
  }
  return { n, x, tx, T, w };
}

/** Distinct rows of some columns with their summed weights (rows of weight 0 dropped). */
export interface Compressed {
  n: number;
  cols: Float64Array[];
  w: Float64Array;
  /** For each input row, the index of its distinct row (−1 for rows of weight 0). */
  map: Int32Array;
}

/**
 * Merges identical rows (bitwise-equal values in every column; −0 counts as 0) and sums their weights.
 * Order of first appearance is kept, so the result is deterministic.
 */
export function compressRows(cols: readonly Float64Array[], w: Float64Array): Compressed {
  const n = w.length;
  const k = cols.length;
  let size = 16;
  while (size < 2 * n) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  const outCols = cols.map(() => new Float64Array(n));
  const outW = new Float64Array(n);
  const map = new Int32Array(n).fill(-1);
  let m = 0;
  const buf = new Float64Array(1);
  const bits = new Uint32Array(buf.buffer);
  for (let i = 0; i < n; i++) {
    const wi = w[i] as number;
    if (wi === 0) continue;
    let h = 0x811c9dc5;
    for (let c = 0; c < k; c++) {
      buf[0] = ((cols[c] as Float64Array)[i] as number) + 0;
      h = Math.imul(h ^ (bits[0] as number), 0x01000193);
      h = Math.imul(h ^ (bits[1] as number), 0x01000193);
    }
    h ^= h >>> 15;
    let slot = h & mask;
    for (;;) {
      const j = table[slot] as number;
      if (j < 0) {
        table[slot] = m;
        for (let c = 0; c < k; c++) (outCols[c] as Float64Array)[m] = ((cols[c] as Float64Array)[i] as number) + 0;
        outW[m] = wi;
        map[i] = m;
        m++;
        break;
      }
      let same = true;
      for (let c = 0; c < k; c++) {
        if ((outCols[c] as Float64Array)[j] !== ((cols[c] as Float64Array)[i] as number) + 0) { same = false; break; }
      }
      if (same) {
        outW[j] = (outW[j] as number) + wi;
        map[i] = j;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  return { n: m, cols: outCols.map((c) => c.slice(0, m)), w: outW.slice(0, m), map };
}

/**
 * Distinct integer values of x (each x < 2^31) and, per row, the index of its value: the likelihoods
 * compute their ln Γ / ψ terms once per distinct x instead of once per row.
 */
export function indexValues(x: Float64Array): { values: Float64Array; index: Int32Array } {
  const seen = new Map<number, number>();
  const index = new Int32Array(x.length);
  const values: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    let j = seen.get(v);
    if (j === undefined) {
      j = values.length;
      seen.set(v, j);
      values.push(v);
    }
    index[i] = j;
  }
  return { values: Float64Array.from(values), index };
}

/** Standard errors from the inverse of a (negative log-likelihood) Hessian; null where not positive definite. */
export function standardErrorsFromHessian(H: Float64Array, n: number): Float64Array | null {
  // Gauss–Jordan inverse with partial pivoting (n ≤ 4).
  const a = Float64Array.from(H);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col] as number) > Math.abs(a[piv * n + col] as number)) piv = r;
    const pv = a[piv * n + col] as number;
    if (!(Math.abs(pv) > 1e-300)) return null;
    if (piv !== col) {
      for (let j = 0; j < n; j++) {
        const t1 = a[col * n + j] as number; a[col * n + j] = a[piv * n + j] as number; a[piv * n + j] = t1;
        const t2 = inv[col * n + j] as number; inv[col * n + j] = inv[piv * n + j] as number; inv[piv * n + j] = t2;
      }
    }
    for (let j = 0; j < n; j++) { a[col * n + j] = (a[col * n + j] as number) / pv; inv[col * n + j] = (inv[col * n + j] as number) / pv; }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const fct = a[r * n + col] as number;
      if (fct === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] = (a[r * n + j] as number) - fct * (a[col * n + j] as number);
        inv[r * n + j] = (inv[r * n + j] as number) - fct * (inv[col * n + j] as number);
      }
    }
  }
  const se = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = inv[i * n + i] as number;
    if (!(v > 0)) return null;
    se[i] = Math.sqrt(v);
  }
  return se;
}

/**
 * Hessian of a function of log-parameters by central differences of its analytic gradient
 * (symmetrised). `grad` returns the gradient of the *total* negative log-likelihood.
 */
export function hessianFromGradient(grad: (theta: Float64Array, out: Float64Array) => void, theta: Float64Array): Float64Array {
  const n = theta.length;
  const H = new Float64Array(n * n);
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  const t = Float64Array.from(theta);
  for (let j = 0; j < n; j++) {
    const h = 1e-5;
    t[j] = (theta[j] as number) + h;
    grad(t, gp);
    t[j] = (theta[j] as number) - h;
    grad(t, gm);
    t[j] = theta[j] as number;
    for (let i = 0; i < n; i++) H[i * n + j] = ((gp[i] as number) - (gm[i] as number)) / (2 * h);
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = ((H[i * n + j] as number) + (H[j * n + i] as number)) / 2;
      H[i * n + j] = v;
      H[j * n + i] = v;
    }
  }
  return H;
}

/**
 * Standard errors of the parameters themselves (delta method from the log scale: se(p) = p · se(ln p)),
 * or null when the Hessian is not positive definite.
 */
export function standardErrors(grad: (theta: Float64Array, out: Float64Array) => void, theta: Float64Array): Float64Array | null {
  const H = hessianFromGradient(grad, theta);
  const se = standardErrorsFromHessian(H, theta.length);
  if (!se) return null;
  for (let i = 0; i < se.length; i++) se[i] = (se[i] as number) * Math.exp(theta[i] as number);
  return se;
}

/** Called by the optimiser after each iteration: iteration, objective (−LL/N), gradient norm. */
export type IterationCallback = (iteration: number, f: number, gradNorm: number) => void;

/** The fit's progress, labelled, as FitProgress events (undefined when nobody listens). */
export function iterationProgress(opts: BtydFitOptions, label: string): IterationCallback | undefined {
  return opts.progress
    ? (it, f, gn) => opts.progress?.({ phase: 'fit', done: it, total: 0, detail: `${label} iteration ${it}: −LL/N = ${f.toFixed(6)}, |grad| = ${gn.toExponential(1)}` })
    : undefined;
}

export interface LogScaleFit {
  /** The parameters at the optimum, in the order of `theta0`. */
  values: number[];
  /** Their logs (the optimiser's coordinates). */
  theta: Float64Array;
  /** −LL/N (+ penalty) at the optimum; not finite when the likelihood could not be evaluated. */
  f: number;
  convergence: Convergence;
  /** Standard errors of the parameters (delta method from the log scale), null when the Hessian is not positive definite. */
  standardErrors(): number[] | null;
}

/**
 * Maximum likelihood over positive parameters, as every BTYD fit does it: BFGS (Nelder–Mead restarts
 * when it stalls) on ln-parameters, minimising −LL / W + penalizer · Σ parameter² (lifetimes' penalty).
 * `logLik(values, grad)` returns the total log-likelihood and, when asked, fills its gradient with
 * respect to the parameters themselves.
 */
export function fitLogScale(
  logLik: (values: number[], grad: Float64Array | null) => number,
  theta0: number[], W: number, penalizer: number, opts: BtydFitOptions, onIteration: IterationCallback | undefined,
): LogScaleFit {
  const k = theta0.length;
  const g = new Float64Array(k);
  const objective = (theta: Float64Array, grad: Float64Array | null): number => {
    const values = Array.from(theta, (t) => Math.exp(t));
    const ll = logLik(values, grad ? g : null);
    if (grad) for (let j = 0; j < k; j++) grad[j] = (-(g[j] as number) * (values[j] as number)) / W;
    if (penalizer === 0) return -ll / W; // no penalty term at all (0 · ∞ would be NaN far out on the ridge)
    let penalty = 0;
    for (const v of values) penalty += v * v;
    if (grad) for (let j = 0; j < k; j++) grad[j] = (grad[j] as number) + 2 * penalizer * (values[j] as number) * (values[j] as number);
    return -ll / W + penalizer * penalty;
  };
  const res = minimize(objective, theta0, { seed: opts.seed ?? 0, maxIterations: opts.maxIterations ?? 200, gradTolerance: 1e-9, onIteration });
  const theta = res.x;
  return {
    values: Array.from(theta, (t) => Math.exp(t)),
    theta,
    f: res.f,
    convergence: { converged: res.converged, iterations: res.iterations, evaluations: res.evaluations, gradNorm: res.gradNorm, method: res.method, message: res.message },
    standardErrors: () => {
      const se = standardErrors((t, out) => {
        objective(t, out);
        for (let j = 0; j < k; j++) out[j] = (out[j] as number) * W;
      }, theta);
      return se ? Array.from(se) : null;
    },
  };
}

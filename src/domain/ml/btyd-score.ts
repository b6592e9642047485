/**
 * Per-customer scores of a fitted buy-till-you-die model (BG/NBD or Pareto/NBD, with a Gamma-Gamma
 * spend model for money): probability alive, churn probability, expected purchases over a horizon,
 * expected time to the next order, expected order value, predicted CLV (discounted) and historic CLV.
 *
 * Customers with the same (x, t_x, T) get the same transaction scores, so the expensive part (one
 * hypergeometric series per month of the horizon) runs once per distinct triple.
 *
 * CLV = E[value of a future order] × Σ_months E[purchases in the month] × discount factor, the
 * lifetimes convention with an annual rate: months are 365.25 / 12 days long, the last one may be
 * partial. 'monthly' discounting (default, as lifetimes) discounts a month's purchases at its end,
 * (1 + annual rate)^(−t / year); 'continuous' uses e^(−δ t) with δ = ln(1 + annual rate), averaged over
 * each month (exact when purchases are spread evenly within a month).
 */
import { InputError } from '../errors.js';
import { compressRows, validateSummary, type TransactionModel } from './btyd-data.js';
import type { GammaGammaModel } from './gamma-gamma.js';
import type { FitProgress } from './types.js';

export interface ScoreInput {
  x: ArrayLike<number>;
  tx: ArrayLike<number>;
  T: ArrayLike<number>;
  /** Mean repeat-purchase value (needed with a spend model; 0 when x = 0). */
  m?: ArrayLike<number>;
  /** Revenue so far (historic CLV), passed through. */
  revenue?: ArrayLike<number>;
}

export interface ScoreOptions {
  /** Horizon of expected purchases and CLV, in the model's time unit (e.g. 52 weeks). */
  horizon: number;
  /** Days per model time unit (7 for weeks, 1 for days): converts the annual rate and months. */
  unitDays: number;
  /** Annual discount rate (default 0.10: 10 % a year). 0 disables discounting. */
  annualDiscountRate?: number;
  discounting?: 'monthly' | 'continuous';
  /** Below this P(alive) no next order is expected (expectedNextOrder = Infinity); default 0.5. */
  nextOrderMinPAlive?: number;
  progress?: FitProgress;
}

export interface CustomerScores {
  n: number;
  pAlive: Float64Array;
  /** 1 − P(alive). */
  churn: Float64Array;
  /** Expected purchases in (T, T + horizon]. */
  expectedPurchases: Float64Array;
  /** Median time (model units) from T to the next purchase if the customer is alive (see TransactionModel). */
  nextPurchaseIfAlive: Float64Array;
  /** nextPurchaseIfAlive where P(alive) ≥ nextOrderMinPAlive, else Infinity ("no next order expected"). */
  expectedNextOrder: Float64Array;
  /** Expected value of a future order (Gamma-Gamma; absent without a spend model). */
  expectedOrderValue?: Float64Array;
  /** Discounted expected revenue over the horizon (absent without a spend model). */
  clv?: Float64Array;
  /** Revenue so far (when given). */
  historicClv?: Float64Array;
}

/** The month grid of the horizon and each month's discount weight. */
export function discountGrid(horizon: number, unitDays: number, annualRate: number, mode: 'monthly' | 'continuous'): { ends: Float64Array; weights: Float64Array } {
  const month = 365.25 / 12 / unitDays;
  const year = 365.25 / unitDays;
  const k = Math.max(1, Math.ceil(horizon / month - 1e-9));
  const ends = new Float64Array(k);
  const weights = new Float64Array(k);
  const delta = Math.log1p(annualRate) / year;
  let prev = 0;
  for (let i = 0; i < k; i++) {
    const end = Math.min((i + 1) * month, horizon);
    ends[i] = end;
    if (delta === 0) weights[i] = 1;
    else if (mode === 'monthly') weights[i] = Math.exp(-delta * end);
    else weights[i] = (Math.exp(-delta * prev) - Math.exp(-delta * end)) / (delta * (end - prev));
    prev = end;
  }
  return { ends, weights };
}

export function scoreCustomers(model: TransactionModel, input: ScoreInput, spend: GammaGammaModel | null, opts: ScoreOptions): CustomerScores {
  const s = validateSummary(input, 'scoring');
  const n = s.n;
  if (!(opts.horizon > 0) || !Number.isFinite(opts.horizon)) throw new InputError('bad_horizon', `scoring: horizon ${opts.horizon} must be a positive number of time units`);
  if (!(opts.unitDays > 0) || !Number.isFinite(opts.unitDays)) throw new InputError('bad_unit', `scoring: unitDays ${opts.unitDays} must be positive`);
  const rate = opts.annualDiscountRate ?? 0.1;
  if (!(rate >= 0) || !Number.isFinite(rate)) throw new InputError('bad_discount_rate', `scoring: annual discount rate ${rate} must be ≥ 0`);
  if (spend && !input.m) throw new InputError('bad_summary', 'scoring: a spend model needs m, the mean repeat-purchase value of each customer');
  if (input.m && input.m.length !== n) throw new InputError('bad_summary', `scoring: m has ${input.m.length} values for ${n} customers`);
  if (input.revenue && input.revenue.length !== n) throw new InputError('bad_summary', `scoring: revenue has ${input.revenue.length} values for ${n} customers`);
  const minAlive = opts.nextOrderMinPAlive ?? 0.5;
  const { ends, weights } = discountGrid(opts.horizon, opts.unitDays, rate, opts.discounting ?? 'monthly');
  // P(alive) per distinct (x, t_x, T); the horizon curve (one hypergeometric series per month for
  // BG/NBD) per distinct (x, T), since conditionalExpected = expectedIfAlive(x, T) × P(alive).
  const ones = new Float64Array(n).fill(1);
  const c = compressRows([s.x, s.tx, s.T], ones);
  const cp = compressRows([s.x, s.T], ones);
  const uAlive = new Float64Array(c.n);
  for (let j = 0; j < c.n; j++) uAlive[j] = model.pAlive((c.cols[0] as Float64Array)[j] as number, (c.cols[1] as Float64Array)[j] as number, (c.cols[2] as Float64Array)[j] as number);
  opts.progress?.({ phase: 'score', done: 0, total: cp.n, detail: `P(alive) of ${c.n} distinct (x, t_x, T) profiles done` });
  const px = cp.cols[0] as Float64Array;
  const pT = cp.cols[1] as Float64Array;
  const uExp = new Float64Array(cp.n);
  const uDisc = new Float64Array(cp.n);
  const uNext = new Float64Array(cp.n);
  const step = Math.max(1, Math.floor(cp.n / 20));
  for (let j = 0; j < cp.n; j++) {
    const x = px[j] as number;
    const T = pT[j] as number;
    uNext[j] = model.medianTimeToNextPurchase(x, T);
    let prevE = 0;
    let disc = 0;
    for (let k = 0; k < ends.length; k++) {
      const e = model.expectedIfAlive(ends[k] as number, x, T);
      disc += (e - prevE) * (weights[k] as number);
      prevE = e;
    }
    uExp[j] = prevE;
    uDisc[j] = disc;
    if (opts.progress && j % step === 0) opts.progress({ phase: 'score', done: j, total: cp.n, detail: `horizon curves of ${cp.n} distinct (x, T) profiles` });
  }
  const out: CustomerScores = {
    n, pAlive: new Float64Array(n), churn: new Float64Array(n), expectedPurchases: new Float64Array(n),
    nextPurchaseIfAlive: new Float64Array(n), expectedNextOrder: new Float64Array(n),
  };
  const value = spend ? new Float64Array(n) : null;
  const clv = spend ? new Float64Array(n) : null;
  for (let i = 0; i < n; i++) {
    const pa = uAlive[c.map[i] as number] as number;
    const j = cp.map[i] as number;
    out.pAlive[i] = pa;
    out.churn[i] = 1 - pa;
    out.expectedPurchases[i] = pa * (uExp[j] as number);
    out.nextPurchaseIfAlive[i] = uNext[j] as number;
    out.expectedNextOrder[i] = pa >= minAlive ? (uNext[j] as number) : Infinity;
    if (spend && value && clv && input.m) {
      const v = spend.conditionalExpectedValue(s.x[i] as number, input.m[i] as number);
      value[i] = v;
      clv[i] = v * pa * (uDisc[j] as number);
    }
  }
  if (value && clv) {
    out.expectedOrderValue = value;
    out.clv = clv;
  }
  if (input.revenue) out.historicClv = Float64Array.from(input.revenue);
  opts.progress?.({ phase: 'score', done: cp.n, total: cp.n });
  return out;
}

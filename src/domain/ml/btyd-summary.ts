/**
 * From transactions to the per-customer summary the buy-till-you-die models are fitted on, built the
 * way the BTYD literature and lifetimes build it:
 *
 * - transactions are bucketed into periods (default: UTC calendar days) and the transactions of one
 *   period are merged into one purchase (amounts summed);
 * - x = number of distinct purchase periods after the first, in the calibration window;
 * - t_x = (last purchase period − first purchase period), T = (calibration-end period − first purchase
 *   period), both converted to the caller's unit (e.g. weeks = 7 days). With days as periods this is
 *   exactly lifetimes' `summary_data_from_transaction_data(freq='D', freq_multiplier=7)` and reproduces
 *   Fader & Hardie's CDNOW summary (T = 38.86 weeks for a customer who first bought on 1997-01-01, with
 *   the calibration ending on 1997-09-30);
 * - m = mean of the repeat periods' amounts (the first purchase is left out, as the Gamma-Gamma model
 *   expects); revenue = all calibration amounts, first purchase included (historic CLV);
 * - optionally the holdout counts: distinct purchase periods in (calibration end, holdout end].
 *
 * Customers whose first purchase is after the calibration end are left out (their index is not in
 * `customerIndex`).
 */
import { InputError } from '../errors.js';

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;

/** One customer's transactions: times in ms since the epoch, amounts (default 0). Any order. */
export interface CustomerTransactions {
  times: ArrayLike<number>;
  amounts?: ArrayLike<number>;
}

export interface BtydSummaryOptions {
  /** Last instant of the calibration window (ms); the whole period containing it is in calibration. */
  calibrationEnd: number;
  /** Last instant of the holdout window (ms), > calibrationEnd; gives holdoutX / holdoutRevenue. */
  holdoutEnd?: number;
  /** Length of a period in ms (default one day); transactions in one period are one purchase. */
  periodMs?: number;
  /**
   * Where periods start: period k covers [k · periodMs + periodOffsetMs, (k + 1) · periodMs +
   * periodOffsetMs). Default 0: UTC days. New York days (midnight = 05:00 UTC in winter): 5 h; weeks
   * starting on a Monday 00:00 UTC: 4 days (the epoch, 1970-01-01, is a Thursday).
   */
  periodOffsetMs?: number;
  /** The time unit of t_x and T, in ms (default one week). */
  unitMs?: number;
}

export interface BtydSummary {
  /** Customers kept. */
  n: number;
  /** Index of each kept customer in the input list. */
  customerIndex: Int32Array;
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  /** Mean value of the repeat purchases (0 when x = 0). */
  m: Float64Array;
  /** Total calibration revenue, first purchase included. */
  revenue: Float64Array;
  /** Start of the first purchase period (ms). */
  firstPurchase: Float64Array;
  /** Distinct purchase periods in the holdout window (present when holdoutEnd is given). */
  holdoutX?: Float64Array;
  holdoutRevenue?: Float64Array;
  /** Holdout length in units (the same for every customer). */
  holdoutLength?: number;
  /** Customers with no calibration purchase (left out). */
  excluded: number;
}

function periodOf(t: number, periodMs: number, offset: number): number {
  return Math.floor((t - offset) / periodMs);
}

export function buildBtydSummary(customers: ReadonlyArray<CustomerTransactions>, opts: BtydSummaryOptions): BtydSummary {
  const periodMs = opts.periodMs ?? DAY_MS;
  const offset = opts.periodOffsetMs ?? 0;
  const unitMs = opts.unitMs ?? WEEK_MS;
  if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new InputError('bad_period', `BTYD summary: periodMs = ${periodMs} must be positive`);
  if (!(unitMs > 0) || !Number.isFinite(unitMs)) throw new InputError('bad_unit', `BTYD summary: unitMs = ${unitMs} must be positive`);
  if (!Number.isFinite(opts.calibrationEnd)) throw new InputError('bad_calibration_end', 'BTYD summary: calibrationEnd must be a finite time in ms');
  const hasHoldout = opts.holdoutEnd !== undefined;
  if (hasHoldout && !((opts.holdoutEnd as number) > opts.calibrationEnd)) throw new InputError('bad_holdout_end', 'BTYD summary: holdoutEnd must be after calibrationEnd');
  const calP = periodOf(opts.calibrationEnd, periodMs, offset);
  const holdP = hasHoldout ? periodOf(opts.holdoutEnd as number, periodMs, offset) : calP;
  const N = customers.length;
  const idx = new Int32Array(N);
  const x = new Float64Array(N);
  const tx = new Float64Array(N);
  const T = new Float64Array(N);
  const m = new Float64Array(N);
  const revenue = new Float64Array(N);
  const first = new Float64Array(N);
  const hx = new Float64Array(N);
  const hrev = new Float64Array(N);
  let k = 0;
  let excluded = 0;
  let periods = new Float64Array(16);
  let amounts = new Float64Array(16);
  let order = new Int32Array(16);
  for (let c = 0; c < N; c++) {
    const cust = customers[c] as CustomerTransactions;
    const n = cust.times.length;
    if (cust.amounts && cust.amounts.length !== n) throw new InputError('bad_transactions', `BTYD summary: customer ${c} has ${n} times but ${cust.amounts.length} amounts`);
    if (periods.length < n) {
      periods = new Float64Array(n * 2);
      amounts = new Float64Array(n * 2);
      order = new Int32Array(n * 2);
    }
    for (let i = 0; i < n; i++) {
      const t = cust.times[i] as number;
      const a = cust.amounts ? (cust.amounts[i] as number) : 0;
      if (!Number.isFinite(t)) throw new InputError('bad_transactions', `BTYD summary: customer ${c}, transaction ${i}: time ${t} is not a finite number of ms`);
      if (!Number.isFinite(a)) throw new InputError('bad_transactions', `BTYD summary: customer ${c}, transaction ${i}: amount ${a} is not finite`);
      periods[i] = periodOf(t, periodMs, offset);
      amounts[i] = a;
      order[i] = i;
    }
    const ord = order.subarray(0, n);
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) if ((periods[i] as number) < (periods[i - 1] as number)) sorted = false;
    if (!sorted) ord.sort((a, b) => (periods[a] as number) - (periods[b] as number));
    // Walk the sorted transactions, merging equal periods.
    let firstP = NaN;
    let lastP = NaN;
    let distinct = 0;
    let repeatSum = 0;
    let rev = 0;
    let hDistinct = 0;
    let hRev = 0;
    let prevP = NaN;
    for (let j = 0; j < n; j++) {
      const i = ord[j] as number;
      const p = periods[i] as number;
      const a = amounts[i] as number;
      if (p <= calP) {
        if (Number.isNaN(firstP)) firstP = p;
        if (p !== prevP) {
          distinct++;
          lastP = p;
        }
        rev += a;
        if (p !== firstP) repeatSum += a;
      } else if (p <= holdP) {
        if (p !== prevP) hDistinct++;
        hRev += a;
      }
      prevP = p;
    }
    if (Number.isNaN(firstP)) {
      excluded++;
      continue;
    }
    idx[k] = c;
    const xv = distinct - 1;
    x[k] = xv;
    tx[k] = ((lastP - firstP) * periodMs) / unitMs;
    T[k] = ((calP - firstP) * periodMs) / unitMs;
    m[k] = xv > 0 ? repeatSum / xv : 0;
    revenue[k] = rev;
    first[k] = firstP * periodMs + offset;
    hx[k] = hDistinct;
    hrev[k] = hRev;
    k++;
  }
  const out: BtydSummary = {
    n: k, customerIndex: idx.slice(0, k), x: x.slice(0, k), tx: tx.slice(0, k), T: T.slice(0, k), m: m.slice(0, k),
    revenue: revenue.slice(0, k), firstPurchase: first.slice(0, k), excluded,
  };
  if (hasHoldout) {
    out.holdoutX = hx.slice(0, k);
    out.holdoutRevenue = hrev.slice(0, k);
    out.holdoutLength = ((holdP - calP) * periodMs) / unitMs;
  }
  return out;
}

export interface RepeatByPeriodOptions {
  /** Start of the tracking grid (ms): tracking period k covers [origin + k·unit, origin + (k+1)·unit). */
  origin: number;
  /** Number of tracking periods (e.g. 78 weeks). */
  periods: number;
  /** Tracking period length in ms (default one week). */
  unitMs?: number;
  /** Merge period (default one day), as in `buildBtydSummary`. */
  periodMs?: number;
  periodOffsetMs?: number;
}

/**
 * Actual repeat purchases per tracking period (e.g. per week), for the cumulative tracking plot: for
 * each customer, distinct purchase periods after their first one, counted in the tracking period they
 * fall in. Purchases before `origin` or after the last tracking period are ignored.
 */
export function repeatPurchasesByPeriod(customers: ReadonlyArray<CustomerTransactions>, opts: RepeatByPeriodOptions): Float64Array {
  const periodMs = opts.periodMs ?? DAY_MS;
  const offset = opts.periodOffsetMs ?? 0;
  const unitMs = opts.unitMs ?? WEEK_MS;
  if (!Number.isInteger(opts.periods) || opts.periods < 1) throw new InputError('bad_periods', `repeat purchases: periods = ${opts.periods} must be a positive integer`);
  const out = new Float64Array(opts.periods);
  for (const cust of customers) {
    const ps = Array.from(cust.times, (t) => periodOf(t, periodMs, offset)).sort((a, b) => a - b);
    for (let j = 1; j < ps.length; j++) {
      if (ps[j] === ps[j - 1]) continue;
      const start = (ps[j] as number) * periodMs + offset;
      const k = Math.floor((start - opts.origin) / unitMs);
      if (k >= 0 && k < opts.periods) out[k] = (out[k] as number) + 1;
    }
  }
  return out;
}

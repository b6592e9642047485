/**
 * Calibration / holdout diagnostics of a buy-till-you-die model, the two checks of Fader, Hardie & Lee
 * (2005):
 *
 * - cumulative tracking: expected vs actual cumulative repeat purchases of the whole cohort per period,
 *   over calibration and holdout. Each customer contributes E[X(τ − s_i)] at time τ, s_i being their
 *   first purchase (the model's "new customer" curve, shifted);
 * - conditional expectations: holdout purchases averaged by calibration frequency x (0, 1, …, 7+),
 *   actual vs the model's E[Y(holdout) | x, t_x, T];
 *
 * with summary errors. Pure: the caller passes first-purchase times, holdout counts and the actual
 * per-period series (see `repeatPurchasesByPeriod` in btyd-summary.ts).
 */
import { InputError } from '../errors.js';
import { compressRows, validateSummary, type TransactionModel } from './btyd-data.js';

export interface TrackingInput {
  /** Each customer's first purchase, in model units from the tracking origin. */
  firstPurchase: ArrayLike<number>;
  /** Times (model units from the origin, increasing) at which the cumulative curve is read, e.g. the end of each week. */
  periodEnds: ArrayLike<number>;
  /** Actual repeat purchases per period (same length as periodEnds), when known. */
  actualPerPeriod?: ArrayLike<number>;
  /** End of calibration (model units from the origin): errors are also reported over the holdout periods after it. */
  calibrationEnd?: number;
}

export interface TrackingErrors {
  /** Mean absolute percentage error of the cumulative curve over all periods with a positive actual. */
  mape: number;
  /** The same over the holdout periods only (NaN without calibrationEnd or holdout periods). */
  holdoutMape: number;
  /** Expected − actual cumulative at the last period, and as a fraction of the actual. */
  endError: number;
  endPercentError: number;
}

export interface TrackingResult {
  periodEnds: Float64Array;
  expectedCumulative: Float64Array;
  expectedPerPeriod: Float64Array;
  actualCumulative?: Float64Array;
  actualPerPeriod?: Float64Array;
  errors?: TrackingErrors;
}

export function cumulativeTracking(model: TransactionModel, input: TrackingInput): TrackingResult {
  const K = input.periodEnds.length;
  const ends = Float64Array.from(input.periodEnds);
  for (let k = 0; k < K; k++) {
    if (!Number.isFinite(ends[k] as number) || (k > 0 && (ends[k] as number) <= (ends[k - 1] as number))) throw new InputError('bad_periods', 'tracking: periodEnds must be finite and increasing');
  }
  if (input.actualPerPeriod && input.actualPerPeriod.length !== K) throw new InputError('bad_periods', `tracking: ${input.actualPerPeriod.length} actual values for ${K} periods`);
  const first = Float64Array.from(input.firstPurchase);
  for (let i = 0; i < first.length; i++) if (!Number.isFinite(first[i] as number)) throw new InputError('bad_summary', `tracking: first purchase ${i} is not finite`);
  // Customers sharing a first-purchase time share their curve.
  const c = compressRows([first], new Float64Array(first.length).fill(1));
  const s = c.cols[0] as Float64Array;
  const expectedCumulative = new Float64Array(K);
  for (let j = 0; j < c.n; j++) {
    const sj = s[j] as number;
    const wj = c.w[j] as number;
    for (let k = 0; k < K; k++) {
      const age = (ends[k] as number) - sj;
      if (age > 0) expectedCumulative[k] = (expectedCumulative[k] as number) + wj * model.expected(age);
    }
  }
  const expectedPerPeriod = new Float64Array(K);
  for (let k = 0; k < K; k++) expectedPerPeriod[k] = (expectedCumulative[k] as number) - (k > 0 ? (expectedCumulative[k - 1] as number) : 0);
  const out: TrackingResult = { periodEnds: ends, expectedCumulative, expectedPerPeriod };
  if (input.actualPerPeriod) {
    const actualPerPeriod = Float64Array.from(input.actualPerPeriod);
    const actualCumulative = new Float64Array(K);
    let acc = 0;
    for (let k = 0; k < K; k++) {
      acc += actualPerPeriod[k] as number;
      actualCumulative[k] = acc;
    }
    let sum = 0; let cnt = 0; let hSum = 0; let hCnt = 0;
    for (let k = 0; k < K; k++) {
      const a = actualCumulative[k] as number;
      if (!(a > 0)) continue;
      const e = Math.abs((expectedCumulative[k] as number) - a) / a;
      sum += e; cnt++;
      if (input.calibrationEnd !== undefined && (ends[k] as number) > input.calibrationEnd) { hSum += e; hCnt++; }
    }
    const lastA = K > 0 ? (actualCumulative[K - 1] as number) : 0;
    const lastE = K > 0 ? (expectedCumulative[K - 1] as number) : 0;
    out.actualPerPeriod = actualPerPeriod;
    out.actualCumulative = actualCumulative;
    out.errors = {
      mape: cnt ? sum / cnt : NaN,
      holdoutMape: hCnt ? hSum / hCnt : NaN,
      endError: lastE - lastA,
      endPercentError: lastA > 0 ? (lastE - lastA) / lastA : NaN,
    };
  }
  return out;
}

export interface ConditionalInput {
  x: ArrayLike<number>;
  tx: ArrayLike<number>;
  T: ArrayLike<number>;
  /** Actual repeat purchases in the holdout window. */
  holdoutX: ArrayLike<number>;
  /** Holdout length (model units), one for all or one per customer. */
  holdoutLength: number | ArrayLike<number>;
  /** Last frequency bucket, which collects x ≥ it (default 7, as in FHL's figure). */
  maxBucket?: number;
}

export interface ConditionalBucket {
  /** Lowest x of the bucket; the last bucket holds x ≥ from. */
  from: number;
  label: string;
  customers: number;
  actualMean: number;
  predictedMean: number;
}

export interface ConditionalResult {
  buckets: ConditionalBucket[];
  /** Per-customer predictions E[Y(holdout) | x, t_x, T]. */
  predicted: Float64Array;
  totalActual: number;
  totalPredicted: number;
  /** Per-customer mean absolute error and root mean squared error. */
  mae: number;
  rmse: number;
  /** Customer-weighted mean absolute percentage error of the bucket means (buckets with a positive actual mean). */
  bucketMape: number;
}

export function conditionalExpectations(model: TransactionModel, input: ConditionalInput): ConditionalResult {
  const s = validateSummary(input, 'conditional expectations');
  const n = s.n;
  if (input.holdoutX.length !== n) throw new InputError('bad_summary', `conditional expectations: ${input.holdoutX.length} holdout counts for ${n} customers`);
  const perCustomer = typeof input.holdoutLength !== 'number';
  if (perCustomer && (input.holdoutLength as ArrayLike<number>).length !== n) throw new InputError('bad_summary', 'conditional expectations: one holdout length per customer is needed');
  const maxBucket = input.maxBucket ?? 7;
  if (!Number.isInteger(maxBucket) || maxBucket < 1) throw new InputError('bad_buckets', `conditional expectations: maxBucket ${maxBucket} must be a positive integer`);
  const H = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const h = perCustomer ? ((input.holdoutLength as ArrayLike<number>)[i] as number) : (input.holdoutLength as number);
    if (!(h >= 0) || !Number.isFinite(h)) throw new InputError('bad_summary', `conditional expectations: holdout length ${h} must be ≥ 0`);
    H[i] = h;
    const y = input.holdoutX[i] as number;
    if (!(y >= 0) || !Number.isFinite(y)) throw new InputError('bad_summary', `conditional expectations: holdout count ${y} of customer ${i} must be ≥ 0`);
  }
  const c = compressRows([s.x, s.tx, s.T, H], new Float64Array(n).fill(1));
  const u = new Float64Array(c.n);
  for (let j = 0; j < c.n; j++) {
    u[j] = model.conditionalExpected((c.cols[3] as Float64Array)[j] as number, (c.cols[0] as Float64Array)[j] as number, (c.cols[1] as Float64Array)[j] as number, (c.cols[2] as Float64Array)[j] as number);
  }
  const predicted = new Float64Array(n);
  const cnt = new Float64Array(maxBucket + 1);
  const act = new Float64Array(maxBucket + 1);
  const pred = new Float64Array(maxBucket + 1);
  let totalActual = 0; let totalPredicted = 0; let ae = 0; let se = 0;
  for (let i = 0; i < n; i++) {
    const p = u[c.map[i] as number] as number;
    predicted[i] = p;
    const y = input.holdoutX[i] as number;
    const b = Math.min(s.x[i] as number, maxBucket);
    cnt[b] = (cnt[b] as number) + 1;
    act[b] = (act[b] as number) + y;
    pred[b] = (pred[b] as number) + p;
    totalActual += y; totalPredicted += p;
    ae += Math.abs(p - y); se += (p - y) * (p - y);
  }
  const buckets: ConditionalBucket[] = [];
  let mapeNum = 0; let mapeDen = 0;
  for (let b = 0; b <= maxBucket; b++) {
    const k = cnt[b] as number;
    if (k === 0) continue;
    const am = (act[b] as number) / k;
    const pm = (pred[b] as number) / k;
    buckets.push({ from: b, label: b === maxBucket ? `${b}+` : String(b), customers: k, actualMean: am, predictedMean: pm });
    if (am > 0) { mapeNum += k * Math.abs(pm - am) / am; mapeDen += k; }
  }
  return {
    buckets, predicted, totalActual, totalPredicted,
    mae: n ? ae / n : NaN, rmse: n ? Math.sqrt(se / n) : NaN, bucketMape: mapeDen ? mapeNum / mapeDen : NaN,
  };
}

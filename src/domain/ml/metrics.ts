/**
 * Quality diagnostics of a binary classifier's scores: ROC AUC, lift / gain by decile, calibration,
 * log loss, Brier score, base rate, and a plain-language grade a marketer can read.
 *
 * Written here (a few sorts and sums) rather than taken from a package: the pure core may not import
 * one, and each metric is checked against hand-computed cases in test/ml/classifiers-metrics.test.ts.
 *
 * Conventions: `y` is 0 / 1, `p` the predicted probability (or any score where a ranking suffices:
 * AUC and lift), optional `weights` default to 1. Groups of equal scores are never split across deciles
 * or bins (the tie-consistent reading of select.ts), so the tables do not depend on the row order.
 */
import { InputError } from '../errors.js';

function checkLengths(y: ArrayLike<number>, s: ArrayLike<number>, w?: ArrayLike<number>): void {
  if (y.length !== s.length) throw new InputError('bad_input', `${y.length} outcomes but ${s.length} scores`);
  if (w && w.length !== y.length) throw new InputError('bad_input', `${y.length} outcomes but ${w.length} weights`);
  for (let i = 0; i < s.length; i++) {
    if (Number.isNaN(s[i] as number)) throw new InputError('bad_input', `score ${i} is not a number`);
  }
}

/** Row order by descending score, equal scores by ascending index. */
function orderDesc(s: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(s.length);
  for (let i = 0; i < s.length; i++) order[i] = i;
  order.sort((a, b) => (s[b] as number) - (s[a] as number) || a - b);
  return order;
}

/** Weighted share of positives. */
export function baseRate(y: ArrayLike<number>, weights?: ArrayLike<number>): number {
  let pos = 0;
  let tot = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    pos += w * (y[i] as number);
    tot += w;
  }
  return tot > 0 ? pos / tot : Number.NaN;
}

/**
 * ROC AUC: the probability that a random positive scores above a random negative, ties counting one
 * half (the Mann–Whitney statistic with average ranks). Needs at least one positive and one negative.
 */
export function rocAuc(y: ArrayLike<number>, score: ArrayLike<number>, weights?: ArrayLike<number>): number {
  checkLengths(y, score, weights);
  const order = orderDesc(score);
  // Walk from the top: each tie group's positives beat every negative below the group and tie with
  // the group's own negatives.
  let wPos = 0;
  let wNeg = 0;
  let sum = 0;
  let k = 0;
  const n = order.length;
  while (k < n) {
    const v = score[order[k] as number] as number;
    let gPos = 0;
    let gNeg = 0;
    let e = k;
    while (e < n && (score[order[e] as number] as number) === v) {
      const i = order[e] as number;
      const w = weights ? (weights[i] as number) : 1;
      if ((y[i] as number) === 1) gPos += w;
      else gNeg += w;
      e++;
    }
    // Each negative of this group is beaten by every positive seen before it and ties with the group's own.
    sum += gNeg * (wPos + 0.5 * gPos);
    wPos += gPos;
    wNeg += gNeg;
    k = e;
  }
  if (wPos === 0 || wNeg === 0) {
    throw new InputError('bad_input', `AUC needs both outcomes: ${wPos === 0 ? 'no positive' : 'no negative'} row`);
  }
  return sum / (wPos * wNeg);
}

/** One row of a lift table (deciles by descending score: decile 1 holds the highest scores). */
export interface LiftRow {
  decile: number;
  rows: number;
  positives: number;
  /** Positive rate in this decile. */
  rate: number;
  /** rate / base rate: 3 means three times as likely as an average row. */
  lift: number;
  cumulativeRows: number;
  cumulativePositives: number;
  cumulativeRate: number;
  /** Cumulative rate / base rate: the lift of targeting deciles 1..d. */
  cumulativeLift: number;
  /** Share of all positives found in deciles 1..d (the gain / capture rate). */
  gain: number;
  /** Score range of the decile (NaN when the decile is empty). */
  minScore: number;
  maxScore: number;
}

/**
 * Lift by decile (or `groups` equal shares). A row goes to group 1 + floor(groups × above / n), where
 * `above` counts the rows scoring strictly higher: equal scores share a group, so with many ties a
 * group can hold more than n / groups rows and a later one fewer (or none).
 */
export function liftTable(y: ArrayLike<number>, score: ArrayLike<number>, groups = 10): LiftRow[] {
  checkLengths(y, score);
  if (!Number.isInteger(groups) || groups < 2) throw new InputError('bad_option', `lift needs at least 2 groups, got ${groups}`);
  const n = y.length;
  if (n === 0) throw new InputError('bad_input', 'lift needs at least one row');
  const order = orderDesc(score);
  const rows = new Float64Array(groups);
  const pos = new Float64Array(groups);
  const lo = new Float64Array(groups).fill(Number.NaN);
  const hi = new Float64Array(groups).fill(Number.NaN);
  let k = 0;
  while (k < n) {
    const v = score[order[k] as number] as number;
    const g = Math.min(groups - 1, Math.floor((groups * k) / n));
    let e = k;
    while (e < n && (score[order[e] as number] as number) === v) {
      rows[g] = (rows[g] as number) + 1;
      pos[g] = (pos[g] as number) + (y[order[e] as number] as number);
      e++;
    }
    if (Number.isNaN(hi[g] as number)) hi[g] = v;
    lo[g] = v;
    k = e;
  }
  let totalPos = 0;
  for (let g = 0; g < groups; g++) totalPos += pos[g] as number;
  const base = totalPos / n;
  const out: LiftRow[] = [];
  let cr = 0;
  let cp = 0;
  for (let g = 0; g < groups; g++) {
    const r = rows[g] as number;
    const p = pos[g] as number;
    cr += r;
    cp += p;
    const rate = r > 0 ? p / r : Number.NaN;
    const cRate = cr > 0 ? cp / cr : Number.NaN;
    out.push({
      decile: g + 1,
      rows: r,
      positives: p,
      rate,
      lift: base > 0 ? rate / base : Number.NaN,
      cumulativeRows: cr,
      cumulativePositives: cp,
      cumulativeRate: cRate,
      cumulativeLift: base > 0 ? cRate / base : Number.NaN,
      gain: totalPos > 0 ? cp / totalPos : Number.NaN,
      minScore: lo[g] as number,
      maxScore: hi[g] as number,
    });
  }
  return out;
}

export interface CalibrationBin {
  bin: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
  minPredicted: number;
  maxPredicted: number;
}

export interface Calibration {
  bins: CalibrationBin[];
  /** Expected calibration error: Σ (rows_b / n) · |mean predicted_b − observed_b|. */
  ece: number;
}

/**
 * Calibration: `bins` equal-count bins of ascending predicted probability (equal predictions share a
 * bin, as in liftTable), each with its mean prediction and observed rate, and the expected calibration
 * error. Empty bins (possible with ties) are left out.
 */
export function calibration(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): Calibration {
  checkLengths(y, p);
  if (!Number.isInteger(bins) || bins < 1) throw new InputError('bad_option', `calibration needs at least 1 bin, got ${bins}`);
  const n = y.length;
  if (n === 0) throw new InputError('bad_input', 'calibration needs at least one row');
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (p[a] as number) - (p[b] as number) || a - b);
  const cnt = new Float64Array(bins);
  const sp = new Float64Array(bins);
  const sy = new Float64Array(bins);
  const lo = new Float64Array(bins).fill(Number.NaN);
  const hi = new Float64Array(bins).fill(Number.NaN);
  let k = 0;
  while (k < n) {
    const v = p[order[k] as number] as number;
    const b = Math.min(bins - 1, Math.floor((bins * k) / n));
    let e = k;
    while (e < n && (p[order[e] as number] as number) === v) {
      cnt[b] = (cnt[b] as number) + 1;
      sp[b] = (sp[b] as number) + v;
      sy[b] = (sy[b] as number) + (y[order[e] as number] as number);
      e++;
    }
    if (Number.isNaN(lo[b] as number)) lo[b] = v;
    hi[b] = v;
    k = e;
  }
  const out: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const c = cnt[b] as number;
    if (c === 0) continue;
    const mp = (sp[b] as number) / c;
    const ob = (sy[b] as number) / c;
    ece += (c / n) * Math.abs(mp - ob);
    out.push({ bin: b + 1, rows: c, meanPredicted: mp, observedRate: ob, minPredicted: lo[b] as number, maxPredicted: hi[b] as number });
  }
  return { bins: out, ece };
}

/**
 * Mean log loss −[y ln p + (1 − y) ln(1 − p)], with p clipped to [eps, 1 − eps] (scikit-learn's
 * convention, so a single confident mistake costs about 34.5 instead of infinity).
 */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>, weights?: ArrayLike<number>, eps = 1e-15): number {
  checkLengths(y, p, weights);
  let s = 0;
  let tw = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    // Clip the probability given to the observed outcome (1 − p computed before clipping, so a certain
    // mistake costs exactly −ln(eps)).
    const pi = p[i] as number;
    const q = Math.min(1 - eps, Math.max(eps, (y[i] as number) === 1 ? pi : 1 - pi));
    s -= w * Math.log(q);
    tw += w;
  }
  return s / tw;
}

/** Mean squared difference between predicted probability and outcome (0 is perfect; 0.25 is a coin). */
export function brierScore(y: ArrayLike<number>, p: ArrayLike<number>, weights?: ArrayLike<number>): number {
  checkLengths(y, p, weights);
  let s = 0;
  let tw = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    const d = (p[i] as number) - (y[i] as number);
    s += w * d * d;
    tw += w;
  }
  return s / tw;
}

export type Grade = 'excellent' | 'good' | 'fair' | 'weak' | 'no better than chance';

export interface QualityGrade {
  grade: Grade;
  /** One sentence for a marketer. */
  explanation: string;
  /** Extra cautions (suspiciously high AUC, few validation positives). */
  warnings: string[];
}

/**
 * AUC thresholds of the grades: ≥ 0.85 excellent, ≥ 0.75 good, ≥ 0.65 fair, ≥ 0.55 weak, below
 * "no better than chance". Marketing propensity models on behavioural data typically land between 0.7
 * and 0.85; above 0.97 a feature usually leaks the outcome (it is recorded after the event), which is
 * flagged rather than praised. 0.55 is where a ranking starts to beat a random list by a margin a
 * campaign can notice.
 */
export const GRADE_THRESHOLDS: ReadonlyArray<readonly [number, Grade]> = [
  [0.85, 'excellent'],
  [0.75, 'good'],
  [0.65, 'fair'],
  [0.55, 'weak'],
];

export interface GradeContext {
  /** Lift of the top decile (liftTable(...)[0].lift): adds "the top 10 % are N× as likely" to the sentence. */
  topDecileLift?: number;
  /** Positives in the validation set: fewer than 30 makes the AUC itself uncertain. */
  validationPositives?: number;
  /** What a positive is, for the sentence ("buyers", "churners"); default "positives". */
  outcome?: string;
}

export function qualityGrade(auc: number, ctx: GradeContext = {}): QualityGrade {
  if (!(auc >= 0 && auc <= 1)) throw new InputError('bad_input', `AUC must be between 0 and 1, got ${auc}`);
  const grade: Grade = GRADE_THRESHOLDS.find(([t]) => auc >= t)?.[1] ?? 'no better than chance';
  const who = ctx.outcome ?? 'positives';
  const pct = Math.round(auc * 100);
  const lift = ctx.topDecileLift;
  const liftPart = lift !== undefined && Number.isFinite(lift) ? `, and the top 10 % of scored profiles are ${lift.toFixed(1)}× as likely as average` : '';
  let explanation: string;
  if (grade === 'no better than chance') {
    explanation = `The model ranks a random one of the ${who} above a random other profile only ${pct} % of the time (50 % is a coin toss), so its scores should not be used to pick an audience.`;
  } else {
    explanation = `The model ranks a random one of the ${who} above a random other profile ${pct} % of the time (50 % is a coin toss)${liftPart}: ${grade} for targeting.`;
  }
  const warnings: string[] = [];
  if (auc >= 0.97) warnings.push(`An AUC of ${auc.toFixed(3)} is suspiciously high for behavioural data: check that no feature is recorded after (or because of) the outcome.`);
  if (ctx.validationPositives !== undefined && ctx.validationPositives < 30) {
    warnings.push(`Only ${ctx.validationPositives} ${who} in the validation set: the AUC could easily be off by 0.05 or more.`);
  }
  return { grade, explanation, warnings };
}

/** Every diagnostic of one scored validation set. */
export interface Diagnostics {
  rows: number;
  positives: number;
  baseRate: number;
  auc: number;
  logLoss: number;
  brier: number;
  lift: LiftRow[];
  calibration: Calibration;
  quality: QualityGrade;
}

export function diagnostics(y: ArrayLike<number>, p: ArrayLike<number>, outcome?: string): Diagnostics {
  const auc = rocAuc(y, p);
  const lift = liftTable(y, p);
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] as number;
  const ctx: GradeContext = { validationPositives: positives };
  const top = lift[0]?.lift;
  if (top !== undefined) ctx.topDecileLift = top;
  if (outcome !== undefined) ctx.outcome = outcome;
  return {
    rows: y.length,
    positives,
    baseRate: baseRate(y),
    auc,
    logLoss: logLoss(y, p),
    brier: brierScore(y, p),
    lift,
    calibration: calibration(y, p),
    quality: qualityGrade(auc, ctx),
  };
}

/**
 * How well an uplift model ranks customers, exactly as scikit-uplift (`sklift.metrics`, 0.5) defines it:
 * the Qini curve and its perfect counterpart, the normalised area under it (`qini_auc_score`, the
 * "Qini coefficient"), the uplift curve and its normalised area (`uplift_auc_score`, AUUC), and uplift
 * at the top k (`uplift_at_k`, strategies 'overall' and 'by_group'). Pure numeric code.
 *
 * Why our own code and not a port of a library: sklift is Python and nothing in npm implements these;
 * the formulas are a few cumulative sums, written here in single passes over typed arrays so that 1M
 * scored customers cost one sort. The ordering, tie handling, integer truncation of k and the trapezoid
 * rule follow sklift / numpy / scikit-learn to the last detail so that numbers agree with theirs:
 * - rows are ranked by descending score; rows with equal scores are ordered by descending index (sklift
 *   reverses a stable ascending argsort). Curves only take points at the last row of a run of equal
 *   scores ("each distinct threshold"), so ties never split; `upliftAtK` can cut through a tie and then
 *   takes the later rows first, as sklift does;
 * - a curve starts at (0, 0); a ratio with an empty denominator counts as 0 (numpy `divide(..., where=)`);
 * - areas by the trapezoid rule (`sklearn.metrics.auc`);
 * - the normalised scores are (model area − random area) / (perfect area − random area), where the random
 *   line joins (0, 0) to the perfect curve's last point. NaN where that denominator is 0.
 */
import { InputError } from '../errors.js';
import { radixOrder } from '../radix.js';

/** Points of a curve: x = number of top-ranked rows targeted, y = the curve's value there. */
export interface Curve {
  x: Float64Array;
  y: Float64Array;
}

export type UpliftAtKStrategy = 'overall' | 'by_group';

/** Checks that y and treatment are 0/1 and the lengths agree; returns the row count. */
function checkInputs(y: ArrayLike<number>, treatment: ArrayLike<number>, scores?: ArrayLike<number>): number {
  const n = y.length;
  if (treatment.length !== n) throw new InputError('uplift.length_mismatch', `outcome has ${n} rows but treatment has ${treatment.length}`);
  if (scores && scores.length !== n) throw new InputError('uplift.length_mismatch', `outcome has ${n} rows but the scores have ${scores.length}`);
  if (n === 0) throw new InputError('uplift.empty', 'no rows to evaluate');
  let treated = 0;
  for (let i = 0; i < n; i++) {
    const yi = y[i] as number;
    const ti = treatment[i] as number;
    if (yi !== 0 && yi !== 1) throw new InputError('uplift.outcome_not_binary', `outcome of row ${i} is ${yi}; it must be 0 or 1`);
    if (ti !== 0 && ti !== 1) throw new InputError('uplift.treatment_not_binary', `treatment of row ${i} is ${ti}; it must be 0 (control) or 1 (treated)`);
    if (scores && Number.isNaN(scores[i] as number)) throw new InputError('uplift.score_missing', `the score of row ${i} is NaN`);
    treated += ti;
  }
  if (treated === 0 || treated === n) throw new InputError('uplift.one_arm', `all ${n} rows are ${treated === 0 ? 'control' : 'treated'}: uplift needs treated and control rows`);
  return n;
}

/**
 * Row indices from the highest score to the lowest; equal scores by descending index: the reverse of a
 * stable ascending sort, exactly sklift's `argsort(kind="mergesort")[::-1]`. Scores must not be NaN
 * (callers check); −0 counts as 0, as in numpy's comparisons.
 *
 * From 4096 rows the stable radix order of ../radix.ts, reversed (a comparator costs ~0.45 s at 1M
 * rows); small inputs use the comparator, where it is cheaper.
 */
export function rankByScore(scores: ArrayLike<number>): Uint32Array {
  const n = scores.length;
  if (n < 4096) {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((a, b) => {
      const d = (scores[b] as number) - (scores[a] as number);
      return d !== 0 ? d : b - a;
    });
  }
  return radixOrder(scores).order.reverse();
}

/** The cumulative counts of the ranked rows at each distinct score (the curve's thresholds). */
interface Thresholds {
  /** Rows targeted (num_all). */
  n: Float64Array;
  /** Treated rows among them (N_T) and their responders (Y_T); control rows' responders (Y_C). */
  nt: Float64Array;
  yt: Float64Array;
  yc: Float64Array;
}

function thresholds(y: ArrayLike<number>, scores: ArrayLike<number>, treatment: ArrayLike<number>, order = rankByScore(scores)): Thresholds {
  const n = order.length;
  let count = 0;
  for (let k = 0; k < n; k++) if (k === n - 1 || scores[order[k] as number] !== scores[order[k + 1] as number]) count++;
  const out: Thresholds = { n: new Float64Array(count), nt: new Float64Array(count), yt: new Float64Array(count), yc: new Float64Array(count) };
  let nt = 0, yt = 0, yc = 0, j = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    if (treatment[i] === 1) {
      nt++;
      yt += y[i] as number;
    } else yc += y[i] as number;
    if (k === n - 1 || scores[i] !== scores[order[k + 1] as number]) {
      out.n[j] = k + 1;
      out.nt[j] = nt;
      out.yt[j] = yt;
      out.yc[j] = yc;
      j++;
    }
  }
  return out;
}

/** Prepends (0, 0) as sklift does (its condition always holds: the first threshold has x ≥ 1). */
function fromOrigin(x: Float64Array, y: Float64Array): Curve {
  const cx = new Float64Array(x.length + 1);
  const cy = new Float64Array(y.length + 1);
  cx.set(x, 1);
  cy.set(y, 1);
  return { x: cx, y: cy };
}

/**
 * Qini curve: at each distinct score threshold, Y_T − Y_C · N_T / N_C over the rows ranked at or
 * above it (the incremental responders of targeting them, in treated-group units).
 */
export function qiniCurve(y: ArrayLike<number>, uplift: ArrayLike<number>, treatment: ArrayLike<number>): Curve {
  checkInputs(y, treatment, uplift);
  return qiniFromThresholds(thresholds(y, uplift, treatment));
}

function qiniFromThresholds(t: Thresholds): Curve {
  const m = t.n.length;
  const values = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const nt = t.nt[j] as number;
    const nc = (t.n[j] as number) - nt;
    // same operation order as sklift: y_ctrl * (num_trmnt / num_ctrl)
    values[j] = (t.yt[j] as number) - (t.yc[j] as number) * (nc !== 0 ? nt / nc : 0);
  }
  return fromOrigin(t.n, values);
}

/**
 * Uplift curve: at each distinct threshold, (Y_T / N_T − Y_C / N_C) · N over the rows ranked at or above
 * it (the response-rate difference scaled to the rows targeted).
 */
export function upliftCurve(y: ArrayLike<number>, uplift: ArrayLike<number>, treatment: ArrayLike<number>): Curve {
  checkInputs(y, treatment, uplift);
  return upliftFromThresholds(thresholds(y, uplift, treatment));
}

function upliftFromThresholds(t: Thresholds): Curve {
  const m = t.n.length;
  const values = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const n = t.n[j] as number;
    const nt = t.nt[j] as number;
    const nc = n - nt;
    values[j] = ((nt !== 0 ? (t.yt[j] as number) / nt : 0) - (nc !== 0 ? (t.yc[j] as number) / nc : 0)) * n;
  }
  return fromOrigin(t.n, values);
}

/**
 * The best possible Qini curve. With `negativeEffect` (sklift's default) it is the Qini curve of the
 * oracle score y·t − y·(1 − t): treated responders first, control responders last. Without, it is
 * sklift's three-point curve (0, 0), (R, R), (n, R) with R = Y_T − N_T · Y_C / N_C over all rows.
 */
export function perfectQiniCurve(y: ArrayLike<number>, treatment: ArrayLike<number>, negativeEffect = true): Curve {
  const n = checkInputs(y, treatment);
  if (negativeEffect) {
    const oracle = new Float64Array(n);
    for (let i = 0; i < n; i++) oracle[i] = (y[i] as number) * (treatment[i] as number) - (y[i] as number) * (1 - (treatment[i] as number));
    return qiniFromThresholds(thresholds(y, oracle, treatment));
  }
  let nt = 0, yt = 0, yc = 0;
  for (let i = 0; i < n; i++) {
    if (treatment[i] === 1) {
      nt++;
      yt += y[i] as number;
    } else yc += y[i] as number;
  }
  const ratio = yt - (nt * yc) / (n - nt);
  return { x: Float64Array.of(0, ratio, n), y: Float64Array.of(0, ratio, ratio) };
}

/**
 * The best possible uplift curve (sklift's `perfect_uplift_curve`): the uplift curve of the oracle
 * score 2·[y = t] + (y if control responders outnumber treated non-responders, else t).
 */
export function perfectUpliftCurve(y: ArrayLike<number>, treatment: ArrayLike<number>): Curve {
  const n = checkInputs(y, treatment);
  let controlResponders = 0, treatedNonResponders = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] === 1 && treatment[i] === 0) controlResponders++;
    if (y[i] === 0 && treatment[i] === 1) treatedNonResponders++;
  }
  const byOutcome = controlResponders > treatedNonResponders;
  const oracle = new Float64Array(n);
  for (let i = 0; i < n; i++) oracle[i] = 2 * (y[i] === treatment[i] ? 1 : 0) + ((byOutcome ? y[i] : treatment[i]) as number);
  return upliftFromThresholds(thresholds(y, oracle, treatment));
}

/**
 * Area under a curve by the trapezoid rule (`sklearn.metrics.auc`, which is numpy's `trapz`): x must be
 * monotonic (decreasing x gives the area with its sign flipped back, as scikit-learn does).
 */
export function auc(curve: Curve): number {
  const { x, y } = curve;
  if (x.length !== y.length) throw new Error(`curve has ${x.length} x values and ${y.length} y values`);
  let direction = 1;
  for (let i = 1; i < x.length; i++) {
    if ((x[i] as number) < (x[i - 1] as number)) {
      direction = -1;
      break;
    }
  }
  if (direction === -1) {
    for (let i = 1; i < x.length; i++) {
      if ((x[i] as number) > (x[i - 1] as number)) throw new InputError('uplift.curve_not_monotonic', 'the curve\'s x values are neither increasing nor decreasing, so it has no area');
    }
  }
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] as number) - (x[i - 1] as number)) * ((y[i] as number) + (y[i - 1] as number)) / 2;
  return direction * area;
}

/** (model − random) / (perfect − random), the random line joining (0, 0) to the perfect curve's end. */
function normalisedArea(model: Curve, perfect: Curve): number {
  const lastX = perfect.x[perfect.x.length - 1] as number;
  const lastY = perfect.y[perfect.y.length - 1] as number;
  const random = auc({ x: Float64Array.of(0, lastX), y: Float64Array.of(0, lastY) });
  return (auc(model) - random) / (auc(perfect) - random);
}

/**
 * The Qini coefficient (`qini_auc_score`): the area between the model's Qini curve and the random line,
 * as a share of the area between the perfect curve and the random line. 1 = perfect ranking, 0 = no
 * better than random, negative = worse than random.
 */
export function qiniAucScore(y: ArrayLike<number>, uplift: ArrayLike<number>, treatment: ArrayLike<number>, negativeEffect = true): number {
  const perfect = perfectQiniCurve(y, treatment, negativeEffect);
  if (!negativeEffect && (perfect.x[1] as number) < 0) {
    // sklearn's auc refuses the curve (0, 0), (R, R), (n, R) when R < 0; say why in the user's terms
    throw new InputError('uplift.negative_overall_effect', 'the treated convert less than the control overall, so the perfect Qini curve without negative effects is undefined; use negativeEffect = true');
  }
  return normalisedArea(qiniCurve(y, uplift, treatment), perfect);
}

/** AUUC as sklift normalises it (`uplift_auc_score`): like the Qini coefficient, on the uplift curve. */
export function upliftAucScore(y: ArrayLike<number>, uplift: ArrayLike<number>, treatment: ArrayLike<number>): number {
  return normalisedArea(upliftCurve(y, uplift, treatment), perfectUpliftCurve(y, treatment));
}

/**
 * Uplift at the top k (`uplift_at_k`): treated response rate − control response rate among the rows
 * ranked highest.
 * - 'overall': the top k of all rows (k · n truncated, as sklift's `int(n * k)`), split by arm.
 * - 'by_group': the top k of the treated rows and, separately, the top k of the control rows.
 *
 * k in (0, 1) is a share; an integer k ≥ 1 is a number of rows (below n). NaN when an arm has no row
 * among those taken (numpy's mean of nothing).
 */
export function upliftAtK(y: ArrayLike<number>, uplift: ArrayLike<number>, treatment: ArrayLike<number>, strategy: UpliftAtKStrategy, k = 0.3): number {
  checkInputs(y, treatment, uplift);
  return upliftAtKRanked(y, rankByScore(uplift), treatment, strategy, k);
}

/** `upliftAtK` on rows already ranked (`rankByScore`), for callers that evaluate several k. */
function upliftAtKRanked(y: ArrayLike<number>, order: Uint32Array, treatment: ArrayLike<number>, strategy: UpliftAtKStrategy, k: number): number {
  const n = order.length;
  if (strategy !== 'overall' && strategy !== 'by_group') throw new InputError('uplift.bad_strategy', `strategy must be 'overall' or 'by_group', got '${String(strategy)}'`);
  const share = k > 0 && k < 1;
  if (!share && !(Number.isInteger(k) && k >= 1 && k < n)) {
    throw new InputError('uplift.bad_k', `k = ${k}: give a share between 0 and 1 (exclusive) or a whole number of rows from 1 to ${n - 1}`);
  }
  let nTreated = 0;
  for (let i = 0; i < n; i++) nTreated += treatment[i] as number;
  const nControl = n - nTreated;
  let takeT: number, takeC: number, takeAll: number;
  if (strategy === 'overall') {
    takeAll = share ? Math.floor(n * k) : k;
    takeT = Infinity;
    takeC = Infinity;
  } else {
    takeAll = n;
    takeT = share ? Math.floor(nTreated * k) : k;
    takeC = share ? Math.floor(nControl * k) : k;
    if (takeC > nControl) throw new InputError('uplift.bad_k', `k = ${k} rows is more than the ${nControl} control rows`);
    if (takeT > nTreated) throw new InputError('uplift.bad_k', `k = ${k} rows is more than the ${nTreated} treated rows`);
  }
  let nt = 0, nc = 0, yt = 0, yc = 0;
  for (let r = 0; r < takeAll; r++) {
    const i = order[r] as number;
    if (treatment[i] === 1) {
      if (nt < takeT) {
        nt++;
        yt += y[i] as number;
      }
    } else if (nc < takeC) {
      nc++;
      yc += y[i] as number;
    }
    if (strategy === 'by_group' && nt >= takeT && nc >= takeC) break;
  }
  return yt / nt - yc / nc;
}

/**
 * At most `points` points of a curve, evenly spaced in x, always keeping the first and last (for charts
 * and the API: a curve over 1M rows has up to 1M points).
 */
export function downsampleCurve(curve: Curve, points = 101): Curve {
  const m = curve.x.length;
  if (m <= points || points < 2) return curve;
  const x = new Float64Array(points);
  const y = new Float64Array(points);
  const first = curve.x[0] as number;
  const last = curve.x[m - 1] as number;
  let j = 0;
  for (let p = 0; p < points; p++) {
    const target = first + ((last - first) * p) / (points - 1);
    while (j < m - 1 && (curve.x[j + 1] as number) <= target) j++;
    x[p] = curve.x[j] as number;
    y[p] = curve.y[j] as number;
  }
  x[points - 1] = last;
  y[points - 1] = curve.y[m - 1] as number;
  return { x, y };
}

/** Every ranking measure of a scored evaluation set at once, for reports and the API. */
export interface UpliftEvaluation {
  rows: number;
  treated: number;
  control: number;
  /** Qini coefficient (`qini_auc_score`, negative effects allowed). */
  qini: number;
  /** Normalised area under the uplift curve (`uplift_auc_score`). */
  auuc: number;
  /** Uplift at the top 10, 20, 30, 50 % ('overall'). */
  upliftAt: { k: number; value: number }[];
  /** Curves for charts, downsampled to at most `curvePoints` points. */
  qiniCurve: Curve;
  perfectQiniCurve: Curve;
  upliftCurve: Curve;
}

export function evaluateUplift(y: ArrayLike<number>, uplift: ArrayLike<number>, treatment: ArrayLike<number>, curvePoints = 101): UpliftEvaluation {
  const n = checkInputs(y, treatment, uplift);
  let treated = 0;
  for (let i = 0; i < n; i++) treated += treatment[i] as number;
  // one sort of the scores serves both curves and every k
  const order = rankByScore(uplift);
  const t = thresholds(y, uplift, treatment, order);
  const qini = qiniFromThresholds(t);
  const up = upliftFromThresholds(t);
  const perfectQini = perfectQiniCurve(y, treatment);
  const ks = [0.1, 0.2, 0.3, 0.5].filter((k) => Math.floor(n * k) >= 1);
  return {
    rows: n,
    treated,
    control: n - treated,
    qini: normalisedArea(qini, perfectQini),
    auuc: normalisedArea(up, perfectUpliftCurve(y, treatment)),
    upliftAt: ks.map((k) => ({ k, value: upliftAtKRanked(y, order, treatment, 'overall', k) })),
    qiniCurve: downsampleCurve(qini, curvePoints),
    perfectQiniCurve: downsampleCurve(perfectQini, curvePoints),
    upliftCurve: downsampleCurve(up, curvePoints),
  };
}

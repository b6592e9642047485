/**
 * Uplift models: who converts *because* they were contacted, from a randomised campaign (treated and
 * control rows, a binary outcome). Two meta-learners, each built on any binary-classifier `Learner`
 * (logistic, gradient-boosted trees, …):
 *
 * - **Two-model** (T-learner): one classifier on the treated rows, one on the control rows;
 *   uplift(x) = P(y = 1 | x, treated) − P(y = 1 | x, control). Simple and robust; its weakness is that
 *   each model is fit for its own arm's response, not for the difference, so noise in either shows up
 *   in the uplift.
 * - **Class transformation** (Jaskowski & Jaroszewicz 2012): one classifier on the transformed label
 *   Z = 1 when (treated and converted) or (control and not converted). When the treatment was assigned
 *   at random with probability ½, P(Z = 1 | x) = ½·p_t(x) + ½·(1 − p_c(x)), hence
 *   uplift(x) = 2·P(Z = 1 | x) − 1.
 *
 *   When the treatment share p is not ½ the identity fails (P(Z = 1 | x) = p·p_t + (1 − p)·(1 − p_c)).
 *   Correction used here (`balance: 'reweight'`, the default): treated rows are weighted ½ / p and
 *   control rows ½ / (1 − p) (times any caller weights), so that in the weighted data both arms carry
 *   the same total weight; treatment is then independent of x with probability ½ and the identity holds
 *   again. Assumptions: the assignment was random with the same probability for everyone (a campaign
 *   whose treatment probability depends on x needs propensity weights instead, not done here), and the
 *   learner honours `weights`. `balance: 'none'` skips the correction (correct only at p = ½).
 *
 * Both return an `UpliftModel` whose `predict` gives one uplift estimate per row (a difference of
 * probabilities, in [−1, 1]). Evaluation lives in uplift-metrics.ts, per-group effects in
 * uplift-effects.ts.
 */
import { InputError } from '../errors.js';
import { hash32 } from '../random.js';
import { takeRows, type BinaryClassifier, type FitProgress, type Learner, type LearnerOptions, type Matrix } from './types.js';

export type UpliftMethod = 'two_model' | 'class_transformation';

export interface UpliftOptions {
  /** Seed of the fit; each inner classifier gets its own seed derived from it. Default 0. */
  seed?: number;
  /** Per-row weights (default 1). */
  weights?: Float64Array;
  progress?: FitProgress;
  /** Class transformation only: correct an unequal treatment share by reweighting (default) or not. */
  balance?: 'reweight' | 'none';
  /** Rows each arm needs at least (default 1): fewer is an `InputError`. */
  minArmRows?: number;
}

export interface UpliftModel {
  readonly method: UpliftMethod;
  /** "two_model(logistic)", "class_transformation(gbt)", … */
  readonly kind: string;
  /** Rows per arm in the fit and the (weighted) share of treated rows. */
  readonly treatedRows: number;
  readonly controlRows: number;
  readonly treatedShare: number;
  /** Estimated uplift per row of x (same columns as the fit): P(y | treated) − P(y | control). */
  predict(x: Matrix): Float64Array;
}

export interface TwoModel extends UpliftModel {
  readonly method: 'two_model';
  readonly treated: BinaryClassifier;
  readonly control: BinaryClassifier;
  /** Both arms' predicted probabilities per row (the uplift is their difference). */
  predictArms(x: Matrix): { treated: Float64Array; control: Float64Array };
}

export interface ClassTransformationModel extends UpliftModel {
  readonly method: 'class_transformation';
  /** The classifier of Z. */
  readonly z: BinaryClassifier;
  /** The weight multiplier of treated and of control rows (1 and 1 without reweighting). */
  readonly armWeights: { treated: number; control: number };
}

interface Arms {
  treated: Uint32Array;
  control: Uint32Array;
  /** Weighted share of treated rows. */
  share: number;
}

function checkInput(x: Matrix, y: Uint8Array, treatment: Uint8Array, opts: UpliftOptions): Arms {
  if (y.length !== x.rows) throw new InputError('uplift.length_mismatch', `the matrix has ${x.rows} rows but the outcome has ${y.length}`);
  if (treatment.length !== x.rows) throw new InputError('uplift.length_mismatch', `the matrix has ${x.rows} rows but the treatment has ${treatment.length}`);
  if (opts.weights && opts.weights.length !== x.rows) throw new InputError('uplift.length_mismatch', `the matrix has ${x.rows} rows but there are ${opts.weights.length} weights`);
  let nt = 0, wt = 0, wAll = 0;
  for (let i = 0; i < x.rows; i++) {
    const t = treatment[i] as number;
    if (t > 1) throw new InputError('uplift.treatment_not_binary', `treatment of row ${i} is ${t}; it must be 0 (control) or 1 (treated)`);
    if ((y[i] as number) > 1) throw new InputError('uplift.outcome_not_binary', `outcome of row ${i} is ${y[i]}; it must be 0 or 1`);
    const w = opts.weights ? (opts.weights[i] as number) : 1;
    if (!(w >= 0) || !Number.isFinite(w)) throw new InputError('uplift.bad_weight', `weight of row ${i} is ${w}; weights must be finite and not negative`);
    nt += t;
    wAll += w;
    if (t === 1) wt += w;
  }
  const nc = x.rows - nt;
  const min = Math.max(1, opts.minArmRows ?? 1);
  if (nt < min || nc < min) {
    throw new InputError('uplift.too_few_rows', `the fit needs at least ${min} treated and ${min} control rows; it has ${nt} treated and ${nc} control`);
  }
  if (!(wt > 0 && wAll - wt > 0)) throw new InputError('uplift.too_few_rows', 'the weights of one arm are all 0');
  const treated = new Uint32Array(nt);
  const control = new Uint32Array(nc);
  for (let i = 0, a = 0, b = 0; i < x.rows; i++) {
    if (treatment[i] === 1) treated[a++] = i;
    else control[b++] = i;
  }
  return { treated, control, share: wt / wAll };
}

/** A seed for one inner fit, derived from the outer seed and a name (same seed → same fits). */
function innerSeed(seed: number, name: string): number {
  return hash32(`${seed}:uplift:${name}`);
}

function pick<T extends Uint8Array | Float64Array>(values: T, rows: Uint32Array, make: (n: number) => T): T {
  const out = make(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k] as number] as number;
  return out;
}

/** Relays an inner fit's progress under a phase name of its own. */
function relay(progress: FitProgress | undefined, name: string): FitProgress | undefined {
  return progress ? (p) => progress({ ...p, phase: `${name}:${p.phase}` }) : undefined;
}

/** Two-model (T-learner) uplift: one classifier per arm. */
export function fitTwoModel(x: Matrix, y: Uint8Array, treatment: Uint8Array, learner: Learner, opts: UpliftOptions = {}): TwoModel {
  const arms = checkInput(x, y, treatment, opts);
  const seed = opts.seed ?? 0;
  const fitArm = (rows: Uint32Array, name: 'treated' | 'control', step: number): BinaryClassifier => {
    opts.progress?.({ phase: 'fit', done: step, total: 2, detail: `${name} model on ${rows.length} rows` });
    const armOpts: LearnerOptions = { seed: innerSeed(seed, name) };
    if (opts.weights) armOpts.weights = pick(opts.weights, rows, (n) => new Float64Array(n));
    const progress = relay(opts.progress, name);
    if (progress) armOpts.progress = progress;
    return learner(takeRows(x, rows), pick(y, rows, (n) => new Uint8Array(n)), armOpts);
  };
  const treated = fitArm(arms.treated, 'treated', 0);
  const control = fitArm(arms.control, 'control', 1);
  opts.progress?.({ phase: 'fit', done: 2, total: 2 });
  const predictArms = (m: Matrix) => ({ treated: treated.predict(m), control: control.predict(m) });
  return {
    method: 'two_model',
    kind: `two_model(${treated.kind})`,
    treatedRows: arms.treated.length,
    controlRows: arms.control.length,
    treatedShare: arms.share,
    treated,
    control,
    predictArms,
    predict(m: Matrix): Float64Array {
      const { treated: pt, control: pc } = predictArms(m);
      const out = new Float64Array(m.rows);
      for (let i = 0; i < m.rows; i++) out[i] = (pt[i] as number) - (pc[i] as number);
      return out;
    },
  };
}

/**
 * The transformed label of Jaskowski & Jaroszewicz: 1 when treated and converted or control and not
 * converted.
 */
export function transformedLabel(y: Uint8Array, treatment: Uint8Array): Uint8Array {
  const z = new Uint8Array(y.length);
  for (let i = 0; i < y.length; i++) z[i] = (treatment[i] === 1) === (y[i] === 1) ? 1 : 0;
  return z;
}

/** Class-transformation uplift: one classifier of Z, reweighted to a ½ treatment share by default. */
export function fitClassTransformation(x: Matrix, y: Uint8Array, treatment: Uint8Array, learner: Learner, opts: UpliftOptions = {}): ClassTransformationModel {
  const arms = checkInput(x, y, treatment, opts);
  const balance = opts.balance ?? 'reweight';
  if (balance !== 'reweight' && balance !== 'none') throw new InputError('uplift.bad_balance', `balance must be 'reweight' or 'none', got '${String(balance)}'`);
  const armWeights = balance === 'reweight' ? { treated: 0.5 / arms.share, control: 0.5 / (1 - arms.share) } : { treated: 1, control: 1 };
  const innerOpts: LearnerOptions = { seed: innerSeed(opts.seed ?? 0, 'z') };
  if (opts.weights || armWeights.treated !== 1 || armWeights.control !== 1) {
    const w = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) w[i] = (opts.weights ? (opts.weights[i] as number) : 1) * (treatment[i] === 1 ? armWeights.treated : armWeights.control);
    innerOpts.weights = w;
  }
  const progress = relay(opts.progress, 'z');
  if (progress) innerOpts.progress = progress;
  opts.progress?.({ phase: 'fit', done: 0, total: 1, detail: `classifier of the transformed label on ${x.rows} rows` });
  const z = learner(x, transformedLabel(y, treatment), innerOpts);
  opts.progress?.({ phase: 'fit', done: 1, total: 1 });
  return {
    method: 'class_transformation',
    kind: `class_transformation(${z.kind})`,
    treatedRows: arms.treated.length,
    controlRows: arms.control.length,
    treatedShare: arms.share,
    z,
    armWeights,
    predict(m: Matrix): Float64Array {
      const p = z.predict(m);
      const out = new Float64Array(m.rows);
      for (let i = 0; i < m.rows; i++) out[i] = 2 * (p[i] as number) - 1;
      return out;
    },
  };
}

/** Either method by name (for the registry and the API). */
export function fitUplift(method: UpliftMethod, x: Matrix, y: Uint8Array, treatment: Uint8Array, learner: Learner, opts: UpliftOptions = {}): TwoModel | ClassTransformationModel {
  switch (method) {
    case 'two_model': return fitTwoModel(x, y, treatment, learner, opts);
    case 'class_transformation': return fitClassTransformation(x, y, treatment, learner, opts);
    default: throw new InputError('uplift.bad_method', `method must be 'two_model' or 'class_transformation', got '${String(method)}'`);
  }
}

/**
 * Validation splits for supervised models: by time (train on earlier snapshots, validate on the latest,
 * which is how a propensity model is used: fitted on the past, scored on today) and a seeded stratified
 * random split (the same share of positives on both sides, the same rows for the same seed).
 *
 * Why the time split matters: a random split of rows from one snapshot lets a model learn the
 * snapshot's quirks (a promotion that month) and report a quality it will not have next month; the
 * later snapshot is an honest stand-in for "next month".
 */
import { InputError } from '../errors.js';
import { stream } from '../random.js';

export interface Split {
  /** Row indices, ascending. */
  train: Uint32Array;
  validation: Uint32Array;
}

export interface TimeSplitOptions {
  /** How many of the latest distinct snapshot dates form the validation set (default 1). */
  validationSnapshots?: number;
  /**
   * The length of the prediction (label) window in the same unit as the dates. A training snapshot
   * whose label window reaches past the first validation snapshot is dropped: its outcome overlaps
   * the validation period and would leak it (default 0: keep every earlier snapshot).
   */
  predictionWindow?: number;
}

export interface TimeSplit extends Split {
  /** The first validation snapshot date. */
  cutoff: number;
  /** Distinct snapshot dates used for training / validation, ascending. */
  trainSnapshots: number[];
  validationSnapshots: number[];
  /** Training rows dropped because their label window overlaps the validation period. */
  dropped: number;
}

/**
 * Split rows by their snapshot date (epoch milliseconds, days, …: any increasing number): the latest
 * `validationSnapshots` distinct dates validate, the earlier ones train.
 */
export function timeSplit(snapshotDates: ArrayLike<number>, opts: TimeSplitOptions = {}): TimeSplit {
  const nVal = opts.validationSnapshots ?? 1;
  const window = opts.predictionWindow ?? 0;
  if (!Number.isInteger(nVal) || nVal < 1) throw new InputError('bad_option', `validationSnapshots must be a whole number ≥ 1, got ${nVal}`);
  if (!(window >= 0)) throw new InputError('bad_option', `predictionWindow must be ≥ 0, got ${window}`);
  const distinct = new Set<number>();
  for (let i = 0; i < snapshotDates.length; i++) {
    const d = snapshotDates[i] as number;
    if (!Number.isFinite(d)) throw new InputError('bad_snapshot', `row ${i} has no snapshot date`);
    distinct.add(d);
  }
  const dates = [...distinct].sort((a, b) => a - b);
  if (dates.length <= nVal) {
    throw new InputError('insufficient_history', `a time split needs more than ${nVal} distinct snapshot date(s) (earlier ones to train on, ${nVal} to validate on); the rows have ${dates.length}`);
  }
  const cutoff = dates[dates.length - nVal] as number;
  const trainDates = dates.filter((d) => d < cutoff && d + window <= cutoff);
  if (trainDates.length === 0) {
    throw new InputError('insufficient_history', `every earlier snapshot's prediction window (${window}) overlaps the validation snapshot; snapshots must be at least one prediction window apart`);
  }
  const keep = new Set(trainDates);
  const train: number[] = [];
  const validation: number[] = [];
  let dropped = 0;
  for (let i = 0; i < snapshotDates.length; i++) {
    const d = snapshotDates[i] as number;
    if (d >= cutoff) validation.push(i);
    else if (keep.has(d)) train.push(i);
    else dropped++;
  }
  return {
    train: Uint32Array.from(train),
    validation: Uint32Array.from(validation),
    cutoff,
    trainSnapshots: trainDates,
    validationSnapshots: dates.slice(dates.length - nVal),
    dropped,
  };
}

/**
 * A seeded stratified random split: `fraction` of the positives and of the negatives (rounded, at least
 * one of each class when the class has two rows or more) go to validation.
 */
export function stratifiedSplit(y: ArrayLike<number>, fraction: number, seed = 0): Split {
  if (!(fraction > 0 && fraction < 1)) throw new InputError('bad_option', `validation fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  const rng = stream(seed, 'stratified-split');
  const isVal = new Uint8Array(y.length);
  for (const cls of [0, 1]) {
    const members: number[] = [];
    for (let i = 0; i < y.length; i++) if ((y[i] as number) === cls) members.push(i);
    let take = Math.round(fraction * members.length);
    if (take === 0 && members.length >= 2) take = 1;
    if (take === members.length && members.length >= 2) take = members.length - 1;
    // Partial Fisher–Yates: the first `take` places of the shuffle are the validation rows.
    for (let k = 0; k < take; k++) {
      const j = k + Math.floor(rng() * (members.length - k));
      const t = members[k] as number;
      members[k] = members[j] as number;
      members[j] = t;
      isVal[members[k] as number] = 1;
    }
  }
  const train: number[] = [];
  const validation: number[] = [];
  for (let i = 0; i < y.length; i++) (isVal[i] ? validation : train).push(i);
  return { train: Uint32Array.from(train), validation: Uint32Array.from(validation) };
}

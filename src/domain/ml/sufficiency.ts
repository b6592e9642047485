/**
 * Data-sufficiency checks before a supervised fit (propensity, churn, lookalike): refuse early, with a
 * message that says what is missing and what would be enough, rather than fit a model whose quality
 * numbers mean nothing; warn (without refusing) where the fit is possible but fragile.
 *
 * Refusals (InputError 'insufficient_data', every reason in one message):
 * - fewer than `minPositives` positives or `minNegatives` negatives (default 50 each). Why 50: with a
 *   20 % hold-out that leaves about 10 positives to validate on, below which an AUC is ±0.1 noise, and
 *   it is the usual floor of "events per variable" rules for a handful of strong features. Configurable.
 * - a constant target (no positive, or no negative, at all): nothing to learn;
 * - an event history shorter than the feature window + the prediction window: the oldest snapshot
 *   could not have both its features and its outcome observed;
 * - a feature matrix without a usable column (every column constant or entirely missing).
 *
 * Warnings: fewer than `comfortablePositives` (200) positives; heavy class imbalance (minority share
 * below `imbalanceShare`, 1 %); a small validation set (fewer than `minValidationPositives` 30
 * positives or `minValidationRows` 500 rows); unusable columns that will be ignored.
 */
import { InputError } from '../errors.js';
import type { Matrix } from './types.js';

export interface SufficiencyInput {
  /** Outcome (0 / 1) of each training row. */
  y: ArrayLike<number>;
  /** The training features, checked for usable columns. */
  x?: Matrix;
  /** Column names, for the messages. */
  names?: readonly string[];
  /** Days of event history available, and the windows the model needs. */
  history?: { days: number; featureWindowDays: number; predictionWindowDays: number };
  /** Outcomes of the validation rows, when the validation set is known before the fit. */
  validationY?: ArrayLike<number>;
}

export interface SufficiencyOptions {
  minPositives?: number;
  minNegatives?: number;
  comfortablePositives?: number;
  imbalanceShare?: number;
  minValidationPositives?: number;
  minValidationRows?: number;
}

export const SUFFICIENCY_DEFAULTS = {
  minPositives: 50,
  minNegatives: 50,
  comfortablePositives: 200,
  imbalanceShare: 0.01,
  minValidationPositives: 30,
  minValidationRows: 500,
} as const;

export interface UnusableColumn {
  index: number;
  name: string;
  reason: 'constant' | 'missing';
}

export interface SufficiencyReport {
  ok: boolean;
  /** Why the fit is refused (empty when ok). */
  refusals: string[];
  warnings: string[];
  rows: number;
  positives: number;
  negatives: number;
  positiveRate: number;
  /** Columns with at least two distinct non-missing values. */
  usableColumns: number[];
  unusableColumns: UnusableColumn[];
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Every check, as a report (never throws for data, only for bad options). */
export function assessSufficiency(input: SufficiencyInput, options: SufficiencyOptions = {}): SufficiencyReport {
  const o = { ...SUFFICIENCY_DEFAULTS, ...options };
  for (const k of ['minPositives', 'minNegatives', 'comfortablePositives', 'minValidationPositives', 'minValidationRows'] as const) {
    const v = o[k];
    if (!Number.isInteger(v) || v < 1) throw new InputError('bad_option', `${k} must be a whole number ≥ 1, got ${v}`);
  }
  if (!(o.imbalanceShare > 0 && o.imbalanceShare < 0.5)) throw new InputError('bad_option', `imbalanceShare must be in (0, 0.5), got ${o.imbalanceShare}`);
  const refusals: string[] = [];
  const warnings: string[] = [];
  const { y, x } = input;
  const rows = y.length;
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    const v = y[i] as number;
    if (v !== 0 && v !== 1) throw new InputError('bad_input', `outcome ${i} is ${v}; outcomes must be 0 or 1`);
    positives += v;
  }
  const negatives = rows - positives;
  const positiveRate = rows > 0 ? positives / rows : Number.NaN;

  if (rows === 0) refusals.push('There are no training rows: the audience and snapshot selected no profile.');
  else if (positives === 0 || negatives === 0) {
    const which = positives === 0 ? 'negatives (no profile had the outcome)' : 'positives (every profile had the outcome)';
    refusals.push(
      `The target is constant: all ${fmt(rows)} rows are ${which}, so there is nothing to learn. ` +
        `Check the outcome definition, or widen the prediction window so that at least ${fmt(o.minPositives)} profiles have it and ${fmt(o.minNegatives)} do not.`,
    );
  } else {
    if (positives < o.minPositives) {
      refusals.push(
        `Only ${fmt(positives)} positive${positives === 1 ? '' : 's'} (profiles with the outcome); at least ${fmt(o.minPositives)} are needed ` +
          `(${fmt(o.comfortablePositives)} or more for a stable model). Widen the prediction window, add older snapshots, or choose a more common outcome.`,
      );
    }
    if (negatives < o.minNegatives) {
      refusals.push(
        `Only ${fmt(negatives)} negative${negatives === 1 ? '' : 's'} (profiles without the outcome); at least ${fmt(o.minNegatives)} are needed. ` +
          'Widen the audience (the outcome is nearly universal in it) or choose a rarer outcome.',
      );
    }
  }

  if (input.history) {
    const { days, featureWindowDays: fw, predictionWindowDays: pw } = input.history;
    if (!(fw > 0 && pw > 0)) throw new InputError('bad_option', `feature and prediction windows must be positive, got ${fw} and ${pw} days`);
    if (!(days >= fw + pw)) {
      refusals.push(
        `The event history covers ${fmt(Math.max(0, Math.floor(days)))} days, but a ${fmt(fw)}-day feature window plus a ${fmt(pw)}-day prediction window need at least ${fmt(fw + pw)} days. ` +
          'Load older events, or shorten the windows.',
      );
    }
  }

  const usableColumns: number[] = [];
  const unusableColumns: UnusableColumn[] = [];
  if (x) {
    if (x.rows !== rows) throw new InputError('bad_input', `${x.rows} feature rows but ${rows} outcomes`);
    const p = x.cols;
    for (let j = 0; j < p; j++) {
      let first = Number.NaN;
      let distinct = 0;
      for (let i = 0; i < x.rows && distinct < 2; i++) {
        const v = x.data[i * p + j] as number;
        if (v !== v) continue;
        if (distinct === 0) {
          first = v;
          distinct = 1;
        } else if (v !== first) distinct = 2;
      }
      const name = input.names?.[j] ?? `column ${j + 1}`;
      if (distinct === 2) usableColumns.push(j);
      else unusableColumns.push({ index: j, name, reason: distinct === 0 ? 'missing' : 'constant' });
    }
    if (usableColumns.length === 0 && rows > 0) {
      refusals.push(
        p === 0
          ? 'The feature matrix has no column: choose at least one trait or computed feature.'
          : `None of the ${fmt(p)} feature columns is usable (each is constant or entirely missing over the training rows). ` +
              'Add features that vary between profiles (counts, recency, spend, traits).',
      );
    } else if (unusableColumns.length > 0) {
      const list = unusableColumns.slice(0, 5).map((c) => `${c.name} (${c.reason})`).join(', ');
      warnings.push(`${fmt(unusableColumns.length)} feature column${unusableColumns.length === 1 ? ' is' : 's are'} constant or missing and will not help: ${list}${unusableColumns.length > 5 ? ', …' : ''}.`);
    }
  }

  if (refusals.length === 0 && rows > 0) {
    if (positives < o.comfortablePositives) {
      warnings.push(`${fmt(positives)} positives is enough to fit but few: expect the quality numbers to move between refits (${fmt(o.comfortablePositives)} or more is comfortable).`);
    }
    const minority = Math.min(positiveRate, 1 - positiveRate);
    if (minority < o.imbalanceShare) {
      warnings.push(
        `Heavy class imbalance: ${(100 * minority).toFixed(2)} % of rows are ${positiveRate < 0.5 ? 'positives' : 'negatives'}. ` +
          'The ranking (AUC, lift) stays meaningful, but predicted probabilities are small and calibration is measured on few cases.',
      );
    }
  }
  if (input.validationY) {
    const vy = input.validationY;
    let vp = 0;
    for (let i = 0; i < vy.length; i++) vp += (vy[i] as number) === 1 ? 1 : 0;
    if (vp < o.minValidationPositives || vy.length < o.minValidationRows) {
      warnings.push(
        `The validation set is small (${fmt(vy.length)} rows, ${fmt(vp)} positives; ${fmt(o.minValidationRows)} rows and ${fmt(o.minValidationPositives)} positives are comfortable): ` +
          'its AUC and lift could be off by several points.',
      );
    }
  }
  return { ok: refusals.length === 0, refusals, warnings, rows, positives, negatives, positiveRate, usableColumns, unusableColumns };
}

/** assessSufficiency, throwing an InputError ('insufficient_data') with every refusal when the fit is refused. */
export function requireSufficient(input: SufficiencyInput, options: SufficiencyOptions = {}): SufficiencyReport {
  const r = assessSufficiency(input, options);
  if (!r.ok) throw new InputError('insufficient_data', `Not enough data to fit this model. ${r.refusals.join(' ')}`);
  return r;
}

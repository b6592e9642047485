/**
 * Fairness report of a selection (a segment's members, a model's top scores) over a protected attribute,
 * with fairlearn's definitions (fairlearn.metrics):
 * - selection rate of a group = share of its members selected (`selection_rate`);
 * - demographic-parity difference = max − min selection rate over the groups, ratio = min / max
 *   (`demographic_parity_difference` / `_ratio`, method 'between_groups');
 * - where the true outcome is known: true-positive rate TP / (TP + FN) and false-positive rate
 *   FP / (FP + TN) per group; equalized-odds difference = max(TPR max − min, FPR max − min)
 *   (`equalized_odds_difference`, agg 'worst_case');
 * - the four-fifths rule of US employment practice: a ratio below 0.8 is flagged.
 *
 * Two deliberate differences from fairlearn, both only where fairlearn's number would mislead: a group
 * with no actual positives (negatives) has no TPR (FPR): it is null here and left out of the
 * equalized-odds difference (fairlearn's confusion matrix turns 0 / 0 into 0, which counts as a real
 * rate); and a ratio over a maximum of 0 (nobody selected) is null (0 / 0). Both are flagged.
 *
 * Groups smaller than `minGroupSize` (default 30) are kept in every number (as fairlearn does) but
 * flagged: their rates are noisy, and a large difference may be chance. Every rate carries its Wilson
 * interval so the API can show how noisy.
 */
import { InputError } from '../errors.js';
import { wilson, zFor, type Estimate } from '../insights/stats.js';

/** The protected attribute per row: labels (null = unknown) or integer codes into `labels` (−1 = unknown). */
export type GroupColumn = ReadonlyArray<string | null> | { codes: ArrayLike<number>; labels: readonly string[] };

export interface FairnessInput {
  /** Name of the protected attribute ("gender", "age_band"), for the summary. */
  attribute: string;
  group: GroupColumn;
  /** 1 = selected (in the segment, predicted positive), 0 = not. */
  selected: ArrayLike<number>;
  /** The true outcome (1 = positive), when known: enables TPR, FPR and equalized odds. */
  actual?: ArrayLike<number>;
}

export interface FairnessOptions {
  /** Groups with fewer members are flagged as too small (default 30). */
  minGroupSize?: number;
  /** Ratio below which the four-fifths rule flags (default 0.8). */
  fourFifths?: number;
  /** Confidence of the rates' intervals (default 0.95). */
  confidence?: number;
}

export interface GroupFairness {
  group: string;
  n: number;
  selected: number;
  selectionRate: Estimate;
  /** Actual positives / negatives in the group and the rates on them (null without outcomes or when undefined). */
  positives: number | null;
  negatives: number | null;
  truePositiveRate: number | null;
  falsePositiveRate: number | null;
  tooSmall: boolean;
}

export type FairnessFlag =
  | 'four_fifths'
  | 'small_groups'
  | 'single_group'
  | 'nobody_selected'
  | 'undefined_rates'
  | 'missing_attribute';

export interface FairnessReport {
  attribute: string;
  rows: number;
  /** Rows whose attribute is unknown (left out of every number). */
  missing: number;
  minGroupSize: number;
  groups: GroupFairness[];
  demographicParity: {
    difference: number;
    ratio: number | null;
    highest: string;
    lowest: string;
    fourFifthsViolated: boolean;
  };
  equalizedOdds: {
    difference: number;
    tprDifference: number | null;
    fprDifference: number | null;
  } | null;
  flags: FairnessFlag[];
  /** Plain-language sentences for the report's reader. */
  summary: string;
}

function codesOf(group: GroupColumn, n: number): { codes: Int32Array; labels: string[] } {
  if (!Array.isArray(group)) {
    const g = group as { codes: ArrayLike<number>; labels: readonly string[] };
    if (g.codes.length !== n) throw new InputError('fairness.length_mismatch', `the selection has ${n} rows but the group column has ${g.codes.length}`);
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = g.codes[i] as number;
      if (c === -1) codes[i] = -1;
      else if (!(Number.isInteger(c) && c >= 0 && c < g.labels.length)) throw new InputError('fairness.bad_group_code', `group code of row ${i} is ${c}; codes must be −1 (unknown) or 0 … ${g.labels.length - 1}`);
      else codes[i] = c;
    }
    return { codes, labels: [...g.labels] };
  }
  const list = group as ReadonlyArray<string | null>;
  if (list.length !== n) throw new InputError('fairness.length_mismatch', `the selection has ${n} rows but the group column has ${list.length}`);
  const index = new Map<string, number>();
  const labels: string[] = [];
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = list[i];
    if (v === null || v === undefined) {
      codes[i] = -1;
      continue;
    }
    let c = index.get(v);
    if (c === undefined) {
      c = labels.length;
      index.set(v, c);
      labels.push(v);
    }
    codes[i] = c;
  }
  return { codes, labels };
}

const fmtPct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The fairness report of a selection over one protected attribute. */
export function fairnessReport(input: FairnessInput, opts: FairnessOptions = {}): FairnessReport {
  const n = input.selected.length;
  if (input.actual && input.actual.length !== n) throw new InputError('fairness.length_mismatch', `the selection has ${n} rows but the outcome has ${input.actual.length}`);
  const minGroupSize = opts.minGroupSize ?? 30;
  if (!(Number.isInteger(minGroupSize) && minGroupSize >= 1)) throw new InputError('fairness.bad_min', `minGroupSize must be a whole number ≥ 1, got ${minGroupSize}`);
  const threshold = opts.fourFifths ?? 0.8;
  if (!(threshold > 0 && threshold <= 1)) throw new InputError('fairness.bad_threshold', `the four-fifths threshold must be in (0, 1], got ${threshold}`);
  const z = zFor(opts.confidence ?? 0.95);
  const { codes, labels } = codesOf(input.group, n);
  const g = labels.length;
  const count = new Float64Array(g), sel = new Float64Array(g), pos = new Float64Array(g), tp = new Float64Array(g), fp = new Float64Array(g);
  let missing = 0;
  for (let i = 0; i < n; i++) {
    const s = input.selected[i] as number;
    if (s !== 0 && s !== 1) throw new InputError('fairness.selection_not_binary', `selection of row ${i} is ${s}; it must be 0 or 1`);
    const c = codes[i] as number;
    if (c < 0) {
      missing++;
      continue;
    }
    count[c] = (count[c] as number) + 1;
    sel[c] = (sel[c] as number) + s;
    if (input.actual) {
      const a = input.actual[i] as number;
      if (a !== 0 && a !== 1) throw new InputError('fairness.outcome_not_binary', `outcome of row ${i} is ${a}; it must be 0 or 1`);
      pos[c] = (pos[c] as number) + a;
      if (a === 1) tp[c] = (tp[c] as number) + s;
      else fp[c] = (fp[c] as number) + s;
    }
  }
  const groups: GroupFairness[] = [];
  for (let c = 0; c < g; c++) {
    const m = count[c] as number;
    if (m === 0) continue; // a label no row carries (codes form) is not a group of this population
    const p = pos[c] as number;
    groups.push({
      group: labels[c] as string,
      n: m,
      selected: sel[c] as number,
      selectionRate: wilson(sel[c] as number, m, z),
      positives: input.actual ? p : null,
      negatives: input.actual ? m - p : null,
      truePositiveRate: input.actual && p > 0 ? (tp[c] as number) / p : null,
      falsePositiveRate: input.actual && m - p > 0 ? (fp[c] as number) / (m - p) : null,
      tooSmall: m < minGroupSize,
    });
  }
  if (groups.length === 0) throw new InputError('fairness.no_groups', `no row has a known ${input.attribute}`);

  const flags: FairnessFlag[] = [];
  const rates = groups.map((x) => x.selectionRate.value as number);
  let hi = 0, lo = 0;
  for (let k = 1; k < rates.length; k++) {
    if ((rates[k] as number) > (rates[hi] as number)) hi = k;
    if ((rates[k] as number) < (rates[lo] as number)) lo = k;
  }
  const max = rates[hi] as number, min = rates[lo] as number;
  const ratio = max > 0 ? min / max : null;
  const violated = ratio !== null && ratio < threshold;
  if (violated) flags.push('four_fifths');
  if (ratio === null) flags.push('nobody_selected');
  if (groups.length === 1) flags.push('single_group');
  if (groups.some((x) => x.tooSmall)) flags.push('small_groups');
  if (missing > 0) flags.push('missing_attribute');

  const spread = (values: (number | null)[]): number | null => {
    const v = values.filter((x): x is number => x !== null);
    return v.length ? Math.max(...v) - Math.min(...v) : null;
  };
  let equalizedOdds: FairnessReport['equalizedOdds'] = null;
  if (input.actual) {
    const tprDifference = spread(groups.map((x) => x.truePositiveRate));
    const fprDifference = spread(groups.map((x) => x.falsePositiveRate));
    if (groups.some((x) => x.truePositiveRate === null || x.falsePositiveRate === null)) flags.push('undefined_rates');
    equalizedOdds = { difference: Math.max(tprDifference ?? 0, fprDifference ?? 0), tprDifference, fprDifference };
  }

  const highest = groups[hi] as GroupFairness, lowest = groups[lo] as GroupFairness;
  const lines: string[] = [];
  if (groups.length === 1) lines.push(`Only one ${input.attribute} group (${highest.group}) is present, so nothing can be compared.`);
  else {
    lines.push(`Selection rates by ${input.attribute} range from ${fmtPct(min)} (${lowest.group}) to ${fmtPct(max)} (${highest.group}): a difference of ${(100 * (max - min)).toFixed(1)} points`
      + (ratio === null ? '; nobody is selected.' : ` and a ratio of ${ratio.toFixed(2)}.`));
    if (violated) lines.push(`The ratio is below ${threshold} (the four-fifths rule): ${lowest.group} is selected markedly less often than ${highest.group}; check whether the selection uses ${input.attribute} or a proxy of it.`);
    else if (ratio !== null) lines.push(`The ratio is at least ${threshold}: no four-fifths flag.`);
  }
  if (equalizedOdds && groups.length > 1) {
    lines.push(`Among customers with the same actual outcome, the selection rates differ by up to ${(100 * equalizedOdds.difference).toFixed(1)} points between groups (equalized-odds difference; true-positive rates differ by ${equalizedOdds.tprDifference === null ? '–' : (100 * equalizedOdds.tprDifference).toFixed(1)}, false-positive rates by ${equalizedOdds.fprDifference === null ? '–' : (100 * equalizedOdds.fprDifference).toFixed(1)}).`);
  }
  const small = groups.filter((x) => x.tooSmall).map((x) => `${x.group} (${x.n})`);
  if (small.length) lines.push(`Fewer than ${minGroupSize} members: ${small.join(', ')}; their rates are uncertain and differences involving them may be chance.`);
  if (flags.includes('undefined_rates')) lines.push('Some groups have no actual positives or no actual negatives; their true- or false-positive rate is undefined and left out.');
  if (missing > 0) lines.push(`${missing} of ${n} rows have no known ${input.attribute} and are left out.`);

  return {
    attribute: input.attribute,
    rows: n,
    missing,
    minGroupSize,
    groups,
    demographicParity: { difference: max - min, ratio, highest: highest.group, lowest: lowest.group, fourFifthsViolated: violated },
    equalizedOdds,
    flags,
    summary: lines.join(' '),
  };
}

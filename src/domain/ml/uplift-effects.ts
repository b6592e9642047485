/**
 * Measured campaign effects per group (segments, or deciles of predicted uplift): in each group, the
 * treated against the control conversion rate with the difference's Newcombe interval, optionally the
 * spend per customer with Welch's interval, and a plain-language verdict for marketers.
 *
 * Why measured per group and not read off the model: a model's uplift is an estimate; the randomised
 * control rows inside a group say what contact actually did there, with an honest interval. Deciles of
 * predicted uplift are how one checks that a model's ranking holds up (the top decile should show the
 * largest measured effect).
 *
 * Verdict rule (documented in docs/models.md; `VERDICT_RULE` is the same text for the API), on the
 * chosen outcome (conversion by default, or spend), at the chosen confidence (95 % by default):
 * 1. too few: either arm has fewer than `minPerArm` rows (default 30) → "too few customers to tell";
 * 2. moves:   the interval of treated − control lies entirely above 0 → "contact moves them";
 * 3. hurts:   the interval lies entirely below 0 → "contact may hurt";
 * 4. anyway:  the interval contains 0 and the group's control rate (mean spend) is at least the control
 *             rate of all rows → "would buy anyway" (they convert without contact, at least as often as
 *             the average customer, and contact adds nothing measurable);
 * 5. no help: otherwise → "contact does not help".
 */
import { InputError } from '../errors.js';
import { newcombeDifference, welchDifference, wilson, zFor, type Estimate, type Moments } from '../insights/stats.js';
import { rankByScore } from './uplift-metrics.js';

/** A group of rows (indices into the data); groups may overlap (segments) or partition (deciles). */
export interface EffectGroup {
  label: string;
  rows: ArrayLike<number>;
}

export interface EffectData {
  /** 1 = treated (contacted), 0 = control. */
  treatment: ArrayLike<number>;
  /** 1 = converted. */
  converted: ArrayLike<number>;
  /** A continuous outcome per row (spend), optional. */
  spend?: ArrayLike<number>;
}

export interface EffectOptions {
  /** Confidence of every interval (default 0.95). */
  confidence?: number;
  /** Rows each arm of a group needs for a verdict (default 30). */
  minPerArm?: number;
  /** The outcome the verdict reads (default 'conversion'; 'spend' needs spend data). */
  verdictOn?: 'conversion' | 'spend';
}

export type Verdict = 'moves' | 'anyway' | 'no_help' | 'hurts' | 'too_few';

export const VERDICT_TEXT: Readonly<Record<Verdict, string>> = {
  moves: 'contact moves them',
  anyway: 'would buy anyway',
  no_help: 'contact does not help',
  hurts: 'contact may hurt',
  too_few: 'too few customers to tell',
};

export const VERDICT_RULE = 'Treated minus control, with its interval: "contact moves them" when the whole interval is above 0; '
  + '"contact may hurt" when it is entirely below 0; otherwise "would buy anyway" when the group converts without contact at least as '
  + 'often as all customers do (its control rate ≥ the overall control rate), else "contact does not help". '
  + 'Groups with fewer than the minimum rows in either arm are "too few customers to tell".';

export interface ArmSummary {
  n: number;
  conversions: number;
  /** Conversion rate with its Wilson interval. */
  rate: Estimate;
  /** Spend per customer (mean, sample standard deviation), when spend is given. */
  spend: Moments | null;
}

export interface GroupEffect {
  label: string;
  n: number;
  treated: ArmSummary;
  control: ArmSummary;
  /** Treated − control conversion rate, Newcombe's hybrid score interval. */
  conversionDifference: Estimate;
  /** Treated − control spend per customer, Welch's interval (null without spend). */
  spendDifference: (Estimate & { df: number | null; p: number | null }) | null;
  verdict: Verdict;
  /** One sentence: the verdict with the numbers behind it. */
  verdictText: string;
}

export interface EffectReport {
  confidence: number;
  verdictOn: 'conversion' | 'spend';
  minPerArm: number;
  /** All rows together (the campaign's average effect). */
  overall: GroupEffect;
  groups: GroupEffect[];
  rule: string;
}

/** Sums of one arm of one group, collected in one pass over its rows. */
interface Acc {
  n: number;
  conversions: number;
  /** Rows with a spend value (NaN spend is missing), their sum and sum of squares. */
  spendN: number;
  sum: number;
  sumSq: number;
}

const acc = (): Acc => ({ n: 0, conversions: 0, spendN: 0, sum: 0, sumSq: 0 });

function moments(a: Acc): Moments {
  const n = a.spendN;
  if (n === 0) return { n: 0, mean: 0, sd: 0 };
  const mean = a.sum / n;
  // the sums-of-squares form is fine at spend scales; clamp the rounding dust below 0
  const ss = Math.max(0, a.sumSq - n * mean * mean);
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(100 * x).toFixed(1)} %`;
}

function pp(x: number | null): string {
  return x === null ? '–' : `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pp`;
}

function money(x: number | null): string {
  return x === null ? '–' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
}

/**
 * Effects per group with intervals and verdicts. Rows whose spend is NaN count for conversion but not
 * for spend.
 */
export function groupEffects(data: EffectData, groups: readonly EffectGroup[], opts: EffectOptions = {}): EffectReport {
  const n = data.treatment.length;
  if (data.converted.length !== n) throw new InputError('effects.length_mismatch', `treatment has ${n} rows but conversion has ${data.converted.length}`);
  if (data.spend && data.spend.length !== n) throw new InputError('effects.length_mismatch', `treatment has ${n} rows but spend has ${data.spend.length}`);
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new InputError('effects.bad_confidence', `confidence must be between 0 and 1, got ${confidence}`);
  const minPerArm = opts.minPerArm ?? 30;
  if (!(Number.isInteger(minPerArm) && minPerArm >= 1)) throw new InputError('effects.bad_min', `minPerArm must be a whole number ≥ 1, got ${minPerArm}`);
  const verdictOn = opts.verdictOn ?? 'conversion';
  if (verdictOn === 'spend' && !data.spend) throw new InputError('effects.no_spend', 'a verdict on spend needs spend data');
  for (let i = 0; i < n; i++) {
    const t = data.treatment[i] as number;
    const c = data.converted[i] as number;
    if (t !== 0 && t !== 1) throw new InputError('effects.treatment_not_binary', `treatment of row ${i} is ${t}; it must be 0 or 1`);
    if (c !== 0 && c !== 1) throw new InputError('effects.outcome_not_binary', `conversion of row ${i} is ${c}; it must be 0 or 1`);
  }
  const z = zFor(confidence);

  const collect = (rows: ArrayLike<number> | null): [Acc, Acc] => {
    const t = acc(), c = acc();
    const m = rows ? rows.length : n;
    for (let k = 0; k < m; k++) {
      const i = rows ? (rows[k] as number) : k;
      if (!(i >= 0 && i < n && Number.isInteger(i))) throw new InputError('effects.bad_row', `row index ${i} is outside 0 … ${n - 1}`);
      const a = data.treatment[i] === 1 ? t : c;
      a.n++;
      a.conversions += data.converted[i] as number;
      if (data.spend) {
        const s = data.spend[i] as number;
        if (!Number.isNaN(s)) {
          a.spendN++;
          a.sum += s;
          a.sumSq += s * s;
        }
      }
    }
    return [t, c];
  };

  const summary = (a: Acc): ArmSummary => ({
    n: a.n,
    conversions: a.conversions,
    rate: wilson(a.conversions, a.n, z),
    spend: data.spend ? moments(a) : null,
  });

  const effect = (label: string, rows: ArrayLike<number> | null, reference: { rate: number; spend: number } | null): GroupEffect => {
    const [t, c] = collect(rows);
    const treated = summary(t);
    const control = summary(c);
    const conversionDifference = newcombeDifference(t.conversions, t.n, c.conversions, c.n, z);
    const spendDifference = treated.spend && control.spend ? welchDifference(treated.spend, control.spend, confidence) : null;
    let verdict: Verdict;
    const d = verdictOn === 'spend' ? spendDifference : conversionDifference;
    const baseline = verdictOn === 'spend' ? (control.spend?.mean ?? 0) : c.n ? c.conversions / c.n : 0;
    // all rows together have no "average customer" to compare with: never "would buy anyway"
    const refValue = reference === null ? Infinity : verdictOn === 'spend' ? reference.spend : reference.rate;
    if (t.n < minPerArm || c.n < minPerArm || !d || d.low === null || d.high === null) verdict = 'too_few';
    else if (d.low > 0) verdict = 'moves';
    else if (d.high < 0) verdict = 'hurts';
    else if (baseline >= refValue) verdict = 'anyway';
    else verdict = 'no_help';
    const numbers = verdictOn === 'spend'
      ? `spend per customer ${money(spendDifference?.value ?? null)} (${money(spendDifference?.low ?? null)} to ${money(spendDifference?.high ?? null)}); without contact ${(control.spend?.mean ?? 0).toFixed(2)}`
      : `conversion ${pct(treated.rate.value)} contacted vs ${pct(control.rate.value)} not contacted, ${pp(conversionDifference.value)} (${pp(conversionDifference.low)} to ${pp(conversionDifference.high)})`;
    const verdictText = verdict === 'too_few'
      ? `${label}: ${VERDICT_TEXT.too_few} (${t.n} contacted, ${c.n} not contacted; at least ${minPerArm} of each needed).`
      : `${label}: ${VERDICT_TEXT[verdict]}: ${numbers}.`;
    return { label, n: t.n + c.n, treated, control, conversionDifference, spendDifference, verdict, verdictText };
  };

  const overall = effect('All customers', null, null);
  const reference = { rate: overall.control.rate.value ?? 0, spend: overall.control.spend?.mean ?? 0 };
  return {
    confidence,
    verdictOn,
    minPerArm,
    overall,
    groups: groups.map((g) => effect(g.label, g.rows, reference)),
    rule: VERDICT_RULE,
  };
}

/**
 * Groups of rows by predicted uplift, highest first: `bins` groups of (almost) equal size, the first
 * n mod bins one row larger (numpy's `array_split`, as sklift's `uplift_by_percentile` with strategy
 * 'overall'), ranked as `rankByScore` ranks. Labels "0-10 %", "10-20 %", ….
 */
export function upliftBins(uplift: ArrayLike<number>, bins = 10): EffectGroup[] {
  const n = uplift.length;
  if (!(Number.isInteger(bins) && bins >= 1)) throw new InputError('effects.bad_bins', `bins must be a whole number ≥ 1, got ${bins}`);
  if (bins > n) throw new InputError('effects.bad_bins', `${bins} bins need at least ${bins} rows; there are ${n}`);
  for (let i = 0; i < n; i++) if (Number.isNaN(uplift[i] as number)) throw new InputError('uplift.score_missing', `the score of row ${i} is NaN`);
  const order = rankByScore(uplift);
  const base = Math.floor(n / bins);
  const extra = n % bins;
  const out: EffectGroup[] = [];
  let start = 0;
  for (let b = 0; b < bins; b++) {
    const size = base + (b < extra ? 1 : 0);
    out.push({ label: `${Math.round((b * 100) / bins)}-${Math.round(((b + 1) * 100) / bins)} %`, rows: order.subarray(start, start + size) });
    start += size;
  }
  return out;
}

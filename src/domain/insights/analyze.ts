/**
 * From the group statistics of a segment (members, and the rest of the base) to its insights: every
 * feature with the members' value, the base's, the difference and the ratio (lift) against the base
 * with their intervals, a standardized effect with its interval, and the ranking of the features that
 * distinguish the segment most.
 *
 * Inference compares the members with the REST (non-members): two disjoint groups, which is what
 * Welch, Newcombe, MOVER-R, Hedges' g and Cohen's h assume. The numbers a marketer reads are against
 * the BASE (all active profiles), as the issue asks; they follow exactly, interval included, because
 * base = f·members + (1 − f)·rest (stats.ts: differenceVsBase, ratioVsBase). Testing members against a
 * base that contains them would treat overlapping groups as independent.
 *
 * Which features distinguish the segment. Dozens of features are compared at once, so some 95 %
 * intervals exclude 0 by chance alone; the selection therefore controls the false discovery rate
 * (Benjamini–Hochberg at q = 1 − confidence over the p-values of Welch's t test for means and the pooled
 * two-proportion z test for shares). A selected
 * feature must also have an effect of at least `minEffect` (0.2, Cohen's "small": with a million
 * profiles every trifle is significant) and a difference interval on the same side of 0. The rank is
 * the end of the effect's interval nearest 0 (the smallest effect the data still support): a small
 * group has a wide interval and so a low rank, which is the penalty for tiny groups without an extra
 * rule. Ties go by key, so the order is deterministic.
 */
import { CONSENT, DIMENSIONS, FLAGS, METRICS, fill, type DimensionKey, type Format, type InsightStats, type Population, type Theme, type Words } from './features.js';
import {
  cohensH, differenceVsBase, hedgesG, meanInterval, moverRatio, newcombeDifference, ratioOfMeans, ratioVsBase, twoProportionP, welchDifference, wilson, zFor,
  type Estimate, type Moments,
} from './stats.js';

export interface InsightOptions {
  /** Confidence of every interval (0.95); the false discovery rate of the selection is 1 − confidence. */
  confidence: number;
  /** Smallest standardized effect (|g| or |h|, the estimate) that counts as distinguishing. */
  minEffect: number;
}

export const DEFAULT_INSIGHT_OPTIONS: InsightOptions = { confidence: 0.95, minEffect: 0.2 };

export interface GroupValue {
  /** Profiles the value is measured on. */
  n: number;
  value: number;
}

export interface FeatureInsight {
  /** `orders`, `buyer`, `consent:Email`, `category:Shoes`. */
  key: string;
  /** The metric, flag or dimension (`consent` for every purpose). */
  feature: string;
  /** The dimension's value or consent purpose; null for metrics and flags. */
  value: string | null;
  label: string;
  kind: 'mean' | 'share';
  format: Format;
  population: Population;
  theme: Theme;
  /** The members' value with its interval (and, for shares, how many have it). */
  members: GroupValue & { low: number | null; high: number | null; count?: number };
  base: GroupValue;
  rest: GroupValue;
  /** members − base. */
  difference: Estimate;
  /** members / base (the lift); null where the base value is 0 or a mean is not positive. */
  ratio: Estimate;
  /** Members against the rest, in standard deviations; `p`: two-sided p-value of "no difference" (Welch / two-proportion z). */
  effect: Estimate & { measure: 'hedges_g' | 'cohens_h'; p: number | null };
  /** The smallest |effect| the interval supports (0 when it includes 0, or the difference's interval does). */
  score: number;
  distinguishing: boolean;
  /** The card's words (see features.ts); the API leaves them out. */
  words: Words;
}

export interface Analysis {
  size: { members: number; base: number; share: number };
  /** Share of each group whose features were read; null when every profile was. */
  sample: { members: number; rest: number } | null;
  revenue: { members: number; base: number; share: number | null };
  orders: { members: number; base: number; share: number | null };
  features: FeatureInsight[];
  /** Keys of the distinguishing features, most distinguishing first. */
  distinguishing: string[];
}

export function analyze(stats: InsightStats, opts: InsightOptions = DEFAULT_INSIGHT_OPTIONS): Analysis {
  const { members: m, rest: r } = stats;
  const z = zFor(opts.confidence);
  // a sampled group's counts stand for 1 / rate profiles each when the base is put together
  const w: Weights = { members: 1 / m.sampleRate, rest: 1 / r.sampleRate };
  const features: FeatureInsight[] = [];

  for (const spec of METRICS) features.push(meanFeature(spec, m.metrics[spec.key], r.metrics[spec.key], w, z, opts.confidence));
  for (const spec of FLAGS) {
    features.push(shareFeature(spec.key, spec.key, null, spec, m.flags[spec.key], m.populations[spec.population], r.flags[spec.key], r.populations[spec.population], w, z));
  }
  for (const purpose of sortedKeys(m.consent, r.consent)) {
    features.push(shareFeature(`consent:${purpose}`, 'consent', purpose, CONSENT, m.consent.get(purpose) ?? 0, m.populations.all, r.consent.get(purpose) ?? 0, r.populations.all, w, z));
  }
  for (const spec of DIMENSIONS) {
    const key: DimensionKey = spec.key;
    for (const v of sortedKeys(m.values[key], r.values[key])) {
      features.push(shareFeature(`${key}:${v}`, key, v, spec, m.values[key].get(v) ?? 0, m.populations[spec.population], r.values[key].get(v) ?? 0, r.populations[spec.population], w, z));
    }
  }
  select(features, 1 - opts.confidence, opts.minEffect);

  const distinguishing = features.filter((f) => f.distinguishing).sort(byScore).map((f) => f.key);
  const base = m.profiles + r.profiles;
  const share = (a: number, b: number) => (b > 0 ? a / b : null);
  return {
    size: { members: m.profiles, base, share: base > 0 ? m.profiles / base : 0 },
    sample: m.sampleRate < 1 || r.sampleRate < 1 ? { members: m.sampleRate, rest: r.sampleRate } : null,
    revenue: { members: m.revenue, base: m.revenue + r.revenue, share: share(m.revenue, m.revenue + r.revenue) },
    orders: { members: m.orders, base: m.orders + r.orders, share: share(m.orders, m.orders + r.orders) },
    features,
    distinguishing,
  };
}

/** Most distinguishing first; ties by key (code-unit order, independent of locale). */
export function byScore(a: FeatureInsight, b: FeatureInsight): number {
  if (a.score !== b.score) return b.score - a.score;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Benjamini–Hochberg: with the m p-values sorted, the largest i with p₍ᵢ₎ ≤ i·q/m; the i smallest are
 * discoveries. Returns the set of indexes selected.
 */
export function benjaminiHochberg(pValues: ReadonlyArray<number | null>, q: number): Set<number> {
  const defined = pValues.map((p, i) => ({ p, i })).filter((x): x is { p: number; i: number } => x.p !== null && Number.isFinite(x.p));
  defined.sort((a, b) => a.p - b.p || a.i - b.i);
  const m = defined.length;
  let cut = 0;
  defined.forEach((x, k) => {
    if (x.p <= ((k + 1) * q) / m) cut = k + 1;
  });
  return new Set(defined.slice(0, cut).map((x) => x.i));
}

function select(features: FeatureInsight[], q: number, minEffect: number): void {
  const discovered = benjaminiHochberg(features.map((f) => f.effect.p), q);
  features.forEach((f, i) => {
    const { value, low, high } = f.effect;
    const d = f.difference;
    const positive = (value ?? 0) > 0;
    // the shown difference must not contradict the effect (h against Newcombe can, at the margin)
    const agrees = d.low !== null && d.high !== null && (positive ? d.low > 0 : d.high < 0);
    const excludes = low !== null && high !== null && (low > 0 || high < 0);
    f.score = excludes && agrees ? Math.min(Math.abs(low), Math.abs(high)) : 0;
    f.distinguishing = discovered.has(i) && f.score > 0 && Math.abs(value ?? 0) >= minEffect;
  });
}

interface Spec { label: string; population: Population; format: Format; theme: Theme; words: Words }
interface Weights { members: number; rest: number }

function meanFeature(spec: Spec & { key: string }, a: Moments, b: Moments, w: Weights, z: number, confidence: number): FeatureInsight {
  // the base as a population: each group's profiles counted at their weight (1 unless sampled)
  const na = a.n * w.members;
  const nBase = na + b.n * w.rest;
  const f = nBase > 0 ? na / nBase : 0;
  const base = { n: Math.round(nBase), mean: f * a.mean + (1 - f) * b.mean };
  const g = hedgesG(a, b, z);
  const mi = meanInterval(a, confidence);
  const diff = welchDifference(a, b, confidence);
  return {
    key: spec.key, feature: spec.key, value: null, label: spec.label, kind: 'mean', format: spec.format, population: spec.population, theme: spec.theme,
    members: { n: a.n, value: a.mean, low: mi.low, high: mi.high },
    base: { n: base.n, value: base.mean },
    rest: { n: b.n, value: b.mean },
    difference: differenceVsBase({ value: diff.value, low: diff.low, high: diff.high }, f),
    ratio: ratioVsBase(ratioOfMeans(a, b, z), f),
    effect: { measure: 'hedges_g', ...g, p: diff.p },
    score: 0, distinguishing: false, words: spec.words,
  };
}

function shareFeature(key: string, feature: string, value: string | null, spec: Spec, k1: number, n1: number, k2: number, n2: number, w: Weights, z: number): FeatureInsight {
  const nBase = n1 * w.members + n2 * w.rest;
  const f = nBase > 0 ? (n1 * w.members) / nBase : 0;
  const wi = wilson(k1, n1, z);
  const h = cohensH(k1, n1, k2, n2, z);
  return {
    key, feature, value, label: fill(spec.label, value), kind: 'share', format: spec.format, population: spec.population, theme: spec.theme,
    members: { n: n1, value: n1 > 0 ? k1 / n1 : 0, low: wi.low, high: wi.high, count: k1 },
    base: { n: Math.round(nBase), value: nBase > 0 ? (k1 * w.members + k2 * w.rest) / nBase : 0 },
    rest: { n: n2, value: n2 > 0 ? k2 / n2 : 0 },
    difference: differenceVsBase(newcombeDifference(k1, n1, k2, n2, z), f),
    ratio: ratioVsBase(moverRatio(k1, n1, k2, n2, z), f),
    effect: { measure: 'cohens_h', ...h, p: twoProportionP(k1, n1, k2, n2) },
    score: 0, distinguishing: false, words: spec.words,
  };
}

function sortedKeys(a: Map<string, number>, b: Map<string, number>): string[] {
  return [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

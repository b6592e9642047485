/**
 * RFM: recency, frequency and monetary value of each customer's purchases, scored 1..5 (quintiles) or
 * 1..3 among all customers with a purchase, and named groups from a grid of the recency score against
 * the frequency-monetary score. docs/behavioural.md gives the rules and the reasoning.
 */
import { z } from 'zod';
import { EventPath } from '../segments/ast.js';
import { isoDaysBefore, type BehaviouralModel, type Classification, type Features, type TraitValue } from './model.js';
import { rankScores, scoreCounts } from './scores.js';

export const RFM_GROUPS = [
  'Champions', 'Loyal', 'Potential Loyalist', 'New', 'Promising', 'Need Attention', 'About to Sleep',
  'At Risk', "Can't Lose", 'Hibernating', 'Lost',
] as const;
export type RfmGroup = (typeof RFM_GROUPS)[number];

/**
 * The default grid on the 5-point scale: GRID[fm - 1][r - 1]. Every cell has exactly one group, so
 * every scored customer lands in one (no "Others").
 *
 *   FM\R  1            2            3               4                    5
 *   5     Can't Lose   At Risk      Loyal           Champions            Champions
 *   4     Can't Lose   At Risk      Loyal           Loyal                Champions
 *   3     At Risk      At Risk      Need Attention  Potential Loyalist   Potential Loyalist
 *   2     Hibernating  Hibernating  About to Sleep  Potential Loyalist   Potential Loyalist
 *   1     Lost         Hibernating  About to Sleep  Promising            New
 */
export const RFM_GRID: ReadonlyArray<ReadonlyArray<RfmGroup>> = [
  ['Lost', 'Hibernating', 'About to Sleep', 'Promising', 'New'],
  ['Hibernating', 'Hibernating', 'About to Sleep', 'Potential Loyalist', 'Potential Loyalist'],
  ['At Risk', 'At Risk', 'Need Attention', 'Potential Loyalist', 'Potential Loyalist'],
  ["Can't Lose", 'At Risk', 'Loyal', 'Loyal', 'Champions'],
  ["Can't Lose", 'At Risk', 'Loyal', 'Champions', 'Champions'],
];

const range = z.tuple([z.number().int().min(1).max(5), z.number().int().min(1).max(5)])
  .refine(([lo, hi]) => lo <= hi, 'a range [low, high] with low ≤ high');
/** A custom group rule on the 5-point grid: the first rule whose ranges hold names the customer. */
export const RfmGroupRule = z.strictObject({ name: z.string().min(1).max(60), r: range, fm: range });
export type RfmGroupRule = z.infer<typeof RfmGroupRule>;

export const RfmConfig = z.strictObject({
  /** 5: quintile scores; 3: tertiles (the 1-3 option). */
  scale: z.union([z.literal(5), z.literal(3)]).default(5),
  /** The purchase event. */
  event: z.string().min(1).max(200).default('Order Completed'),
  /** The order value (monetary). */
  valuePath: EventPath.default('properties.revenue'),
  /** Count only purchases of the last N days for frequency and monetary (recency always looks at all). */
  windowDays: z.number().int().min(1).max(36_500).optional(),
  /** Custom group rules on the 5-point grid (first match); by default the grid of RFM_GRID. */
  groups: z.array(RfmGroupRule).min(1).max(30).optional(),
});
export type RfmConfig = z.output<typeof RfmConfig>;

/** The combined frequency-monetary score: their mean, halves rounded up. */
export function fmScore(f: number, m: number): number {
  return Math.floor((f + m + 1) / 2);
}

/** A score of the 3-point scale placed on the 5-point grid (1 → 1, 2 → 3, 3 → 5). */
function toFive(score: number, scale: 3 | 5): number {
  return scale === 5 ? score : 2 * score - 1;
}

/** The group of a customer's R and FM scores (on the configured scale). */
export function rfmGroup(r: number, fm: number, scale: 3 | 5, rules?: RfmGroupRule[]): string {
  const r5 = toFive(r, scale);
  const fm5 = toFive(fm, scale);
  if (rules) {
    for (const g of rules) if (r5 >= g.r[0] && r5 <= g.r[1] && fm5 >= g.fm[0] && fm5 <= g.fm[1]) return g.name;
    return 'Other';
  }
  const g = RFM_GRID[fm5 - 1]?.[r5 - 1];
  if (!g) throw new RangeError(`no RFM group for R ${r}, FM ${fm} on the ${scale}-point scale`);
  return g;
}

export function rfmGroups(config: RfmConfig): string[] {
  if (config.groups) return [...new Set([...config.groups.map((g) => g.name), 'Other'])];
  if (config.scale === 5) return [...RFM_GROUPS];
  // On the 3-point scale only the odd cells of the grid are reachable.
  const seen = new Set<string>();
  for (const fm of [1, 2, 3]) for (const r of [1, 2, 3]) seen.add(rfmGroup(r, fm, 3));
  return RFM_GROUPS.filter((g) => seen.has(g));
}

export const rfmModel: BehaviouralModel<RfmConfig> = {
  id: 'rfm',
  name: 'RFM',
  description: 'Recency, frequency and monetary value of purchases, scored among all customers, and the named RFM groups (Champions … Lost).',
  config: RfmConfig,
  features(config, asOf) {
    const window = config.windowDays ? { type: 'between' as const, from: isoDaysBefore(asOf, config.windowDays), to: isoDaysBefore(asOf, 0) } : undefined;
    return [
      { key: 'recency_days', kind: 'days_since_last', event: config.event },
      { key: 'frequency', kind: 'count', event: config.event, ...(window ? { window } : {}) },
      { key: 'monetary', kind: 'sum', event: config.event, path: config.valuePath, ...(window ? { window } : {}) },
    ];
  },
  classify(features: Features, config: RfmConfig): Classification {
    const rec = features.columns['recency_days'];
    const freq = features.columns['frequency'];
    const mon = features.columns['monetary'];
    if (!rec || !freq || !mon) throw new Error('RFM needs the recency_days, frequency and monetary features');
    // Scored: customers with a purchase (in the window, when there is one). A missing order value counts 0.
    const idx: number[] = [];
    for (let i = 0; i < features.profileIds.length; i++) {
      if (!Number.isNaN(rec[i] as number) && (freq[i] as number) > 0) idx.push(i);
    }
    const pick = (col: Float64Array, dflt: number) => Float64Array.from(idx, (i) => { const v = col[i] as number; return Number.isNaN(v) ? dflt : v; });
    const R = rankScores(pick(rec, 0), config.scale, 'lower_is_better');
    const F = rankScores(pick(freq, 0), config.scale, 'higher_is_better');
    const M = rankScores(pick(mon, 0), config.scale, 'higher_is_better');
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(features.profileIds.length);
    const groupCounts: Record<string, number> = Object.fromEntries(rfmGroups(config).map((g) => [g, 0]));
    const grid: number[][] = Array.from({ length: config.scale }, () => new Array<number>(config.scale).fill(0));
    idx.forEach((i, j) => {
      const r = R[j] as number, f = F[j] as number, m = M[j] as number;
      const fm = fmScore(f, m);
      const group = rfmGroup(r, fm, config.scale, config.groups);
      groupCounts[group] = (groupCounts[group] ?? 0) + 1;
      const row = grid[fm - 1];
      if (row) row[r - 1] = (row[r - 1] ?? 0) + 1;
      const monetary = Number.isNaN(mon[i] as number) ? 0 : (mon[i] as number);
      traits[i] = {
        rfm_recency_days: rec[i] as number, rfm_frequency: freq[i] as number, rfm_monetary: Math.round(monetary * 100) / 100,
        rfm_r: r, rfm_f: f, rfm_m: m, rfm_fm: fm, rfm_score: `${r}${f}${m}`, rfm_group: group,
      };
    });
    return {
      traits,
      summary: {
        scored: idx.length,
        scale: config.scale,
        groups: groupCounts,
        scores: { r: scoreCounts(R, config.scale), f: scoreCounts(F, config.scale), m: scoreCounts(M, config.scale) },
        /** grid[fm − 1][r − 1]: customers per cell. */
        grid,
        /** The lowest value that reached each score (per metric), for reading the scores in units. */
        thresholds: { recencyDays: thresholds(pick(rec, 0), R, config.scale, true), frequency: thresholds(pick(freq, 0), F, config.scale, false), monetary: thresholds(pick(mon, 0), M, config.scale, false) },
      },
    };
  },
  traits: [
    { key: 'rfm_recency_days', description: 'Whole days from the last purchase to the run\'s as-of time.' },
    { key: 'rfm_frequency', description: 'Number of purchases (in the window, when one is set).' },
    { key: 'rfm_monetary', description: 'Sum of the order values (in the window, when one is set).' },
    { key: 'rfm_r', description: 'Recency score, 1 (longest ago) to 5 (or 3).' },
    { key: 'rfm_f', description: 'Frequency score.' },
    { key: 'rfm_m', description: 'Monetary score.' },
    { key: 'rfm_fm', description: 'Combined frequency-monetary score: mean of F and M, halves rounded up.' },
    { key: 'rfm_score', description: 'The three scores as one code, e.g. "545".' },
    { key: 'rfm_group', description: 'The named RFM group.' },
    { key: 'rfm_previous_group', description: 'The group at the previous run (movement).' },
  ],
  groupTrait: 'rfm_group',
  previousTrait: 'rfm_previous_group',
  groups: rfmGroups,
};

/** For each score, the worst value that reached it (recency: the most days; others: the least). */
function thresholds(values: Float64Array, scores: Uint8Array, k: number, lowerIsBetter: boolean): Array<number | null> {
  const out = new Array<number | null>(k).fill(null);
  for (let i = 0; i < values.length; i++) {
    const s = (scores[i] as number) - 1;
    const v = values[i] as number;
    const cur = out[s];
    if (cur === null || cur === undefined || (lowerIsBetter ? v > cur : v < cur)) out[s] = v;
  }
  return out;
}

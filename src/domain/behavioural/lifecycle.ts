/**
 * Lifecycle stage of each profile from the timing of its purchases: new, active, at risk, churned,
 * reactivated, and prospect (never purchased). Thresholds in days are configurable; the rules, in
 * order, are in docs/behavioural.md.
 */
import { z } from 'zod';
import { isoDaysBefore, type BehaviouralModel, type Classification, type Features, type TraitValue } from './model.js';

export const LIFECYCLE_STAGES = ['new', 'active', 'reactivated', 'at risk', 'churned', 'prospect'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export const LifecycleConfig = z.strictObject({
  event: z.string().min(1).max(200).default('Order Completed'),
  /** First purchase at most this many days ago: new. */
  newDays: z.number().int().min(1).max(3650).default(30),
  /** Last purchase at most this many days ago: active (or new / reactivated). */
  activeDays: z.number().int().min(1).max(3650).default(90),
  /** No purchase for more than this many days: churned (between activeDays and this: at risk). */
  churnDays: z.number().int().min(1).max(3650).default(180),
  /** Also label profiles without any purchase as prospects. */
  prospects: z.boolean().default(true),
}).refine((c) => c.newDays <= c.activeDays && c.activeDays < c.churnDays, { message: 'thresholds must satisfy newDays ≤ activeDays < churnDays' });
export type LifecycleConfig = z.output<typeof LifecycleConfig>;

/** Days since the first / last purchase, and since the last purchase before the active window began. */
export interface LifecycleFacts { firstDays: number; lastDays: number; lastBeforeWindowDays: number }

/** The stage of one profile (NaN: no such purchase). */
export function lifecycleStage(f: LifecycleFacts, c: LifecycleConfig): LifecycleStage {
  if (Number.isNaN(f.lastDays)) return 'prospect';
  if (f.firstDays <= c.newDays) return 'new';
  if (f.lastDays <= c.activeDays) {
    // Reactivated: when the active window began (activeDays ago) the customer had been without a
    // purchase for more than churnDays, i.e. was churned then, and has bought since.
    const gapAtWindowStart = f.lastBeforeWindowDays - c.activeDays;
    return !Number.isNaN(f.lastBeforeWindowDays) && gapAtWindowStart > c.churnDays ? 'reactivated' : 'active';
  }
  return f.lastDays <= c.churnDays ? 'at risk' : 'churned';
}

export const lifecycleModel: BehaviouralModel<LifecycleConfig> = {
  id: 'lifecycle',
  name: 'Lifecycle',
  description: 'Stage of each profile from the timing of its purchases: new, active, reactivated, at risk, churned (and prospect).',
  config: LifecycleConfig,
  features(config, asOf) {
    return [
      { key: 'first_days', kind: 'days_since_first', event: config.event },
      { key: 'last_days', kind: 'days_since_last', event: config.event },
      // Purchases strictly before the active window began (the epoch start bounds nothing real).
      { key: 'last_before_window_days', kind: 'days_since_last', event: config.event, window: { type: 'between', from: '1970-01-01', to: isoDaysBefore(asOf, config.activeDays) } },
      // Seen at all by then (any track event or page view): a profile with no activity up to the as-of
      // time did not exist yet as far as the model can tell, so it is not a prospect either.
      { key: 'seen_track_days', kind: 'days_since_first', event: '*' },
      { key: 'seen_page_days', kind: 'days_since_first', event: '*', messageType: 'page' },
    ];
  },
  classify(features: Features, config: LifecycleConfig): Classification {
    const first = features.columns['first_days'];
    const last = features.columns['last_days'];
    const before = features.columns['last_before_window_days'];
    if (!first || !last || !before) throw new Error('lifecycle needs the first_days, last_days and last_before_window_days features');
    const counts: Record<string, number> = Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, 0]));
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(features.profileIds.length);
    for (let i = 0; i < features.profileIds.length; i++) {
      const stage = lifecycleStage({ firstDays: first[i] as number, lastDays: last[i] as number, lastBeforeWindowDays: before[i] as number }, config);
      const seen = !Number.isNaN(features.columns['seen_track_days']?.[i] ?? NaN) || !Number.isNaN(features.columns['seen_page_days']?.[i] ?? NaN);
      if (stage === 'prospect' && (!config.prospects || !seen)) continue;
      counts[stage] = (counts[stage] ?? 0) + 1;
      traits[i] = stage === 'prospect'
        ? { lifecycle_stage: stage }
        : { lifecycle_stage: stage, lifecycle_days_since_first_purchase: first[i] as number, lifecycle_days_since_last_purchase: last[i] as number };
    }
    return { traits, summary: { stages: counts, thresholds: { newDays: config.newDays, activeDays: config.activeDays, churnDays: config.churnDays } } };
  },
  traits: [
    { key: 'lifecycle_stage', description: 'new, active, reactivated, at risk, churned or prospect.' },
    { key: 'lifecycle_days_since_first_purchase', description: 'Whole days since the first purchase.' },
    { key: 'lifecycle_days_since_last_purchase', description: 'Whole days since the last purchase.' },
    { key: 'lifecycle_previous_stage', description: 'The stage at the previous run (movement).' },
  ],
  groupTrait: 'lifecycle_stage',
  previousTrait: 'lifecycle_previous_stage',
  groups: (config) => LIFECYCLE_STAGES.filter((s) => s !== 'prospect' || config.prospects),
};

/**
 * Usage tiers: casual, moderate and super users by how often they are active (frequency: periods with
 * any activity in the window, e.g. active months of the last twelve) and how much they do when they are
 * (intensity: events per active period). By default the tiers are shares of the active profiles (top
 * 10 % super, next 40 % moderate, the rest casual) on a combined frequency-intensity rank, so the tiers
 * keep their meaning in any shop and at any traffic level; absolute minimums per tier are the override.
 * docs/behavioural.md gives the rules and the reasoning.
 */
import { z } from 'zod';
import { MESSAGE_TYPES, type ComputedTraitDefinition } from '../segments/ast.js';
import { isoDaysBefore, type BehaviouralModel, type Classification, type Features, type TraitValue } from './model.js';
import { shareBelow } from './percentiles.js';

export const USAGE_TIERS = ['casual', 'moderate', 'super'] as const;
export type UsageTier = (typeof USAGE_TIERS)[number] | 'inactive';

/** What counts as activity: a track event by name (or `*`), or page / screen views (name or `*`). */
const Activity = z.strictObject({ event: z.string().min(1).max(200), messageType: z.enum(MESSAGE_TYPES).optional() });
export type UsageActivity = z.infer<typeof Activity>;
/** Every message a profile sends: track events, page views and app screens. */
export const DEFAULT_ACTIVITY: UsageActivity[] = [{ event: '*' }, { event: '*', messageType: 'page' }, { event: '*', messageType: 'screen' }];

/** No message matches two selectors: a `*` selector of a message type excludes any other of that type. */
export function activityDisjoint(list: UsageActivity[]): boolean {
  const seen = new Set<string>();
  for (const a of list) {
    const type = a.messageType ?? 'track';
    if (seen.has(`${type}:${a.event}`) || seen.has(`${type}:*`) || (a.event === '*' && [...seen].some((k) => k.startsWith(`${type}:`)))) return false;
    seen.add(`${type}:${a.event}`);
  }
  return true;
}

const share = z.number().gt(0).lt(1);
const RelativeTiers = z.strictObject({
  method: z.literal('relative'),
  /** Share of the active profiles that are super users (the top of the combined rank). */
  superShare: share.default(0.1),
  /** Share of the active profiles that are moderate users (below the super users). */
  moderateShare: share.default(0.4),
}).refine((t) => t.superShare + t.moderateShare < 1, { message: 'superShare + moderateShare must be below 1 (the rest are casual users)' });

/** Minimums of a tier: at least `periods` active periods and at least `perPeriod` events per active period. */
const Level = z.strictObject({ periods: z.number().int().min(1).max(366), perPeriod: z.number().min(0).max(1_000_000) });
export type UsageLevel = z.infer<typeof Level>;
const AbsoluteTiers = z.strictObject({ method: z.literal('absolute'), moderate: Level, super: Level })
  .refine((t) => t.super.periods >= t.moderate.periods && t.super.perPeriod >= t.moderate.perPeriod, { message: 'super minimums must be at least the moderate minimums (periods and perPeriod)' });

export const UsageConfig = z.strictObject({
  /** The messages that count as activity (any of them). */
  activity: z.array(Activity).min(1).max(5).default(DEFAULT_ACTIVITY)
    .refine(activityDisjoint, { message: 'activity selectors must not overlap (each message type once with "*", or distinct names): a message would count twice' }),
  /** Number of periods in the window (the most a profile can be active in). */
  periods: z.number().int().min(2).max(60).default(12),
  /** Length of one period in days: 30 reads as "active months", 7 as "active weeks", 1 as "active days". */
  periodDays: z.number().int().min(1).max(366).default(30),
  /** Weight of frequency in the combined rank (intensity gets the rest). */
  frequencyWeight: z.number().min(0).max(1).default(0.5),
  tiers: z.discriminatedUnion('method', [RelativeTiers, AbsoluteTiers]).default({ method: 'relative', superShare: 0.1, moderateShare: 0.4 }),
  /** Also label profiles seen before the window but without activity in it "inactive" (else: no tier). */
  inactive: z.boolean().default(false),
}).refine((c) => c.periods * c.periodDays <= 3660, { message: 'the window (periods × periodDays) must be at most 3660 days', path: ['periodDays'] })
  .refine((c) => c.tiers.method !== 'absolute' || c.tiers.super.periods <= c.periods, { message: 'tiers.super.periods cannot exceed the number of periods in the window', path: ['tiers', 'super', 'periods'] });
export type UsageConfig = z.output<typeof UsageConfig>;

/** One active profile's measures and its ranks among the active profiles (shares strictly below, 0..1). */
export interface UsageFacts { activePeriods: number; eventsPerPeriod: number; usageRank: number }

/** The tier of an active profile (at least one active period). */
export function usageTier(f: UsageFacts, tiers: UsageConfig['tiers']): Exclude<UsageTier, 'inactive'> {
  if (tiers.method === 'absolute') {
    const reaches = (l: UsageLevel) => f.activePeriods >= l.periods && f.eventsPerPeriod >= l.perPeriod;
    return reaches(tiers.super) ? 'super' : reaches(tiers.moderate) ? 'moderate' : 'casual';
  }
  // "Beats at least 90 % of the active profiles" (as the rank scores read); the epsilon absorbs 1 − 0.1 − 0.4.
  const EPS = 1e-9;
  if (f.usageRank >= 1 - tiers.superShare - EPS) return 'super';
  if (f.usageRank >= 1 - tiers.superShare - tiers.moderateShare - EPS) return 'moderate';
  return 'casual';
}

/** The combined rank input: frequency and intensity ranks weighted (both shares strictly below, 0..1). */
export function usageScore(frequencyRank: number, intensityRank: number, frequencyWeight: number): number {
  return frequencyWeight * frequencyRank + (1 - frequencyWeight) * intensityRank;
}

const periodKey = (p: number, a: number) => `p${p}_a${a}`;

export const usageModel: BehaviouralModel<UsageConfig> = {
  id: 'usage',
  name: 'Usage tiers',
  description: 'Casual, moderate and super users by frequency (active periods in the window) and intensity (events per active period).',
  config: UsageConfig,
  features(config, asOf) {
    const defs: ComputedTraitDefinition[] = [];
    for (let p = 0; p < config.periods; p++) {
      // Period 0 ends at the as-of time itself (window bounds are [from, to)).
      const window = { type: 'between' as const, from: isoDaysBefore(asOf, (p + 1) * config.periodDays), to: p === 0 ? new Date(asOf + 1).toISOString() : isoDaysBefore(asOf, p * config.periodDays) };
      config.activity.forEach((a, i) => defs.push({ key: periodKey(p, i), kind: 'count', event: a.event, ...(a.messageType ? { messageType: a.messageType } : {}), window }));
    }
    if (config.inactive) {
      config.activity.forEach((a, i) => defs.push({ key: `seen_a${i}`, kind: 'days_since_first', event: a.event, ...(a.messageType ? { messageType: a.messageType } : {}) }));
    }
    return defs;
  },
  classify(features: Features, config: UsageConfig): Classification {
    const n = features.profileIds.length;
    const col = (key: string): Float64Array => {
      const c = features.columns[key];
      if (!c) throw new Error(`usage needs the ${key} feature`);
      return c;
    };
    const periodCols = Array.from({ length: config.periods }, (_, p) => config.activity.map((_a, i) => col(periodKey(p, i))));
    const active = new Float64Array(n);
    const events = new Float64Array(n);
    for (let p = 0; p < config.periods; p++) {
      const cols = periodCols[p] as Float64Array[];
      for (let r = 0; r < n; r++) {
        let k = 0;
        for (const c of cols) { const v = c[r] as number; if (!Number.isNaN(v)) k += v; }
        if (k > 0) { active[r] = (active[r] as number) + 1; events[r] = (events[r] as number) + k; }
      }
    }
    const idx: number[] = [];
    for (let r = 0; r < n; r++) if ((active[r] as number) > 0) idx.push(r);
    const freq = Float64Array.from(idx, (r) => active[r] as number);
    const intensity = Float64Array.from(idx, (r) => (events[r] as number) / (active[r] as number));
    const fRank = shareBelow(freq);
    const iRank = shareBelow(intensity);
    const combined = Float64Array.from(idx, (_r, j) => usageScore(fRank[j] as number, iRank[j] as number, config.frequencyWeight));
    const uRank = shareBelow(combined);

    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    const counts: Record<string, number> = Object.fromEntries(usageModel.groups(config).map((g) => [g, 0]));
    const ranges: Record<string, { activePeriods: [number, number]; eventsPerPeriod: [number, number] }> = {};
    idx.forEach((r, j) => {
      const f: UsageFacts = { activePeriods: freq[j] as number, eventsPerPeriod: intensity[j] as number, usageRank: uRank[j] as number };
      const tier = usageTier(f, config.tiers);
      counts[tier] = (counts[tier] ?? 0) + 1;
      const perPeriod = Math.round(f.eventsPerPeriod * 100) / 100;
      const rg = ranges[tier];
      if (!rg) ranges[tier] = { activePeriods: [f.activePeriods, f.activePeriods], eventsPerPeriod: [perPeriod, perPeriod] };
      else {
        rg.activePeriods = [Math.min(rg.activePeriods[0], f.activePeriods), Math.max(rg.activePeriods[1], f.activePeriods)];
        rg.eventsPerPeriod = [Math.min(rg.eventsPerPeriod[0], perPeriod), Math.max(rg.eventsPerPeriod[1], perPeriod)];
      }
      traits[r] = {
        usage_tier: tier, usage_active_periods: f.activePeriods, usage_events: events[r] as number,
        usage_events_per_period: perPeriod, usage_score: Math.floor(100 * f.usageRank + 1e-9),
      };
    });
    let seenInactive = 0;
    const seenCols = config.inactive ? config.activity.map((_a, i) => col(`seen_a${i}`)) : [];
    for (let r = 0; r < n; r++) {
      if ((active[r] as number) > 0) continue;
      // Seen at all by the as-of time: a profile without any message by then did not exist yet.
      if (!seenCols.some((c) => !Number.isNaN(c[r] as number))) continue;
      seenInactive++;
      traits[r] = { usage_tier: 'inactive', usage_active_periods: 0, usage_events: 0 };
    }
    if (config.inactive) counts['inactive'] = seenInactive;
    return {
      traits,
      summary: {
        active: idx.length,
        /** Profiles without activity in the window (labelled "inactive" only when configured). */
        withoutActivity: n - idx.length,
        tiers: counts,
        windowDays: config.periods * config.periodDays,
        periods: config.periods,
        periodDays: config.periodDays,
        rule: config.tiers.method === 'relative'
          ? { method: 'relative', superShare: config.tiers.superShare, moderateShare: config.tiers.moderateShare, frequencyWeight: config.frequencyWeight }
          : { method: 'absolute', super: config.tiers.super, moderate: config.tiers.moderate },
        /** Per tier, the range of active periods and of events per active period it holds (the cuts in units). */
        ranges,
      },
    };
  },
  traits: [
    { key: 'usage_tier', description: 'casual, moderate or super (or inactive, when configured).' },
    { key: 'usage_active_periods', description: 'Periods (default 30 days) with any activity in the window (default the last 12).' },
    { key: 'usage_events', description: 'Messages counted as activity in the window.' },
    { key: 'usage_events_per_period', description: 'Intensity: messages per active period.' },
    { key: 'usage_score', description: 'Combined frequency-intensity rank: the share (0-100 %) of active profiles this profile beats.' },
    { key: 'usage_previous_tier', description: 'The tier at the previous run (movement).' },
  ],
  groupTrait: 'usage_tier',
  previousTrait: 'usage_previous_tier',
  groups: (config) => (config.inactive ? [...USAGE_TIERS, 'inactive'] : [...USAGE_TIERS]),
};


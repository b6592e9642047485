/**
 * Customer-journey funnel: the furthest stage each profile reached, awareness → interest →
 * consideration → intent → purchase → retention → advocacy, from a mapping of stages to events whose
 * defaults follow the Segment e-commerce v2 spec. Retention is the purchase repeated; advocacy adds a
 * promoter score from a survey trait. The summary is the funnel: profiles per stage and the conversion
 * between consecutive stages. docs/behavioural.md gives the rules and the reasoning.
 */
import { z } from 'zod';
import { Filter, MESSAGE_TYPES, type ComputedTraitDefinition, type Condition, type EventSelector } from '../segments/ast.js';
import type { BehaviouralModel, Classification, Features, ReadySegment, TraitValue } from './model.js';

export const FUNNEL_STAGES = ['awareness', 'interest', 'consideration', 'intent', 'purchase', 'retention', 'advocacy'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];
/** The stages reached through events of their own (retention is the purchase, repeated). */
export const MAPPED_STAGES = ['awareness', 'interest', 'consideration', 'intent', 'purchase', 'advocacy'] as const;
export type MappedStage = (typeof MAPPED_STAGES)[number];

export const FunnelSelector = z.strictObject({
  event: z.string().min(1).max(200),
  messageType: z.enum(MESSAGE_TYPES).optional(),
  where: z.array(Filter).max(20).optional(),
});

/** The Segment e-commerce v2 spec's events, stage by stage. */
export const DEFAULT_FUNNEL_MAPPING: Readonly<Record<MappedStage, readonly EventSelector[]>> = {
  awareness: [{ event: '*', messageType: 'page' }, { event: '*', messageType: 'screen' }],
  interest: [{ event: 'Product Viewed' }, { event: 'Product List Viewed' }, { event: 'Products Searched' }],
  consideration: [{ event: 'Product Added' }, { event: 'Product Added to Wishlist' }, { event: 'Cart Viewed' }],
  intent: [{ event: 'Checkout Started' }, { event: 'Payment Info Entered' }],
  purchase: [{ event: 'Order Completed' }],
  // A review is advocacy when it recommends: 4 or 5 stars (a 1-star review is the opposite).
  advocacy: [{ event: 'Product Reviewed', where: [{ path: 'properties.rating', op: 'gte', value: 4 }] }, { event: 'Product Shared' }, { event: 'Cart Shared' }],
};

export const FunnelConfig = z.strictObject({
  /** Events per stage, replacing the default list of the stages given (the others keep theirs). */
  stages: z.record(z.string(), z.array(FunnelSelector).max(20)).optional(),
  /** Purchases needed for retention. */
  retentionOrders: z.number().int().min(2).max(1000).default(2),
  /** A survey trait holding a 0-10 likelihood to recommend (NPS); null: none. */
  promoterTrait: z.string().min(1).max(200).nullable().default('nps'),
  /** The lowest score of a promoter (NPS promoters answer 9 or 10). */
  promoterMin: z.number().min(0).max(10).default(9),
  /** Advocacy only for customers (at least one purchase); others fall back to their furthest stage before purchase. */
  advocacyNeedsPurchase: z.boolean().default(true),
  /** Only events of the last N days count (a journey per period); by default the whole history. */
  windowDays: z.number().int().min(1).max(36_500).optional(),
  /** The ready segment of recent intent: an intent event within this many days and no purchase. */
  recentDays: z.number().int().min(1).max(365).default(7),
  /**
   * Derived from `stages` (never read from input): accepted only so that a configuration as stored with
   * a run (`models show`) can be passed back to a run unchanged.
   */
  mapping: z.unknown().optional(),
}).superRefine((c, ctx) => {
  for (const [stage, list] of Object.entries(c.stages ?? {})) {
    if (stage === 'retention') {
      ctx.addIssue({ code: 'custom', path: ['stages', stage], message: 'retention has no events of its own: it is the purchase repeated (set retentionOrders, or the purchase events)' });
    } else if (!(MAPPED_STAGES as readonly string[]).includes(stage)) {
      ctx.addIssue({ code: 'custom', path: ['stages', stage], message: `unknown funnel stage '${stage}' (stages: ${MAPPED_STAGES.join(', ')})` });
    } else if (list.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['stages', stage], message: 'a stage needs at least one event (a stage without events can never be reached)' });
    }
  }
}).transform(({ mapping: _derived, ...c }) => ({ ...c, mapping: funnelMapping(c.stages) }));
export type FunnelConfig = z.output<typeof FunnelConfig>;

/** The defaults with the user's stages put over them. */
function funnelMapping(stages: Record<string, EventSelector[]> | undefined): Record<MappedStage, EventSelector[]> {
  const out = {} as Record<MappedStage, EventSelector[]>;
  for (const s of MAPPED_STAGES) out[s] = (stages?.[s] ?? DEFAULT_FUNNEL_MAPPING[s]).map((x) => ({ ...x }));
  return out;
}

/** What one profile did: which mapped stages have a signal, how many purchases, whether a promoter. */
export interface FunnelSignals {
  reached: Record<MappedStage, boolean>;
  orders: number;
  promoter: boolean;
}

/**
 * The furthest stage reached, or undefined when nothing was. Stages may be skipped (tracking is rarely
 * complete: an app order without a tracked product view still reached purchase). Retention: at least
 * `retentionOrders` purchases. Advocacy: an advocacy event or a promoter score, by default only for
 * customers (without a purchase a share or review is more often browsing than recommending).
 */
export function funnelStage(s: FunnelSignals, c: Pick<FunnelConfig, 'retentionOrders' | 'advocacyNeedsPurchase'>): FunnelStage | undefined {
  const bought = s.orders >= 1 || s.reached.purchase;
  if ((s.reached.advocacy || s.promoter) && (bought || !c.advocacyNeedsPurchase)) return 'advocacy';
  if (s.orders >= c.retentionOrders) return 'retention';
  if (bought) return 'purchase';
  for (const stage of ['intent', 'consideration', 'interest', 'awareness'] as const) if (s.reached[stage]) return stage;
  return undefined;
}

const dayKey = (stage: MappedStage, i: number) => `${stage}_${i}_days`;
const countKey = (i: number) => `purchase_${i}_count`;

export const funnelModel: BehaviouralModel<FunnelConfig> = {
  id: 'funnel',
  name: 'Funnel',
  description: 'Customer-journey stage: the furthest of awareness, interest, consideration, intent, purchase, retention, advocacy each profile reached (Segment e-commerce events).',
  config: FunnelConfig,
  features(config) {
    const window = config.windowDays ? { window: { type: 'last' as const, amount: config.windowDays, unit: 'days' as const } } : {};
    const defs: ComputedTraitDefinition[] = [];
    for (const stage of MAPPED_STAGES) {
      config.mapping[stage].forEach((sel, i) => {
        defs.push({ key: dayKey(stage, i), kind: 'days_since_last', ...selector(sel), ...window });
        if (stage === 'purchase') defs.push({ key: countKey(i), kind: 'count', ...selector(sel), ...window });
      });
    }
    return defs;
  },
  traitInputs: (config) => (config.promoterTrait ? [config.promoterTrait] : []),
  classify(features: Features, config: FunnelConfig): Classification {
    const n = features.profileIds.length;
    const col = (key: string): Float64Array => {
      const c = features.columns[key];
      if (!c) throw new Error(`funnel needs the feature ${key}`);
      return c;
    };
    const days = Object.fromEntries(MAPPED_STAGES.map((s) => [s, config.mapping[s].map((_, i) => col(dayKey(s, i)))])) as Record<MappedStage, Float64Array[]>;
    const counts = config.mapping.purchase.map((_, i) => col(countKey(i)));
    const nps = config.promoterTrait ? features.columns[`trait:${config.promoterTrait}`] : undefined;
    const stageCounts: Record<string, number> = Object.fromEntries(FUNNEL_STAGES.map((s) => [s, 0]));
    const withSignal: Record<string, number> = Object.fromEntries([...MAPPED_STAGES, 'promoter'].map((s) => [s, 0]));
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    for (let i = 0; i < n; i++) {
      // Days since the latest signal of each mapped stage (NaN: none).
      const latest = {} as Record<MappedStage, number>;
      const reached = {} as Record<MappedStage, boolean>;
      for (const s of MAPPED_STAGES) {
        let best = NaN;
        for (const c of days[s]) {
          const v = c[i] as number;
          if (!Number.isNaN(v) && !(v >= best)) best = v;
        }
        latest[s] = best;
        reached[s] = !Number.isNaN(best);
        if (reached[s]) withSignal[s] = (withSignal[s] ?? 0) + 1;
      }
      let orders = 0;
      for (const c of counts) orders += Number.isNaN(c[i] as number) ? 0 : (c[i] as number);
      const score = nps?.[i] ?? NaN;
      const promoter = !Number.isNaN(score) && score >= config.promoterMin;
      if (promoter) withSignal['promoter'] = (withSignal['promoter'] ?? 0) + 1;
      const stage = funnelStage({ reached, orders, promoter }, config);
      if (!stage) continue;
      stageCounts[stage] = (stageCounts[stage] ?? 0) + 1;
      const t: Record<string, TraitValue> = { funnel_stage: stage, funnel_stage_number: FUNNEL_STAGES.indexOf(stage) + 1, funnel_orders: orders };
      const since = latest[stage === 'retention' ? 'purchase' : stage];
      if (!Number.isNaN(since)) t['funnel_stage_days'] = since;
      traits[i] = t;
    }
    return { traits, summary: funnelSummary(stageCounts, withSignal, config) };
  },
  traits: [
    { key: 'funnel_stage', description: 'The furthest stage reached: awareness, interest, consideration, intent, purchase, retention or advocacy.' },
    { key: 'funnel_stage_number', description: 'The stage as a number, 1 (awareness) to 7 (advocacy), for "at least" comparisons.' },
    { key: 'funnel_orders', description: 'Purchases counted (in the window, when one is set).' },
    { key: 'funnel_stage_days', description: 'Whole days since the latest event of the current stage (absent when only a promoter score put the profile in advocacy).' },
    { key: 'funnel_previous_stage', description: 'The stage at the previous run (movement).' },
  ],
  groupTrait: 'funnel_stage',
  previousTrait: 'funnel_previous_stage',
  groups: () => [...FUNNEL_STAGES],
  extraSegments(config): ReadySegment[] {
    const recent: Condition[] = config.mapping.intent.map((sel) => ({ type: 'event', ...selector(sel), window: { type: 'last', amount: config.recentDays, unit: 'days' } }));
    return [{
      key: 'funnel_recent_intent',
      name: `Funnel: intent in the last ${config.recentDays} days, no purchase`,
      description: `Profiles whose furthest stage is intent (checkout started, never bought) with an intent event in the last ${config.recentDays} days: the abandoned-checkout audience.`,
      condition: { type: 'and', conditions: [{ type: 'trait', trait: 'funnel_stage', op: 'eq', value: 'intent' }, recent.length === 1 ? (recent[0] as Condition) : { type: 'or', conditions: recent }] },
    }];
  },
};

/** An event selector without undefined keys (ready segments are stored as written). */
function selector(s: EventSelector): EventSelector {
  return { event: s.event, ...(s.messageType ? { messageType: s.messageType } : {}), ...(s.where?.length ? { where: s.where } : {}) };
}

/**
 * The funnel: profiles per furthest stage, profiles that reached each stage or a later one, and the
 * conversion from each stage to the next (of those who reached a stage, the share who went further).
 */
export function funnelSummary(stageCounts: Record<string, number>, withSignal: Record<string, number>, config: Pick<FunnelConfig, 'retentionOrders' | 'windowDays'>): Record<string, unknown> {
  const reached: Record<string, number> = {};
  let acc = 0;
  for (let k = FUNNEL_STAGES.length - 1; k >= 0; k--) {
    const s = FUNNEL_STAGES[k] as FunnelStage;
    acc += stageCounts[s] ?? 0;
    reached[s] = acc;
  }
  const conversion = FUNNEL_STAGES.slice(1).map((to, k) => {
    const from = FUNNEL_STAGES[k] as FunnelStage;
    const base = reached[from] ?? 0;
    return { from, to, rate: base ? Math.round(((reached[to] ?? 0) / base) * 10_000) / 10_000 : null };
  });
  return { profiles: acc, stages: stageCounts, reached, conversion, withSignal, retentionOrders: config.retentionOrders, windowDays: config.windowDays ?? null };
}

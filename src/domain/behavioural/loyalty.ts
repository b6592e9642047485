/**
 * The loyalty matrix (Dick & Basu): repeat-purchase behaviour against attitude (satisfaction and / or
 * NPS survey answers) → truly loyal (repeat buyer, positive), accessible (positive but no repeat
 * purchase: the latent loyalty to win), trapped (repeats without a positive attitude: stays for price,
 * habit or lack of choice) and high risk (neither). Customers without a usable survey answer get no
 * quadrant; the summary says how many customers that leaves out. docs/behavioural.md gives the rules.
 */
import { z } from 'zod';
import { isoDaysBefore, type BehaviouralModel, type Classification, type Features, type TraitValue } from './model.js';

export const LOYALTY_QUADRANTS = ['truly loyal', 'accessible', 'trapped', 'high risk'] as const;
export type LoyaltyQuadrant = (typeof LOYALTY_QUADRANTS)[number];
export type Attitude = 'positive' | 'negative';

/**
 * How one survey trait reads: answers outside [min, max] (or not numbers) are not answers; an answer
 * of at least `positiveFrom` is a positive attitude.
 */
export const AttitudeRule = z.strictObject({
  trait: z.string().min(1).max(200),
  min: z.number().finite(),
  max: z.number().finite(),
  positiveFrom: z.number().finite(),
}).refine((r) => r.min < r.max && r.min <= r.positiveFrom && r.positiveFrom <= r.max, { message: 'an attitude scale needs min < max and min ≤ positiveFrom ≤ max' });
export type AttitudeRule = z.infer<typeof AttitudeRule>;

/** Satisfaction 1-5, positive from 4 (the usual top-two-box); NPS 0-10, positive from 7 (not a detractor). */
export const DEFAULT_ATTITUDE: AttitudeRule[] = [
  { trait: 'satisfaction', min: 1, max: 5, positiveFrom: 4 },
  { trait: 'nps', min: 0, max: 10, positiveFrom: 7 },
];

export const LoyaltyConfig = z.strictObject({
  /** The purchase event. */
  event: z.string().min(1).max(200).default('Order Completed'),
  /** Repeat behaviour looks at purchases of the last N days. */
  windowDays: z.number().int().min(1).max(36_500).default(365),
  /** At least this many purchases in the window: repeat behaviour. */
  repeatOrders: z.number().int().min(2).max(1000).default(2),
  /** The survey traits read for the attitude, in order of preference. */
  attitude: z.array(AttitudeRule).min(1).max(5).default(DEFAULT_ATTITUDE)
    .refine((rs) => new Set(rs.map((r) => r.trait)).size === rs.length, { message: 'each attitude trait may appear once' }),
  /**
   * How several answers combine: `all` — positive only if every answer the customer gave is positive;
   * `any` — positive if one is; `first` — the first configured trait the customer answered decides.
   */
  combine: z.enum(['all', 'any', 'first']).default('all'),
});
export type LoyaltyConfig = z.output<typeof LoyaltyConfig>;

/** One answer's attitude, or null when the value is not an answer on the rule's scale. */
export function answerAttitude(value: number, rule: AttitudeRule): Attitude | null {
  if (!Number.isFinite(value) || value < rule.min || value > rule.max) return null;
  return value >= rule.positiveFrom ? 'positive' : 'negative';
}

/** The attitude of a customer's answers (in the order of the configured traits; null: not answered). */
export function combinedAttitude(answers: ReadonlyArray<Attitude | null>, combine: LoyaltyConfig['combine']): Attitude | null {
  const given = answers.filter((a): a is Attitude => a !== null);
  if (given.length === 0) return null;
  switch (combine) {
    case 'all': return given.every((a) => a === 'positive') ? 'positive' : 'negative';
    case 'any': return given.some((a) => a === 'positive') ? 'positive' : 'negative';
    case 'first': return given[0] as Attitude;
  }
}

/** The quadrant of a customer's behaviour (repeat purchase or not) and attitude. */
export function loyaltyQuadrant(repeat: boolean, attitude: Attitude): LoyaltyQuadrant {
  if (repeat) return attitude === 'positive' ? 'truly loyal' : 'trapped';
  return attitude === 'positive' ? 'accessible' : 'high risk';
}

export const loyaltyModel: BehaviouralModel<LoyaltyConfig> = {
  id: 'loyalty',
  name: 'Loyalty matrix',
  description: 'Repeat purchase against attitude (satisfaction / NPS answers): truly loyal, accessible, trapped, high risk.',
  config: LoyaltyConfig,
  features(config, asOf) {
    return [
      { key: 'orders_window', kind: 'count', event: config.event, window: { type: 'between', from: isoDaysBefore(asOf, config.windowDays), to: new Date(asOf + 1).toISOString() } },
      { key: 'orders_ever', kind: 'count', event: config.event },
    ];
  },
  traitInputs: (config) => config.attitude.map((r) => r.trait),
  classify(features: Features, config: LoyaltyConfig): Classification {
    const inWindow = features.columns['orders_window'];
    const ever = features.columns['orders_ever'];
    if (!inWindow || !ever) throw new Error('loyalty needs the orders_window and orders_ever features');
    const answerCols = config.attitude.map((r) => features.columns[`trait:${r.trait}`]);
    const answerText = config.attitude.map((r) => features.text[`trait:${r.trait}`]);
    const n = features.profileIds.length;
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    const counts: Record<string, number> = Object.fromEntries(LOYALTY_QUADRANTS.map((q) => [q, 0]));
    const answers = Object.fromEntries(config.attitude.map((r) => [r.trait, { answered: 0, positive: 0, unusable: 0 }]));
    let customers = 0, withoutAnswer = 0, answeredNoPurchase = 0;
    for (let i = 0; i < n; i++) {
      const isCustomer = (ever[i] as number) > 0;
      const atts = config.attitude.map((rule, k) => {
        const v = answerCols[k]?.[i] ?? NaN;
        const a = answerAttitude(v, rule);
        if (isCustomer) {
          const s = answers[rule.trait];
          if (s && a !== null) { s.answered++; if (a === 'positive') s.positive++; }
          // A value that is there but not on the scale (7 on a 1-5 scale, "good"): a data problem to show.
          else if (s && (answerText[k]?.[i] ?? null) !== null) s.unusable++;
        }
        return a;
      });
      const attitude = combinedAttitude(atts, config.combine);
      if (!isCustomer) {
        if (attitude !== null) answeredNoPurchase++;
        continue;
      }
      customers++;
      if (attitude === null) { withoutAnswer++; continue; }
      const orders = inWindow[i] as number;
      const repeat = orders >= config.repeatOrders;
      const q = loyaltyQuadrant(repeat, attitude);
      counts[q] = (counts[q] ?? 0) + 1;
      traits[i] = { loyalty_quadrant: q, loyalty_orders: orders, loyalty_behaviour: repeat ? 'repeat' : 'no repeat', loyalty_attitude: attitude };
    }
    const classified = customers - withoutAnswer;
    return {
      traits,
      summary: {
        quadrants: counts,
        coverage: {
          /** Profiles with at least one purchase by the as-of time. */
          customers,
          classified,
          /** Customers without a usable answer on any configured trait: no quadrant. */
          withoutAnswer,
          share: customers ? Math.round((1000 * classified) / customers) / 1000 : 0,
          /** Profiles that answered but never purchased (not customers: no quadrant). */
          answeredNoPurchase,
        },
        answers,
        thresholds: { windowDays: config.windowDays, repeatOrders: config.repeatOrders, attitude: config.attitude, combine: config.combine },
      },
    };
  },
  traits: [
    { key: 'loyalty_quadrant', description: 'truly loyal, accessible, trapped or high risk.' },
    { key: 'loyalty_orders', description: 'Purchases in the window (default the last 365 days).' },
    { key: 'loyalty_behaviour', description: '"repeat" (at least repeatOrders purchases in the window) or "no repeat".' },
    { key: 'loyalty_attitude', description: '"positive" or "negative", from the configured survey answers.' },
    { key: 'loyalty_previous_quadrant', description: 'The quadrant at the previous run (movement).' },
  ],
  groupTrait: 'loyalty_quadrant',
  previousTrait: 'loyalty_previous_quadrant',
  groups: () => [...LOYALTY_QUADRANTS],
};

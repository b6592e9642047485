/**
 * Micro-segments: small, actionable groups of buyers — frequent buyers, coupon users, discount lovers,
 * top spenders per category, high-value customers at risk, first-time buyers without a second purchase —
 * and combinations of technographic, geographic and behavioural conditions ("Android users in
 * Switzerland who viewed product X"). Where a micro-segment can be written over events it is a ready
 * segment in the segment language (it stays current as events arrive); where it needs a population
 * rank or a share (top X % of a category's spend, top value quintile, share of discounted orders) the
 * model computes the numbers as traits. `micro_primary` names the one micro-segment that matters most
 * for a profile (the first that applies, in PRIMARY_GROUPS order). docs/behavioural.md explains each.
 */
import { z } from 'zod';
import { EventPath, type ComputedTraitDefinition, type Condition } from '../segments/ast.js';
import { DEVICE_CATEGORIES, ENRICHMENT_TRAITS } from './enrichment.js';
import type { BehaviouralModel, Classification, Features, ReadySegment, TraitValue } from './model.js';
import { countBelow, rankScores, scoreCounts } from './scores.js';

/** The primary micro-segment, first match wins: the most urgent or most specific action first. */
export const PRIMARY_GROUPS = ['at-risk high value', 'one-time buyer', 'frequent buyer', 'top spender', 'discount lover', 'coupon user', 'other buyer'] as const;
export type PrimaryGroup = (typeof PRIMARY_GROUPS)[number];

const LineItemPath = EventPath.refine((p) => p.startsWith('products.'), 'a line-item path starting with products.');

/** A ready segment combining device / place traits (from the enrichment model) with a behaviour. */
export const MicroCombo = z.strictObject({
  /** Segment key suffix: the segment is `micro_<key>`. */
  key: z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'lower-case letters, digits and _, starting with a letter (at most 41)'),
  name: z.string().min(1).max(120),
  os: z.string().min(1).max(100).optional(),
  deviceCategory: z.enum(DEVICE_CATEGORIES).optional(),
  country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code like CH').optional(),
  /** The behaviour: at least one such event … */
  event: z.string().min(1).max(200).default('Product Viewed'),
  /** … of this product (properties.product_id) … */
  productId: z.string().min(1).max(200).optional(),
  /** … or category (properties.category) … */
  category: z.string().min(1).max(200).optional(),
  /** … in the last N days (absent: ever). */
  days: z.number().int().min(1).max(36_500).optional(),
}).refine((c) => c.os !== undefined || c.deviceCategory !== undefined || c.country !== undefined, 'a combination needs a device part (os, deviceCategory) or a place (country)');
export type MicroCombo = z.output<typeof MicroCombo>;

const days = z.number().int().min(1).max(36_500);

/** Suffixes of the model's own ready segments (group segments and micro-segments): not for combinations. */
const RESERVED = new Set(['frequent_buyers', 'coupon_users', 'discount_lovers', 'top_spenders', 'high_value_at_risk', 'first_time_no_repeat', ...PRIMARY_GROUPS.map((g) => segmentSlug(g))]);
function reservedKey(key: string): boolean {
  return RESERVED.has(key) || key.startsWith('top_spenders_');
}

export const MicroConfig = z.strictObject({
  /** The purchase event and its fields (Segment e-commerce v2 names by default). */
  event: z.string().min(1).max(200).default('Order Completed'),
  valuePath: EventPath.default('properties.revenue'),
  couponPath: EventPath.default('properties.coupon'),
  discountPath: EventPath.default('properties.discount'),
  /** Line items: their category and value (spend per category is the sum of line values). */
  categoryPath: LineItemPath.default('products.category'),
  lineValuePath: LineItemPath.default('products.price'),
  /** Frequent buyer: at least this many orders in the last `frequentDays` days. */
  frequentOrders: z.number().int().min(1).max(10_000).default(4),
  frequentDays: days.default(365),
  /** Coupon user: at least this many orders with a coupon (in the last `couponDays` days when set). */
  couponOrders: z.number().int().min(1).max(10_000).default(2),
  couponDays: days.optional(),
  /** Discount lover: at least this share of orders discounted, among customers with at least `discountMinOrders` orders. */
  discountShare: z.number().min(0.01).max(1).default(0.6),
  discountMinOrders: z.number().int().min(1).max(10_000).default(2),
  /** Top spender in a category: among the top X % of that category's buyers by spend. */
  topSpenderPercent: z.number().min(0.1).max(50).default(10),
  /** High value: a value quintile (by total order value among buyers) of at least this … */
  highValueQuintile: z.number().int().min(1).max(5).default(5),
  /** … at risk: last order at least `atRiskDays` and fewer than `lostDays` days ago. */
  atRiskDays: days.default(120),
  lostDays: days.default(365),
  /** First-time buyer without a second purchase: exactly one order, at least this many days ago. */
  firstTimeDays: days.default(30),
  /** The categories to rank spend in (default: every category bought, sorted, at most `maxCategories`). */
  categories: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
  maxCategories: z.number().int().min(1).max(100).default(50),
  /** Technographic × geographic × behavioural ready segments (the enrichment model supplies the traits). */
  combos: z.array(MicroCombo).max(50).default([
    { key: 'android_ch_product_viewers', name: 'Android users in Switzerland who viewed a product in the last 30 days', os: 'Android', country: 'CH', event: 'Product Viewed', days: 30 },
    { key: 'mobile_de_cart_adders', name: 'Mobile shoppers in Germany who added to cart in the last 14 days', deviceCategory: 'mobile', country: 'DE', event: 'Product Added', days: 14 },
  ]),
}).refine((c) => c.atRiskDays < c.lostDays, { message: 'atRiskDays must be below lostDays', path: ['atRiskDays'] })
  .refine((c) => new Set(c.combos.map((x) => x.key)).size === c.combos.length, { message: 'combination keys must be unique', path: ['combos'] })
  .refine((c) => c.combos.every((x) => !reservedKey(x.key)), { message: 'a combination key may not be one of the other micro segments\' keys (frequent_buyers, top_spenders_…, the primary groups …)', path: ['combos'] });
export type MicroConfig = z.output<typeof MicroConfig>;

// ---- pure rules ----------------------------------------------------------------------------------

/** In the top X %: at least (100 − X) % of the n values are strictly smaller (integer-exact for whole X). */
export function inTopPercent(below: number, n: number, percent: number): boolean {
  return n > 0 && below * 100 >= n * (100 - percent) - 1e-9;
}

/** The facts about one buyer the micro-segment rules read. */
export interface MicroFacts {
  orders: number;
  recentOrders: number;
  couponOrders: number;
  discountedOrders: number;
  daysSinceFirst: number;
  daysSinceLast: number;
  /** Value quintile 1..5 among buyers. */
  valueQuintile: number;
  /** Categories where the buyer is a top spender. */
  topCategories: string[];
}

/** Every micro-segment a buyer is in, in PRIMARY_GROUPS order ('other buyer' when none). */
export function microSegments(f: MicroFacts, c: MicroConfig): PrimaryGroup[] {
  const out: PrimaryGroup[] = [];
  if (f.valueQuintile >= c.highValueQuintile && f.daysSinceLast >= c.atRiskDays && f.daysSinceLast < c.lostDays) out.push('at-risk high value');
  if (f.orders === 1 && f.daysSinceFirst >= c.firstTimeDays) out.push('one-time buyer');
  if (f.recentOrders >= c.frequentOrders) out.push('frequent buyer');
  if (f.topCategories.length > 0) out.push('top spender');
  if (f.orders >= c.discountMinOrders && f.discountedOrders / f.orders >= c.discountShare) out.push('discount lover');
  if (f.couponOrders >= c.couponOrders) out.push('coupon user');
  if (out.length === 0) out.push('other buyer');
  return out;
}

/** A list trait value that a `contains "|x|"` condition can test: "|a|b|". */
export function listTrait(values: readonly string[]): string {
  return `|${values.join('|')}|`;
}

function segmentSlug(s: string): string {
  return s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

// ---- ready segments ----------------------------------------------------------------------------------

const dayWindow = (n: number) => ({ type: 'last' as const, amount: n, unit: 'days' as const });

function comboCondition(x: MicroCombo): Condition {
  const parts: Condition[] = [];
  if (x.os !== undefined) parts.push({ type: 'trait', trait: ENRICHMENT_TRAITS.os, op: 'eq', value: x.os });
  if (x.deviceCategory !== undefined) parts.push({ type: 'trait', trait: ENRICHMENT_TRAITS.deviceCategory, op: 'eq', value: x.deviceCategory });
  if (x.country !== undefined) parts.push({ type: 'trait', trait: ENRICHMENT_TRAITS.country, op: 'eq', value: x.country });
  const where = [
    ...(x.productId !== undefined ? [{ path: 'properties.product_id', op: 'eq' as const, value: x.productId }] : []),
    ...(x.category !== undefined ? [{ path: 'properties.category', op: 'eq' as const, value: x.category }] : []),
  ];
  parts.push({ type: 'event', event: x.event, ...(where.length ? { where } : {}), count: { op: 'at_least', value: 1 }, ...(x.days !== undefined ? { window: dayWindow(x.days) } : {}) });
  return { type: 'and', conditions: parts };
}

/** The micro-segments as ready segments: in the segment language where events say it, else over the model's traits. */
export function microSegmentsReady(c: MicroConfig): ReadySegment[] {
  const couponWhere = [{ path: c.couponPath, op: 'exists' as const }, { path: c.couponPath, op: 'neq' as const, value: '' }];
  const out: ReadySegment[] = [
    {
      key: 'micro_frequent_buyers', name: 'Frequent buyers',
      description: `At least ${c.frequentOrders} orders (${c.event}) in the last ${c.frequentDays} days; live over events.`,
      condition: { type: 'event', event: c.event, count: { op: 'at_least', value: c.frequentOrders }, window: dayWindow(c.frequentDays) },
    },
    {
      key: 'micro_coupon_users', name: 'Coupon users',
      description: `At least ${c.couponOrders} orders with a coupon (${c.couponPath})${c.couponDays ? ` in the last ${c.couponDays} days` : ''}; live over events.`,
      condition: { type: 'event', event: c.event, where: couponWhere, count: { op: 'at_least', value: c.couponOrders }, ...(c.couponDays ? { window: dayWindow(c.couponDays) } : {}) },
    },
    {
      key: 'micro_discount_lovers', name: 'Discount lovers',
      description: `At least ${Math.round(c.discountShare * 100)} % of orders discounted, among customers with at least ${c.discountMinOrders} orders (traits of the last micro run).`,
      condition: { type: 'and', conditions: [{ type: 'trait', trait: 'micro_discount_share', op: 'gte', value: c.discountShare }, { type: 'trait', trait: 'micro_orders', op: 'gte', value: c.discountMinOrders }] },
    },
    {
      key: 'micro_top_spenders', name: 'Top spenders (any category)',
      description: `Among the top ${c.topSpenderPercent} % of a category's buyers by spend, in at least one category (trait micro_top_spender_categories lists which).`,
      condition: { type: 'trait', trait: 'micro_top_spender_categories', op: 'exists' },
    },
    {
      key: 'micro_high_value_at_risk', name: 'High-value customers at risk',
      description: `Value quintile ≥ ${c.highValueQuintile} (last micro run) and no order for ${c.atRiskDays} days, but one within ${c.lostDays} days (recency live over events).`,
      condition: { type: 'and', conditions: [
        { type: 'trait', trait: 'micro_value_quintile', op: 'gte', value: c.highValueQuintile },
        { type: 'last_performed', event: c.event, op: 'more_than_ago', amount: c.atRiskDays, unit: 'days' },
        { type: 'last_performed', event: c.event, op: 'within_last', amount: c.lostDays, unit: 'days' },
      ] },
    },
    {
      key: 'micro_first_time_no_repeat', name: 'First-time buyers without a second purchase',
      description: `Exactly one order ever, placed more than ${c.firstTimeDays} days ago; live over events.`,
      condition: { type: 'and', conditions: [
        { type: 'event', event: c.event, count: { op: 'exactly', value: 1 } },
        { type: 'first_performed', event: c.event, op: 'more_than_ago', amount: c.firstTimeDays, unit: 'days' },
      ] },
    },
  ];
  for (const cat of c.categories ?? []) {
    out.push({
      key: `micro_top_spenders_${segmentSlug(cat)}`.slice(0, 63), name: `Top spenders: ${cat}`,
      description: `Among the top ${c.topSpenderPercent} % of ${cat} buyers by spend (last micro run).`,
      condition: { type: 'trait', trait: 'micro_top_spender_categories', op: 'contains', value: `|${cat}|` },
    });
  }
  for (const x of c.combos) out.push({ key: `micro_${x.key}`, name: x.name, description: 'Device / place traits of the enrichment model AND a behaviour over events (run the enrichment model first).', condition: comboCondition(x) });
  return out;
}

// ---- the model ---------------------------------------------------------------------------------------

const SPEND = 'spend:';

export const microModel: BehaviouralModel<MicroConfig> = {
  id: 'micro',
  name: 'Micro-segments',
  description: 'Frequent buyers, coupon users, discount lovers, top spenders per category, high-value customers at risk, first-time buyers without a second purchase, and device × place × behaviour combinations.',
  config: MicroConfig,
  discover: (config) => (config.categories ? undefined : { key: 'categories', kind: 'unique_list', event: config.event, path: config.categoryPath }),
  features(config, asOf, seen) {
    const categories = (config.categories ?? seen ?? []).slice(0, config.maxCategories);
    const ev = config.event;
    return [
      { key: 'orders', kind: 'count', event: ev },
      { key: 'recent_orders', kind: 'count', event: ev, window: dayWindow(config.frequentDays) },
      { key: 'coupon_orders', kind: 'count', event: ev, where: [{ path: config.couponPath, op: 'exists' }, { path: config.couponPath, op: 'neq', value: '' }], ...(config.couponDays ? { window: dayWindow(config.couponDays) } : {}) },
      { key: 'discounted_orders', kind: 'count', event: ev, where: [{ path: config.discountPath, op: 'gt', value: 0 }] },
      { key: 'revenue', kind: 'sum', event: ev, path: config.valuePath },
      { key: 'first_days', kind: 'days_since_first', event: ev },
      { key: 'last_days', kind: 'days_since_last', event: ev },
      ...categories.map((cat): ComputedTraitDefinition => ({ key: `${SPEND}${cat}`, kind: 'sum', event: ev, path: config.lineValuePath, where: [{ path: config.categoryPath, op: 'eq', value: cat }] })),
    ];
  },
  classify(features: Features, config: MicroConfig): Classification {
    const col = (k: string) => {
      const c = features.columns[k];
      if (!c) throw new Error(`micro needs the ${k} feature`);
      return c;
    };
    const orders = col('orders'), recent = col('recent_orders'), coupons = col('coupon_orders'), discounted = col('discounted_orders');
    const revenue = col('revenue'), first = col('first_days'), last = col('last_days');
    const categories = Object.keys(features.columns).filter((k) => k.startsWith(SPEND)).map((k) => k.slice(SPEND.length));
    const n = features.profileIds.length;
    const num = (c: Float64Array, i: number) => { const v = c[i] as number; return Number.isNaN(v) ? 0 : v; };
    const buyers: number[] = [];
    for (let i = 0; i < n; i++) if (num(orders, i) > 0 && !Number.isNaN(last[i] as number)) buyers.push(i);
    const quintile = rankScores(Float64Array.from(buyers, (i) => num(revenue, i)), 5, 'higher_is_better');
    // Per category: spend of each of its buyers, their rank, and who is in the top X %.
    const topIn: string[][] = Array.from({ length: n }, () => []);
    const bestCat: Array<{ cat: string; spend: number; pct: number } | undefined> = new Array(n);
    const catSummary: Record<string, { buyers: number; topSpenders: number; minTopSpend: number | null }> = {};
    for (const cat of categories) {
      const spend = col(`${SPEND}${cat}`);
      const idx = buyers.filter((i) => num(spend, i) > 0);
      const below = countBelow(Float64Array.from(idx, (i) => num(spend, i)));
      let tops = 0, minTop: number | null = null;
      idx.forEach((i, j) => {
        const s = num(spend, i);
        const b = below[j] as number;
        if (inTopPercent(b, idx.length, config.topSpenderPercent)) {
          (topIn[i] as string[]).push(cat);
          tops++;
          minTop = minTop === null ? s : Math.min(minTop, s);
        }
        const cur = bestCat[i];
        // The top category: the most spend; ties go to the first category in order.
        if (!cur || s > cur.spend) bestCat[i] = { cat, spend: s, pct: Math.round((1000 * b) / idx.length) / 10 };
      });
      catSummary[cat] = { buyers: idx.length, topSpenders: tops, minTopSpend: minTop === null ? null : Math.round(minTop * 100) / 100 };
    }
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    const counts: Record<string, number> = Object.fromEntries(PRIMARY_GROUPS.map((g) => [g, 0]));
    const member: Record<string, number> = Object.fromEntries(PRIMARY_GROUPS.map((g) => [g, 0]));
    buyers.forEach((i, j) => {
      const o = num(orders, i);
      const facts: MicroFacts = {
        orders: o, recentOrders: num(recent, i), couponOrders: num(coupons, i), discountedOrders: num(discounted, i),
        daysSinceFirst: first[i] as number, daysSinceLast: last[i] as number, valueQuintile: quintile[j] as number, topCategories: topIn[i] as string[],
      };
      const segs = microSegments(facts, config);
      const primary = segs[0] as PrimaryGroup;
      counts[primary] = (counts[primary] ?? 0) + 1;
      for (const s of segs) member[s] = (member[s] ?? 0) + 1;
      const t: Record<string, TraitValue> = {
        micro_orders: o, micro_recent_orders: facts.recentOrders, micro_revenue: Math.round(num(revenue, i) * 100) / 100,
        micro_coupon_orders: facts.couponOrders, micro_coupon_share: round3(facts.couponOrders / o), micro_discount_share: round3(facts.discountedOrders / o),
        micro_value_quintile: facts.valueQuintile, micro_days_since_last_order: facts.daysSinceLast,
        micro_segments: listTrait(segs), micro_primary: primary,
      };
      const best = bestCat[i];
      if (best) {
        t['micro_top_category'] = best.cat;
        t['micro_top_category_spend'] = Math.round(best.spend * 100) / 100;
        t['micro_category_spend_rank'] = best.pct;
      }
      if (facts.topCategories.length) t['micro_top_spender_categories'] = listTrait(facts.topCategories);
      traits[i] = t;
    });
    return {
      traits,
      summary: {
        buyers: buyers.length,
        primary: counts,
        /** Members of each micro-segment (they overlap; "primary" counts each buyer once). */
        members: member,
        valueQuintiles: scoreCounts(quintile, 5),
        categories: catSummary,
        ...(config.categories === undefined && categories.length >= config.maxCategories ? { categoriesCapped: config.maxCategories } : {}),
      },
    };
  },
  traits: [
    { key: 'micro_orders', description: 'Orders ever.' },
    { key: 'micro_recent_orders', description: 'Orders in the frequent-buyer window (frequentDays).' },
    { key: 'micro_revenue', description: 'Total order value ever.' },
    { key: 'micro_coupon_orders', description: 'Orders with a coupon (in couponDays when set).' },
    { key: 'micro_coupon_share', description: 'Coupon orders / orders.' },
    { key: 'micro_discount_share', description: 'Share of orders with a discount above 0.' },
    { key: 'micro_value_quintile', description: 'Quintile 1..5 of the total order value among all buyers (5: top 20 %).' },
    { key: 'micro_days_since_last_order', description: 'Whole days since the last order.' },
    { key: 'micro_top_category', description: 'The category with the most spend (sum of line-item values).' },
    { key: 'micro_top_category_spend', description: 'Spend in the top category.' },
    { key: 'micro_category_spend_rank', description: 'Percentile (0-100) of that spend among the category\'s buyers: % of them spending less.' },
    { key: 'micro_top_spender_categories', description: 'Categories where the buyer is a top spender, as "|Shoes|Books|" (test with contains "|Shoes|").' },
    { key: 'micro_segments', description: 'Every micro-segment the buyer is in, as "|frequent buyer|coupon user|".' },
    { key: 'micro_primary', description: 'The first micro-segment that applies, in order: at-risk high value, one-time buyer, frequent buyer, top spender, discount lover, coupon user, other buyer.' },
    { key: 'micro_previous_primary', description: 'The primary micro-segment at the previous run (movement).' },
  ],
  groupTrait: 'micro_primary',
  previousTrait: 'micro_previous_primary',
  groups: () => [...PRIMARY_GROUPS],
  extraSegments: microSegmentsReady,
};

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

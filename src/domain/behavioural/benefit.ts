/**
 * Benefit segmentation: what a customer looks for in buying (price, quality, convenience, comfort,
 * style …), from a survey answer where there is one and from behaviour otherwise: price sensitivity
 * from the share of orders with a discount, price taste from the items' prices against similar
 * shoppers', and benefits read from product attributes where a shop has them. docs/behavioural.md
 * gives the rules, the defaults and why a stated answer wins over behaviour.
 */
import { z } from 'zod';
import { EventPath, Filter, type ComputedTraitDefinition } from '../segments/ast.js';
import type { BehaviouralModel, Classification, Features, ReadySegment, TraitValue } from './model.js';

export const DEFAULT_BENEFITS = ['price', 'quality', 'convenience', 'comfort', 'style'] as const;
export const UNKNOWN = 'unknown';
export const SENSITIVITY = ['high', 'medium', 'low'] as const;
export type Sensitivity = (typeof SENSITIVITY)[number];

const benefitName = z.string().min(1).max(40).regex(/^[a-z][a-z0-9 _-]*$/, 'a benefit name in lower case (letters, digits, space, _ or -)');
const ratio = z.number().min(0).max(1);

/** Orders whose line items match `where` (all filters on one item) point to `benefit`. */
export const AttributeRule = z.strictObject({
  where: z.array(Filter).min(1).max(10).refine((fs) => fs.every((f) => f.path.startsWith('products.')), 'filters on line items: paths starting with products.'),
  benefit: benefitName,
});
export type AttributeRule = z.infer<typeof AttributeRule>;

export const BenefitConfig = z.strictObject({
  /** The benefits known, in display order ("unknown" is added for customers none is known of). */
  benefits: z.array(benefitName).min(1).max(20).default([...DEFAULT_BENEFITS]),
  /** The purchase event. */
  event: z.string().min(1).max(200).default('Order Completed'),
  /** Only orders of the last N days count; by default the whole history. */
  windowDays: z.number().int().min(1).max(36_500).optional(),
  /** The survey trait with the benefit sought; null: no survey. */
  surveyTrait: z.string().min(1).max(200).nullable().default('benefit_sought'),
  /** Survey answers (lower-cased) → benefit, for answers that are not a benefit's own name. */
  answers: z.record(z.string().min(1).max(200), benefitName).default({}),
  /** Which wins when both speak: the stated answer (default) or the behaviour. */
  precedence: z.enum(['stated', 'behaviour']).default('stated'),
  /** Orders needed before behaviour says anything. */
  minOrders: z.number().int().min(1).max(1000).default(2),
  /** Discounted orders: those matching any one of these filter lists (each list ANDed). */
  discountFilters: z.array(z.array(Filter).min(1).max(10)).min(1).max(5).default([
    [{ path: 'properties.discount', op: 'gt', value: 0 }],
    [{ path: 'properties.coupon', op: 'exists' }],
  ]),
  /** Discount share above which price sensitivity is high (and behaviour says "price"): more than half … */
  highDiscountShare: ratio.default(0.5),
  /** … and below which sensitivity is low (between: medium). */
  lowDiscountShare: ratio.default(0.2),
  /** The price of a line item. */
  itemPricePath: EventPath.default('products.price'),
  /** The currency of an order (prices are compared within a currency first); null: one currency. */
  currencyPath: EventPath.nullable().default('properties.currency'),
  /**
   * The shop's main categories (values of itemCategoryPath): item prices are then compared within each
   * category, the most precise price taste. Without them, a customer's average item price is compared
   * with customers of the same main category (categoryEvent / categoryPath).
   */
  priceCategories: z.array(z.string().min(1).max(200)).max(50).default([]),
  itemCategoryPath: EventPath.refine((p) => p.startsWith('products.'), 'a line-item path starting with products.').default('products.category'),
  /** Where a customer's main category comes from: the most frequent value of this path on this event; null: none. */
  categoryEvent: z.string().min(1).max(200).default('Product Added'),
  categoryPath: EventPath.nullable().default('properties.category'),
  /** Shoppers of a currency or category with fewer buyers than this are compared with everyone. */
  minCohort: z.number().int().min(1).max(100_000).default(10),
  /** Price index at or above this: premium taste, the benefit premiumBenefit (null: none). */
  premiumIndex: z.number().min(1).max(10).default(1.4),
  premiumBenefit: benefitName.nullable().default('quality'),
  /** Price index at or below this: budget taste, the benefit budgetBenefit (null: none). */
  budgetIndex: z.number().min(0).max(1).default(0.6),
  budgetBenefit: benefitName.nullable().default('price'),
  /** Product-attribute rules (first match wins); the demo shop has none, so none by default. */
  attributes: z.array(AttributeRule).max(20).default([]),
  /** An attribute rule holds when at least this share of the orders have a matching item. */
  attributeShare: ratio.default(0.5),
}).superRefine((c, ctx) => {
  const known = new Set(c.benefits);
  if (known.has(UNKNOWN)) ctx.addIssue({ code: 'custom', path: ['benefits'], message: `"${UNKNOWN}" is kept for customers with no known benefit` });
  if (new Set(c.benefits).size !== c.benefits.length) ctx.addIssue({ code: 'custom', path: ['benefits'], message: 'a benefit is listed twice' });
  const check = (b: string | null, path: Array<string | number>) => {
    if (b !== null && !known.has(b)) ctx.addIssue({ code: 'custom', path, message: `benefit "${b}" is not in benefits (${c.benefits.join(', ')})` });
  };
  for (const [answer, b] of Object.entries(c.answers)) check(b, ['answers', answer]);
  c.attributes.forEach((r, k) => check(r.benefit, ['attributes', k, 'benefit']));
  check(c.premiumBenefit, ['premiumBenefit']);
  check(c.budgetBenefit, ['budgetBenefit']);
  if (new Set(c.priceCategories).size !== c.priceCategories.length) ctx.addIssue({ code: 'custom', path: ['priceCategories'], message: 'a category is listed twice' });
  if (c.lowDiscountShare > c.highDiscountShare) ctx.addIssue({ code: 'custom', path: ['lowDiscountShare'], message: 'lowDiscountShare must not exceed highDiscountShare' });
});
export type BenefitConfig = z.output<typeof BenefitConfig>;

/** A survey answer as a benefit: a known benefit's name (any case) or a mapped answer; else undefined. */
export function statedBenefit(answer: string | null | undefined, c: Pick<BenefitConfig, 'benefits' | 'answers'>): string | undefined {
  if (answer === null || answer === undefined) return undefined;
  const a = answer.trim().toLowerCase();
  if (!a) return undefined;
  const mapped = Object.entries(c.answers).find(([k]) => k.toLowerCase() === a)?.[1];
  if (mapped !== undefined) return mapped;
  return c.benefits.includes(a) ? a : undefined;
}

/** Price sensitivity from the discount share (undefined below minOrders orders). */
export function priceSensitivity(orders: number, discounted: number, c: Pick<BenefitConfig, 'minOrders' | 'highDiscountShare' | 'lowDiscountShare'>): Sensitivity | undefined {
  if (!(orders >= c.minOrders)) return undefined;
  const s = discounted / orders;
  return s > c.highDiscountShare ? 'high' : s < c.lowDiscountShare ? 'low' : 'medium';
}

export interface BehaviourFacts {
  orders: number;
  sensitivity: Sensitivity | undefined;
  /** Share of orders matching each attribute rule, in rule order. */
  attributeShares: number[];
  /** Price index (NaN: unknown). */
  priceIndex: number;
}

/**
 * The benefit behaviour shows, in order: high price sensitivity → price; an attribute rule → its
 * benefit; premium price taste → premiumBenefit; budget taste → budgetBenefit. Nothing below
 * minOrders orders (one order is a single choice, not a habit).
 */
export function behaviourBenefit(f: BehaviourFacts, c: Pick<BenefitConfig, 'minOrders' | 'attributes' | 'attributeShare' | 'premiumIndex' | 'premiumBenefit' | 'budgetIndex' | 'budgetBenefit' | 'benefits'>): string | undefined {
  if (!(f.orders >= c.minOrders)) return undefined;
  if (f.sensitivity === 'high' && c.benefits.includes('price')) return 'price';
  for (let k = 0; k < c.attributes.length; k++) if ((f.attributeShares[k] ?? 0) >= c.attributeShare) return c.attributes[k]?.benefit;
  if (!Number.isNaN(f.priceIndex)) {
    if (c.premiumBenefit !== null && f.priceIndex >= c.premiumIndex) return c.premiumBenefit;
    if (c.budgetBenefit !== null && f.priceIndex <= c.budgetIndex) return c.budgetBenefit;
  }
  return undefined;
}

/** The benefit segment: stated or behaviour by precedence, the other when the first is silent; unknown for buyers. */
export function benefitSegment(stated: string | undefined, behaviour: string | undefined, orders: number, c: Pick<BenefitConfig, 'precedence'>): { segment: string; source: 'stated' | 'behaviour' | 'none' } | undefined {
  const order = c.precedence === 'stated' ? ([['stated', stated], ['behaviour', behaviour]] as const) : ([['behaviour', behaviour], ['stated', stated]] as const);
  for (const [source, b] of order) if (b !== undefined) return { segment: b, source };
  return orders > 0 ? { segment: UNKNOWN, source: 'none' } : undefined;
}

/** The median of the finite values (NaN when none). */
export function median(values: ArrayLike<number>): number {
  // (a typed array's own sort: with a comparator, the medians were a third of the model's classification)
  const v = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (Number.isFinite(x)) v[k++] = x;
  }
  if (!k) return NaN;
  const s = v.subarray(0, k).sort();
  const m = k >> 1;
  return k % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Price index of each customer: the average item price divided by the median of customers paying in the
 * same currency, then by the median of that ratio among customers with the same main category (prices
 * differ more between categories than between tastes). A cohort smaller than minCohort uses everyone.
 */
export function priceIndexes(price: ArrayLike<number>, currency: ArrayLike<string | null>, category: ArrayLike<string | null>, minCohort: number): Float64Array {
  const n = price.length;
  const out = new Float64Array(n).fill(NaN);
  const cohortMedian = (key: (i: number) => string | null, value: (i: number) => number): (i: number) => number => {
    const groups = new Map<string, number[]>();
    const all: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = value(i);
      if (!Number.isFinite(v)) continue;
      all.push(v);
      const k = key(i);
      if (k !== null) (groups.get(k) ?? groups.set(k, []).get(k) as number[]).push(v);
    }
    const overall = median(all);
    const med = new Map([...groups].map(([k, vs]) => [k, vs.length >= minCohort ? median(vs) : overall]));
    return (i) => { const k = key(i); return (k === null ? undefined : med.get(k)) ?? overall; };
  };
  const p = (i: number) => { const v = price[i] as number; return v > 0 ? v : NaN; };
  const byCurrency = cohortMedian((i) => currency[i] ?? null, p);
  const relative = Float64Array.from({ length: n }, (_, i) => p(i) / byCurrency(i));
  const byCategory = cohortMedian((i) => category[i] ?? null, (i) => relative[i] as number);
  for (let i = 0; i < n; i++) {
    const r = relative[i] as number;
    if (Number.isFinite(r)) out[i] = r / byCategory(i);
  }
  return out;
}

/**
 * Price index from item prices per category: each category's average item price (scaled by the
 * customer's currency factor: the currency's median average item price over everyone's) divided by that
 * category's median among customers, combined over the customer's categories as a geometric mean (a
 * ratio of 2 and one of 0.5 cancel). Categories bought by fewer than minCohort customers are skipped.
 */
export function categoryPriceIndexes(overall: ArrayLike<number>, currency: ArrayLike<string | null>, byCategory: ReadonlyArray<ArrayLike<number>>, minCohort: number): Float64Array {
  const n = overall.length;
  const out = new Float64Array(n).fill(NaN);
  const all: number[] = [];
  const perCurrency = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const v = overall[i] as number;
    if (!(v > 0)) continue;
    all.push(v);
    const k = currency[i] ?? null;
    if (k !== null) (perCurrency.get(k) ?? perCurrency.set(k, []).get(k) as number[]).push(v);
  }
  const base = median(all);
  const factor = new Map([...perCurrency].map(([k, vs]) => [k, vs.length >= minCohort ? median(vs) / base : 1]));
  const scaled = (i: number, v: number) => v / (factor.get(currency[i] ?? '') ?? 1);
  const medians = byCategory.map((col) => {
    const vs: number[] = [];
    for (let i = 0; i < n; i++) if ((overall[i] as number) > 0 && (col[i] as number) > 0) vs.push(scaled(i, col[i] as number));
    return vs.length >= minCohort ? median(vs) : NaN;
  });
  for (let i = 0; i < n; i++) {
    if (!((overall[i] as number) > 0)) continue;
    let logSum = 0, m = 0;
    byCategory.forEach((col, k) => {
      const v = col[i] as number, med = medians[k] as number;
      if (v > 0 && med > 0) { logSum += Math.log(scaled(i, v) / med); m++; }
    });
    if (m) out[i] = Math.exp(logSum / m);
  }
  return out;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export const benefitModel: BehaviouralModel<BenefitConfig> = {
  id: 'benefit',
  name: 'Benefit',
  description: 'The benefit a customer seeks (price, quality, convenience, comfort, style …): a survey answer where there is one, else behaviour (discount share, price taste, product attributes).',
  config: BenefitConfig,
  features(config) {
    const window = config.windowDays ? { window: { type: 'last' as const, amount: config.windowDays, unit: 'days' as const } } : {};
    const defs: ComputedTraitDefinition[] = [
      { key: 'orders', kind: 'count', event: config.event, ...window },
      ...config.discountFilters.map((where, k): ComputedTraitDefinition => ({ key: `discounted_${k}`, kind: 'count', event: config.event, where, ...window })),
      { key: 'item_price', kind: 'avg', event: config.event, path: config.itemPricePath, ...window },
      ...config.attributes.map((r, k): ComputedTraitDefinition => ({ key: `attribute_${k}`, kind: 'count', event: config.event, where: r.where, ...window })),
    ];
    config.priceCategories.forEach((cat, k) => defs.push({ key: `category_price_${k}`, kind: 'avg', event: config.event, path: config.itemPricePath, where: [{ path: config.itemCategoryPath, op: 'eq', value: cat }], ...window }));
    if (config.currencyPath) defs.push({ key: 'currency', kind: 'most_frequent', event: config.event, path: config.currencyPath, ...window });
    if (config.categoryPath && !config.priceCategories.length) defs.push({ key: 'category', kind: 'most_frequent', event: config.categoryEvent, path: config.categoryPath, ...window });
    return defs;
  },
  traitInputs: (config) => (config.surveyTrait ? [config.surveyTrait] : []),
  classify(features: Features, config: BenefitConfig): Classification {
    const n = features.profileIds.length;
    const num = (key: string) => features.columns[key] ?? new Float64Array(n).fill(NaN);
    const nulls = new Array<string | null>(n).fill(null);
    const orders = num('orders');
    const discounted = config.discountFilters.map((_, k) => num(`discounted_${k}`));
    const attributes = config.attributes.map((_, k) => num(`attribute_${k}`));
    // Price taste only among customers with enough orders (one basket is one choice, not a taste).
    const price = Float64Array.from(num('item_price'), (v, i) => (nz(orders[i]) >= config.minOrders ? v : NaN));
    const currency = features.text['currency'] ?? nulls;
    const index = config.priceCategories.length
      ? categoryPriceIndexes(price, currency, config.priceCategories.map((_, k) => num(`category_price_${k}`)), config.minCohort)
      : priceIndexes(price, currency, features.text['category'] ?? nulls, config.minCohort);
    const survey = config.surveyTrait ? features.text[`trait:${config.surveyTrait}`] : undefined;

    const segments: Record<string, number> = Object.fromEntries([...config.benefits, UNKNOWN].map((b) => [b, 0]));
    const sources = { stated: 0, behaviour: 0, none: 0 };
    const sensitivityCounts: Record<string, number> = Object.fromEntries(SENSITIVITY.map((s) => [s, 0]));
    const agreement = { both: 0, agree: 0 };
    let unmapped = 0;
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    for (let i = 0; i < n; i++) {
      const o = nz(orders[i]);
      // Discounted orders: the largest count of the alternative criteria (exact when one implies the
      // others, as a coupon implies a discount in the Segment spec; never more than the orders).
      const d = Math.min(o, Math.max(0, ...discounted.map((c) => nz(c[i]))));
      const sensitivity = priceSensitivity(o, d, config);
      const raw = survey?.[i] ?? null;
      const stated = statedBenefit(raw, config);
      if (raw !== null && raw.trim() !== '' && stated === undefined) unmapped++;
      const facts: BehaviourFacts = { orders: o, sensitivity, attributeShares: attributes.map((c) => (o > 0 ? nz(c[i]) / o : 0)), priceIndex: index[i] as number };
      const behaviour = behaviourBenefit(facts, config);
      const seg = benefitSegment(stated, behaviour, o, config);
      if (!seg) continue;
      segments[seg.segment] = (segments[seg.segment] ?? 0) + 1;
      sources[seg.source]++;
      if (stated !== undefined && behaviour !== undefined) {
        agreement.both++;
        if (stated === behaviour) agreement.agree++;
      }
      const t: Record<string, TraitValue> = { benefit_segment: seg.segment, benefit_source: seg.source, benefit_orders: o };
      if (stated !== undefined) t['benefit_stated'] = stated;
      if (behaviour !== undefined) t['benefit_behaviour'] = behaviour;
      if (o > 0) t['benefit_discount_share'] = round2(d / o);
      if (sensitivity) {
        t['benefit_price_sensitivity'] = sensitivity;
        sensitivityCounts[sensitivity] = (sensitivityCounts[sensitivity] ?? 0) + 1;
      }
      if (!Number.isNaN(index[i] as number)) t['benefit_price_index'] = round2(index[i] as number);
      traits[i] = t;
    }
    return { traits, summary: { segments, sources, priceSensitivity: sensitivityCounts, statedAndBehaviour: agreement, unmappedAnswers: unmapped, precedence: config.precedence } };
  },
  traits: [
    { key: 'benefit_segment', description: 'The benefit sought: one of the configured benefits, or unknown for customers nothing is known of.' },
    { key: 'benefit_source', description: 'Where the segment comes from: stated (survey), behaviour, or none.' },
    { key: 'benefit_stated', description: 'The survey answer, as a benefit.' },
    { key: 'benefit_behaviour', description: 'The benefit behaviour shows (discounts, price taste, product attributes).' },
    { key: 'benefit_discount_share', description: 'Share of orders with a discount or coupon.' },
    { key: 'benefit_price_sensitivity', description: 'high, medium or low, from the discount share (with at least minOrders orders).' },
    { key: 'benefit_price_index', description: 'Average item price relative to similar shoppers (same currency, same main category): 1 is typical.' },
    { key: 'benefit_orders', description: 'Orders counted (in the window, when one is set).' },
    { key: 'benefit_previous_segment', description: 'The segment at the previous run (movement).' },
  ],
  groupTrait: 'benefit_segment',
  previousTrait: 'benefit_previous_segment',
  groups: (config) => [...config.benefits, UNKNOWN],
  extraSegments(config): ReadySegment[] {
    return [{
      key: 'benefit_discount_responsive',
      name: 'Benefit: price sensitive (high)',
      description: `Customers with at least ${config.minOrders} orders of which at least ${Math.round(config.highDiscountShare * 100)} % had a discount or coupon, whatever benefit they state.`,
      condition: { type: 'trait', trait: 'benefit_price_sensitivity', op: 'eq', value: 'high' },
    }];
  },
};

function nz(v: number | undefined): number {
  return v === undefined || Number.isNaN(v) ? 0 : v;
}

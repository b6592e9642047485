/**
 * Buying behaviour (Assael's four types): involvement × perceived brand differences → complex (high,
 * high), dissonance-reducing (high, low), habitual (low, low) and variety-seeking (low, high). Neither
 * axis is observed directly, so each is read from behavioural proxies among the buyers of the window:
 * involvement from the research before buying (product views and searches per order, days from the
 * first visit to the first order, order value), brand differences from how many brands a customer
 * views and buys per category. Each axis is a mean of percentile ranks, split at its median (or a
 * configured percentile). docs/behavioural.md gives the proxies, their limits and the reasoning.
 */
import { z } from 'zod';
import { EventPath, type ComputedTraitDefinition } from '../segments/ast.js';
import { isoDaysBefore, type BehaviouralModel, type Classification, type Features, type TraitValue } from './model.js';
import { shareBelow } from './percentiles.js';

export const BUYING_STYLES = ['complex', 'dissonance-reducing', 'habitual', 'variety-seeking'] as const;
export type BuyingStyle = (typeof BUYING_STYLES)[number];

/**
 * Involvement measures (higher = more involved): `views` product views per order, `searches` searches
 * per order, `visits` page and screen views per order (a visits proxy: Segment has no session), `decision_days`
 * days from the first visit to the first order, `order_value` the average order value.
 */
export const INVOLVEMENT_MEASURES = ['views', 'searches', 'visits', 'decision_days', 'order_value'] as const;
/**
 * Brand-difference measures: the brand switching rate of the products bought (`brands_bought`) or
 * viewed (`brands_viewed`): of the products beyond the first in each category, the share that came with
 * another brand, (brands − categories) / (products − categories).
 */
export const BRAND_MEASURES = ['brands_bought', 'brands_viewed'] as const;
export type InvolvementMeasure = (typeof INVOLVEMENT_MEASURES)[number];
export type BrandMeasure = (typeof BRAND_MEASURES)[number];

const propertyName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, 'a property name (letters, digits and _)');
const distinct = (xs: string[]) => new Set(xs).size === xs.length;
const split = z.number().min(0.05).max(0.95);

export const BuyingConfig = z.strictObject({
  orderEvent: z.string().min(1).max(200).default('Order Completed'),
  viewEvent: z.string().min(1).max(200).default('Product Viewed'),
  searchEvent: z.string().min(1).max(200).default('Products Searched'),
  /** The order value (on the order event). */
  valuePath: EventPath.default('properties.revenue'),
  /** The product id, brand and category properties: `products.<name>` on orders, `properties.<name>` on views. */
  productProperty: propertyName.default('product_id'),
  brandProperty: propertyName.default('brand'),
  categoryProperty: propertyName.default('category'),
  /** Behaviour of the last N days (the first-visit-to-first-order days look at the whole history). */
  windowDays: z.number().int().min(1).max(36_500).default(365),
  /** Buyers: at least this many orders in the window (2: only customers whose brand switching can show). */
  minOrders: z.number().int().min(1).max(1000).default(1),
  involvement: z.array(z.enum(INVOLVEMENT_MEASURES)).min(1).default(['views', 'searches', 'decision_days', 'order_value'])
    .refine(distinct, { message: 'each involvement measure may appear once' }),
  brandDifferences: z.array(z.enum(BRAND_MEASURES)).min(1).default(['brands_bought', 'brands_viewed'])
    .refine(distinct, { message: 'each brand measure may appear once' }),
  /** High involvement: an involvement rank that beats at least this share of the buyers (0.5: the upper half). */
  involvementSplit: split.default(0.5),
  /** High brand differences: a brand rank that beats at least this share of the buyers. */
  brandSplit: split.default(0.5),
});
export type BuyingConfig = z.output<typeof BuyingConfig>;

/** The style of a buyer's two axes. */
export function buyingStyle(highInvolvement: boolean, highDifferences: boolean): BuyingStyle {
  if (highInvolvement) return highDifferences ? 'complex' : 'dissonance-reducing';
  return highDifferences ? 'variety-seeking' : 'habitual';
}

/** Raw per-buyer measures from the features (NaN: not measurable for this buyer). */
export interface BuyingMeasures {
  orders: number;
  views: number; searches: number; visits: number; decision_days: number; order_value: number;
  brands_bought: number; brands_viewed: number;
}

/** The measures of one profile from its feature values. */
export function buyingMeasures(v: {
  orders: number; views: number; searches: number; pages: number; screens: number; orderValue: number;
  firstSeenDays: number; firstOrderDays: number;
  productsBought: number; brandsBought: number; categoriesBought: number; productsViewed: number; brandsViewed: number; categoriesViewed: number;
}): BuyingMeasures {
  const o = v.orders;
  const per = (x: number) => (o > 0 ? (Number.isNaN(x) ? 0 : x) / o : NaN);
  return {
    orders: o,
    views: per(v.views), searches: per(v.searches), visits: per(v.pages + v.screens),
    decision_days: Number.isNaN(v.firstSeenDays) || Number.isNaN(v.firstOrderDays) ? NaN : Math.max(0, v.firstSeenDays - v.firstOrderDays),
    order_value: v.orderValue,
    brands_bought: switchingRate(v.productsBought, v.brandsBought, v.categoriesBought),
    brands_viewed: switchingRate(v.productsViewed, v.brandsViewed, v.categoriesViewed),
  };
}

/**
 * Of the products beyond the first in each category, the share with a brand not yet counted:
 * (brands − categories) / (products − categories), within [0, 1]. NaN when there is no second product
 * in any category (switching cannot show) or no brand data. Exact when each brand sells in one
 * category; a brand spanning categories makes it undercount. Products without a category count as
 * one category.
 */
export function switchingRate(products: number, brands: number, categories: number): number {
  const c = Math.max(categories, 1);
  if (!(brands > 0) || !(products > c)) return NaN;
  return Math.min(1, Math.max(0, (brands - c) / (products - c)));
}

/**
 * An axis score per buyer: the mean, over the axis's measures the buyer has, of the measure's
 * percentile rank among the buyers who have it; NaN when the buyer has none of them.
 */
export function axisScores(rows: ReadonlyArray<BuyingMeasures>, measures: ReadonlyArray<keyof BuyingMeasures>): Float64Array {
  const sum = new Float64Array(rows.length);
  const cnt = new Uint16Array(rows.length);
  for (const m of measures) {
    const have: number[] = [];
    rows.forEach((r, j) => { if (!Number.isNaN(r[m])) have.push(j); });
    const ranks = shareBelow(Float64Array.from(have, (j) => (rows[j] as BuyingMeasures)[m]));
    have.forEach((j, k) => { sum[j] = (sum[j] as number) + (ranks[k] as number); cnt[j] = (cnt[j] as number) + 1; });
  }
  return Float64Array.from(sum, (s, j) => ((cnt[j] as number) > 0 ? s / (cnt[j] as number) : NaN));
}

function median(xs: number[]): number | null {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  const v = s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  return Math.round(v * 100) / 100;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const FEATURE_KEYS = [
  'orders', 'views', 'searches', 'pages', 'screens', 'order_value', 'first_order_days', 'first_track_days', 'first_page_days', 'first_screen_days',
  'products_bought', 'brands_bought', 'categories_bought', 'products_viewed', 'brands_viewed', 'categories_viewed',
] as const;

export const buyingModel: BehaviouralModel<BuyingConfig> = {
  id: 'buying',
  name: 'Buying behaviour',
  description: 'Involvement (research before buying) × brand differences (brands viewed and bought per category): complex, dissonance-reducing, habitual, variety-seeking.',
  config: BuyingConfig,
  features(config, asOf): ComputedTraitDefinition[] {
    const window = { type: 'between' as const, from: isoDaysBefore(asOf, config.windowDays), to: new Date(asOf + 1).toISOString() };
    const order = { event: config.orderEvent, window };
    const view = { event: config.viewEvent, window };
    return [
      { key: 'orders', kind: 'count', ...order },
      { key: 'views', kind: 'count', ...view },
      { key: 'searches', kind: 'count', event: config.searchEvent, window },
      { key: 'pages', kind: 'count', event: '*', messageType: 'page', window },
      { key: 'screens', kind: 'count', event: '*', messageType: 'screen', window },
      { key: 'order_value', kind: 'avg', ...order, path: config.valuePath },
      { key: 'first_order_days', kind: 'days_since_first', event: config.orderEvent },
      { key: 'first_track_days', kind: 'days_since_first', event: '*' },
      { key: 'first_page_days', kind: 'days_since_first', event: '*', messageType: 'page' },
      { key: 'first_screen_days', kind: 'days_since_first', event: '*', messageType: 'screen' },
      { key: 'products_bought', kind: 'unique_count', ...order, path: `products.${config.productProperty}` },
      { key: 'brands_bought', kind: 'unique_count', ...order, path: `products.${config.brandProperty}` },
      { key: 'categories_bought', kind: 'unique_count', ...order, path: `products.${config.categoryProperty}` },
      { key: 'products_viewed', kind: 'unique_count', ...view, path: `properties.${config.productProperty}` },
      { key: 'brands_viewed', kind: 'unique_count', ...view, path: `properties.${config.brandProperty}` },
      { key: 'categories_viewed', kind: 'unique_count', ...view, path: `properties.${config.categoryProperty}` },
    ];
  },
  classify(features: Features, config: BuyingConfig): Classification {
    const c = Object.fromEntries(FEATURE_KEYS.map((k) => {
      const col = features.columns[k];
      if (!col) throw new Error(`buying behaviour needs the ${k} feature`);
      return [k, col];
    })) as Record<(typeof FEATURE_KEYS)[number], Float64Array>;
    const n = features.profileIds.length;
    const idx: number[] = [];
    const rows: BuyingMeasures[] = [];
    for (let i = 0; i < n; i++) {
      const orders = c.orders[i] as number;
      if (!(orders >= config.minOrders)) continue;
      // The first visit: the earliest of any track event, page or screen (days since: the largest).
      const seen = [c.first_track_days[i], c.first_page_days[i], c.first_screen_days[i]].filter((x): x is number => x !== undefined && !Number.isNaN(x));
      idx.push(i);
      rows.push(buyingMeasures({
        orders, views: c.views[i] as number, searches: c.searches[i] as number, pages: c.pages[i] as number, screens: c.screens[i] as number,
        orderValue: c.order_value[i] as number, firstSeenDays: seen.length ? Math.max(...seen) : NaN, firstOrderDays: c.first_order_days[i] as number,
        productsBought: c.products_bought[i] as number, brandsBought: c.brands_bought[i] as number, categoriesBought: c.categories_bought[i] as number,
        productsViewed: c.products_viewed[i] as number, brandsViewed: c.brands_viewed[i] as number, categoriesViewed: c.categories_viewed[i] as number,
      }));
    }
    const inv = axisScores(rows, config.involvement);
    const brand = axisScores(rows, config.brandDifferences);
    // Rank the axis scores among the buyers who have both, so each split cuts that population.
    const both: number[] = [];
    rows.forEach((_r, j) => { if (!Number.isNaN(inv[j] as number) && !Number.isNaN(brand[j] as number)) both.push(j); });
    const invRank = shareBelow(Float64Array.from(both, (j) => inv[j] as number));
    const brandRank = shareBelow(Float64Array.from(both, (j) => brand[j] as number));

    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    const counts: Record<string, number> = Object.fromEntries(BUYING_STYLES.map((s) => [s, 0]));
    const EPS = 1e-9;
    const byAxis: Record<'involvement' | 'brand', Record<'high' | 'low', BuyingMeasures[]>> = { involvement: { high: [], low: [] }, brand: { high: [], low: [] } };
    both.forEach((j, k) => {
      const m = rows[j] as BuyingMeasures;
      const ir = invRank[k] as number, br = brandRank[k] as number;
      const highInv = ir >= config.involvementSplit - EPS;
      const highBrand = br >= config.brandSplit - EPS;
      const style = buyingStyle(highInv, highBrand);
      counts[style] = (counts[style] ?? 0) + 1;
      byAxis.involvement[highInv ? 'high' : 'low'].push(m);
      byAxis.brand[highBrand ? 'high' : 'low'].push(m);
      const t: Record<string, TraitValue> = {
        buying_style: style,
        buying_involvement: highInv ? 'high' : 'low',
        buying_brand_differences: highBrand ? 'high' : 'low',
        buying_involvement_score: Math.floor(100 * ir + EPS),
        buying_brand_score: Math.floor(100 * br + EPS),
        buying_orders: m.orders,
        buying_views_per_order: round2(m.views),
        buying_searches_per_order: round2(m.searches),
        buying_visits_per_order: round2(m.visits),
      };
      if (!Number.isNaN(m.decision_days)) t['buying_decision_days'] = m.decision_days;
      if (!Number.isNaN(m.order_value)) t['buying_avg_order_value'] = round2(m.order_value);
      if (!Number.isNaN(m.brands_bought)) t['buying_brand_switching'] = round2(m.brands_bought);
      if (!Number.isNaN(m.brands_viewed)) t['buying_viewed_brand_switching'] = round2(m.brands_viewed);
      traits[idx[j] as number] = t;
    });
    // What each half of an axis looks like in units: the medians of its measures.
    const medians = (ms: ReadonlyArray<keyof BuyingMeasures>, side: BuyingMeasures[]) => Object.fromEntries(ms.map((k) => [k, median(side.map((r) => r[k]))]));
    return {
      traits,
      summary: {
        buyers: rows.length,
        classified: both.length,
        /** Buyers with no value on one axis (e.g. no brand on any product bought or viewed): no style. */
        unmeasurable: rows.length - both.length,
        styles: counts,
        grid: {
          highInvolvement: { highDifferences: counts['complex'], lowDifferences: counts['dissonance-reducing'] },
          lowInvolvement: { highDifferences: counts['variety-seeking'], lowDifferences: counts['habitual'] },
        },
        thresholds: {
          windowDays: config.windowDays, minOrders: config.minOrders,
          involvement: { measures: config.involvement, split: config.involvementSplit, medians: { high: medians(config.involvement, byAxis.involvement.high), low: medians(config.involvement, byAxis.involvement.low) } },
          brandDifferences: { measures: config.brandDifferences, split: config.brandSplit, medians: { high: medians(config.brandDifferences, byAxis.brand.high), low: medians(config.brandDifferences, byAxis.brand.low) } },
        },
      },
    };
  },
  traits: [
    { key: 'buying_style', description: 'complex, dissonance-reducing, habitual or variety-seeking.' },
    { key: 'buying_involvement', description: '"high" or "low" involvement (research before buying), split among the buyers.' },
    { key: 'buying_brand_differences', description: '"high" or "low" brand differences (brands viewed and bought per category).' },
    { key: 'buying_involvement_score', description: 'Share (0-100 %) of buyers this buyer is more involved than.' },
    { key: 'buying_brand_score', description: 'Share (0-100 %) of buyers this buyer explores more brands than.' },
    { key: 'buying_orders', description: 'Orders in the window (default the last 365 days).' },
    { key: 'buying_views_per_order', description: 'Product views per order in the window.' },
    { key: 'buying_searches_per_order', description: 'Searches per order in the window.' },
    { key: 'buying_visits_per_order', description: 'Page and screen views per order in the window.' },
    { key: 'buying_decision_days', description: 'Days from the first visit to the first order (whole history).' },
    { key: 'buying_avg_order_value', description: 'Average order value in the window.' },
    { key: 'buying_brand_switching', description: 'Brand switching of the products bought in the window: (brands − categories) / (products − categories), 0-1.' },
    { key: 'buying_viewed_brand_switching', description: 'The same for the products viewed in the window.' },
    { key: 'buying_previous_style', description: 'The style at the previous run (movement).' },
  ],
  groupTrait: 'buying_style',
  previousTrait: 'buying_previous_style',
  groups: () => [...BUYING_STYLES],
};

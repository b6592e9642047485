/**
 * The features statistical models are fitted on, built automatically from a workspace's events and
 * traits: purchase recency, frequency, value and coupon use (the RFM family that drives most customer
 * behaviour), engagement counts per chosen event, page views, tenure, breadth of categories, and any
 * profile traits named. Written as computed-trait definitions so the segment compiler evaluates them
 * as of any date in one shared scan (a training snapshot in the past, scoring today), then assembled
 * into numeric and categorical columns here. Pure: no I/O.
 */
import { z } from 'zod';
import type { ComputedTraitDefinition } from '../segments/ast.js';
import type { Matrix } from './types.js';

const DAY = 86_400_000;

export const FeatureSpecSchema = z.strictObject({
  /** Behaviour counted over the last N days before the snapshot. */
  windowDays: z.number().int().min(7).max(3650).default(365),
  /** The purchase event (Segment e-commerce spec name by default). */
  purchaseEvent: z.string().min(1).max(200).default('Order Completed'),
  /** Engagement events counted one feature each. */
  events: z.array(z.string().min(1).max(200)).max(30).default(['Product Viewed', 'Product Added', 'Checkout Started']),
  /** Count page and screen views too. */
  pages: z.boolean().default(true),
  /** Profile traits used as features: numeric ones as numbers, the others as categories. */
  traits: z.array(z.string().min(1).max(200)).max(50).default([]),
  /** Feature names left out (after building), e.g. to test a model without revenue. */
  exclude: z.array(z.string()).max(100).default([]),
});
export type FeatureSpec = z.infer<typeof FeatureSpecSchema>;

/** The computed traits behind the default features, as of `asOf`. */
export function featureDefinitions(spec: FeatureSpec, asOf: number): ComputedTraitDefinition[] {
  const window = { type: 'between' as const, from: new Date(asOf - spec.windowDays * DAY).toISOString(), to: new Date(asOf).toISOString() };
  const recent = { type: 'between' as const, from: new Date(asOf - 30 * DAY).toISOString(), to: new Date(asOf).toISOString() };
  const defs: ComputedTraitDefinition[] = [
    { key: 'f_purchase_recency', kind: 'days_since_last', event: spec.purchaseEvent },
    { key: 'f_orders', kind: 'count', event: spec.purchaseEvent, window },
    { key: 'f_revenue', kind: 'sum', event: spec.purchaseEvent, path: 'properties.revenue', window },
    { key: 'f_coupon_orders', kind: 'count', event: spec.purchaseEvent, where: [{ path: 'properties.coupon', op: 'exists' }], window },
    { key: 'f_categories', kind: 'unique_count', event: spec.purchaseEvent, path: 'products.category', window },
    { key: 'f_tenure', kind: 'days_since_first', event: '*' },
    { key: 'f_last_seen', kind: 'days_since_last', event: '*' },
    { key: 'f_events', kind: 'count', event: '*', window },
    { key: 'f_events_30d', kind: 'count', event: '*', window: recent },
  ];
  spec.events.forEach((event, i) => defs.push({ key: `f_event_${i}`, kind: 'count', event, window }));
  if (spec.pages) {
    defs.push({ key: 'f_pages', kind: 'count', event: '*', messageType: 'page', window });
    defs.push({ key: 'f_screens', kind: 'count', event: '*', messageType: 'screen', window });
  }
  return defs;
}

/** The feature names the definitions become (in order), before traits. */
export function featureNames(spec: FeatureSpec): string[] {
  const names = ['purchase_recency_days', 'orders', 'revenue', 'avg_order_value', 'coupon_share', 'categories', 'tenure_days', 'last_seen_days', 'events', 'events_30d'];
  spec.events.forEach((e) => names.push(`count_${slug(e)}`));
  if (spec.pages) names.push('page_views', 'screen_views');
  return names;
}

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 60) || 'x';
}

/** Raw columns as the compiler returns them (NaN = no value). */
export interface RawFeatures {
  rows: number;
  columns: Record<string, Float64Array>;
  /** Trait values per key: numbers where numeric, text otherwise. */
  traitNumbers?: ReadonlyMap<string, Float64Array>;
  traitTexts?: ReadonlyMap<string, ReadonlyArray<string | null>>;
}

export interface AssembledFeatures {
  numeric: Record<string, Float64Array>;
  categorical: Record<string, Array<string | null>>;
}

/**
 * From raw computed columns to model features. Counts and sums missing mean none (0); a profile that
 * never purchased gets the window length as its purchase recency (further than anyone in the window,
 * without an unbounded value); averages and shares over zero orders are 0. A trait is numeric when at
 * least 90 % of its present values are numbers, else categorical.
 */
export function assembleFeatures(spec: FeatureSpec, raw: RawFeatures): AssembledFeatures {
  const n = raw.rows;
  const col = (k: string): Float64Array => raw.columns[k] ?? new Float64Array(n).fill(NaN);
  const zeroed = (k: string): Float64Array => Float64Array.from(col(k), (v) => (Number.isNaN(v) ? 0 : v));
  const orders = zeroed('f_orders');
  const revenue = zeroed('f_revenue');
  const coupons = zeroed('f_coupon_orders');
  const recency = Float64Array.from(col('f_purchase_recency'), (v) => (Number.isNaN(v) ? spec.windowDays : Math.min(v, spec.windowDays)));
  const numeric: Record<string, Float64Array> = {
    purchase_recency_days: recency,
    orders,
    revenue,
    avg_order_value: Float64Array.from(orders, (o, i) => (o > 0 ? (revenue[i] as number) / o : 0)),
    coupon_share: Float64Array.from(orders, (o, i) => (o > 0 ? Math.min(1, (coupons[i] as number) / o) : 0)),
    categories: zeroed('f_categories'),
    tenure_days: zeroed('f_tenure'),
    last_seen_days: zeroed('f_last_seen'),
    events: zeroed('f_events'),
    events_30d: zeroed('f_events_30d'),
  };
  spec.events.forEach((e, i) => { numeric[`count_${slug(e)}`] = zeroed(`f_event_${i}`); });
  if (spec.pages) {
    numeric['page_views'] = zeroed('f_pages');
    numeric['screen_views'] = zeroed('f_screens');
  }
  const categorical: Record<string, Array<string | null>> = {};
  for (const key of spec.traits) {
    const nums = raw.traitNumbers?.get(key);
    const texts = raw.traitTexts?.get(key);
    let present = 0;
    let numbers = 0;
    for (let i = 0; i < n; i++) {
      if (texts?.[i] !== null && texts?.[i] !== undefined) {
        present++;
        if (!Number.isNaN(nums?.[i] ?? NaN)) numbers++;
      }
    }
    const name = `trait_${slug(key)}`;
    if (present > 0 && numbers >= 0.9 * present && nums) numeric[name] = nums;
    else categorical[name] = texts ? [...texts] : new Array<string | null>(n).fill(null);
  }
  for (const x of spec.exclude) {
    delete numeric[x];
    delete categorical[x];
  }
  return { numeric, categorical };
}

/** The given rows of assembled features, in that order (a population, a split, a sample). */
export function selectRows(f: AssembledFeatures, rows: ArrayLike<number>): AssembledFeatures {
  const numeric: Record<string, Float64Array> = {};
  for (const [k, c] of Object.entries(f.numeric)) numeric[k] = Float64Array.from(rows, (i) => c[i] as number);
  const categorical: Record<string, Array<string | null>> = {};
  for (const [k, c] of Object.entries(f.categorical)) categorical[k] = Array.from(rows, (i) => c[i] ?? null);
  return { numeric, categorical };
}

/** How assembled features become matrix columns: numeric names in order, and each category's levels. */
export interface DesignSpec {
  numeric: string[];
  categorical: Array<{ name: string; levels: string[] }>;
}

/**
 * The design of a classifier's matrix, fitted on training rows: numeric features as they are (trees do
 * not care about scale; the logistic regression standardises internally) and each categorical feature
 * one-hot over its `maxLevels` most frequent values (ties by value), missing and rare values all zero.
 */
export function fitDesign(f: AssembledFeatures, maxLevels = 20): DesignSpec {
  const categorical = Object.entries(f.categorical).map(([name, values]) => {
    const counts = new Map<string, number>();
    for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
    const levels = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, maxLevels).map(([v]) => v);
    return { name, levels };
  });
  return { numeric: Object.keys(f.numeric), categorical };
}

/** Column names of a design (`name=level` for one-hot columns). */
export function designNames(d: DesignSpec): string[] {
  return [...d.numeric, ...d.categorical.flatMap((c) => c.levels.map((l) => `${c.name}=${l}`))];
}

/** The matrix of a design over assembled features (optionally only some rows, in that order). */
export function designMatrix(d: DesignSpec, f: AssembledFeatures, rows?: ArrayLike<number>): { x: Matrix; names: string[] } {
  const names = designNames(d);
  const first = Object.values(f.numeric)[0] ?? Object.values(f.categorical)[0];
  const n = rows ? rows.length : first?.length ?? 0;
  const cols = names.length;
  const data = new Float64Array(n * cols);
  d.numeric.forEach((name, j) => {
    const col = f.numeric[name];
    for (let r = 0; r < n; r++) data[r * cols + j] = col ? (col[rows ? (rows[r] as number) : r] as number) : Number.NaN;
  });
  let j = d.numeric.length;
  for (const c of d.categorical) {
    const values = f.categorical[c.name];
    const at = new Map(c.levels.map((l, k) => [l, k]));
    for (let r = 0; r < n; r++) {
      const v = values?.[rows ? (rows[r] as number) : r];
      const k = v === null || v === undefined ? undefined : at.get(v);
      if (k !== undefined) data[r * cols + j + k] = 1;
    }
    j += c.levels.length;
  }
  return { x: { rows: n, cols, data }, names };
}

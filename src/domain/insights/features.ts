/**
 * What segment insights measure for every profile (docs/insights.md): the catalogue of per-profile
 * metrics (means), flags (shares), consent purposes and categorical dimensions, each with the population
 * it is measured on and the words the persona card uses; the rules that turn raw event fields into
 * channels and device classes; and the shape of the group statistics a storage engine returns.
 *
 * The engine computes these per profile in one pass over the events and hands back only sufficient
 * statistics per group (count, mean, standard deviation; counts per value), so the cost does not grow
 * with the number of features, and the statistics here never see a profile.
 */
import type { Moments } from './stats.js';

/** The profiles a feature is measured on (its denominator). */
export type Population = 'all' | 'active' | 'visitors' | 'buyers' | 'devices' | 'located';

export const POPULATIONS: Readonly<Record<Population, string>> = {
  all: 'all profiles',
  active: 'profiles with any event',
  visitors: 'profiles with a page view arriving from outside the site',
  buyers: 'profiles with an order',
  devices: 'profiles with events from a known device',
  located: 'profiles with a known country',
};

/** How a value is printed: counts and money as numbers, shares as percentages, days as days. */
export type Format = 'count' | 'money' | 'share' | 'days';

/**
 * Groups of related features. The persona card says one thing per theme (orders, revenue and repeat
 * buying tell one story; the card should not spend three sentences on it).
 */
export type Theme = 'volume' | 'value' | 'coupons' | 'timing' | 'daypart' | 'device' | 'engagement' | 'recency' | 'consent' | 'category' | 'brand' | 'channel' | 'country';

/**
 * Words of the card. `{v}` is replaced by the value of a dimension or the consent purpose. `noun` is
 * used in "2.4× the {noun} of the base"; `more` / `less` name the direction; `mostly` (shares only) is
 * used when the members' interval lies above 50 % and the base is not; `of` follows the member's number.
 */
export interface Words {
  noun: string;
  more: string;
  less: string;
  mostly?: string;
  of?: string;
  /** After both numbers: "(5.1 vs 2.1 per profile)". */
  unit?: string;
}

export interface MetricSpec {
  key: string;
  label: string;
  population: Population;
  format: Format;
  theme: Theme;
  words: Words;
}


/** Per-profile metrics; compared as means (Welch, Hedges' g). */
export const METRICS = [
  { key: 'orders', label: 'Orders per profile', population: 'all', format: 'count', theme: 'volume', words: { noun: 'orders', more: 'more orders', less: 'fewer orders', unit: 'per profile' } },
  { key: 'revenue', label: 'Revenue per profile', population: 'all', format: 'money', theme: 'volume', words: { noun: 'revenue', more: 'more revenue', less: 'less revenue', unit: 'per profile' } },
  { key: 'orders_per_year', label: 'Orders per year (buyers)', population: 'buyers', format: 'count', theme: 'volume', words: { noun: 'order frequency', more: 'order more often', less: 'order less often', unit: 'orders a year' } },
  { key: 'aov', label: 'Average order value (buyers)', population: 'buyers', format: 'money', theme: 'value', words: { noun: 'average order value', more: 'bigger orders', less: 'cheaper orders', unit: 'per order' } },
  { key: 'coupon_share', label: 'Share of orders with a coupon or discount (buyers)', population: 'buyers', format: 'share', theme: 'coupons', words: { noun: 'coupon use', more: 'more coupon use', less: 'less coupon use', mostly: 'mostly order with a coupon', of: 'of orders' } },
  { key: 'weekend_share', label: 'Share of activity on Saturdays and Sundays (UTC)', population: 'active', format: 'share', theme: 'timing', words: { noun: 'weekend activity', more: 'more active at weekends', less: 'less active at weekends', mostly: 'mostly active at weekends', of: 'of activity' } },
  { key: 'weekend_order_share', label: 'Share of orders on Saturdays and Sundays (buyers, UTC)', population: 'buyers', format: 'share', theme: 'timing', words: { noun: 'weekend buying', more: 'buy at weekends more', less: 'buy at weekends less', mostly: 'buy at weekends', of: 'of orders' } },
  { key: 'mobile_share', label: 'Share of device activity on a phone or tablet', population: 'devices', format: 'share', theme: 'device', words: { noun: 'mobile use', more: 'more mobile', less: 'less mobile', mostly: 'mostly mobile', of: 'of activity on phone or tablet' } },
  { key: 'events', label: 'Events (all tracked activity)', population: 'active', format: 'count', theme: 'engagement', words: { noun: 'activity', more: 'more activity', less: 'less activity', unit: 'events per profile' } },
  { key: 'product_views', label: 'Product views', population: 'active', format: 'count', theme: 'engagement', words: { noun: 'product views', more: 'more product views', less: 'fewer product views', unit: 'per profile' } },
  { key: 'recency_days', label: 'Days since the last activity', population: 'active', format: 'days', theme: 'recency', words: { noun: 'time since the last visit', more: 'longer since the last visit', less: 'more recently active', unit: 'days' } },
  { key: 'days_since_order', label: 'Days since the last order (buyers)', population: 'buyers', format: 'days', theme: 'recency', words: { noun: 'time since the last order', more: 'longer since the last order', less: 'ordered more recently', unit: 'days' } },
] as const satisfies readonly MetricSpec[];
export type MetricKey = (typeof METRICS)[number]['key'];

/** Per-profile yes / no features; compared as shares (Wilson, Newcombe, Cohen's h). */
export const FLAGS = [
  { key: 'buyer', label: 'Has ordered', population: 'all', format: 'share', theme: 'volume', words: { noun: 'share of buyers', more: 'more buyers', less: 'fewer buyers', mostly: 'mostly buyers', of: 'have ordered' } },
  { key: 'repeat_buyer', label: 'Ordered twice or more (buyers)', population: 'buyers', format: 'share', theme: 'volume', words: { noun: 'share of repeat buyers', more: 'more repeat buyers', less: 'fewer repeat buyers', mostly: 'mostly repeat buyers', of: 'of buyers ordered twice or more' } },
] as const satisfies readonly MetricSpec[];
export type FlagKey = (typeof FLAGS)[number]['key'];

/** Consent per purpose: the share of all profiles whose latest decision grants it (as `consent <purpose>`). */
export const CONSENT: Omit<MetricSpec, 'key'> = {
  label: 'Consent: {v}', population: 'all', format: 'share', theme: 'consent',
  words: { noun: '{v} reach', more: 'more reachable by {v}', less: 'less reachable by {v}', mostly: 'mostly reachable by {v}', of: 'consent to {v}' },
};

export interface DimensionSpec extends Omit<MetricSpec, 'key'> {
  key: string;
}

/**
 * Categorical features: each profile's main value (the category and brand in most of its orders, the
 * channel of most of its arrivals, its usual device and part of the day, its country), compared value
 * by value as the share of the population with that main value. One value per profile on purpose:
 * counting every category a profile ever bought would make any very active segment look "more into
 * everything" (volume, not taste).
 */
export const DIMENSIONS = [
  { key: 'category', label: 'Main category {v}', population: 'buyers', format: 'share', theme: 'category', words: { noun: 'preference for {v}', more: 'prefer {v}', less: 'buy less {v}', mostly: 'mostly buy {v}', of: 'mainly buy {v}' } },
  { key: 'brand', label: 'Main brand {v}', population: 'buyers', format: 'share', theme: 'brand', words: { noun: 'preference for {v}', more: 'prefer {v}', less: 'buy less {v}', mostly: 'mostly buy {v}', of: 'mainly buy {v}' } },
  { key: 'channel', label: 'Main channel {v}', population: 'visitors', format: 'share', theme: 'channel', words: { noun: 'arrivals through {v}', more: 'come through {v} more often', less: 'come through {v} less often', mostly: 'mostly come through {v}', of: 'mainly through {v}' } },
  { key: 'device', label: 'Main device {v}', population: 'devices', format: 'share', theme: 'device', words: { noun: 'use of {v}', more: 'more often on {v}', less: 'less often on {v}', mostly: 'mostly on {v}', of: 'mainly on {v}' } },
  { key: 'country', label: 'Country {v}', population: 'located', format: 'share', theme: 'country', words: { noun: 'share in {v}', more: 'more often in {v}', less: 'less often in {v}', mostly: 'mostly in {v}', of: 'in {v}' } },
  { key: 'daypart', label: 'Main part of the day {v} (UTC)', population: 'active', format: 'share', theme: 'daypart', words: { noun: 'activity in the {v}', more: 'more often active in the {v}', less: 'less often active in the {v}', mostly: 'mostly active in the {v}', of: 'mainly in the {v}' } },
] as const satisfies readonly DimensionSpec[];
export type DimensionKey = (typeof DIMENSIONS)[number]['key'];

/** Device classes of `device_type` (from the SDK's context.device.type or the parsed user agent). */
export type DeviceClass = 'mobile' | 'tablet' | 'desktop' | 'other';

/**
 * How raw fields become features. The defaults fit the Segment e-commerce spec; a shop with other
 * event names or channel conventions changes them here (docs/insights.md).
 */
export interface InsightRules {
  orderEvent: string;
  productViewEvent: string;
  /** A profile trait with the country (beats the country of the latest event). */
  countryTrait: string;
  /** device_type values (lower case) per class; anything else with a type is 'other'. */
  deviceTypes: { mobile: string[]; tablet: string[]; desktop: string[] };
  /** utm medium values (lower case) per channel; a campaign with another medium is 'other campaign'. */
  mediumChannels: Array<{ channel: string; mediums: string[] }>;
  /**
   * Referrer hosts (regular expressions, case-insensitive) of search engines and social networks; an
   * arrival from another host is 'referral', one without a referrer 'direct'.
   */
  searchHosts: string;
  socialHosts: string;
  /** Orders per year divide by the tenure, at least this many days (a new buyer's first week is no rate). */
  minTenureDays: number;
}

export const DEFAULT_INSIGHT_RULES: InsightRules = {
  orderEvent: 'Order Completed',
  productViewEvent: 'Product Viewed',
  countryTrait: 'country',
  deviceTypes: { mobile: ['mobile', 'ios', 'android', 'phone', 'smartphone'], tablet: ['tablet', 'ipad'], desktop: ['desktop'] },
  mediumChannels: [
    { channel: 'email', mediums: ['email', 'e-mail', 'newsletter'] },
    { channel: 'paid search', mediums: ['cpc', 'ppc', 'paid_search', 'paidsearch', 'sem'] },
    { channel: 'paid social', mediums: ['paid_social', 'paidsocial', 'social_paid', 'social-paid'] },
    { channel: 'social', mediums: ['social', 'social-network', 'social_network', 'social-media', 'sm', 'influencer'] },
    { channel: 'display', mediums: ['display', 'banner', 'cpm'] },
    { channel: 'affiliate', mediums: ['affiliate', 'partner'] },
    { channel: 'referral', mediums: ['referral'] },
  ],
  searchHosts: '(^|\\.)(google|bing|duckduckgo|yahoo|baidu|yandex|ecosia|qwant|startpage|search\\.brave)\\.',
  socialHosts: '(^|\\.)(facebook|fb|instagram|pinterest|twitter|x|t|linkedin|lnkd|tiktok|reddit|youtube|snapchat|threads|mastodon)\\.',
  minTenureDays: 90,
};

/** The channel names a profile can have besides those of `mediumChannels`. */
export const OTHER_CHANNELS = { campaign: 'other campaign', search: 'organic search', social: 'social', referral: 'referral', direct: 'direct' } as const;

/** What insights ask storage for. */
export interface InsightQuery {
  /** Events up to this time (epoch ms). */
  asOf: number;
  rules: InsightRules;
  /** Values per dimension: the most common overall and among the members. */
  topValues: number;
  /** Above this many active profiles, features come from a deterministic sample of about this many. */
  maxProfiles: number;
}

/** Sufficient statistics of one group of profiles (the members, or the rest of the base). */
export interface GroupStats {
  /** Exact sizes and totals of the group (never sampled). */
  profiles: number;
  orders: number;
  revenue: number;
  /** Share of the group whose features were read (1: all; see InsightQuery.maxProfiles). */
  sampleRate: number;
  populations: Record<Population, number>;
  metrics: Record<MetricKey, Moments>;
  /** Profiles with the flag (out of the flag's population). */
  flags: Record<FlagKey, number>;
  /** Purpose → profiles whose latest decision grants it. */
  consent: Map<string, number>;
  /** Dimension → value → profiles with that value (the most common values only). */
  values: Record<DimensionKey, Map<string, number>>;
}

/** What storage returns for a segment: its members and the rest of the active profiles. */
export interface InsightStats {
  members: GroupStats;
  rest: GroupStats;
}

/** Replace `{v}` in a label or phrase. */
export function fill(text: string, v: string | null): string {
  return v === null ? text : text.split('{v}').join(v);
}

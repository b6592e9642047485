/**
 * From a validated Segment message to the row segmenta stores: corrected time (raw times kept), the
 * canonical e-commerce event name, and the hot fields extracted into columns so that segments never
 * have to dig in JSON for revenue, products, page, campaign, device or location.
 */
import { isPlainObject, type JsonObject, type JsonValue } from './errors.js';
import { pick, type MessageType, type SegmentMessage } from './segment-message.js';
import { parseUserAgent } from './user-agent.js';

/** Segment e-commerce v1 names and their v2 equivalents (REFERENCES.md: "v1 names are aliases"). */
export const V1_EVENT_ALIASES: Readonly<Record<string, string>> = {
  'Viewed Product': 'Product Viewed',
  'Viewed Product Category': 'Product List Viewed',
  'Viewed Product Details': 'Product Viewed',
  'Added Product': 'Product Added',
  'Removed Product': 'Product Removed',
  'Viewed Cart': 'Cart Viewed',
  'Started Checkout': 'Checkout Started',
  'Started Order': 'Checkout Started',
  'Completed Order': 'Order Completed',
  'Completed Checkout Step': 'Checkout Step Completed',
  'Viewed Checkout Step': 'Checkout Step Viewed',
  'Refunded Order': 'Order Refunded',
  'Cancelled Order': 'Order Cancelled',
  'Updated Order': 'Order Updated',
  'Applied Coupon': 'Coupon Applied',
  'Denied Coupon': 'Coupon Denied',
  'Entered Coupon': 'Coupon Entered',
  'Removed Coupon': 'Coupon Removed',
  'Added Product to Wishlist': 'Product Added to Wishlist',
  'Removed Product from Wishlist': 'Product Removed from Wishlist',
  'Reviewed Product': 'Product Reviewed',
  'Searched Products': 'Products Searched',
  'Shared Product': 'Product Shared',
  'Clicked Product': 'Product Clicked',
};

export function canonicalEventName(event: string): string {
  return V1_EVENT_ALIASES[event] ?? event;
}

/** The stored form of one event. Times are epoch milliseconds. */
export interface EventRow {
  workspaceId: string;
  messageId: string;
  type: MessageType;
  event: string | null;
  eventOriginal: string | null;
  name: string | null;
  profileId: string;
  userId: string | null;
  anonymousId: string | null;
  groupId: string | null;
  previousId: string | null;
  timestamp: number;
  receivedAt: number;
  sentAt: number | null;
  originalTimestamp: number | null;
  source: string;
  properties: JsonObject;
  context: JsonObject;
  traits: JsonObject;
  integrations: JsonObject;
  revenue: number | null;
  total: number | null;
  orderId: string | null;
  currency: string | null;
  coupon: string | null;
  discount: number | null;
  quantity: number | null;
  productIds: string[];
  categories: string[];
  brands: string[];
  pageUrl: string | null;
  pagePath: string | null;
  referrer: string | null;
  campaignName: string | null;
  campaignSource: string | null;
  campaignMedium: string | null;
  campaignTerm: string | null;
  campaignContent: string | null;
  ip: string | null;
  userAgent: string | null;
  browser: string | null;
  browserVersion: string | null;
  os: string | null;
  osVersion: string | null;
  deviceType: string | null;
  deviceVendor: string | null;
  deviceModel: string | null;
  country: string | null;
  region: string | null;
  city: string | null;
  locale: string | null;
  timezone: string | null;
}

/**
 * Segment's clock-skew correction: `timestamp = receivedAt − (sentAt − originalTimestamp)`, where
 * `originalTimestamp = msg.originalTimestamp ?? msg.timestamp ?? receivedAt` and
 * `sentAt = msg.sentAt ?? envelope.sentAt ?? receivedAt` (the envelope's is merged in already).
 */
export function correctTime(msg: SegmentMessage, receivedAt: number): { timestamp: number; original: number; sentAt: number } {
  const original = msg.originalTimestamp !== undefined ? Date.parse(msg.originalTimestamp)
    : msg.timestamp !== undefined ? Date.parse(msg.timestamp) : receivedAt;
  const sentAt = msg.sentAt !== undefined ? Date.parse(msg.sentAt) : receivedAt;
  return { timestamp: receivedAt - (sentAt - original), original, sentAt };
}

function str(v: JsonValue | undefined): string | null {
  if (typeof v === 'string') return v === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

function num(v: JsonValue | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function pushUnique(list: string[], v: string | null): void {
  if (v !== null && !list.includes(v)) list.push(v);
}

export interface NormalizeOptions {
  workspaceId: string;
  profileId: string;
  messageId: string;
  receivedAt: number;
  source: string;
}

export function normalizeMessage(msg: SegmentMessage, opts: NormalizeOptions): EventRow {
  // A historical message (import) sent with `timestamp` and no `sentAt` keeps its timestamp: the
  // correction is then receivedAt − (receivedAt − timestamp).
  const { timestamp } = correctTime(msg, opts.receivedAt);
  const p = msg.properties;
  const c = msg.context;
  const event = msg.type === 'track' && msg.event !== undefined ? canonicalEventName(msg.event.trim()) : null;

  // Products: e-commerce v2 `products[]` on order/cart events, or the single product of a product event.
  const productIds: string[] = [];
  const categories: string[] = [];
  const brands: string[] = [];
  let quantity: number | null = null;
  const products = p['products'];
  if (Array.isArray(products)) {
    for (const item of products) {
      if (!isPlainObject(item)) continue;
      pushUnique(productIds, str(item['product_id']) ?? str(item['sku']) ?? str(item['id']));
      pushUnique(categories, str(item['category']));
      pushUnique(brands, str(item['brand']));
      const q = num(item['quantity']);
      quantity = (quantity ?? 0) + (q ?? 1);
    }
  } else {
    pushUnique(productIds, str(p['product_id']) ?? str(p['sku']));
    pushUnique(categories, str(p['category']));
    pushUnique(brands, str(p['brand']));
    quantity = num(p['quantity']);
  }

  const total = num(p['total']);
  const revenue = num(p['revenue']) ?? (event === 'Order Completed' ? total ?? num(p['value']) : null);

  const page = isPlainObject(c['page']) ? c['page'] : {};
  const isPage = msg.type === 'page';
  const campaign = isPlainObject(c['campaign']) ? c['campaign'] : {};
  const ua = str(c['userAgent']);
  const parsed = ua ? parseUserAgent(ua) : undefined;
  const os = isPlainObject(c['os']) ? c['os'] : {};
  const device = isPlainObject(c['device']) ? c['device'] : {};
  const location = isPlainObject(c['location']) ? c['location'] : {};
  const address = isPlainObject(msg.traits['address']) ? msg.traits['address']
    : isPlainObject(pick(c, 'traits', 'address')) ? (pick(c, 'traits', 'address') as JsonObject) : {};

  return {
    workspaceId: opts.workspaceId,
    messageId: opts.messageId,
    type: msg.type,
    event,
    eventOriginal: msg.type === 'track' ? msg.event ?? null : null,
    name: msg.name ?? null,
    profileId: opts.profileId,
    userId: msg.userId ?? null,
    anonymousId: msg.anonymousId ?? null,
    groupId: msg.groupId ?? null,
    previousId: msg.previousId ?? null,
    timestamp,
    receivedAt: opts.receivedAt,
    sentAt: msg.sentAt !== undefined ? Date.parse(msg.sentAt) : null,
    originalTimestamp: msg.originalTimestamp !== undefined ? Date.parse(msg.originalTimestamp)
      : msg.timestamp !== undefined ? Date.parse(msg.timestamp) : null,
    source: opts.source,
    properties: p,
    context: c,
    traits: msg.traits,
    integrations: msg.integrations,
    revenue,
    total,
    orderId: str(p['order_id']) ?? str(p['orderId']),
    currency: str(p['currency']),
    coupon: str(p['coupon']),
    discount: num(p['discount']),
    quantity,
    productIds,
    categories,
    brands,
    pageUrl: str(page['url']) ?? (isPage ? str(p['url']) : null),
    pagePath: str(page['path']) ?? (isPage ? str(p['path']) : null),
    referrer: str(page['referrer']) ?? (isPage ? str(p['referrer']) : null),
    campaignName: str(campaign['name']),
    campaignSource: str(campaign['source']),
    campaignMedium: str(campaign['medium']),
    campaignTerm: str(campaign['term']),
    campaignContent: str(campaign['content']),
    ip: str(c['ip']),
    userAgent: ua,
    browser: parsed?.browser ?? null,
    browserVersion: parsed?.browserVersion ?? null,
    // A mobile SDK reports its OS and device directly; they beat what a user agent suggests.
    os: str(os['name']) ?? parsed?.os ?? null,
    osVersion: str(os['version']) ?? parsed?.osVersion ?? null,
    deviceType: str(device['type']) ?? parsed?.deviceType ?? null,
    deviceVendor: str(device['manufacturer']) ?? parsed?.deviceVendor ?? null,
    deviceModel: str(device['model']) ?? parsed?.deviceModel ?? null,
    country: str(location['country']) ?? str(address['country']),
    region: str(location['region']) ?? str(address['state']) ?? str(address['region']),
    city: str(location['city']) ?? str(address['city']),
    locale: str(c['locale']),
    timezone: str(c['timezone']),
  };
}

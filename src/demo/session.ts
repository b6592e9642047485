/**
 * One customer's visits to the demo shop, as the messages a Segment client would send: page / screen
 * calls, the e-commerce v2 track events (Products Searched … Order Completed, Order Refunded, Product
 * Reviewed), the sign-up `identify`, each with a full `context` (ip, userAgent or device, locale,
 * timezone, location, consent, campaign, page, library).
 */
import { CAMPAIGNS, CATEGORIES, FIRST_NAMES, LAST_NAMES, localPrice, PRODUCTS_BY_CATEGORY, REFERRERS, SEARCH_TERMS, type DeviceKind, type Place, type Product } from './catalog.js';
import type { PersonaSpec } from './personas.js';
import { int, pick, weighted, type Rng } from './random.js';

export type Msg = Record<string, unknown> & { timestamp: string };

export const DAY = 86_400_000;
const SHOP = 'https://shop.segmenta.example';

export interface Device {
  anonymousId: string;
  kind: DeviceKind;
  userAgent: string;
  /** The native app (screen calls, context.device / os / app) rather than the web shop. */
  app: boolean;
}

export interface CustomerCtx {
  rng: Rng;
  /** Customer number, part of ids. */
  i: number;
  userId: string | undefined;
  identified: boolean;
  place: Place;
  ip: string;
  devices: Device[];
  /** E-mail consent holds before this time (−∞: never given, +∞: never withdrawn). */
  consentEmailUntil: number;
  advertising: boolean;
  /** The advertising preference flips once at this time (+∞: never). */
  advertisingFlipAt: number;
  persona: PersonaSpec;
  favorite: string;
  birthday: { year: number; month: number; day: number };
  messages: Msg[];
  orders: number;
}

export function iso(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

export function consent(c: CustomerCtx, at: number): Record<string, unknown> {
  const advertising = at < c.advertisingFlipAt ? c.advertising : !c.advertising;
  return { categoryPreferences: { Advertising: advertising, Analytics: true, Email: at < c.consentEmailUntil } };
}

function context(c: CustomerCtx, dev: Device, at: number, extra: Record<string, unknown>): Record<string, unknown> {
  const ctx: Record<string, unknown> = {
    ip: c.ip,
    locale: c.place.locale,
    timezone: c.place.timezone,
    location: { country: c.place.country, region: c.place.region, city: c.place.city },
    consent: consent(c, at),
    ...extra,
  };
  if (dev.app) {
    const ios = dev.userAgent.includes('iPhone') || dev.userAgent.includes('iPad');
    ctx['device'] = { id: `${dev.anonymousId}-device`, type: ios ? 'ios' : 'android', manufacturer: ios ? 'Apple' : 'Samsung', model: ios ? 'iPhone15,2' : 'SM-S911B' };
    ctx['os'] = { name: ios ? 'iOS' : 'Android', version: ios ? '17.4' : '14' };
    ctx['app'] = { name: 'Demo Shop', version: '4.2.0', build: '420' };
    ctx['library'] = { name: ios ? 'analytics-ios' : 'analytics-android', version: '4.1.8' };
  } else {
    ctx['userAgent'] = dev.userAgent;
    ctx['library'] = { name: 'analytics.js', version: '2.11.1' };
  }
  return ctx;
}

export function emit(c: CustomerCtx, dev: Device, at: number, msg: Record<string, unknown>, ctxExtra: Record<string, unknown> = {}): void {
  const m: Msg = { ...msg, anonymousId: dev.anonymousId, timestamp: iso(at), context: context(c, dev, at, ctxExtra) };
  if (c.identified && c.userId) m['userId'] = c.userId;
  c.messages.push(m);
}

function pickProduct(c: CustomerCtx): Product {
  const category = c.rng() < 0.6 ? c.favorite : pick(c.rng, CATEGORIES);
  const list = PRODUCTS_BY_CATEGORY[category] ?? [];
  // The list is cheapest first; priceTaste > 1 leans to expensive items, < 1 to cheap ones.
  const u = c.rng() ** (1 / c.persona.priceTaste);
  return list[Math.min(list.length - 1, Math.floor(u * list.length))] ?? pick(c.rng, list);
}

function productProps(c: CustomerCtx, p: Product, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { product_id: p.product_id, sku: p.sku, name: p.name, category: p.category, brand: p.brand, price: localPrice(p.price, c.place.currency), currency: c.place.currency, ...extra };
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

export function signupTraits(c: CustomerCtx, at: number): Record<string, unknown> {
  const rng = c.rng;
  const first = pick(rng, FIRST_NAMES);
  const last = pick(rng, LAST_NAMES);
  const { year, month, day } = c.birthday;
  const ascii = `${first}.${last}`.normalize('NFD').replace(/[^A-Za-z.]/g, '').toLowerCase();
  const traits: Record<string, unknown> = {
    email: `${ascii}.${c.i}@example.com`,
    first_name: first,
    last_name: last,
    birthday: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    address: { country: c.place.country, state: c.place.region, city: c.place.city },
    created_at: iso(at),
  };
  if (rng() < 0.6) traits['gender'] = pick(rng, ['female', 'male', 'female', 'male', 'diverse']);
  if (rng() < 0.4) traits['phone'] = `${c.place.phonePrefix} ${int(rng, 100, 999)} ${String(c.i % 10000).padStart(4, '0')}`;
  return traits;
}

export interface SessionPlan {
  purchase: boolean;
  /** Order attributed to this campaign id (the e-mail experiment's treated conversions). */
  campaignId?: string;
  /** A coupon offered for this order (e.g. the birthday coupon), used instead of the persona's habit. */
  coupon?: string;
}

/** Per-session page state: web sessions send `page` with `context.page`, app sessions `screen`. */
class Visit {
  t: number;
  private page: Record<string, unknown> | undefined;
  constructor(private readonly c: CustomerCtx, readonly dev: Device, start: number, private readonly campaign: Record<string, unknown> | undefined) {
    this.t = start;
  }
  step(): number {
    this.t += 15_000 + Math.floor(this.c.rng() * 90_000);
    return this.t;
  }
  view(name: string, path: string, title: string, props: Record<string, unknown> = {}, referrer?: string): void {
    const url = `${SHOP}${path}`;
    const extra: Record<string, unknown> = this.campaign ? { campaign: { ...this.campaign } } : {};
    if (this.dev.app) {
      emit(this.c, this.dev, this.t, { type: 'screen', name, properties: { ...props } }, extra);
      return;
    }
    const ref = referrer ?? String(this.page?.['url'] ?? '');
    this.page = { path, referrer: ref, search: '', title, url };
    emit(this.c, this.dev, this.t, { type: 'page', name, properties: { path, url, title, referrer: ref, ...props } }, { ...extra, page: { ...this.page } });
  }
  track(event: string, properties: Record<string, unknown>): void {
    const extra: Record<string, unknown> = this.campaign ? { campaign: { ...this.campaign } } : {};
    if (this.page) extra['page'] = { ...this.page };
    emit(this.c, this.dev, this.t, { type: 'track', event, properties }, extra);
  }
}

/** One visit; returns the time it ended. */
export function session(c: CustomerCtx, start: number, plan: SessionPlan): number {
  const rng = c.rng;
  const dev = rng() < c.persona.mobileShare ? (c.devices.find((d) => d.kind !== 'desktop') ?? c.devices[0]) : c.devices[0];
  if (!dev) return start;
  const utm = rng() < 0.22 ? pick(rng, CAMPAIGNS) : undefined;
  const v = new Visit(c, dev, start, utm ? { ...utm } : undefined);
  v.view('Home', '/', 'Demo Shop', {}, utm ? `https://${utm.source}.example/` : pick(rng, REFERRERS));

  if (rng() < 0.25) {
    v.step();
    v.track('Products Searched', { query: pick(rng, SEARCH_TERMS) });
  }
  if (rng() < (c.persona.weekendOnly ? 0.6 : 0.2)) {
    const category = rng() < 0.7 ? c.favorite : pick(rng, CATEGORIES);
    const list = (PRODUCTS_BY_CATEGORY[category] ?? []).slice(0, 6);
    v.step();
    v.view('Category', `/c/${slug(category)}`, `${category} | Demo Shop`, { category });
    v.track('Product List Viewed', { list_id: `list-${slug(category)}`, category, products: list.map((p, k) => productProps(c, p, { position: k + 1 })) });
  }
  const views = c.persona.weekendOnly ? int(rng, 2, 3) : int(rng, 1, 2);
  const viewed: Product[] = [];
  for (let k = 0; k < views; k++) {
    v.step();
    const p = pickProduct(c);
    viewed.push(p);
    v.view('Product', `/p/${p.product_id}`, `${p.name} | Demo Shop`, { product_id: p.product_id, category: p.category });
    v.track('Product Viewed', productProps(c, p));
  }
  const firstViewed = viewed[0];
  if (!plan.purchase) {
    if (firstViewed && rng() < 0.05) {
      v.step();
      v.track('Product Added to Wishlist', productProps(c, firstViewed, { wishlist_id: `wl-${c.i}`, wishlist_name: 'Favourites' }));
    }
    if (firstViewed && rng() < 0.14) {
      const cart = `cart-${c.i}-${Math.floor(v.t / 1000)}`;
      v.step();
      v.track('Product Added', productProps(c, firstViewed, { quantity: 1, cart_id: cart }));
      if (rng() < 0.3) {
        v.step();
        v.track('Product Removed', productProps(c, firstViewed, { quantity: 1, cart_id: cart }));
      } else if (rng() < 0.4) {
        v.step();
        v.view('Cart', '/cart', 'Your cart | Demo Shop');
        v.track('Cart Viewed', { cart_id: cart, products: [productProps(c, firstViewed, { quantity: 1 })] });
        v.step();
        v.track('Checkout Started', { value: localPrice(firstViewed.price, c.place.currency), currency: c.place.currency });
      }
    }
    return v.t;
  }

  const cart = `cart-${c.i}-${Math.floor(v.t / 1000)}`;
  const items = Math.max(1, Math.min(int(rng, 1, c.persona.itemsMax), viewed.length || 1));
  const basket: Array<{ p: Product; q: number }> = [];
  for (let k = 0; k < items; k++) {
    const p = viewed[k] ?? pickProduct(c);
    const q = rng() < 0.85 ? 1 : 2;
    basket.push({ p, q });
    v.step();
    v.track('Product Added', productProps(c, p, { quantity: q, cart_id: cart }));
  }
  if (rng() < 0.12) {
    const extra = pickProduct(c);
    v.step();
    v.track('Product Added', productProps(c, extra, { quantity: 1, cart_id: cart }));
    v.step();
    v.track('Product Removed', productProps(c, extra, { quantity: 1, cart_id: cart }));
  }
  const lines = basket.map(({ p, q }, k) => productProps(c, p, { quantity: q, position: k + 1 }));
  if (rng() < 0.5) {
    v.step();
    v.track('Cart Viewed', { cart_id: cart, products: lines });
  }
  if (!c.identified && c.userId) {
    v.step();
    identify(c, dev, v.t, signupTraits(c, v.t));
  }
  const currency = c.place.currency;
  const subtotal = round2(basket.reduce((s, { p, q }) => s + localPrice(p.price, currency) * q, 0));
  v.step();
  v.track('Checkout Started', { cart_id: cart, value: subtotal, currency, products: lines });
  let coupon: string | undefined;
  if (plan.coupon !== undefined) coupon = rng() < 0.6 ? plan.coupon : undefined;
  else if (rng() < c.persona.couponRate) coupon = pick(rng, ['WELCOME10', 'SAVE15', 'FRIENDS20', 'SEASON25']);
  let discount = 0;
  if (coupon !== undefined) {
    discount = round2(subtotal * (Number(coupon.replace(/\D/g, '')) / 100));
    v.step();
    v.track('Coupon Applied', { cart_id: cart, coupon_id: coupon, coupon_name: coupon, discount });
  }
  const revenue = round2(subtotal - discount);
  const shipping = revenue >= 50 ? 0 : currency === 'CHF' ? 7.9 : 5.9;
  const tax = round2(revenue * c.place.tax);
  c.orders++;
  const orderId = `demo-o-${c.i}-${c.orders}`;
  v.step();
  v.view('Order Confirmation', '/checkout/complete', 'Thank you | Demo Shop');
  v.track('Order Completed', {
    order_id: orderId, checkout_id: cart, affiliation: dev.app ? 'app' : 'web', subtotal, discount, shipping, tax, revenue,
    total: round2(revenue + shipping + tax), currency, ...(coupon !== undefined ? { coupon } : {}),
    ...(plan.campaignId !== undefined ? { campaign_id: plan.campaignId } : {}),
    products: lines,
  });
  // After the order: sometimes a review a week later, rarely a refund.
  const r = rng();
  const first = basket[0];
  if (first && r < 0.12) {
    const [lo, hi] = c.persona.satisfaction;
    emit(c, dev, v.t + int(rng, 5, 12) * DAY, { type: 'track', event: 'Product Reviewed', properties: { product_id: first.p.product_id, review_id: `rev-${orderId}`, rating: int(rng, lo, hi) } });
  } else if (r > 0.97) {
    emit(c, dev, v.t + int(rng, 3, 20) * DAY, { type: 'track', event: 'Order Refunded', properties: { order_id: orderId, total: round2(revenue + shipping + tax), currency, products: lines } });
  }
  return v.t;
}

export function identify(c: CustomerCtx, dev: Device, at: number, traits: Record<string, unknown>): void {
  c.identified = true;
  emit(c, dev, at, { type: 'identify', traits });
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Session start: the given day at an hour drawn from the persona's profile. */
export function atHour(dayStart: number, rng: Rng, hours: ReadonlyArray<readonly [number, number]>): number {
  const hour = weighted(rng, hours);
  return dayStart + hour * 3_600_000 + Math.floor(rng() * 3_600_000);
}

/** Shift a time to the Saturday or Sunday of the same week (−3 … +4 days). */
export function toWeekend(ms: number, rng: Rng): number {
  const dow = new Date(ms).getUTCDay();
  const toSat = (6 - dow + 7) % 7;
  return ms + (toSat + (rng() < 0.5 ? 0 : 1)) * DAY - (toSat > 3 ? 7 * DAY : 0);
}

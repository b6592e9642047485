/**
 * The demo shop: a seeded generator of raw Segment messages (what an SDK would send to `/v1/batch`)
 * for an e-commerce shop over a span of days, with planted structure that later features must recover:
 * behavioural personas, seasonal buyers, and a randomised e-mail campaign with a known true effect per
 * persona. Pure: no I/O; the same options give the same messages, byte for byte. Each customer draws
 * from its own random stream, so customer 17 is the same whatever the number of customers.
 *
 * The ground truth is documented in docs/demo-shop.md and returned at the end of the generator.
 */
import { BENEFITS, CAMPAIGNS, CATEGORIES, FIRST_NAMES, LAST_NAMES, PLACES, PRODUCTS_BY_CATEGORY, USER_AGENTS, type DeviceKind, type Place, type Product } from './catalog.js';
import { exponential, int, pick, stream, weighted, type Rng } from './random.js';

export interface DemoOptions {
  seed: number;
  customers: number;
  days: number;
  /** The last moment of history. */
  end: Date;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = { seed: 42, customers: 20_000, days: 730, end: new Date('2026-10-31T23:59:59Z') };

export const PERSONA_NAMES = ['champion', 'loyal_regular', 'bargain_hunter', 'weekend_browser', 'holiday_shopper', 'lapsed', 'new_customer', 'one_time_buyer'] as const;
export type PersonaName = (typeof PERSONA_NAMES)[number];

interface PersonaSpec {
  share: number;
  description: string;
  /** Mean days between organic orders while active (0: orders follow the persona's own rule). */
  orderEvery: number;
  /** Mean days between browsing-only sessions. */
  browseEvery: number;
  couponRate: number;
  /** Multiplies prices picked: < 1 prefers cheap products. */
  priceTaste: number;
  itemsMax: number;
  weekendOnly: boolean;
  mobileShare: number;
  /** Probability of an order within 14 days of the campaign e-mail without it, and the true added effect. */
  campaignBase: number;
  campaignEffect: number;
  satisfaction: [number, number];
}

export const PERSONAS: Readonly<Record<PersonaName, PersonaSpec>> = {
  champion: { share: 0.07, description: 'Buys often (every ~50 days), spends the most per order, active to the end of history; extra orders in the Black-Friday-to-Christmas season.', orderEvery: 50, browseEvery: 40, couponRate: 0.08, priceTaste: 1.6, itemsMax: 4, weekendOnly: false, mobileShare: 0.35, campaignBase: 0.3, campaignEffect: 0.01, satisfaction: [4, 5] },
  loyal_regular: { share: 0.18, description: 'Steady repeat buyer (every ~120 days), average basket, active to the end.', orderEvery: 120, browseEvery: 100, couponRate: 0.15, priceTaste: 1, itemsMax: 3, weekendOnly: false, mobileShare: 0.4, campaignBase: 0.1, campaignEffect: 0.03, satisfaction: [3, 5] },
  bargain_hunter: { share: 0.14, description: 'Uses a coupon on ~85 % of orders, prefers cheap products, orders every ~90 days.', orderEvery: 90, browseEvery: 70, couponRate: 0.85, priceTaste: 0.5, itemsMax: 3, weekendOnly: false, mobileShare: 0.5, campaignBase: 0.08, campaignEffect: 0.08, satisfaction: [2, 4] },
  weekend_browser: { share: 0.14, description: 'Many mobile sessions, only on Saturdays and Sundays, many product views, rarely buys (about once a year).', orderEvery: 365, browseEvery: 35, couponRate: 0.2, priceTaste: 0.9, itemsMax: 2, weekendOnly: true, mobileShare: 0.85, campaignBase: 0.03, campaignEffect: 0.03, satisfaction: [3, 4] },
  holiday_shopper: { share: 0.08, description: 'Buys only between 15 November and 23 December (1-3 orders a season), browses a little around it.', orderEvery: 0, browseEvery: 150, couponRate: 0.3, priceTaste: 1.2, itemsMax: 4, weekendOnly: false, mobileShare: 0.4, campaignBase: 0.02, campaignEffect: 0.02, satisfaction: [3, 5] },
  lapsed: { share: 0.14, description: 'Was a repeat buyer early on; no organic activity in the last 200+ days (only a campaign-driven order can appear later).', orderEvery: 90, browseEvery: 90, couponRate: 0.2, priceTaste: 1, itemsMax: 3, weekendOnly: false, mobileShare: 0.4, campaignBase: 0.02, campaignEffect: 0.04, satisfaction: [1, 3] },
  new_customer: { share: 0.07, description: 'First visit within the last 45 days, first order within the last 30 days.', orderEvery: 0, browseEvery: 8, couponRate: 0.3, priceTaste: 1, itemsMax: 3, weekendOnly: false, mobileShare: 0.5, campaignBase: 0.1, campaignEffect: 0.05, satisfaction: [3, 5] },
  one_time_buyer: { share: 0.18, description: 'Exactly one order, more than 120 days before the end, a few sessions around it.', orderEvery: 0, browseEvery: 150, couponRate: 0.3, priceTaste: 1, itemsMax: 2, weekendOnly: false, mobileShare: 0.5, campaignBase: 0.02, campaignEffect: 0.02, satisfaction: [1, 4] },
};

/** The randomised e-mail campaign near the end of history. */
export const CAMPAIGN = {
  id: 'cmp-autumn-offer',
  name: 'Autumn offer',
  /** Days before the end of history when the e-mail is sent. */
  sentDaysBeforeEnd: 60,
  windowDays: 14,
  treatmentShare: 0.5,
} as const;

export interface DemoCustomerTruth {
  userId: string;
  persona: PersonaName;
  /** Consented to e-mail and known before the send: randomised into the campaign. */
  eligible: boolean;
  treated: boolean;
  /** Ordered within the campaign window (the outcome of the experiment). */
  converted: boolean;
  orders: number;
  firstSeen: string;
  favoriteCategory: string;
}

export interface DemoGroundTruth {
  options: { seed: number; customers: number; days: number; end: string };
  personas: Record<PersonaName, { count: number; description: string }>;
  campaign: {
    id: string;
    name: string;
    sentAt: string;
    windowDays: number;
    treatmentShare: number;
    baseRateByPersona: Record<PersonaName, number>;
    trueEffectByPersona: Record<PersonaName, number>;
  };
  customers: DemoCustomerTruth[];
  anonymousVisitors: number;
  totals: { messages: number; orders: number };
}

type Msg = Record<string, unknown> & { timestamp: string };

const DAY = 86_400_000;
const BATCH_MESSAGES = 300;

interface Device {
  anonymousId: string;
  kind: DeviceKind;
  userAgent: string;
  app: boolean;
}

interface CustomerCtx {
  rng: Rng;
  i: number;
  userId: string | undefined;
  identified: boolean;
  place: Place;
  ip: string;
  devices: Device[];
  consentEmailUntil: number;
  advertising: boolean;
  persona: PersonaSpec;
  favorite: string;
  messages: Msg[];
  orders: number;
}

function iso(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

/** Shift a time to Saturday or Sunday of the same week (for weekend-only personas). */
function toWeekend(ms: number, rng: Rng): number {
  const d = new Date(ms);
  const dow = d.getUTCDay();
  const toSat = (6 - dow + 7) % 7;
  return ms + (toSat + (rng() < 0.5 ? 0 : 1)) * DAY - (toSat > 3 ? 7 * DAY : 0);
}

/** Hour of day: evenings for most people, some lunchtime. */
function atHour(dayStart: number, rng: Rng): number {
  const hour = weighted(rng, [[8, 1], [12, 2], [13, 2], [17, 2], [19, 4], [20, 5], [21, 4], [22, 2]] as const);
  return dayStart + hour * 3_600_000 + Math.floor(rng() * 3_600_000);
}

function context(c: CustomerCtx, dev: Device, at: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ctx: Record<string, unknown> = {
    ip: c.ip,
    locale: c.place.locale,
    timezone: c.place.timezone,
    location: { country: c.place.country, region: c.place.region, city: c.place.city },
    consent: { categoryPreferences: { Analytics: true, Advertising: c.advertising, Email: at < c.consentEmailUntil } },
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

function emit(c: CustomerCtx, dev: Device, at: number, msg: Record<string, unknown>, ctxExtra?: Record<string, unknown>): void {
  const m: Msg = { ...msg, anonymousId: dev.anonymousId, timestamp: iso(at), context: context(c, dev, at, ctxExtra) };
  if (c.identified && c.userId) m['userId'] = c.userId;
  c.messages.push(m);
}

function pickProduct(c: CustomerCtx): Product {
  const category = c.rng() < 0.6 ? c.favorite : pick(c.rng, CATEGORIES);
  const list = PRODUCTS_BY_CATEGORY[category] ?? [];
  // priceTaste > 1 leans to expensive items, < 1 to cheap ones.
  const sorted = [...list].sort((a, b) => a.price - b.price);
  const u = c.rng() ** (1 / c.persona.priceTaste);
  return sorted[Math.min(sorted.length - 1, Math.floor(u * sorted.length))] ?? pick(c.rng, list);
}

function productProps(p: Product, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { product_id: p.product_id, sku: p.sku, name: p.name, category: p.category, brand: p.brand, price: p.price, currency: 'EUR', ...extra };
}

function identify(c: CustomerCtx, dev: Device, at: number, traits: Record<string, unknown>): void {
  c.identified = true;
  emit(c, dev, at, { type: 'identify', traits });
}

/** One visit; returns the time it ended. */
function session(c: CustomerCtx, start: number, purchase: boolean, tag?: string): number {
  const rng = c.rng;
  const dev = rng() < c.persona.mobileShare ? (c.devices.find((d) => d.kind !== 'desktop') ?? c.devices[0]) : c.devices[0];
  if (!dev) return start;
  let t = start;
  const campaign = rng() < 0.22 ? pick(rng, CAMPAIGNS) : undefined;
  const extra = campaign ? { campaign: { ...campaign } } : {};
  const step = () => (t += 15_000 + Math.floor(rng() * 90_000));
  if (dev.app) emit(c, dev, t, { type: 'screen', name: 'Home' }, extra);
  else emit(c, dev, t, { type: 'page', name: 'Home', properties: { path: '/', url: 'https://shop.example/', title: 'Demo Shop', referrer: campaign ? `https://${campaign.source}.example/` : '' } }, { ...extra, page: { path: '/', url: 'https://shop.example/', title: 'Demo Shop', referrer: campaign ? `https://${campaign.source}.example/` : '' } });
  if (rng() < 0.25) {
    step();
    emit(c, dev, t, { type: 'track', event: 'Products Searched', properties: { query: pick(rng, ['shoes', 'jacket', 'gift', 'lamp', 'headphones', 'tent', 'puzzle']) } });
  }
  const views = c.persona.weekendOnly ? int(rng, 2, 5) : int(rng, 1, 3);
  const viewed: Product[] = [];
  for (let v = 0; v < views; v++) {
    step();
    const p = pickProduct(c);
    viewed.push(p);
    emit(c, dev, t, { type: 'track', event: 'Product Viewed', properties: productProps(p) }, { page: { path: `/p/${p.product_id}`, url: `https://shop.example/p/${p.product_id}`, title: p.name } });
  }
  if (!purchase) {
    if (rng() < 0.05 && viewed[0]) {
      step();
      emit(c, dev, t, { type: 'track', event: 'Product Added to Wishlist', properties: productProps(viewed[0]) });
    }
    if (rng() < 0.14 && viewed[0]) {
      step();
      emit(c, dev, t, { type: 'track', event: 'Product Added', properties: productProps(viewed[0], { quantity: 1, cart_id: `cart-${c.i}-${t}` }) });
      if (rng() < 0.4) {
        step();
        emit(c, dev, t, { type: 'track', event: 'Checkout Started', properties: { value: viewed[0].price, currency: 'EUR' } });
      }
    }
    return t;
  }
  const items = Math.max(1, Math.min(int(rng, 1, c.persona.itemsMax), viewed.length || 1));
  const basket: Array<{ p: Product; q: number }> = [];
  for (let k = 0; k < items; k++) {
    const p = viewed[k] ?? pickProduct(c);
    const q = rng() < 0.85 ? 1 : 2;
    basket.push({ p, q });
    step();
    emit(c, dev, t, { type: 'track', event: 'Product Added', properties: productProps(p, { quantity: q }) });
  }
  if (rng() < 0.5) {
    step();
    emit(c, dev, t, { type: 'track', event: 'Cart Viewed', properties: { products: basket.map(({ p, q }) => productProps(p, { quantity: q })) } });
  }
  if (!c.identified && c.userId) {
    step();
    identify(c, dev, t, signupTraits(c, t));
  }
  const subtotal = Math.round(basket.reduce((s, { p, q }) => s + p.price * q, 0) * 100) / 100;
  step();
  emit(c, dev, t, { type: 'track', event: 'Checkout Started', properties: { value: subtotal, currency: 'EUR' } });
  let coupon: string | undefined;
  let discount = 0;
  if (rng() < c.persona.couponRate) {
    coupon = pick(rng, ['WELCOME10', 'SAVE15', 'FRIENDS20', 'SEASON25']);
    discount = Math.round(subtotal * (Number(coupon.replace(/\D/g, '')) / 100) * 100) / 100;
    step();
    emit(c, dev, t, { type: 'track', event: 'Coupon Applied', properties: { coupon_id: coupon, coupon_name: coupon, discount } });
  }
  const shipping = subtotal - discount >= 50 ? 0 : 5.9;
  const tax = Math.round((subtotal - discount) * 0.077 * 100) / 100;
  const revenue = Math.round((subtotal - discount) * 100) / 100;
  const orderId = `demo-o-${c.i}-${c.orders + 1}`;
  c.orders++;
  step();
  emit(c, dev, t, {
    type: 'track', event: 'Order Completed',
    properties: {
      order_id: orderId, affiliation: dev.app ? 'app' : 'web', subtotal, discount, shipping, tax, revenue,
      total: Math.round((revenue + shipping + tax) * 100) / 100, currency: 'EUR', ...(coupon ? { coupon } : {}),
      ...(tag ? { campaign_id: tag } : {}),
      products: basket.map(({ p, q }, k) => ({ product_id: p.product_id, sku: p.sku, name: p.name, category: p.category, brand: p.brand, price: p.price, quantity: q, position: k + 1 })),
    },
  });
  // After the order: sometimes a review a week later, rarely a refund.
  const r = rng();
  const first = basket[0];
  if (first && r < 0.12) {
    const [lo, hi] = c.persona.satisfaction;
    emit(c, dev, t + int(rng, 5, 12) * DAY, { type: 'track', event: 'Product Reviewed', properties: { product_id: first.p.product_id, review_id: `rev-${orderId}`, rating: int(rng, lo, hi) } });
  } else if (r > 0.97) {
    emit(c, dev, t + int(rng, 3, 20) * DAY, { type: 'track', event: 'Order Refunded', properties: { order_id: orderId, total: revenue, currency: 'EUR' } });
  }
  return t;
}

function signupTraits(c: CustomerCtx, at: number): Record<string, unknown> {
  const rng = c.rng;
  const first = pick(rng, FIRST_NAMES);
  const last = pick(rng, LAST_NAMES);
  const year = int(rng, 1952, 2006);
  const month = int(rng, 1, 12);
  const day = int(rng, 1, 28);
  const traits: Record<string, unknown> = {
    email: `${first}.${last}.${c.i}@example.com`.toLowerCase().replace(/[^a-z0-9.@]/g, ''),
    first_name: first,
    last_name: last,
    birthday: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    address: { country: c.place.country, state: c.place.region, city: c.place.city },
    created_at: iso(at),
  };
  if (rng() < 0.6) traits['gender'] = pick(rng, ['female', 'male', 'female', 'male', 'diverse']);
  if (rng() < 0.4) traits['phone'] = `+41 79 ${int(rng, 100, 999)} ${String(c.i % 10000).padStart(4, '0')}`;
  return traits;
}

function activeDays(rng: Rng, persona: PersonaName, start: number, end: number): { join: number; until: number } {
  const span = end - start;
  switch (persona) {
    case 'new_customer': return { join: end - int(rng, 20, 45) * DAY, until: end };
    case 'lapsed': {
      const join = start + rng() * 0.35 * span;
      return { join, until: Math.max(join + 40 * DAY, Math.min(end - 200 * DAY - rng() * 150 * DAY, end - 200 * DAY)) };
    }
    case 'one_time_buyer': return { join: start + rng() * Math.max(span - 150 * DAY, DAY), until: end };
    case 'champion': return { join: start + rng() * 0.4 * span, until: end };
    // Early enough that at least one full holiday season lies ahead.
    case 'holiday_shopper': return { join: start + rng() * Math.max(span - 400 * DAY, DAY), until: end };
    default: return { join: start + rng() * 0.7 * span, until: end };
  }
}

/** Organic order times of one customer (before the campaign adjustment). */
function orderTimes(persona: PersonaName, spec: PersonaSpec, rng: Rng, join: number, until: number, end: number): number[] {
  const out: number[] = [];
  if (persona === 'one_time_buyer') return [Math.min(join + rng() * 10 * DAY, end - 121 * DAY)];
  if (persona === 'new_customer') {
    const first = end - int(rng, 1, 29) * DAY;
    out.push(Math.max(first, join + DAY));
    if (rng() < 0.3) out.push(Math.min(end - 0.5 * DAY, first + int(rng, 3, 20) * DAY));
    return out;
  }
  if (persona === 'holiday_shopper') {
    for (let y = new Date(join).getUTCFullYear(); y <= new Date(end).getUTCFullYear(); y++) {
      const s = Date.UTC(y, 10, 15);
      const n = int(rng, 1, 3);
      for (let k = 0; k < n; k++) {
        const t = s + rng() * 38 * DAY;
        if (t > join && t < until) out.push(t);
      }
    }
    return out;
  }
  let t = join + rng() * 5 * DAY;
  while (t < until) {
    out.push(t);
    t += exponential(rng, spec.orderEvery * DAY);
  }
  if (persona === 'champion') {
    for (let y = new Date(join).getUTCFullYear(); y <= new Date(end).getUTCFullYear(); y++) {
      const s = Date.UTC(y, 10, 24);
      if (s > join && s < until) out.push(s + rng() * 28 * DAY);
    }
  }
  return out;
}

function generateCustomer(opts: DemoOptions, i: number, truth: DemoCustomerTruth[]): Msg[] {
  const rng = stream(opts.seed, `customer:${i}`);
  const end = opts.end.getTime();
  const start = end - opts.days * DAY;
  const persona = weighted(rng, PERSONA_NAMES.map((p) => [p, PERSONAS[p].share] as const));
  const spec = PERSONAS[persona];
  const place = weighted(rng, PLACES.map((p) => [p, p.weight] as const));
  const nDevices = weighted(rng, [[1, 5], [2, 4], [3, 1]] as const);
  const devices: Device[] = [];
  for (let d = 0; d < nDevices; d++) {
    const kind: DeviceKind = d === 0 ? (rng() < spec.mobileShare ? 'mobile' : 'desktop') : weighted(rng, [['mobile', 5], ['desktop', 3], ['tablet', 2]] as const);
    devices.push({ anonymousId: `demo-anon-${i}-${d}`, kind, userAgent: pick(rng, USER_AGENTS[kind]), app: kind === 'mobile' && rng() < 0.25 });
  }
  const { join, until } = activeDays(rng, persona, start, end);
  const emailConsent = rng() < 0.7;
  const c: CustomerCtx = {
    rng, i, userId: `demo-user-${i}`, identified: false, place,
    ip: `${int(rng, 31, 223)}.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
    devices, advertising: rng() < 0.6,
    consentEmailUntil: emailConsent ? (rng() < 0.1 ? join + rng() * (end - join) : Infinity) : -Infinity,
    persona: spec, favorite: pick(rng, CATEGORIES), messages: [], orders: 0,
  };

  // The campaign: eligible customers are known before the send and consented to e-mail then.
  const sentAt = end - CAMPAIGN.sentDaysBeforeEnd * DAY + 9 * 3_600_000;
  const windowEnd = sentAt + CAMPAIGN.windowDays * DAY;
  const crng = stream(opts.seed, `campaign:${i}`);
  const eligible = join < sentAt - 7 * DAY && sentAt < c.consentEmailUntil;
  const treated = eligible && crng() < CAMPAIGN.treatmentShare;
  const converted = eligible && crng() < spec.campaignBase + (treated ? spec.campaignEffect : 0);

  let orders = orderTimes(persona, spec, rng, join, until, end).filter((t) => t < end - 3_600_000);
  // Inside the campaign window the outcome is decided by the experiment alone, so the true effect is exact.
  if (eligible) orders = orders.filter((t) => t < sentAt || t >= windowEnd);
  if (converted) orders.push(sentAt + (0.2 + crng() * (CAMPAIGN.windowDays - 0.5)) * DAY);
  orders.sort((a, b) => a - b);

  // Browsing sessions between join and until.
  const browses: number[] = [];
  for (let t = join + exponential(rng, spec.browseEvery * DAY); t < until; t += exponential(rng, spec.browseEvery * DAY)) browses.push(t);
  // Customers in the campaign signed up (gave their e-mail) at their first visit, before the send.
  if (eligible) browses.push(join);

  const sessions = [...orders.map((t) => ({ t, purchase: true })), ...browses.map((t) => ({ t, purchase: false }))].sort((a, b) => a.t - b.t);
  // An account is created at the first order, or already at the first visit for some.
  let signupAt = (eligible || rng() < 0.35) && sessions[0] ? sessions[0].t : undefined;
  for (const s of sessions) {
    let at = s.t;
    if (spec.weekendOnly) at = toWeekend(at, rng);
    at = atHour(Math.floor(at / DAY) * DAY, rng);
    if (at >= end) at = end - 3_600_000;
    if (signupAt !== undefined && !c.identified && at >= signupAt) {
      const dev = c.devices[0];
      if (dev) identify(c, dev, at - 60_000, signupTraits(c, at - 60_000));
      signupAt = undefined;
    }
    const isCampaignOrder = s.purchase && eligible && converted && s.t >= sentAt && s.t < windowEnd;
    session(c, at, s.purchase, isCampaignOrder && treated ? CAMPAIGN.id : undefined);
  }

  // Survey answers (satisfaction, NPS, benefit sought) from ~55 % of identified customers.
  const first = c.devices[0];
  if (first && c.identified && rng() < 0.55 && orders[0] !== undefined) {
    const [lo, hi] = spec.satisfaction;
    const sat = int(rng, lo, hi);
    const nps = Math.max(0, Math.min(10, sat * 2 + int(rng, -2, 1)));
    const benefit = persona === 'bargain_hunter' ? 'price' : persona === 'champion' ? pick(rng, ['quality', 'style']) : pick(rng, BENEFITS);
    const at = Math.min(orders[0] + int(rng, 10, 40) * DAY, end - DAY);
    c.messages.push({ type: 'identify', userId: c.userId, anonymousId: first.anonymousId, timestamp: iso(at), traits: { satisfaction: sat, nps, benefit_sought: benefit }, context: context(c, first, at) });
  }
  // The campaign e-mail (treated only), opens and clicks.
  if (treated && first && c.identified) {
    const props = { campaign_id: CAMPAIGN.id, campaign_name: CAMPAIGN.name, email_subject: 'Your autumn offer: 20 % off' };
    c.messages.push({ type: 'track', event: 'Email Delivered', userId: c.userId, anonymousId: first.anonymousId, timestamp: iso(sentAt), properties: props, context: { library: { name: 'segmenta-demo-esp', version: '1' } } });
    if (crng() < 0.35) c.messages.push({ type: 'track', event: 'Email Opened', userId: c.userId, anonymousId: first.anonymousId, timestamp: iso(sentAt + crng() * 2 * DAY), properties: props, context: { library: { name: 'segmenta-demo-esp', version: '1' } } });
  }

  // Reviews, refunds and late sessions can fall past the end of history: history ends there.
  c.messages = c.messages.filter((m) => Date.parse(m.timestamp) <= end);
  c.messages.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  let k = 0;
  for (const m of c.messages) m['messageId'] = `demo-${opts.seed}-${i}-${k++}`;
  const orderCount = c.messages.filter((m) => m['event'] === 'Order Completed').length;
  const convertedInWindow = c.messages.some((m) => m['event'] === 'Order Completed' && Date.parse(m.timestamp) >= sentAt && Date.parse(m.timestamp) < windowEnd);
  truth.push({
    userId: c.identified ? `demo-user-${i}` : `demo-anon-${i}-0`, persona, eligible: eligible && c.identified, treated: treated && c.identified,
    converted: convertedInWindow, orders: orderCount, firstSeen: iso(join), favoriteCategory: c.favorite,
  });
  return c.messages;
}

/** Visitors who never identify: a few anonymous sessions. */
function generateVisitor(opts: DemoOptions, i: number): Msg[] {
  const rng = stream(opts.seed, `visitor:${i}`);
  const end = opts.end.getTime();
  const kind: DeviceKind = rng() < 0.6 ? 'mobile' : 'desktop';
  const c: CustomerCtx = {
    rng, i, userId: undefined, identified: false, place: weighted(rng, PLACES.map((p) => [p, p.weight] as const)),
    ip: `${int(rng, 31, 223)}.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
    devices: [{ anonymousId: `demo-visitor-${i}`, kind, userAgent: pick(rng, USER_AGENTS[kind]), app: false }],
    advertising: rng() < 0.5, consentEmailUntil: -Infinity, persona: PERSONAS.weekend_browser, favorite: pick(rng, CATEGORIES), messages: [], orders: 0,
  };
  const n = int(rng, 1, 3);
  const t0 = end - rng() * opts.days * DAY;
  for (let s = 0; s < n; s++) session(c, atHour(Math.floor((t0 + s * int(rng, 1, 20) * DAY) / DAY) * DAY, rng), false);
  c.messages = c.messages.filter((m) => Date.parse(m.timestamp) < end);
  let k = 0;
  for (const m of c.messages) m['messageId'] = `demo-${opts.seed}-v${i}-${k++}`;
  return c.messages;
}

/**
 * Yields batches of at most 300 messages (a batch stays well under the 500 KB request limit), customer
 * after customer, each customer's messages in time order; returns the ground truth at the end.
 */
export function* generateDemoShop(opts: DemoOptions): Generator<Record<string, unknown>[], DemoGroundTruth> {
  const truth: DemoCustomerTruth[] = [];
  let batch: Record<string, unknown>[] = [];
  let messages = 0;
  let visitors = 0;
  for (let i = 1; i <= opts.customers; i++) {
    const parts = [generateCustomer(opts, i, truth)];
    if (stream(opts.seed, `visitor?:${i}`)() < 0.15) {
      parts.push(generateVisitor(opts, i));
      visitors++;
    }
    for (const list of parts) {
      for (const m of list) {
        batch.push(m);
        messages++;
        if (batch.length >= BATCH_MESSAGES) {
          yield batch;
          batch = [];
        }
      }
    }
  }
  if (batch.length) yield batch;
  const personas = Object.fromEntries(PERSONA_NAMES.map((p) => [p, { count: truth.filter((t) => t.persona === p).length, description: PERSONAS[p].description }])) as Record<PersonaName, { count: number; description: string }>;
  return {
    options: { seed: opts.seed, customers: opts.customers, days: opts.days, end: opts.end.toISOString() },
    personas,
    campaign: {
      id: CAMPAIGN.id, name: CAMPAIGN.name, sentAt: iso(opts.end.getTime() - CAMPAIGN.sentDaysBeforeEnd * DAY + 9 * 3_600_000),
      windowDays: CAMPAIGN.windowDays, treatmentShare: CAMPAIGN.treatmentShare,
      baseRateByPersona: Object.fromEntries(PERSONA_NAMES.map((p) => [p, PERSONAS[p].campaignBase])) as Record<PersonaName, number>,
      trueEffectByPersona: Object.fromEntries(PERSONA_NAMES.map((p) => [p, PERSONAS[p].campaignEffect])) as Record<PersonaName, number>,
    },
    customers: truth,
    anonymousVisitors: visitors,
    totals: { messages, orders: truth.reduce((s, t) => s + t.orders, 0) },
  };
}

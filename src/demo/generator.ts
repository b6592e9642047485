/**
 * The demo shop: a seeded generator of raw Segment messages (what an SDK would send to `/v1/batch`)
 * for an e-commerce shop over a span of days, with planted structure that later features must recover:
 * behavioural personas, seasonal and birthday buyers, and a randomised e-mail campaign with a known true
 * effect per persona. Pure: no I/O; the same options give the same messages, byte for byte. Each
 * customer draws from its own random stream, so customer 17 is the same whatever the number of
 * customers. Customers are generated one at a time, so memory stays small at any size.
 *
 * The ground truth is documented in docs/demo-shop.md and returned at the end of the generator.
 */
import { BENEFITS, CATEGORIES, PLACES, USER_AGENTS, type DeviceKind } from './catalog.js';
import { ANONYMOUS_VISITOR_SHARE, CAMPAIGN, PERSONA_NAMES, PERSONAS, type PersonaName, type PersonaSpec } from './personas.js';
import { exponential, int, pick, stream, weighted, type Rng } from './random.js';
import { atHour, consent, DAY, identify, iso, session, signupTraits, toWeekend, type CustomerCtx, type Device, type Msg, type SessionPlan } from './session.js';

export { CAMPAIGN, PERSONA_NAMES, PERSONAS, type PersonaName, type PersonaSpec } from './personas.js';

export interface DemoOptions {
  seed: number;
  customers: number;
  days: number;
  /** The last moment of history. */
  end: Date;
}

export const DEFAULT_DEMO_OPTIONS: DemoOptions = { seed: 42, customers: 20_000, days: 730, end: new Date('2026-10-31T23:59:59Z') };

/** At most this many messages per yielded batch … */
export const DEMO_BATCH_MESSAGES = 500;
/** … and at most this many bytes for the batch serialised as `{"batch":[…]}` (the request limit is 500 KB). */
export const DEMO_BATCH_BYTES = 450_000;

export interface DemoCustomerTruth {
  userId: string;
  persona: PersonaName;
  /** Known (signed up) at least 7 days before the send and consented to e-mail then: randomised. */
  eligible: boolean;
  /** In the treatment group of the randomised e-mail campaign (got the e-mail). */
  treated: boolean;
  /** Ordered within the campaign window (the outcome of the experiment). */
  converted: boolean;
  /** Signed up (identified) at some point; if not, `userId` is the first anonymous id. */
  identified: boolean;
  orders: number;
  /** Messages generated for this person. */
  messages: number;
  firstSeen: string;
  favoriteCategory: string;
  country: string;
  currency: string;
  birthday: string;
  /** The anonymous ids (devices) this person used. */
  anonymousIds: string[];
}

export interface DemoGroundTruth {
  options: DemoOptions;
  personas: Record<PersonaName, { count: number; share: number; description: string }>;
  campaign: {
    id: string;
    name: string;
    /** The send time: the outcome window is [start, end). */
    start: string;
    end: string;
    sentAt: string;
    windowDays: number;
    treatmentShare: number;
    /** P(order in the window) without the e-mail, per persona. */
    baseRateByPersona: Record<PersonaName, number>;
    /** Absolute lift (probability, 0.08 = 8 pp) of P(order in the window) for treated customers. */
    trueEffectByPersona: Record<PersonaName, number>;
    eligibleByPersona: Record<PersonaName, number>;
  };
  customers: DemoCustomerTruth[];
  anonymousVisitors: number;
  totals: { messages: number; orders: number; batches: number; byEvent: Record<string, number> };
}

interface Planned extends SessionPlan {
  at: number;
}

function campaignTimes(end: number): { sentAt: number; windowEnd: number } {
  const sentAt = Math.floor((end - CAMPAIGN.sentDaysBeforeEnd * DAY) / DAY) * DAY + 9 * 3_600_000;
  return { sentAt, windowEnd: sentAt + CAMPAIGN.windowDays * DAY };
}

function activeSpan(rng: Rng, persona: PersonaName, start: number, end: number): { join: number; until: number } {
  const span = end - start;
  switch (persona) {
    case 'new_customer':
      return { join: end - int(rng, 20, 45) * DAY, until: end };
    case 'lapsed': {
      const join = start + rng() * 0.35 * span;
      // Stops early enough that reviews and refunds of the last order also fall before the last 200 days.
      return { join, until: Math.max(join + 40 * DAY, end - 220 * DAY - rng() * 130 * DAY) };
    }
    case 'one_time_buyer':
      return { join: start + rng() * Math.max(span - 150 * DAY, DAY), until: end };
    case 'champion':
      return { join: start + rng() * 0.4 * span, until: end };
    case 'holiday_shopper':
      // Early enough that at least one full holiday season lies ahead.
      return { join: start + rng() * Math.max(span - 400 * DAY, DAY), until: end };
    default:
      return { join: start + rng() * 0.7 * span, until: end };
  }
}

/** Organic order times of one customer, before the campaign window is replaced by the experiment. */
function organicOrders(persona: PersonaName, spec: PersonaSpec, c: CustomerCtx, join: number, until: number, end: number): Planned[] {
  const rng = c.rng;
  const out: Planned[] = [];
  const years = (from: number, to: number) => {
    const ys: number[] = [];
    for (let y = new Date(from).getUTCFullYear(); y <= new Date(to).getUTCFullYear(); y++) ys.push(y);
    return ys;
  };
  if (persona === 'one_time_buyer') return [{ at: Math.min(join + rng() * 10 * DAY, end - 121 * DAY), purchase: true }];
  if (persona === 'new_customer') {
    const first = Math.max(end - int(rng, 1, 29) * DAY, join + DAY);
    out.push({ at: first, purchase: true });
    if (rng() < 0.3) out.push({ at: Math.min(end - 0.5 * DAY, first + int(rng, 3, 20) * DAY), purchase: true });
    return out;
  }
  if (persona === 'holiday_shopper') {
    for (const y of years(join, end)) {
      const n = int(rng, 1, 3);
      for (let k = 0; k < n; k++) {
        const t = Date.UTC(y, 10, 15) + rng() * 38 * DAY;
        if (t > join && t < until) out.push({ at: t, purchase: true });
      }
    }
    return out;
  }
  for (let t = join + rng() * 5 * DAY; t < until; t += exponential(rng, spec.orderEvery * DAY)) out.push({ at: t, purchase: true });
  if (persona === 'champion') {
    for (const y of years(join, end)) {
      const t = Date.UTC(y, 10, 24) + rng() * 28 * DAY;
      if (t > join && t < until) out.push({ at: t, purchase: true });
    }
  }
  for (const y of years(join, end)) {
    if (rng() >= spec.birthdayOrder) continue;
    const t = Date.UTC(y, c.birthday.month - 1, c.birthday.day) - rng() * 6 * DAY;
    if (t > join && t < until) out.push({ at: t, purchase: true, coupon: 'BIRTHDAY15' });
  }
  return out;
}

function newDevices(rng: Rng, prefix: string, count: number, firstMobile: number): Device[] {
  const devices: Device[] = [];
  for (let d = 0; d < count; d++) {
    const kind: DeviceKind = d === 0 ? (rng() < firstMobile ? 'mobile' : 'desktop') : weighted(rng, [['mobile', 5], ['desktop', 3], ['tablet', 2]] as const);
    devices.push({ anonymousId: `${prefix}-${d}`, kind, userAgent: pick(rng, USER_AGENTS[kind]), app: kind === 'mobile' && rng() < 0.25 });
  }
  return devices;
}

function newCustomer(rng: Rng, i: number, userId: string | undefined, spec: PersonaSpec, devices: Device[], join: number, end: number): CustomerCtx {
  const emailConsent = rng() < 0.7;
  const advertising = rng() < 0.6;
  return {
    rng, i, userId, identified: false,
    place: weighted(rng, PLACES.map((p) => [p, p.weight] as const)),
    ip: `${int(rng, 31, 223)}.${int(rng, 0, 255)}.${int(rng, 0, 255)}.${int(rng, 1, 254)}`,
    devices,
    consentEmailUntil: emailConsent ? (rng() < 0.1 ? join + rng() * (end - join) : Infinity) : -Infinity,
    advertising,
    advertisingFlipAt: rng() < 0.08 ? join + rng() * (end - join) : Infinity,
    persona: spec,
    favorite: pick(rng, CATEGORIES),
    birthday: { year: int(rng, 1952, 2006), month: int(rng, 1, 12), day: int(rng, 1, 28) },
    messages: [],
    orders: 0,
  };
}

function generateCustomer(opts: DemoOptions, i: number): { messages: Msg[]; truth: DemoCustomerTruth } {
  const rng = stream(opts.seed, `customer:${i}`);
  const end = opts.end.getTime();
  const start = end - opts.days * DAY;
  const persona = weighted(rng, PERSONA_NAMES.map((p) => [p, PERSONAS[p].share] as const));
  const spec = PERSONAS[persona];
  const devices = newDevices(rng, `demo-anon-${i}`, weighted(rng, [[1, 5], [2, 4], [3, 1]] as const), spec.mobileShare);
  const { join, until } = activeSpan(rng, persona, start, end);
  const c = newCustomer(rng, i, `demo-user-${i}`, spec, devices, join, end);

  /** Where a planned time really lands: the persona's days and hours, inside history. */
  const land = (t: number): number => {
    const day = spec.weekendOnly ? toWeekend(t, rng) : t;
    return Math.min(atHour(Math.floor(day / DAY) * DAY, rng, spec.hours), end - 3_600_000);
  };

  // The campaign: eligible customers are known before the send and consent to e-mail then.
  const { sentAt, windowEnd } = campaignTimes(end);
  const crng = stream(opts.seed, `campaign:${i}`);
  const eligible = join < sentAt - 7 * DAY && sentAt < c.consentEmailUntil;
  const treated = eligible && crng() < CAMPAIGN.treatmentShare;
  const converted = eligible && crng() < spec.campaignBase + (treated ? spec.campaignEffect : 0);

  const plans: Planned[] = organicOrders(persona, spec, c, join, until, end).map((o) => ({ ...o, at: land(o.at) }));
  for (let t = join + exponential(rng, spec.browseEvery * DAY); t < until; t += exponential(rng, spec.browseEvery * DAY)) plans.push({ at: land(t), purchase: false });
  // Customers in the campaign signed up (gave their e-mail) at their first visit, before the send.
  if (eligible) plans.push({ at: land(join), purchase: false });
  let sessions = plans;
  // Inside the campaign window the outcome is decided by the experiment alone, so the true effect is exact.
  if (eligible) sessions = sessions.filter((s) => !s.purchase || s.at < sentAt || s.at >= windowEnd);
  if (converted) {
    let at = sentAt + 3_600_000;
    for (let k = 0; k < 30; k++) {
      const t = land(sentAt + crng() * CAMPAIGN.windowDays * DAY);
      if (t > sentAt + 600_000 && t < windowEnd - 3_600_000) {
        at = t;
        break;
      }
    }
    sessions.push({ at, purchase: true, ...(treated ? { campaignId: CAMPAIGN.id } : {}) });
  }
  sessions.sort((a, b) => a.at - b.at);

  // An account is created at the first visit for some (all eligible), at the first order for the rest.
  let signupAt = (eligible || rng() < 0.35) && sessions[0] ? sessions[0].at : undefined;
  for (const s of sessions) {
    if (signupAt !== undefined && !c.identified && s.at >= signupAt) {
      const dev = c.devices[0];
      if (dev) identify(c, dev, s.at - 60_000, signupTraits(c, s.at - 60_000));
      signupAt = undefined;
    }
    session(c, s.at, s);
  }

  const first = c.devices[0];
  const firstOrder = sessions.find((s) => s.purchase)?.at;
  // Survey answers (satisfaction, NPS, benefit sought) from ~55 % of identified buyers.
  if (first && c.identified && firstOrder !== undefined && rng() < 0.55) {
    const [lo, hi] = spec.satisfaction;
    const sat = int(rng, lo, hi);
    const nps = Math.max(0, Math.min(10, sat * 2 + int(rng, -2, 1)));
    const benefit = persona === 'bargain_hunter' ? 'price' : persona === 'champion' ? pick(rng, ['quality', 'style']) : pick(rng, BENEFITS);
    const at = Math.min(firstOrder + int(rng, 10, 40) * DAY, end - DAY);
    c.messages.push({ type: 'identify', userId: c.userId, anonymousId: first.anonymousId, timestamp: iso(at), traits: { satisfaction: sat, nps, benefit_sought: benefit }, context: { library: { name: 'segmenta-demo-survey', version: '1' }, consent: consent(c, at) } });
  }
  // The campaign e-mail (treated only), opens and clicks, reported by the e-mail service.
  if (treated && first && c.identified) {
    const props = { campaign_id: CAMPAIGN.id, campaign_name: CAMPAIGN.name, email_subject: CAMPAIGN.subject };
    const esp = (at: number) => ({ library: { name: 'segmenta-demo-esp', version: '1' }, consent: consent(c, at) });
    const email = (event: string, at: number) => c.messages.push({ type: 'track', event, userId: c.userId, anonymousId: first.anonymousId, timestamp: iso(at), properties: { ...props }, context: esp(at) });
    email('Email Delivered', sentAt);
    // Buyers open more often (opening does not cause the order here: the effect is planted per treated customer).
    if (crng() < (converted ? 2 * CAMPAIGN.openRate : CAMPAIGN.openRate)) {
      const opened = sentAt + crng() * 2 * DAY;
      email('Email Opened', opened);
      if (crng() < CAMPAIGN.clickRate) email('Email Link Clicked', opened + 20_000 + crng() * 600_000);
    }
  }

  // Reviews, refunds and late sessions can fall past the end of history: history ends there.
  const endIso = iso(end);
  const messages = c.messages.filter((m) => m.timestamp <= endIso);
  messages.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  let k = 0;
  let orders = 0;
  let convertedInWindow = false;
  const anonymousIds = new Set<string>();
  for (const m of messages) {
    m['messageId'] = `demo-${opts.seed}-${i}-${k++}`;
    anonymousIds.add(String(m['anonymousId']));
    if (m['event'] !== 'Order Completed') continue;
    orders++;
    const at = Date.parse(m.timestamp);
    if (at >= sentAt && at < windowEnd) convertedInWindow = true;
  }
  const { year, month, day } = c.birthday;
  return {
    messages,
    truth: {
      userId: c.identified ? `demo-user-${i}` : `demo-anon-${i}-0`, persona, eligible: eligible && c.identified, treated: treated && c.identified,
      converted: convertedInWindow, identified: c.identified, orders, messages: messages.length, firstSeen: iso(join), favoriteCategory: c.favorite,
      country: c.place.country, currency: c.place.currency,
      birthday: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
      anonymousIds: [...anonymousIds].sort(),
    },
  };
}

/** Visitors who never identify: a few anonymous sessions close together. */
function generateVisitor(opts: DemoOptions, i: number): Msg[] {
  const rng = stream(opts.seed, `visitor:${i}`);
  const end = opts.end.getTime();
  const spec = PERSONAS.weekend_browser;
  const devices = newDevices(rng, `demo-visitor-${i}`, 1, 0.6).map((d) => ({ ...d, anonymousId: `demo-visitor-${i}`, app: false }));
  const c = newCustomer(rng, i, undefined, { ...spec, weekendOnly: false }, devices, end - opts.days * DAY, end);
  c.consentEmailUntil = -Infinity;
  const n = int(rng, 1, 3);
  const t0 = end - rng() * opts.days * DAY;
  for (let s = 0; s < n; s++) session(c, atHour(Math.floor((t0 + s * int(rng, 1, 20) * DAY) / DAY) * DAY, rng, spec.hours), { purchase: false });
  const endIso = iso(end);
  const messages = c.messages.filter((m) => m.timestamp <= endIso);
  messages.sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  let k = 0;
  for (const m of messages) m['messageId'] = `demo-${opts.seed}-v${i}-${k++}`;
  return messages;
}

/** UTF-8 length of a string without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let k = 0; k < s.length; k++) {
    const code = s.charCodeAt(k);
    if (code >= 0x80) n += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return n;
}

/**
 * Yields batches (≤ 500 messages and ≤ 450 KB as `{"batch":[…]}`), customer after customer, each
 * customer's messages in time order; returns the ground truth at the end.
 */
export function* generateDemoShop(opts: DemoOptions): Generator<Record<string, unknown>[], DemoGroundTruth> {
  const customers: DemoCustomerTruth[] = [];
  const byEvent: Record<string, number> = {};
  const eligibleByPersona = Object.fromEntries(PERSONA_NAMES.map((p) => [p, 0])) as Record<PersonaName, number>;
  const EMPTY = utf8Length('{"batch":[]}');
  let batch: Record<string, unknown>[] = [];
  let bytes = EMPTY;
  let messages = 0;
  let batches = 0;
  let visitors = 0;
  for (let i = 1; i <= opts.customers; i++) {
    const one = generateCustomer(opts, i);
    customers.push(one.truth);
    if (one.truth.eligible) eligibleByPersona[one.truth.persona]++;
    const parts = [one.messages];
    if (stream(opts.seed, `visitor?:${i}`)() < ANONYMOUS_VISITOR_SHARE) {
      parts.push(generateVisitor(opts, i));
      visitors++;
    }
    for (const list of parts) {
      for (const m of list) {
        const key = typeof m['event'] === 'string' ? m['event'] : String(m['type']);
        byEvent[key] = (byEvent[key] ?? 0) + 1;
        const size = utf8Length(JSON.stringify(m)) + 1;
        if (batch.length > 0 && (batch.length >= DEMO_BATCH_MESSAGES || bytes + size > DEMO_BATCH_BYTES)) {
          batches++;
          yield batch;
          batch = [];
          bytes = EMPTY;
        }
        batch.push(m);
        bytes += size;
        messages++;
      }
    }
  }
  if (batch.length) {
    batches++;
    yield batch;
  }
  const { sentAt, windowEnd } = campaignTimes(opts.end.getTime());
  const count = (p: PersonaName) => customers.filter((t) => t.persona === p).length;
  return {
    options: { ...opts, end: new Date(opts.end.getTime()) },
    personas: Object.fromEntries(PERSONA_NAMES.map((p) => [p, { count: count(p), share: PERSONAS[p].share, description: PERSONAS[p].description }])) as DemoGroundTruth['personas'],
    campaign: {
      id: CAMPAIGN.id, name: CAMPAIGN.name, start: iso(sentAt), end: iso(windowEnd), sentAt: iso(sentAt),
      windowDays: CAMPAIGN.windowDays, treatmentShare: CAMPAIGN.treatmentShare,
      baseRateByPersona: Object.fromEntries(PERSONA_NAMES.map((p) => [p, PERSONAS[p].campaignBase])) as Record<PersonaName, number>,
      trueEffectByPersona: Object.fromEntries(PERSONA_NAMES.map((p) => [p, PERSONAS[p].campaignEffect])) as Record<PersonaName, number>,
      eligibleByPersona,
    },
    customers,
    anonymousVisitors: visitors,
    totals: { messages, orders: customers.reduce((s, t) => s + t.orders, 0), batches, byEvent },
  };
}

/**
 * Occasion segmentation: when a customer buys. Three kinds of occasion, one primary label:
 * - holiday buyers: most of a customer's orders fall in the windows of one named occasion of the
 *   calendar of the customer's country (Christmas season, Black Friday, Mother's Day, Singles' Day …),
 *   counted year by year over the last few years;
 * - weekday / weekend and part of day of the customer's shopping activity;
 * - personal dates: days to the next birthday and first-purchase anniversary, with ready segments
 *   that the segment language keeps current day by day.
 * docs/behavioural.md gives the rules, the defaults and the reasoning.
 */
import { z } from 'zod';
import { EventPath, type ComputedTraitDefinition } from '../segments/ast.js';
import { DEFAULT_CALENDAR, Occasion, occasionProblem, occasionWindows } from './calendar.js';
import type { BehaviouralModel, Classification, Features, ReadySegment, TraitValue } from './model.js';

const DAY = 86_400_000;

export const PARTS_OF_DAY = ['night', 'morning', 'afternoon', 'evening'] as const;
export type DayPart = (typeof PARTS_OF_DAY)[number];
/** The labels from timing, after the holiday labels: weekend shoppers, else the dominant part of day. */
export const TIMING_GROUPS = ['weekend', 'weekday morning', 'weekday afternoon', 'weekday evening', 'weekday night', 'anytime'] as const;
export const HOLIDAY_PREFIX = 'holiday: ';
/** Bound on the holiday window features (distinct windows × years in reach). */
export const MAX_WINDOW_FEATURES = 240;

const COUNTRY_KEY = /^([A-Z]{2}|\*)$/;
const share = z.number().gt(0).max(1);

export const OccasionConfig = z.strictObject({
  /** The purchase event. */
  event: z.string().min(1).max(200).default('Order Completed'),
  /** Occasions per country, replacing the default list of each country given (see DEFAULT_CALENDAR). */
  calendar: z.record(z.string(), z.array(Occasion).max(30)).optional(),
  /** Years of history in reach for holiday buying (each year's windows are separate features). */
  years: z.number().int().min(1).max(5).default(3),
  /** Holiday buyer: at least this share of the orders in reach fall in the occasion's windows … */
  minShare: share.default(0.5),
  /** … and at least this many orders do. */
  minOrders: z.number().int().min(1).max(1000).default(2),
  /** The country: a profile trait, with a path into it after the first dot ("address.country"); null: none. */
  countryTrait: z.string().min(1).max(200).nullable().default('address.country'),
  /** Else the most frequent value of this path on the customer's purchases; null: none. */
  countryPath: EventPath.nullable().default('context.location.country'),
  /** The event whose timing (UTC weekday / weekend, part of day) tells when a customer shops. */
  timingEvent: z.string().min(1).max(200).default('Product Viewed'),
  /** Fewer timing events than this: no timing label. */
  minTimingEvents: z.number().int().min(1).max(1000).default(6),
  /** Weekend shopper: at least this share of the timing events on Saturday or Sunday (2/7 ≈ 0.29 by chance). */
  weekendShare: z.number().min(0.3).max(1).default(0.75),
  /** A part of day dominates with at least this share of the timing events (1/4 by chance). */
  dayPartShare: z.number().min(0.3).max(1).default(0.5),
  /** A profile trait with the date of birth (YYYY-MM-DD); null: none. */
  birthdayTrait: z.string().min(1).max(200).nullable().default('birthday'),
  /** Lead time of the ready "birthday soon" and "anniversary soon" segments, in days. */
  soonDays: z.number().int().min(0).max(90).default(14),
}).superRefine((c, ctx) => {
  const rules = new Set<string>();
  for (const [country, list] of Object.entries(c.calendar ?? {})) {
    // Checked here rather than as the record's key schema: zod reports a bad key without its message.
    if (!COUNTRY_KEY.test(country)) ctx.addIssue({ code: 'custom', path: ['calendar', country], message: `"${country}" is not an ISO 3166-1 alpha-2 country code in capitals ("DE"), nor "*" for every country not listed` });
    const names = new Set<string>();
    list.forEach((o, k) => {
      if (names.has(o.name)) ctx.addIssue({ code: 'custom', path: ['calendar', country, k, 'name'], message: `occasion "${o.name}" appears twice for ${country}` });
      names.add(o.name);
      const problem = occasionProblem(o);
      if (problem) ctx.addIssue({ code: 'custom', path: ['calendar', country, k], message: problem });
    });
  }
  for (const list of Object.values(mergedCalendar(c))) for (const o of list) rules.add(JSON.stringify([o.from, o.to]));
  if (rules.size * (c.years + 1) > MAX_WINDOW_FEATURES) {
    ctx.addIssue({ code: 'custom', path: ['calendar'], message: `${rules.size} distinct occasion windows over ${c.years} years make more than ${MAX_WINDOW_FEATURES} features: fewer occasions or years` });
  }
});
export type OccasionConfig = z.output<typeof OccasionConfig>;

/** The default calendar with the configured countries put over it. */
export function mergedCalendar(c: Pick<OccasionConfig, 'calendar'>): Record<string, readonly Occasion[]> {
  return { ...DEFAULT_CALENDAR, ...(c.calendar ?? {}) };
}

/** The holiday labels in display order: the `*` list first, then the other countries' new names. */
export function holidayNames(c: Pick<OccasionConfig, 'calendar'>): string[] {
  const cal = mergedCalendar(c);
  const keys = Object.keys(cal).sort((a, b) => (a === '*' ? -1 : b === '*' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const out: string[] = [];
  for (const k of keys) for (const o of cal[k] ?? []) if (!out.includes(o.name)) out.push(o.name);
  return out;
}

export interface HolidayPlan {
  /** Holiday buying looks at orders in [reachStart, reachEnd). */
  reachStart: number;
  reachEnd: number;
  /** The distinct windows, one count feature each. */
  windows: Array<{ key: string; start: number; end: number }>;
  /** Per country (and `*`): its occasions, the features of their windows, and their days in reach. */
  countries: Map<string, Array<{ name: string; keys: string[]; days: number }>>;
}

/** The same moment `years` years earlier (29 February → 1 March). */
function yearsBefore(t: number, years: number): number {
  const d = new Date(t);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.getTime();
}

/** Every occasion window in reach of `asOf`, deduplicated across countries (shared windows are one feature). */
export function holidayPlan(c: Pick<OccasionConfig, 'calendar' | 'years'>, asOf: number): HolidayPlan {
  const reachStart = yearsBefore(asOf, c.years);
  const reachEnd = asOf + 1; // events at asOf count
  const byBounds = new Map<string, string>();
  const windows: HolidayPlan['windows'] = [];
  const countries: HolidayPlan['countries'] = new Map();
  for (const [country, list] of Object.entries(mergedCalendar(c))) {
    countries.set(country, list.map((o) => {
      const keys: string[] = [];
      let days = 0;
      for (const w of occasionWindows(o, reachStart, reachEnd)) {
        const id = `${w.start}-${w.end}`;
        let key = byBounds.get(id);
        if (!key) {
          key = `window_${windows.length}`;
          byBounds.set(id, key);
          windows.push({ key, start: w.start, end: w.end });
        }
        if (!keys.includes(key)) keys.push(key);
        days += (w.end - w.start) / DAY;
      }
      return { name: o.name, keys, days };
    }));
  }
  return { reachStart, reachEnd, windows, countries };
}

/** An occasion of a customer: orders in its windows and its days in reach. */
export interface OccasionCount { name: string; orders: number; days: number }

/**
 * The customer's holiday occasions: those with at least `minOrders` orders in their windows making at
 * least `minShare` of all orders in reach, best first: the one that explains the most orders, and on a
 * tie the narrower one (Black Friday rather than the Christmas season around it).
 */
export function holidayOccasions(orders: number, occasions: OccasionCount[], c: Pick<OccasionConfig, 'minShare' | 'minOrders'>): Array<OccasionCount & { share: number }> {
  if (!(orders > 0)) return [];
  return occasions
    .map((o) => ({ ...o, share: o.orders / orders }))
    .filter((o) => o.orders >= c.minOrders && o.share >= c.minShare)
    .sort((a, b) => b.share - a.share || a.days - b.days);
}

export interface TimingCounts { weekday: number; weekend: number; night: number; morning: number; afternoon: number; evening: number }

/** Weekend share, dominant part of day and the timing label; undefined with too few events. */
export function timingLabel(t: TimingCounts, c: Pick<OccasionConfig, 'minTimingEvents' | 'weekendShare' | 'dayPartShare'>): { label: string; weekendShare: number; dayPart: DayPart | 'mixed' } | undefined {
  const total = t.weekday + t.weekend;
  if (!(total >= c.minTimingEvents)) return undefined;
  const weekendShare = t.weekend / total;
  let dayPart: DayPart | 'mixed' = 'mixed';
  let top = -1;
  for (const p of PARTS_OF_DAY) {
    if (t[p] > top) { top = t[p]; dayPart = p; }
  }
  if (top / total < c.dayPartShare) dayPart = 'mixed';
  const label = weekendShare >= c.weekendShare ? 'weekend' : dayPart === 'mixed' ? 'anytime' : `weekday ${dayPart}`;
  return { label, weekendShare, dayPart };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Month (1-12) and day of a date trait: "YYYY-MM-DD…" or epoch milliseconds; undefined if neither. */
export function monthDayOf(text: string | null): { year: number; month: number; day: number } | undefined {
  if (text === null) return undefined;
  const s = text.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  let t: Date;
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    t = new Date(Date.UTC(y, mo - 1, d));
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return undefined;
  } else if (/^-?\d+(\.\d+)?$/.test(s)) {
    t = new Date(Number(s));
    if (Number.isNaN(t.getTime())) return undefined;
  } else return undefined;
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() };
}

/**
 * Whole days from asOf's UTC day to the next anniversary of a month and day (0: today), and the year it
 * falls in; 29 February is celebrated on 28 February in other years (as the segment language's
 * anniversary_within does). `after`: only anniversaries in years after this one count.
 */
export function nextAnniversary(month: number, day: number, asOf: number, after = -Infinity): { days: number; year: number } {
  const today = Math.floor(asOf / DAY) * DAY;
  for (let y = Math.max(new Date(today).getUTCFullYear(), after + 1); ; y++) {
    const d = month === 2 && day === 29 && !isLeap(y) ? 28 : day;
    const t = Date.UTC(y, month - 1, d);
    if (t >= today) return { days: Math.round((t - today) / DAY), year: y };
  }
}

/** A value inside a trait: the trait's text, or a path into its JSON after the first dot of the key. */
export function traitPath(countryTrait: string): { key: string; path: string[] } {
  const [key, ...path] = countryTrait.split('.');
  return { key: key as string, path };
}

/** A country code (two letters, upper-cased) from a trait's text and a path into it; undefined otherwise. */
export function countryFrom(text: string | null | undefined, path: string[] = []): string | undefined {
  if (text === null || text === undefined) return undefined;
  let v: unknown = text;
  if (path.length) {
    try {
      v = JSON.parse(text);
    } catch {
      return undefined;
    }
    for (const k of path) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  }
  if (typeof v !== 'string') return undefined;
  const code = v.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(code) ? code : undefined;
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export const occasionModel: BehaviouralModel<OccasionConfig> = {
  id: 'occasion',
  name: 'Occasion',
  description: 'When customers buy: holiday buyers per country calendar (Christmas, Black Friday, Mother\'s Day …), weekend or weekday part-of-day shoppers, and upcoming birthdays and first-purchase anniversaries.',
  config: OccasionConfig,
  features(config, asOf) {
    const plan = holidayPlan(config, asOf);
    const between = (from: number, to: number) => ({ type: 'between' as const, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    const defs: ComputedTraitDefinition[] = [
      { key: 'orders', kind: 'count', event: config.event, window: between(plan.reachStart, plan.reachEnd) },
      { key: 'first_order_days', kind: 'days_since_first', event: config.event },
      ...plan.windows.map((w): ComputedTraitDefinition => ({ key: w.key, kind: 'count', event: config.event, window: between(w.start, w.end) })),
    ];
    if (config.countryPath) defs.push({ key: 'country_events', kind: 'most_frequent', event: config.event, path: config.countryPath });
    return defs;
  },
  traitInputs(config) {
    const keys: string[] = [];
    if (config.countryTrait) keys.push(traitPath(config.countryTrait).key);
    if (config.birthdayTrait && !keys.includes(config.birthdayTrait)) keys.push(config.birthdayTrait);
    return keys;
  },
  timing: (config) => ({ event: config.timingEvent }),
  classify(features: Features, config: OccasionConfig, asOf: number): Classification {
    const n = features.profileIds.length;
    const plan = holidayPlan(config, asOf);
    const num = (key: string) => features.columns[key] ?? new Float64Array(n).fill(NaN);
    const orders = num('orders');
    const firstDays = num('first_order_days');
    const windowCols = new Map(plan.windows.map((w) => [w.key, num(w.key)]));
    const occasionCols = new Map([...plan.countries].map(([code, list]) => [code, list.map((o) => ({ name: o.name, days: o.days, cols: o.keys.map((k) => windowCols.get(k)) }))]));
    const timing = Object.fromEntries((['weekday', 'weekend', ...PARTS_OF_DAY] as const).map((b) => [b, num(`timing:${b}`)])) as Record<keyof TimingCounts, Float64Array>;
    const country = config.countryTrait ? traitPath(config.countryTrait) : undefined;
    const countryText = country ? features.text[`trait:${country.key}`] : undefined;
    const countryEvents = features.text['country_events'];
    const birthdays = config.birthdayTrait ? features.text[`trait:${config.birthdayTrait}`] : undefined;

    const groups: Record<string, number> = Object.fromEntries(occasionGroups(config).map((g) => [g, 0]));
    const holidayBuyers: Record<string, number> = {};
    const countrySource = { trait: 0, events: 0, default: 0 };
    let birthdaySoon = 0, anniversarySoon = 0;
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    for (let i = 0; i < n; i++) {
      const t: Record<string, TraitValue> = {};
      const nOrders = Number.isNaN(orders[i] as number) ? 0 : (orders[i] as number);
      // Holiday buying, by the calendar of the customer's country.
      if (nOrders > 0) {
        const fromTrait = country ? countryFrom(countryText?.[i], country.path) : undefined;
        const code = fromTrait ?? countryFrom(countryEvents?.[i]);
        countrySource[fromTrait ? 'trait' : code ? 'events' : 'default']++;
        const occasions = occasionCols.get(code ?? '*') ?? occasionCols.get('*') ?? [];
        // (only the occasions that can qualify become objects: ~45 per customer were built and dropped)
        const counts: OccasionCount[] = [];
        for (const { name, days, cols } of occasions) {
          let sum = 0;
          for (const col of cols) sum += nz(col?.[i]);
          if (sum >= config.minOrders && sum / nOrders >= config.minShare) counts.push({ name, days, orders: sum });
        }
        const found = holidayOccasions(nOrders, counts, config);
        t['occasion_orders'] = nOrders;
        if (code) t['occasion_country'] = code;
        const best = found[0];
        if (best) {
          t['occasion_holiday'] = best.name;
          t['occasion_holiday_share'] = Math.round(best.share * 100) / 100;
          t['occasion_holidays'] = found.map((o) => o.name).join(', ');
          for (const o of found) holidayBuyers[o.name] = (holidayBuyers[o.name] ?? 0) + 1;
        }
      }
      const tl = timingLabel({
        weekday: nz(timing.weekday[i]), weekend: nz(timing.weekend[i]), night: nz(timing.night[i]),
        morning: nz(timing.morning[i]), afternoon: nz(timing.afternoon[i]), evening: nz(timing.evening[i]),
      }, config);
      if (tl) {
        t['occasion_weekend_share'] = Math.round(tl.weekendShare * 100) / 100;
        t['occasion_day_part'] = tl.dayPart;
      }
      const group = t['occasion_holiday'] !== undefined ? `${HOLIDAY_PREFIX}${String(t['occasion_holiday'])}` : tl?.label;
      if (group !== undefined) {
        t['occasion_group'] = group;
        groups[group] = (groups[group] ?? 0) + 1;
      }
      // Personal dates.
      const born = monthDayOf(birthdays?.[i] ?? null);
      if (born) {
        const next = nextAnniversary(born.month, born.day, asOf);
        t['occasion_birthday_in_days'] = next.days;
        if (next.days <= config.soonDays) birthdaySoon++;
      }
      const fd = firstDays[i] as number;
      if (!Number.isNaN(fd)) {
        // days_since_first is whole days before asOf: the first purchase lies in the 24 hours before
        // asOf − fd days; its UTC day is that of asOf − fd days (exact when asOf is the end of a day).
        // (the UTC date of a time: built as a string and parsed back, this was a fifth of the classification)
        const at = new Date(asOf - fd * DAY);
        const first = Number.isNaN(at.getTime()) ? undefined : { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() };
        if (first) {
          const next = nextAnniversary(first.month, first.day, asOf, first.year);
          t['occasion_first_purchase_date'] = isoDay(asOf - fd * DAY);
          t['occasion_anniversary_in_days'] = next.days;
          t['occasion_anniversary_years'] = next.year - first.year;
          if (next.days <= config.soonDays) anniversarySoon++;
        }
      }
      if (Object.keys(t).length) traits[i] = t;
    }
    return {
      traits,
      summary: {
        groups, holidayBuyers, countrySource,
        reach: { from: new Date(plan.reachStart).toISOString(), to: new Date(asOf).toISOString(), windows: plan.windows.length },
        soon: { days: config.soonDays, birthdays: birthdaySoon, anniversaries: anniversarySoon },
      },
    };
  },
  traits: [
    { key: 'occasion_group', description: 'The primary occasion: "holiday: <occasion>", else weekend, weekday morning / afternoon / evening / night, or anytime.' },
    { key: 'occasion_holiday', description: 'The holiday occasion that explains most of the customer\'s orders (when one qualifies).' },
    { key: 'occasion_holiday_share', description: 'Share of the orders in reach that fall in that occasion\'s windows.' },
    { key: 'occasion_holidays', description: 'Every qualifying holiday occasion, best first, comma separated.' },
    { key: 'occasion_orders', description: 'Orders in reach (the last `years` years).' },
    { key: 'occasion_country', description: 'The country whose calendar was used (absent: the default calendar).' },
    { key: 'occasion_weekend_share', description: 'Share of the timing events on Saturday or Sunday (UTC).' },
    { key: 'occasion_day_part', description: 'The dominant part of day of the timing events (night, morning, afternoon, evening) or mixed.' },
    { key: 'occasion_birthday_in_days', description: 'Days from the run\'s as-of day to the next birthday (0: that day).' },
    { key: 'occasion_first_purchase_date', description: 'The UTC day of the first purchase (YYYY-MM-DD).' },
    { key: 'occasion_anniversary_in_days', description: 'Days to the next anniversary of the first purchase.' },
    { key: 'occasion_anniversary_years', description: 'Which anniversary that is (1: one year a customer).' },
    { key: 'occasion_previous_group', description: 'The primary occasion at the previous run (movement).' },
  ],
  groupTrait: 'occasion_group',
  previousTrait: 'occasion_previous_group',
  groups: occasionGroups,
  extraSegments(config): ReadySegment[] {
    const out: ReadySegment[] = [];
    if (config.birthdayTrait) {
      out.push({
        key: 'occasion_birthday_soon',
        name: `Occasion: birthday in the next ${config.soonDays} days`,
        description: `Profiles whose birthday (trait ${config.birthdayTrait}) falls today or in the next ${config.soonDays} days, evaluated day by day.`,
        condition: { type: 'trait', trait: config.birthdayTrait, op: 'anniversary_within', days: config.soonDays },
      });
    }
    out.push({
      key: 'occasion_anniversary_soon',
      name: `Occasion: first-purchase anniversary in the next ${config.soonDays} days`,
      description: `Customers whose first purchase (trait occasion_first_purchase_date, from the last run) has its anniversary today or in the next ${config.soonDays} days.`,
      // more_than_ago 1 day: a purchase made today shares today's month and day but has no anniversary yet.
      condition: { type: 'and', conditions: [
        { type: 'trait', trait: 'occasion_first_purchase_date', op: 'anniversary_within', days: config.soonDays },
        { type: 'trait', trait: 'occasion_first_purchase_date', op: 'more_than_ago', amount: 1, unit: 'days' },
      ] },
    });
    return out;
  },
};

function occasionGroups(config: OccasionConfig): string[] {
  return [...holidayNames(config).map((h) => `${HOLIDAY_PREFIX}${h}`), ...TIMING_GROUPS];
}

function nz(v: number | undefined): number {
  return v === undefined || Number.isNaN(v) ? 0 : v;
}

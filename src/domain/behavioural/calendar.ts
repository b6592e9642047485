/**
 * The occasion calendar of the occasion model (docs/behavioural.md): named shopping occasions per
 * country that recur every year, each a window of whole UTC days. A window's ends are fixed month-days
 * ("11-15"), weekday rules ("the 2nd Sunday of May", "the Friday after the 4th Thursday of November"),
 * days from Western Easter, or dates listed per year for occasions no simple rule gives (lunar ones such
 * as the Chinese New Year). Pure date arithmetic in UTC; the model turns the windows into event counts.
 */
import { z } from 'zod';

const DAY = 86_400_000;

const MONTH_DAY = /^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const monthDay = z.string().regex(MONTH_DAY, 'a month and day "MM-DD", e.g. "12-24"')
  .refine((s) => {
    const [m, d] = s.split('-').map(Number) as [number, number];
    return d <= (DAYS_IN_MONTH[m - 1] ?? 0) && !(m === 2 && d === 29);
  }, 'a real day of the month (29 February is not allowed: it does not recur)');
const offset = z.number().int().min(-120).max(120);

/**
 * One end of an occasion's window. Weekdays: 0 Sunday … 6 Saturday; nth 1-4, or -1 for the last one
 * of the month; offset: days added after the rule (the day after Thanksgiving: offset 1).
 */
export const DateSpec = z.union([
  monthDay,
  z.strictObject({ month: z.number().int().min(1).max(12), weekday: z.number().int().min(0).max(6), nth: z.union([z.literal(-1), z.number().int().min(1).max(4)]), offset: offset.optional() }),
  z.strictObject({ easter: offset }),
  z.strictObject({
    byYear: z.record(z.string().regex(/^\d{4}$/, 'a year "YYYY"'), monthDay).refine((r) => Object.keys(r).length > 0, 'at least one year'),
    offset: offset.optional(),
  }),
]);
export type DateSpec = z.infer<typeof DateSpec>;

/** A named occasion: its window runs from `from` to `to`, both days included; a `to` before `from` is in the next year. */
export const Occasion = z.strictObject({ name: z.string().min(1).max(60), from: DateSpec, to: DateSpec });
export type Occasion = z.infer<typeof Occasion>;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Western (Gregorian) Easter Sunday of a year, as epoch ms at 00:00 UTC (the anonymous Gregorian algorithm). */
export function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date.UTC(year, month - 1, day);
}

/** The nth (1-4) or last (-1) given weekday (0 Sunday) of a month (1-12), 00:00 UTC. */
export function nthWeekday(year: number, month: number, weekday: number, nth: number): number {
  if (nth === -1) {
    const last = Date.UTC(year, month, 0); // day 0 of the next month: the last day of this one
    const back = (new Date(last).getUTCDay() - weekday + 7) % 7;
    return last - back * DAY;
  }
  const first = Date.UTC(year, month - 1, 1);
  const ahead = (weekday - new Date(first).getUTCDay() + 7) % 7;
  return first + (ahead + (nth - 1) * 7) * DAY;
}

/** Black Friday: the Friday after the fourth Thursday of November (US Thanksgiving), 00:00 UTC. */
export function blackFriday(year: number): number {
  return nthWeekday(year, 11, 4, 4) + DAY;
}

/** The day a date rule gives in a year (00:00 UTC), or undefined when it has none that year (byYear). */
export function resolveDate(spec: DateSpec, year: number): number | undefined {
  if (typeof spec === 'string') {
    const [m, d] = spec.split('-').map(Number) as [number, number];
    return Date.UTC(year, m - 1, d);
  }
  if ('easter' in spec) return easterSunday(year) + spec.easter * DAY;
  if ('byYear' in spec) {
    const md = spec.byYear[String(year)];
    return md === undefined ? undefined : (resolveDate(md, year) as number) + (spec.offset ?? 0) * DAY;
  }
  return nthWeekday(year, spec.month, spec.weekday, spec.nth) + (spec.offset ?? 0) * DAY;
}

/** One yearly instance of an occasion: [start, end) in epoch ms, whole UTC days. */
export interface OccasionWindow { start: number; end: number }

/**
 * The instance of an occasion that begins in `year` (its `from` day in that year): from `from` to the
 * end of the `to` day, which moves to the next year when it would fall before `from`.
 */
export function occasionWindow(o: Occasion, year: number): OccasionWindow | undefined {
  const start = resolveDate(o.from, year);
  if (start === undefined) return undefined;
  let to = resolveDate(o.to, year);
  if (to !== undefined && to < start) to = resolveDate(o.to, year + 1);
  if (to === undefined) return undefined;
  return { start, end: to + DAY };
}

/** Every instance of an occasion that overlaps [from, to), clipped to it, in time order. */
export function occasionWindows(o: Occasion, from: number, to: number): OccasionWindow[] {
  const out: OccasionWindow[] = [];
  // An instance begun in the year before `from` can still run into it (e.g. a window across New Year).
  for (let y = new Date(from).getUTCFullYear() - 1; y <= new Date(to).getUTCFullYear(); y++) {
    const w = occasionWindow(o, y);
    if (!w || w.end <= from || w.start >= to) continue;
    out.push({ start: Math.max(w.start, from), end: Math.min(w.end, to) });
  }
  return out;
}

/** Problems with an occasion that the schema cannot see: a window that never resolves or spans too long. */
export function occasionProblem(o: Occasion): string | undefined {
  let resolved = 0;
  for (let y = 2000; y <= 2100; y++) {
    const w = occasionWindow(o, y);
    if (!w) continue;
    resolved++;
    const days = (w.end - w.start) / DAY;
    if (days > MAX_OCCASION_DAYS) return `occasion "${o.name}" spans ${days} days in ${y}; an occasion lasts at most ${MAX_OCCASION_DAYS} days`;
  }
  if (resolved === 0) return `occasion "${o.name}" has no window in any year 2000-2100 (its from and to years do not meet)`;
  return undefined;
}

/** An occasion longer than a quarter of the year says little about when a customer buys. */
export const MAX_OCCASION_DAYS = 92;

// ---- the default calendar --------------------------------------------------------------------------

const sunday = (month: number, nth: number, off = 0): DateSpec => ({ month, weekday: 0, nth, ...(off ? { offset: off } : {}) });
/** Gift occasions on one day: the ten days before it and the day itself (time to choose and ship). */
const giftDay = (name: string, day: DateSpec): Occasion => ({ name, from: shift(day, -10), to: day });
function shift(d: DateSpec, by: number): DateSpec {
  if (typeof d === 'string') {
    const [m, day] = d.split('-').map(Number) as [number, number];
    const t = new Date(Date.UTC(2001, m - 1, day) + by * DAY); // 2001: not a leap year, so days never land on 29 February
    return `${String(t.getUTCMonth() + 1).padStart(2, '0')}-${String(t.getUTCDate()).padStart(2, '0')}`;
  }
  if ('easter' in d) return { easter: d.easter + by };
  return { ...d, offset: (d.offset ?? 0) + by };
}

const VALENTINES: Occasion = { name: "Valentine's Day", from: '02-01', to: '02-14' };
/** Two weeks before Easter Sunday to Easter Monday. */
const EASTER: Occasion = { name: 'Easter', from: { easter: -14 }, to: { easter: 1 } };
/** Black Friday to Cyber Monday (Friday after the fourth Thursday of November, four days). */
const BLACK_FRIDAY: Occasion = { name: 'Black Friday / Cyber Week', from: { month: 11, weekday: 4, nth: 4, offset: 1 }, to: { month: 11, weekday: 4, nth: 4, offset: 4 } };
const CHRISTMAS: Occasion = { name: 'Christmas season', from: '11-15', to: '12-24' };
const MOTHERS_MAY_2ND = giftDay("Mother's Day", sunday(5, 2));
const FATHERS_JUNE_3RD = giftDay("Father's Day", sunday(6, 3));

/** Chinese New Year's day, 2024-2030 (lunar: listed per year); the three weeks before it are gift and new-clothes shopping. */
const CNY_DAYS = { 2024: '02-10', 2025: '01-29', 2026: '02-17', 2027: '02-06', 2028: '01-26', 2029: '02-13', 2030: '02-03' } as const;
const CHINESE_NEW_YEAR: Occasion = { name: 'Chinese New Year', from: { byYear: { ...CNY_DAYS }, offset: -21 }, to: { byYear: { ...CNY_DAYS } } };

/**
 * Default occasions per ISO 3166-1 alpha-2 country; `*` applies to every other country. A country's
 * list replaces `*` (it is not added to it). Sources: the public holiday and retail calendars of each
 * country (Mother's and Father's Day dates differ most).
 */
export const DEFAULT_CALENDAR: Readonly<Record<string, readonly Occasion[]>> = {
  '*': [VALENTINES, EASTER, MOTHERS_MAY_2ND, FATHERS_JUNE_3RD, BLACK_FRIDAY, CHRISTMAS],
  US: [VALENTINES, EASTER, MOTHERS_MAY_2ND, FATHERS_JUNE_3RD, BLACK_FRIDAY, CHRISTMAS],
  // Mothering Sunday: the fourth Sunday of Lent, three weeks before Easter.
  GB: [VALENTINES, EASTER, giftDay("Mother's Day", { easter: -21 }), FATHERS_JUNE_3RD, BLACK_FRIDAY, CHRISTMAS],
  // Father's Day (Vatertag) is Ascension Day, 39 days after Easter.
  DE: [VALENTINES, EASTER, MOTHERS_MAY_2ND, giftDay("Father's Day", { easter: 39 }), BLACK_FRIDAY, CHRISTMAS],
  AT: [VALENTINES, EASTER, MOTHERS_MAY_2ND, giftDay("Father's Day", sunday(6, 2)), BLACK_FRIDAY, CHRISTMAS],
  CH: [VALENTINES, EASTER, MOTHERS_MAY_2ND, giftDay("Father's Day", sunday(6, 1)), BLACK_FRIDAY, CHRISTMAS],
  // Fête des mères: the last Sunday of May (moved to June when it is Whit Sunday; not modelled).
  FR: [VALENTINES, EASTER, giftDay("Mother's Day", sunday(5, -1)), FATHERS_JUNE_3RD, BLACK_FRIDAY, CHRISTMAS],
  // Festa del papà: Saint Joseph's day, 19 March.
  IT: [VALENTINES, EASTER, MOTHERS_MAY_2ND, giftDay("Father's Day", '03-19'), BLACK_FRIDAY, CHRISTMAS],
  NL: [VALENTINES, EASTER, MOTHERS_MAY_2ND, FATHERS_JUNE_3RD, BLACK_FRIDAY, CHRISTMAS],
  // The big online shopping festivals: Singles' Day (11.11), 618 (JD.com's anniversary sale), and the Chinese New Year.
  CN: [CHINESE_NEW_YEAR, VALENTINES, MOTHERS_MAY_2ND, { name: '618 Shopping Festival', from: '06-01', to: '06-18' }, FATHERS_JUNE_3RD, { name: "Singles' Day", from: '11-01', to: '11-11' }],
};

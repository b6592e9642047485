/**
 * Enrichment: technographic, geographic and demographic traits derived from what the events and traits
 * already carry, so that segments can combine them with behaviour ("Android users in Switzerland who
 * viewed product X" is a plain AND of trait and event conditions). Browser, OS and device category from
 * the latest user agent (web) or `context.os` / `context.device` (apps); a screen-size class; country,
 * region and city from the address traits, the events' `context.location` or the IP address (looked up
 * by the service: I/O stays outside the domain); age, age band and life stage from `birthday` / `age`.
 * docs/behavioural.md gives the rules, the breakpoints and where each is an approximation.
 */
import { z } from 'zod';
import type { ComputedTraitDefinition, MessageType } from '../segments/ast.js';
import { parseUserAgent } from '../user-agent.js';
import type { BehaviouralModel, Classification, Features, TraitValue } from './model.js';

export const DEVICE_CATEGORIES = ['mobile', 'tablet', 'desktop', 'smarttv', 'console', 'wearable', 'embedded', 'bot'] as const;
export type DeviceCategory = (typeof DEVICE_CATEGORIES)[number];
export const SCREEN_CLASSES = ['small', 'medium', 'large', 'xlarge'] as const;
export const LIFE_STAGES = ['minor', 'student', 'young adult', 'young professional', 'young family', 'established', 'family', 'pre-retirement', 'retired'] as const;
export type LifeStage = (typeof LIFE_STAGES)[number];

/** The output trait keys other models' segments refer to (micro-segment combinations). */
export const ENRICHMENT_TRAITS = { os: 'enrichment_os', deviceCategory: 'enrichment_device_category', country: 'enrichment_country', region: 'enrichment_region', city: 'enrichment_city' } as const;

const traitKey = z.string().min(1).max(200);
const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number));

export const EnrichmentConfig = z.strictObject({
  /** CSS-pixel widths where the screen classes start: small < b0 ≤ medium < b1 ≤ large < b2 ≤ xlarge. */
  screenBreakpoints: z.tuple([z.number().int().min(1).max(10_000), z.number().int().min(1).max(10_000), z.number().int().min(1).max(10_000)])
    .default([600, 1024, 1440]).refine(ascending, 'three strictly increasing widths'),
  /** Lower bounds of the age bands (years), strictly increasing: [18, 25, …] gives under 18, 18-24, …, 65+. */
  ageBands: z.array(z.number().int().min(1).max(120)).min(1).max(15).default([18, 25, 35, 45, 55, 65]).refine(ascending, 'strictly increasing ages'),
  /** From this age a profile's life stage is "retired" (unless a trait says otherwise). */
  retirementAge: z.number().int().min(40).max(100).default(65),
  birthdayTrait: traitKey.default('birthday'),
  ageTrait: traitKey.default('age'),
  /** Address trait (Segment spec: an object with country, state, city), read before the events' location. */
  addressTrait: traitKey.default('address'),
  /** Number of children (or true / false), for the life stage; absent means unknown. */
  childrenTrait: traitKey.default('children'),
  /** Occupation status ("student", "retired", …), for the life stage. */
  employmentTrait: traitKey.default('employment_status'),
  /** Interest: the most viewed category (properties.category of this event) in the last N days. */
  interestEvent: z.string().min(1).max(200).default('Product Viewed'),
  interestDays: z.number().int().min(1).max(3650).default(180),
  /** Look the country up from the IP address when neither traits nor event context say it. */
  ipLookup: z.boolean().default(true),
});
export type EnrichmentConfig = z.output<typeof EnrichmentConfig>;

// ---- pure rules ----------------------------------------------------------------------------------

/** Screen class of a width in CSS pixels. */
export function screenClass(width: number, breakpoints: readonly [number, number, number]): (typeof SCREEN_CLASSES)[number] | undefined {
  if (!Number.isFinite(width) || width <= 0) return undefined;
  const [md, lg, xl] = breakpoints;
  return width < md ? 'small' : width < lg ? 'medium' : width < xl ? 'large' : 'xlarge';
}

/**
 * CSS-pixel width from a screen report. Browsers report CSS pixels already; the mobile SDKs report
 * physical pixels with a density (Android) or points without one (iOS), so an app's width is divided by
 * its density when there is one.
 */
export function cssWidth(width: number, density: number, app: boolean): number {
  return app && Number.isFinite(density) && density > 0 ? Math.round(width / density) : width;
}

export interface BirthDate { year: number; month: number; day: number }

/** A birthday trait: `YYYY-MM-DD`, optionally with a time (ignored); undefined when not a real date. */
export function parseBirthday(s: string | null | undefined): BirthDate | undefined {
  if (!s) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(s.trim());
  if (!m) return undefined;
  const b = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  // (a real calendar date, as isCalendarDate says, by arithmetic: that check's Date objects were a fifth
  // of the enrichment's classification time)
  return b.month >= 1 && b.month <= 12 && b.day >= 1 && b.day <= daysInMonth(b.year, b.month) ? b : undefined;
}

function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/**
 * Whole years of age on the UTC date of `at`. The birthday itself counts (born on 5 March: a year older
 * from 5 March on); a 29 February birthday counts on 28 February in years without one, as the segment
 * language's `anniversary_within` celebrates it.
 */
export function ageOn(b: BirthDate, at: number): number {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  const bday = b.month === 2 && b.day === 29 && !isLeap(y) ? 28 : b.day;
  return y - b.year - (m < b.month || (m === b.month && day < bday) ? 1 : 0);
}

/** Plausible ages only: a birthday in the future or 120 years back is a data error, not a customer. */
export function plausibleAge(age: number): boolean {
  return Number.isInteger(age) && age >= 0 && age <= 120;
}

/** The band of an age among lower bounds [18, 25, …]: "under 18", "18-24", …, "65+". */
export function ageBand(age: number, bounds: readonly number[]): string {
  const first = bounds[0];
  if (first === undefined) throw new RangeError('age bands need at least one bound');
  if (age < first) return `under ${first}`;
  for (let i = bounds.length - 1; i >= 0; i--) {
    const lo = bounds[i] as number;
    if (age < lo) continue;
    const next = bounds[i + 1];
    return next === undefined ? `${lo}+` : `${lo}-${next - 1}`;
  }
  return `under ${first}`;
}

/** All band labels in order, for the summary. */
export function ageBandLabels(bounds: readonly number[]): string[] {
  return [`under ${bounds[0] ?? 0}`, ...bounds.map((lo, i) => (bounds[i + 1] === undefined ? `${lo}+` : `${lo}-${(bounds[i + 1] as number) - 1}`))];
}

/** Children from a trait: a count, a boolean or yes / no; undefined when unknown. */
export function hasChildren(v: string | null | undefined): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === 'yes') return true;
  if (s === 'false' || s === 'no') return false;
  const n = Number(s);
  return s !== '' && Number.isFinite(n) ? n > 0 : undefined;
}

/**
 * Life stage from age and, where present, children and occupation: an approximation for targeting
 * (an age says little about one person; docs/behavioural.md says what each stage means).
 */
export function lifeStage(age: number, facts: { children?: boolean | undefined; employment?: string | null | undefined }, retirementAge: number): LifeStage {
  const job = facts.employment?.trim().toLowerCase();
  if (age < 18) return 'minor';
  if (job === 'retired' || age >= retirementAge) return 'retired';
  if (job === 'student' && age < 30) return 'student';
  if (age < 25) return 'young adult';
  if (age < 40) return facts.children ? 'young family' : 'young professional';
  if (age < 55) return facts.children ? 'family' : 'established';
  return 'pre-retirement';
}

/**
 * Device category of an app's `context.device` / `context.os`. The Segment mobile SDKs put the platform
 * ("ios", "android") in device.type, so the model name and OS decide between phone and tablet.
 */
export function appDeviceCategory(type: string | null | undefined, model: string | null | undefined, os: string | null | undefined): DeviceCategory {
  const t = type?.trim().toLowerCase() ?? '';
  if ((DEVICE_CATEGORIES as readonly string[]).includes(t)) return t as DeviceCategory;
  if (t === 'tv' || /tvos|android ?tv|fire ?tv|tizen|webos/i.test(os ?? '')) return 'smarttv';
  if (/watch|wear/i.test(`${os ?? ''} ${model ?? ''}`)) return 'wearable';
  if (/^ipad|tablet|^sm-t|^sm-x|^kindle|^kf/i.test(model ?? '') || /ipados/i.test(os ?? '')) return 'tablet';
  if (t === 'ios' || t === 'android' || /^(ios|android)$/i.test(os ?? '')) return 'mobile';
  if (/windows|mac ?os|linux|chrome ?os/i.test(os ?? '')) return 'desktop';
  return 'mobile';
}

/** Web device category: ua-parser-js's device type (no type means a desktop), bots named. */
export function webDevice(ua: string): { browser: string | null; os: string | null; category: DeviceCategory } {
  const p = parseUserAgent(ua);
  const category = (DEVICE_CATEGORIES as readonly string[]).includes(p.deviceType) ? (p.deviceType as DeviceCategory) : 'desktop';
  return { browser: p.browser, os: p.os, category };
}

let countryNames: Map<string, string> | undefined;
/** English country names → ISO codes (from the runtime's Intl data: pure, no files). */
function countryByName(): Map<string, string> {
  if (countryNames) return countryNames;
  const names = new Map<string, string>();
  const dn = new Intl.DisplayNames(['en'], { type: 'region' });
  for (let a = 65; a <= 90; a++) {
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b);
      let name: string | undefined;
      try { name = dn.of(code); } catch { name = undefined; }
      if (name && name !== code && name !== 'Unknown Region') names.set(name.toLowerCase(), canonicalRegion(code));
    }
  }
  for (const [alias, code] of [['great britain', 'GB'], ['england', 'GB'], ['usa', 'US'], ['united states of america', 'US'], ['schweiz', 'CH'], ['suisse', 'CH'], ['svizzera', 'CH'], ['deutschland', 'DE'], ['österreich', 'AT']] as const) names.set(alias, code);
  countryNames = names;
  return names;
}

/** The current code of a region code: deprecated and exceptionally reserved ones (DD, UK, YU) to today's (DE, GB, RS). */
function canonicalRegion(code: string): string {
  try {
    return Intl.getCanonicalLocales(`und-${code}`)[0]?.slice(4) ?? code;
  } catch {
    return code;
  }
}

/** A country as its ISO 3166-1 alpha-2 code where it can be read as one ("ch", "UK", "Switzerland" → "CH", "GB", "CH"); else as given. */
export function normalizeCountry(v: string | null | undefined): string | undefined {
  const s = v?.trim();
  if (!s) return undefined;
  if (/^[A-Za-z]{2}$/.test(s)) return canonicalRegion(s.toUpperCase());
  return countryByName().get(s.toLowerCase()) ?? s;
}

// ---- features --------------------------------------------------------------------------------------

/** Message types in tie order (the first wins when two are equally recent, in whole days). */
type Source = { type: MessageType; tag: string };
const T: Source = { type: 'track', tag: 't' };
const P: Source = { type: 'page', tag: 'p' };
const S: Source = { type: 'screen', tag: 's' };
const WEB: Source[] = [P, T];
const APP: Source[] = [S, T];
const ANY: Source[] = [T, P, S];

interface Latest { name: string; fields: Record<string, string>; filter: string; sources: Source[] }
/** Device and place: each the latest event (per message type) that carries it. */
const LATEST: Latest[] = [
  { name: 'web', fields: { ua: 'context.userAgent' }, filter: 'context.userAgent', sources: WEB },
  { name: 'app', fields: { os: 'context.os.name', type: 'context.device.type', model: 'context.device.model' }, filter: 'context.os.name', sources: APP },
  // Screens only from page views (browsers, CSS pixels) and app screens (pixels and density).
  { name: 'scr', fields: { w: 'context.screen.width', d: 'context.screen.density' }, filter: 'context.screen.width', sources: [P, S] },
  { name: 'loc', fields: { country: 'context.location.country', region: 'context.location.region', city: 'context.location.city' }, filter: 'context.location.country', sources: ANY },
  { name: 'ip', fields: { ip: 'context.ip' }, filter: 'context.ip', sources: ANY },
];

function latestFeatures(l: Latest): ComputedTraitDefinition[] {
  return l.sources.flatMap((s) => {
    const sel = { event: '*', ...(s.type === 'track' ? {} : { messageType: s.type }), where: [{ path: l.filter, op: 'exists' as const }] };
    return [
      { key: `${l.name}_${s.tag}_days`, kind: 'days_since_last' as const, ...sel },
      ...Object.entries(l.fields).map(([f, path]) => ({ key: `${l.name}_${s.tag}_${f}`, kind: 'last' as const, path, ...sel })),
    ];
  });
}

/** A Latest's day columns per source (its tag), read once per run: the loop below is per profile. */
interface LatestCols { tags: string[]; days: Array<Float64Array | undefined> }
function latestCols(features: Features, l: Latest): LatestCols {
  return { tags: l.sources.map((s) => s.tag), days: l.sources.map((s) => features.columns[`${l.name}_${s.tag}_days`]) };
}

/** The message type whose latest carrying event is the most recent (ties: the first listed): its index, or -1. */
function latestSource(l: LatestCols, i: number): number {
  let best = -1, bestDays = NaN;
  for (let k = 0; k < l.days.length; k++) {
    const d = l.days[k]?.[i] ?? NaN;
    if (!Number.isNaN(d) && (best < 0 || d < bestDays)) { best = k; bestDays = d; }
  }
  return best;
}

const NO_TEXT: ArrayLike<string | null> = { length: 0 };

/** The IP features whose addresses the service looks up (`geoip:<feature>` text columns). */
export function ipFeatures(): string[] {
  return ANY.map((s) => `ip_${s.tag}_ip`);
}

function addressOf(json: string | null): { country?: string; region?: string; city?: string } | undefined {
  if (!json) return undefined;
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const o = v as Record<string, unknown>;
    const str = (x: unknown) => (typeof x === 'string' && x.trim() !== '' ? x.trim() : undefined);
    const out: { country?: string; region?: string; city?: string } = {};
    const country = str(o['country']), region = str(o['state']) ?? str(o['region']), city = str(o['city']);
    if (country) out.country = country;
    if (region) out.region = region;
    if (city) out.city = city;
    return country ? out : undefined;
  } catch {
    return undefined;
  }
}

/** One more of a value (its text; `missing` when absent) in a summary count. */
function bump(counts: Record<string, number>, value: TraitValue | undefined, missing: string): void {
  const key = value === undefined ? missing : String(value);
  counts[key] = (counts[key] ?? 0) + 1;
}

export const enrichmentModel: BehaviouralModel<EnrichmentConfig> = {
  id: 'enrichment',
  name: 'Enrichment',
  description: 'Technographic (browser, OS, device category, screen class), geographic (country, region, city) and demographic (age band, life stage) traits from events and traits, plus the main interest.',
  config: EnrichmentConfig,
  features(config) {
    return [
      ...LATEST.flatMap(latestFeatures),
      { key: 'interest', kind: 'most_frequent', event: config.interestEvent, path: 'properties.category', window: { type: 'last', amount: config.interestDays, unit: 'days' } },
    ];
  },
  traitInputs: (config) => [...new Set([config.birthdayTrait, config.ageTrait, config.addressTrait, config.childrenTrait, config.employmentTrait])],
  geoip: (config) => (config.ipLookup ? ipFeatures() : []),
  classify(features: Features, config: EnrichmentConfig, asOf: number): Classification {
    const n = features.profileIds.length;
    const traits: Array<Record<string, TraitValue> | undefined> = new Array(n);
    const [web, app, scr, loc, ip] = (LATEST as [Latest, Latest, Latest, Latest, Latest]).map((l) => latestCols(features, l)) as [LatestCols, LatestCols, LatestCols, LatestCols, LatestCols];
    // Every column looked up once per run (absent: every value null), not by a key built per profile.
    const col = (key: string): ArrayLike<string | null> => features.text[key] ?? NO_TEXT;
    // Each source's field columns, by the source's index in its Latest.
    const fields = (l: LatestCols, name: string, field: string) => l.tags.map((tag) => col(`${name}_${tag}_${field}`));
    const appOs = fields(app, 'app', 'os'), appType = fields(app, 'app', 'type'), appModel = fields(app, 'app', 'model');
    const webUa = fields(web, 'web', 'ua');
    const scrW = fields(scr, 'scr', 'w'), scrD = fields(scr, 'scr', 'd');
    const locCountry = fields(loc, 'loc', 'country'), locRegion = fields(loc, 'loc', 'region'), locCity = fields(loc, 'loc', 'city');
    const ipCountries = ip.tags.map((tag) => col(`geoip:ip_${tag}_ip`));
    const address = col(`trait:${config.addressTrait}`), birthday = col(`trait:${config.birthdayTrait}`), interests = col('interest');
    const children = col(`trait:${config.childrenTrait}`), employment = col(`trait:${config.employmentTrait}`);
    const ageTraits = features.columns[`trait:${config.ageTrait}`];
    const at = (c: ArrayLike<string | null> | undefined, i: number): string | null => c?.[i] ?? null;
    const counts = { device: {} as Record<string, number>, os: {} as Record<string, number>, screen: {} as Record<string, number>, country: {} as Record<string, number>, geoSource: {} as Record<string, number>, ageBand: {} as Record<string, number>, lifeStage: {} as Record<string, number> };
    for (const label of ageBandLabels(config.ageBands)) counts.ageBand[label] = 0;
    for (let i = 0; i < n; i++) {
      const t: Record<string, TraitValue> = {};
      // Device: the more recent of the web user agent and the app's device report (ties: web).
      const w = latestSource(web, i);
      const a = latestSource(app, i);
      const useApp = a >= 0 && (w < 0 || (app.days[a]?.[i] as number) < (web.days[w]?.[i] as number));
      if (useApp) {
        const os = at(appOs[a], i);
        t['enrichment_channel'] = 'app';
        if (os) t['enrichment_os'] = os;
        t['enrichment_device_category'] = appDeviceCategory(at(appType[a], i), at(appModel[a], i), os);
      } else if (w >= 0) {
        const ua = at(webUa[w], i);
        if (ua) {
          const d = webDevice(ua);
          t['enrichment_channel'] = 'web';
          if (d.browser) t['enrichment_browser'] = d.browser;
          if (d.os) t['enrichment_os'] = d.os;
          t['enrichment_device_category'] = d.category;
        }
      }
      const sc = latestSource(scr, i);
      if (sc >= 0) {
        const width = cssWidth(Number(at(scrW[sc], i)), Number(at(scrD[sc], i) ?? NaN), scr.tags[sc] === 's');
        const cls = screenClass(width, config.screenBreakpoints);
        if (cls) { t['enrichment_screen_width'] = width; t['enrichment_screen_class'] = cls; }
      }
      // Place: the address the customer gave, else where the events say the device was, else the IP.
      const addr = addressOf(at(address, i));
      const l = latestSource(loc, i);
      const ipSrc = latestSource(ip, i);
      const ipCountry = ipSrc >= 0 ? at(ipCountries[ipSrc], i) : null;
      let place: { country?: string | undefined; region?: string | undefined; city?: string | undefined; source: string } | undefined;
      if (addr) place = { ...addr, source: 'traits' };
      else if (l >= 0 && normalizeCountry(at(locCountry[l], i))) place = { country: at(locCountry[l], i) ?? undefined, region: at(locRegion[l], i) ?? undefined, city: at(locCity[l], i) ?? undefined, source: 'context' };
      else if (ipCountry) place = { country: ipCountry, source: 'ip' };
      const country = normalizeCountry(place?.country);
      if (place && country) {
        t['enrichment_country'] = country;
        if (place.region) t['enrichment_region'] = place.region;
        if (place.city) t['enrichment_city'] = place.city;
        t['enrichment_geo_source'] = place.source;
      }
      // Age: from the birthday, else a numeric age trait.
      const bday = parseBirthday(at(birthday, i));
      const ageTrait = ageTraits?.[i] ?? NaN;
      const age = bday ? ageOn(bday, asOf) : Number.isNaN(ageTrait) ? NaN : Math.floor(ageTrait);
      if (plausibleAge(age)) {
        t['enrichment_age'] = age;
        t['enrichment_age_band'] = ageBand(age, config.ageBands);
        t['enrichment_life_stage'] = lifeStage(age, { children: hasChildren(at(children, i)), employment: at(employment, i) }, config.retirementAge);
      }
      const interest = at(interests, i);
      if (interest) t['enrichment_interest'] = interest;
      if (Object.keys(t).length === 0) continue;
      traits[i] = t;
      bump(counts.device, t['enrichment_device_category'], '(unknown)');
      bump(counts.os, t['enrichment_os'], '(unknown)');
      bump(counts.screen, t['enrichment_screen_class'], '(unknown)');
      bump(counts.country, t['enrichment_country'], '(unknown)');
      bump(counts.geoSource, t['enrichment_geo_source'], '(none)');
      bump(counts.ageBand, t['enrichment_age_band'], '(unknown)');
      bump(counts.lifeStage, t['enrichment_life_stage'], '(unknown)');
    }
    return { traits, summary: { enriched: traits.filter((x) => x !== undefined).length, ...counts } };
  },
  traits: [
    { key: 'enrichment_channel', description: 'web (a browser user agent) or app (an SDK device report), from the most recent one.' },
    { key: 'enrichment_browser', description: 'Browser of the latest user agent (web only), e.g. Chrome, Mobile Safari.' },
    { key: 'enrichment_os', description: 'Operating system of the latest device, e.g. Android, iOS, Windows, Mac OS.' },
    { key: 'enrichment_device_category', description: 'mobile, tablet, desktop, smarttv, console, wearable, embedded or bot.' },
    { key: 'enrichment_screen_width', description: 'Latest screen width in CSS pixels (apps: pixels / density).' },
    { key: 'enrichment_screen_class', description: 'small, medium, large or xlarge by the screen width (breakpoints in the config).' },
    { key: 'enrichment_country', description: 'ISO country code (where one can be read) from the address trait, else the events\' location, else the IP.' },
    { key: 'enrichment_region', description: 'Region / state, from the same source as the country.' },
    { key: 'enrichment_city', description: 'City, from the same source as the country.' },
    { key: 'enrichment_geo_source', description: 'Where the place came from: traits, context or ip.' },
    { key: 'enrichment_age', description: 'Whole years of age at the run\'s as-of date (birthday trait, else age trait).' },
    { key: 'enrichment_age_band', description: 'Age band, e.g. 25-34.' },
    { key: 'enrichment_life_stage', description: 'Approximate life stage from age, children and occupation traits.' },
    { key: 'enrichment_interest', description: 'Most viewed category in the interest window.' },
    { key: 'enrichment_previous_device_category', description: 'The device category at the previous run (movement).' },
  ],
  groupTrait: 'enrichment_device_category',
  previousTrait: 'enrichment_previous_device_category',
  groups: () => [...DEVICE_CATEGORIES],
};

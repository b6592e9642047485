/**
 * The micro-segment and enrichment models' pure rules (no database): screen breakpoints, age at
 * boundaries (birthday today, 29 February), age bands, life stages, device categories, country names,
 * the choice of the latest device and of the place's source, ranks within a category, every
 * micro-segment rule and its priority, the ready segments in the segment language, configuration
 * errors, and the IP → country lookup of the service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  EnrichmentConfig, ageBand, ageBandLabels, ageOn, appDeviceCategory, cssWidth, enrichmentModel, hasChildren, ipFeatures, lifeStage,
  normalizeCountry, parseBirthday, plausibleAge, screenClass, webDevice,
} from '../../src/domain/behavioural/enrichment.js';
import { RADIX_FROM, countBelow, countBelowRadix, countBelowSearch } from '../../src/domain/behavioural/scores.js';
import { isCalendarDate } from '../../src/domain/segments/ast.js';
import { MicroConfig, PRIMARY_GROUPS, inTopPercent, listTrait, microModel, microSegments, microSegmentsReady, type MicroFacts } from '../../src/domain/behavioural/micro.js';
import { BEHAVIOURAL_MODELS, behaviouralModel, readySegments, type Features } from '../../src/domain/behavioural/index.js';
import { ConditionSchema } from '../../src/domain/segments/ast.js';
import { ipCountry, ipv4Number } from '../../src/services/geoip.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261123);
const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);

const UA = {
  androidPhone: 'Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  windows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  bot: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  tv: 'Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36',
};

// ---- enrichment ----------------------------------------------------------------------------------------

test('screen classes: each breakpoint starts the next class; nonsense widths have none; apps divide by density', () => {
  const bp = EnrichmentConfig.parse({}).screenBreakpoints;
  assert.deepEqual(bp, [600, 1024, 1440]);
  const cases: Array<[number, string | undefined]> = [[1, 'small'], [599, 'small'], [600, 'medium'], [1023, 'medium'], [1024, 'large'], [1439, 'large'], [1440, 'xlarge'], [3840, 'xlarge'], [0, undefined], [-5, undefined], [NaN, undefined]];
  for (const [w, cls] of cases) assert.equal(screenClass(w, bp), cls, `width ${w}`);
  assert.equal(screenClass(700, [800, 900, 1000]), 'small');
  assert.equal(cssWidth(1080, 2.625, true), 411, 'an Android phone: 1080 px at density 2.625 is 411 CSS px');
  assert.equal(screenClass(cssWidth(1080, 2.625, true), bp), 'small');
  assert.equal(cssWidth(1080, 2, false), 1080, 'browsers report CSS pixels already');
  assert.equal(cssWidth(390, NaN, true), 390, 'iOS reports points, without a density');
});

test('birthdays: dates (with or without a time) parse; impossible dates and other text do not', () => {
  assert.deepEqual(parseBirthday('1990-07-14'), { year: 1990, month: 7, day: 14 });
  assert.deepEqual(parseBirthday('1990-07-14T00:00:00Z'), { year: 1990, month: 7, day: 14 });
  assert.deepEqual(parseBirthday('2000-02-29'), { year: 2000, month: 2, day: 29 });
  for (const bad of ['1990-02-30', '1900-02-29', '1990-13-01', '14.07.1990', '1990-7-14', '', null, undefined, '1990-07-14x', '1990-00-10', '1990-04-31', '1990-06-00']) assert.equal(parseBirthday(bad), undefined, `${String(bad)}`);
  // The same real dates as the segment language's check, over every month and day number 0-39 of leap,
  // century and ordinary years.
  for (const y of [1900, 1999, 2000, 2023, 2024, 2100]) {
    for (let m = 0; m <= 13; m++) {
      for (let d = 0; d <= 39; d++) {
        const s = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
        assert.equal(parseBirthday(s) !== undefined, isCalendarDate(s), `${s} is a real date exactly when isCalendarDate says so`);
      }
    }
  }
});

test('age: a year older on the birthday itself; 29 February birthdays count on 28 February in common years', () => {
  const b = { year: 1990, month: 7, day: 14 };
  assert.equal(ageOn(b, at('2026-07-13T23:59:59Z')), 35);
  assert.equal(ageOn(b, at('2026-07-14T00:00:00Z')), 36, 'birthday today');
  assert.equal(ageOn(b, at('2026-12-31T12:00:00Z')), 36);
  const leap = { year: 2000, month: 2, day: 29 };
  assert.equal(ageOn(leap, at('2025-02-27T12:00:00Z')), 24);
  assert.equal(ageOn(leap, at('2025-02-28T00:00:00Z')), 25, 'common year: 28 February');
  assert.equal(ageOn(leap, at('2024-02-28T12:00:00Z')), 23, 'leap year: not yet on 28 February');
  assert.equal(ageOn(leap, at('2024-02-29T00:00:00Z')), 24, 'leap year: on 29 February');
  assert.equal(ageOn(leap, at('2024-03-01T00:00:00Z')), 24);
  assert.equal(ageOn(leap, at('2000-02-29T00:00:00Z')), 0, 'born today');
  assert.equal(ageOn(b, at('1990-07-13T00:00:00Z')), -1, 'before birth');
  assert.ok(plausibleAge(0) && plausibleAge(120) && !plausibleAge(-1) && !plausibleAge(121) && !plausibleAge(NaN) && !plausibleAge(30.5), 'plausible ages are 0..120');
});

test('age: equals the count of birthdays passed (property), and never jumps', () => {
  const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  fc.assert(fc.property(fc.integer({ min: 1920, max: 2020 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 40_000 }), (y, m, d, offset) => {
    const bd = parseBirthday(`${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
    fc.pre(bd !== undefined);
    const b = bd as { year: number; month: number; day: number };
    const when = Date.UTC(y, 0, 1) + offset * DAY;
    // Brute force: walk the anniversaries (29 February → 28 February in common years).
    let passed = 0;
    for (let yy = y + 1; ; yy++) {
      const day = b.month === 2 && b.day === 29 && !isLeap(yy) ? 28 : b.day;
      if (Date.UTC(yy, b.month - 1, day) > when) break;
      passed++;
    }
    // Before the birth date (same calendar year) the formula gives −1, which plausibleAge refuses.
    const birth = Date.UTC(b.year, b.month - 1, b.day);
    assert.equal(ageOn(b, when), passed - (when < birth ? 1 : 0));
    const step = ageOn(b, when + DAY) - ageOn(b, when);
    assert.ok(step === 0 || step === 1, `a day later the age grows by 0 or 1, not ${step}`);
  }), { seed: SEED, numRuns: 400 });
});

test('age bands at their boundaries, custom bands, and the labels in order', () => {
  const bands = EnrichmentConfig.parse({}).ageBands;
  const cases: Array<[number, string]> = [[0, 'under 18'], [17, 'under 18'], [18, '18-24'], [24, '18-24'], [25, '25-34'], [34, '25-34'], [35, '35-44'], [54, '45-54'], [55, '55-64'], [64, '55-64'], [65, '65+'], [120, '65+']];
  for (const [age, band] of cases) assert.equal(ageBand(age, bands), band, `age ${age}`);
  assert.deepEqual(ageBandLabels(bands), ['under 18', '18-24', '25-34', '35-44', '45-54', '55-64', '65+']);
  assert.equal(ageBand(29, [21, 30]), '21-29');
  assert.equal(ageBand(30, [21, 30]), '30+');
  assert.equal(ageBand(20, [21, 30]), 'under 21');
  assert.throws(() => ageBand(30, []), /at least one bound/);
});

test('life stages: age, children and occupation; unknown children count as none', () => {
  const R = 65;
  const cases: Array<[number, { children?: boolean; employment?: string }, string]> = [
    [15, {}, 'minor'], [17, { employment: 'student' }, 'minor'], [20, {}, 'young adult'], [22, { employment: 'Student' }, 'student'],
    [29, { employment: 'student' }, 'student'], [30, { employment: 'student' }, 'young professional'], [24, {}, 'young adult'],
    [25, {}, 'young professional'], [39, { children: true }, 'young family'], [40, {}, 'established'], [40, { children: true }, 'family'],
    [54, { children: false }, 'established'], [55, { children: true }, 'pre-retirement'], [64, {}, 'pre-retirement'], [65, {}, 'retired'],
    [58, { employment: 'retired' }, 'retired'], [90, { employment: 'employed' }, 'retired'],
  ];
  for (const [age, facts, stage] of cases) assert.equal(lifeStage(age, facts, R), stage, `${age} ${JSON.stringify(facts)}`);
  assert.equal(lifeStage(66, {}, 67), 'pre-retirement', 'the retirement age is configurable');
  const kids: Array<[string | null, boolean | undefined]> = [['2', true], ['0', false], ['true', true], ['No', false], ['yes', true], ['', undefined], ['many', undefined], [null, undefined]];
  for (const [v, want] of kids) assert.equal(hasChildren(v), want, `children ${String(v)}`);
});

test('device categories: user agents through ua-parser-js, app device reports by platform and model', () => {
  assert.deepEqual(webDevice(UA.androidPhone), { browser: 'Chrome', os: 'Android', category: 'mobile' });
  assert.deepEqual(webDevice(UA.iphone), { browser: 'Mobile Safari', os: 'iOS', category: 'mobile' });
  assert.equal(webDevice(UA.ipad).category, 'tablet');
  assert.deepEqual(webDevice(UA.windows), { browser: 'Chrome', os: 'Windows', category: 'desktop' });
  assert.equal(webDevice(UA.bot).category, 'bot');
  assert.equal(webDevice(UA.tv).category, 'smarttv');
  const app: Array<[string | null, string | null, string | null, string]> = [
    ['ios', 'iPhone15,2', 'iOS', 'mobile'], ['ios', 'iPad13,4', 'iOS', 'tablet'], ['android', 'SM-S911B', 'Android', 'mobile'], ['android', 'SM-T870', 'Android', 'tablet'],
    ['tablet', null, null, 'tablet'], [null, null, 'Android', 'mobile'], [null, null, 'tvOS', 'smarttv'], [null, 'Watch6,1', 'watchOS', 'wearable'], [null, null, 'Windows', 'desktop'],
  ];
  for (const [type, model, os, want] of app) assert.equal(appDeviceCategory(type, model, os), want, `${type} ${model} ${os}`);
});

test('countries: codes upper-cased, English and common local names to codes, anything else kept', () => {
  const cases: Array<[string | null, string | undefined]> = [['ch', 'CH'], ['CH', 'CH'], ['Switzerland', 'CH'], ['switzerland', 'CH'], ['Schweiz', 'CH'], ['United Kingdom', 'GB'], ['UK', 'GB'], ['Germany', 'DE'], ['DD', 'DE'], ['Myanmar (Burma)', 'MM'], ['United States', 'US'], ['Atlantis', 'Atlantis'], ['', undefined], ['  ', undefined], [null, undefined]];
  for (const [v, want] of cases) assert.equal(normalizeCountry(v), want, `${String(v)}`);
});

/** Features for synthetic profiles: numeric columns and text columns, n profiles. */
function feats(n: number, columns: Record<string, number[]>, text: Record<string, Array<string | null>>): Features {
  return {
    profileIds: Array.from({ length: n }, (_, i) => `p${i}`),
    columns: Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, Float64Array.from(v)])),
    text,
  };
}

test('enrichment classification: the latest device (ties: web), the place from traits, then context, then IP; age from birthday or age', () => {
  const N = NaN;
  const f = feats(6, {
    web_p_days: [5, 3, N, 2, N, N], app_s_days: [3, 3, 1, N, N, N], scr_p_days: [N, N, N, 2, N, N], scr_s_days: [N, N, 1, N, N, N],
    loc_t_days: [1, 1, N, 4, N, N], ip_t_days: [1, 1, 1, 1, 1, N], 'trait:age': [N, N, N, 44.9, N, N],
  }, {
    web_p_ua: [UA.windows, UA.windows, null, UA.ipad, null, null],
    app_s_os: ['Android', 'Android', 'iOS', null, null, null], app_s_type: ['android', 'android', 'ios', null, null, null], app_s_model: ['SM-S911B', 'SM-S911B', 'iPhone15,2', null, null, null],
    scr_p_w: [null, null, null, '820', null, null], scr_s_w: [null, null, '1179', null, null, null], scr_s_d: [null, null, '3', null, null, null],
    loc_t_country: ['Switzerland', 'DE', null, 'FR', null, null], loc_t_region: ['Zürich', 'Berlin', null, null, null, null], loc_t_city: ['Zürich', 'Berlin', null, 'Paris', null, null],
    ip_t_ip: ['130.59.31.80', '8.8.8.8', '8.8.8.8', '8.8.8.8', '130.59.31.80', null], 'geoip:ip_t_ip': ['CH', 'US', 'US', 'US', 'CH', null],
    'trait:address': [null, '{"country":"at","state":"Wien","city":"Vienna"}', null, '{"city":"Lyon"}', null, null],
    'trait:birthday': ['1990-07-14', null, '2000-02-29', null, 'not a date', null],
    'trait:children': ['2', null, null, null, null, null], 'trait:employment_status': [null, null, 'student', null, null, null],
  });
  const config = EnrichmentConfig.parse({});
  const asOf = at('2026-10-31T23:59:59Z');
  const { traits, summary } = enrichmentModel.classify(f, config, asOf);
  const [a, b, c, d, e, none] = traits;
  assert.equal(a?.['enrichment_channel'], 'app', 'the app report (3 days) is more recent than the browser (5 days)');
  assert.equal(a?.['enrichment_os'], 'Android');
  assert.equal(a?.['enrichment_device_category'], 'mobile');
  assert.equal(a?.['enrichment_browser'], undefined);
  assert.deepEqual([a?.['enrichment_country'], a?.['enrichment_region'], a?.['enrichment_city'], a?.['enrichment_geo_source']], ['CH', 'Zürich', 'Zürich', 'context']);
  assert.deepEqual([a?.['enrichment_age'], a?.['enrichment_age_band'], a?.['enrichment_life_stage']], [36, '35-44', 'young family']);
  assert.equal(b?.['enrichment_channel'], 'web', 'a tie in days goes to the browser');
  assert.deepEqual([b?.['enrichment_browser'], b?.['enrichment_os'], b?.['enrichment_device_category']], ['Chrome', 'Windows', 'desktop']);
  assert.deepEqual([b?.['enrichment_country'], b?.['enrichment_region'], b?.['enrichment_city'], b?.['enrichment_geo_source']], ['AT', 'Wien', 'Vienna', 'traits'], 'the address trait beats the events\' location, all three fields from it');
  assert.equal(b?.['enrichment_age'], undefined);
  assert.deepEqual([c?.['enrichment_os'], c?.['enrichment_screen_width'], c?.['enrichment_screen_class']], ['iOS', 393, 'small']);
  assert.deepEqual([c?.['enrichment_country'], c?.['enrichment_geo_source'], c?.['enrichment_region']], ['US', 'ip', undefined], 'only the IP says where');
  assert.deepEqual([c?.['enrichment_age'], c?.['enrichment_life_stage']], [26, 'student'], '29 February 2000 → 26 on 31 October 2026');
  assert.deepEqual([d?.['enrichment_device_category'], d?.['enrichment_screen_class'], d?.['enrichment_country'], d?.['enrichment_city']], ['tablet', 'medium', 'FR', 'Paris'], 'an address without a country does not count');
  assert.deepEqual([d?.['enrichment_age'], d?.['enrichment_age_band']], [44, '35-44'], 'the age trait, floored, when there is no birthday');
  assert.deepEqual(e, { enrichment_country: 'CH', enrichment_geo_source: 'ip' }, 'an unreadable birthday gives no age');
  assert.equal(none, undefined, 'nothing known: the model says nothing');
  assert.equal(summary['enriched'], 5);
  assert.deepEqual(summary['geoSource'], { context: 2, traits: 1, ip: 2 });
  // Without the service's lookup column there is no IP country.
  const noGeo = { ...f, text: Object.fromEntries(Object.entries(f.text).filter(([k]) => !k.startsWith('geoip:'))) };
  assert.equal(enrichmentModel.classify(noGeo, config, asOf).traits[4], undefined);
  assert.deepEqual(enrichmentModel.geoip?.(config), ipFeatures());
  assert.deepEqual(enrichmentModel.geoip?.(EnrichmentConfig.parse({ ipLookup: false })), []);
});

test('enrichment features: every message type that carries a device or place, and the interest window', () => {
  const defs = enrichmentModel.features(EnrichmentConfig.parse({ interestDays: 90 }), 0);
  const keys = defs.map((d) => d.key);
  assert.equal(new Set(keys).size, keys.length, 'unique keys');
  for (const k of ['web_p_ua', 'web_t_ua', 'app_s_os', 'app_t_os', 'scr_p_w', 'scr_s_d', 'loc_t_country', 'loc_p_city', 'loc_s_region', ...ipFeatures()]) assert.ok(keys.includes(k), `feature ${k}`);
  const ua = defs.find((d) => d.key === 'web_p_ua');
  assert.deepEqual(ua, { key: 'web_p_ua', kind: 'last', path: 'context.userAgent', event: '*', messageType: 'page', where: [{ path: 'context.userAgent', op: 'exists' }] });
  assert.deepEqual(defs.find((d) => d.key === 'interest')?.window, { type: 'last', amount: 90, unit: 'days' });
  assert.deepEqual(enrichmentModel.traitInputs?.(EnrichmentConfig.parse({})), ['birthday', 'age', 'address', 'children', 'employment_status']);
});

// ---- micro-segments ----------------------------------------------------------------------------------

test('count below: ties share, order does not matter; top X % is integer-exact (property)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 120 }), fc.constantFrom(1, 5, 10, 20, 33.3, 50), (values, pct) => {
    const below = [...countBelow(values)];
    assert.deepEqual(below, values.map((v) => values.filter((w) => w < v).length));
    const n = values.length;
    for (const b of below) assert.equal(inTopPercent(b, n, pct), b / n >= 1 - pct / 100 - 1e-12);
  }), { seed: SEED, numRuns: 300 });
  // Doubles with repeats, negative zero (ties with zero) and infinities: the binary search agrees with counting.
  const pool = [-0, 0, 0.1, 0.30000000000000004, 0.3, -2.5, 1e300, -1e-300, Infinity, -Infinity];
  fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(...pool), fc.double({ noNaN: true })), { minLength: 0, maxLength: 80 }), (values) => {
    assert.deepEqual([...countBelow(values)], values.map((v) => values.filter((w) => w < v).length), 'count below of doubles');
  }), { seed: SEED, numRuns: 300 });
  assert.throws(() => countBelow([1, NaN]), /value 1 is not a number/);
  // Numbers apart only in their lowest bits (each 16-bit digit of the radix sort decides somewhere).
  const close = [1, 1 + 2 ** -52, 1 + 2 ** -47, 1 + 2 ** -40, 1 + 2 ** -36, 1 + 2 ** -33, 1 + 2 ** -30, 1 + 2 ** -24, -1 - 2 ** -40, -1 - 2 ** -52, 5e-324, -5e-324, 2 ** 53, -(2 ** 53)];
  // The radix sort (from RADIX_FROM values on) against counting, small arrays too, and against the
  // search on large ones with many ties, negative zeros, infinities, subnormals and whole numbers.
  fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(...pool, ...close), fc.constantFrom(...close), fc.double({ noNaN: true }), fc.integer()), { minLength: 0, maxLength: 80 }), (values) => {
    assert.deepEqual([...countBelowRadix(values)], values.map((v) => values.filter((w) => w < v).length), 'radix count below');
  }), { seed: SEED, numRuns: 300 });
  const rand = fc.sample(fc.oneof(fc.constantFrom(...pool, ...close), fc.integer({ min: -50, max: 50 }), fc.double({ noNaN: true, min: -1e6, max: 1e6 })), { seed: SEED, numRuns: 3 * RADIX_FROM });
  const big = Float64Array.from(rand);
  assert.deepEqual([...countBelow(big)], [...countBelowSearch(big)], 'radix and search agree on many values');
  for (const i of [0, 1, 17, 999, big.length - 1]) assert.equal(countBelow(big)[i], big.filter((w) => w < (big[i] as number)).length, `value ${i} of many`);
  // Ten buyers with distinct spend: the top 10 % is exactly the biggest; 20 % the two biggest.
  const ten = countBelow([5, 1, 9, 3, 7, 2, 8, 4, 6, 10]);
  assert.deepEqual([...ten].map((b) => inTopPercent(b, 10, 10)), [false, false, false, false, false, false, false, false, false, true]);
  assert.equal([...ten].filter((b) => inTopPercent(b, 10, 20)).length, 2);
  assert.equal(inTopPercent(0, 0, 10), false);
});

const base: MicroFacts = { orders: 3, recentOrders: 1, couponOrders: 0, discountedOrders: 0, daysSinceFirst: 400, daysSinceLast: 10, valueQuintile: 3, topCategories: [] };

test('micro-segment rules: each threshold at its boundary, and the primary order', () => {
  const c = MicroConfig.parse({});
  assert.deepEqual({ f: c.frequentOrders, fd: c.frequentDays, k: c.couponOrders, s: c.discountShare, m: c.discountMinOrders, x: c.topSpenderPercent, q: c.highValueQuintile, r: c.atRiskDays, l: c.lostDays, ft: c.firstTimeDays },
    { f: 4, fd: 365, k: 2, s: 0.6, m: 2, x: 10, q: 5, r: 120, l: 365, ft: 30 });
  const is = (patch: Partial<MicroFacts>) => microSegments({ ...base, ...patch }, c);
  assert.deepEqual(is({}), ['other buyer']);
  assert.deepEqual(is({ recentOrders: 3 }), ['other buyer']);
  assert.deepEqual(is({ recentOrders: 4 }), ['frequent buyer']);
  assert.deepEqual(is({ couponOrders: 1 }), ['other buyer']);
  assert.deepEqual(is({ couponOrders: 2 }), ['coupon user']);
  assert.deepEqual(is({ orders: 2, discountedOrders: 1 }), ['other buyer'], '1 of 2 is 50 % < 60 %');
  assert.deepEqual(is({ orders: 5, discountedOrders: 3 }), ['discount lover'], '3 of 5 = 60 %');
  assert.deepEqual(is({ orders: 1, discountedOrders: 1, daysSinceFirst: 5 }), ['other buyer'], 'one discounted order is not enough orders');
  assert.deepEqual(is({ topCategories: ['Shoes'] }), ['top spender']);
  assert.deepEqual(is({ valueQuintile: 5, daysSinceLast: 119 }), ['other buyer']);
  assert.deepEqual(is({ valueQuintile: 5, daysSinceLast: 120 }), ['at-risk high value']);
  assert.deepEqual(is({ valueQuintile: 5, daysSinceLast: 364 }), ['at-risk high value']);
  assert.deepEqual(is({ valueQuintile: 5, daysSinceLast: 365 }), ['other buyer'], 'a year without an order: lost, not at risk');
  assert.deepEqual(is({ valueQuintile: 4, daysSinceLast: 200 }), ['other buyer']);
  assert.deepEqual(is({ orders: 1, daysSinceFirst: 29, daysSinceLast: 29 }), ['other buyer'], 'too early to call it');
  assert.deepEqual(is({ orders: 1, daysSinceFirst: 30, daysSinceLast: 30 }), ['one-time buyer']);
  // Every rule at once: listed in PRIMARY_GROUPS order, so the first is the primary.
  const all = is({ orders: 1, recentOrders: 4, couponOrders: 2, discountedOrders: 1, daysSinceFirst: 200, daysSinceLast: 200, valueQuintile: 5, topCategories: ['Books'] });
  assert.deepEqual(all, PRIMARY_GROUPS.filter((g) => g !== 'other buyer' && g !== 'discount lover'));
  const lover = MicroConfig.parse({ discountMinOrders: 1 });
  assert.ok(microSegments({ ...base, orders: 1, discountedOrders: 1 }, lover).includes('discount lover'), 'discountMinOrders 1 lets a single discounted order count');
  assert.equal(listTrait(['a', 'b']), '|a|b|');
});

test('micro classification: value quintiles, top spenders per category (ties share), the top category, non-buyers say nothing', () => {
  const N = NaN;
  // Eleven profiles: ten buyers with distinct revenue, one without orders.
  const n = 11;
  const ords = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0];
  const f = feats(n, {
    orders: ords, recent_orders: ords, coupon_orders: new Array(n).fill(0), discounted_orders: new Array(n).fill(0),
    revenue: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, N], first_days: [...new Array(10).fill(50), N], last_days: [...new Array(10).fill(5), N],
    'spend:Books': [0, 0, 0, 0, 0, 0, 0, 0, 30, 30, N], 'spend:Shoes': [1, 2, 3, 4, 5, 6, 7, 8, 9, 100, N],
  }, {});
  const { traits, summary } = microModel.classify(f, MicroConfig.parse({ topSpenderPercent: 50 }), 0);
  assert.equal(traits[10], undefined);
  assert.deepEqual(traits.slice(0, 10).map((t) => t?.['micro_value_quintile']), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  // Books: two buyers tied at 30 → both have 0 below of 2 → not in the top 50 % (needs ≥ 1 of 2 below).
  assert.deepEqual(traits.slice(0, 10).map((t) => t?.['micro_top_spender_categories'] ?? null), [null, null, null, null, null, '|Shoes|', '|Shoes|', '|Shoes|', '|Shoes|', '|Shoes|']);
  assert.equal(traits[8]?.['micro_top_category'], 'Books', '30 in Books beats 9 in Shoes');
  assert.equal(traits[8]?.['micro_category_spend_rank'], 0, 'tied with the only other Books buyer: nobody spends less');
  assert.equal(traits[9]?.['micro_top_category'], 'Shoes');
  assert.equal(traits[9]?.['micro_category_spend_rank'], 90);
  assert.equal(traits[9]?.['micro_top_category_spend'], 100);
  assert.equal(traits[0]?.['micro_primary'], 'one-time buyer', 'one order, 50 days ago');
  assert.equal(traits[1]?.['micro_primary'], 'other buyer');
  assert.equal(traits[9]?.['micro_primary'], 'frequent buyer');
  assert.equal(traits[9]?.['micro_segments'], '|frequent buyer|top spender|');
  assert.deepEqual((summary['categories'] as Record<string, unknown>)['Books'], { buyers: 2, topSpenders: 0, minTopSpend: null });
  assert.deepEqual((summary['categories'] as Record<string, unknown>)['Shoes'], { buyers: 10, topSpenders: 5, minTopSpend: 6 });
  assert.equal(summary['buyers'], 10);
});

test('micro features: the discovered categories (or the configured ones), capped; discovery only without a list', () => {
  const c = MicroConfig.parse({ maxCategories: 2 });
  const disc = microModel.discover?.(c);
  assert.deepEqual(disc, { key: 'categories', kind: 'unique_list', event: 'Order Completed', path: 'products.category' });
  const keys = microModel.features(c, 0, ['Books', 'Home', 'Shoes']).map((d) => d.key);
  assert.deepEqual(keys.filter((k) => k.startsWith('spend:')), ['spend:Books', 'spend:Home']);
  const listed = MicroConfig.parse({ categories: ['Toys'] });
  assert.equal(microModel.discover?.(listed), undefined);
  const spend = microModel.features(listed, 0, ['Books']).filter((d) => d.key.startsWith('spend:'));
  assert.deepEqual(spend, [{ key: 'spend:Toys', kind: 'sum', event: 'Order Completed', path: 'products.price', where: [{ path: 'products.category', op: 'eq', value: 'Toys' }] }]);
});

test('ready segments: valid segment language, unique keys that never collide with the group segments; combos are AND of traits and an event', () => {
  const c = MicroConfig.parse({ categories: ['Shoes', 'Home & Garden'], combos: [{ key: 'iphone_fr_shoe_viewers', name: 'iOS in France viewing shoes', os: 'iOS', country: 'FR', category: 'Shoes', productId: 'p-1001', days: 7 }] });
  const ready = [...readySegments(microModel, microModel.groups(c)), ...microSegmentsReady(c)];
  const keys = ready.map((s) => s.key);
  assert.equal(new Set(keys).size, keys.length, `unique keys: ${keys.join(', ')}`);
  for (const s of ready) {
    assert.ok(s.key.startsWith('micro_') && /^[a-z][a-z0-9_]{0,62}$/.test(s.key), `key ${s.key}`);
    const parsed = ConditionSchema.safeParse(s.condition);
    assert.ok(parsed.success, `${s.key}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues[0])}`);
  }
  assert.ok(keys.includes('micro_top_spenders_home_garden'), 'a segment per configured category');
  assert.deepEqual(ready.find((s) => s.key === 'micro_top_spenders_home_garden')?.condition, { type: 'trait', trait: 'micro_top_spender_categories', op: 'contains', value: '|Home & Garden|' });
  assert.deepEqual(ready.find((s) => s.key === 'micro_iphone_fr_shoe_viewers')?.condition, { type: 'and', conditions: [
    { type: 'trait', trait: 'enrichment_os', op: 'eq', value: 'iOS' },
    { type: 'trait', trait: 'enrichment_country', op: 'eq', value: 'FR' },
    { type: 'event', event: 'Product Viewed', where: [{ path: 'properties.product_id', op: 'eq', value: 'p-1001' }, { path: 'properties.category', op: 'eq', value: 'Shoes' }], count: { op: 'at_least', value: 1 }, window: { type: 'last', amount: 7, unit: 'days' } },
  ] });
  assert.deepEqual(ready.find((s) => s.key === 'micro_first_time_no_repeat')?.condition, { type: 'and', conditions: [
    { type: 'event', event: 'Order Completed', count: { op: 'exactly', value: 1 } },
    { type: 'first_performed', event: 'Order Completed', op: 'more_than_ago', amount: 30, unit: 'days' },
  ] });
  assert.deepEqual(ready.find((s) => s.key === 'micro_frequent_buyers')?.condition, { type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 4 }, window: { type: 'last', amount: 365, unit: 'days' } });
  // The defaults carry two documented combinations.
  assert.deepEqual(MicroConfig.parse({}).combos.map((x) => x.key), ['android_ch_product_viewers', 'mobile_de_cart_adders']);
});

test('configuration errors say which field and why', () => {
  const issue = (schema: { safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, v: unknown) => {
    const r = schema.safeParse(v);
    assert.equal(r.success, false, `should refuse ${JSON.stringify(v)}`);
    const i = r.error?.issues[0];
    return `${(i?.path ?? []).join('.')}: ${i?.message ?? ''}`;
  };
  assert.match(issue(MicroConfig, { atRiskDays: 400, lostDays: 365 }), /^atRiskDays: atRiskDays must be below lostDays/);
  assert.match(issue(MicroConfig, { discountShare: 1.5 }), /^discountShare:/);
  assert.match(issue(MicroConfig, { frequentOrders: 0 }), /^frequentOrders:/);
  assert.match(issue(MicroConfig, { categoryPath: 'properties.category' }), /^categoryPath: a line-item path/);
  assert.match(issue(MicroConfig, { bogus: 1 }), /bogus|Unrecognized/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'x', name: 'X', event: 'Product Viewed' }] }), /^combos\.0: a combination needs a device part/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'x', name: 'X', country: 'ch' }] }), /^combos\.0\.country: an ISO 3166-1 alpha-2/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'Bad-Key', name: 'X', country: 'CH' }] }), /^combos\.0\.key:/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'x', name: 'X', country: 'CH' }, { key: 'x', name: 'Y', os: 'iOS' }] }), /^combos: combination keys must be unique/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'frequent_buyers', name: 'X', country: 'CH' }] }), /^combos: a combination key may not be one/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'top_spenders_shoes', name: 'X', country: 'CH' }] }), /^combos: a combination key may not be one/);
  assert.match(issue(MicroConfig, { combos: [{ key: 'x', name: 'X', deviceCategory: 'phone' }] }), /^combos\.0\.deviceCategory:/);
  assert.match(issue(EnrichmentConfig, { screenBreakpoints: [600, 600, 1440] }), /^screenBreakpoints: three strictly increasing widths/);
  assert.match(issue(EnrichmentConfig, { screenBreakpoints: [600, 1024] }), /^screenBreakpoints/);
  assert.match(issue(EnrichmentConfig, { ageBands: [18, 30, 25] }), /^ageBands: strictly increasing ages/);
  assert.match(issue(EnrichmentConfig, { ageBands: [] }), /^ageBands:/);
  assert.match(issue(EnrichmentConfig, { retirementAge: 20 }), /^retirementAge:/);
});

test('both models are registered with their group traits', () => {
  assert.equal(behaviouralModel('micro'), microModel);
  assert.equal(behaviouralModel('enrichment'), enrichmentModel);
  assert.ok(BEHAVIOURAL_MODELS.includes(microModel as never) && BEHAVIOURAL_MODELS.includes(enrichmentModel as never), 'in the list');
  assert.equal(microModel.groupTrait, 'micro_primary');
  assert.equal(enrichmentModel.groupTrait, 'enrichment_device_category');
  for (const m of [microModel, enrichmentModel]) {
    const keys = m.traits.map((t) => t.key);
    assert.ok(keys.includes(m.groupTrait) && keys.includes(m.previousTrait), `${m.id} lists its group and previous traits`);
    assert.ok(keys.every((k) => k.startsWith(`${m.id}_`)), `${m.id} traits carry the model's prefix`);
  }
});

// ---- IP → country (the service's lookup) -------------------------------------------------------------

test('IP → country: public IPv4 (also IPv4-mapped IPv6) from the shipped database; private, malformed and IPv6 addresses have none', () => {
  assert.equal(ipv4Number('1.2.3.4'), 16909060);
  assert.equal(ipv4Number('255.255.255.255'), 4294967295);
  for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '', '2001:620::1']) assert.equal(ipv4Number(bad), undefined, bad);
  // Stable allocations: Google's resolver (US), SWITCH, the Swiss research network (CH).
  assert.equal(ipCountry('8.8.8.8'), 'US');
  assert.equal(ipCountry('130.59.31.80'), 'CH');
  assert.equal(ipCountry('::ffff:130.59.31.80'), 'CH');
  for (const none of ['10.1.2.3', '172.16.5.4', '192.168.1.1', '127.0.0.1', '100.64.0.1', '169.254.1.1', '224.0.0.1', '0.0.0.0', '2001:620::1', 'nonsense', '', null, undefined]) assert.equal(ipCountry(none), null, String(none));
});

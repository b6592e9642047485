/**
 * Pure rules of the funnel, occasion and benefit models (no database): the occasion calendar's date
 * arithmetic against known dates and a brute-force day walk, every branch of each rule, the
 * classification of hand-made features, and configuration errors that name the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConditionSchema } from '../../src/domain/segments/ast.js';
import type { Features } from '../../src/domain/behavioural/model.js';
import { BEHAVIOURAL_MODELS, behaviouralModel } from '../../src/domain/behavioural/index.js';
import { DEFAULT_CALENDAR, DateSpec, Occasion, blackFriday, easterSunday, nthWeekday, occasionProblem, occasionWindow, occasionWindows, resolveDate } from '../../src/domain/behavioural/calendar.js';
import { FUNNEL_STAGES, FunnelConfig, funnelModel, funnelStage, funnelSummary, type FunnelSignals } from '../../src/domain/behavioural/funnel.js';
import { OccasionConfig, countryFrom, holidayNames, holidayOccasions, holidayPlan, monthDayOf, nextAnniversary, occasionModel, timingLabel } from '../../src/domain/behavioural/occasion.js';
import { BenefitConfig, behaviourBenefit, benefitModel, benefitSegment, categoryPriceIndexes, median, priceIndexes, priceSensitivity, statedBenefit } from '../../src/domain/behavioural/benefit.js';

const SEED = Number(process.env['FC_SEED'] ?? 20261124);
const DAY = 86_400_000;
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString().slice(0, 10));
/** The zod error of a config, as "path: message" lines. */
function configErrors(schema: { safeParse(x: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, input: unknown): string {
  const r = schema.safeParse(input);
  assert.equal(r.success, false, `config ${JSON.stringify(input)} should be refused`);
  return (r.error?.issues ?? []).map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('\n');
}

// ---- calendar --------------------------------------------------------------------------------------

test('calendar: Black Friday is the Friday after the fourth Thursday of November (known dates and a brute-force walk, 1900-2300)', () => {
  const known: Record<number, string> = { 2012: '2012-11-23', 2018: '2018-11-23', 2019: '2019-11-29', 2020: '2020-11-27', 2023: '2023-11-24', 2024: '2024-11-29', 2025: '2025-11-28', 2026: '2026-11-27', 2027: '2027-11-26', 2028: '2028-11-24' };
  for (const [y, d] of Object.entries(known)) assert.equal(iso(blackFriday(Number(y))), d, `Black Friday ${y}`);
  for (let y = 1900; y <= 2300; y++) {
    let thursdays = 0;
    let fourth = NaN;
    for (let d = 1; d <= 30; d++) {
      if (new Date(Date.UTC(y, 10, d)).getUTCDay() === 4 && ++thursdays === 4) fourth = Date.UTC(y, 10, d);
    }
    assert.equal(blackFriday(y), fourth + DAY, `Black Friday ${y}`);
  }
});

test('calendar: Western Easter on known dates, including the earliest (22 March) and latest (25 April) possible', () => {
  const known: Record<number, string> = { 1818: '1818-03-22', 2000: '2000-04-23', 2008: '2008-03-23', 2019: '2019-04-21', 2024: '2024-03-31', 2025: '2025-04-20', 2026: '2026-04-05', 2027: '2027-03-28', 2038: '2038-04-25', 2285: '2285-03-22' };
  for (const [y, d] of Object.entries(known)) assert.equal(iso(easterSunday(Number(y))), d, `Easter ${y}`);
  for (let y = 1900; y <= 2300; y++) {
    const e = new Date(easterSunday(y));
    assert.equal(e.getUTCDay(), 0, `Easter ${y} is a Sunday`);
    const md = (e.getUTCMonth() + 1) * 100 + e.getUTCDate();
    assert.ok(md >= 322 && md <= 425, `Easter ${y} between 22 March and 25 April: ${iso(e.getTime())}`);
  }
});

test('calendar: nth and last weekday of a month equal a day-by-day walk, leap Februaries included (property)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 1900, max: 2200 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 6 }), fc.constantFrom(-1, 1, 2, 3, 4),
    (y, m, wd, nth) => {
      const matches: number[] = [];
      for (let t = Date.UTC(y, m - 1, 1); new Date(t).getUTCMonth() === m - 1; t += DAY) if (new Date(t).getUTCDay() === wd) matches.push(t);
      assert.equal(nthWeekday(y, m, wd, nth), nth === -1 ? matches[matches.length - 1] : matches[nth - 1]);
    }), { seed: SEED, numRuns: 500 });
  // The last Sunday of February in leap years can be the 29th.
  assert.equal(iso(nthWeekday(2032, 2, 0, -1)), '2032-02-29');
  assert.equal(iso(nthWeekday(2024, 2, 0, -1)), '2024-02-25');
  assert.equal(iso(nthWeekday(2100, 2, 0, -1)), '2100-02-28', '2100 is not a leap year');
});

test('calendar: windows of the default occasions, year-crossing windows and per-year dates', () => {
  const win = (o: Occasion, y: number) => { const w = occasionWindow(o, y); return w && [iso(w.start), iso(w.end - DAY)]; };
  const find = (country: string, name: string) => (DEFAULT_CALENDAR[country] ?? []).find((o) => o.name === name) as Occasion;
  assert.deepEqual(win(find('*', 'Christmas season'), 2025), ['2025-11-15', '2025-12-24']);
  assert.deepEqual(win(find('*', 'Black Friday / Cyber Week'), 2025), ['2025-11-28', '2025-12-01'], 'Black Friday to Cyber Monday');
  assert.deepEqual(win(find('US', "Mother's Day"), 2026), ['2026-04-30', '2026-05-10'], 'second Sunday of May and the ten days before');
  assert.deepEqual(win(find('GB', "Mother's Day"), 2025), ['2025-03-20', '2025-03-30'], 'Mothering Sunday: three weeks before Easter');
  assert.deepEqual(win(find('FR', "Mother's Day"), 2025), ['2025-05-15', '2025-05-25'], 'last Sunday of May');
  assert.deepEqual(win(find('DE', "Father's Day"), 2025), ['2025-05-19', '2025-05-29'], 'Ascension Day');
  assert.deepEqual(win(find('CN', "Singles' Day"), 2025), ['2025-11-01', '2025-11-11']);
  assert.deepEqual(win(find('CN', 'Chinese New Year'), 2026), ['2026-01-27', '2026-02-17']);
  assert.equal(occasionWindow(find('CN', 'Chinese New Year'), 2040), undefined, 'a year the list does not have: no window');
  // A window whose end comes before its start runs into the next year.
  const newYear: Occasion = { name: 'New Year sales', from: '12-27', to: '01-06' };
  assert.deepEqual(win(newYear, 2025), ['2025-12-27', '2026-01-06']);
  // Clipping to a range: the instance begun the year before still counts, cut at the range's start.
  const ws = occasionWindows(newYear, day('2026-01-01'), day('2027-01-01'));
  assert.deepEqual(ws.map((w) => [iso(w.start), iso(w.end)]), [['2026-01-01', '2026-01-07'], ['2026-12-27', '2027-01-01']]);
  assert.equal(resolveDate({ easter: -21 }, 2024), day('2024-03-10'));
});

test('calendar: dates and occasions that are refused', () => {
  for (const bad of ['02-29', '02-30', '13-01', '1-5', '04-31']) assert.equal(DateSpec.safeParse(bad).success, false, bad);
  assert.equal(DateSpec.safeParse({ month: 5, weekday: 0, nth: 5 }).success, false, 'a fifth weekday is not always there: use -1 (last)');
  assert.equal(DateSpec.safeParse({ byYear: {} }).success, false);
  assert.match(occasionProblem({ name: 'Summer', from: '05-01', to: '09-30' }) ?? '', /at most 92 days/);
  assert.match(occasionProblem({ name: 'Never', from: { byYear: { 2025: '01-01' } }, to: { byYear: { 2030: '01-05' } } }) ?? '', /no window/);
  assert.equal(occasionProblem({ name: 'Christmas season', from: '11-15', to: '12-24' }), undefined);
});

// ---- funnel ----------------------------------------------------------------------------------------

const signals = (reached: Partial<FunnelSignals['reached']>, orders = 0, promoter = false): FunnelSignals => ({
  reached: { awareness: false, interest: false, consideration: false, intent: false, purchase: false, advocacy: false, ...reached }, orders, promoter,
});

test('funnel: the furthest stage reached, each branch', () => {
  const c = FunnelConfig.parse({});
  assert.equal(funnelStage(signals({}), c), undefined, 'nothing: no stage');
  assert.equal(funnelStage(signals({ awareness: true }), c), 'awareness');
  assert.equal(funnelStage(signals({ awareness: true, interest: true }), c), 'interest');
  assert.equal(funnelStage(signals({ consideration: true }), c), 'consideration', 'stages may be skipped');
  assert.equal(funnelStage(signals({ interest: true, intent: true }), c), 'intent');
  assert.equal(funnelStage(signals({ purchase: true }, 1), c), 'purchase');
  assert.equal(funnelStage(signals({ purchase: true }, 2), c), 'retention');
  assert.equal(funnelStage(signals({ purchase: true }, 2), FunnelConfig.parse({ retentionOrders: 3 })), 'purchase');
  assert.equal(funnelStage(signals({ purchase: true, advocacy: true }, 1), c), 'advocacy');
  assert.equal(funnelStage(signals({ purchase: true }, 5, true), c), 'advocacy', 'a promoter score is advocacy');
  // Advocacy without a purchase: by default the furthest stage before purchase; configurable.
  assert.equal(funnelStage(signals({ interest: true, advocacy: true }), c), 'interest');
  assert.equal(funnelStage(signals({ interest: true }, 0, true), c), 'interest');
  assert.equal(funnelStage(signals({ interest: true, advocacy: true }), FunnelConfig.parse({ advocacyNeedsPurchase: false })), 'advocacy');
});

test('funnel: configuration merges stages over the defaults and refuses unknown stages, retention and empty lists', () => {
  const c = FunnelConfig.parse({ stages: { intent: [{ event: 'Checkout Step Viewed' }] } });
  assert.deepEqual(c.mapping.intent, [{ event: 'Checkout Step Viewed' }]);
  assert.deepEqual(c.mapping.purchase, [{ event: 'Order Completed' }], 'other stages keep their defaults');
  assert.equal(c.mapping.awareness.length, 2);
  assert.match(configErrors(FunnelConfig, { stages: { desire: [{ event: 'x' }] } }), /^stages\.desire: unknown funnel stage 'desire' \(stages: awareness, interest, consideration, intent, purchase, advocacy\)/);
  assert.match(configErrors(FunnelConfig, { stages: { retention: [{ event: 'x' }] } }), /^stages\.retention: retention has no events of its own/);
  assert.match(configErrors(FunnelConfig, { stages: { interest: [] } }), /^stages\.interest: a stage needs at least one event/);
  assert.match(configErrors(FunnelConfig, { retentionOrders: 1 }), /^retentionOrders:/);
  assert.match(configErrors(FunnelConfig, { stages: { interest: [{ event: 'x', where: [{ path: 'rating', op: 'gt', value: 1 }] }] } }), /stages\.interest\.0\.where\.0\.path/);
});

test('funnel: summary counts who reached each stage or a later one and the conversion to the next', () => {
  const counts = { awareness: 10, interest: 40, consideration: 20, intent: 10, purchase: 12, retention: 6, advocacy: 2 };
  const s = funnelSummary(counts, {}, FunnelConfig.parse({})) as { reached: Record<string, number>; conversion: Array<{ from: string; to: string; rate: number | null }>; profiles: number };
  assert.equal(s.profiles, 100);
  assert.deepEqual(s.reached, { advocacy: 2, retention: 8, purchase: 20, intent: 30, consideration: 50, interest: 90, awareness: 100 });
  assert.deepEqual(s.conversion.map((x) => x.rate), [0.9, 0.5556, 0.6, 0.6667, 0.4, 0.25]);
  assert.deepEqual(s.conversion.map((x) => `${x.from}>${x.to}`), FUNNEL_STAGES.slice(1).map((to, k) => `${FUNNEL_STAGES[k]}>${to}`));
  const empty = funnelSummary({}, {}, FunnelConfig.parse({})) as { conversion: Array<{ rate: number | null }> };
  assert.ok(empty.conversion.every((x) => x.rate === null), 'no profiles: no rate (not 0, not NaN)');
});

test('funnel classify: reads the features of each selector, counts orders, days since the current stage', () => {
  const c = FunnelConfig.parse({});
  const defs = funnelModel.features(c, 0);
  const nan = [NaN, NaN, NaN, NaN];
  const columns: Record<string, Float64Array> = Object.fromEntries(defs.map((d) => [d.key, Float64Array.from(d.kind === 'count' ? [0, 0, 0, 0] : nan)]));
  const set = (key: string, values: number[]) => { columns[key] = Float64Array.from(values); };
  set('awareness_0_days', [3, 1, 40, NaN]);
  set('interest_1_days', [2, NaN, 30, NaN]); // Product List Viewed
  set('purchase_0_days', [NaN, NaN, 20, NaN]);
  set('purchase_0_count', [0, 0, 3, 0]);
  set('advocacy_0_days', [NaN, NaN, 15, NaN]);
  columns['trait:nps'] = Float64Array.from([NaN, 10, NaN, NaN]);
  const f: Features = { profileIds: ['a', 'b', 'c', 'none'], columns, text: {} };
  const out = funnelModel.classify(f, c, 0);
  assert.deepEqual(out.traits[0], { funnel_stage: 'interest', funnel_stage_number: 2, funnel_orders: 0, funnel_stage_days: 2 });
  assert.deepEqual(out.traits[1], { funnel_stage: 'awareness', funnel_stage_number: 1, funnel_orders: 0, funnel_stage_days: 1 }, 'a promoter without a purchase is not an advocate');
  assert.deepEqual(out.traits[2], { funnel_stage: 'advocacy', funnel_stage_number: 7, funnel_orders: 3, funnel_stage_days: 15 });
  assert.equal(out.traits[3], undefined);
  assert.deepEqual((out.summary['stages'] as Record<string, number>), { awareness: 1, interest: 1, consideration: 0, intent: 0, purchase: 0, retention: 0, advocacy: 1 });
  assert.deepEqual(funnelModel.traitInputs?.(FunnelConfig.parse({ promoterTrait: null })), []);
  // A window applies to every feature.
  assert.ok(funnelModel.features(FunnelConfig.parse({ windowDays: 90 }), 0).every((d) => d.window?.type === 'last' && d.window.amount === 90), 'every feature in the window');
});

// ---- occasion --------------------------------------------------------------------------------------

test('occasion: holiday buyers need enough orders in the windows and share; the best explains most, narrower on a tie', () => {
  const c = OccasionConfig.parse({});
  const xmas = { name: 'Christmas season', days: 120, orders: 0 };
  const bf = { name: 'Black Friday', days: 12, orders: 0 };
  assert.deepEqual(holidayOccasions(0, [xmas], c), []);
  assert.deepEqual(holidayOccasions(4, [{ ...xmas, orders: 1 }], c), [], 'one order is not a habit (minOrders 2)');
  assert.deepEqual(holidayOccasions(5, [{ ...xmas, orders: 2 }], c), [], '2 of 5 is below half');
  assert.deepEqual(holidayOccasions(4, [{ ...xmas, orders: 2 }], c).map((o) => o.share), [0.5], 'exactly half qualifies');
  assert.deepEqual(holidayOccasions(3, [{ ...bf, orders: 2 }, { ...xmas, orders: 3 }], c).map((o) => o.name), ['Christmas season', 'Black Friday'], 'most orders explained first');
  assert.deepEqual(holidayOccasions(2, [{ ...xmas, orders: 2 }, { ...bf, orders: 2 }], c).map((o) => o.name), ['Black Friday', 'Christmas season'], 'tie: the narrower window');
  assert.deepEqual(holidayOccasions(1, [{ ...xmas, orders: 1 }], OccasionConfig.parse({ minOrders: 1 })).map((o) => o.share), [1]);
});

test('occasion: timing labels (weekend, weekday part of day, anytime) and too little activity', () => {
  const c = OccasionConfig.parse({});
  const t = (weekday: number, weekend: number, parts: [number, number, number, number]) => ({ weekday, weekend, night: parts[0], morning: parts[1], afternoon: parts[2], evening: parts[3] });
  assert.equal(timingLabel(t(2, 3, [0, 0, 5, 0]), c), undefined, 'fewer than 6 events');
  assert.deepEqual(timingLabel(t(1, 5, [0, 0, 6, 0]), c), { label: 'weekend', weekendShare: 5 / 6, dayPart: 'afternoon' });
  assert.equal(timingLabel(t(2, 6, [0, 0, 8, 0]), c)?.label, 'weekend', 'exactly 75 % on weekends');
  assert.equal(timingLabel(t(3, 5, [0, 0, 8, 0]), c)?.label, 'weekday afternoon', '62.5 % on weekends is not a weekend shopper');
  assert.deepEqual(timingLabel(t(8, 2, [1, 1, 2, 6]), c), { label: 'weekday evening', weekendShare: 0.2, dayPart: 'evening' });
  assert.equal(timingLabel(t(10, 0, [0, 5, 0, 5]), c)?.label, 'weekday morning', 'exactly half dominates; a tie goes to the earlier part');
  assert.deepEqual(timingLabel(t(10, 0, [1, 4, 3, 2]), c), { label: 'anytime', weekendShare: 0, dayPart: 'mixed' });
  assert.equal(timingLabel(t(10, 0, [10, 0, 0, 0]), c)?.label, 'weekday night');
});

test('occasion: personal dates — next birthday and anniversary, 29 February, date formats, country codes', () => {
  const asOf = Date.parse('2026-10-31T23:59:59Z');
  assert.deepEqual(nextAnniversary(10, 31, asOf), { days: 0, year: 2026 }, 'today');
  assert.deepEqual(nextAnniversary(11, 1, asOf), { days: 1, year: 2026 });
  assert.deepEqual(nextAnniversary(10, 30, asOf), { days: 364, year: 2027 });
  assert.deepEqual(nextAnniversary(2, 29, Date.parse('2026-02-20T10:00:00Z')), { days: 8, year: 2026 }, '29 February on 28 February in 2026');
  assert.deepEqual(nextAnniversary(2, 29, Date.parse('2028-02-20T10:00:00Z')), { days: 9, year: 2028 }, 'and on 29 February in leap 2028');
  assert.deepEqual(nextAnniversary(2, 29, Date.parse('2100-02-27T10:00:00Z')), { days: 1, year: 2100 }, '2100 is not a leap year');
  assert.deepEqual(nextAnniversary(10, 31, asOf, 2026), { days: 365, year: 2027 }, 'a first purchase today has its first anniversary next year');
  assert.deepEqual(monthDayOf('1984-04-01'), { year: 1984, month: 4, day: 1 });
  assert.deepEqual(monthDayOf('1984-04-01T22:00:00Z'), { year: 1984, month: 4, day: 1 });
  assert.deepEqual(monthDayOf(String(Date.UTC(1990, 6, 14))), { year: 1990, month: 7, day: 14 }, 'epoch milliseconds');
  for (const bad of [null, '', 'April 1st', '1984-02-30', '1984-13-01']) assert.equal(monthDayOf(bad), undefined, String(bad));
  assert.equal(countryFrom('{"country":"de","city":"Berlin"}', ['country']), 'DE');
  assert.equal(countryFrom('CH'), 'CH');
  assert.equal(countryFrom('Switzerland'), undefined, 'not an ISO code');
  assert.equal(countryFrom('{"country":"DE"', ['country']), undefined, 'broken JSON');
  assert.equal(countryFrom('{"country":{"code":"DE"}}', ['country']), undefined);
});

test('occasion: the holiday plan shares windows across countries, stays in reach and bounded', () => {
  const asOf = Date.parse('2026-10-31T23:59:59Z');
  const plan = holidayPlan(OccasionConfig.parse({}), asOf);
  assert.equal(iso(plan.reachStart), '2023-10-31');
  const starts = plan.windows.map((w) => w.start);
  assert.equal(new Set(plan.windows.map((w) => `${w.start}-${w.end}`)).size, plan.windows.length, 'each window once');
  assert.ok(Math.min(...starts) >= plan.reachStart && Math.max(...plan.windows.map((w) => w.end)) <= plan.reachEnd, 'windows clipped to reach');
  const de = plan.countries.get('DE') ?? [];
  const ch = plan.countries.get('CH') ?? [];
  const xmas = (list: typeof de) => list.find((o) => o.name === 'Christmas season');
  assert.deepEqual(xmas(de)?.keys, xmas(ch)?.keys, 'DE and CH share the Christmas windows');
  assert.equal(xmas(de)?.keys.length, 3, 'Christmas 2023, 2024, 2025 (2026 has not begun)');
  assert.equal(xmas(de)?.days, 120);
  assert.notDeepEqual(de.find((o) => o.name === "Father's Day")?.keys, ch.find((o) => o.name === "Father's Day")?.keys);
  const feats = occasionModel.features(OccasionConfig.parse({}), asOf);
  assert.equal(feats.filter((f) => f.key.startsWith('window_')).length, plan.windows.length);
  assert.equal(holidayNames(OccasionConfig.parse({}))[0], "Valentine's Day", 'the * list first');
  assert.ok(holidayNames(OccasionConfig.parse({})).includes("Singles' Day"), 'CN occasions are groups too');
});

test('occasion: configuration errors name the field', () => {
  assert.match(configErrors(OccasionConfig, { calendar: { de: [] } }), /^calendar\.de: .*ISO 3166-1 alpha-2/);
  assert.match(configErrors(OccasionConfig, { calendar: { DE: [{ name: 'X', from: '02-01', to: '02-14' }, { name: 'X', from: '03-01', to: '03-14' }] } }), /^calendar\.DE\.1\.name: occasion "X" appears twice for DE/);
  assert.match(configErrors(OccasionConfig, { calendar: { DE: [{ name: 'Summer', from: '06-01', to: '09-30' }] } }), /^calendar\.DE\.0: occasion "Summer" spans/);
  assert.match(configErrors(OccasionConfig, { calendar: { DE: [{ name: 'Leap', from: '02-29', to: '03-01' }] } }), /calendar\.DE\.0\.from/);
  const many = Array.from({ length: 30 }, (_, k) => ({ name: `O${k}`, from: { month: 1 + (k % 12), weekday: k % 7, nth: 1 + (k % 4) }, to: { month: 1 + (k % 12), weekday: k % 7, nth: 1 + (k % 4), offset: 3 } }));
  assert.match(configErrors(OccasionConfig, { years: 5, calendar: { DE: many, FR: many.map((o) => ({ ...o, to: { ...o.to, offset: 4 } })) } }), /^calendar: \d+ distinct occasion windows over 5 years make more than 240 features/);
  assert.match(configErrors(OccasionConfig, { years: 6 }), /^years:/);
  assert.match(configErrors(OccasionConfig, { countryPath: 'location.country' }), /^countryPath:/);
  // A user calendar replaces that country's list only.
  const c = OccasionConfig.parse({ calendar: { CH: [{ name: 'Swiss National Day', from: '07-25', to: '08-01' }] } });
  const plan = holidayPlan(c, Date.parse('2026-10-31T00:00:00Z'));
  assert.deepEqual(plan.countries.get('CH')?.map((o) => o.name), ['Swiss National Day']);
  assert.equal(plan.countries.get('DE')?.length, 6);
});

test('occasion classify: country from the trait or the events, holiday share, timing, personal dates', () => {
  const asOf = Date.parse('2026-10-31T23:59:59Z');
  const c = OccasionConfig.parse({ years: 1 });
  const plan = holidayPlan(c, asOf);
  const keyOf = (country: string, name: string) => plan.countries.get(country)?.find((o) => o.name === name)?.keys ?? [];
  const xmasDE = keyOf('DE', 'Christmas season');
  const mothersGB = keyOf('GB', "Mother's Day");
  const mothersDE = keyOf('DE', "Mother's Day");
  assert.equal(xmasDE.length, 1);
  assert.notDeepEqual(mothersGB, mothersDE);
  const n = 4;
  const columns: Record<string, Float64Array> = Object.fromEntries(plan.windows.map((w) => [w.key, new Float64Array(n)]));
  const put = (key: string | undefined, values: number[]) => { columns[key as string] = Float64Array.from(values); };
  put('orders', [4, 3, 3, 0]);
  put('first_order_days', [400, 10, 100, NaN]);
  put(xmasDE[0], [3, 0, 0, 0]);
  put(mothersGB[0], [0, 2, 2, 0]); // both profiles bought in the GB Mothering Sunday window …
  for (const [b, v] of Object.entries({ weekday: [2, 1, 1, 10], weekend: [0, 0, 0, 0], night: [0, 0, 0, 0], morning: [0, 0, 0, 0], afternoon: [2, 1, 1, 0], evening: [0, 0, 0, 10] })) put(`timing:${b}`, v);
  const f: Features = {
    profileIds: ['de', 'gb', 'de-by-events', 'browser'], columns,
    text: {
      'trait:address': ['{"country":"DE"}', '{"country":"GB"}', null, null],
      country_events: ['FR', 'DE', 'DE', null],
      'trait:birthday': ['1980-11-01', null, '2000-02-29', '2001-10-31'],
    },
  };
  const out = occasionModel.classify(f, c, asOf);
  const [de, gb, deEvents, browser] = out.traits;
  assert.equal(de?.['occasion_group'], 'holiday: Christmas season');
  assert.equal(de?.['occasion_country'], 'DE', 'the trait wins over the events');
  assert.equal(de?.['occasion_holiday_share'], 0.75);
  assert.equal(de?.['occasion_birthday_in_days'], 1);
  assert.equal(de?.['occasion_first_purchase_date'], '2025-09-26');
  assert.equal(de?.['occasion_anniversary_in_days'], 330);
  assert.equal(de?.['occasion_anniversary_years'], 2, 'first purchase 2025: the next anniversary, in 2027, is the second');
  assert.equal(gb?.['occasion_group'], "holiday: Mother's Day", '… which is Mother\'s Day in GB …');
  assert.equal(deEvents?.['occasion_country'], 'DE', 'country from the events when no trait');
  assert.notEqual(deEvents?.['occasion_holiday'], "Mother's Day", '… but not in DE (second Sunday of May)');
  assert.equal(deEvents?.['occasion_group'], undefined, 'too few timing events and no holiday: no group');
  assert.equal(deEvents?.['occasion_birthday_in_days'], 120, 'born 29 February: 28 February 2027');
  assert.equal(browser?.['occasion_group'], 'weekday evening');
  assert.equal(browser?.['occasion_orders'], undefined, 'no orders: no holiday traits');
  assert.equal(browser?.['occasion_birthday_in_days'], 0);
  assert.deepEqual(out.summary['countrySource'], { trait: 2, events: 1, default: 0 });
  assert.equal((out.summary['soon'] as { birthdays: number }).birthdays, 2);
});

// ---- benefit ---------------------------------------------------------------------------------------

test('benefit: stated answers, price sensitivity thresholds and the behavioural rules in order', () => {
  const c = BenefitConfig.parse({ answers: { 'cheap prices': 'price', 'fast delivery': 'convenience' } });
  assert.equal(statedBenefit('Quality', c), 'quality', 'a benefit name in any case');
  assert.equal(statedBenefit(' Fast Delivery ', c), 'convenience', 'a mapped answer');
  assert.equal(statedBenefit('sustainability', c), undefined, 'not a known benefit');
  assert.equal(statedBenefit('', c), undefined);
  assert.equal(priceSensitivity(1, 1, c), undefined, 'one order: no sensitivity');
  assert.equal(priceSensitivity(2, 1, c), 'medium', 'exactly half is not more than half');
  assert.equal(priceSensitivity(3, 2, c), 'high');
  assert.equal(priceSensitivity(10, 2, c), 'medium', '20 % is not below 20 %');
  assert.equal(priceSensitivity(10, 1, c), 'low');
  const facts = { orders: 3, sensitivity: 'low' as const, attributeShares: [] as number[], priceIndex: 1 };
  assert.equal(behaviourBenefit({ ...facts, orders: 1, sensitivity: undefined, priceIndex: 3 }, c), undefined, 'below minOrders nothing');
  assert.equal(behaviourBenefit({ ...facts, sensitivity: 'high', priceIndex: 3 }, c), 'price', 'discounts first');
  assert.equal(behaviourBenefit({ ...facts, priceIndex: 1.4 }, c), 'quality', 'premium taste');
  assert.equal(behaviourBenefit({ ...facts, priceIndex: 0.6 }, c), 'price', 'budget taste');
  assert.equal(behaviourBenefit({ ...facts, priceIndex: 1 }, c), undefined);
  assert.equal(behaviourBenefit({ ...facts, priceIndex: NaN }, c), undefined);
  const attr = BenefitConfig.parse({ attributes: [{ where: [{ path: 'products.tags', op: 'contains', value: 'ergonomic' }], benefit: 'comfort' }], premiumBenefit: null });
  assert.equal(behaviourBenefit({ ...facts, attributeShares: [0.5], priceIndex: 2 }, attr), 'comfort', 'an attribute rule before price taste');
  assert.equal(behaviourBenefit({ ...facts, attributeShares: [0.4], priceIndex: 2 }, attr), undefined, 'premium taste switched off');
});

test('benefit: stated wins by default, behaviour when configured, unknown for silent buyers', () => {
  const stated = BenefitConfig.parse({});
  const behaviour = BenefitConfig.parse({ precedence: 'behaviour' });
  assert.deepEqual(benefitSegment('quality', 'price', 3, stated), { segment: 'quality', source: 'stated' });
  assert.deepEqual(benefitSegment('quality', 'price', 3, behaviour), { segment: 'price', source: 'behaviour' });
  assert.deepEqual(benefitSegment('quality', undefined, 3, behaviour), { segment: 'quality', source: 'stated' });
  assert.deepEqual(benefitSegment(undefined, 'price', 3, stated), { segment: 'price', source: 'behaviour' });
  assert.deepEqual(benefitSegment(undefined, undefined, 1, stated), { segment: 'unknown', source: 'none' });
  assert.equal(benefitSegment(undefined, undefined, 0, stated), undefined, 'no order, no answer: nothing');
  assert.deepEqual(benefitSegment('style', undefined, 0, stated), { segment: 'style', source: 'stated' }, 'an answer without an order still counts');
});

test('benefit: price index against the currency and the main category, with small cohorts pooled', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.ok(Number.isNaN(median([NaN])), 'no finite value: no median');
  assert.equal(median([Infinity, 5, NaN, -Infinity, 1, 10, -3]), 3, 'only finite values count, in numeric order');
  assert.equal(median(Float64Array.from([100, 9, 20, 3])), 14.5, 'numeric, not text, order');
  // Two currencies (CHF prices twice EUR) and two categories (books cheap, shoes dear): everyone is typical
  // after both scalings, except the customer who pays double for books.
  const price = [10, 10, 20, 100, 100, 200, 20, 40, NaN];
  const currency = ['EUR', 'EUR', 'CHF', 'EUR', 'EUR', 'CHF', 'EUR', 'CHF', 'EUR'];
  const category = ['Books', 'Books', 'Books', 'Shoes', 'Shoes', 'Shoes', 'Books', 'Books', 'Books'];
  const idx = [...priceIndexes(price, currency, category, 1)].map((x) => Math.round(x * 100) / 100);
  assert.deepEqual(idx.slice(0, 6), [1, 1, 1, 1, 1, 1]);
  assert.equal(idx[6], 2, 'double the typical book price');
  assert.equal(idx[7], 2, 'also in CHF');
  assert.ok(Number.isNaN(idx[8] as number), 'no price: no index');
  // A cohort below minCohort is compared with everyone: the shoe buyers then look expensive.
  const pooled = priceIndexes(price, currency, category.map((c) => (c === 'Shoes' ? 'Shoes' : 'Books')), 4);
  assert.ok((pooled[3] as number) > 1.5, `small shoe cohort pooled: ${pooled[3]}`);
  // Per category: the geometric mean of the category ratios (2 and 0.5 cancel).
  const books = [10, 10, 20, 10, NaN];
  const shoes = [100, 100, 50, NaN, NaN];
  const overall = [50, 50, 35, 10, NaN];
  const cat = categoryPriceIndexes(overall, [null, null, null, null, null], [books, shoes], 1);
  assert.deepEqual([...cat].slice(0, 4).map((x) => Math.round(x * 1000) / 1000), [1, 1, 1, 1]);
  assert.ok(Number.isNaN(cat[4] as number), 'no price: no index');
});

test('benefit: configuration errors name the field', () => {
  assert.match(configErrors(BenefitConfig, { answers: { cheap: 'bargain' } }), /^answers\.cheap: benefit "bargain" is not in benefits/);
  assert.match(configErrors(BenefitConfig, { benefits: ['price', 'unknown'] }), /^benefits: "unknown" is kept/);
  assert.match(configErrors(BenefitConfig, { benefits: ['price', 'price'] }), /^benefits: a benefit is listed twice/);
  assert.match(configErrors(BenefitConfig, { benefits: ['price'] }), /^premiumBenefit: benefit "quality" is not in benefits \(price\)/);
  assert.match(configErrors(BenefitConfig, { lowDiscountShare: 0.6, highDiscountShare: 0.4 }), /^lowDiscountShare:/);
  assert.match(configErrors(BenefitConfig, { attributes: [{ where: [{ path: 'properties.tags', op: 'exists' }], benefit: 'comfort' }] }), /^attributes\.0\.where: filters on line items/);
  assert.match(configErrors(BenefitConfig, { itemCategoryPath: 'properties.category' }), /^itemCategoryPath: a line-item path/);
  assert.match(configErrors(BenefitConfig, { precedence: 'survey' }), /^precedence:/);
});

test('benefit classify: discounted orders from either criterion, traits per customer, summary', () => {
  const c = BenefitConfig.parse({ minCohort: 1 });
  const f: Features = {
    profileIds: ['deal', 'survey', 'quiet', 'visitor'],
    columns: {
      orders: Float64Array.from([4, 0, 1, 0]),
      discounted_0: Float64Array.from([2, 0, 0, 0]), // discount > 0
      discounted_1: Float64Array.from([3, 0, 0, 0]), // coupon
      item_price: Float64Array.from([20, NaN, 50, NaN]),
    },
    text: { currency: ['EUR', null, 'EUR', null], category: ['Books', null, 'Books', null], 'trait:benefit_sought': [null, 'Comfort', null, 'sustainability'] },
  };
  const out = benefitModel.classify(f, c, 0);
  assert.deepEqual(out.traits[0], { benefit_segment: 'price', benefit_source: 'behaviour', benefit_orders: 4, benefit_behaviour: 'price', benefit_discount_share: 0.75, benefit_price_sensitivity: 'high', benefit_price_index: 1 });
  assert.deepEqual(out.traits[1], { benefit_segment: 'comfort', benefit_source: 'stated', benefit_orders: 0, benefit_stated: 'comfort' });
  assert.deepEqual(out.traits[2], { benefit_segment: 'unknown', benefit_source: 'none', benefit_orders: 1, benefit_discount_share: 0 }, 'one order: no sensitivity, no price index');
  assert.equal(out.traits[3], undefined, 'an answer that is no benefit, no order');
  assert.equal(out.summary['unmappedAnswers'], 1);
  assert.deepEqual(benefitModel.features(c, 0).map((d) => d.key), ['orders', 'discounted_0', 'discounted_1', 'item_price', 'currency', 'category']);
  const withCats = benefitModel.features(BenefitConfig.parse({ priceCategories: ['Books', 'Shoes'] }), 0);
  assert.deepEqual(withCats.filter((d) => d.key.startsWith('category')).map((d) => [d.key, d.where?.[0]]), [
    ['category_price_0', { path: 'products.category', op: 'eq', value: 'Books' }], ['category_price_1', { path: 'products.category', op: 'eq', value: 'Shoes' }],
  ], 'per-category prices replace the main category');
});

// ---- all three ---------------------------------------------------------------------------------------

test('registry: the three models are registered; their ready segments are valid segment definitions with the model prefix', () => {
  for (const id of ['funnel', 'occasion', 'benefit']) {
    const m = behaviouralModel(id);
    assert.ok(m, `${id} registered`);
    const config = m.config.parse({});
    const extra = m.extraSegments?.(config) ?? [];
    assert.ok(extra.length >= 1, `${id} has extra ready segments`);
    for (const s of extra) {
      assert.ok(s.key.startsWith(`${id}_`), s.key);
      assert.equal(ConditionSchema.safeParse(s.condition).success, true, `${s.key}: ${JSON.stringify(ConditionSchema.safeParse(s.condition).error?.issues)}`);
    }
    assert.ok(m.traits.every((t) => t.key.startsWith(`${id}_`)), `${id}: traits prefixed`);
    assert.ok(m.traits.some((t) => t.key === m.groupTrait) && m.traits.some((t) => t.key === m.previousTrait), `${id}: group and previous traits described`);
    const groups = m.groups(config);
    assert.equal(new Set(groups).size, groups.length, `${id}: groups distinct`);
  }
  assert.equal(new Set(BEHAVIOURAL_MODELS.map((m) => m.id)).size, BEHAVIOURAL_MODELS.length, 'model ids distinct');
  assert.deepEqual(funnelModel.groups(FunnelConfig.parse({})), [...FUNNEL_STAGES]);
  const occasionGroups = occasionModel.groups(OccasionConfig.parse({}));
  assert.equal(occasionGroups[0], "holiday: Valentine's Day");
  assert.deepEqual(occasionGroups.slice(-6), ['weekend', 'weekday morning', 'weekday afternoon', 'weekday evening', 'weekday night', 'anytime']);
  assert.deepEqual(benefitModel.groups(BenefitConfig.parse({})), ['price', 'quality', 'convenience', 'comfort', 'style', 'unknown']);
});

/**
 * From transactions to the BTYD summary (same-day merging, x / t_x / T / m, calibration and holdout
 * windows, period offsets) and the weekly repeat-purchase series, on a hand-made fixture whose every
 * number is worked out in the comments.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { buildBtydSummary, repeatPurchasesByPeriod, DAY_MS, WEEK_MS, type CustomerTransactions } from '../../src/domain/ml/btyd-summary.js';

const BASE = Date.UTC(2024, 0, 1); // a Monday, 00:00 UTC
const HOUR = 3_600_000;
const day = (d: number, hour = 12) => BASE + d * DAY_MS + hour * HOUR;

/** Customers A … E (see the expectations below). Transactions deliberately out of order. */
const CUSTOMERS: CustomerTransactions[] = [
  // A: day 0 twice (09:00 $10, 23:59 $5 → one purchase of $15), day 7 ($20), day 14 ($30), day 30 (holdout,
  // $7), day 40 (after the holdout, ignored).
  { times: [day(14), day(0, 9), day(40), day(7, 0.02), day(30), BASE + DAY_MS - 60_000], amounts: [30, 10, 100, 20, 7, 5] },
  // B: first purchase after the calibration end → left out.
  { times: [day(25)], amounts: [9] },
  // C: two purchases on day 3 → one purchase, no repeat.
  { times: [day(3, 8), day(3, 20)], amounts: [4, 6] },
  // D: no transactions at all → left out.
  { times: [], amounts: [] },
  // E: day 5 twice, and day 20 at 23:00 (the calibration end day: the whole day is in calibration).
  { times: [day(5), day(5, 13), day(20, 23)], amounts: [1, 2, 40] },
];

const OPTS = { calibrationEnd: day(20, 12), holdoutEnd: day(34, 12) };

test('summary in weeks: merging, x, t_x, T, m, revenue, holdout', () => {
  const s = buildBtydSummary(CUSTOMERS, OPTS);
  assert.equal(s.n, 3, 'A, C and E are kept');
  assert.deepEqual(Array.from(s.customerIndex), [0, 2, 4], 'indices into the input list');
  assert.equal(s.excluded, 2, 'B and D are left out');
  // A: repeat purchase days 7 and 14 → x = 2, t_x = 14 days = 2 weeks, T = 20 days, m = (20 + 30) / 2.
  // C: x = 0, t_x = 0, T = 17 days. E: days 5, 20 → x = 1, t_x = T = 15 days, m = 40.
  assert.deepEqual(Array.from(s.x), [2, 0, 1], 'x');
  assert.deepEqual(Array.from(s.tx), [2, 0, 15 / 7], 't_x (weeks)');
  assert.deepEqual(Array.from(s.T), [20 / 7, 17 / 7, 15 / 7], 'T (weeks)');
  assert.deepEqual(Array.from(s.m), [25, 0, 40], 'm: mean of the repeat purchases only');
  assert.deepEqual(Array.from(s.revenue), [65, 10, 43], 'historic revenue includes the first purchase');
  assert.deepEqual(Array.from(s.firstPurchase), [BASE, BASE + 3 * DAY_MS, BASE + 5 * DAY_MS], 'start of the first purchase day');
  assert.deepEqual(Array.from(s.holdoutX ?? []), [1, 0, 0], 'A bought once in (day 20, day 34]');
  assert.deepEqual(Array.from(s.holdoutRevenue ?? []), [7, 0, 0], 'holdout revenue');
  assert.equal(s.holdoutLength, 2, '14 days = 2 weeks');
});

test('summary in days, and period boundaries in another time zone', () => {
  const s = buildBtydSummary(CUSTOMERS, { ...OPTS, unitMs: DAY_MS });
  assert.deepEqual(Array.from(s.T), [20, 17, 15], 'T in days (lifetimes freq = "D")');
  // New York days (UTC−5: their midnight is 05:00 UTC). A's first purchase (09:00 UTC, day 0) and last
  // (12:00 UTC, day 14) keep their days; a purchase at 00:01 UTC on day 7 is on New York's day 6.
  const ny = buildBtydSummary(CUSTOMERS, { ...OPTS, unitMs: DAY_MS, periodOffsetMs: 5 * HOUR });
  assert.equal(ny.tx[0], 14, 'last purchase still on day 14');
  const a = buildBtydSummary([{ times: [day(0), day(7, 0.02)], amounts: [1, 1] }], { ...OPTS, unitMs: DAY_MS, periodOffsetMs: 5 * HOUR });
  assert.equal(a.tx[0], 6, '00:01 UTC on day 7 is day 6 in New York');
  assert.equal(a.firstPurchase[0], BASE + 5 * HOUR, 'the first purchase period starts at New York midnight');
});

test('a week as the merge period: purchases in the same week are one', () => {
  // Weeks starting on BASE's weekday (a Monday): offset = BASE modulo one week.
  const s = buildBtydSummary(CUSTOMERS, { ...OPTS, periodMs: WEEK_MS, periodOffsetMs: BASE % WEEK_MS });
  // A: weeks 0, 1, 2 (days 0, 7, 14) → x = 2; C: week 0 → x = 0; E: weeks 0 and 2 (days 5, 20) → x = 1.
  assert.deepEqual(Array.from(s.x), [2, 0, 1], 'x with weekly periods');
  assert.deepEqual(Array.from(s.T), [2, 2, 2], 'T counts whole periods: calibration end is in week 2');
});

test('repeat purchases per week (the actual tracking series)', () => {
  const perWeek = repeatPurchasesByPeriod(CUSTOMERS, { origin: BASE, periods: 6 });
  // A repeats on days 7, 14, 30, 40 → weeks 1, 2, 4, 5; B has one purchase (no repeat); C none; E on day 20 → week 2.
  assert.deepEqual(Array.from(perWeek), [0, 1, 2, 0, 1, 1], 'per-week repeat purchases');
});

test('bad transactions are an InputError', () => {
  assert.throws(() => buildBtydSummary([{ times: [1, 2], amounts: [1] }], OPTS), InputError, 'amounts length');
  assert.throws(() => buildBtydSummary([{ times: [NaN] }], OPTS), InputError, 'NaN time');
  assert.throws(() => buildBtydSummary([{ times: [BASE], amounts: [Infinity] }], OPTS), InputError, 'infinite amount');
  assert.throws(() => buildBtydSummary([], { calibrationEnd: BASE, holdoutEnd: BASE - 1 }), InputError, 'holdout before calibration');
  assert.throws(() => buildBtydSummary([], { calibrationEnd: BASE, periodMs: 0 }), InputError, 'zero period');
  assert.throws(() => repeatPurchasesByPeriod([], { origin: BASE, periods: 0 }), InputError, 'no periods');
});

/**
 * fast-check arbitraries of valid segment conditions (every condition type and comparison), for the
 * text round-trip and the SQL-vs-reference property tests. Values are kept to what every engine
 * represents exactly (no -0, no NaN, dates in range).
 */
import fc from 'fast-check';
import type { Comparison, Condition, EventSelector, Filter, TimeUnit, Window } from '../../src/domain/segments/ast.js';

const UNITS: TimeUnit[] = ['minutes', 'hours', 'days', 'weeks'];
export const EVENT_NAMES = ['Order Completed', 'Product Viewed', 'Product Added', 'Checkout Started'];
const TRAITS = ['plan', 'age', 'email', 'vip', 'signup', 'first name', 'and', 'birthday'];
const PROP_KEYS = ['revenue', 'currency', 'category', 'price', 'odd key'];

const dateArb = fc.integer({ min: Date.parse('2024-01-01'), max: Date.parse('2027-12-31') }).map((ms) => {
  const iso = new Date(ms).toISOString();
  return ms % 2 === 0 ? iso.slice(0, 10) : iso.replace('.000Z', 'Z');
});
const numberArb = fc.oneof(fc.integer({ min: -1000, max: 100_000 }), fc.double({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }).map((x) => Math.round(x * 100) / 100))
  .filter((x) => !Object.is(x, -0));
const stringArb = fc.oneof(fc.constantFrom('pro', 'free', 'EUR', 'shoes', 'a"quote', 'üñî', 'x\\y', 'line\nbreak'), fc.string({ minLength: 1, maxLength: 8 }));
const scalarArb = fc.oneof(stringArb, numberArb, fc.boolean());

export const comparisonArb: fc.Arbitrary<Comparison> = fc.oneof(
  fc.record({ op: fc.constantFrom('eq', 'neq', 'lt', 'lte', 'gt', 'gte'), value: scalarArb }) as fc.Arbitrary<Comparison>,
  fc.record({ op: fc.constantFrom('in', 'not_in'), values: fc.array(scalarArb, { minLength: 1, maxLength: 3 }) }) as fc.Arbitrary<Comparison>,
  fc.record({ op: fc.constantFrom('contains', 'not_contains', 'starts_with', 'ends_with'), value: stringArb }) as fc.Arbitrary<Comparison>,
  fc.record({ op: fc.constantFrom('exists', 'not_exists') }) as fc.Arbitrary<Comparison>,
  fc.record({ op: fc.constantFrom('within_last', 'within_next', 'more_than_ago'), amount: fc.integer({ min: 1, max: 400 }), unit: fc.constantFrom(...UNITS) }) as fc.Arbitrary<Comparison>,
  fc.record({ op: fc.constantFrom('before', 'after'), date: dateArb }) as fc.Arbitrary<Comparison>,
  fc.record({ op: fc.constant('anniversary_within'), days: fc.integer({ min: 0, max: 366 }) }) as fc.Arbitrary<Comparison>,
);
const numericCmpArb = fc.record({ op: fc.constantFrom('eq', 'neq', 'lt', 'lte', 'gt', 'gte'), value: numberArb });
const dateCmpArb = fc.oneof(
  fc.record({ op: fc.constantFrom('within_last', 'more_than_ago'), amount: fc.integer({ min: 1, max: 400 }), unit: fc.constantFrom(...UNITS) }),
  fc.record({ op: fc.constantFrom('before', 'after'), date: dateArb }),
  fc.record({ op: fc.constantFrom('exists', 'not_exists') }),
);

const pathArb = fc.tuple(fc.constantFrom('properties', 'context', 'products'), fc.constantFrom(...PROP_KEYS)).map(([r, k]) => `${r}.${k}`);
export const filterArb: fc.Arbitrary<Filter> = fc.tuple(pathArb, comparisonArb).map(([path, c]) => ({ path, ...c }) as Filter);
export const windowArb: fc.Arbitrary<Window> = fc.oneof(
  fc.record({ type: fc.constant('last' as const), amount: fc.integer({ min: 1, max: 800 }), unit: fc.constantFrom(...UNITS) }),
  fc.tuple(dateArb, dateArb).filter(([a, b]) => Date.parse(a) < Date.parse(b)).map(([from, to]) => ({ type: 'between' as const, from, to })),
);

export const selectorArb: fc.Arbitrary<EventSelector> = fc.record({
  event: fc.constantFrom(...EVENT_NAMES, '*'),
  messageType: fc.constantFrom('track', 'page', 'screen'),
  where: fc.array(filterArb, { minLength: 1, maxLength: 2 }),
}, { requiredKeys: ['event'] }) as fc.Arbitrary<EventSelector>;

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const leafArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.tuple(fc.constantFrom(...TRAITS), comparisonArb).map(([trait, c]) => ({ type: 'trait', trait, ...c }) as Condition),
  fc.tuple(selectorArb, opt(fc.record({ op: fc.constantFrom('at_least', 'exactly', 'at_most'), value: fc.integer({ min: 0, max: 5 }) })), opt(windowArb))
    .map(([s, count, window]) => strip({ type: 'event', ...s, count, window }) as Condition),
  fc.tuple(selectorArb, fc.constantFrom('sum', 'avg', 'min', 'max', 'count_distinct'), pathArb, opt(windowArb), numericCmpArb)
    .map(([s, fn, path, window, c]) => strip({ type: 'aggregate', ...s, fn, path, window, ...c }) as Condition),
  fc.tuple(fc.constantFrom('first_performed', 'last_performed'), selectorArb, opt(windowArb), dateCmpArb)
    .map(([type, s, window, c]) => strip({ type, ...s, window, ...c }) as Condition),
  fc.tuple(selectorArb, pathArb.filter((p) => !p.startsWith('products.')), opt(windowArb), comparisonArb)
    .map(([s, path, window, c]) => strip({ type: 'last_value', ...s, path, window, ...c }) as Condition),
  fc.tuple(fc.array(selectorArb, { minLength: 1, maxLength: 3 }), opt(selectorArb), fc.record({ amount: fc.integer({ min: 1, max: 48 }), unit: fc.constantFrom(...UNITS) }), opt(windowArb))
    .map(([steps, thenNot, within, window]) => strip({ type: 'sequence', steps, thenNot, within, window }) as Condition),
  fc.tuple(fc.constantFrom('orders_90d', 'revenue_total', 'score'), comparisonArb).map(([key, c]) => ({ type: 'computed_trait', key, ...c }) as Condition),
  fc.tuple(fc.constantFrom('churn', 'clv model'), comparisonArb).map(([model, c]) => ({ type: 'score', model, ...c }) as Condition),
  fc.constantFrom('vip', 'big_spenders', 'in').map((segment) => ({ type: 'segment', segment }) as Condition),
  fc.constantFrom('marketing', 'analytics').map((purpose) => ({ type: 'consent', purpose }) as Condition),
  fc.tuple(stringArb, fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 100 })).filter(([, a, b]) => a < b).map(([salt, from, to]) => ({ type: 'bucket', salt, from, to }) as Condition),
);

export const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((conditions) => ({ type: 'and', conditions }) as Condition),
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((conditions) => ({ type: 'or', conditions }) as Condition),
    tie('c').map((condition) => ({ type: 'not', condition }) as Condition),
  ),
})).c;

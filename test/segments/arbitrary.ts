/**
 * fast-check arbitraries of valid segment conditions: every condition type, every comparison operator,
 * every window and count form, optional fields both present and absent. Every generated value passes
 * `ConditionSchema` (checked by test/segments/text.test.ts).
 *
 * Two flavours:
 * - `conditionArb` (and the building blocks `comparisonArb`, `filterArb`, `windowArb`, `selectorArb`, …):
 *   realistic values — event names with spaces, trait keys that need back-quotes, strings with quotes
 *   and unicode, dates 1970-2099 in the ISO forms people write, ordered `between` windows and bucket
 *   ranges (as `checkReferences` wants them), numbers every engine holds exactly (no -0).
 * - `edgeConditionArb`: also the corners the schema allows (−0, subnormal and huge doubles, lone
 *   surrogates and control characters, 1000-character strings, empty `where: []`, years 0001-9999,
 *   fractional amounts, unordered ranges) — for the text round trip, not for engines.
 *
 * `conditionArbs({ vocabulary, maxDepth, edgeCases })` builds the same set over other names (e.g. the
 * events and traits of a test data set).
 */
import fc from 'fast-check';
import {
  AGGREGATE_FNS, TIME_UNITS,
  type Comparison, type Condition, type CountOp, type DateComparison, type Duration, type EventSelector, type Filter,
  type MessageType, type NumericComparison, type Scalar, type Window,
} from '../../src/domain/segments/ast.js';

export interface Vocabulary {
  eventNames: readonly string[];
  traitKeys: readonly string[];
  /** Path segments after `properties.` / `context.` / `products.` (no ".", not starting with a space). */
  pathSegments: readonly string[];
  /** Strings used as values (besides generated ones). */
  strings: readonly string[];
  computedKeys: readonly string[];
  scoreModels: readonly string[];
  segmentKeys: readonly string[];
  consentPurposes: readonly string[];
  salts: readonly string[];
}

export const DEFAULT_VOCABULARY: Vocabulary = {
  eventNames: ['Order Completed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Pricing', 'Signed Up', 'Newsletter "Weekly" Opened', 'Café visité', '*'],
  traitKeys: ['plan', 'age', 'email', 'vip', 'country', 'signup_date', 'birthday', 'first name', 'e-mail', 'größe', 'Plan', 'address.city', 'a`b', 'and', 'not', 'trait', '2fa', '`'],
  pathSegments: ['revenue', 'currency', 'category', 'price', 'sku', 'url', 'utm_source', '0', 'first name', 'utm-source', 'größe', 'Total (EUR)', 'a`b'],
  strings: ['pro', 'free', 'CH', 'DE', 'EUR', 'shoes', '@gmail', 'Zürich', 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'naïve café', '日本語', '👩‍💻 dev', "it's", '[1, 2]', 'true', '42', 'and', ''],
  computedKeys: ['lifetime_orders', 'orders_90d', 'avg order value'],
  scoreModels: ['churn_risk', 'ltv', 'propensity v2'],
  segmentKeys: ['vip_customers', 'big_spenders', 'churned', 'Old Segment'],
  consentPurposes: ['marketing', 'analytics', 'Ads & Personalisation'],
  salts: ['holdout-2026', 'exp_42', 'Spring "A/B" test'],
};

export interface ConditionArbOptions {
  vocabulary?: Partial<Vocabulary> | undefined;
  /** Nesting of and / or / not (leaves at depth maxDepth). Default 3. */
  maxDepth?: number | undefined;
  /** Also generate the corners of the schema (see the file comment). Default false. */
  edgeCases?: boolean | undefined;
}

export interface ConditionArbs {
  stringArb: fc.Arbitrary<string>;
  numberArb: fc.Arbitrary<number>;
  scalarArb: fc.Arbitrary<Scalar>;
  dateArb: fc.Arbitrary<string>;
  durationArb: fc.Arbitrary<Duration>;
  windowArb: fc.Arbitrary<Window>;
  comparisonArb: fc.Arbitrary<Comparison>;
  numericComparisonArb: fc.Arbitrary<NumericComparison>;
  dateComparisonArb: fc.Arbitrary<DateComparison>;
  pathArb: fc.Arbitrary<string>;
  filterArb: fc.Arbitrary<Filter>;
  selectorArb: fc.Arbitrary<EventSelector>;
  /** One arbitrary per condition type, by type. */
  leafArbs: Record<Exclude<Condition['type'], 'and' | 'or' | 'not'>, fc.Arbitrary<Condition>>;
  leafArb: fc.Arbitrary<Condition>;
  conditionArb: fc.Arbitrary<Condition>;
}

const DAY = 86_400_000;
const EQ_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'] as const;
const MESSAGE_TYPES: readonly MessageType[] = ['track', 'page', 'screen'];
const COUNT_OPS: readonly CountOp[] = ['at_least', 'exactly', 'at_most'];

/** The ISO-8601 forms the schema accepts; the offset is only text (both ends of a range get the same one). */
const DATE_FORMATS = ['date', 'seconds', 'minutes', 'millis', 'offset', 'micros'] as const;
type DateFormat = (typeof DATE_FORMATS)[number];
function formatDate(ms: number, format: DateFormat): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ for years 0-9999
  switch (format) {
    case 'date': return iso.slice(0, 10);
    case 'seconds': return `${iso.slice(0, 19)}Z`;
    case 'minutes': return `${iso.slice(0, 16)}Z`;
    case 'millis': return iso;
    case 'offset': return `${iso.slice(0, 19)}+02:00`;
    case 'micros': return `${iso.slice(0, 23)}456-05:30`;
  }
}

export function conditionArbs(options: ConditionArbOptions = {}): ConditionArbs {
  const v: Vocabulary = { ...DEFAULT_VOCABULARY, ...options.vocabulary };
  const edge = options.edgeCases ?? false;
  const maxDepth = options.maxDepth ?? 3;
  const from = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);

  const stringArb: fc.Arbitrary<string> = edge
    ? fc.oneof(
      from(v.strings),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom('\u0000\u001f\u007f', '\ud800 lone', 'x\udc00', '\u2028\u2029', '\\u0041 not an escape', 'x'.repeat(1000), '\r\n'),
    )
    : fc.oneof({ arbitrary: from(v.strings), weight: 3 }, { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 1 });
  const nonEmptyString = stringArb.filter((s) => s.length > 0);
  const name = (xs: readonly string[]): fc.Arbitrary<string> => edge
    ? fc.oneof({ arbitrary: from(xs), weight: 3 }, { arbitrary: nonEmptyString.filter((s) => s.length <= 200), weight: 1 })
    : from(xs);

  const numberArb: fc.Arbitrary<number> = edge
    ? fc.oneof(
      fc.integer({ min: -1_000_000, max: 1_000_000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(-0, 0.1, -3.5, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, -Number.MAX_SAFE_INTEGER),
    )
    : fc.oneof(
      fc.integer({ min: -1000, max: 100_000 }),
      fc.integer({ min: -100_000, max: 100_000 }).map((x) => x / 100),
    ).map((x) => (Object.is(x, -0) ? 0 : x));
  const scalarArb: fc.Arbitrary<Scalar> = fc.oneof(stringArb, numberArb, fc.boolean());

  const [minMs, maxMs] = edge ? [Date.parse('0001-01-01T00:00:00Z'), Date.parse('9999-12-30T00:00:00Z')] : [Date.parse('1970-01-01T00:00:00Z'), Date.parse('2099-12-31T00:00:00Z')];
  const formats = edge ? DATE_FORMATS : DATE_FORMATS.slice(0, 5);
  const dateArb = fc.tuple(fc.integer({ min: minMs, max: maxMs }), from(formats)).map(([ms, f]) => formatDate(ms, f));

  const amountArb: fc.Arbitrary<number> = edge
    ? fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: Number.MIN_VALUE, max: 100_000, noNaN: true }), fc.constantFrom(0.5, 1.5, 100_000))
    : fc.oneof({ arbitrary: fc.integer({ min: 1, max: 365 }), weight: 5 }, { arbitrary: fc.constantFrom(0.5, 1.5), weight: 1 });
  const durationArb: fc.Arbitrary<Duration> = fc.record({ amount: amountArb, unit: from(TIME_UNITS) }, { noNullPrototype: true });

  const betweenArb: fc.Arbitrary<Window> = edge
    ? fc.record({ type: fc.constant('between'), from: dateArb, to: dateArb }, { noNullPrototype: true })
    : fc.tuple(fc.integer({ min: minMs, max: maxMs - 400 * DAY }), fc.integer({ min: 1, max: 400 }), from(formats))
      .map(([ms, days, f]) => ({ type: 'between', from: formatDate(ms, f), to: formatDate(ms + days * DAY, f) }));
  const windowArb: fc.Arbitrary<Window> = fc.oneof(
    durationArb.map(({ amount, unit }): Window => ({ type: 'last', amount, unit })),
    betweenArb,
  );

  const comparisonArb: fc.Arbitrary<Comparison> = fc.oneof(
    fc.record({ op: from(EQ_OPS), value: scalarArb }, { noNullPrototype: true }),
    fc.record({ op: fc.constantFrom('in', 'not_in'), values: fc.array(scalarArb, { minLength: 1, maxLength: 4 }) }, { noNullPrototype: true }),
    fc.record({ op: fc.constantFrom('contains', 'not_contains', 'starts_with', 'ends_with'), value: nonEmptyString }, { noNullPrototype: true }),
    fc.record({ op: fc.constantFrom('exists', 'not_exists') }, { noNullPrototype: true }),
    fc.tuple(fc.constantFrom('within_last', 'within_next', 'more_than_ago'), durationArb).map(([op, d]): Comparison => ({ op, ...d })),
    fc.record({ op: fc.constantFrom('before', 'after'), date: dateArb }, { noNullPrototype: true }),
    fc.record({ op: fc.constant('anniversary_within'), days: fc.integer({ min: 0, max: 366 }) }, { noNullPrototype: true }),
  );
  const numericComparisonArb: fc.Arbitrary<NumericComparison> = fc.record({ op: from(EQ_OPS), value: numberArb }, { noNullPrototype: true });
  const dateComparisonArb: fc.Arbitrary<DateComparison> = fc.oneof(
    fc.tuple(fc.constantFrom('within_last', 'more_than_ago'), durationArb).map(([op, d]): DateComparison => ({ op, ...d })),
    fc.record({ op: fc.constantFrom('before', 'after'), date: dateArb }, { noNullPrototype: true }),
    fc.record({ op: fc.constantFrom('exists', 'not_exists') }, { noNullPrototype: true }),
  );

  const segmentArb = edge ? fc.oneof(from(v.pathSegments), nonEmptyString.filter((s) => !s.includes('.') && !/^\s/.test(s) && s.length < 60)) : from(v.pathSegments);
  const pathArb = fc.tuple(fc.constantFrom('properties', 'context', 'products'), fc.array(segmentArb, { minLength: 1, maxLength: 3 }))
    .map(([root, rest]) => [root, ...rest].join('.'));
  const filterArb: fc.Arbitrary<Filter> = fc.tuple(pathArb, comparisonArb).map(([path, c]): Filter => ({ path, ...c }));

  const selectorArb: fc.Arbitrary<EventSelector> = fc.record({
    event: name(v.eventNames),
    messageType: from(MESSAGE_TYPES),
    where: fc.array(filterArb, { minLength: edge ? 0 : 1, maxLength: 3 }),
  }, { requiredKeys: ['event'], noNullPrototype: true });

  const countArb = fc.record({ op: from(COUNT_OPS), value: edge ? fc.integer({ min: 0, max: 1_000_000 }) : fc.integer({ min: 0, max: 20 }) }, { noNullPrototype: true });
  const bucketRange: fc.Arbitrary<{ from: number; to: number }> = edge
    ? fc.record({ from: fc.integer({ min: 0, max: 100 }), to: fc.integer({ min: 0, max: 100 }) }, { noNullPrototype: true })
    : fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 100 })).map(([a, w]) => ({ from: a, to: Math.min(100, a + w) }));
  const optWindow = (w: Window | undefined): { window?: Window } => (w ? { window: w } : {});

  const leafArbs: ConditionArbs['leafArbs'] = {
    trait: fc.tuple(name(v.traitKeys), comparisonArb).map(([trait, c]): Condition => ({ type: 'trait', trait, ...c })),
    event: fc.record({ s: selectorArb, count: countArb, window: windowArb }, { requiredKeys: ['s'], noNullPrototype: true })
      .map(({ s, count, window }): Condition => ({ type: 'event', ...s, ...(count ? { count } : {}), ...optWindow(window) })),
    aggregate: fc.record({ s: selectorArb, fn: from(AGGREGATE_FNS), path: pathArb, c: numericComparisonArb, window: windowArb }, { requiredKeys: ['s', 'fn', 'path', 'c'], noNullPrototype: true })
      .map(({ s, fn, path, c, window }): Condition => ({ type: 'aggregate', ...s, fn, path, ...optWindow(window), ...c })),
    first_performed: fc.record({ s: selectorArb, c: dateComparisonArb, window: windowArb }, { requiredKeys: ['s', 'c'], noNullPrototype: true })
      .map(({ s, c, window }): Condition => ({ type: 'first_performed', ...s, ...optWindow(window), ...c })),
    last_performed: fc.record({ s: selectorArb, c: dateComparisonArb, window: windowArb }, { requiredKeys: ['s', 'c'], noNullPrototype: true })
      .map(({ s, c, window }): Condition => ({ type: 'last_performed', ...s, ...optWindow(window), ...c })),
    last_value: fc.record({ s: selectorArb, path: pathArb, c: comparisonArb, window: windowArb }, { requiredKeys: ['s', 'path', 'c'], noNullPrototype: true })
      .map(({ s, path, c, window }): Condition => ({ type: 'last_value', ...s, path, ...optWindow(window), ...c })),
    sequence: fc.record({ steps: fc.array(selectorArb, { minLength: 1, maxLength: edge ? 10 : 3 }), thenNot: selectorArb, within: durationArb, window: windowArb }, { requiredKeys: ['steps', 'within'], noNullPrototype: true })
      .map(({ steps, thenNot, within, window }): Condition => ({ type: 'sequence', steps, ...(thenNot ? { thenNot } : {}), within, ...optWindow(window) })),
    computed_trait: fc.tuple(name(v.computedKeys), comparisonArb).map(([key, c]): Condition => ({ type: 'computed_trait', key, ...c })),
    score: fc.tuple(name(v.scoreModels), comparisonArb).map(([model, c]): Condition => ({ type: 'score', model, ...c })),
    segment: name(v.segmentKeys).map((segment): Condition => ({ type: 'segment', segment })),
    consent: name(v.consentPurposes).map((purpose): Condition => ({ type: 'consent', purpose })),
    bucket: fc.tuple(name(v.salts), bucketRange).map(([salt, r]): Condition => ({ type: 'bucket', salt, ...r })),
  };
  const leafArb = fc.oneof(...Object.values(leafArbs));

  const { condition } = fc.letrec<{ condition: Condition }>((tie) => ({
    condition: fc.oneof(
      { maxDepth, depthSize: 'small', withCrossShrink: true },
      { arbitrary: leafArb, weight: 3 },
      { arbitrary: fc.array(tie('condition'), { minLength: 1, maxLength: 4 }).map((conditions): Condition => ({ type: 'and', conditions })), weight: 1 },
      { arbitrary: fc.array(tie('condition'), { minLength: 1, maxLength: 4 }).map((conditions): Condition => ({ type: 'or', conditions })), weight: 1 },
      { arbitrary: tie('condition').map((c): Condition => ({ type: 'not', condition: c })), weight: 1 },
    ),
  }));

  return {
    stringArb, numberArb, scalarArb, dateArb, durationArb, windowArb, comparisonArb, numericComparisonArb, dateComparisonArb,
    pathArb, filterArb, selectorArb, leafArbs, leafArb, conditionArb: condition,
  };
}

const realistic = conditionArbs();
export const {
  stringArb, numberArb, scalarArb, dateArb, durationArb, windowArb, comparisonArb, numericComparisonArb, dateComparisonArb,
  pathArb, filterArb, selectorArb, leafArbs, leafArb, conditionArb,
} = realistic;

/** Conditions over the corners of the schema (for the text round trip; see the file comment). */
export const edgeConditionArb: fc.Arbitrary<Condition> = conditionArbs({ edgeCases: true, maxDepth: 4 }).conditionArb;

/**
 * The segment language, JSON form (canonical: what the API, the UI and stored definitions use).
 * One zod schema gives the TypeScript type and the runtime validation; `checkDefinition` (check.ts) adds
 * the rules a schema cannot say (known segments, cycles, date order) as diagnostics.
 *
 * Semantics, in one place (docs/segments.md is the user reference; the reference evaluator in
 * reference.ts is this paragraph as code):
 * - Every condition is true or false for every profile (two-valued logic). A comparison on a missing
 *   value is false, except the negative operators `neq`, `not_in`, `not_contains` and `not_exists`,
 *   which hold when the value is missing. `not` negates.
 * - A literal's type picks the comparison: numbers compare numerically (a stored numeric string counts),
 *   booleans compare to JSON booleans, strings compare to JSON strings (case-sensitive for eq / in;
 *   case-insensitive for contains / starts_with / ends_with). Dates are ISO-8601 strings.
 * - Time: "now" is the evaluation time. `last N unit` windows are (now − N, now]. Events in the future
 *   (after now) are ignored everywhere.
 * - Event filters are ANDed. Filters on `products.*` must all hold on the same line item.
 */
import { z } from 'zod';

export const TIME_UNITS = ['minutes', 'hours', 'days', 'weeks'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];
export const UNIT_MS: Record<TimeUnit, number> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000, weeks: 604_800_000 };

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/, 'an ISO-8601 date like 2026-01-31 or 2026-01-31T12:00:00Z')
  .refine(isCalendarDate, 'a real calendar date and time (no 30 February, no 24:00)');

/** Date.parse rolls 2026-02-30 over to March; a real date survives a round trip through Date.UTC. */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d));
  t.setUTCFullYear(y); // years 0-99 are not 1900-1999
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && h <= 23 && mi <= 59 && se <= 59 && Number.isFinite(Date.parse(s));
}

const amount = z.number().finite().positive().max(100_000);

export const Duration = z.strictObject({ amount, unit: z.enum(TIME_UNITS) });
export type Duration = z.infer<typeof Duration>;

export const Scalar = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);
export type Scalar = z.infer<typeof Scalar>;

/** The comparison variants, as shapes so that each condition type can be one strict object per operator. */
const COMPARISON_SHAPES = [
  { op: z.enum(['eq', 'neq', 'lt', 'lte', 'gt', 'gte']), value: Scalar },
  { op: z.enum(['in', 'not_in']), values: z.array(Scalar).min(1).max(1000) },
  { op: z.enum(['contains', 'not_contains', 'starts_with', 'ends_with']), value: z.string().min(1).max(1000) },
  { op: z.enum(['exists', 'not_exists']) },
  { op: z.enum(['within_last', 'within_next', 'more_than_ago']), amount, unit: z.enum(TIME_UNITS) },
  { op: z.enum(['before', 'after']), date: isoDate },
  { op: z.literal('anniversary_within'), days: z.number().int().min(0).max(366) },
] as const;
const NUMERIC_SHAPES = [{ op: z.enum(['eq', 'neq', 'lt', 'lte', 'gt', 'gte']), value: z.number().finite() }] as const;
const DATE_SHAPES = [
  { op: z.enum(['within_last', 'more_than_ago']), amount, unit: z.enum(TIME_UNITS) },
  { op: z.enum(['before', 'after']), date: isoDate },
  { op: z.enum(['exists', 'not_exists']) },
] as const;

type Shape = Record<string, z.ZodType>;
type Discriminable<Out> = z.ZodType<Out> & z.core.$ZodTypeDiscriminable;
/**
 * One strict object per comparison variant, each with the base fields: typos in any key are rejected.
 * Spreading shapes loses zod's inferred type, so the caller names the output type (`Out`) it builds;
 * the type tests in test/segments check that the schemas accept exactly the typed forms.
 */
function withComparison<Out>(base: Shape, variants: readonly Shape[]): Discriminable<Out> {
  const [first, ...rest] = variants.map((v) => z.strictObject({ ...base, ...v }));
  if (!first) throw new Error('no variants');
  return z.discriminatedUnion('op', [first, ...rest]) as unknown as Discriminable<Out>;
}

export type Comparison =
  | { op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'; value: Scalar }
  | { op: 'in' | 'not_in'; values: Scalar[] }
  | { op: 'contains' | 'not_contains' | 'starts_with' | 'ends_with'; value: string }
  | { op: 'exists' | 'not_exists' }
  | { op: 'within_last' | 'within_next' | 'more_than_ago'; amount: number; unit: TimeUnit }
  | { op: 'before' | 'after'; date: string }
  | { op: 'anniversary_within'; days: number };
export const Comparison = withComparison<Comparison>({}, COMPARISON_SHAPES);
export type ComparisonOp = Comparison['op'];

/** A dotted path into an event: `properties.…`, `context.…` or `products.…` (a line item). */
export const EventPath = z.string().min(1).max(300)
  .regex(/^(properties|context|products)(\.[^.\s][^.]*)+$/, 'a path starting with properties., context. or products.');

export const Filter = withComparison<Filter>({ path: EventPath }, COMPARISON_SHAPES);
export type Filter = { path: string } & Comparison;

export const MESSAGE_TYPES = ['track', 'page', 'screen'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** Which events: a track event by name (or `*` for any), or pages / screens by name (or `*`). */
const EventSelector = {
  event: z.string().min(1).max(200),
  messageType: z.enum(MESSAGE_TYPES).optional(),
  where: z.array(Filter).max(20).optional(),
};
export interface EventSelector {
  event: string;
  messageType?: MessageType | undefined;
  where?: Filter[] | undefined;
}

export const Window = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('last'), amount, unit: z.enum(TIME_UNITS) }),
  z.strictObject({ type: z.literal('between'), from: isoDate, to: isoDate }),
]);
export type Window = z.infer<typeof Window>;

export const CountOp = z.enum(['at_least', 'exactly', 'at_most']);
export type CountOp = z.infer<typeof CountOp>;

export const AGGREGATE_FNS = ['sum', 'avg', 'min', 'max', 'count_distinct'] as const;
export type AggregateFn = (typeof AGGREGATE_FNS)[number];

export const SEGMENT_KEY = /^[a-z][a-z0-9_]{0,62}$/;

export type Condition =
  | { type: 'and'; conditions: Condition[] }
  | { type: 'or'; conditions: Condition[] }
  | { type: 'not'; condition: Condition }
  | ({ type: 'trait'; trait: string } & Comparison)
  | (EventSelector & { type: 'event'; count?: { op: CountOp; value: number } | undefined; window?: Window | undefined })
  | (EventSelector & { type: 'aggregate'; fn: AggregateFn; path: string; window?: Window | undefined } & NumericComparison)
  | (EventSelector & { type: 'first_performed'; window?: Window | undefined } & DateComparison)
  | (EventSelector & { type: 'last_performed'; window?: Window | undefined } & DateComparison)
  | (EventSelector & { type: 'last_value'; path: string; window?: Window | undefined } & Comparison)
  | { type: 'sequence'; steps: EventSelector[]; thenNot?: EventSelector | undefined; within: Duration; window?: Window | undefined }
  | ({ type: 'computed_trait'; key: string } & Comparison)
  | ({ type: 'score'; model: string } & Comparison)
  | { type: 'segment'; segment: string }
  | { type: 'consent'; purpose: string }
  | { type: 'bucket'; salt: string; from: number; to: number };

export type NumericComparison = { op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte'; value: number };
export type DateComparison =
  | { op: 'within_last' | 'more_than_ago'; amount: number; unit: TimeUnit }
  | { op: 'before' | 'after'; date: string }
  | { op: 'exists' | 'not_exists' };

const selector = z.strictObject(EventSelector);
const name = z.string().min(1).max(200);

export const MAX_DEPTH = 32;

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() => z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('and'), conditions: z.array(ConditionSchema).min(1).max(100) }),
  z.strictObject({ type: z.literal('or'), conditions: z.array(ConditionSchema).min(1).max(100) }),
  z.strictObject({ type: z.literal('not'), condition: ConditionSchema }),
  withComparison<Extract<Condition, { type: 'trait' }>>({ type: z.literal('trait'), trait: name }, COMPARISON_SHAPES),
  z.strictObject({
    type: z.literal('event'), ...EventSelector,
    count: z.strictObject({ op: CountOp, value: z.number().int().min(0).max(1_000_000) }).optional(),
    window: Window.optional(),
  }),
  withComparison<Extract<Condition, { type: 'aggregate' }>>({ type: z.literal('aggregate'), ...EventSelector, fn: z.enum(AGGREGATE_FNS), path: EventPath, window: Window.optional() }, NUMERIC_SHAPES),
  withComparison<Extract<Condition, { type: 'first_performed' }>>({ type: z.literal('first_performed'), ...EventSelector, window: Window.optional() }, DATE_SHAPES),
  withComparison<Extract<Condition, { type: 'last_performed' }>>({ type: z.literal('last_performed'), ...EventSelector, window: Window.optional() }, DATE_SHAPES),
  withComparison<Extract<Condition, { type: 'last_value' }>>({ type: z.literal('last_value'), ...EventSelector, path: EventPath, window: Window.optional() }, COMPARISON_SHAPES),
  z.strictObject({ type: z.literal('sequence'), steps: z.array(selector).min(1).max(10), thenNot: selector.optional(), within: Duration, window: Window.optional() }),
  withComparison<Extract<Condition, { type: 'computed_trait' }>>({ type: z.literal('computed_trait'), key: name }, COMPARISON_SHAPES),
  withComparison<Extract<Condition, { type: 'score' }>>({ type: z.literal('score'), model: name }, COMPARISON_SHAPES),
  z.strictObject({ type: z.literal('segment'), segment: name }),
  z.strictObject({ type: z.literal('consent'), purpose: name }),
  z.strictObject({ type: z.literal('bucket'), salt: z.string().min(1).max(200), from: z.number().int().min(0).max(100), to: z.number().int().min(0).max(100) }),
]));

/** A saved segment's definition (its key and version live beside it, in the store). */
export interface SegmentDefinition {
  name: string;
  description?: string | undefined;
  condition: Condition;
}

/** Computed traits: one value per profile from its events. */
export const COMPUTED_KINDS = ['count', 'sum', 'avg', 'min', 'max', 'most_frequent', 'first', 'last', 'unique_list', 'unique_count', 'days_since_last', 'days_since_first'] as const;
export type ComputedKind = (typeof COMPUTED_KINDS)[number];
/** Kinds whose value is a number (the others are JSON values: first, last, most frequent, unique list). */
export const NUMERIC_COMPUTED_KINDS: ReadonlySet<ComputedKind> = new Set(['count', 'sum', 'avg', 'min', 'max', 'unique_count', 'days_since_last', 'days_since_first']);

export interface ComputedTraitDefinition extends EventSelector {
  key: string;
  kind: ComputedKind;
  /** The property aggregated; required for every kind but count and days_since_*. */
  path?: string | undefined;
  window?: Window | undefined;
}

export const ComputedTraitSchema = z.strictObject({
  key: z.string().regex(SEGMENT_KEY, 'lower-case letters, digits and _, starting with a letter'),
  kind: z.enum(COMPUTED_KINDS),
  ...EventSelector,
  path: EventPath.optional(),
  window: Window.optional(),
});

/** A problem in a definition: a stable code, a message that says what is wrong, and where. */
export interface Diagnostic {
  code: string;
  message: string;
  severity: 'error' | 'warning';
  /** Text form: character offsets [start, end) in the source. */
  span?: { start: number; end: number } | undefined;
  /** JSON form: a JSON pointer to the offending value, e.g. /conditions/1/window/amount. */
  pointer?: string | undefined;
}

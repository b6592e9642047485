/**
 * Random worlds for the segment property tests: conditions over a small shared vocabulary, profiles with
 * events, traits and a score, the segments they may reference and the computed traits they may read.
 * Used by property.test.ts (compiled SQL against the reference evaluator) and instant.test.ts (instant
 * decisions against the reference evaluator on the whole history).
 */
import fc from 'fast-check';
import type { JsonValue } from '../../src/domain/errors.js';
import type { ComputedTraitDefinition, Condition } from '../../src/domain/segments/ast.js';
import type { EvalEvent, EvalProfile } from '../../src/domain/segments/reference.js';
import { conditionArbs } from './arbitrary.js';

export const EVENT_NAMES = ['Order Completed', 'Product Viewed', 'Product Added', 'Checkout Started'];
// The generated conditions speak about the same names as the generated events, traits and definitions.
export const conditionArb = conditionArbs({
  vocabulary: {
    eventNames: [...EVENT_NAMES, '*'], traitKeys: ['plan', 'age', 'email', 'vip', 'signup', 'first name', 'and', 'birthday'],
    pathSegments: ['revenue', 'currency', 'category', 'price', 'odd key'], computedKeys: ['orders_90d', 'revenue_total', 'score', 'cats', 'top_currency', 'avg_price', 'since', 'distinct_cats'],
    scoreModels: ['churn', 'clv model'], segmentKeys: ['vip', 'big_spenders', 'in'], consentPurposes: ['marketing', 'analytics'],
  },
  maxDepth: 3,
}).conditionArb;
export const NOW = Date.parse('2026-06-15T12:00:00Z');
export const D = 86_400_000;

// Referenced by generated conditions (condition-arb.ts uses these keys and names).
export const REF_SEGMENTS = new Map<string, Condition>([
  ['vip', { type: 'trait', trait: 'vip', op: 'eq', value: true }],
  ['big_spenders', { type: 'aggregate', event: 'Order Completed', fn: 'sum', path: 'properties.revenue', op: 'gte', value: 100 }],
  ['in', { type: 'event', event: 'Product Viewed', count: { op: 'at_least', value: 2 } }],
]);
export const COMPUTED: ComputedTraitDefinition[] = [
  { key: 'orders_90d', kind: 'count', event: 'Order Completed', window: { type: 'last', amount: 90, unit: 'days' } },
  { key: 'revenue_total', kind: 'sum', event: 'Order Completed', path: 'properties.revenue' },
  { key: 'score', kind: 'last', event: '*', path: 'properties.category' },
  { key: 'cats', kind: 'unique_list', event: 'Order Completed', path: 'products.category' },
  { key: 'top_currency', kind: 'most_frequent', event: '*', path: 'properties.currency' },
  { key: 'avg_price', kind: 'avg', event: '*', path: 'products.price' },
  { key: 'since', kind: 'days_since_first', event: '*' },
  { key: 'distinct_cats', kind: 'unique_count', event: '*', path: 'properties.category' },
];

// JSON values chosen to exercise the type rules: numbers, numeric strings, other strings, booleans, null.
const valueArb: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.integer({ min: -5, max: 300 }), fc.constantFrom(0.5, 12.5, 99.5), fc.constantFrom('12', ' 7 ', '1e2', '0x10', 'abc', 'EUR', 'USD', 'shoes', 'Shoes', 'hats', ''),
  fc.boolean(), fc.constant(null),
  fc.integer({ min: Date.parse('2024-01-01'), max: Date.parse('2027-01-01') }).map((ms) => new Date(ms).toISOString().slice(0, 10)),
);
const KEYS = ['revenue', 'currency', 'category', 'price', 'odd key'];
const objArb = fc.dictionary(fc.constantFrom(...KEYS), valueArb, { maxKeys: 4 });
const itemArb = fc.record({ category: fc.constantFrom('shoes', 'hats', 'Shoes'), price: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constant('7')) }, { requiredKeys: [] });
export const eventArb = fc.record({
  type: fc.constantFrom('track', 'track', 'track', 'page', 'screen'),
  name: fc.constantFrom(...EVENT_NAMES),
  // mostly in the past two years, some within the last day (sequences), a few in the future
  ago: fc.oneof(fc.integer({ min: 0, max: 800 * D }), fc.integer({ min: 0, max: 2 * D }), fc.integer({ min: -2 * D, max: 0 })),
  properties: objArb,
  products: fc.option(fc.array(itemArb, { maxLength: 3 }), { nil: undefined }),
  consent: fc.option(fc.boolean(), { nil: undefined }),
  campaign: fc.option(valueArb, { nil: undefined }),
});
export const profileArb = fc.record({
  events: fc.array(eventArb, { maxLength: 8 }),
  traits: fc.dictionary(fc.constantFrom('plan', 'age', 'email', 'vip', 'signup', 'first name', 'and', 'birthday'), valueArb, { maxKeys: 5 }),
  churn: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

export type ProfileDraw = typeof profileArb extends fc.Arbitrary<infer T> ? T : never;

/** A drawn profile as the reference evaluator reads it (ids `<ws>_p<i>`, message ids numbered on from `m`). */
export function toEvalProfile(raw: ProfileDraw, pid: string, counter: { m: number }): EvalProfile {
  const p = raw;
  const events: EvalEvent[] = p.events.map((e) => {
    const properties: Record<string, JsonValue> = JSON.parse(JSON.stringify({ ...e.properties, ...(e.products ? { products: e.products } : {}) })) as Record<string, JsonValue>;
    const context: Record<string, JsonValue> = JSON.parse(JSON.stringify({
      ...(e.consent !== undefined ? { consent: { categoryPreferences: { marketing: e.consent } } } : {}),
      ...(e.campaign !== undefined ? { category: e.campaign } : {}),
    })) as Record<string, JsonValue>;
    const ev: EvalEvent = { messageId: `m${++counter.m}`, type: e.type, ...(e.type === 'track' ? { event: e.name } : { name: e.name }), timestamp: NOW - e.ago, properties, context };
    return ev;
  });
  const traits = JSON.parse(JSON.stringify(p.traits)) as Record<string, JsonValue>;
  return { profileId: pid, events, traits, scores: p.churn !== undefined ? { churn: p.churn } : {} };
}

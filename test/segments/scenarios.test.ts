/**
 * Scenario tables in simulated time: events at offsets from "now", compile, run on DuckDB and on
 * ClickHouse (chdb), assert the members of every condition type and the computed trait values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compileWorkspace } from '../../src/domain/segments/compile.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import type { ComputedTraitDefinition, Condition } from '../../src/domain/segments/ast.js';
import { chdbRunner, duckRunner, type EngineRunner, type ScenarioData, type ScenarioEvent } from './engines.js';

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.parse('2026-06-15T12:00:00Z');
let n = 0;
const ev = (pid: string, ago: number, event: string, properties: ScenarioEvent['properties'] = {}, context: ScenarioEvent['context'] = {}): ScenarioEvent =>
  ({ pid, mid: `m${++n}`, type: 'track', event, ts: NOW - ago, properties, context });

export const DATA: ScenarioData = {
  workspaceId: 'ws_scn',
  profiles: ['p1', 'p2', 'p3', 'p4', 'p5'],
  events: [
    ev('p1', 10 * D, 'Order Completed', { revenue: 60, products: [{ category: 'shoes', price: 50 }, { category: 'hats', price: 10 }] }),
    ev('p1', 40 * D, 'Order Completed', { revenue: 30 }),
    ev('p1', 100 * D, 'Order Completed', { revenue: '20' }),
    { pid: 'p1', mid: 'pg1', type: 'page', name: 'Pricing', ts: NOW - D, properties: {}, context: {} },
    ev('p1', 2 * H, 'Checkout Started'),
    ev('p1', 1 * H, 'Order Completed', { revenue: 10 }),
    ev('p2', 3 * H, 'Checkout Started'),
    ev('p2', 5 * D, 'Product Viewed', {}, { consent: { categoryPreferences: { marketing: true } } }),
    ev('p2', 5 * D - H, 'Product Added'),
    ev('p2', 1 * D, 'Newsletter Opened', {}, { consent: { categoryPreferences: { marketing: false } } }),
    ev('p4', 5 * D, 'Order Completed', { revenue: 500, currency: 'EUR' }),
    ev('p4', 4 * D, 'Product Viewed', {}, { consent: { categoryPreferences: { marketing: true } } }),
    ev('p5', -1 * D, 'Order Completed', { revenue: 1 }),
  ],
  traits: [
    { pid: 'p1', key: 'plan', value: 'free' }, { pid: 'p1', key: 'age', value: '45' }, { pid: 'p1', key: 'email', value: 'Ada@Gmail.com' },
    { pid: 'p2', key: 'age', value: 'x' },
    { pid: 'p3', key: 'plan', value: 'pro' }, { pid: 'p3', key: 'age', value: 30 }, { pid: 'p3', key: 'birthday', value: '1990-06-20' },
    { pid: 'p3', key: 'vip', value: true }, { pid: 'p3', key: 'signup', value: '2026-06-01' },
  ],
  scores: [{ pid: 'p2', model: 'churn', score: 0.9 }, { pid: 'p3', model: 'churn', score: 0.1 }],
};

const OC = 'Order Completed';
const last = (amount: number, unit: 'days' | 'hours' = 'days') => ({ type: 'last' as const, amount, unit });
function bucket(salt: string, pid: string): number {
  return parseInt(createHash('md5').update(`${salt}:${pid}`).digest('hex').slice(0, 8), 16) % 100;
}

const CASES: Array<[string, Condition, string[]]> = [
  ['trait eq', { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }, ['p3']],
  ['trait neq holds when missing', { type: 'trait', trait: 'plan', op: 'neq', value: 'pro' }, ['p1', 'p2', 'p4', 'p5']],
  ['trait gte on a numeric string; non-numeric is missing', { type: 'trait', trait: 'age', op: 'gte', value: 40 }, ['p1']],
  ['trait contains is case-insensitive', { type: 'trait', trait: 'email', op: 'contains', value: 'gmail' }, ['p1']],
  ['trait in', { type: 'trait', trait: 'plan', op: 'in', values: ['pro', 'team'] }, ['p3']],
  ['trait not_in holds when missing', { type: 'trait', trait: 'plan', op: 'not_in', values: ['pro'] }, ['p1', 'p2', 'p4', 'p5']],
  ['trait boolean', { type: 'trait', trait: 'vip', op: 'eq', value: true }, ['p3']],
  ['trait exists', { type: 'trait', trait: 'age', op: 'exists' }, ['p1', 'p2', 'p3']],
  ['trait anniversary within 7 days', { type: 'trait', trait: 'birthday', op: 'anniversary_within', days: 7 }, ['p3']],
  ['trait date within last 30 days', { type: 'trait', trait: 'signup', op: 'within_last', amount: 30, unit: 'days' }, ['p3']],
  ['trait date before', { type: 'trait', trait: 'signup', op: 'before', date: '2026-06-02' }, ['p3']],
  ['event at least 2 in last 90 days', { type: 'event', event: OC, count: { op: 'at_least', value: 2 }, window: last(90) }, ['p1']],
  ['event exactly 0 (future events ignored)', { type: 'event', event: OC, count: { op: 'exactly', value: 0 } }, ['p2', 'p3', 'p5']],
  ['event between dates', { type: 'event', event: OC, window: { type: 'between', from: '2026-05-01', to: '2026-06-09' } }, ['p1']],
  ['aggregate sum (numeric strings count)', { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: 100 }, ['p1', 'p4']],
  ['aggregate avg', { type: 'aggregate', event: OC, fn: 'avg', path: 'properties.revenue', op: 'lt', value: 50 }, ['p1']],
  ['aggregate sum over line items', { type: 'aggregate', event: OC, fn: 'sum', path: 'products.price', op: 'eq', value: 60 }, ['p1']],
  ['line item filters hold on the same item', { type: 'event', event: OC, where: [{ path: 'products.category', op: 'eq', value: 'shoes' }, { path: 'products.price', op: 'gt', value: 40 }] }, ['p1']],
  ['line item filters on different items do not match', { type: 'event', event: OC, where: [{ path: 'products.category', op: 'eq', value: 'hats' }, { path: 'products.price', op: 'gt', value: 40 }] }, []],
  ['last performed within 7 days', { type: 'last_performed', event: OC, op: 'within_last', amount: 7, unit: 'days' }, ['p1', 'p4']],
  ['first performed more than 60 days ago', { type: 'first_performed', event: OC, op: 'more_than_ago', amount: 60, unit: 'days' }, ['p1']],
  ['last value', { type: 'last_value', event: OC, path: 'properties.currency', op: 'eq', value: 'EUR' }, ['p4']],
  ['sequence within', { type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }], within: { amount: 1, unit: 'days' } }, ['p2']],
  ['abandoned checkout: then not within 1 hour', { type: 'sequence', steps: [{ event: 'Checkout Started' }], thenNot: { event: OC }, within: { amount: 1, unit: 'hours' } }, ['p2']],
  ['consent: the latest decision counts', { type: 'consent', purpose: 'marketing' }, ['p4']],
  ['page by name', { type: 'event', event: 'Pricing', messageType: 'page' }, ['p1']],
  ['not', { type: 'not', condition: { type: 'event', event: OC, count: { op: 'at_least', value: 2 }, window: last(90) } }, ['p2', 'p3', 'p4', 'p5']],
  ['segment reference', { type: 'and', conditions: [{ type: 'segment', segment: 'big_spenders' }, { type: 'trait', trait: 'plan', op: 'neq', value: 'pro' }] }, ['p1', 'p4']],
  ['score', { type: 'score', model: 'churn', op: 'gt', value: 0.5 }, ['p2']],
  ['computed trait', { type: 'computed_trait', key: 'orders_90d', op: 'gte', value: 1 }, ['p1', 'p4']],
  ['bucket', { type: 'bucket', salt: 'h', from: 0, to: 50 }, ['p1', 'p2', 'p3', 'p4', 'p5'].filter((p) => bucket('h', p) < 50)],
  ['or', { type: 'or', conditions: [{ type: 'trait', trait: 'plan', op: 'eq', value: 'pro' }, { type: 'score', model: 'churn', op: 'gt', value: 0.5 }] }, ['p2', 'p3']],
];

const COMPUTED: ComputedTraitDefinition[] = [
  { key: 'orders_90d', kind: 'count', event: OC, window: last(90) },
  { key: 'revenue_total', kind: 'sum', event: OC, path: 'properties.revenue' },
  { key: 'categories', kind: 'unique_list', event: OC, path: 'products.category' },
  { key: 'last_currency', kind: 'last', event: OC, path: 'properties.currency' },
  { key: 'days_since_order', kind: 'days_since_last', event: OC },
  { key: 'top_event_revenue', kind: 'most_frequent', event: '*', path: 'properties.revenue' },
];

const SEGMENTS = [
  { key: 'big_spenders', condition: { type: 'aggregate', event: OC, fn: 'sum', path: 'properties.revenue', op: 'gte', value: 100 } as Condition },
  ...CASES.map(([, c], i) => ({ key: `case_${i}`, condition: c })),
];

for (const open of [duckRunner, chdbRunner]) {
  test(`scenarios on ${open === duckRunner ? 'DuckDB' : 'ClickHouse (chdb)'}: every condition type, one shared statement`, async () => {
    const r: EngineRunner = await open();
    try {
      await r.load(DATA);
      const q = compileWorkspace(DIALECTS[r.name], { workspaceId: DATA.workspaceId, now: NOW, segments: SEGMENTS, computed: COMPUTED });
      const rows = await r.run(q);
      assert.deepEqual(rows.map((x) => x.pid), DATA.profiles);
      CASES.forEach(([name, , expected], i) => {
        const members = rows.filter((x) => x.segments[`case_${i}`]).map((x) => x.pid);
        assert.deepEqual(members, expected, `${r.name}: ${name}`);
      });
      const byPid = new Map(rows.map((x) => [x.pid, x.computed]));
      assert.deepEqual(byPid.get('p1'), { orders_90d: 3, revenue_total: 120, categories: ['hats', 'shoes'], last_currency: undefined, days_since_order: 0, top_event_revenue: '20' });
      assert.deepEqual(byPid.get('p4'), { orders_90d: 1, revenue_total: 500, categories: undefined, last_currency: 'EUR', days_since_order: 5, top_event_revenue: 500 });
      assert.deepEqual(byPid.get('p3'), { orders_90d: 0, revenue_total: 0, categories: undefined, last_currency: undefined, days_since_order: undefined, top_event_revenue: undefined });
      // restricted (incremental) run: same answers for the chosen profiles only
      const q2 = compileWorkspace(DIALECTS[r.name], { workspaceId: DATA.workspaceId, now: NOW, segments: SEGMENTS, computed: COMPUTED, profileIds: ['p2', 'p4'] });
      const rows2 = await r.run(q2);
      assert.deepEqual(rows2, rows.filter((x) => x.pid === 'p2' || x.pid === 'p4'));
    } finally {
      await r.close();
    }
  });
}

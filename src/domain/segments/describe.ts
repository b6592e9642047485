/** Short English for one condition node and its evaluated value (explain output). */
import type { Comparison, Condition, EventSelector, Window } from './ast.js';

function cmp(c: Comparison): string {
  switch (c.op) {
    case 'eq': return `= ${JSON.stringify(c.value)}`;
    case 'neq': return `≠ ${JSON.stringify(c.value)}`;
    case 'lt': return `< ${c.value}`;
    case 'lte': return `≤ ${c.value}`;
    case 'gt': return `> ${c.value}`;
    case 'gte': return `≥ ${c.value}`;
    case 'in': return `in ${JSON.stringify(c.values)}`;
    case 'not_in': return `not in ${JSON.stringify(c.values)}`;
    case 'contains': return `contains ${JSON.stringify(c.value)}`;
    case 'not_contains': return `does not contain ${JSON.stringify(c.value)}`;
    case 'starts_with': return `starts with ${JSON.stringify(c.value)}`;
    case 'ends_with': return `ends with ${JSON.stringify(c.value)}`;
    case 'exists': return 'exists';
    case 'not_exists': return 'does not exist';
    case 'within_last': return `within the last ${c.amount} ${c.unit}`;
    case 'within_next': return `within the next ${c.amount} ${c.unit}`;
    case 'more_than_ago': return `more than ${c.amount} ${c.unit} ago`;
    case 'before': return `before ${c.date}`;
    case 'after': return `after ${c.date}`;
    case 'anniversary_within': return `has its anniversary within ${c.days} days`;
  }
}

function win(w: Window | undefined): string {
  if (!w) return 'ever';
  return w.type === 'last' ? `in the last ${w.amount} ${w.unit}` : `between ${w.from} and ${w.to}`;
}

function sel(s: EventSelector): string {
  const what = s.messageType && s.messageType !== 'track' ? `${s.messageType} ${s.event === '*' ? '(any)' : JSON.stringify(s.event)}` : s.event === '*' ? 'any event' : JSON.stringify(s.event);
  const where = s.where?.length ? ` where ${s.where.map((f) => `${f.path} ${cmp(f)}`).join(' and ')}` : '';
  return what + where;
}

export function describe(c: Condition): string {
  switch (c.type) {
    case 'and': return 'all of';
    case 'or': return 'any of';
    case 'not': return 'not';
    case 'trait': return `trait ${c.trait} ${cmp(c)}`;
    case 'event': {
      const n = c.count ?? { op: 'at_least', value: 1 };
      return `performed ${sel(c)} ${n.op.replace('_', ' ')} ${n.value} times ${win(c.window)}`;
    }
    case 'aggregate': return `${c.fn} of ${c.path} over ${sel(c)} ${win(c.window)} ${cmp(c)}`;
    case 'first_performed': return `first ${sel(c)} ${win(c.window)} ${cmp(c)}`;
    case 'last_performed': return `last ${sel(c)} ${win(c.window)} ${cmp(c)}`;
    case 'last_value': return `last ${c.path} of ${sel(c)} ${cmp(c)}`;
    case 'sequence': return `${c.steps.map(sel).join(' then ')}${c.thenNot ? ` and not then ${sel(c.thenNot)}` : ''} within ${c.within.amount} ${c.within.unit}`;
    case 'computed_trait': return `computed trait ${c.key} ${cmp(c)}`;
    case 'score': return `score ${c.model} ${cmp(c)}`;
    case 'segment': return `member of segment ${c.segment}`;
    case 'consent': return `consented to ${c.purpose}`;
    case 'bucket': return `random bucket (salt ${JSON.stringify(c.salt)}) in ${c.from}..${c.to - 1}`;
  }
}

/** A leaf's value for people: times as ISO dates. */
export function describeValue(c: Condition, raw: unknown): string | undefined {
  if (raw === null || raw === undefined) return c.type === 'trait' || c.type === 'last_value' || c.type === 'computed_trait' || c.type === 'score' ? 'missing' : undefined;
  if (c.type === 'first_performed' || c.type === 'last_performed') return new Date(Number(raw)).toISOString();
  const text = String(raw);
  // Engines print doubles as "220.0"; people read 220.
  return /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text) ? String(Number(text)) : text;
}

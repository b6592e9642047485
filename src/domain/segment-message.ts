/**
 * The Segment tracking message: validation of one raw message as a client sent it, and the merge of a
 * batch envelope's `context` / `integrations` into each message. Pure: no I/O.
 *
 * Validation is hand-written rather than a schema library because it runs on every ingested message
 * (≥ 100k/s) and must name the exact field that is wrong; the checks follow REFERENCES.md.
 */
import { FORBIDDEN_KEYS, MAX_ABS_NUMBER, MAX_JSON_DEPTH, MAX_MESSAGE_ID_LENGTH } from './limits.js';
import { InputError, isPlainObject, type JsonObject, type JsonValue } from './errors.js';

export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The browser library's one-letter paths. */
export const SHORT_PATHS: Readonly<Record<string, MessageType | 'batch'>> = {
  i: 'identify',
  t: 'track',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
  b: 'batch',
};

/** A message after validation: ids are strings, objects are plain JSON objects. */
export interface SegmentMessage {
  type: MessageType;
  messageId: string | undefined;
  userId: string | undefined;
  anonymousId: string | undefined;
  event: string | undefined;
  name: string | undefined;
  groupId: string | undefined;
  previousId: string | undefined;
  properties: JsonObject;
  traits: JsonObject;
  context: JsonObject;
  integrations: JsonObject;
  timestamp: string | undefined;
  originalTimestamp: string | undefined;
  sentAt: string | undefined;
}

/** Check that a parsed JSON value holds no hostile keys, no non-finite or absurd numbers, no deep nesting. */
export function assertSafeJson(value: unknown, path: string, depth = 0): void {
  if (depth > MAX_JSON_DEPTH) throw new InputError('too_deep', `nesting deeper than ${MAX_JSON_DEPTH} levels`, path);
  if (typeof value === 'string') {
    // JSON escapes can spell lone UTF-16 surrogates, which are not text and which databases refuse.
    if (!isWellFormed(value)) throw new InputError('bad_unicode', 'string contains an unpaired UTF-16 surrogate (\\ud800-\\udfff)', path);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || Math.abs(value) > MAX_ABS_NUMBER) {
      throw new InputError('bad_number', `number out of range (|x| must be ≤ ${MAX_ABS_NUMBER})`, path);
    }
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertSafeJson(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new InputError('forbidden_key', `property name '${key}' is not allowed`, path);
      if (!isWellFormed(key)) throw new InputError('bad_unicode', 'a property name contains an unpaired UTF-16 surrogate', path);
      assertSafeJson((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    }
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

function optId(raw: Record<string, unknown>, key: string, maxLen = 1024): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new InputError('wrong_type', `must be a string, got ${describe(v)}`, key);
  if (v.length > maxLen) throw new InputError('too_long', `is longer than ${maxLen} characters`, key);
  return v === '' ? undefined : v;
}

function optString(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InputError('wrong_type', `must be a string, got ${describe(v)}`, key);
  return v;
}

function optObject(raw: Record<string, unknown>, key: string): JsonObject {
  const v = raw[key];
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw new InputError('wrong_type', `must be an object, got ${describe(v)}`, key);
  return v;
}

function optTime(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
    throw new InputError('wrong_type', `must be an ISO-8601 date string, got ${describe(v)}`, key);
  }
  const ms = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) throw new InputError('bad_date', `'${String(v).slice(0, 40)}' is not a valid ISO-8601 date`, key);
  // Years outside 1970..9999 are typos or attacks, and DuckDB/ClickHouse timestamps reject some of them.
  if (ms < 0 || ms > 253402300799000) throw new InputError('bad_date', `'${String(v).slice(0, 40)}' is outside 1970..9999`, key);
  return new Date(ms).toISOString();
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v}`;
}

/**
 * Validate one raw message. `forcedType` is the type implied by the path (`/v1/track`); inside a
 * batch, each message carries its own `type`.
 */
export function parseMessage(raw: unknown, forcedType?: MessageType): SegmentMessage {
  if (!isPlainObject(raw)) throw new InputError('wrong_type', `a message must be a JSON object, got ${describe(raw)}`);
  assertSafeJson(raw, 'message');
  const rawType = forcedType ?? raw['type'];
  if (typeof rawType !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(rawType)) {
    throw new InputError('bad_type', `type must be one of ${MESSAGE_TYPES.join(', ')}, got ${JSON.stringify(rawType ?? null)}`, 'type');
  }
  const type = rawType as MessageType;
  const msg: SegmentMessage = {
    type,
    messageId: optId(raw, 'messageId', MAX_MESSAGE_ID_LENGTH),
    userId: optId(raw, 'userId'),
    anonymousId: optId(raw, 'anonymousId'),
    event: optString(raw, 'event'),
    name: optString(raw, 'name'),
    groupId: optId(raw, 'groupId'),
    previousId: optId(raw, 'previousId'),
    properties: optObject(raw, 'properties'),
    traits: optObject(raw, 'traits'),
    context: optObject(raw, 'context'),
    integrations: optObject(raw, 'integrations'),
    timestamp: optTime(raw, 'timestamp'),
    originalTimestamp: optTime(raw, 'originalTimestamp'),
    sentAt: optTime(raw, 'sentAt'),
  };
  if (msg.userId === undefined && msg.anonymousId === undefined) {
    throw new InputError('missing_id', 'every message needs a userId or an anonymousId');
  }
  if (type === 'track' && (msg.event === undefined || msg.event.trim() === '')) {
    throw new InputError('missing_event', 'a track message needs a non-empty event name', 'event');
  }
  if (type === 'track' && msg.event !== undefined && msg.event.length > 200) {
    throw new InputError('too_long', 'is longer than 200 characters', 'event');
  }
  if (type === 'group' && msg.groupId === undefined) {
    throw new InputError('missing_group', 'a group message needs a groupId', 'groupId');
  }
  if (type === 'alias' && msg.previousId === undefined) {
    throw new InputError('missing_previous', 'an alias message needs a previousId', 'previousId');
  }
  return msg;
}

/** A batch envelope: `{batch:[…], writeKey?, sentAt?, context?, integrations?}`. */
export interface BatchEnvelope {
  batch: unknown[];
  sentAt: string | undefined;
  context: JsonObject;
  integrations: JsonObject;
}

export function parseEnvelope(raw: unknown): BatchEnvelope {
  if (!isPlainObject(raw)) throw new InputError('wrong_type', `a batch must be a JSON object, got ${describe(raw)}`);
  const batch = raw['batch'];
  if (!Array.isArray(batch)) throw new InputError('wrong_type', `must be an array of messages, got ${describe(batch)}`, 'batch');
  // The envelope's own keys get the same hostile-key check as a single message's (messages are checked one by one).
  for (const key of Object.keys(raw)) {
    if (FORBIDDEN_KEYS.has(key)) throw new InputError('forbidden_key', `property name '${key}' is not allowed`, 'envelope');
  }
  for (const key of ['context', 'integrations'] as const) {
    if (raw[key] !== undefined) assertSafeJson(raw[key], key);
  }
  return {
    batch,
    sentAt: optTime(raw, 'sentAt'),
    context: optObject(raw, 'context'),
    integrations: optObject(raw, 'integrations'),
  };
}

/** Top-level batch context / integrations merge into each message; the message's own keys win. */
export function applyEnvelope(msg: SegmentMessage, env: BatchEnvelope): SegmentMessage {
  const context = Object.keys(env.context).length ? { ...env.context, ...msg.context } : msg.context;
  const integrations = Object.keys(env.integrations).length ? { ...env.integrations, ...msg.integrations } : msg.integrations;
  return { ...msg, context, integrations, sentAt: msg.sentAt ?? env.sentAt };
}

/** Read a nested value such as `context.page.url` from a JSON object. */
export function pick(obj: JsonObject, ...path: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const key of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, key) ? cur[key] : undefined;
  }
  return cur;
}

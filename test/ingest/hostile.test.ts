/**
 * Hostile requests: every one is answered 4xx with a JSON error that says what is wrong, nothing of it is
 * written, and the server keeps working. SQL-looking data is data: stored verbatim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { basic, openTestApp, type TestApp } from '../helpers.js';

interface Hostile {
  name: string;
  path?: string;
  body: string | Uint8Array;
  headers?: Record<string, string>;
  status?: number;
}

const good = '{"type":"track","userId":"ok","event":"Good"}';
const deep = (n: number, leaf = '1') => '{"a":'.repeat(n) + leaf + '}'.repeat(n);
const deepArr = (n: number) => '['.repeat(n) + ']'.repeat(n);

const CORPUS: Hostile[] = [
  // malformed JSON
  { name: 'truncated object', body: '{"userId":"u","event":"E"' },
  { name: 'trailing comma', body: '{"userId":"u","event":"E",}' },
  { name: 'single quotes', body: "{'userId':'u','event':'E'}" },
  { name: 'unquoted keys', body: '{userId:"u",event:"E"}' },
  { name: 'NaN literal', body: '{"userId":"u","event":"E","properties":{"x":NaN}}' },
  { name: 'two objects', body: '{"userId":"u","event":"E"}{"userId":"u","event":"E"}' },
  { name: 'empty body', body: '' },
  { name: 'whitespace body', body: '   \n ' },
  { name: 'BOM then garbage', body: '\ufeff{{' },
  // not an object
  { name: 'array body', body: '[{"userId":"u","event":"E"}]' },
  { name: 'string body', body: '"hello"' },
  { name: 'number body', body: '42' },
  { name: 'null body', body: 'null' },
  { name: 'true body', body: 'true' },
  { name: 'batch body is an array', path: '/v1/batch', body: '[' + good + ']' },
  // wrong types
  { name: 'userId object', body: '{"userId":{"id":1},"event":"E"}' },
  { name: 'userId array', body: '{"userId":["a"],"event":"E"}' },
  { name: 'userId bool', body: '{"userId":true,"event":"E"}' },
  { name: 'anonymousId object', body: '{"anonymousId":{},"event":"E"}' },
  { name: 'event number', body: '{"userId":"u","event":7}' },
  { name: 'properties array', body: '{"userId":"u","event":"E","properties":[1,2]}' },
  { name: 'properties string', body: '{"userId":"u","event":"E","properties":"x=1"}' },
  { name: 'context string', body: '{"userId":"u","event":"E","context":"ctx"}' },
  { name: 'traits array', path: '/v1/identify', body: '{"userId":"u","traits":["a"]}' },
  { name: 'timestamp garbage', body: '{"userId":"u","event":"E","timestamp":"yesterday-ish"}' },
  { name: 'timestamp object', body: '{"userId":"u","event":"E","timestamp":{"t":1}}' },
  { name: 'timestamp year 20000', body: '{"userId":"u","event":"E","timestamp":"+020000-01-01T00:00:00Z"}' },
  { name: 'sentAt garbage', body: '{"userId":"u","event":"E","sentAt":"nope"}' },
  { name: 'messageId over 100 chars', body: JSON.stringify({ userId: 'u', event: 'E', messageId: 'm'.repeat(101) }) },
  { name: 'event over 200 chars', body: JSON.stringify({ userId: 'u', event: 'E'.repeat(201) }) },
  { name: 'batch not array (object)', path: '/v1/batch', body: '{"batch":{"0":' + good + '}}' },
  { name: 'batch not array (string)', path: '/v1/batch', body: '{"batch":"' + 'x' + '"}' },
  { name: 'batch missing', path: '/v1/batch', body: '{"messages":[' + good + ']}' },
  { name: 'batch item not an object', path: '/v1/batch', body: '{"batch":[' + good + ',"x"]}' },
  { name: 'batch item without type', path: '/v1/batch', body: '{"batch":[{"userId":"u","event":"E"}]}' },
  { name: 'batch item with unknown type', path: '/v1/batch', body: '{"batch":[{"type":"delete","userId":"u"}]}' },
  { name: 'envelope sentAt garbage', path: '/v1/batch', body: '{"sentAt":"soon","batch":[' + good + ']}' },
  { name: 'envelope context array', path: '/v1/batch', body: '{"context":[1],"batch":[' + good + ']}' },
  { name: 'group without groupId', path: '/v1/group', body: '{"userId":"u"}' },
  { name: 'alias without previousId', path: '/v1/alias', body: '{"userId":"u"}' },
  // a batch whose 3rd message is bad after 2 good ones: nothing of it is written
  { name: 'batch with bad 3rd message', path: '/v1/batch', body: '{"batch":[' + good + ',' + good.replace('Good', 'Good2') + ',{"type":"track","userId":"u"}]}' },
  { name: 'batch with bad 3rd message (wrong type)', path: '/v1/batch', body: '{"batch":[' + good + ',' + good + ',{"type":"track","userId":[1],"event":"E"}]}' },
  // numbers
  { name: '1e400 (Infinity)', body: '{"userId":"u","event":"E","properties":{"n":1e400}}' },
  { name: '-1e400 (-Infinity)', body: '{"userId":"u","event":"E","properties":{"n":-1e400}}' },
  { name: '1e300', body: '{"userId":"u","event":"E","properties":{"n":1e300}}' },
  { name: '1e300 as revenue', body: '{"userId":"u","event":"Order Completed","properties":{"revenue":1e300}}' },
  { name: '1e400 as userId', body: '{"userId":1e400,"event":"E"}' },
  { name: 'huge number in batch envelope context', path: '/v1/batch', body: '{"context":{"n":1e400},"batch":[' + good + ']}' },
  // prototype pollution keys
  { name: '__proto__ top level', body: '{"__proto__":{"polluted":true},"userId":"u","event":"E"}' },
  { name: '__proto__ in properties', body: '{"userId":"u","event":"E","properties":{"__proto__":{"isAdmin":true}}}' },
  { name: 'constructor in traits', path: '/v1/identify', body: '{"userId":"u","traits":{"constructor":{"prototype":{"x":1}}}}' },
  { name: 'prototype deep in context', body: '{"userId":"u","event":"E","context":{"a":{"b":{"c":{"prototype":1}}}}}' },
  { name: '__proto__ in array item', body: '{"userId":"u","event":"E","properties":{"products":[{"__proto__":{"x":1}}]}}' },
  { name: '__proto__ in batch message', path: '/v1/batch', body: '{"batch":[' + good + ',{"type":"track","userId":"u","event":"E","properties":{"__proto__":{}}}]}' },
  { name: '__proto__ in envelope context', path: '/v1/batch', body: '{"context":{"__proto__":{"x":1}},"batch":[' + good + ']}' },
  { name: 'constructor in envelope integrations', path: '/v1/batch', body: '{"integrations":{"constructor":{}},"batch":[' + good + ']}' },
  { name: '__proto__ at envelope top level', path: '/v1/batch', body: '{"__proto__":{"x":1},"batch":[' + good + ']}' },
  // nesting
  { name: 'properties nested 100 deep', body: '{"userId":"u","event":"E","properties":' + deep(100) + '}' },
  { name: 'arrays nested 100 deep', body: '{"userId":"u","event":"E","properties":{"a":' + deepArr(100) + '}}' },
  { name: 'envelope context nested 100 deep', path: '/v1/batch', body: '{"context":' + deep(100) + ',"batch":[' + good + ']}' },
  // strings and bytes
  { name: 'lone surrogate in a value', body: '{"userId":"u","event":"E","properties":{"s":"\\ud800"}}' },
  { name: 'lone surrogate in a key', body: '{"userId":"u","event":"E","properties":{"\\udfff":1}}' },
  { name: 'invalid UTF-8 bytes', body: new Uint8Array([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
  { name: 'only 0xff 0xfe', body: new Uint8Array([0xff, 0xfe]) },
  { name: 'UTF-16 LE BOM body', body: new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]) },
  // encodings
  { name: 'gzip header, garbage bytes', body: new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9]), headers: { 'content-encoding': 'gzip' } },
  { name: 'gzip claimed, plain body', body: good, headers: { 'content-encoding': 'gzip' } },
  { name: 'gzip bomb (5 MB of zeros)', body: gzipSync(Buffer.alloc(5 * 1024 * 1024)), headers: { 'content-encoding': 'gzip' } },
  { name: 'gzip bomb on batch path', path: '/v1/batch', body: gzipSync(Buffer.alloc(5 * 1024 * 1024)), headers: { 'content-encoding': 'gzip' } },
  { name: 'gzip of invalid JSON', body: gzipSync(Buffer.from('{nope')), headers: { 'content-encoding': 'gzip' } },
  { name: 'unsupported content-encoding br', body: good, headers: { 'content-encoding': 'br' } },
  { name: 'unsupported content-encoding compress', body: good, headers: { 'content-encoding': 'compress' } },
  // sizes
  { name: 'message over 32 KB', body: JSON.stringify({ userId: 'u', event: 'E', properties: { s: 'x'.repeat(40_000) } }) },
  { name: 'batch over 500 KB', path: '/v1/batch', body: JSON.stringify({ batch: Array.from({ length: 60 }, () => ({ type: 'track', userId: 'u', event: 'E', properties: { s: 'x'.repeat(10_000) } })) }) },
  { name: 'batch over 2500 messages', path: '/v1/batch', body: JSON.stringify({ batch: Array.from({ length: 2600 }, () => ({ type: 'track', userId: 'u', event: 'E' })) }) },
  // ids
  { name: 'no ids', body: '{"event":"E"}' },
  { name: 'empty ids', body: '{"userId":"","anonymousId":"","event":"E"}' },
  { name: 'null ids', body: '{"userId":null,"anonymousId":null,"event":"E"}' },
  { name: 'empty batch', path: '/v1/batch', body: '{"batch":[]}' },
  { name: 'track without event', body: '{"userId":"u"}' },
  // auth
  { name: 'write key is a number', body: '{"userId":"u","event":"E","writeKey":12345}', headers: { authorization: '' }, status: 401 },
  { name: 'basic header garbage', body: good, headers: { authorization: 'Basic !!!!' }, status: 401 },
  { name: 'basic header with SQL', body: good, headers: { authorization: basic("' OR 1=1 --") }, status: 401 },
  { name: 'unknown path', path: '/v1/delete', body: good, status: 404 },
];

async function eventCount(t: TestApp): Promise<number> {
  return (await t.sg.store.workspaceStats(t.ws.workspace)).events;
}

function send(t: TestApp, path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(t.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(t.ws.writeKey), ...headers },
    body,
  }));
}

test('every hostile request gets a 4xx JSON error with a message, and nothing is written', async () => {
  const t = await openTestApp();
  const errors: unknown[] = [];
  const origError = console.error;
  console.error = (...args: unknown[]) => { errors.push(args); };
  try {
    for (const h of CORPUS) {
      const before = await eventCount(t);
      const res = await send(t, h.path ?? '/v1/track', h.body, h.headers);
      const expected = h.status ?? 400;
      assert.equal(res.status, expected, `${h.name}: status ${res.status}, body ${await res.clone().text()}`);
      const body: unknown = await res.json();
      assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body), `${h.name}: a JSON object`);
      const message = Object.entries(body).find(([k]) => k === 'message')?.[1];
      assert.equal(typeof message, 'string', h.name);
      assert.ok(String(message).length > 0, h.name);
      assert.equal(Object.entries(body).find(([k]) => k === 'success')?.[1], false, h.name);
      await t.sg.ingest.drain();
      assert.equal(await eventCount(t), before, `${h.name}: nothing written`);
    }
    assert.equal(await eventCount(t), 0);
    assert.deepEqual(errors, [], 'no internal error was logged');
    // no prototype was polluted along the way
    assert.equal(Object.entries(Object.prototype).length, 0);
    assert.equal(Reflect.get({}, 'polluted'), undefined);
    assert.equal(Reflect.get({}, 'isAdmin'), undefined);
    // the server still answers a good request
    const ok = await send(t, '/v1/track', good);
    assert.equal(ok.status, 200);
    assert.equal(await eventCount(t), 1);
  } finally {
    console.error = origError;
    await t.close();
  }
});

test('the same corpus sent concurrently never produces a 5xx', async () => {
  const t = await openTestApp();
  try {
    const responses = await Promise.all(CORPUS.map((h) => send(t, h.path ?? '/v1/track', h.body, h.headers)));
    for (const [i, res] of responses.entries()) assert.ok(res.status >= 400 && res.status < 500, `${CORPUS[i]?.name}: ${res.status}`);
    await t.sg.ingest.drain();
    assert.equal(await eventCount(t), 0);
  } finally {
    await t.close();
  }
});

const SQLISH = ["'; DROP TABLE events; --", '" OR 1=1', '$1', "Robert'); DROP TABLE identities;--", '\\x00\\', '%s %d ${x}', '*/ SELECT 1 /*'];

test('SQL fragments in event names, property names and values are valid data, stored verbatim', async () => {
  const t = await openTestApp();
  try {
    for (const [i, s] of SQLISH.entries()) {
      const uid = `sql-${i}`;
      const properties: Record<string, string> = { v: s };
      properties[s] = 'value';
      const res = await send(t, '/v1/track', JSON.stringify({ userId: uid, event: s, properties, messageId: `sqlm-${i}` }));
      assert.equal(res.status, 200, s);
      const id = await send(t, '/v1/identify', JSON.stringify({ userId: s, anonymousId: s, traits: { [s]: s, email: `${i}@ex.com` } }));
      assert.equal(id.status, 200, s);
      const pid = await t.sg.profiles.resolve(t.ws.workspace, uid);
      assert.ok(pid);
      const [e] = await t.sg.store.profileRecentEvents(t.ws.workspace, pid, 10);
      assert.ok(e);
      assert.equal(e.event, s);
      assert.equal(e.messageId, `sqlm-${i}`);
      assert.deepEqual(e.properties, properties);
      const p2 = await t.sg.profiles.resolve(t.ws.workspace, `user_id:${s}`);
      assert.ok(p2, `profile of user id ${s}`);
      const traits = await t.sg.store.profileTraits(t.ws.workspace, p2);
      assert.deepEqual(traits.find((x) => x.key === s)?.value, s);
    }
    const stats = await t.sg.store.workspaceStats(t.ws.workspace);
    assert.equal(stats.events, SQLISH.length * 2, 'the events table still works');
    const totals = await t.sg.store.eventTotals(t.ws.workspace);
    assert.deepEqual(totals.filter((x) => x.type === 'track').map((x) => x.event).sort(), [...SQLISH].sort());
    const after = await send(t, '/v1/track', good);
    assert.equal(after.status, 200);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).events, SQLISH.length * 2 + 1);
  } finally {
    await t.close();
  }
});

test('unicode: emoji, RTL, combining marks and astral characters are stored as sent', async () => {
  const t = await openTestApp();
  try {
    const names = ['🛒 Añadido al carrito 🎉', 'تمت عملية الشراء', 'שלום\u200f עולם', 'e\u0301\u0301 zalgo', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '中文事件'];
    for (const [i, n] of names.entries()) {
      const res = await send(t, '/v1/track', JSON.stringify({ userId: `🙂-${i}`, event: n, properties: { [n]: n } }));
      assert.equal(res.status, 200, n);
      const pid = await t.sg.profiles.resolve(t.ws.workspace, `🙂-${i}`);
      assert.ok(pid);
      const [e] = await t.sg.store.profileRecentEvents(t.ws.workspace, pid, 1);
      assert.equal(e?.event, n);
      assert.deepEqual(e?.properties, { [n]: n });
    }
  } finally {
    await t.close();
  }
});

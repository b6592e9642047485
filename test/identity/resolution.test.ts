/**
 * Identity resolution: the pure rules (blocked values, limits, priority, drop-and-retry), then scenarios
 * end to end through the HTTP API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_IDENTITY_CONFIG,
  extractIdentifiers,
  IdentityRules,
  resolveIdentifiers,
  type Identifier,
  type IdentityGraphView,
} from '../../src/domain/identity.js';
import { parseMessage } from '../../src/domain/segment-message.js';
import { openTestApp, postJson, type TestApp } from '../helpers.js';

/** A tiny in-memory graph: profile → identifiers. */
function graph(profiles: Record<string, Identifier[]>): IdentityGraphView {
  return {
    profileOf: (id) => Object.entries(profiles).find(([, ids]) => ids.some((i) => i.type === id.type && i.value === id.value))?.[0],
    valuesOf: (p, type) => (profiles[p] ?? []).filter((i) => i.type === type).map((i) => i.value),
    typesOf: (p) => new Set((profiles[p] ?? []).map((i) => i.type)),
  };
}

const id = (type: string, value: string): Identifier => ({ type, value });
const rules = new IdentityRules();

test('blocked values: ^[0-]*$, -1, null, anonymous (case-insensitive); ordinary values pass', () => {
  for (const v of ['', '0', '00000', '0-0-0', '---', '-1', 'null', 'NULL', 'anonymous', 'Anonymous', 'undefined', 'test@test.com']) {
    assert.equal(rules.isBlocked(id('user_id', v)), true, `'${v}' is blocked`);
  }
  for (const v of ['1', '10', '0a', 'null1', 'anonymous-42', 'ada@example.com', '-2']) {
    assert.equal(rules.isBlocked(id('user_id', v)), false, `'${v}' is not blocked`);
  }
});

test('limits: user_id 1, every other type 5', () => {
  assert.equal(rules.limit('user_id'), 1);
  for (const t of ['email', 'anonymous_id', 'device_id', 'phone', 'shopify_id']) assert.equal(rules.limit(t), 5, t);
});

test('priority: user_id, then email, then others; unlisted types last, by name', () => {
  const sorted = rules.sortByPriority([id('zeta_id', 'z'), id('anonymous_id', 'a'), id('email', 'e'), id('alpha_id', 'x'), id('user_id', 'u')]);
  assert.deepEqual(sorted.map((i) => i.type), ['user_id', 'email', 'anonymous_id', 'alpha_id', 'zeta_id']);
  assert.deepEqual(DEFAULT_IDENTITY_CONFIG.priority.slice(0, 2), ['user_id', 'email']);
});

test('extractIdentifiers: userId, anonymousId, email from traits or context.traits, device id, externalIds', () => {
  const ids = extractIdentifiers(parseMessage({
    type: 'identify', userId: 'u1', anonymousId: 'a1', traits: { email: '  Ada@Example.COM ', phone: '+1 (555) 010-2000' },
    context: { device: { id: 'dev-9' }, externalIds: [{ id: 'cus_1', type: 'stripe_customer_id', collection: 'users', encoding: 'none' }, { id: 'X@Y.com', type: 'email' }, { type: 'no_id' }, 'junk'] },
  }));
  assert.deepEqual(ids, [
    id('user_id', 'u1'), id('anonymous_id', 'a1'), id('email', 'ada@example.com'), id('phone', '+15550102000'),
    id('device_id', 'dev-9'), id('stripe_customer_id', 'cus_1'), id('email', 'x@y.com'),
  ]);
  const ctx = extractIdentifiers(parseMessage({ type: 'track', event: 'E', anonymousId: 'a2', context: { traits: { email: 'b@ex.com' } } }));
  assert.deepEqual(ctx, [id('anonymous_id', 'a2'), id('email', 'b@ex.com')]);
  // a group's traits.email is the group's, not the person's
  const grp = extractIdentifiers(parseMessage({ type: 'group', userId: 'u', groupId: 'g', traits: { email: 'billing@corp.com' } }));
  assert.deepEqual(grp, [id('user_id', 'u')]);
});

test('resolve: no match → new profile with every identifier attached; blocked ones dropped', () => {
  const r = resolveIdentifiers([id('user_id', 'u1'), id('anonymous_id', 'anonymous'), id('email', 'e@x.com')], graph({}), rules);
  assert.equal(r.profileId, undefined);
  assert.deepEqual(r.attach, [id('user_id', 'u1'), id('email', 'e@x.com')]);
  assert.deepEqual(r.dropped, [{ identifier: id('anonymous_id', 'anonymous'), reason: 'blocked' }]);
  assert.deepEqual(r.mergeFrom, []);
});

test('resolve: two matching profiles merge into the higher-priority match', () => {
  const g = graph({ P_user: [id('user_id', 'u1')], P_anon: [id('anonymous_id', 'a1')] });
  const r = resolveIdentifiers([id('anonymous_id', 'a1'), id('user_id', 'u1')], g, rules);
  assert.equal(r.profileId, 'P_user');
  assert.deepEqual(r.mergeFrom, ['P_anon']);
  assert.deepEqual(r.attach, []);
  assert.deepEqual(r.dropped, []);
});

test('resolve: only the identifier that breaks a limit is dropped; the harmless ones still attach', () => {
  // u2 + the email of u1's profile: merging would give one profile two user ids
  const g = graph({ P1: [id('user_id', 'u1'), id('email', 'shared@x.com')] });
  const r = resolveIdentifiers([id('user_id', 'u2'), id('email', 'shared@x.com'), id('anonymous_id', 'a2')], g, rules);
  assert.equal(r.profileId, undefined, 'u2 gets its own profile');
  assert.deepEqual(r.mergeFrom, []);
  assert.deepEqual(r.attach, [id('user_id', 'u2'), id('anonymous_id', 'a2')]);
  assert.deepEqual(r.dropped.map((d) => [d.identifier.type, d.reason]), [['email', 'limit']]);
});

test('resolve: priority decides which side of a conflict wins', () => {
  // The anonymous id belongs to u1's profile, the email to nobody: user_id u2 cannot join u1's profile.
  const g = graph({ P1: [id('user_id', 'u1'), id('anonymous_id', 'dev-1')] });
  const r = resolveIdentifiers([id('anonymous_id', 'dev-1'), id('email', 'u2@x.com'), id('user_id', 'u2')], g, rules);
  assert.equal(r.profileId, undefined);
  assert.deepEqual(r.attach, [id('user_id', 'u2'), id('email', 'u2@x.com')]);
  assert.deepEqual(r.dropped, [{ identifier: id('anonymous_id', 'dev-1'), reason: 'limit' }]);
});

test('resolve: a sixth anonymous id is dropped, the profile is kept', () => {
  const g = graph({ P: [id('user_id', 'u'), ...[1, 2, 3, 4, 5].map((i) => id('anonymous_id', `a${i}`))] });
  const r = resolveIdentifiers([id('user_id', 'u'), id('anonymous_id', 'a6')], g, rules);
  assert.equal(r.profileId, 'P');
  assert.deepEqual(r.attach, []);
  assert.deepEqual(r.dropped, [{ identifier: id('anonymous_id', 'a6'), reason: 'limit' }]);
});

test('resolve: custom config (limits, priority, blocked values) is honoured', () => {
  const custom = new IdentityRules({ ...DEFAULT_IDENTITY_CONFIG, limits: { user_id: 1, email: 1 }, blockedValues: ['guest'] });
  assert.equal(custom.isBlocked(id('user_id', 'GUEST')), true);
  assert.equal(custom.isBlocked(id('user_id', 'anonymous')), false);
  const g = graph({ P: [id('user_id', 'u'), id('email', 'a@x.com')] });
  const r = resolveIdentifiers([id('user_id', 'u'), id('email', 'b@x.com')], g, custom);
  assert.equal(r.profileId, 'P');
  assert.deepEqual(r.dropped, [{ identifier: id('email', 'b@x.com'), reason: 'limit' }]);
});

// ---- end to end through HTTP ----

async function profileOf(t: TestApp, ref: string): Promise<string> {
  const p = await t.sg.profiles.resolve(t.ws.workspace, ref);
  assert.ok(p, `a profile for ${ref}`);
  return p;
}

async function ok(t: TestApp, path: string, body: unknown): Promise<void> {
  const res = await postJson(t, path, body);
  assert.equal(res.status, 200, `${path} ${JSON.stringify(body)}: ${await res.text()}`);
}

test('anonymous browsing then identify: the anonymous profile merges into the user, with a recorded reason', async () => {
  const t = await openTestApp();
  try {
    await ok(t, '/v1/page', { anonymousId: 'anon-1', name: 'Home', messageId: 'p1' });
    await ok(t, '/v1/track', { anonymousId: 'anon-1', event: 'Product Viewed', messageId: 't1' });
    const anonProfile = await profileOf(t, 'anon-1');
    await ok(t, '/v1/track', { userId: 'ada', event: 'Logged In', messageId: 't0' });
    const userProfile = await profileOf(t, 'ada');
    assert.notEqual(anonProfile, userProfile);
    await ok(t, '/v1/identify', { userId: 'ada', anonymousId: 'anon-1', traits: { name: 'Ada' }, messageId: 'i1' });
    const merged = await profileOf(t, 'anon-1');
    assert.equal(merged, await profileOf(t, 'ada'));
    const view = await t.sg.profiles.get(t.ws.workspace, 'ada');
    assert.deepEqual(view.recentEvents.map((e) => e.messageId).sort(), ['i1', 'p1', 't0', 't1']);
    assert.equal(view.totalEvents, 4);
    assert.equal(view.merges.length, 1);
    const [m] = view.merges;
    assert.ok(m);
    assert.equal(m.messageId, 'i1');
    assert.equal(m.to, view.profileId);
    assert.ok([anonProfile, userProfile].includes(m.from));
    assert.match(m.reason, /identify/);
    assert.match(m.reason, /anon-1/);
    assert.deepEqual(view.identities.map((i) => `${i.type}=${i.value}`).sort(), ['anonymous_id=anon-1', 'user_id=ada']);
    assert.equal(view.traits.find((x) => x.key === 'name')?.value, 'Ada');
    // the merged-away profile id still finds the survivor
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, m.from), view.profileId);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).profiles, 1);
  } finally {
    await t.close();
  }
});

test('email match across devices joins two anonymous profiles (case-insensitive)', async () => {
  const t = await openTestApp();
  try {
    await ok(t, '/v1/identify', { anonymousId: 'laptop', traits: { email: 'grace@example.com' } });
    await ok(t, '/v1/track', { anonymousId: 'phone', event: 'App Opened' });
    assert.notEqual(await profileOf(t, 'laptop'), await profileOf(t, 'phone'));
    await ok(t, '/v1/track', { anonymousId: 'phone', event: 'Signed In', context: { traits: { email: 'Grace@Example.com' } } });
    const p = await profileOf(t, 'laptop');
    assert.equal(await profileOf(t, 'phone'), p);
    assert.equal(await profileOf(t, 'email:GRACE@example.com'), p);
    const view = await t.sg.profiles.get(t.ws.workspace, p);
    assert.equal(view.totalEvents, 3);
    assert.equal(view.merges.length, 1);
  } finally {
    await t.close();
  }
});

test('alias links a previous anonymous id to a user id', async () => {
  const t = await openTestApp();
  try {
    await ok(t, '/v1/track', { anonymousId: 'anon-x', event: 'Browsed' });
    await ok(t, '/v1/track', { userId: 'user-x', event: 'Signed Up' });
    // browser style: anonymousId present and equal to previousId
    await ok(t, '/v1/alias', { userId: 'user-x', previousId: 'anon-x', anonymousId: 'anon-x' });
    assert.equal(await profileOf(t, 'anon-x'), await profileOf(t, 'user-x'));
    // server style (analytics-node sends only userId and previousId)
    await ok(t, '/v1/track', { anonymousId: 'anon-y', event: 'Browsed' });
    await ok(t, '/v1/track', { userId: 'user-y', event: 'Signed Up' });
    await ok(t, '/v1/alias', { userId: 'user-y', previousId: 'anon-y' });
    assert.equal(await profileOf(t, 'anon-y'), await profileOf(t, 'user-y'));
    const view = await t.sg.profiles.get(t.ws.workspace, 'user-y');
    assert.equal(view.totalEvents, 3);
    assert.equal(view.merges.length, 1);
  } finally {
    await t.close();
  }
});

test('an alias that arrives before the events of its previousId still links them (batches out of order)', async () => {
  const t = await openTestApp();
  try {
    await ok(t, '/v1/track', { userId: 'user-z', event: 'Signed Up' });
    await ok(t, '/v1/alias', { userId: 'user-z', previousId: 'anon-z' });
    await ok(t, '/v1/track', { anonymousId: 'anon-z', event: 'Browsed' });
    assert.equal(await profileOf(t, 'anon-z'), await profileOf(t, 'user-z'));
    const view = await t.sg.profiles.get(t.ws.workspace, 'user-z');
    assert.equal(view.totalEvents, 3);
    assert.equal(view.merges.length, 0, 'nothing to merge: the anonymous id was attached before its first event');
  } finally {
    await t.close();
  }
});

test('context.externalIds identify a person across sources', async () => {
  const t = await openTestApp();
  try {
    const ext = [{ id: 'cus_42', type: 'stripe_customer_id', collection: 'users', encoding: 'none' }];
    await ok(t, '/v1/track', { anonymousId: 'web-1', event: 'Checkout Started', context: { externalIds: ext } });
    await ok(t, '/v1/track', { userId: 'billing-7', event: 'Invoice Paid', context: { externalIds: ext } });
    const p = await profileOf(t, 'stripe_customer_id:cus_42');
    assert.equal(await profileOf(t, 'web-1'), p);
    assert.equal(await profileOf(t, 'billing-7'), p);
    const identities = await t.sg.store.profileIdentities(t.ws.workspace, p);
    assert.ok(identities.some((i) => i.type === 'stripe_customer_id' && i.value === 'cus_42'));
  } finally {
    await t.close();
  }
});

test('fusion attack: 200 users with one shared email stay 200 profiles', async () => {
  const t = await openTestApp();
  try {
    const N = 200;
    const batch = Array.from({ length: N }, (_, i) => ({ type: 'identify', userId: `fu-${i}`, anonymousId: `fa-${i}`, traits: { email: 'shared@example.com' } }));
    await ok(t, '/v1/batch', { batch: batch.slice(0, 100) });
    for (const m of batch.slice(100)) await ok(t, '/v1/identify', m);
    const profiles = new Set<string>();
    const first = await profileOf(t, 'fu-0');
    assert.equal(await profileOf(t, 'fa-0'), first);
    for (let i = 0; i < N; i++) {
      const p = await profileOf(t, `fu-${i}`);
      profiles.add(p);
      // Only the conflicting email is dropped: each user's own anonymous id stays with that user.
      assert.equal(await t.sg.profiles.resolve(t.ws.workspace, `anonymous_id:fa-${i}`), p);
    }
    assert.equal(profiles.size, N);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).merges, 0);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).profiles, N);
    // the email belongs to the first user only; the others recorded limit drops
    assert.equal(await profileOf(t, 'email:shared@example.com'), first);
    const drops = await t.sg.store.identityDrops(t.ws.workspace, 10_000);
    assert.equal(drops.filter((d) => d.type === 'email' && d.reason === 'limit').length, N - 1);
    assert.equal(drops.filter((d) => d.type === 'anonymous_id').length, 0);
  } finally {
    await t.close();
  }
});

test('fusion attack with blocked values as userId or email: no collapse, drops recorded as blocked', async () => {
  const t = await openTestApp();
  try {
    const N = 200;
    const bad = ['anonymous', '00000', 'null', '-1', '0'];
    const batch = Array.from({ length: N }, (_, i) => ({
      type: 'identify', anonymousId: `ba-${i}`, userId: bad[i % bad.length],
      traits: { email: i % 2 === 0 ? '00000' : 'anonymous' },
    }));
    await ok(t, '/v1/batch', { batch });
    const profiles = new Set<string>();
    for (let i = 0; i < N; i++) profiles.add(await profileOf(t, `anonymous_id:ba-${i}`));
    assert.equal(profiles.size, N);
    for (const v of bad) assert.equal(await t.sg.profiles.resolve(t.ws.workspace, `user_id:${v}`), undefined, `no profile holds user id ${v}`);
    const drops = await t.sg.store.identityDrops(t.ws.workspace, 10_000);
    assert.equal(drops.filter((d) => d.reason === 'blocked').length, 2 * N);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).profiles, N);
  } finally {
    await t.close();
  }
});

test('per-type limit: a user with 6 anonymous ids keeps 5; the 6th is recorded as a limit drop', async () => {
  const t = await openTestApp();
  try {
    for (let i = 1; i <= 6; i++) await ok(t, '/v1/track', { userId: 'many', anonymousId: `m-anon-${i}`, event: 'E', messageId: `lim-${i}` });
    const p = await profileOf(t, 'many');
    const anons = (await t.sg.store.profileIdentities(t.ws.workspace, p)).filter((i) => i.type === 'anonymous_id').map((i) => i.value).sort();
    assert.deepEqual(anons, [1, 2, 3, 4, 5].map((i) => `m-anon-${i}`));
    const drops = await t.sg.store.identityDrops(t.ws.workspace, 100);
    assert.deepEqual(drops.map((d) => [d.type, d.value, d.reason, d.messageId]), [['anonymous_id', 'm-anon-6', 'limit', 'lim-6']]);
    // the event itself still belongs to the user
    assert.equal((await t.sg.profiles.get(t.ws.workspace, 'many')).totalEvents, 6);
    assert.equal(await t.sg.profiles.resolve(t.ws.workspace, 'anonymous_id:m-anon-6'), undefined);
  } finally {
    await t.close();
  }
});

test("a second userId arriving with another user's anonymousId does not merge the two users", async () => {
  const t = await openTestApp();
  try {
    await ok(t, '/v1/identify', { userId: 'alice', anonymousId: 'shared-device', traits: { name: 'Alice' } });
    await ok(t, '/v1/identify', { userId: 'bob', anonymousId: 'shared-device', traits: { name: 'Bob' } });
    const alice = await profileOf(t, 'alice');
    const bob = await profileOf(t, 'bob');
    assert.notEqual(alice, bob);
    assert.equal(await profileOf(t, 'anonymous_id:shared-device'), alice);
    assert.equal((await t.sg.store.workspaceStats(t.ws.workspace)).merges, 0);
    const traitsOf = async (p: string) => (await t.sg.store.profileTraits(t.ws.workspace, p)).find((x) => x.key === 'name')?.value;
    assert.equal(await traitsOf(alice), 'Alice');
    assert.equal(await traitsOf(bob), 'Bob');
    const drops = await t.sg.store.identityDrops(t.ws.workspace, 10);
    assert.deepEqual(drops.map((d) => [d.type, d.value, d.reason]), [['anonymous_id', 'shared-device', 'limit']]);
  } finally {
    await t.close();
  }
});

test('identity survives a restart: the graph is rebuilt from storage', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Segmenta } = await import('../../src/app/segmenta.js');
  const dir = await mkdtemp(join(tmpdir(), 'segmenta-id-'));
  try {
    const t = await openTestApp(undefined, dir);
    let p: string;
    try {
      await ok(t, '/v1/identify', { userId: 'persist', anonymousId: 'persist-anon' });
      p = await profileOf(t, 'persist');
    } finally {
      await t.close();
    }
    const sg = await Segmenta.open({ dataDir: dir, threads: 1 });
    try {
      assert.equal(await sg.profiles.resolve(t.ws.workspace, 'persist-anon'), p);
    } finally {
      await sg.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

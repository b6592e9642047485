/**
 * The enrichment and micro-segment models on the demo shop (seed 42, 800 customers, history ending
 * 2026-10-31): device, place and age checked against a direct reading of the generated messages and
 * the planted truth; the micro-segments recover the planted personas with stated recall / precision;
 * the live ready segments (evaluated as of the end of history) equal direct counts from the events,
 * including a technographic × geographic × behavioural combination; the IP fallback of the place.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../src/domain/errors.js';
import { DEFAULT_DEMO_OPTIONS, generateDemoShop, type PersonaName } from '../../src/demo/generator.js';
import { compileWorkspace } from '../../src/domain/segments/compile.js';
import { DIALECTS } from '../../src/domain/sql/dialects.js';
import type { Condition } from '../../src/domain/segments/ast.js';
import { parseUserAgent } from '../../src/domain/user-agent.js';
import { modelTraitKeys } from '../../src/domain/behavioural/index.js';
import { loadDemo, type DemoFixture } from './demo-fixture.js';

const DAY = 86_400_000;
const CUSTOMERS = 800;

/** What the raw messages say about one profile, read without the segment compiler. */
interface Direct {
  web?: { ts: number; ua: string };
  app?: { ts: number; os: string };
  country?: string;
  views: Array<{ ts: number; product: string }>;
  orders: Array<{ ts: number; lines: Array<{ category: string; price: number }> }>;
}

let fx: DemoFixture;
const direct = new Map<string, Direct>();
let traits: Map<string, Record<string, string>>;

/** Current values of the given traits for every profile (JSON strings unquoted). */
async function traitTable(keys: string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  for (const t of await fx.sg.store.latestTraitValues(fx.ws, keys, await fx.sg.segments.modelTraits(fx.ws))) {
    const v: unknown = JSON.parse(t.value);
    (out.get(t.profileId) ?? out.set(t.profileId, {}).get(t.profileId) as Record<string, string>)[t.key] = String(v);
  }
  return out;
}

/** Members of a condition evaluated as of a time (the ready segments run at the wall clock, after the demo's end). */
async function membersAt(condition: Condition, now: number): Promise<Set<string>> {
  const store = fx.sg.store.segments;
  const q = compileWorkspace(DIALECTS[store.dialect], { workspaceId: fx.ws, now, segments: [{ key: 's', condition }], computed: [], typedColumns: store.typedColumns(), modelTraits: modelTraitKeys() });
  const col = q.segmentColumns[0]?.column as string;
  const rows = await store.query(q);
  return new Set(rows.filter((r) => r[col] === true || Number(r[col]) === 1).map((r) => String(r['pid'])));
}

before(async () => {
  fx = await loadDemo(CUSTOMERS);
  // Read the same messages again and attribute each to its profile through its anonymous id.
  const gen = generateDemoShop({ ...DEFAULT_DEMO_OPTIONS, customers: CUSTOMERS, seed: 42 });
  const pidOf = new Map<string, string | undefined>();
  for (let r = gen.next(); !r.done; r = gen.next()) {
    for (const m of r.value) {
      const anon = String(m['anonymousId']);
      if (!pidOf.has(anon)) pidOf.set(anon, await fx.sg.store.profileByIdentity(fx.ws, 'anonymous_id', anon));
      const pid = pidOf.get(anon);
      if (!pid) continue;
      const d = direct.get(pid) ?? direct.set(pid, { views: [], orders: [] }).get(pid) as Direct;
      const ts = Date.parse(String(m['timestamp']));
      const ctx = (m['context'] ?? {}) as Record<string, unknown>;
      const type = String(m['type']);
      const ua = ctx['userAgent'];
      const os = (ctx['os'] as { name?: string } | undefined)?.name;
      if (typeof ua === 'string' && (type === 'page' || type === 'track') && (!d.web || ts >= d.web.ts)) d.web = { ts, ua };
      if (typeof os === 'string' && (type === 'screen' || type === 'track') && (!d.app || ts >= d.app.ts)) d.app = { ts, os };
      const country = (ctx['location'] as { country?: string } | undefined)?.country;
      if (country) d.country = country;
      const props = (m['properties'] ?? {}) as Record<string, unknown>;
      if (type === 'track' && m['event'] === 'Product Viewed') d.views.push({ ts, product: String(props['product_id']) });
      if (type === 'track' && m['event'] === 'Order Completed') d.orders.push({ ts, lines: ((props['products'] ?? []) as Array<{ category: string; price: number }>).map((l) => ({ category: l.category, price: l.price })) });
    }
  }
  await fx.sg.behavioural.run(fx.ws, 'enrichment', { asOf: fx.end });
  traits = await traitTable(['enrichment_os', 'enrichment_device_category', 'enrichment_country', 'enrichment_geo_source', 'enrichment_age', 'enrichment_age_band']);
});
after(async () => { await fx.sg.close(); });

/** The OS and device category the messages say: the later of browser and app, in whole days before the end (ties: browser). */
function directDevice(d: Direct): { os: string | null; category: string } | undefined {
  const days = (ts: number) => Math.floor((fx.end - ts) / DAY);
  if (d.app && (!d.web || days(d.app.ts) < days(d.web.ts))) return { os: d.app.os, category: 'mobile' };
  if (!d.web) return undefined;
  const p = parseUserAgent(d.web.ua);
  return { os: p.os, category: p.deviceType };
}

function share(pids: string[], pred: (pid: string) => boolean): { share: number; n: number } {
  return { share: pids.filter(pred).length / Math.max(pids.length, 1), n: pids.length };
}
const ofPersona = (p: PersonaName) => [...fx.persona].filter(([, q]) => q === p).map(([pid]) => pid);

test('enrichment: OS and device category of every profile equal a direct reading of its latest browser or app message', () => {
  let checked = 0;
  const wrong: string[] = [];
  for (const [pid, d] of direct) {
    const want = directDevice(d);
    if (!want) continue;
    checked++;
    const got = traits.get(pid);
    if (got?.['enrichment_os'] !== (want.os ?? undefined) || got?.['enrichment_device_category'] !== want.category) wrong.push(`${pid}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
  }
  assert.ok(checked >= CUSTOMERS, `profiles with a device: ${checked}`);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${checked} differ`);
});

test('enrichment: weekend browsers (85 % of sessions on a phone) are mostly mobile, champions (35 %) much less', () => {
  const mobile = (pid: string) => ['mobile', 'tablet'].includes(traits.get(pid)?.['enrichment_device_category'] ?? '');
  const weekend = share(ofPersona('weekend_browser'), mobile);
  const champion = share(ofPersona('champion'), mobile);
  // Observed (seed 42, 800 customers): weekend browsers 82.3 % of 113, champions 43.5 % of 62.
  assert.ok(weekend.n >= 50 && weekend.share >= 0.75, `weekend browsers on mobile or tablet: ${(weekend.share * 100).toFixed(1)} % of ${weekend.n}, needs ≥ 75 %`);
  assert.ok(weekend.share - champion.share >= 0.2, `weekend browsers ${(weekend.share * 100).toFixed(1)} % vs champions ${(champion.share * 100).toFixed(1)} %: needs a gap ≥ 20 points`);
});

test('enrichment: every identified customer\'s country (from the address trait) and age equal the planted truth', async () => {
  const wrong: string[] = [];
  let n = 0;
  for (const c of fx.truth.customers) {
    if (!c.identified) continue;
    const pid = await fx.sg.store.profileByIdentity(fx.ws, 'user_id', c.userId);
    if (!pid) continue;
    n++;
    const t = traits.get(pid) ?? {};
    const [y, m, d] = c.birthday.split('-').map(Number) as [number, number, number];
    // The demo's birthdays fall on days 1-28 and history ends on 31 October 2026.
    const age = 2026 - y - (m * 100 + d > 1031 ? 1 : 0);
    if (t['enrichment_country'] !== c.country || t['enrichment_geo_source'] !== 'traits' || t['enrichment_age'] !== String(age)) wrong.push(`${c.userId}: ${JSON.stringify(t)} vs ${c.country} ${c.birthday} (${age})`);
  }
  assert.ok(n >= 700, `identified customers: ${n}`);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${n} differ`);
});

test('enrichment: a profile known only by its IP gets the IP\'s country; the events\' location wins over the IP', async () => {
  const { workspace: ws } = await fx.sg.workspaces.create('ip-only');
  const t = '2026-10-01T10:00:00Z';
  const msgs = [
    { type: 'page', name: 'Home', anonymousId: 'ip-a', timestamp: t, messageId: 'ip-1', context: { ip: '130.59.31.80', userAgent: 'Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36' } },
    { type: 'track', event: 'Product Viewed', anonymousId: 'ip-b', timestamp: t, messageId: 'ip-2', properties: { product_id: 'p-1' }, context: { ip: '8.8.8.8', location: { country: 'Germany', city: 'Berlin' } } },
    { type: 'track', event: 'Product Viewed', anonymousId: 'ip-c', timestamp: t, messageId: 'ip-3', properties: { product_id: 'p-1' }, context: { ip: '192.168.1.20' } },
  ];
  const res = await fx.sg.ingest.submit(ws, msgs, { source: 'test', mode: 'partial' });
  assert.equal(res.rejected.length, 0, JSON.stringify(res.rejected));
  await fx.sg.segments.idle();
  const run = await fx.sg.behavioural.run(ws, 'enrichment', { asOf: Date.parse('2026-10-31T00:00:00Z') });
  const get = async (anon: string) => {
    const pid = await fx.sg.store.profileByIdentity(ws, 'anonymous_id', anon);
    const tr = await fx.sg.store.profileTraits(ws, pid as string);
    return Object.fromEntries(tr.filter((x) => x.key.startsWith('enrichment_')).map((x) => [x.key, x.value]));
  };
  const a = await get('ip-a'), b = await get('ip-b'), c = await get('ip-c');
  assert.deepEqual([a['enrichment_country'], a['enrichment_geo_source'], a['enrichment_os'], a['enrichment_device_category']], ['CH', 'ip', 'Android', 'mobile']);
  assert.deepEqual([b['enrichment_country'], b['enrichment_city'], b['enrichment_geo_source']], ['DE', 'Berlin', 'context']);
  assert.equal(c['enrichment_country'], undefined, 'a private address says nowhere');
  assert.deepEqual(run.summary['geoSource'], { ip: 1, context: 1 });
  const off = await fx.sg.behavioural.classifyAsOf(ws, 'enrichment', { ipLookup: false }, Date.parse('2026-10-31T00:00:00Z'));
  assert.deepEqual(off.summary['geoSource'], { '(none)': 1, context: 1 }, 'with ipLookup false the IP is not read');
});

// ---- micro-segments ------------------------------------------------------------------------------------

let micro: Awaited<ReturnType<DemoFixture['sg']['behavioural']['run']>>;
let mtraits: Map<string, Record<string, string>>;
/** The combination of the test: Android users in Switzerland who viewed this product in the last year. */
let productX = '';
let comboDirect = new Set<string>();

const isAndroidCh = (pid: string) => traits.get(pid)?.['enrichment_os'] === 'Android' && traits.get(pid)?.['enrichment_country'] === 'CH';

test('micro: a run writes the traits, creates the ready segments, and its group segments count what the summary says', async () => {
  // Product X: the product most Android users in Switzerland viewed in the last 365 days (direct reading).
  const since = fx.end - 365 * DAY;
  const viewers = new Map<string, Set<string>>();
  for (const [pid, d] of direct) {
    if (!isAndroidCh(pid)) continue;
    for (const v of d.views) if (v.ts > since) (viewers.get(v.product) ?? viewers.set(v.product, new Set()).get(v.product) as Set<string>).add(pid);
  }
  const best = [...viewers].sort((a, b) => b[1].size - a[1].size || a[0].localeCompare(b[0]))[0];
  assert.ok(best && best[1].size >= 3, `a product viewed by at least 3 Android users in CH: ${best?.[0]} ${best?.[1].size}`);
  productX = best[0];
  comboDirect = best[1];
  const combos = [
    { key: 'android_ch_product_viewers', name: 'Android users in Switzerland who viewed a product in the last 30 days', os: 'Android', country: 'CH', event: 'Product Viewed', days: 30 },
    { key: 'test_android_ch_x', name: `Android users in Switzerland who viewed ${productX}`, os: 'Android', country: 'CH', event: 'Product Viewed', productId: productX, days: 365 },
  ];
  micro = await fx.sg.behavioural.run(fx.ws, 'micro', { asOf: fx.end, config: { combos } });
  for (const k of ['micro_frequent_buyers', 'micro_coupon_users', 'micro_discount_lovers', 'micro_top_spenders', 'micro_high_value_at_risk', 'micro_first_time_no_repeat', 'micro_android_ch_product_viewers', 'micro_test_android_ch_x', 'micro_one_time_buyer', 'micro_other_buyer']) {
    assert.ok(micro.segmentsCreated.includes(k), `ready segment ${k} created`);
  }
  mtraits = await traitTable(['micro_segments', 'micro_primary', 'micro_orders', 'micro_top_spender_categories']);
  const primary = micro.summary['primary'] as Record<string, number>;
  const segs = await fx.sg.segments.list(fx.ws);
  for (const [g, n] of Object.entries(primary)) {
    const seg = segs.find((s) => s.condition.type === 'trait' && s.condition.trait === 'micro_primary' && 'value' in s.condition && s.condition.value === g);
    assert.equal(seg?.members, n, `members of the group segment for ${g}`);
  }
  assert.equal(Object.values(primary).reduce((a, b) => a + b, 0), micro.summary['buyers'], 'every buyer has exactly one primary micro-segment');
});

/** Of a persona's identified customers, the share in a micro-segment (by the model's micro_segments trait). */
function recall(p: PersonaName, seg: string): { share: number; n: number } {
  return share(ofPersona(p), (pid) => (mtraits.get(pid)?.['micro_segments'] ?? '').includes(`|${seg}|`));
}

test('micro: the planted personas land in their micro-segments (recall / precision thresholds)', () => {
  const members = (seg: string) => [...fx.persona.keys()].filter((pid) => (mtraits.get(pid)?.['micro_segments'] ?? '').includes(`|${seg}|`));
  const checks: Array<[string, { share: number; n: number }, number]> = [
    // Observed (seed 42, 800 customers) in brackets.
    ['bargain hunters → coupon users [87.9 %]', recall('bargain_hunter', 'coupon user'), 0.8],
    ['bargain hunters → discount lovers [81.3 %]', recall('bargain_hunter', 'discount lover'), 0.72],
    ['discount lovers are bargain hunters [73.3 %]', share(members('discount lover'), (pid) => fx.persona.get(pid) === 'bargain_hunter'), 0.6],
    ['one-time buyers → one-time buyer [100 %]', recall('one_time_buyer', 'one-time buyer'), 0.95],
    ['champions → frequent buyers [91.9 %]', recall('champion', 'frequent buyer'), 0.85],
    ['champions → top spenders [91.9 %]', recall('champion', 'top spender'), 0.85],
    ['no new customer is a one-time buyer yet (first order < 30 days ago) [100 %]', share(ofPersona('new_customer'), (pid) => !(mtraits.get(pid)?.['micro_segments'] ?? '').includes('|one-time buyer|')), 1],
  ];
  for (const [label, got, min] of checks) {
    assert.ok(got.n >= 20, `${label}: only ${got.n} customers`);
    assert.ok(got.share >= min, `${label}: ${(got.share * 100).toFixed(1)} % of ${got.n}, needs ≥ ${min * 100} %`);
  }
});

test('micro: the live ready segments, as of the end of history, equal direct counts from the events', async () => {
  const segs = await fx.sg.segments.list(fx.ws);
  const cond = (key: string) => segs.find((s) => s.key === key)?.condition as Condition;
  const direct_ = (pred: (d: Direct) => boolean) => new Set([...direct].filter(([, d]) => pred(d)).map(([pid]) => pid));
  const end = fx.end;
  const cases: Array<[string, Set<string>]> = [
    ['micro_first_time_no_repeat', direct_((d) => d.orders.length === 1 && (d.orders[0] as { ts: number }).ts < end - 30 * DAY)],
    ['micro_frequent_buyers', direct_((d) => d.orders.filter((o) => o.ts > end - 365 * DAY).length >= 4)],
    ['micro_test_android_ch_x', comboDirect],
    ['micro_android_ch_product_viewers', new Set([...direct].filter(([pid, d]) => isAndroidCh(pid) && d.views.some((v) => v.ts > end - 30 * DAY)).map(([pid]) => pid))],
  ];
  for (const [key, want] of cases) {
    const got = await membersAt(cond(key), end);
    assert.ok(want.size >= 3, `${key}: the direct count is ${want.size}, too few to tell`);
    assert.deepEqual([...got].sort(), [...want].sort(), `${key}: ${got.size} members, ${want.size} by direct count`);
  }
  // The model's flags agree with the live segments at the run's as-of time.
  const flagged = (seg: string) => new Set([...mtraits].filter(([, t]) => (t['micro_segments'] ?? '').includes(`|${seg}|`)).map(([pid]) => pid));
  assert.deepEqual([...flagged('frequent buyer')].sort(), [...(await membersAt(cond('micro_frequent_buyers'), end))].sort(), 'frequent buyer flag = live segment');
  assert.deepEqual([...flagged('coupon user')].sort(), [...(await membersAt(cond('micro_coupon_users'), end))].sort(), 'coupon user flag = live segment');
  assert.deepEqual([...flagged('one-time buyer')].sort(), [...(await membersAt(cond('micro_first_time_no_repeat'), end))].sort(), 'one-time buyer flag = live segment');
  const atRisk = await membersAt(cond('micro_high_value_at_risk'), end);
  assert.deepEqual([...flagged('at-risk high value')].sort(), [...atRisk].sort(), 'at-risk high value flag = live segment (value quintile trait, recency over events)');
  assert.ok(atRisk.size >= 10, `at-risk high value customers: ${atRisk.size}`);
  assert.ok(productX.startsWith('p-'), productX);
});

test('micro: top spenders per category equal the top 10 % of each category\'s spend computed from the order lines', () => {
  const cats = micro.summary['categories'] as Record<string, { buyers: number; topSpenders: number }>;
  assert.deepEqual(Object.keys(cats), ['Apparel', 'Beauty', 'Books', 'Electronics', 'Home', 'Outdoor', 'Shoes', 'Toys'], 'every category bought, discovered from the data');
  for (const cat of Object.keys(cats)) {
    const spend = new Map<string, number>();
    for (const [pid, d] of direct) {
      const s = d.orders.reduce((a, o) => a + o.lines.filter((l) => l.category === cat).reduce((b, l) => b + l.price, 0), 0);
      if (s > 0) spend.set(pid, s);
    }
    const values = [...spend.values()];
    // The definition: at least 90 % of the category's buyers spend strictly less (with a cent of slack for float sums).
    const want = [...spend].filter(([, s]) => values.filter((v) => v < s - 0.005).length * 100 >= values.length * 90).map(([pid]) => pid).sort();
    const got = [...mtraits].filter(([, t]) => (t['micro_top_spender_categories'] ?? '').includes(`|${cat}|`)).map(([pid]) => pid).sort();
    assert.equal(cats[cat]?.buyers, spend.size, `${cat}: buyers`);
    assert.deepEqual(got, want, `${cat}: top spenders`);
    assert.ok(got.length >= 1 && got.length <= Math.ceil(spend.size / 10), `${cat}: ${got.length} top spenders of ${spend.size}`);
  }
});

test('micro: bad configuration is refused with the field named, and nothing is run', async () => {
  const before = (await fx.sg.behavioural.runs(fx.ws, 'micro')).length;
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'micro', { config: { atRiskDays: 400 } }), (e: unknown) => e instanceof InputError && /micro config\.atRiskDays: atRiskDays must be below lostDays/.test(e.message));
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'micro', { config: { combos: [{ key: 'x', name: 'x', country: 'Switzerland' }] } }), (e: unknown) => e instanceof InputError && /config\.combos\.0\.country/.test(e.message));
  await assert.rejects(fx.sg.behavioural.run(fx.ws, 'enrichment', { config: { ageBands: [30, 20] } }), (e: unknown) => e instanceof InputError && /config\.ageBands/.test(e.message));
  assert.equal((await fx.sg.behavioural.runs(fx.ws, 'micro')).length, before);
});

/**
 * Every behavioural model's classification is independent of the order of the profiles: the feature
 * statement returns them in no particular order (no sort of ~200 columns), so each model must give
 * every profile the same traits, and the same summary, whatever the order. Checked on the demo shop's
 * real features under seeded random permutations.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BEHAVIOURAL_MODELS, type Features } from '../../src/domain/behavioural/index.js';
import { mulberry32 } from '../../src/domain/random.js';
import { loadDemo, type DemoFixture } from './demo-fixture.js';

let fx: DemoFixture;
before(async () => { fx = await loadDemo(300); });
after(async () => { await fx.sg.close(); });

function permuted(f: Features, perm: number[]): Features {
  return {
    profileIds: perm.map((i) => f.profileIds[i] as string),
    columns: Object.fromEntries(Object.entries(f.columns).map(([k, c]) => [k, Float64Array.from(perm, (i) => c[i] as number)])),
    text: Object.fromEntries(Object.entries(f.text).map(([k, c]) => [k, perm.map((i) => c[i] ?? null)])),
  };
}

/** Sums in another order can differ in the last bits: numbers in summaries are compared to 12 digits. */
function rounded(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(12)) : x)));
}

test('every model classifies each profile the same whatever the order of the profiles', async () => {
  const parts = BEHAVIOURAL_MODELS.map((m) => ({ m, config: m.config.parse({}) }));
  // (the service's own feature read, as a run does it)
  const features = await fx.sg.behavioural['featuresOf'](fx.ws, parts, fx.end);
  const rand = mulberry32(7);
  for (const [j, { m, config }] of parts.entries()) {
    const f = features[j] as Features;
    const n = f.profileIds.length;
    assert.ok(n > 300, `${m.id}: ${n} profiles`);
    const base = m.classify(f, config, fx.end);
    const byId = new Map<string, unknown>();
    for (let i = 0; i < n; i++) byId.set(f.profileIds[i] as string, base.traits[i]);
    assert.ok([...byId.values()].filter((t) => t !== undefined).length > 50, `${m.id} classifies profiles`);
    for (let round = 0; round < 2; round++) {
      const perm = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const k = Math.floor(rand() * (i + 1));
        [perm[i], perm[k]] = [perm[k] as number, perm[i] as number];
      }
      const pf = permuted(f, perm);
      const other = m.classify(pf, config, fx.end);
      pf.profileIds.forEach((pid, i) => assert.deepEqual(other.traits[i], byId.get(pid), `${m.id}: traits of ${pid} in another order`));
      assert.deepEqual(rounded(other.summary), rounded(base.summary), `${m.id}: summary in another order`);
    }
  }
});

/**
 * `segmenta ml …` as a user runs it (child processes): fit a CLV model and a clustering on an imported
 * order file, read the registry, mark protected traits, and the exit codes of bad input. The shop: 80
 * customers with seeded purchase histories (some frequent, some one-off), imported from a CSV.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../src/domain/random.js';

let dir = '';
let data = '';
const AS_OF = '2025-11-01';
const DAY = 86_400_000;

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 180_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const inData = (...args: string[]) => cli([...args, '--data', data]);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'segmenta-ml-cli-'));
  data = join(dir, 'data');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const rng = mulberry32(11);
  const end = Date.parse(`${AS_OF}T00:00:00Z`);
  const lines = ['customer_id,order_id,date,amount'];
  let o = 0;
  for (let c = 0; c < 80; c++) {
    const frequent = c % 3 === 0;
    const first = end - (100 + Math.floor(rng() * 500)) * DAY;
    let t = first;
    for (;;) {
      lines.push(`c${c},o${o++},${new Date(t).toISOString().slice(0, 10)},${(20 + rng() * (frequent ? 200 : 60)).toFixed(2)}`);
      t += (frequent ? 10 + rng() * 40 : 60 + rng() * 300) * DAY;
      if (t >= end || (!frequent && rng() < 0.5)) break;
    }
  }
  const csv = join(dir, 'orders.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  const r = inData('import', csv, '--kind', 'orders', '--map', 'userId=customer_id,orderId=order_id,timestamp=date,total=amount');
  assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('ml kinds: every kind with its traits and defaults', () => {
  const r = inData('ml', 'kinds', '--json');
  assert.equal(r.code, 0, r.stderr);
  const kinds = JSON.parse(r.stdout) as Array<{ kind: string; traits: Array<{ key: string }>; defaults: Record<string, unknown> | null }>;
  assert.deepEqual(kinds.map((k) => k.kind), ['kmeans', 'clv', 'propensity', 'churn', 'lookalike', 'uplift']);
  assert.ok(kinds.every((k) => k.defaults !== null), 'every kind has defaults');
  assert.ok(kinds.find((k) => k.kind === 'clv')?.traits.some((t) => t.key === '<name>_p_alive'), 'clv writes p_alive');
});

test('ml fit clv: progress on stderr, metrics on stdout, traits on the profile, a version in the registry', () => {
  const r = inData('ml', 'fit', 'clv', 'value', '--as-of', AS_OF);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /bgnbd/, `progress on stderr:\n${r.stderr}`);
  assert.match(r.stdout, /^value \(clv\) version 1, fitted /m);
  assert.match(r.stdout, /80 customers: on average/);
  const p = JSON.parse(inData('profile', 'show', 'c0', '--json').stdout) as { traits: Array<{ key: string; value: unknown; source: string }> };
  const alive = p.traits.find((t) => t.key === 'value_p_alive');
  assert.ok(alive && Number(alive.value) >= 0 && Number(alive.value) <= 1, `P(alive) of c0: ${JSON.stringify(alive)}`);
  assert.equal(alive?.source, 'model:ml:value');
  const again = inData('ml', 'fit', 'clv', 'value', '--as-of', AS_OF, '--json');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, '', 'nothing on stderr with --json');
  assert.equal((JSON.parse(again.stdout) as { version: number }).version, 2);
  const versions = JSON.parse(inData('ml', 'versions', 'value', '--json').stdout) as Array<{ version: number }>;
  assert.deepEqual(versions.map((v) => v.version), [2, 1]);
  const show = JSON.parse(inData('ml', 'show', 'value', '--model-version', '1', '--json').stdout) as { version: number; artifact: { params: Record<string, number> } };
  assert.equal(show.version, 1);
  assert.ok(show.artifact.params['r'] !== undefined, 'fitted parameters stored');
});

test('ml fit kmeans with a fixed k; ml list shows both models', () => {
  const r = inData('ml', 'fit', 'kmeans', 'groups', '--as-of', AS_OF, '--config', '{"k":3,"nInit":2}', '--json');
  assert.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { metrics: { k: number; clusters: Array<{ size: number }> }; segmentsCreated: string[] };
  assert.equal(v.metrics.k, 3);
  assert.equal(v.metrics.clusters.reduce((a, c) => a + c.size, 0), 80, 'every customer in a cluster');
  assert.equal(v.segmentsCreated.length, 3, 'a segment per cluster');
  const list = JSON.parse(inData('ml', 'list', '--json').stdout) as Array<{ name: string; kind: string }>;
  assert.deepEqual(list.map((m) => `${m.name}:${m.kind}`).sort(), ['groups:kmeans', 'value:clv']);
});

test('bad input: exit 2 naming what is wrong, exit 3 for an unknown model; protect lists keys', () => {
  const kind = inData('ml', 'fit', 'magic', 'x');
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /no model kind 'magic'/);
  const cfg = inData('ml', 'fit', 'clv', 'v2', '--config', '{"horizonDays":-1}');
  assert.equal(cfg.code, 2);
  assert.match(cfg.stderr, /clv config\.horizonDays/);
  const json = inData('ml', 'fit', 'clv', 'v3', '--config', '{oops');
  assert.equal(json.code, 2);
  assert.match(json.stderr, /--config is not valid JSON/);
  const missing = inData('ml', 'show', 'nope');
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /no model 'nope'/);
  const prot = inData('ml', 'protect', 'gender', 'age', '--json');
  assert.equal(prot.code, 0, prot.stderr);
  assert.deepEqual((JSON.parse(prot.stdout) as { protected: string[] }).protected, ['age', 'gender']);
  const fair = inData('ml', 'fairness');
  assert.equal(fair.code, 2);
  assert.match(fair.stderr, /give --segment <key> or --model <name>/);
});

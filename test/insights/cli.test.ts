/**
 * `segmenta segments insights <key>` as a user runs it (child processes, like test/cli): the card and
 * the table, `--json`, exit 3 for an unknown segment and 2 for bad options.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'segmenta-insights-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('segments insights: card and table, --json, exit codes', () => {
  const data = join(dir, 'shop');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const csv = join(dir, 'orders.csv');
  // c-1: 10 and 200; c-2: 5; c-3: 30 and 40
  writeFileSync(csv, 'customer_id,order_id,date,amount\nc-1,o-1,2026-01-02,10\nc-1,o-2,2026-02-03,200\nc-2,o-3,2026-02-03,5\nc-3,o-4,2026-01-05,30\nc-3,o-5,2026-02-07,40\n');
  assert.equal(cli(['import', csv, '--kind', 'orders', '--map', 'userId=customer_id,orderId=order_id,timestamp=date,total=amount', '--data', data]).code, 0);
  const created = cli(['segments', 'create', 'big', '--name', 'Big spenders', '--text', 'sum of properties.total for "Order Completed" >= 100', '--data', data]);
  assert.equal(created.code, 0, created.stderr);

  const json = cli(['segments', 'insights', 'big', '--as-of', '2026-03-01T00:00:00Z', '--data', data, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as { size: { members: number; base: number }; revenue: { share: number }; card: { headline: string; text: string }; features: Array<{ key: string; members: { value: number }; base: { value: number } }> };
  assert.deepEqual([r.size.members, r.size.base], [1, 3]);
  assert.ok(Math.abs(r.revenue.share - 210 / 285) < 1e-12, `revenue share ${r.revenue.share}`);
  // 210 of 285 → 74 %
  assert.equal(r.card.headline, 'Big spenders: 1 profile (33 % of the base), 74 % of revenue.');
  const aov = r.features.find((f) => f.key === 'aov');
  assert.deepEqual([aov?.members.value, aov?.base.value], [105, (105 + 5 + 35) / 3], 'average order: 105 against the mean of 105, 5 and 35');

  const text = cli(['segments', 'insights', 'big', '--as-of', '2026-03-01T00:00:00Z', '--data', data]);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(text.stdout.startsWith(r.card.text), text.stdout);
  assert.match(text.stdout, /^\s+feature\s+members\s+base\s+difference \[95 %\]\s+lift \[95 %\]\s+effect$/m);
  assert.match(text.stdout, /^\s+Average order value \(buyers\)\s+105\s+48\.33\s+/m);
  assert.match(text.stdout, /events up to 2026-03-01T00:00:00\.000Z; 95 % intervals/);

  const missing = cli(['segments', 'insights', 'nope', '--data', data]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /no segment 'nope'/);
  const missingJson = cli(['segments', 'insights', 'nope', '--data', data, '--json']);
  assert.equal(missingJson.code, 3);
  assert.match((JSON.parse(missingJson.stdout) as { error: string }).error, /no segment 'nope'/);
  assert.equal(cli(['segments', 'insights', 'big', '--top', '0', '--data', data]).code, 2);
  assert.equal(cli(['segments', 'insights', 'big', '--as-of', 'soon', '--data', data]).code, 2);
  assert.equal(cli(['segments', 'insights', 'big', '--confidence', '2', '--data', data]).code, 2);
});

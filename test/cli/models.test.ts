/**
 * `segmenta models …` as a user runs it (child processes, like test/cli/cli.test.ts): the catalogue,
 * a run with its progress and summary, the last run, the registry, movement between two dates, and the
 * exit codes of bad input. The shop: eight customers with orders built so that RFM must call one of
 * them a Champion and one Lost (scores by hand below), imported from a CSV.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir = '';
let data = '';
const AS_OF = '2025-11-01';

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const inData = (...args: string[]) => cli([...args, '--data', data]);

/** Day `n` before the as-of date, as YYYY-MM-DD. */
const daysBefore = (n: number) => new Date(Date.parse(`${AS_OF}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);

/*
 * Eight customers. `champ` bought last (3 days ago), most often (6) and most (6 × 200): strictly better
 * than the 7 others on R, F and M, so each score is 1 + floor(5 · 7 / 8) = 5 → FM 5, R 5 → Champions.
 * `lost` bought once, longest ago (400 days) and least (5): nobody is strictly worse on R or M, and on F
 * it ties the one-order customers at the bottom → scores 1, 1, 1 → Lost. Every order is before 2025-06-01
 * except champ's, so at 2025-06-01 champ was not a customer yet (movement from "(none)").
 */
const ORDERS: Array<[string, number, number]> = [
  ...[3, 5, 8, 10, 12, 20].map((d): [string, number, number] => ['champ', d, 200]),
  ['lost', 400, 5],
  ['c3', 200, 50], ['c3', 250, 60],
  ['c4', 180, 80],
  ['c5', 160, 30], ['c5', 300, 40], ['c5', 350, 20],
  ['c6', 220, 100],
  ['c7', 190, 15], ['c7', 280, 25],
  ['c8', 170, 70],
];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'segmenta-models-cli-'));
  data = join(dir, 'data');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const csv = join(dir, 'orders.csv');
  writeFileSync(csv, ['customer_id,order_id,date,amount', ...ORDERS.map(([c, d, a], i) => `${c},o-${i},${daysBefore(d)},${a}`)].join('\n') + '\n');
  const r = inData('import', csv, '--kind', 'orders', '--map', 'userId=customer_id,orderId=order_id,timestamp=date,total=amount');
  assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('models list: every model with groups, traits and defaults, without opening a database', () => {
  const nowhere = join(dir, 'never-created');
  const r = cli(['models', 'list', '--json', '--data', nowhere]);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as Array<{ id: string; groups: string[]; traits: Array<{ key: string }>; groupTrait: string; defaults: Record<string, unknown> }>;
  const rfm = list.find((m) => m.id === 'rfm');
  assert.ok(rfm, 'rfm listed');
  assert.equal(rfm.groups.length, 11);
  assert.equal(rfm.groups[0], 'Champions');
  assert.equal(rfm.defaults['scale'], 5);
  assert.ok(rfm.traits.some((t) => t.key === rfm.groupTrait), 'the group trait is among the traits');
  assert.ok(list.some((m) => m.id === 'lifecycle'), 'lifecycle listed');
  assert.equal(existsSync(nowhere), false, 'list must not create a data folder');
  const text = cli(['models', 'list', '--data', nowhere]);
  assert.match(text.stdout, /^rfm \(RFM\): /m);
  assert.match(text.stdout, /groups \(trait rfm_group\): Champions, Loyal/);
});

test('models show before any run: exit 3 saying how to run it', () => {
  const r = inData('models', 'show', 'lifecycle');
  assert.equal(r.code, 3);
  assert.match(r.stderr, /lifecycle has not run in this workspace yet: segmenta models run lifecycle/);
});

test('models run rfm: progress of the four phases on stderr, groups and the R × FM grid; traits with provenance', () => {
  const r = inData('models', 'run', 'rfm', '--as-of', AS_OF);
  assert.equal(r.code, 0, r.stderr);
  const phases = [...r.stderr.matchAll(/\[(\d)\/4\] (computing features|classifying|writing traits|updating segments)/g)].map((m) => m[1]);
  assert.deepEqual(phases, ['1', '2', '3', '4'], `progress on stderr:\n${r.stderr}`);
  assert.match(r.stdout, /rfm run rfm-[0-9a-f-]+ as of 2025-11-01T00:00:00\.000Z: 8 profiles classified/);
  assert.match(r.stdout, /ready segments created: rfm_champions, /);
  assert.match(r.stdout, /^\s+Champions\s+1\s+12\.5 %$/m);
  assert.match(r.stdout, /^\s+Lost\s+1\s+12\.5 %$/m);
  // The grid: header, FM 5 row first; champ sits in FM 5 / R 5, lost in FM 1 / R 1.
  const grid = r.stdout.split('\n').filter((l) => /^\s+(FM \\ R|[1-5]\s)/.test(l));
  assert.match(grid[0] ?? '', /FM \\ R\s+1\s+2\s+3\s+4\s+5$/);
  assert.match(grid[1] ?? '', /^\s+5\s+\d+\s+\d+\s+\d+\s+\d+\s+1$/, `FM 5 row: ${grid[1]}`);
  assert.match(grid[5] ?? '', /^\s+1\s+1\s+\d+/, `FM 1 row: ${grid[5]}`);
  const cells = grid.slice(1).flatMap((l) => l.trim().split(/\s+/).slice(1).map(Number));
  assert.equal(cells.reduce((a, b) => a + b, 0), 8, 'every scored customer in one cell');
  const champ = JSON.parse(inData('profile', 'show', 'champ', '--json').stdout) as { traits: Array<{ key: string; value: unknown; source: string }> };
  const group = champ.traits.find((t) => t.key === 'rfm_group');
  assert.equal(group?.value, 'Champions');
  assert.equal(group?.source, 'model:rfm');
  assert.equal(champ.traits.find((t) => t.key === 'rfm_score')?.value, '555');
});

test('models run --json: nothing on stderr, the run view on stdout; --config @file with scale 3', () => {
  const file = join(dir, 'rfm3.json');
  writeFileSync(file, JSON.stringify({ scale: 3 }));
  const r = inData('models', 'run', 'rfm', '--as-of', AS_OF, '--config', `@${file}`, '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress with --json');
  const view = JSON.parse(r.stdout) as { profiles: number; config: { scale: number }; summary: { scale: number; grid: number[][]; groups: Record<string, number>; movement?: { matrix: Record<string, Record<string, number>> } }; segmentsCreated: string[] };
  assert.equal(view.config.scale, 3);
  assert.equal(view.summary.grid.length, 3);
  assert.equal(Object.values(view.summary.groups).reduce((a, b) => a + b, 0), view.profiles);
  assert.equal(view.profiles, 8);
  assert.deepEqual(view.segmentsCreated, [], 'the ready segments exist since the first run');
  // On 1-3: champ scores 3, 3, 3; c5 (160 days, 3 orders, 90) beats 6 of 8 on R and F (3, 3) and 4 of 8
  // on M (1 + floor(3 · 4 / 8) = 2), FM = 3: both are Champions (R 3 / FM 3 is the top cell, 5 / 5).
  assert.equal(view.summary.groups['Champions'], 2, 'champ and c5 on the 3-point scale');
  assert.ok(view.summary.movement, 'a second run records the movement since the first');
});

test('models show and runs: the last run, the registry newest first', () => {
  const runs = JSON.parse(inData('models', 'runs', '--json').stdout) as Array<{ runId: string; model: string; config: { scale: number }; asOf: string; error: string | null }>;
  assert.equal(runs.length, 2);
  assert.deepEqual(runs.map((x) => x.config.scale), [3, 5], 'newest first');
  const last = JSON.parse(inData('models', 'show', 'rfm', '--json').stdout) as { runId: string; asOf: string };
  assert.equal(last.runId, runs[0]?.runId);
  assert.equal(last.asOf, '2025-11-01T00:00:00.000Z');
  const text = inData('models', 'show', 'rfm');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /as of\s+2025-11-01T00:00:00\.000Z/);
  assert.match(text.stdout, /config\s+\{"scale":3,/);
  const since = /since the previous run \(as of 2025-11-01T00:00:00\.000Z\): (\d+) stayed, (\d+) moved/.exec(text.stdout);
  assert.ok(since, `movement since the previous run:\n${text.stdout}`);
  assert.equal(Number(since[1]) + Number(since[2]), 8, 'the eight customers, each once');
  const table = inData('models', 'runs', 'rfm');
  assert.equal(table.stdout.trim().split('\n').length, 3, `header and two runs:\n${table.stdout}`);
  assert.match(table.stdout, /^ran at\s+model\s+as of\s+profiles/);
});

test('models movement: from→to table and JSON; champ arrives from (none) into Champions', () => {
  const j = inData('models', 'movement', 'rfm', '--from', '2025-06-01', '--to', AS_OF, '--json');
  assert.equal(j.code, 0, j.stderr);
  const mv = JSON.parse(j.stdout) as { matrix: Record<string, Record<string, number>>; stayed: number; moved: number };
  assert.equal(mv.stayed + mv.moved, 8, 'every customer classified at either time, once');
  assert.equal(mv.matrix['(none)']?.['Champions'], 1, 'champ had not bought by 2025-06-01');
  assert.equal(Object.values(mv.matrix['(none)'] ?? {}).reduce((a, b) => a + b, 0), 1, 'the others had all bought by then');
  const t = inData('models', 'movement', 'rfm', '--from', '2025-06-01', '--to', AS_OF);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, new RegExp(`${mv.stayed} stayed, ${mv.moved} moved`));
  assert.match(t.stdout, /^from \\ to\s+1\s+2/m);
  assert.match(t.stdout, /^\s*\d+ \(none\)\s/m);
  assert.match(t.stdout, /\(none\) → Champions: 1/);
});

test('bad input: unknown model 3, bad config / date / JSON / order of dates 2, each saying what is wrong', () => {
  const unknown = inData('models', 'run', 'astrology');
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no behavioural model 'astrology' \(models: rfm, lifecycle/);
  const badConfig = inData('models', 'run', 'rfm', '--config', '{"scale":4}', '--json');
  assert.equal(badConfig.code, 2);
  assert.match(JSON.parse(badConfig.stdout).error as string, /rfm config\.scale/);
  const badJson = inData('models', 'run', 'rfm', '--config', '{scale:4}');
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /--config is not valid JSON/);
  const badDate = inData('models', 'run', 'rfm', '--as-of', '2025-02-30');
  assert.equal(badDate.code, 2);
  assert.match(badDate.stderr, /--as-of must be an ISO-8601 date/);
  const backwards = inData('models', 'movement', 'rfm', '--from', AS_OF, '--to', '2025-06-01');
  assert.equal(backwards.code, 2);
  assert.match(backwards.stderr, /--from must be before --to/);
  const noTo = inData('models', 'movement', 'rfm', '--from', AS_OF);
  assert.equal(noTo.code, 2);
  assert.match(noTo.stderr, /required option '--to <date>'/);
  // None of the failed runs was recorded.
  assert.equal((JSON.parse(inData('models', 'runs', '--json').stdout) as unknown[]).length, 2);
});

test('models run a,b: several models in one scan, --config keyed by model id', () => {
  const r = inData('models', 'run', 'rfm,lifecycle', '--as-of', AS_OF, '--config', '{"lifecycle":{"newDays":10}}', '--json');
  assert.equal(r.code, 0, r.stderr);
  const views = JSON.parse(r.stdout) as Array<{ model: string; profiles: number; config: Record<string, unknown> }>;
  assert.deepEqual(views.map((v) => v.model), ['rfm', 'lifecycle']);
  assert.equal(views[0]?.profiles, 8);
  assert.equal(views[1]?.config['newDays'], 10);
  const notKeyed = inData('models', 'run', 'rfm,lifecycle', '--config', '[1]');
  assert.equal(notKeyed.code, 2);
  assert.match(notKeyed.stderr, /an object keyed by model id/);
  const stray = inData('models', 'run', 'rfm,lifecycle', '--config', '{"astro":{}}');
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /a configuration for 'astro'/);
});

/**
 * The `segmenta` command as a user runs it: JSON output, help, exit codes and error messages.
 * Runs the CLI from source in child processes (the same code the bin runs from dist/).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'segmenta-cli-test-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('--help lists the commands and exits 0; every command has --help', () => {
  const r = cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['init', 'serve', 'import', 'profile', 'demo', 'workspaces', 'compact', 'keys', 'segments', 'computed-traits']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  for (const c of [['init'], ['serve'], ['import'], ['profile', 'show'], ['demo']]) {
    const h = cli([...c, '--help']);
    assert.equal(h.code, 0, c.join(' '));
    assert.match(h.stdout, /Usage: segmenta/);
  }
});

test('init --json prints {workspace, writeKey, adminToken}; SEGMENTA_DATA chooses the folder', () => {
  const data = join(dir, 'env-data');
  const r = cli(['init', '--json', '--name', 'shop'], { SEGMENTA_DATA: data });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, string>;
  assert.deepEqual(Object.keys(out).sort(), ['adminToken', 'workspace', 'writeKey']);
  assert.match(out['workspace'] ?? '', /^ws_/);
  assert.match(out['writeKey'] ?? '', /^wk_/);
  assert.match(out['adminToken'] ?? '', /^sgt_/);
  const list = cli(['workspaces', '--json', '--data', data]);
  assert.equal(list.code, 0);
  assert.equal((JSON.parse(list.stdout) as Array<{ name: string }>)[0]?.name, 'shop');
});

test('import then profile show, in text and JSON; re-import adds nothing', () => {
  const data = join(dir, 'imp');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const csv = join(dir, 'orders.csv');
  writeFileSync(csv, 'customer_id,order_id,date,amount\nc-9,o-1,2024-01-02,10.5\nc-9,o-2,2024-02-03,20\n');
  const r = cli(['import', csv, '--kind', 'orders', '--map', 'userId=customer_id,orderId=order_id,timestamp=date,total=amount', '--data', data, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { imported: number }).imported, 2);
  const again = cli(['import', csv, '--kind', 'orders', '--map', 'userId=customer_id,orderId=order_id,timestamp=date,total=amount', '--data', data, '--json']);
  assert.equal((JSON.parse(again.stdout) as { imported: number; duplicates: number }).duplicates, 2);
  const text = cli(['profile', 'show', 'c-9', '--data', data]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /user_id\s+c-9/);
  assert.match(text.stdout, /2\s+Order Completed/);
  const json = JSON.parse(cli(['profile', 'show', 'user_id:c-9', '--data', data, '--json']).stdout) as { totalEvents: number };
  assert.equal(json.totalEvents, 2);
});

test('keys: create a token and a write key, list them, revoke one', () => {
  const data = join(dir, 'keys');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const token = JSON.parse(cli(['keys', 'create-token', '--role', 'viewer', '--label', 'bi', '--data', data, '--json']).stdout) as { token: string };
  assert.match(token.token, /^sgt_/);
  assert.match(cli(['keys', 'create-write-key', '--data', data]).stdout, /^wk_/);
  const list = JSON.parse(cli(['keys', 'list', '--data', data, '--json']).stdout) as Array<{ id: string; label: string; revokedAt: string | null }>;
  assert.equal(list.length, 4);
  const bi = list.find((c) => c.label === 'bi');
  assert.ok(bi);
  assert.equal(cli(['keys', 'revoke', bi.id, '--data', data]).code, 0);
  const again = cli(['keys', 'revoke', bi.id, '--data', data]);
  assert.equal(again.code, 3);
  assert.match(again.stderr, /no active credential/);
  assert.equal(cli(['keys', 'create-token', '--role', 'root', '--data', data]).code, 2);
  assert.ok((JSON.parse(cli(['keys', 'list', '--data', data, '--json']).stdout) as Array<{ id: string; revokedAt: string | null }>).find((c) => c.id === bi.id)?.revokedAt);
});

test('exit codes: usage 2, not found 3, with a message that says what is wrong', () => {
  const data = join(dir, 'codes');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const unknown = cli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const badKind = cli(['import', 'x.csv', '--kind', 'people', '--data', data]);
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /--kind must be one of events, orders, customers/);
  const missing = cli(['import', join(dir, 'nope.csv'), '--kind', 'events', '--data', data]);
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /no such file/);
  const noProfile = cli(['profile', 'show', 'ghost', '--data', data]);
  assert.equal(noProfile.code, 3);
  assert.match(noProfile.stderr, /no profile matches 'ghost'/);
  const badPort = cli(['serve', '--port', 'eighty', '--data', data]);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port must be a whole number/);
  const badThreads = cli(['profile', 'show', 'ghost', '--data', data], { SEGMENTA_THREADS: 'many' });
  assert.equal(badThreads.code, 2);
  assert.match(badThreads.stderr, /SEGMENTA_THREADS must be a whole number from 1 to 1024, got 'many'/);
  const badMemory = cli(['profile', 'show', 'ghost', '--data', data], { SEGMENTA_MEMORY_LIMIT: 'lots' });
  assert.equal(badMemory.code, 2);
  assert.match(badMemory.stderr, /SEGMENTA_MEMORY_LIMIT must be a size like 4GB/);
  const withEnv = cli(['profile', 'show', 'ghost', '--data', data], { SEGMENTA_THREADS: '1', SEGMENTA_MEMORY_LIMIT: '1GB' });
  assert.equal(withEnv.code, 3, `valid engine settings are taken: ${withEnv.stderr}`);
  const json = cli(['profile', 'show', 'ghost', '--data', data, '--json']);
  assert.match(JSON.parse(json.stdout).error as string, /no profile matches/);
});

test('a second process on the same data folder is told the database is in use (exit 4)', async () => {
  const data = join(dir, 'busy');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start')), 30_000);
      server.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const r = cli(['workspaces', '--data', data]);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /in use by another segmenta process/);
  } finally {
    server.kill('SIGTERM');
  }
});

test('demo --no-serve loads a small shop through the API and a re-run stores nothing new', () => {
  const data = join(dir, 'demo');
  const r = cli(['demo', '--no-serve', '--customers', '60', '--data', data, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { stored: number; messagesSent: number; stats: { events: number; profiles: number } };
  assert.ok(s.messagesSent > 1000);
  assert.equal(s.stored, s.messagesSent);
  assert.equal(s.stats.events, s.messagesSent);
  assert.ok(s.stats.profiles >= 60);
  const again = JSON.parse(cli(['demo', '--no-serve', '--customers', '60', '--data', data, '--json']).stdout) as { stored: number; duplicates: number };
  assert.equal(again.stored, 0);
  assert.equal(again.duplicates, s.messagesSent);
});

test('segments: create, list, members as CSV, explain, estimate, a bad definition exits 2 with the reason', () => {
  const data = join(dir, 'segs');
  assert.equal(cli(['init', '--data', data]).code, 0);
  const csv = join(dir, 'seg-orders.csv');
  writeFileSync(csv, 'customer_id,order_id,date,amount\nc-1,o-1,2024-01-02,10\nc-1,o-2,2024-02-03,200\nc-2,o-3,2024-02-03,5\n');
  assert.equal(cli(['import', csv, '--kind', 'orders', '--map', 'userId=customer_id,orderId=order_id,timestamp=date,total=amount', '--data', data]).code, 0);
  const cond = JSON.stringify({ type: 'event', event: 'Order Completed', count: { op: 'at_least', value: 2 } });
  const created = cli(['segments', 'create', 'repeat_buyers', '--condition', cond, '--data', data, '--json']);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as { members: number }).members, 1);
  const list = cli(['segments', 'list', '--data', data]);
  assert.match(list.stdout, /repeat_buyers\s+v1\s+1 members/);
  const members = cli(['segments', 'members', 'repeat_buyers', '--format', 'csv', '--data', data]);
  assert.match(members.stdout, /^profile_id,entered_at,version\nprof_/);
  const explain = cli(['segments', 'explain', 'repeat_buyers', 'c-2', '--data', data]);
  assert.equal(explain.code, 0, explain.stderr);
  assert.match(explain.stdout, /is not in repeat_buyers/);
  assert.match(explain.stdout, /✘ performed "Order Completed" at least 2 times ever\s+\(value: 1\)/);
  const est = JSON.parse(cli(['segments', 'estimate', '--condition', JSON.stringify({ type: 'event', event: 'Order Completed' }), '--data', data, '--json']).stdout) as { size: number };
  assert.equal(est.size, 2);
  const bad = cli(['segments', 'create', 'bad', '--condition', JSON.stringify({ type: 'segment', segment: 'nope' }), '--data', data]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no active segment 'nope'/);
  assert.equal(cli(['segments', 'explain', 'nope', 'c-2', '--data', data]).code, 3);
  const viaText = cli(['segments', 'create', 'big', '--text', 'sum of properties.total for "Order Completed" >= 100', '--data', data, '--json']);
  assert.equal(viaText.code, 0, viaText.stderr);
  assert.equal((JSON.parse(viaText.stdout) as { members: number }).members, 1);
  assert.match(cli(['segments', 'show', 'big', '--data', data]).stdout, /sum of properties\.total for "Order Completed" >= 100/);
  const badText = cli(['segments', 'estimate', '--text', 'trait plan = "pro', '--data', data]);
  assert.equal(badText.code, 2);
  assert.match(badText.stderr, /has no closing " on the same line \[syntax\.unterminated_string\]\n.*\n\s+\^+/);
});

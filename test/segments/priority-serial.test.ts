/**
 * The write lock of segment applies (src/engines/duckdb/serial.ts, PrioritySerial): one task at a time;
 * urgent waiters (instant decisions) go before normal ones queued earlier; a failing task releases it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrioritySerial } from '../../src/engines/duckdb/serial.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('urgent waiters go first, one task at a time, and a failure releases the lock', async () => {
  const lock = new PrioritySerial();
  const order: string[] = [];
  let inside = 0;
  const task = (name: string, ms: number, fail = false) => async () => {
    inside++;
    assert.equal(inside, 1, `${name} ran alone`);
    await sleep(ms);
    order.push(name);
    inside--;
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const running = lock.run(task('apply 1', 30));
  const queued = [lock.run(task('apply 2', 5, true)), lock.run(task('apply 3', 5)), lock.run(task('instant a', 5), true), lock.run(task('instant b', 5), true)];
  await assert.rejects(queued[0] as Promise<string>, /apply 2 failed/);
  const results = await Promise.allSettled([running, ...queued]);
  assert.deepEqual(order, ['apply 1', 'instant a', 'instant b', 'apply 2', 'apply 3'], 'the instant tasks jumped the queue, not the running task');
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.equal(await lock.run(async () => 'after'), 'after', 'the lock is free again');
});

/** A small promise-chain mutex: DuckDB allows one open transaction per connection. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * A mutex whose waiters with `urgent` go before the others (in order among themselves): instant
 * segment decisions wait for the running apply only, not for fast-lane applies queued before them.
 */
export class PrioritySerial extends Serial {
  private busy = false;
  private readonly urgent: Array<() => void> = [];
  private readonly normal: Array<() => void> = [];

  override run<T>(fn: () => Promise<T>, urgent = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.busy = true;
        fn().then(resolve, reject).finally(() => {
          this.busy = false;
          const next = this.urgent.shift() ?? this.normal.shift();
          next?.();
        });
      };
      if (!this.busy) start();
      else (urgent ? this.urgent : this.normal).push(start);
    });
  }
}

/** Run `fn` in a transaction on `conn`: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(conn: { run(sql: string): Promise<unknown> }, fn: () => Promise<T>): Promise<T> {
  await conn.run('BEGIN TRANSACTION');
  try {
    const out = await fn();
    await conn.run('COMMIT');
    return out;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * Webhooks for segment entries and exits. Each subscription has a cursor into the membership change
 * feed; a delivery is the next batch of changes after it, POSTed as JSON with an HMAC-SHA256 signature
 * and an idempotency key, retried with exponential backoff until the receiver answers 2xx. The batch
 * being delivered is pinned (`pendingTo`), so a retry — even after a restart — carries the same changes
 * and the same key. Order is kept: the cursor only moves when a batch is acknowledged.
 *
 * Signature header: `Segmenta-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { InputError } from '../domain/errors.js';
import type { WebhookRecord } from '../ports/segments.js';
import type { StoragePort } from '../ports/storage.js';

export interface WebhooksConfig {
  batchSize: number;
  /** First retry delay; doubles per attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}

export const DEFAULT_WEBHOOKS_CONFIG: WebhooksConfig = { batchSize: 100, baseDelayMs: 1000, maxDelayMs: 5 * 60_000, timeoutMs: 10_000 };

export interface WebhookView {
  id: string;
  url: string;
  segments: string[] | null;
  createdAt: string;
  cursor: number;
  delivered: number;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

export function signPayload(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

function view(w: WebhookRecord): WebhookView {
  return {
    id: w.id, url: w.url, segments: w.segments, createdAt: new Date(w.createdAt).toISOString(), cursor: w.cursor, delivered: w.delivered,
    attempts: w.attempts, nextAttemptAt: w.nextAttemptAt === null ? null : new Date(w.nextAttemptAt).toISOString(), lastStatus: w.lastStatus, lastError: w.lastError,
  };
}

export class WebhookService {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(private readonly store: StoragePort, readonly config: WebhooksConfig = DEFAULT_WEBHOOKS_CONFIG, private readonly clock: () => number = Date.now) {}

  async create(ws: string, input: { url: string; segments?: string[] | undefined }): Promise<WebhookView & { secret: string }> {
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw new InputError('webhook.url', `'${input.url}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError('webhook.url', `webhook URLs must be http or https, got ${url.protocol}`);
    const w: WebhookRecord = {
      workspaceId: ws, id: `wh_${randomBytes(8).toString('hex')}`, url: url.toString(), secret: `whsec_${randomBytes(24).toString('base64url')}`,
      segments: input.segments?.length ? input.segments : null, createdAt: this.clock(), deletedAt: null,
      // a new subscription receives changes from now on
      cursor: await this.store.segments.lastChangeSeq(ws), pendingTo: null, attempts: 0, nextAttemptAt: null, lastStatus: null, lastError: null, delivered: 0,
    };
    await this.store.segments.insertWebhook(w);
    return { ...view(w), secret: w.secret };
  }

  async list(ws: string): Promise<WebhookView[]> {
    return (await this.store.segments.webhooks(ws)).filter((w) => w.deletedAt === null).map(view);
  }

  async remove(ws: string, id: string): Promise<void> {
    const w = (await this.store.segments.webhooks(ws)).find((x) => x.id === id && x.deletedAt === null);
    if (!w) throw new InputError('not_found', `no webhook '${id}'`);
    await this.store.segments.updateWebhook({ ...w, deletedAt: this.clock() });
  }

  /** Deliver what is due now (new changes, retries whose time has come); runs one pass at a time. */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    for (const w of await this.store.segments.webhooks()) {
      if (w.deletedAt !== null) continue;
      if (w.nextAttemptAt !== null && w.nextAttemptAt > this.clock()) continue;
      // drain this subscription while batches succeed
      let cur = w;
      for (;;) {
        const next = await this.deliverOne(cur);
        if (!next) break;
        cur = next;
      }
    }
  }

  /** One batch; returns the updated record when it was acknowledged and more may follow. */
  private async deliverOne(w: WebhookRecord): Promise<WebhookRecord | undefined> {
    const changes = await this.store.segments.changesBetween(w.workspaceId, w.cursor, w.pendingTo, this.config.batchSize, w.segments);
    if (changes.length === 0) {
      if (w.pendingTo !== null) await this.store.segments.updateWebhook({ ...w, cursor: w.pendingTo, pendingTo: null });
      return undefined;
    }
    const first = changes[0]?.seq ?? 0;
    const last = changes[changes.length - 1]?.seq ?? 0;
    const pinned: WebhookRecord = { ...w, pendingTo: w.pendingTo ?? last };
    const key = `${w.id}:${first}-${last}`;
    const body = JSON.stringify({
      id: key, workspace: w.workspaceId, type: 'segment.membership_changes',
      changes: changes.map((c) => ({ seq: c.seq, segment: c.segmentKey, profileId: c.profileId, change: c.change, at: new Date(c.at).toISOString(), version: c.version })),
    });
    const t = Math.floor(this.clock() / 1000);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json', 'idempotency-key': key, 'user-agent': 'segmenta-webhooks/1',
          'segmenta-signature': `t=${t},v1=${signPayload(w.secret, t, body)}`,
        },
        body, signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) error = `the receiver answered ${res.status}`;
    } catch (err) {
      error = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    }
    if (error === null) {
      const done: WebhookRecord = { ...pinned, cursor: last, pendingTo: null, attempts: 0, nextAttemptAt: null, lastStatus: status, lastError: null, delivered: w.delivered + changes.length };
      await this.store.segments.updateWebhook(done);
      return done;
    }
    const attempts = w.attempts + 1;
    const delay = Math.min(this.config.baseDelayMs * 2 ** (attempts - 1), this.config.maxDelayMs);
    await this.store.segments.updateWebhook({ ...pinned, attempts, nextAttemptAt: this.clock() + delay, lastStatus: status, lastError: error });
    this.scheduleRetry(delay);
    return undefined;
  }

  private scheduleRetry(delay: number): void {
    const at = this.clock() + delay;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.kick().catch(() => undefined);
    }, delay + 5);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

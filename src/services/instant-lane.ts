/**
 * The instant lane (docs/segments.md, "Instant decisions"): right after an ingest commit, each touched
 * profile's new events are checked against the segments they can settle on their own
 * (domain/segments/instant.ts), and the entries and exits they prove are written at once, before the
 * state lanes get to the profile. The state lanes still evaluate every touched profile; they find the
 * membership already in place and write nothing more for it.
 *
 * One job per workspace at a time; commits that arrive meanwhile are taken together by the next run.
 */
import type { Condition } from '../domain/segments/ast.js';
import { decide } from '../domain/segments/instant.js';
import type { EvalEvent } from '../domain/segments/reference.js';
import type { InstantDecision } from '../ports/segments.js';
import type { StoragePort } from '../ports/storage.js';
import { LatencyWindow } from './latency-window.js';

/** A segment new events can settle, with what the lane needs to decide and write it. */
export interface InstantSegment {
  key: string;
  version: number;
  condition: Condition;
  stateColumn: string;
  /** Event names its settling leaves select; null when one of them is `*` (any event). */
  names: ReadonlySet<string> | null;
}

export interface InstantPlan {
  segments: InstantSegment[];
  /** Every active segment's condition (references are their conditions). */
  all: ReadonlyMap<string, Condition>;
}

export interface InstantMetrics {
  instantRuns: number;
  instantDecisions: number;
  instantEntered: number;
  instantExited: number;
  /** Decisions the store did not apply (an invalid state row, or the segment not in the state table). */
  instantSkipped: number;
  instantFailures: number;
  /** Duration of the last run: decisions in memory plus the write. */
  lastInstantMs: number;
}

export interface InstantHooks {
  /** The workspace's instant segments (cached by the caller while definitions do not change). */
  plan(ws: string): Promise<InstantPlan>;
  /** Whether the workspace has state the lane can rely on (built by a full run of this process). */
  ready(ws: string): boolean;
  /** Profiles whose state is about to be invalidated (merged): left to the lanes. */
  invalid(ws: string): ReadonlySet<string> | undefined;
  /** Entries or exits were written. */
  changed(ws: string): void;
}

const nameOf = (e: EvalEvent): string | undefined => (e.type === 'track' ? e.event : e.name);

export class InstantLane {
  private readonly pending = new Map<string, Map<string, EvalEvent[]>>();
  /** When the oldest commit of a workspace's pending batch was offered (performance.now()). */
  private readonly pendingSince = new Map<string, number>();
  private readonly running = new Map<string, Promise<unknown>>();
  /**
   * Commit → instant write committed (from the oldest commit a run took), and the part of it spent
   * waiting for the write lock (a running apply): what `segmenta_instant_delay_seconds` reports.
   */
  readonly delay = new LatencyWindow();
  readonly lockWait = new LatencyWindow();

  constructor(
    private readonly store: StoragePort, private readonly clock: () => number, private readonly hooks: InstantHooks,
    readonly metrics: InstantMetrics,
  ) {}

  /** New events of one commit, by workspace and profile (merged profiles already left out). */
  offer(events: ReadonlyMap<string, ReadonlyMap<string, EvalEvent[]>>): void {
    for (const [ws, byProfile] of events) {
      if (!this.hooks.ready(ws) || byProfile.size === 0) continue;
      const queue = this.pending.get(ws) ?? new Map<string, EvalEvent[]>();
      for (const [pid, list] of byProfile) {
        const have = queue.get(pid);
        if (have) have.push(...list);
        else queue.set(pid, [...list]);
      }
      this.pending.set(ws, queue);
      if (!this.pendingSince.has(ws)) this.pendingSince.set(ws, performance.now());
      void this.drain(ws).catch(() => undefined);
    }
  }

  private drain(ws: string): Promise<unknown> {
    const running = this.running.get(ws);
    if (running) return running.then(() => (this.pending.has(ws) ? this.drain(ws) : undefined));
    const job = Promise.resolve().then(async () => { // registered before it runs (see SegmentService.drainWorkspace)
      try {
        for (let batch = this.pending.get(ws); batch; batch = this.pending.get(ws)) {
          this.pending.delete(ws);
          const since = this.pendingSince.get(ws) ?? performance.now();
          this.pendingSince.delete(ws);
          const t0 = performance.now();
          try {
            if (await this.run(ws, batch)) this.delay.add(performance.now() - since);
          } catch {
            // the state lanes evaluate these profiles anyway: only the head start is lost
            this.metrics.instantFailures++;
          }
          this.metrics.lastInstantMs = performance.now() - t0;
        }
      } finally {
        this.running.delete(ws);
      }
    });
    this.running.set(ws, job);
    return job;
  }

  /** Decide and write one batch; whether anything was written (a run that decides nothing is not timed). */
  private async run(ws: string, batch: Map<string, EvalEvent[]>): Promise<boolean> {
    const plan = await this.hooks.plan(ws);
    if (plan.segments.length === 0) return false;
    const now = this.clock();
    const invalid = this.hooks.invalid(ws);
    const decisions: InstantDecision[] = [];
    for (const [pid, events] of batch) {
      if (invalid?.has(pid)) continue;
      for (const s of plan.segments) {
        const names = s.names;
        if (names && !events.some((e) => names.has(nameOf(e) ?? ''))) continue;
        const member = decide(s.condition, { profileId: pid, events, now, segments: plan.all });
        if (member !== undefined) decisions.push({ profileId: pid, segmentKey: s.key, version: s.version, stateColumn: s.stateColumn, member });
      }
    }
    this.metrics.instantRuns++;
    if (decisions.length === 0) return false;
    this.metrics.instantDecisions += decisions.length;
    const out = await this.store.segments.applyInstant(ws, decisions, now);
    this.metrics.instantEntered += out.entered;
    this.metrics.instantExited += out.exited;
    this.metrics.instantSkipped += out.skipped;
    if (out.waitMs !== undefined) this.lockWait.add(out.waitMs);
    if (out.entered > 0 || out.exited > 0) this.hooks.changed(ws);
    return out.entered > 0 || out.exited > 0;
  }

  /** Wait until queued decisions are written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }
}

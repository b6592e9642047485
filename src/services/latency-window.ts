/**
 * The durations of the last `size` occurrences of something (a commit, an instant write, a fast run),
 * for quantiles in /metrics and in benchmarks: a ring buffer, sorted on read. Reads are rare (a scrape,
 * a bench report) and writes are per run, so a sort of at most `size` numbers per read is cheap.
 */
export class LatencyWindow {
  private readonly buf: Float64Array;
  private filled = 0;
  private next = 0;
  /** Occurrences since start, and their total duration (Prometheus summary `_count` / `_sum`). */
  count = 0;
  sumMs = 0;

  constructor(size = 1024) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`a latency window needs a whole size of at least 1, got ${size}`);
    this.buf = new Float64Array(size);
  }

  add(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.buf[this.next] = ms;
    this.next = (this.next + 1) % this.buf.length;
    this.filled = Math.min(this.filled + 1, this.buf.length);
    this.count++;
    this.sumMs += ms;
  }

  /** The q-quantile (0..1, nearest rank) of the window in ms; NaN while empty. */
  quantile(q: number): number {
    if (this.filled === 0) return NaN;
    const sorted = this.buf.slice(0, this.filled).sort();
    const rank = Math.min(this.filled - 1, Math.max(0, Math.ceil(q * this.filled) - 1));
    return sorted[rank] ?? NaN;
  }

  /** p50 / p99 / max of the window and the count since start (bench reports). */
  summary(): { p50Ms: number; p99Ms: number; maxMs: number; count: number } {
    return { p50Ms: this.quantile(0.5), p99Ms: this.quantile(0.99), maxMs: this.quantile(1), count: this.count };
  }
}

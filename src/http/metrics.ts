/**
 * Prometheus text exposition of the process's counters (DESIGN.md §Monitoring): ingestion, segment
 * computation and memory.
 * Instance-wide, with no workspace data in it, so it needs no token (scrape it from inside your network).
 */
import type { IngestMetrics } from '../services/ingest.js';
import type { LatencyWindow } from '../services/latency-window.js';
import type { SegmentService } from '../services/segments.js';
import type { StoragePort } from '../ports/storage.js';

interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
}

/** A duration summary over a recent window (quantiles) and since start (`_sum`, `_count`), in seconds. */
export interface Summary {
  name: string;
  help: string;
  window: LatencyWindow;
}

export function prometheusText(ingest: IngestMetrics, segments: SegmentService['metrics'], wal: ReturnType<StoragePort['walHealth']>, memory: NodeJS.MemoryUsage, uptimeSeconds: number, summaries: Summary[] = []): string {
  const metrics: Metric[] = [
    { name: 'segmenta_ingest_accepted_messages_total', help: 'Messages accepted and durably committed.', type: 'counter', value: ingest.acceptedMessages },
    { name: 'segmenta_ingest_duplicate_messages_total', help: 'Messages dropped as duplicates of an earlier messageId.', type: 'counter', value: ingest.duplicateMessages },
    { name: 'segmenta_ingest_rejected_messages_total', help: 'Messages rejected as invalid (HTTP 400 or import rejections).', type: 'counter', value: ingest.rejectedMessages },
    { name: 'segmenta_ingest_commits_total', help: 'Group commits written.', type: 'counter', value: ingest.commits },
    { name: 'segmenta_ingest_commit_failures_total', help: 'Group commits the storage engine refused.', type: 'counter', value: ingest.commitFailures },
    { name: 'segmenta_ingest_backpressure_rejections_total', help: 'Requests answered 429 because the write queue was full.', type: 'counter', value: ingest.backpressureRejections },
    { name: 'segmenta_ingest_queued_messages', help: 'Messages waiting for a commit.', type: 'gauge', value: ingest.queuedMessages },
    { name: 'segmenta_ingest_last_commit_seconds', help: 'Duration of the last group commit.', type: 'gauge', value: ingest.lastCommitMs / 1000 },
    { name: 'segmenta_segment_full_runs_total', help: 'Full recomputations of a workspace.', type: 'counter', value: segments.fullRuns },
    { name: 'segmenta_segment_fast_runs_total', help: 'Incremental runs from the state rows (fast lane).', type: 'counter', value: segments.fastRuns },
    { name: 'segmenta_segment_slow_runs_total', help: 'Incremental runs from the touched profiles\' history (slow lane).', type: 'counter', value: segments.slowRuns },
    { name: 'segmenta_segment_run_failures_total', help: 'Segment computations that failed (recorded on their definitions).', type: 'counter', value: segments.failures },
    { name: 'segmenta_segment_last_incremental_seconds', help: 'Duration of the last fast-lane run.', type: 'gauge', value: segments.lastIncrementalMs / 1000 },
    { name: 'segmenta_segment_instant_entries_total', help: 'Entries proven by new events alone, written right after their commit.', type: 'counter', value: segments.instantEntered },
    { name: 'segmenta_segment_instant_exits_total', help: 'Exits proven by new events alone, written right after their commit.', type: 'counter', value: segments.instantExited },
    { name: 'segmenta_segment_instant_failures_total', help: 'Instant-lane writes that failed (the lanes decided instead).', type: 'counter', value: segments.instantFailures },
    { name: 'segmenta_storage_wal_bytes', help: 'Size of the write-ahead log not yet checkpointed into the database file.', type: 'gauge', value: wal.walBytes },
    { name: 'segmenta_storage_checkpoints_total', help: 'Checkpoints run because the WAL had grown past its threshold without one.', type: 'counter', value: wal.checkpoints },
    { name: 'segmenta_storage_checkpoints_busy_total', help: 'Such checkpoints refused because a write was open (tried again a few seconds later).', type: 'counter', value: wal.checkpointsBusy },
    { name: 'process_resident_memory_bytes', help: 'Resident memory of the process.', type: 'gauge', value: memory.rss },
    { name: 'nodejs_heap_used_bytes', help: 'V8 heap in use.', type: 'gauge', value: memory.heapUsed },
    { name: 'process_uptime_seconds', help: 'Seconds since the process started.', type: 'gauge', value: uptimeSeconds },
  ];
  const finite = (v: number) => (Number.isFinite(v) ? v : 0);
  const plain = metrics.map((m) => `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name} ${finite(m.value)}\n`);
  // Quantiles of an empty window are NaN, which the text format spells as such.
  const quantiles = summaries.map((s) => `# HELP ${s.name} ${s.help}\n# TYPE ${s.name} summary\n${
    [0.5, 0.9, 0.99].map((q) => `${s.name}{quantile="${q}"} ${s.window.count === 0 ? 'NaN' : s.window.quantile(q) / 1000}\n`).join('')
  }${s.name}_sum ${finite(s.window.sumMs / 1000)}\n${s.name}_count ${s.window.count}\n`);
  return [...plain, ...quantiles].join('');
}

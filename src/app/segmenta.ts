/**
 * The composition root: opens the engine named by the configuration, migrates it, and wires the
 * services. HTTP, CLI and tests build a `Segmenta` and use its services; nothing else constructs engines.
 */
import { BehaviouralService } from '../services/behavioural.js';
import { MlService } from '../services/ml/ml-service.js';
import { DuckDBEngine } from '../engines/duckdb/duckdb-engine.js';
import type { StoragePort } from '../ports/storage.js';
import { DEFAULT_INGEST_CONFIG, IngestService, type IngestConfig } from '../services/ingest.js';
import { InsightsService } from '../services/insights.js';
import { ProfileService } from '../services/profiles.js';
import { DEFAULT_SEGMENTS_CONFIG, SegmentService, type SegmentsConfig } from '../services/segments.js';
import { DEFAULT_WEBHOOKS_CONFIG, WebhookService, type WebhooksConfig } from '../services/webhooks.js';
import { WorkspaceService } from '../services/workspaces.js';

export interface SegmentaOptions {
  /** Data folder of the embedded database, or ':memory:'. */
  dataDir: string;
  ingest?: Partial<IngestConfig>;
  segments?: Partial<SegmentsConfig>;
  webhooks?: Partial<WebhooksConfig>;
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number;
  /** DuckDB memory limit, e.g. '4GB' (default: DuckDB's, 80 % of the machine's memory). */
  memoryLimit?: string;
  /** Write-ahead log size in MiB past which a checkpoint is due (default 1024). */
  checkpointThresholdMiB?: number;
}

/** How often a server checks whether the WAL is past its threshold. */
const WAL_CHECK_MS = 5_000;

export class Segmenta {
  readonly workspaces: WorkspaceService;
  readonly ingest: IngestService;
  readonly profiles: ProfileService;
  readonly segments: SegmentService;
  readonly webhooks: WebhookService;
  readonly behavioural: BehaviouralService;
  readonly insights: InsightsService;
  readonly ml: MlService;
  private walTimer: NodeJS.Timeout | undefined;

  private constructor(readonly store: StoragePort, ingestConfig: IngestConfig, segmentsConfig: SegmentsConfig, webhooksConfig: WebhooksConfig) {
    this.workspaces = new WorkspaceService(store);
    this.ingest = new IngestService(store, ingestConfig);
    this.profiles = new ProfileService(store);
    this.segments = new SegmentService(store, segmentsConfig);
    // Every durable commit re-evaluates the profiles it touched (all segments, one statement).
    this.ingest.onCommitted((touched, merged, events) => this.segments.touch(touched, merged, events));
    this.webhooks = new WebhookService(store, webhooksConfig);
    this.behavioural = new BehaviouralService(store, this.segments);
    this.insights = new InsightsService(store, this.segments);
    this.ml = new MlService(store, this.segments);
    // Entries and exits go out to webhook subscribers as soon as they are recorded.
    this.segments.onChanges(() => void this.webhooks.kick().catch(() => undefined));
  }

  /** Keep segments current as time passes (windows that expire without new events). */
  startBackgroundWork(): void {
    void this.ingest.ensureStarted().catch(() => undefined); // the identity graph, before the first request needs it
    this.segments.startRefresh(async () => (await this.store.listWorkspaces()).map((w) => w.id));
    void this.segments.ensureTypedColumns().catch(() => undefined); // paths added before a restart, or a back-fill it cut short
    void this.webhooks.kick().catch(() => undefined); // retries pending from before a restart
    // The WAL past its threshold without a checkpoint (overlapping writes keep DuckDB's automatic one
    // from running): tried every few seconds until one goes through.
    this.walTimer ??= setInterval(() => void this.store.checkpointIfNeeded().catch(() => undefined), WAL_CHECK_MS);
    this.walTimer.unref();
  }

  static async open(opts: SegmentaOptions): Promise<Segmenta> {
    const store = await DuckDBEngine.open({ dataDir: opts.dataDir, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}), ...(opts.checkpointThresholdMiB ? { checkpointThresholdMiB: opts.checkpointThresholdMiB } : {}) });
    try {
      await store.migrate();
      // The ingest service loads its in-memory state (identity graph, recent message ids) on first use,
      // so that commands that only read (profile show, workspaces) open fast.
      return new Segmenta(store, { ...DEFAULT_INGEST_CONFIG, ...opts.ingest }, { ...DEFAULT_SEGMENTS_CONFIG, ...opts.segments }, { ...DEFAULT_WEBHOOKS_CONFIG, ...opts.webhooks });
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.walTimer) clearInterval(this.walTimer);
    await this.ingest.drain();
    await this.segments.stopBackground();
    await this.segments.idle();
    await this.webhooks.close();
    await this.store.close();
  }
}

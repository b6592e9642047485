/**
 * Segment insights (docs/insights.md): how a segment differs from the whole base. Storage reduces
 * every active profile's features to group statistics for the members and the rest in one statement;
 * the domain turns them into effects with intervals, the ranking of distinguishing features and the
 * persona card.
 */
import { InputError } from '../domain/errors.js';
import {
  DEFAULT_INSIGHT_OPTIONS, DEFAULT_INSIGHT_RULES, DEFAULT_MAX_TRAITS, DIMENSIONS, analyze, personaCard,
  type Analysis, type DimensionKey, type FeatureInsight, type InsightRules, type PersonaCard,
} from '../domain/insights/index.js';
import type { StoragePort } from '../ports/storage.js';
import type { SegmentService } from './segments.js';

export interface InsightsRequest {
  /** Events up to this time (epoch ms; default now). Membership is always the segment's current one. */
  asOf?: number;
  /** Confidence of every interval (default 0.95). */
  confidence?: number;
  /** Values per dimension (most common overall and among the members; default 10). */
  top?: number;
  /**
   * Above this many active profiles, features are read for a deterministic sample of about this many
   * (members whole up to half of it); sizes, orders and revenue stay exact (default 200,000).
   */
  maxProfiles?: number;
}

export const DEFAULT_MAX_PROFILES = 200_000;

/** A feature as the API shows it. */
export type FeatureView = Omit<FeatureInsight, 'words'>;

export interface BreakdownItem {
  value: string;
  /** Share of the dimension's population among the members and in the base. */
  members: number;
  base: number;
  /** members / base with its interval. */
  ratio: { value: number | null; low: number | null; high: number | null };
  distinguishing: boolean;
}

export interface SegmentInsightsView {
  segment: { key: string; name: string; version: number; stale: boolean; staleReason: string | null };
  asOf: string;
  confidence: number;
  /** Members and the base (all active profiles). */
  size: Analysis['size'];
  /** The share of members and of the rest whose features were read; null: all of them. */
  sample: Analysis['sample'];
  revenue: Analysis['revenue'];
  orders: Analysis['orders'];
  /** Top values per dimension, by the members' share. */
  breakdowns: Record<DimensionKey, BreakdownItem[]>;
  /** Every feature, in catalogue order. */
  features: FeatureView[];
  /** The distinguishing features, most distinguishing first. */
  distinguishing: FeatureView[];
  card: PersonaCard;
  durationMs: number;
}

export class InsightsService {
  constructor(
    private readonly store: StoragePort,
    private readonly segments: SegmentService,
    private readonly rules: InsightRules = DEFAULT_INSIGHT_RULES,
    private readonly clock: () => number = Date.now,
  ) {}

  async segment(ws: string, key: string, req: InsightsRequest = {}): Promise<SegmentInsightsView> {
    const confidence = req.confidence ?? DEFAULT_INSIGHT_OPTIONS.confidence;
    if (!(confidence >= 0.5 && confidence < 1)) throw new InputError('bad_request', `must be at least 0.5 and below 1 (0.95 for 95 % intervals), got ${confidence}`, 'confidence');
    const top = req.top ?? 10;
    if (!Number.isInteger(top) || top < 1 || top > 100) throw new InputError('bad_request', `must be a whole number from 1 to 100, got ${top}`, 'top');
    const maxProfiles = req.maxProfiles ?? DEFAULT_MAX_PROFILES;
    if (!Number.isInteger(maxProfiles) || maxProfiles < 100) throw new InputError('bad_request', `must be a whole number of at least 100, got ${maxProfiles}`, 'maxProfiles');
    const asOf = req.asOf ?? this.clock();
    if (!Number.isFinite(asOf)) throw new InputError('bad_request', 'must be a valid time', 'asOf');
    const seg = await this.segments.get(ws, key);
    if (seg.status !== 'active') throw new InputError('segment.archived', `segment '${key}' is archived: it has no members to describe`);
    const t0 = performance.now();
    const stats = await this.store.segmentInsightStats(ws, key, { asOf, rules: this.rules, topValues: top, maxProfiles });
    const a = analyze(stats, { ...DEFAULT_INSIGHT_OPTIONS, confidence });
    const card = personaCard(seg.name, a, DEFAULT_MAX_TRAITS);
    const view = (f: FeatureInsight): FeatureView => {
      const { words: _words, ...rest } = f;
      return rest;
    };
    const byKey = new Map(a.features.map((f) => [f.key, f]));
    const breakdowns = Object.fromEntries(DIMENSIONS.map((d) => [d.key, breakdown(a.features.filter((f) => f.feature === d.key))])) as Record<DimensionKey, BreakdownItem[]>;
    return {
      segment: { key: seg.key, name: seg.name, version: seg.version, stale: seg.stale, staleReason: seg.staleReason },
      asOf: new Date(asOf).toISOString(),
      confidence,
      size: a.size,
      sample: a.sample,
      revenue: a.revenue,
      orders: a.orders,
      breakdowns,
      features: a.features.map(view),
      distinguishing: a.distinguishing.map((k) => byKey.get(k)).filter((f): f is FeatureInsight => f !== undefined).map(view),
      card,
      durationMs: performance.now() - t0,
    };
  }
}

/** A dimension's values, the members' most common first (ties: the base's, then the value). */
function breakdown(features: FeatureInsight[]): BreakdownItem[] {
  return features
    .map((f) => ({ value: f.value ?? '', members: f.members.value, base: f.base.value, ratio: f.ratio, distinguishing: f.distinguishing }))
    .sort((x, y) => y.members - x.members || y.base - x.base || (x.value < y.value ? -1 : x.value > y.value ? 1 : 0));
}

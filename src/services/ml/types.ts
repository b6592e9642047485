/** What the model service gives a kind's fit, and what the fit gives back (docs/models.md). */
import type { AssembledFeatures, FeatureSpec } from '../../domain/ml/feature-sets.js';
import type { FitProgressEvent } from '../../domain/ml/types.js';
import type { MlModelRecord, StoragePort } from '../../ports/storage.js';

/** What a kind's fit returns to the service. */
export interface FitOutput {
  training: Record<string, unknown>;
  artifact: unknown;
  metrics: Record<string, unknown>;
  /** Profiles scored, and their traits (same order; undefined = nothing for this profile). */
  profileIds: readonly string[];
  traits: Array<Record<string, string | number> | undefined>;
  /** The main score per profile (NaN = none), written to `scores` under the model's name. */
  score?: Float64Array;
  /** Ready segments the model offers (created once; user edits are kept). */
  segments?: Array<{ key: string; name: string; description: string; condition: unknown }>;
}

export interface FitContext {
  ws: string;
  name: string;
  /** The parsed config of the kind. */
  config: unknown;
  /** The time the fit describes (scores as of then). */
  asOf: number;
  /** The previous successful version of this name, if any (stable cluster ids, warm starts). */
  previous: MlModelRecord | undefined;
  progress: (p: FitProgressEvent) => void;
  /** Default features of every active profile as of a time. */
  snapshot(spec: FeatureSpec, asOf: number, noProtected: boolean): Promise<Snapshot>;
  /** Current members of a segment (profile ids). */
  members(key: string): Promise<Set<string>>;
  store: StoragePort;
}

export interface Snapshot extends AssembledFeatures {
  profileIds: string[];
  /** 1 where the profile had any event up to the snapshot (it existed then). */
  seen: Uint8Array;
}

export type KindFitter = (ctx: FitContext) => Promise<FitOutput>;


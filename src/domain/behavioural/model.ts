/**
 * The shape every behavioural model has (docs/behavioural.md): features computed per profile by the
 * segment compiler (computed-trait definitions, so they run on every dialect), a pure classification
 * into profile traits, and a ready set of segments over the model's group trait. No I/O here: the
 * service (src/services/behavioural.ts) runs the features, writes the traits and keeps the segments.
 */
import type { z } from 'zod';
import type { ComputedTraitDefinition, Condition } from '../segments/ast.js';

/**
 * Per-profile feature values, column-wise, in the order of profileIds (every active profile).
 * - columns: numbers; NaN where a profile has no value (e.g. never purchased). Numeric computed traits,
 *   numeric profile traits (`trait:<key>`) and event timing counts (`timing:<bucket>`) land here.
 * - text: the other values as text (JSON strings unquoted, other JSON as its text), null where absent:
 *   computed traits of kinds first / last / most_frequent / unique_list, and every input trait.
 */
export interface Features {
  profileIds: string[];
  columns: Record<string, Float64Array>;
  text: Record<string, Array<string | null>>;
}

/** When in the week and day a profile performs an event (UTC), counted per profile. */
export const TIMING_BUCKETS = ['weekday', 'weekend', 'night', 'morning', 'afternoon', 'evening'] as const;
export type TimingBucket = (typeof TIMING_BUCKETS)[number];
/** Hours of each part of the day (UTC): night 0-5, morning 6-11, afternoon 12-17, evening 18-23. */
export const DAY_PARTS: Record<Exclude<TimingBucket, 'weekday' | 'weekend'>, [number, number]> = { night: [0, 5], morning: [6, 11], afternoon: [12, 17], evening: [18, 23] };

export type TraitValue = string | number;

export interface Classification {
  /** Trait values per profile, in the order of Features.profileIds; undefined: the model says nothing. */
  traits: Array<Record<string, TraitValue> | undefined>;
  /** What the run found, JSON-able (counts per group, score distributions, thresholds). */
  summary: Record<string, unknown>;
}

export interface ModelTrait { key: string; description: string }

export interface BehaviouralModel<C = unknown> {
  id: string;
  name: string;
  description: string;
  /** Validates a user's configuration (partial: defaults fill the rest); errors say which field. */
  config: z.ZodType<C>;
  /** The features, as computed-trait definitions whose keys name the feature columns. */
  features(config: C, asOf: number, seen?: string[]): ComputedTraitDefinition[];
  /**
   * Values only the data knows that the features depend on (e.g. every product category bought): a
   * `unique_list` definition the service evaluates first (as of the same time); the distinct values over
   * all profiles, sorted, reach `features` as `seen`.
   */
  discover?(config: C): ComputedTraitDefinition | undefined;
  /**
   * Text features holding IP addresses: the service looks each address up (I/O, outside the domain) and
   * adds `geoip:<feature>` text columns with the ISO country code (null where unknown).
   */
  geoip?(config: C): string[];
  /** Profile traits the classification reads (their current values), as `trait:<key>` features. */
  traitInputs?(config: C): string[];
  /** An event whose timing (weekday / weekend, part of day) the classification reads, as `timing:<bucket>`. */
  timing?(config: C): { event: string } | undefined;
  classify(features: Features, config: C, asOf: number): Classification;
  traits: ModelTrait[];
  /** The categorical trait whose values are the model's groups (ready segments, movement). */
  groupTrait: string;
  /** Where each run keeps the group of the run before it (movement per profile). */
  previousTrait: string;
  groups(config: C): string[];
  /**
   * Further ready segments beside the one per group (e.g. micro-segments written in the segment
   * language, or segments over other output traits). Keys must start with `<model id>_`.
   */
  extraSegments?(config: C): ReadySegment[];
}

export interface ReadySegment { key: string; name: string; description: string; condition: Condition }

/** Segment key of a model's group: `<model>_<group in snake case>`, e.g. rfm_cant_lose. */
export function groupSegmentKey(modelId: string, group: string): string {
  const slug = group.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return `${modelId}_${slug}`.slice(0, 63);
}

/** The ready segments of a model: one per group, a trait condition on its group trait. */
export function readySegments(model: Pick<BehaviouralModel, 'id' | 'name' | 'groupTrait'>, groups: string[]): ReadySegment[] {
  return groups.map((g) => ({
    key: groupSegmentKey(model.id, g),
    name: `${model.name}: ${g}`,
    description: `Profiles the ${model.name} model puts in "${g}" (trait ${model.groupTrait}); docs/behavioural.md explains the rule.`,
    condition: { type: 'trait', trait: model.groupTrait, op: 'eq', value: g },
  }));
}

/** Cross-tabulation of two group assignments (keyed by profile): counts[from][to], "(none)" where absent. */
export function transitions(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const add = (a: string, b: string) => {
    const row = (out[a] ??= {});
    row[b] = (row[b] ?? 0) + 1;
  };
  for (const [pid, b] of after) add(before.get(pid) ?? NONE, b);
  for (const [pid, a] of before) if (!after.has(pid)) add(a, NONE);
  return out;
}

export const NONE = '(none)';

const DAY = 86_400_000;
/** ISO date-time of `asOf` minus `days` days (a `between` window bound for a feature). */
export function isoDaysBefore(asOf: number, days: number): string {
  return new Date(asOf - days * DAY).toISOString();
}

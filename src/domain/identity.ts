/**
 * Identity resolution rules (after Segment Unify, REFERENCES.md): which identifiers a message carries,
 * which values are blocked, per-type limits and priority, and the decision for one message given the
 * current graph. Pure: the graph is read through the `IdentityGraphView` interface.
 */
import { isPlainObject, type JsonObject } from './errors.js';
import { pick, type SegmentMessage } from './segment-message.js';

export interface Identifier {
  type: string;
  value: string;
}

export interface IdentityConfig {
  /** Identifier types in priority order, highest first; types not listed rank after them, by name. */
  priority: string[];
  /** Most values of a type one profile may hold; `default` for types not listed. */
  limits: Record<string, number>;
  defaultLimit: number;
  /** Values never used to match (case-insensitive, exact), beside the blocked patterns. */
  blockedValues: string[];
  blockedPatterns: string[];
}

export const DEFAULT_IDENTITY_CONFIG: IdentityConfig = {
  priority: ['user_id', 'email', 'phone', 'anonymous_id', 'device_id'],
  limits: { user_id: 1 },
  defaultLimit: 5,
  blockedValues: ['-1', 'null', 'undefined', 'anonymous', 'none', 'nil', 'n/a', 'unknown', 'test@test.com'],
  blockedPatterns: ['^[0-]*$'],
};

export function normalizeEmail(v: string): string {
  return v.trim().toLowerCase();
}

/** Phone numbers compare by digits, with a leading + kept. */
export function normalizePhone(v: string): string {
  const t = v.trim();
  return (t.startsWith('+') ? '+' : '') + t.replace(/\D/g, '');
}

function strVal(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** The identifiers of one message, in the order they were found (duplicates removed). */
export function extractIdentifiers(msg: SegmentMessage): Identifier[] {
  const out: Identifier[] = [];
  const add = (type: string, value: string | undefined) => {
    if (value === undefined) return;
    if (!out.some((i) => i.type === type && i.value === value)) out.push({ type, value });
  };
  add('user_id', msg.userId);
  // alias: previousId is the identity being linked to userId; a userId-looking previousId stays typed as such
  if (msg.type === 'alias' && msg.previousId !== undefined) add(msg.previousId === msg.anonymousId ? 'anonymous_id' : 'user_id', msg.previousId);
  add('anonymous_id', msg.anonymousId);
  const email = strVal(msg.traits['email']) ?? strVal(pick(msg.context, 'traits', 'email'));
  if (email !== undefined && msg.type !== 'group') add('email', normalizeEmail(email));
  const phone = strVal(msg.traits['phone']) ?? strVal(pick(msg.context, 'traits', 'phone'));
  if (phone !== undefined && msg.type !== 'group') add('phone', normalizePhone(phone));
  add('device_id', strVal(pick(msg.context, 'device', 'id')));
  const ext = msg.context['externalIds'];
  if (Array.isArray(ext)) {
    for (const e of ext) {
      if (!isPlainObject(e)) continue;
      const type = strVal((e as JsonObject)['type']);
      const id = strVal((e as JsonObject)['id']);
      if (type && id) add(type.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 64), type.toLowerCase() === 'email' ? normalizeEmail(id) : id);
    }
  }
  return out;
}

export class IdentityRules {
  private readonly blockedValues: Set<string>;
  private readonly blockedPatterns: RegExp[];
  constructor(readonly config: IdentityConfig = DEFAULT_IDENTITY_CONFIG) {
    this.blockedValues = new Set(config.blockedValues.map((v) => v.toLowerCase()));
    this.blockedPatterns = config.blockedPatterns.map((p) => new RegExp(p, 'i'));
  }

  isBlocked(id: Identifier): boolean {
    const v = id.value.toLowerCase();
    return this.blockedValues.has(v) || this.blockedPatterns.some((re) => re.test(v));
  }

  limit(type: string): number {
    return this.config.limits[type] ?? this.config.defaultLimit;
  }

  rank(type: string): number {
    const i = this.config.priority.indexOf(type);
    return i >= 0 ? i : this.config.priority.length;
  }

  /** Identifiers sorted highest priority first (stable by type name for unlisted types). */
  sortByPriority(ids: Identifier[]): Identifier[] {
    return [...ids].sort((a, b) => this.rank(a.type) - this.rank(b.type) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  }
}

/** What resolution needs to know about the current graph. */
export interface IdentityGraphView {
  profileOf(id: Identifier): string | undefined;
  /** The values of one type that a profile holds now. */
  valuesOf(profileId: string, type: string): readonly string[];
  /** The identifier types a profile holds values of. */
  typesOf(profileId: string): Iterable<string>;
}

export interface ResolutionDropped {
  identifier: Identifier;
  reason: 'blocked' | 'limit';
}

export interface Resolution {
  /** The profile the message belongs to; `undefined` when a new profile must be created. */
  profileId: string | undefined;
  /** Other profiles that this message proves to be the same person, to be merged into `profileId`. */
  mergeFrom: string[];
  /** Identifiers to attach to the profile (not yet in the graph for it). */
  attach: Identifier[];
  dropped: ResolutionDropped[];
}

/**
 * Decide where one message's identifiers belong. Identifiers are taken in priority order and kept while
 * the profiles they match, merged, plus the kept identifiers stay within every per-type limit; an
 * identifier that would break a limit is dropped (recorded) and the next one is tried. This is Segment
 * Unify's "drop the lowest-priority identifier and retry", applied so that only an identifier that
 * causes a conflict is lost: one bad identifier cannot fuse many people, and a harmless anonymous id of
 * the same message still attaches.
 */
export function resolveIdentifiers(ids: Identifier[], graph: IdentityGraphView, rules: IdentityRules): Resolution {
  const dropped: ResolutionDropped[] = [];
  const candidates = rules.sortByPriority(ids.filter((id) => {
    if (rules.isBlocked(id)) {
      dropped.push({ identifier: id, reason: 'blocked' });
      return false;
    }
    return true;
  }));

  const kept: Identifier[] = [];
  let profiles: string[] = [];
  for (const id of candidates) {
    const p = graph.profileOf(id);
    const trialProfiles = p !== undefined && !profiles.includes(p) ? [...profiles, p] : profiles;
    const trial = [...kept, id];
    if (fitsLimits(trial, trialProfiles, graph, rules)) {
      kept.push(id);
      profiles = trialProfiles;
    } else {
      dropped.push({ identifier: id, reason: 'limit' });
    }
  }
  const attach = kept.filter((id) => graph.profileOf(id) === undefined);
  return { profileId: profiles[0], mergeFrom: profiles.slice(1), attach, dropped };
}

/**
 * Would the merged profiles plus these identifiers stay within every per-type limit? Only types that
 * can grow need checking: those of the identifiers, and, when profiles merge, those the profiles hold.
 */
function fitsLimits(ids: Identifier[], profiles: string[], graph: IdentityGraphView, rules: IdentityRules): boolean {
  const types = new Set<string>();
  for (const id of ids) types.add(id.type);
  if (profiles.length > 1) for (const p of profiles) for (const t of graph.typesOf(p)) types.add(t);
  for (const type of types) {
    const limit = rules.limit(type);
    const values = new Set<string>();
    for (const p of profiles) for (const v of graph.valuesOf(p, type)) values.add(v);
    if (values.size > limit) return false;
    for (const id of ids) {
      if (id.type !== type) continue;
      values.add(id.value);
      if (values.size > limit) return false;
    }
  }
  return true;
}

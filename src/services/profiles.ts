/** Reading one profile: identities, traits with provenance, event counts, recent events, merge history. */
import { InputError } from '../domain/errors.js';
import { normalizeEmail, normalizePhone } from '../domain/identity.js';
import type { StoragePort } from '../ports/storage.js';

/** A profile as the API and CLI show it; times are ISO-8601 strings in UTC. */
export interface ProfileView {
  workspaceId: string;
  profileId: string;
  /** The reference asked for (an id, a user id, an email, type:value). */
  requested: string;
  identities: Array<{ type: string; value: string; firstSeen: string; source: string }>;
  traits: Array<{ key: string; value: unknown; source: string; messageId: string; updatedAt: string }>;
  eventCounts: Array<{ type: string; event: string | null; count: number; first: string; last: string }>;
  totalEvents: number;
  recentEvents: Array<{
    messageId: string; type: string; event: string | null; name: string | null; timestamp: string; receivedAt: string;
    source: string; revenue: number | null; properties: unknown;
  }>;
  merges: Array<{ from: string; to: string; reason: string; messageId: string; at: string }>;
  /** Current segment memberships, and every entry and exit of this profile. */
  segments: Array<{ key: string; enteredAt: string }>;
  segmentHistory: Array<{ segment: string; change: 'entered' | 'exited'; at: string; version: number }>;
  computedTraits: Array<{ key: string; value: unknown; computedAt: string }>;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

const LOOKUP_ORDER = ['user_id', 'email', 'anonymous_id', 'phone', 'device_id'];

export class ProfileService {
  constructor(private readonly store: StoragePort) {}

  /**
   * Find a profile by its id (`prof_…`), by `type:value` (`email:ada@example.com`), or by a bare value
   * tried as user id, email, anonymous id, phone and device id in that order.
   */
  async resolve(workspaceId: string, ref: string): Promise<string | undefined> {
    if (ref.startsWith('prof_')) {
      if (await this.store.profileExists(workspaceId, ref)) return ref;
      return this.store.mergedInto(workspaceId, ref);
    }
    const colon = ref.indexOf(':');
    if (colon > 0) {
      const type = ref.slice(0, colon);
      const value = ref.slice(colon + 1);
      const hit = await this.store.profileByIdentity(workspaceId, type, canonical(type, value));
      if (hit) return hit;
    }
    for (const type of LOOKUP_ORDER) {
      const hit = await this.store.profileByIdentity(workspaceId, type, canonical(type, ref));
      if (hit) return hit;
    }
    return undefined;
  }

  async get(workspaceId: string, ref: string, recent = 20): Promise<ProfileView> {
    if (ref.trim() === '') throw new InputError('bad_ref', 'a profile reference is empty');
    const profileId = await this.resolve(workspaceId, ref);
    if (!profileId) throw new NotFoundError(`no profile matches '${ref}' (try a profile id, user id, email, anonymous id, or type:value)`);
    const [identities, traits, eventCounts, recentEvents, merges, segments, history, computed] = await Promise.all([
      this.store.profileIdentities(workspaceId, profileId),
      this.store.profileTraits(workspaceId, profileId),
      this.store.profileEventCounts(workspaceId, profileId),
      this.store.profileRecentEvents(workspaceId, profileId, recent),
      this.store.profileMerges(workspaceId, profileId),
      this.store.segments.profileSegments(workspaceId, profileId),
      this.store.segments.profileHistory(workspaceId, profileId),
      this.store.segments.computedValues(workspaceId, profileId),
    ]);
    return {
      workspaceId, profileId, requested: ref,
      identities: identities.map((i) => ({ type: i.type, value: i.value, firstSeen: isoTime(i.firstSeen), source: i.source })),
      traits: traits.map((t) => ({ key: t.key, value: t.value, source: t.source, messageId: t.messageId, updatedAt: isoTime(t.updatedAt) })),
      eventCounts: eventCounts.map((c) => ({ type: c.type, event: c.event, count: c.count, first: isoTime(c.first), last: isoTime(c.last) })),
      totalEvents: eventCounts.reduce((sum, c) => sum + c.count, 0),
      recentEvents: recentEvents.map((e) => ({ ...e, timestamp: isoTime(e.timestamp), receivedAt: isoTime(e.receivedAt) })),
      merges: merges.map((m) => ({ from: m.from, to: m.to, reason: m.reason, messageId: m.messageId, at: isoTime(m.at) })),
      segments: segments.map((x) => ({ key: x.key, enteredAt: isoTime(x.enteredAt) })),
      segmentHistory: history.map((h) => ({ segment: h.segmentKey, change: h.change, at: isoTime(h.at), version: h.version })),
      computedTraits: computed.map((c) => ({ key: c.key, value: c.value, computedAt: isoTime(c.computedAt) })),
    };
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

function canonical(type: string, value: string): string {
  if (type === 'email') return normalizeEmail(value);
  if (type === 'phone') return normalizePhone(value);
  return value;
}

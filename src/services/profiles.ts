/** Reading one profile: identities, traits with provenance, event counts, recent events, merge history. */
import { InputError } from '../domain/errors.js';
import { normalizeEmail, normalizePhone } from '../domain/identity.js';
import type { EventCount, IdentityRecord, MergeRecord, StoragePort, StoredEvent, TraitValue } from '../ports/storage.js';

export interface ProfileView {
  workspaceId: string;
  profileId: string;
  /** Set when the id asked for was merged into this profile. */
  requested: string;
  identities: IdentityRecord[];
  traits: TraitValue[];
  eventCounts: EventCount[];
  totalEvents: number;
  recentEvents: StoredEvent[];
  merges: MergeRecord[];
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
    const [identities, traits, eventCounts, recentEvents, merges] = await Promise.all([
      this.store.profileIdentities(workspaceId, profileId),
      this.store.profileTraits(workspaceId, profileId),
      this.store.profileEventCounts(workspaceId, profileId),
      this.store.profileRecentEvents(workspaceId, profileId, recent),
      this.store.profileMerges(workspaceId, profileId),
    ]);
    return {
      workspaceId, profileId, requested: ref, identities, traits, eventCounts,
      totalEvents: eventCounts.reduce((s, c) => s + c.count, 0), recentEvents, merges,
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

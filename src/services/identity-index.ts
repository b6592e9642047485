/**
 * The identity graph in memory, per workspace, rebuilt from storage at start. Resolution must answer
 * "which profile holds this identifier" for every ingested message at 100k messages/s, which a database
 * round trip per message cannot; storage stays the source of truth and every change is written in the
 * same group commit as the events that caused it.
 */
import type { Identifier, IdentityGraphView } from '../domain/identity.js';
import type { IdentityRecord } from '../ports/storage.js';

const SEP = '\u0001';

export class IdentityIndex {
  private readonly byValue = new Map<string, string>();
  private readonly byProfile = new Map<string, Map<string, string[]>>();

  clear(): void {
    this.byValue.clear();
    this.byProfile.clear();
  }

  load(rows: IdentityRecord[]): void {
    for (const r of rows) this.attach(r.workspaceId, r.profileId, { type: r.type, value: r.value });
  }

  get size(): number {
    return this.byValue.size;
  }

  profileOf(workspaceId: string, id: Identifier): string | undefined {
    return this.byValue.get(workspaceId + SEP + id.type + SEP + id.value);
  }

  attach(workspaceId: string, profileId: string, id: Identifier): void {
    this.byValue.set(workspaceId + SEP + id.type + SEP + id.value, profileId);
    const pk = workspaceId + SEP + profileId;
    let types = this.byProfile.get(pk);
    if (!types) {
      types = new Map();
      this.byProfile.set(pk, types);
    }
    const values = types.get(id.type);
    if (values) {
      if (!values.includes(id.value)) values.push(id.value);
    } else {
      types.set(id.type, [id.value]);
    }
  }

  /** Move every identifier of `from` to `to`. */
  merge(workspaceId: string, from: string, to: string): void {
    const types = this.byProfile.get(workspaceId + SEP + from);
    if (!types) return;
    for (const [type, values] of types) for (const value of values) this.attach(workspaceId, to, { type, value });
    this.byProfile.delete(workspaceId + SEP + from);
  }

  view(workspaceId: string): IdentityGraphView {
    return {
      profileOf: (id) => this.profileOf(workspaceId, id),
      valuesOf: (profileId, type) => this.byProfile.get(workspaceId + SEP + profileId)?.get(type) ?? [],
      typesOf: (profileId) => this.byProfile.get(workspaceId + SEP + profileId)?.keys() ?? [],
    };
  }
}

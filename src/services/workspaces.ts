/** Workspaces isolate data; write keys ingest into exactly one; tokens (with a role) manage one. */
import { InputError } from '../domain/errors.js';
import type { CredentialRecord, Role, StoragePort, WorkspaceRecord } from '../ports/storage.js';
import { hashSecret, newId, newSecret } from './secrets.js';

export interface CreatedWorkspace {
  workspace: string;
  name: string;
  writeKey: string;
  adminToken: string;
}

/** A credential as shown to its workspace's admins: never the secret, an id made of the hash's start. */
export interface CredentialView {
  id: string;
  kind: CredentialRecord['kind'];
  role: Role | null;
  label: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface Principal {
  workspaceId: string;
  kind: CredentialRecord['kind'];
  role: Role | null;
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

export function roleAllows(have: Role | null, need: Role): boolean {
  return have !== null && ROLE_RANK[have] >= ROLE_RANK[need];
}

export class WorkspaceService {
  private readonly cache = new Map<string, { principal: Principal | undefined; at: number }>();
  constructor(private readonly store: StoragePort) {}

  async create(name = 'default'): Promise<CreatedWorkspace> {
    if (!/^[\w .-]{1,100}$/.test(name)) throw new InputError('bad_name', 'a workspace name has 1-100 letters, digits, spaces, dots, dashes or underscores');
    const ws: WorkspaceRecord = { id: newId('ws'), name, createdAt: Date.now() };
    await this.store.insertWorkspace(ws);
    const writeKey = await this.addWriteKey(ws.id, 'initial write key');
    const adminToken = await this.addToken(ws.id, 'admin', 'initial admin token');
    return { workspace: ws.id, name, writeKey, adminToken };
  }

  async credentials(workspaceId: string): Promise<CredentialView[]> {
    return (await this.store.listCredentials(workspaceId)).map((c) => ({
      id: c.hash.slice(0, 12), kind: c.kind, role: c.role, label: c.label,
      createdAt: new Date(c.createdAt).toISOString(), revokedAt: c.revokedAt === null ? null : new Date(c.revokedAt).toISOString(),
    }));
  }

  /** Revoke a write key or token by its id (the first 12 hex characters of its hash). */
  async revoke(workspaceId: string, id: string): Promise<void> {
    if (!/^[0-9a-f]{12}$/.test(id)) throw new InputError('bad_id', `a credential id is 12 hexadecimal characters, got '${id.slice(0, 40)}'`);
    const n = await this.store.revokeCredentials(workspaceId, id, Date.now());
    if (n === 0) throw new InputError('not_found', `no active credential '${id}' in this workspace`);
    // This process forgets it at once; other processes sharing the database within the cache time (30 s).
    this.cache.clear();
  }

  async addWriteKey(workspaceId: string, label: string): Promise<string> {
    const secret = newSecret('wk');
    await this.store.insertCredential({ hash: hashSecret(secret), kind: 'write_key', workspaceId, role: null, label, createdAt: Date.now(), revokedAt: null });
    return secret;
  }

  async addToken(workspaceId: string, role: Role, label: string): Promise<string> {
    const secret = newSecret('sgt');
    await this.store.insertCredential({ hash: hashSecret(secret), kind: 'token', workspaceId, role, label, createdAt: Date.now(), revokedAt: null });
    return secret;
  }

  list(): Promise<WorkspaceRecord[]> {
    return this.store.listWorkspaces();
  }

  /** Who a secret belongs to, if anyone (cached briefly: every ingest request authenticates). */
  async authenticate(secret: string): Promise<Principal | undefined> {
    const hash = hashSecret(secret);
    const hit = this.cache.get(hash);
    if (hit && Date.now() - hit.at < 30_000) return hit.principal;
    const c = await this.store.findCredential(hash);
    const principal = c && c.revokedAt === null ? { workspaceId: c.workspaceId, kind: c.kind, role: c.role } : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, at: Date.now() });
    return principal;
  }
}

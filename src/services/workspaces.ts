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

/** The management API (Bearer token of a workspace): workspace stats, profiles, identity drops, credentials. */
import type { Context, Hono, Next } from 'hono';
import { z } from 'zod';
import { InputError } from '../domain/errors.js';
import type { Segmenta } from '../app/segmenta.js';
import { NotFoundError, isoTime } from '../services/profiles.js';
import { roleAllows } from '../services/workspaces.js';
import type { Role } from '../ports/storage.js';
import type { AppEnv as Env } from './env.js';
import { errorBody } from './errors.js';

const NewWriteKey = z.strictObject({ label: z.string().min(1).max(100).optional() });
const NewToken = z.strictObject({ role: z.enum(['admin', 'editor', 'viewer']), label: z.string().min(1).max(100).optional() });

/** Read and check a JSON body against a schema; a clear 400 says which field is wrong. */
export async function body<T>(c: Context<Env>, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown = {};
  const text = await c.req.text();
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new InputError('bad_json', 'the body is not valid JSON');
    }
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError('bad_request', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function requireRole(sg: Segmenta, role: Role) {
  return async (c: Context<Env>, next: Next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (!m || !m[1]) return c.json(errorBody('unauthorized', 'send an API token as "Authorization: Bearer <token>"'), 401);
    const p = await sg.workspaces.authenticate(m[1]);
    if (!p || p.kind !== 'token') return c.json(errorBody('unauthorized', 'the API token is not valid'), 401);
    if (!roleAllows(p.role, role)) return c.json(errorBody('forbidden', `this needs the ${role} role; the token has ${p.role ?? 'none'}`), 403);
    c.set('principal', p);
    await next();
    return undefined;
  };
}

export function mountAdmin(app: Hono<Env>, sg: Segmenta): void {
  app.get('/api/v1/workspace', requireRole(sg, 'viewer'), async (c) => {
    const ws = c.get('principal').workspaceId;
    const [info, stats] = await Promise.all([sg.store.getWorkspace(ws), sg.store.workspaceStats(ws)]);
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : isoTime(ms));
    return c.json({
      workspace: info ? { ...info, createdAt: iso(info.createdAt) } : null,
      stats: { ...stats, firstEvent: iso(stats.firstEvent), lastEvent: iso(stats.lastEvent) },
    });
  });

  app.get('/api/v1/profiles/:ref', requireRole(sg, 'viewer'), async (c) => {
    const ws = c.get('principal').workspaceId;
    const recent = Math.min(Math.max(Number(c.req.query('recent') ?? '20') || 20, 1), 500);
    try {
      return c.json(await sg.profiles.get(ws, c.req.param('ref') ?? '', recent));
    } catch (err) {
      if (err instanceof NotFoundError) return c.json(errorBody('not_found', err.message), 404);
      if (err instanceof InputError) return c.json(errorBody(err.code, err.message), 400);
      throw err;
    }
  });

  app.get('/api/v1/identity/drops', requireRole(sg, 'viewer'), async (c) => {
    const ws = c.get('principal').workspaceId;
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? '100') || 100, 1), 1000);
    const drops = await sg.store.identityDrops(ws, limit);
    return c.json({ drops: drops.map((d) => ({ ...d, at: isoTime(d.at) })) });
  });

  app.get('/api/v1/ingest/metrics', requireRole(sg, 'viewer'), (c) => c.json(sg.ingest.metrics));

  app.get('/api/v1/credentials', requireRole(sg, 'admin'), async (c) => c.json({ credentials: await sg.workspaces.credentials(c.get('principal').workspaceId) }));

  app.post('/api/v1/write-keys', requireRole(sg, 'admin'), async (c) => {
    const { label } = await body(c, NewWriteKey);
    const ws = c.get('principal').workspaceId;
    return c.json({ writeKey: await sg.workspaces.addWriteKey(ws, label ?? 'write key') }, 201);
  });

  app.post('/api/v1/tokens', requireRole(sg, 'admin'), async (c) => {
    const { role, label } = await body(c, NewToken);
    const ws = c.get('principal').workspaceId;
    return c.json({ token: await sg.workspaces.addToken(ws, role, label ?? `${role} token`), role }, 201);
  });

  app.delete('/api/v1/credentials/:id', requireRole(sg, 'admin'), async (c) => {
    await sg.workspaces.revoke(c.get('principal').workspaceId, c.req.param('id') ?? '');
    return c.json({ revoked: c.req.param('id') });
  });
}

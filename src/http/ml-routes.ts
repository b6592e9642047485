/**
 * Statistical models over HTTP (Bearer token; docs/models.md): the kinds, a fit (editor: it writes
 * traits and scores and may create segments), the registry, protected traits and fairness reports. A
 * bad configuration answers 400 naming the field; an unknown model 404.
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { ML_KINDS, mlTraits } from '../domain/ml/configs.js';
import { InputError } from '../domain/errors.js';
import type { Segmenta } from '../app/segmenta.js';
import { body, requireRole } from './admin-routes.js';
import type { AppEnv as Env } from './env.js';
import { isoTimeMs } from './model-routes.js';

const FitBody = z.strictObject({
  kind: z.string().max(40),
  name: z.string().max(100),
  config: z.record(z.string(), z.unknown()).optional(),
  asOf: z.union([z.string().max(40), z.number().int().nonnegative()]).optional(),
});
const FairnessBody = z.strictObject({
  segment: z.string().max(100).optional(),
  model: z.string().max(100).optional(),
  threshold: z.number().finite().optional(),
  outcome: z.string().max(100).optional(),
  attributes: z.array(z.string().max(200)).max(50).optional(),
});
const GuardBody = z.strictObject({ noProtected: z.boolean() });
const ProtectedBody = z.strictObject({ keys: z.array(z.string().max(200)).max(200) });

export function mountMl(app: Hono<Env>, sg: Segmenta): void {
  const ws = (c: Context<Env>) => c.get('principal').workspaceId;
  const viewer = requireRole(sg, 'viewer');
  const editor = requireRole(sg, 'editor');

  app.get('/api/v1/ml/kinds', viewer, (c) => c.json({ kinds: ML_KINDS.map((kind) => ({ kind, traits: mlTraits(kind, '<name>') })) }));
  app.get('/api/v1/ml/models', viewer, async (c) => c.json({ models: await sg.ml.list(ws(c)) }));
  app.post('/api/v1/ml/models', editor, async (c) => {
    const b = await body(c, FitBody);
    let asOf: number | undefined;
    if (typeof b.asOf === 'string') {
      asOf = isoTimeMs(b.asOf);
      if (asOf === undefined) throw new InputError('bad_request', `asOf must be an ISO-8601 date or date-time, got '${b.asOf}'`);
    } else asOf = b.asOf;
    return c.json(await sg.ml.fit(ws(c), b.kind, b.name, b.config ?? {}, asOf !== undefined ? { asOf } : {}), 201);
  });
  app.get('/api/v1/ml/models/:name', viewer, async (c) => {
    const raw = c.req.query('version');
    const version = raw === undefined ? undefined : Number(raw);
    if (version !== undefined && !(Number.isInteger(version) && version >= 1)) throw new InputError('bad_request', `version must be a whole number from 1, got '${raw}'`);
    return c.json(await sg.ml.show(ws(c), c.req.param('name') ?? '', version));
  });
  app.get('/api/v1/ml/models/:name/versions', viewer, async (c) => c.json({ versions: await sg.ml.versions(ws(c), c.req.param('name') ?? '') }));
  app.get('/api/v1/ml/protected-traits', viewer, async (c) => c.json({ keys: await sg.ml.protectedTraits(ws(c)) }));
  app.post('/api/v1/ml/fairness', viewer, async (c) => {
    const b = await body(c, FairnessBody);
    return c.json(await sg.ml.fairness(ws(c), {
      ...(b.segment !== undefined ? { segment: b.segment } : {}), ...(b.model !== undefined ? { model: b.model } : {}), ...(b.threshold !== undefined ? { threshold: b.threshold } : {}),
      ...(b.outcome !== undefined ? { outcome: b.outcome } : {}), ...(b.attributes !== undefined ? { attributes: b.attributes } : {}),
    }));
  });
  app.get('/api/v1/ml/guarded-segments', viewer, async (c) => c.json({ keys: await sg.ml.guardedSegments(ws(c)) }));
  app.put('/api/v1/ml/guarded-segments/:key', editor, async (c) => c.json(await sg.ml.setSegmentGuard(ws(c), c.req.param('key') ?? '', (await body(c, GuardBody)).noProtected)));
  app.put('/api/v1/ml/protected-traits', editor, async (c) => c.json({ keys: await sg.ml.setProtectedTraits(ws(c), (await body(c, ProtectedBody)).keys) }));
}

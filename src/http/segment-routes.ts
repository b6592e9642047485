/**
 * Segments and computed traits over HTTP (Bearer token): list, create, edit (new version), archive,
 * versions, members (JSON, CSV or JSONL), sizes over time, guard, explain, estimate, check, overlap,
 * insights (how a segment differs from the base), membership changes since a cursor, recomputation.
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { InputError } from '../domain/errors.js';
import { DefinitionError } from '../domain/segments/check.js';
import { conditionFromText } from '../domain/segments/text.js';
import type { Segmenta } from '../app/segmenta.js';
import { body, requireRole } from './admin-routes.js';
import type { AppEnv as Env } from './env.js';

const Definition = z.object({
  condition: z.unknown().optional(),
  text: z.string().max(100_000).optional(),
});
const NewSegment = Definition.extend({ key: z.string().min(1).max(63), name: z.string().min(1).max(200).optional(), description: z.string().max(2000).optional() });
const EditSegment = Definition.extend({ name: z.string().min(1).max(200).optional(), description: z.string().max(2000).optional() });

/** The condition of a body: JSON form, or text form parsed here (diagnostics on failure). */
function conditionOf(b: { condition?: unknown; text?: string | undefined }, required: boolean): unknown {
  if (b.text !== undefined && b.condition !== undefined) throw new InputError('bad_request', 'send "condition" (JSON form) or "text" (text form), not both');
  if (b.text !== undefined) return conditionFromText(b.text);
  if (b.condition === undefined && required) throw new InputError('bad_request', 'send the definition as "condition" (JSON form) or "text" (text form)');
  return b.condition;
}

function intQuery(c: Context<Env>, name: string, dflt: number): number {
  const v = c.req.query(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InputError('bad_request', `query parameter ${name} must be a non-negative integer, got '${v}'`);
  return n;
}

function keyOf(c: Context<Env>): string {
  return c.req.param('key') ?? '';
}

export function mountSegments(app: Hono<Env>, sg: Segmenta): void {
  const ws = (c: Context<Env>) => c.get('principal').workspaceId;
  const viewer = requireRole(sg, 'viewer');
  const editor = requireRole(sg, 'editor');

  app.get('/api/v1/segments', viewer, async (c) => c.json({ segments: await sg.segments.list(ws(c), { includeArchived: c.req.query('archived') === 'true' }) }));
  app.post('/api/v1/segments', editor, async (c) => {
    const b = await body(c, NewSegment);
    const seg = await sg.segments.create(ws(c), { key: b.key, ...(b.name ? { name: b.name } : {}), ...(b.description ? { description: b.description } : {}), condition: conditionOf(b, true) });
    return c.json(seg, 201);
  });
  app.post('/api/v1/segments/check', viewer, async (c) => {
    const b = await body(c, Definition);
    try {
      const r = await sg.segments.check(ws(c), conditionOf(b, true));
      return c.json({ valid: r.condition !== undefined, condition: r.condition ?? null, diagnostics: r.diagnostics });
    } catch (err) {
      if (err instanceof DefinitionError) return c.json({ valid: false, condition: null, diagnostics: err.diagnostics });
      throw err;
    }
  });
  app.post('/api/v1/segments/estimate', viewer, async (c) => {
    const mode = c.req.query('mode') ?? 'both';
    if (mode !== 'sample' && mode !== 'exact' && mode !== 'both') throw new InputError('bad_request', `mode must be sample, exact or both, got '${mode}'`);
    return c.json(await sg.segments.estimate(ws(c), conditionOf(await body(c, Definition), true), mode));
  });
  app.post('/api/v1/segments/compute', editor, async (c) => c.json(await sg.segments.compute(ws(c))));
  app.get('/api/v1/segments/:key', viewer, async (c) => c.json(await sg.segments.get(ws(c), keyOf(c))));
  app.put('/api/v1/segments/:key', editor, async (c) => {
    const b = await body(c, EditSegment);
    const condition = conditionOf(b, false);
    return c.json(await sg.segments.update(ws(c), keyOf(c), { ...(b.name ? { name: b.name } : {}), ...(b.description ? { description: b.description } : {}), ...(condition !== undefined ? { condition } : {}) }));
  });
  app.delete('/api/v1/segments/:key', editor, async (c) => c.json(await sg.segments.archive(ws(c), keyOf(c))));
  app.get('/api/v1/segments/:key/versions', viewer, async (c) => c.json({ versions: await sg.segments.history(ws(c), keyOf(c)) }));
  app.get('/api/v1/segments/:key/sizes', viewer, async (c) => c.json({ sizes: await sg.segments.sizes(ws(c), keyOf(c)) }));
  app.get('/api/v1/segments/:key/insights', viewer, async (c) => {
    const asOf = c.req.query('asOf');
    const at = asOf === undefined ? undefined : Date.parse(asOf);
    if (at !== undefined && !Number.isFinite(at)) throw new InputError('bad_request', `query parameter asOf must be an ISO-8601 time, got '${asOf}'`);
    const confidence = c.req.query('confidence');
    return c.json(await sg.insights.segment(ws(c), keyOf(c), {
      ...(at !== undefined ? { asOf: at } : {}),
      ...(c.req.query('top') !== undefined ? { top: intQuery(c, 'top', 10) } : {}),
      ...(c.req.query('maxProfiles') !== undefined ? { maxProfiles: intQuery(c, 'maxProfiles', 0) } : {}),
      ...(confidence !== undefined ? { confidence: Number(confidence) } : {}),
    }));
  });
  app.get('/api/v1/segments/:key/guard', viewer, async (c) => {
    const num = (n: string) => (c.req.query(n) === undefined ? undefined : Number(c.req.query(n)));
    const opts = { baseline: num('baseline'), lift: num('lift'), holdout: num('holdout') };
    for (const [k, v] of Object.entries(opts)) if (v !== undefined && !(v > 0 && v < 1)) throw new InputError('bad_request', `${k} must be a fraction between 0 and 1`);
    return c.json(await sg.segments.guard(ws(c), keyOf(c), Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined))));
  });
  app.get('/api/v1/segments/:key/members', viewer, async (c) => {
    const key = keyOf(c);
    const format = c.req.query('format') ?? 'json';
    const limit = intQuery(c, 'limit', format === 'json' ? 100 : 10_000);
    const offset = intQuery(c, 'offset', 0);
    const members = await sg.segments.members(ws(c), key, limit, offset);
    const rows = members.map((m) => ({ profileId: m.profileId, enteredAt: new Date(m.enteredAt).toISOString(), version: m.version }));
    if (format === 'csv') return c.body(['profile_id,entered_at,version', ...rows.map((r) => `${r.profileId},${r.enteredAt},${r.version}`)].join('\n') + '\n', 200, { 'content-type': 'text/csv; charset=utf-8' });
    if (format === 'jsonl') return c.body(rows.map((r) => JSON.stringify(r)).join('\n') + '\n', 200, { 'content-type': 'application/x-ndjson' });
    if (format !== 'json') throw new InputError('bad_request', `format must be json, csv or jsonl, got '${format}'`);
    return c.json({ segment: key, limit, offset, members: rows });
  });
  app.get('/api/v1/segments/:key/explain/:ref', viewer, async (c) => c.json(await sg.segments.explain(ws(c), keyOf(c), (c.req.param('ref') ?? ''), (r) => sg.profiles.resolve(ws(c), r))));
  app.get('/api/v1/segment-overlap', viewer, async (c) => {
    const keys = (c.req.query('segments') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (keys.length < 1 || keys.length > 50) throw new InputError('bad_request', 'pass 1 to 50 segment keys as ?segments=a,b,c');
    return c.json({ matrix: await sg.segments.overlap(ws(c), keys) });
  });
  app.get('/api/v1/segment-changes', viewer, async (c) => {
    const seg = c.req.query('segment');
    return c.json(await sg.segments.changes(ws(c), intQuery(c, 'cursor', 0), intQuery(c, 'limit', 1000), seg));
  });
  const admin = requireRole(sg, 'admin');
  const NewWebhook = z.strictObject({ url: z.string().min(1).max(2000), segments: z.array(z.string().min(1).max(63)).max(100).optional() });
  app.get('/api/v1/webhooks', admin, async (c) => c.json({ webhooks: await sg.webhooks.list(ws(c)) }));
  app.post('/api/v1/webhooks', admin, async (c) => c.json(await sg.webhooks.create(ws(c), await body(c, NewWebhook)), 201));
  app.delete('/api/v1/webhooks/:id', admin, async (c) => {
    await sg.webhooks.remove(ws(c), c.req.param('id') ?? '');
    return c.json({ deleted: c.req.param('id') });
  });
  app.get('/api/v1/computed-traits', viewer, async (c) => c.json({ computedTraits: await sg.segments.computedTraits(ws(c)) }));
  app.post('/api/v1/computed-traits', editor, async (c) => c.json(await sg.segments.createComputedTrait(ws(c), await body(c, z.unknown())), 201));
}

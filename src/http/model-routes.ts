/**
 * The behavioural library over HTTP (Bearer token; docs/behavioural.md): the models, a run (editor:
 * it writes traits and creates ready segments), the run registry, and the movement between groups
 * from one date to another. Unknown models answer 404, a bad configuration 400 naming the field.
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { InputError } from '../domain/errors.js';
import { BEHAVIOURAL_MODELS, behaviouralModel } from '../domain/behavioural/index.js';
import { isCalendarDate } from '../domain/segments/ast.js';
import { isoUtc } from '../domain/segments/compile.js';
import type { Segmenta } from '../app/segmenta.js';
import { body, requireRole } from './admin-routes.js';
import type { AppEnv as Env } from './env.js';

/** An ISO-8601 time (a date alone is UTC midnight) or epoch milliseconds. */
const Time = z.union([z.string().max(40), z.number().int().nonnegative()]);
const RunBody = z.strictObject({ config: z.record(z.string(), z.unknown()).optional(), asOf: Time.optional() });

/** An ISO-8601 date (UTC midnight) or date-time (UTC unless it names a zone) as epoch ms; undefined if it is not one. */
export function isoTimeMs(s: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(s) || !isCalendarDate(s)) return undefined;
  const ms = Date.parse(isoUtc(s));
  return Number.isFinite(ms) ? ms : undefined;
}

function timeOf(name: string, v: string | number | undefined): number | undefined {
  if (v === undefined || typeof v === 'number') return v;
  const ms = isoTimeMs(v);
  if (ms === undefined) throw new InputError('bad_request', `${name} must be an ISO-8601 date or date-time (e.g. 2026-10-31 or 2026-10-31T12:00:00Z), got '${v}'`);
  return ms;
}

function modelOf(c: Context<Env>): string {
  const id = c.req.param('id') ?? '';
  if (!behaviouralModel(id)) throw new InputError('not_found', `no behavioural model '${id}' (models: ${BEHAVIOURAL_MODELS.map((m) => m.id).join(', ')})`);
  return id;
}

export interface ModelCatalogueEntry {
  id: string;
  name: string;
  description: string;
  groupTrait: string;
  /** The groups in display order under the default configuration (one ready segment each). */
  groups: string[];
  traits: Array<{ key: string; description: string }>;
  /** The default configuration (what a run uses for every field not given). */
  defaults: unknown;
}

/** The models with their traits, groups and default configuration (also `segmenta models list --json`; needs no database). */
export function modelCatalogue(): ModelCatalogueEntry[] {
  return BEHAVIOURAL_MODELS.map((m) => {
    const defaults = m.config.safeParse({});
    return {
      id: m.id, name: m.name, description: m.description, groupTrait: m.groupTrait,
      groups: defaults.success ? m.groups(defaults.data) : [], traits: m.traits, defaults: defaults.success ? defaults.data : null,
    };
  });
}

export function mountModels(app: Hono<Env>, sg: Segmenta): void {
  const ws = (c: Context<Env>) => c.get('principal').workspaceId;
  const viewer = requireRole(sg, 'viewer');
  const editor = requireRole(sg, 'editor');

  app.get('/api/v1/models', viewer, (c) => c.json({ models: modelCatalogue() }));
  app.get('/api/v1/models/:id', viewer, async (c) => {
    const id = modelOf(c);
    const lastRun = (await sg.behavioural.runs(ws(c), id, 1))[0] ?? null;
    return c.json({ model: modelCatalogue().find((m) => m.id === id), lastRun });
  });
  app.post('/api/v1/models/:id/run', editor, async (c) => {
    const id = modelOf(c);
    const b = await body(c, RunBody);
    const asOf = timeOf('asOf', b.asOf);
    return c.json(await sg.behavioural.run(ws(c), id, { ...(b.config !== undefined ? { config: b.config } : {}), ...(asOf !== undefined ? { asOf } : {}) }), 201);
  });
  app.get('/api/v1/models/:id/runs', viewer, async (c) => {
    const id = modelOf(c);
    const raw = c.req.query('limit') ?? '20';
    const limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InputError('bad_request', `limit must be a whole number from 1 to 1000, got '${raw}'`);
    return c.json({ runs: await sg.behavioural.runs(ws(c), id, limit) });
  });
  app.get('/api/v1/models/:id/movement', viewer, async (c) => {
    const id = modelOf(c);
    const from = timeOf('from', c.req.query('from'));
    const to = timeOf('to', c.req.query('to'));
    if (from === undefined || to === undefined) throw new InputError('bad_request', 'pass the two times as ?from=<ISO date>&to=<ISO date>');
    const rawConfig = c.req.query('config');
    let config: unknown;
    if (rawConfig !== undefined) {
      try {
        config = JSON.parse(rawConfig);
      } catch {
        throw new InputError('bad_request', 'config must be JSON (URL-encoded)');
      }
    }
    return c.json(await sg.behavioural.movement(ws(c), id, from, to, config));
  });
}

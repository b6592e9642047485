/**
 * The Segment HTTP tracking API, exactly (REFERENCES.md §Segment contract):
 * `/v1/{identify,track,page,screen,group,alias,batch,import}` and `/v1/{i,t,p,s,g,a,b}`, write key as
 * Basic username, in the body, or both; JSON or text/plain; gzip; 32 KB per message, 500 KB per batch.
 * A handler validates, calls the ingest service, and answers; it never touches storage itself.
 */
import type { Context, Hono } from 'hono';
import { InputError, isPlainObject } from '../domain/errors.js';
import { MAX_BATCH_BYTES, MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES } from '../domain/limits.js';
import { MESSAGE_TYPES, SHORT_PATHS, parseEnvelope, type MessageType } from '../domain/segment-message.js';
import type { Segmenta } from '../app/segmenta.js';
import { BackpressureError } from '../services/ingest.js';
import { decodeBody, parseJsonBody } from './body.js';
import type { AppEnv } from './env.js';
import { errorBody } from './errors.js';

type Kind = MessageType | 'batch' | 'import';

function kindOf(segment: string): Kind | undefined {
  if ((MESSAGE_TYPES as readonly string[]).includes(segment)) return segment as MessageType;
  if (segment === 'batch' || segment === 'import') return segment;
  return SHORT_PATHS[segment];
}

/** The write key from `Authorization: Basic base64(key:)`, if present. */
export function basicUser(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m || m[1] === undefined) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const user = decoded.split(':')[0];
  return user ? user : undefined;
}

export function mountTracking(app: Hono<AppEnv>, sg: Segmenta): void {
  app.post('/v1/:kind', async (c) => {
    const kind = kindOf(c.req.param('kind') ?? '');
    if (!kind) return c.json(errorBody('not_found', `unknown tracking path /v1/${c.req.param('kind')}`), 404);
    try {
      return await handle(c, sg, kind);
    } catch (err) {
      if (err instanceof InputError) return c.json(errorBody(err.code, err.message), 400);
      if (err instanceof BackpressureError) {
        c.header('Retry-After', String(err.retryAfterSeconds));
        return c.json(errorBody('rate_limited', err.message), 429);
      }
      throw err;
    }
  });
}

async function handle(c: Context<AppEnv>, sg: Segmenta, kind: Kind): Promise<Response> {
  const isBatch = kind === 'batch' || kind === 'import';
  const limit = isBatch ? MAX_BATCH_BYTES : MAX_MESSAGE_BYTES;
  const declared = Number(c.req.header('content-length') ?? '0');
  const encoding = c.req.header('content-encoding');
  if (!encoding && declared > limit) throw new InputError('too_large', `the body is ${declared} bytes; the limit here is ${limit} bytes`);
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const text = decodeBody(raw, encoding, limit);
  const body = parseJsonBody(text);
  if (!isPlainObject(body)) throw new InputError('wrong_type', 'the body must be a JSON object');

  const headerKey = basicUser(c.req.header('authorization'));
  const bodyKey = typeof body['writeKey'] === 'string' ? body['writeKey'] : undefined;
  const writeKey = headerKey ?? bodyKey;
  if (!writeKey) {
    return c.json(errorBody('unauthorized', 'no write key: send it as the Basic auth user name or as "writeKey" in the body'), 401);
  }
  const principal = await sg.workspaces.authenticate(writeKey);
  if (!principal || principal.kind !== 'write_key') return c.json(errorBody('unauthorized', 'the write key is not valid'), 401);

  let result;
  if (isBatch) {
    const env = parseEnvelope(body);
    if (env.batch.length > MAX_BATCH_MESSAGES) throw new InputError('too_many', `a batch holds at most ${MAX_BATCH_MESSAGES} messages, got ${env.batch.length}`, 'batch');
    if (env.batch.length === 0) throw new InputError('empty_batch', 'the batch is empty', 'batch');
    // A message can only exceed 32 KB when the whole body does.
    if (text.length > MAX_MESSAGE_BYTES) {
      env.batch.forEach((m, i) => {
        const size = Buffer.byteLength(JSON.stringify(m) ?? '', 'utf8');
        if (size > MAX_MESSAGE_BYTES) throw new InputError('too_large', `message is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes`, `batch[${i}]`);
      });
    }
    result = await sg.ingest.submit(principal.workspaceId, env.batch, { source: kind === 'import' ? 'api:import' : 'api', mode: 'atomic', envelope: env });
  } else {
    result = await sg.ingest.submit(principal.workspaceId, [body], { source: 'api', mode: 'atomic', forcedType: kind });
  }
  return c.json({ success: true, accepted: result.accepted, duplicates: result.duplicates });
}

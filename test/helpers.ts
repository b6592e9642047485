/** Test helpers: a fresh in-memory segmenta with a workspace, and request builders. */
import { Segmenta } from '../src/app/segmenta.js';
import type { IngestConfig } from '../src/services/ingest.js';
import { createHttpApp } from '../src/http/app.js';
import type { CreatedWorkspace } from '../src/services/workspaces.js';

export interface TestApp {
  sg: Segmenta;
  ws: CreatedWorkspace;
  app: ReturnType<typeof createHttpApp>;
  close(): Promise<void>;
}

export async function openTestApp(ingest?: Partial<IngestConfig>, dataDir = ':memory:'): Promise<TestApp> {
  const sg = await Segmenta.open({ dataDir, threads: 1, ...(ingest ? { ingest } : {}) });
  const ws = await sg.workspaces.create('test');
  return { sg, ws, app: createHttpApp(sg), close: () => sg.close() };
}

export function basic(writeKey: string): string {
  return 'Basic ' + Buffer.from(`${writeKey}:`).toString('base64');
}

/** An API call with a Bearer token (or none) and a JSON body; the answer's status and JSON. */
export async function apiCall(t: TestApp, method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export function postJson(t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(t.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(t.ws.writeKey), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }));
}

export async function countEvents(t: TestApp, where = 'true', params: (string | number)[] = []): Promise<number> {
  const stats = await t.sg.store.workspaceStats(t.ws.workspace);
  if (where === 'true' && params.length === 0) return stats.events;
  throw new Error('use store queries for filtered counts');
}

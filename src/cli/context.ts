/** Shared CLI plumbing: where the data lives, opening segmenta, choosing a workspace, errors and exit codes. */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Segmenta } from '../app/segmenta.js';
import { InputError } from '../domain/errors.js';
import { NotFoundError } from '../services/profiles.js';

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, busy: 4 } as const;

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.failure) {
    super(message);
    this.name = 'CliError';
  }
}

export interface GlobalOptions {
  data?: string;
  json?: boolean;
}

export function dataDir(opts: GlobalOptions): string {
  return resolve(opts.data ?? process.env['SEGMENTA_DATA'] ?? 'segmenta-data');
}

export function portOf(value: string | undefined): number {
  const raw = value ?? process.env['SEGMENTA_PORT'] ?? '8080';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a whole number from 0 to 65535, got '${raw}'`, EXIT.usage);
  return port;
}

/**
 * DuckDB threads: `SEGMENTA_THREADS`, else for a server one core fewer than the machine has (at least
 * one), else DuckDB's default (every core). A server's background recomputation then leaves a core to
 * ingestion and instant segment decisions: at 1M profiles on 2 cores this took the commit
 * acknowledgement p50 from 2.7 s to 0.14 s under steady ingest (docs/benchmarks.md).
 */
export function engineThreads(serving: boolean): number | undefined {
  const raw = process.env['SEGMENTA_THREADS'];
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new CliError(`SEGMENTA_THREADS must be a whole number from 1 to 1024, got '${raw}'`, EXIT.usage);
    return n;
  }
  return serving ? Math.max(1, availableParallelism() - 1) : undefined;
}

/** DuckDB memory limit: `SEGMENTA_MEMORY_LIMIT` (e.g. 4GB), else DuckDB's default. */
export function engineMemoryLimit(): string | undefined {
  const raw = process.env['SEGMENTA_MEMORY_LIMIT'];
  if (raw === undefined || raw === '') return undefined;
  if (!/^[0-9]+(\.[0-9]+)? ?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(raw)) throw new CliError(`SEGMENTA_MEMORY_LIMIT must be a size like 4GB or 512MB, got '${raw}'`, EXIT.usage);
  return raw;
}

export async function openSegmenta(opts: GlobalOptions, serving = false): Promise<Segmenta> {
  const threads = engineThreads(serving);
  const memoryLimit = engineMemoryLimit();
  try {
    return await Segmenta.open({ dataDir: dataDir(opts), ...(threads ? { threads } : {}), ...(memoryLimit ? { memoryLimit } : {}) });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new CliError(msg, /in use by another/.test(msg) ? EXIT.busy : EXIT.failure);
  }
}

/** Open segmenta for one command and close it afterwards, whatever happens. */
export async function withSegmenta<T>(opts: GlobalOptions, fn: (sg: Segmenta) => Promise<T>): Promise<T> {
  const sg = await openSegmenta(opts);
  try {
    return await fn(sg);
  } finally {
    await sg.close();
  }
}

/** The workspace a command works on: the one named, or the only one there is. */
export async function chooseWorkspace(sg: Segmenta, wanted: string | undefined): Promise<string> {
  const all = await sg.workspaces.list();
  if (wanted) {
    const hit = all.find((w) => w.id === wanted || w.name === wanted);
    if (!hit) throw new CliError(`no workspace '${wanted}' (have: ${all.map((w) => `${w.name} (${w.id})`).join(', ') || 'none'})`, EXIT.notFound);
    return hit.id;
  }
  if (all.length === 1 && all[0]) return all[0].id;
  if (all.length === 0) throw new CliError('there is no workspace yet: run `segmenta init` (or `segmenta demo`) first', EXIT.notFound);
  throw new CliError(`there are ${all.length} workspaces; choose one with --workspace (${all.map((w) => w.name).join(', ')})`, EXIT.usage);
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof InputError) return err.code === 'not_found' ? EXIT.notFound : EXIT.usage;
  if (err instanceof NotFoundError) return EXIT.notFound;
  return EXIT.failure;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Resolves on SIGINT or SIGTERM (a server's normal way to stop). */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/**
 * Streaming readers for import files: CSV / TSV (csv-parse), JSON lines, whitespace-separated logs and
 * Parquet (hyparquet, pure JavaScript). Gzip is detected by its magic bytes. Every reader yields one
 * record at a time with its 1-based row number, and reports progress in bytes read of the file on disk.
 */
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';

export type FileFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet' | 'whitespace';

export type RawRecord = Record<string, unknown>;

export type ReadItem = { row: number; record: RawRecord } | { row: number; error: string };

export interface ReaderOptions {
  delimiter?: string;
  /** Column names for files without a header (whitespace logs). */
  columns?: string[];
  onBytes?: (bytesRead: number) => void;
}

export function guessFormat(path: string): FileFormat {
  const p = path.toLowerCase().replace(/\.(gz|gzip)$/, '');
  if (p.endsWith('.tsv') || p.endsWith('.tab')) return 'tsv';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson') || p.endsWith('.json')) return 'jsonl';
  if (p.endsWith('.parquet') || p.endsWith('.pq')) return 'parquet';
  if (p.endsWith('.txt') || p.endsWith('.log') || p.endsWith('.dat')) return 'whitespace';
  return 'csv';
}

export function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    return readSync(fd, buf, 0, 2, 0) === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The file as a text stream (gunzipped when needed), counting bytes read from disk. */
function openText(path: string, onBytes?: (n: number) => void): Readable {
  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      read += chunk.length;
      onBytes?.(read);
      cb(null, chunk);
    },
  });
  const raw = createReadStream(path).pipe(counter);
  return isGzip(path) ? raw.pipe(createGunzip()) : raw;
}

export function fileSize(path: string): number {
  return statSync(path).size;
}

async function* csvRecords(path: string, delimiter: string, opts: ReaderOptions): AsyncGenerator<ReadItem> {
  const parser = openText(path, opts.onBytes).pipe(parse({
    columns: (header: string[]) => header.map((h) => h.trim()),
    bom: true,
    delimiter,
    relax_column_count: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
  }));
  for await (const item of parser as AsyncIterable<{ record: RawRecord; info: { lines: number } }>) {
    yield { row: item.info.lines, record: item.record };
  }
}

async function* jsonlRecords(path: string, opts: ReaderOptions): AsyncGenerator<ReadItem> {
  const rl = createInterface({ input: openText(path, opts.onBytes), crlfDelay: Infinity });
  let row = 0;
  for await (const line of rl) {
    row++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      yield { row, error: `not valid JSON (${err instanceof Error ? err.message.slice(0, 80) : 'syntax error'})` };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { row, error: 'a line must hold a JSON object' };
      continue;
    }
    yield { row, record: value as RawRecord };
  }
}

async function* whitespaceRecords(path: string, opts: ReaderOptions): AsyncGenerator<ReadItem> {
  const rl = createInterface({ input: openText(path, opts.onBytes), crlfDelay: Infinity });
  let row = 0;
  let columns = opts.columns;
  for await (const line of rl) {
    row++;
    const parts = line.trim().split(/\s+/).filter((p) => p !== '');
    if (parts.length === 0) continue;
    // A first line of names (no digits in its first field) is a header.
    if (row === 1 && !/\d/.test(parts[0] ?? '')) {
      if (!columns) columns = parts;
      continue;
    }
    if (!columns) {
      yield { row, error: 'a whitespace-separated file needs column names (a header line, a preset, or --map)' };
      return;
    }
    if (parts.length < columns.length) {
      yield { row, error: `expected ${columns.length} fields (${columns.join(' ')}), found ${parts.length}` };
      continue;
    }
    // Extra fields (e.g. a sample id) are kept under their position so nothing is lost silently.
    const record: RawRecord = {};
    const offset = parts.length - columns.length;
    columns.forEach((c, k) => (record[c] = parts[k + offset]));
    for (let k = 0; k < offset; k++) record[`field${k + 1}`] = parts[k];
    yield { row, record };
  }
}

async function* parquetRecords(path: string, opts: ReaderOptions): AsyncGenerator<ReadItem> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const total = Number(metadata.num_rows);
  const size = fileSize(path);
  let row = 0;
  // Row groups one after another keep memory to one group.
  for (const group of metadata.row_groups) {
    const n = Number(group.num_rows);
    const rows = await parquetReadObjects({ file, metadata, rowStart: row, rowEnd: row + n });
    for (const record of rows) {
      row++;
      yield { row, record: normalizeParquetValues(record) };
    }
    opts.onBytes?.(Math.round((row / Math.max(total, 1)) * size));
  }
}

/** Parquet gives BigInt for INT64 and Date for timestamps: make them plain JSON-able values. */
function normalizeParquetValues(record: RawRecord): RawRecord {
  const out: RawRecord = {};
  for (const [k, v] of Object.entries(record)) {
    if (typeof v === 'bigint') out[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (v instanceof Date) out[k] = v.toISOString();
    else out[k] = v;
  }
  return out;
}

export function readRecords(path: string, format: FileFormat, opts: ReaderOptions = {}): AsyncGenerator<ReadItem> {
  switch (format) {
    case 'csv': return csvRecords(path, opts.delimiter ?? ',', opts);
    case 'tsv': return csvRecords(path, opts.delimiter ?? '\t', opts);
    case 'jsonl': return jsonlRecords(path, opts);
    case 'whitespace': return whitespaceRecords(path, opts);
    case 'parquet': return parquetRecords(path, opts);
  }
}

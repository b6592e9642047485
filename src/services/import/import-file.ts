/**
 * File import: rows of events, orders (with line items) or customers become Segment messages that go
 * through the same ingestion as the tracking API (validation, identity resolution, group commit).
 * Message ids are derived from the rows' natural keys, so importing the same file again stores nothing
 * new (the ingest service reports the duplicates). Streamed: memory holds one chunk of messages, plus,
 * for orders built from invoice lines, one small aggregate per order until the end of the file.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../../domain/errors.js';
import { MESSAGE_TYPES } from '../../domain/segment-message.js';
import { idText, mappedColumns, numberOf, parseDate, text, typed, type ColumnMapping } from './mapping.js';
import { PRESETS, type Preset } from './presets.js';
import { fileSize, guessFormat, readRecords, type FileFormat, type RawRecord } from './readers.js';

export { parseMappingSpec, type ColumnMapping } from './mapping.js';
export type { FileFormat } from './readers.js';

export type ImportKind = 'events' | 'orders' | 'customers';

export interface ImportOptions {
  path: string;
  kind: ImportKind;
  format?: FileFormat;
  mapping?: ColumnMapping;
  preset?: string;
  delimiter?: string;
  source?: string;
  dateFormat?: string;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; code: string; reason: string }>;
}
export type MessageSink = (messages: Record<string, unknown>[]) => Promise<IngestResult>;

export interface ImportProgress {
  bytesRead: number;
  bytesTotal: number;
  rows: number;
}

export interface ImportReport {
  file: string;
  kind: ImportKind;
  format: FileFormat;
  preset: string | null;
  rowsRead: number;
  messages: number;
  imported: number;
  duplicates: number;
  rejectedRows: number;
  skippedRows: number;
  rejections: Array<{ row: number; reason: string }>;
  rejectionCounts: Record<string, number>;
  skippedCounts: Record<string, number>;
  seconds: number;
}

const CHUNK = 1000;
const MAX_REJECTIONS_KEPT = 100;

function sha1(value: string): string {
  return createHash('sha1').update(value, 'utf8').digest('hex');
}

/** Common column names recognised when no mapping is given. */
const AUTO: Record<string, string[]> = {
  userId: ['userid', 'user_id', 'customerid', 'customer_id', 'customer', 'user'],
  anonymousId: ['anonymousid', 'anonymous_id', 'anon_id'],
  email: ['email', 'e-mail', 'email_address'],
  event: ['event', 'event_name', 'eventname', 'action'],
  type: ['type', 'message_type'],
  timestamp: ['timestamp', 'time', 'event_time', 'occurred_at', 'created_at', 'date', 'datetime', 'order_date', 'invoicedate'],
  messageId: ['messageid', 'message_id', 'event_id'],
  orderId: ['orderid', 'order_id', 'order', 'invoice', 'invoiceno', 'invoice_no'],
  productId: ['productid', 'product_id', 'sku', 'stockcode', 'stock_code'],
  productName: ['product_name', 'productname', 'description', 'name'],
  category: ['category', 'product_category'],
  brand: ['brand'],
  quantity: ['quantity', 'qty'],
  price: ['price', 'unit_price', 'unitprice'],
  total: ['total', 'amount', 'revenue', 'order_total'],
  currency: ['currency'],
  country: ['country'],
};

/** Fields recognised automatically per kind; the other columns stay properties (events) or traits (customers). */
const AUTO_FIELDS: Record<ImportKind, readonly string[]> = {
  events: ['userId', 'anonymousId', 'event', 'type', 'timestamp', 'messageId'],
  customers: ['userId', 'anonymousId', 'email', 'timestamp'],
  orders: ['userId', 'anonymousId', 'timestamp', 'orderId', 'productId', 'productName', 'category', 'brand', 'quantity', 'price', 'total', 'currency', 'country'],
};

function autoMapping(record: RawRecord, kind: ImportKind): ColumnMapping {
  const lower = new Map(Object.keys(record).map((k) => [k.toLowerCase().trim(), k]));
  const m: Record<string, string> = {};
  for (const [field, names] of Object.entries(AUTO)) {
    if (!AUTO_FIELDS[kind].includes(field)) continue;
    for (const n of names) {
      const col = lower.get(n);
      if (col !== undefined && !Object.values(m).includes(col)) {
        m[field] = col;
        break;
      }
    }
  }
  return m as ColumnMapping;
}

class Report {
  rowsRead = 0;
  messages = 0;
  imported = 0;
  duplicates = 0;
  rejectedRows = 0;
  skippedRows = 0;
  rejections: Array<{ row: number; reason: string }> = [];
  rejectionCounts: Record<string, number> = {};
  skippedCounts: Record<string, number> = {};

  reject(row: number, reason: string): void {
    this.rejectedRows++;
    const key = reason.replace(/'[^']*'/g, "'…'").slice(0, 120);
    this.rejectionCounts[key] = (this.rejectionCounts[key] ?? 0) + 1;
    if (this.rejections.length < MAX_REJECTIONS_KEPT) this.rejections.push({ row, reason });
  }

  skip(reason: string): void {
    this.skippedRows++;
    this.skippedCounts[reason] = (this.skippedCounts[reason] ?? 0) + 1;
  }
}

/** Sends messages in chunks, remembering each message's source row to report rejections by row. */
class Batcher {
  private messages: Record<string, unknown>[] = [];
  private rows: number[] = [];
  constructor(private readonly sink: MessageSink, private readonly report: Report) {}

  async add(message: Record<string, unknown>, row: number): Promise<void> {
    this.messages.push(message);
    this.rows.push(row);
    this.report.messages++;
    if (this.messages.length >= CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.messages.length === 0) return;
    const messages = this.messages;
    const rows = this.rows;
    this.messages = [];
    this.rows = [];
    const res = await this.sink(messages);
    this.report.imported += res.accepted;
    this.report.duplicates += res.duplicates;
    for (const r of res.rejected) this.report.reject(rows[r.index] ?? 0, r.reason);
  }
}

interface OrderAgg {
  row: number;
  userId: string;
  orderId: string;
  at: number;
  cancelled: boolean;
  currency: string | undefined;
  country: string | undefined;
  products: Array<Record<string, unknown>>;
  total: number;
}

export async function importFile(opts: ImportOptions, sink: MessageSink, onProgress?: (p: ImportProgress) => void): Promise<ImportReport> {
  const t0 = Date.now();
  let preset: Preset | undefined;
  if (opts.preset !== undefined) {
    preset = PRESETS[opts.preset];
    if (!preset) throw new InputError('unknown_preset', `no preset '${opts.preset}' (have: ${Object.keys(PRESETS).join(', ')})`);
    if (preset.kind !== opts.kind) throw new InputError('preset_kind', `preset '${preset.name}' imports ${preset.kind}, not ${opts.kind}`);
  }
  const format = opts.format ?? preset?.format ?? guessFormat(opts.path);
  const dateFormat = opts.dateFormat ?? preset?.dateFormat;
  const bytesTotal = fileSize(opts.path);
  const report = new Report();
  const batcher = new Batcher(sink, report);
  const source = opts.source ?? `file:${basename(opts.path)}`;
  const fileTime = statSync(opts.path).mtimeMs;
  let bytesRead = 0;
  let lastProgress = 0;
  const progress = (force = false) => {
    const now = Date.now();
    if (!onProgress || (!force && now - lastProgress < 200)) return;
    lastProgress = now;
    onProgress({ bytesRead, bytesTotal, rows: report.rowsRead });
  };

  let mapping: ColumnMapping | undefined = preset || opts.mapping ? { ...preset?.mapping, ...opts.mapping } : undefined;
  let unmapped: (record: RawRecord) => Record<string, unknown> = () => ({});
  const orders = new Map<string, OrderAgg>();
  const customersSeen = new Set<string>();
  const sameDay = new Map<string, number>();

  const readerOpts = {
    ...(opts.delimiter !== undefined ? { delimiter: opts.delimiter } : {}),
    ...(preset?.columns ? { columns: preset.columns } : {}),
    onBytes: (n: number) => {
      bytesRead = n;
      progress();
    },
  };
  for await (const item of readRecords(opts.path, format, readerOpts)) {
    report.rowsRead++;
    if ('error' in item) {
      report.reject(item.row, item.error);
      continue;
    }
    const rec = item.record;
    if (!mapping) {
      mapping = autoMapping(rec, opts.kind);
      checkMapping(mapping, opts.kind, Object.keys(rec));
    }
    if (report.rowsRead === 1) {
      const used = mappedColumns(mapping);
      const explicit = opts.kind === 'customers' ? mapping.traits : mapping.properties;
      unmapped = (r) => {
        const out: Record<string, unknown> = {};
        if (explicit) {
          for (const [name, col] of Object.entries(explicit)) out[name] = typed(r[col]);
        } else {
          for (const [k, v] of Object.entries(r)) if (!used.has(k) && k !== '') out[k] = typed(v);
        }
        return out;
      };
    }
    const m = mapping;
    const row = item.row;
    const userId = m.userId ? idText(rec[m.userId]) : undefined;
    const anonymousId = m.anonymousId ? idText(rec[m.anonymousId]) : undefined;
    const tsRaw = m.timestamp ? rec[m.timestamp] : undefined;
    const at = tsRaw === undefined ? undefined : parseDate(tsRaw, dateFormat);
    if (tsRaw !== undefined && text(tsRaw) !== undefined && at === undefined) {
      report.reject(row, `cannot read the date '${String(tsRaw).slice(0, 40)}' in column ${m.timestamp}${dateFormat ? ` as ${dateFormat}` : ''}`);
      continue;
    }

    if (opts.kind === 'events') {
      if (!userId && !anonymousId) {
        report.reject(row, 'no user id and no anonymous id');
        continue;
      }
      const typeRaw = m.type ? text(rec[m.type])?.toLowerCase() : undefined;
      const type = typeRaw && (MESSAGE_TYPES as readonly string[]).includes(typeRaw) ? typeRaw : 'track';
      const event = m.event ? text(rec[m.event]) : undefined;
      const properties = unmapped(rec);
      const msg: Record<string, unknown> = { type, ...(userId ? { userId } : {}), ...(anonymousId ? { anonymousId } : {}) };
      if (type === 'track') msg['event'] = event;
      else if (event !== undefined) msg['name'] = event;
      if (type === 'identify' || type === 'group') msg['traits'] = properties;
      else msg['properties'] = properties;
      if (at !== undefined) msg['timestamp'] = new Date(at).toISOString();
      const given = m.messageId ? text(rec[m.messageId]) : undefined;
      msg['messageId'] = given ?? `imp-e-${sha1(JSON.stringify([userId, anonymousId, type, event, at, properties]))}`;
      await batcher.add(msg, row);
    } else if (opts.kind === 'customers') {
      const email = m.email ? text(rec[m.email]) : undefined;
      if (!userId && !email && !anonymousId) {
        report.reject(row, 'no user id, email or anonymous id');
        continue;
      }
      const traits = unmapped(rec);
      if (email) traits['email'] = email;
      const msg: Record<string, unknown> = {
        type: 'identify', ...(userId ? { userId } : {}), ...(anonymousId ? { anonymousId } : !userId ? { anonymousId: `email:${email}` } : {}),
        traits, timestamp: new Date(at ?? fileTime).toISOString(),
      };
      msg['messageId'] = `imp-c-${sha1(JSON.stringify([userId, email, traits]))}`;
      await batcher.add(msg, row);
    } else {
      // orders
      if (!userId && !anonymousId) {
        report.skip('no customer id (cannot be attributed to a profile)');
        continue;
      }
      const who = userId ?? anonymousId ?? '';
      const country = m.country ? text(rec[m.country]) : undefined;
      if (m.country && country && !customersSeen.has(who)) {
        customersSeen.add(who);
        await batcher.add({
          type: 'identify', ...(userId ? { userId } : { anonymousId }), traits: { country },
          timestamp: new Date(at ?? fileTime).toISOString(), messageId: `imp-oc-${sha1(`${who}|${country}`)}`,
        }, row);
      }
      const quantity = m.quantity ? numberOf(rec[m.quantity]) : undefined;
      const price = m.price ? numberOf(rec[m.price]) : undefined;
      const total = m.total ? numberOf(rec[m.total]) : undefined;
      const currency = m.currency ? text(rec[m.currency]) : undefined;
      // One order per row: the log presets, or an amount column without line prices.
      if (preset?.linePerOrder || (m.total !== undefined && m.price === undefined)) {
        if (total === undefined) {
          report.reject(row, `no amount in column ${m.total ?? '(unmapped)'}`);
          continue;
        }
        const day = at === undefined ? 'undated' : new Date(at).toISOString().slice(0, 10);
        const key = `${who}|${day}`;
        const n = (sameDay.get(key) ?? 0) + 1;
        sameDay.set(key, n);
        const orderId = m.orderId ? idText(rec[m.orderId]) ?? `${who}-${day}-${n}` : `${who}-${day}-${n}`;
        await batcher.add({
          type: 'track', event: 'Order Completed', ...(userId ? { userId } : { anonymousId }),
          properties: { order_id: orderId, total, revenue: total, ...(quantity !== undefined ? { quantity } : {}), ...(currency ? { currency } : {}) },
          ...(at !== undefined ? { timestamp: new Date(at).toISOString() } : {}),
          messageId: `imp-o-${sha1(`${who}|${orderId}`)}`,
        }, row);
        continue;
      }
      const orderId = m.orderId ? idText(rec[m.orderId]) : undefined;
      if (!orderId) {
        report.reject(row, `no order id in column ${m.orderId ?? '(unmapped)'}`);
        continue;
      }
      if (quantity === undefined || price === undefined) {
        report.reject(row, `quantity and price must be numbers (got '${String(m.quantity ? rec[m.quantity] : '')}', '${String(m.price ? rec[m.price] : '')}')`);
        continue;
      }
      const cancelled = preset?.cancellationPrefix !== undefined && orderId.startsWith(preset.cancellationPrefix);
      if (!cancelled && (quantity <= 0 || price <= 0)) {
        report.skip('quantity or price not positive outside a cancellation (stock adjustment)');
        continue;
      }
      const key = `${who}|${orderId}`;
      let agg = orders.get(key);
      if (!agg) {
        agg = { row, userId: who, orderId, at: at ?? fileTime, cancelled, currency, country, products: [], total: 0 };
        orders.set(key, agg);
      }
      if (at !== undefined && at < agg.at) agg.at = at;
      const q = Math.abs(quantity);
      const item: Record<string, unknown> = { product_id: m.productId ? idText(rec[m.productId]) ?? null : null, quantity: q, price };
      if (m.productName) item['name'] = text(rec[m.productName]) ?? null;
      if (m.category) item['category'] = text(rec[m.category]) ?? null;
      if (m.brand) item['brand'] = text(rec[m.brand]) ?? null;
      agg.products.push(item);
      agg.total += q * price;
    }
    progress();
  }

  // Orders assembled from lines: one message each, in file order of their first line.
  for (const o of orders.values()) {
    const total = Math.round(o.total * 100) / 100;
    const isUser = mapping?.userId !== undefined;
    await batcher.add({
      type: 'track', event: o.cancelled ? 'Order Refunded' : 'Order Completed', ...(isUser ? { userId: o.userId } : { anonymousId: o.userId }),
      timestamp: new Date(o.at).toISOString(),
      properties: {
        order_id: o.orderId, total, ...(o.cancelled ? { reason: 'cancellation' } : { revenue: total }), products: o.products,
        ...(o.currency ? { currency: o.currency } : {}), ...(o.country ? { country: o.country } : {}),
      },
      messageId: `imp-o-${sha1(`${o.userId}|${o.orderId}`)}`,
    }, o.row);
  }
  await batcher.flush();
  bytesRead = bytesTotal;
  progress(true);
  return {
    file: opts.path, kind: opts.kind, format, preset: preset?.name ?? null, rowsRead: report.rowsRead, messages: report.messages,
    imported: report.imported, duplicates: report.duplicates, rejectedRows: report.rejectedRows, skippedRows: report.skippedRows,
    rejections: report.rejections, rejectionCounts: report.rejectionCounts, skippedCounts: report.skippedCounts,
    seconds: (Date.now() - t0) / 1000,
  };
}

function checkMapping(m: ColumnMapping, kind: ImportKind, columns: string[]): void {
  const have = columns.join(', ');
  if (kind === 'events' && !m.event && !m.type) throw new InputError('bad_mapping', `cannot tell which column is the event name (columns: ${have}); use --map event=<column>`);
  if (kind !== 'customers' && !m.userId && !m.anonymousId) throw new InputError('bad_mapping', `cannot tell which column identifies the customer (columns: ${have}); use --map userId=<column>`);
  if (kind === 'customers' && !m.userId && !m.email) throw new InputError('bad_mapping', `cannot tell which column identifies the customer (columns: ${have}); use --map userId=<column> or email=<column>`);
  if (kind === 'orders' && !m.orderId && !m.total) throw new InputError('bad_mapping', `orders need an order id column (line items) or an amount column (one order per row) (columns: ${have})`);
}

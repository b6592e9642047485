/**
 * Column mappings: which source column feeds which field of the messages an import produces, and how
 * values (dates, numbers, ids) are read. A mapping is given by a preset or by `--map` as
 * `field=Column,field=Column` (for example `userId=CustomerID,orderId=InvoiceNo,properties.size=Size`).
 */
import { InputError } from '../../domain/errors.js';

export interface ColumnMapping {
  userId?: string;
  anonymousId?: string;
  email?: string;
  event?: string;
  type?: string;
  timestamp?: string;
  messageId?: string;
  orderId?: string;
  productId?: string;
  productName?: string;
  category?: string;
  brand?: string;
  quantity?: string;
  price?: string;
  total?: string;
  currency?: string;
  country?: string;
  /** Explicit property / trait columns; without them, every unmapped column becomes one. */
  properties?: Record<string, string>;
  traits?: Record<string, string>;
}

const SCALAR_FIELDS = [
  'userId', 'anonymousId', 'email', 'event', 'type', 'timestamp', 'messageId', 'orderId', 'productId', 'productName',
  'category', 'brand', 'quantity', 'price', 'total', 'currency', 'country',
] as const;
type ScalarField = (typeof SCALAR_FIELDS)[number];

export function parseMappingSpec(spec: string): ColumnMapping {
  const mapping: ColumnMapping = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || eq === part.length - 1) throw new InputError('bad_mapping', `'${part}' is not field=Column`);
    const field = part.slice(0, eq).trim();
    const column = part.slice(eq + 1).trim();
    if (field.startsWith('properties.') || field.startsWith('traits.')) {
      const [group, ...rest] = field.split('.');
      const name = rest.join('.');
      if (!name) throw new InputError('bad_mapping', `'${field}' needs a name after the dot`);
      const target = group === 'properties' ? (mapping.properties ??= {}) : (mapping.traits ??= {});
      target[name] = column;
    } else if ((SCALAR_FIELDS as readonly string[]).includes(field)) {
      mapping[field as ScalarField] = column;
    } else {
      throw new InputError('bad_mapping', `unknown field '${field}' (known: ${SCALAR_FIELDS.join(', ')}, properties.<name>, traits.<name>)`);
    }
  }
  return mapping;
}

/** The columns a mapping uses explicitly. */
export function mappedColumns(m: ColumnMapping): Set<string> {
  const used = new Set<string>();
  for (const f of SCALAR_FIELDS) {
    const c = m[f];
    if (c) used.add(c);
  }
  for (const c of Object.values(m.properties ?? {})) used.add(c);
  for (const c of Object.values(m.traits ?? {})) used.add(c);
  return used;
}

export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return s === '' ? undefined : s;
}

/** Ids from spreadsheets often come as `17850.0`: an integral number is written without the fraction. */
export function idText(v: unknown): string | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  return /^-?\d+\.0+$/.test(s) ? s.replace(/\.0+$/, '') : s;
}

export function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  const s = text(v);
  if (s === undefined) return undefined;
  const n = Number(s.replace(/,(?=\d{3}\b)/g, ''));
  return Number.isFinite(n) ? n : undefined;
}

/** A value as it should appear in properties or traits: numbers as numbers, the rest as text. */
export function typed(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (s === '') return null;
  if (/^-?(\d+|\d*\.\d+)(e[+-]?\d+)?$/i.test(s) && !/^0\d/.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n) && Math.abs(n) <= 1e15) return n;
  }
  if (s === 'true' || s === 'false') return s === 'true';
  return s;
}

/**
 * Dates: ISO 8601 (with or without zone; without a zone the time is read as UTC), `YYYY-MM-DD HH:MM[:SS]`,
 * `YYYYMMDD`, epoch seconds or milliseconds, and with `dateFormat` the ambiguous day-first or month-first
 * forms `DD/MM/YYYY [H:MM]` and `M/D/YYYY [H:MM]`.
 */
export function parseDate(v: unknown, dateFormat?: string): number | undefined {
  if (typeof v === 'number') return v > 1e11 ? v : v * 1000;
  const s = text(v);
  if (s === undefined) return undefined;
  const fmt = (dateFormat ?? '').toUpperCase();
  if (fmt === 'EPOCH-S' || fmt === 'EPOCH-MS' || /^\d{10}(\.\d+)?$/.test(s) || /^\d{13}$/.test(s)) {
    const n = Number(s);
    if (!Number.isFinite(n)) return undefined;
    return fmt === 'EPOCH-MS' || (fmt !== 'EPOCH-S' && s.length === 13) ? n : n * 1000;
  }
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (m) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  m = /^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (m) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const dayFirst = fmt.startsWith('D') || (!fmt.startsWith('M') && a > 12);
    const [day, month] = dayFirst ? [a, b] : [b, a];
    if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
    return Date.UTC(Number(m[3]), month - 1, day, Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  }
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?$/.exec(s);
  if (m) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), Math.round(Number(m[7] ?? 0) * 1000));
  }
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Bound parameters of a compiled statement (sql/dialect.ts) as ClickHouse query parameters ({p1:Type}). */
import type { BoundParam } from '../../domain/sql/dialect.js';

export function toClickHouseParams(list: readonly BoundParam[]): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const b of list) out[b.name] = b.value;
  return out;
}

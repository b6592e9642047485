/** Bound parameters of a compiled statement (sql/dialect.ts) as DuckDB values, positionally ($1, $2, …). */
import { listValue, type DuckDBValue } from '@duckdb/node-api';
import type { BoundParam } from '../../domain/sql/dialect.js';

export function toDuckParams(list: readonly BoundParam[]): DuckDBValue[] {
  return list.map((b) => {
    switch (b.type) {
      case 'int': return BigInt(Math.trunc(b.value as number));
      case 'float': return b.value as number;
      case 'bool': return b.value as boolean;
      case 'string': return b.value as string;
      case 'string[]': return listValue(b.value as string[]);
    }
  });
}

/**
 * The two SQL dialects of the segment compiler: DuckDB (embedded default) and ClickHouse (scale-out).
 * Each is a table of small spellings; anything more than a spelling belongs in the compiler.
 */
import { quoteIdent } from './identifiers.js';
import type { AggFn, Dialect, ParamType, Params } from './dialect.js';

/** RFC 6901 JSON pointer for DuckDB's json functions. */
export function pointer(keys: string[]): string {
  return keys.map((k) => '/' + k.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * A JSON pointer indexes arrays with numeric parts ("/items/0"); in the segment language paths only go
 * through objects (as on ClickHouse). The condition that every parent of a numeric part is an object.
 */
function objectsOnly(p: Params, doc: string, keys: string[]): string | undefined {
  const guards: string[] = [];
  keys.forEach((k, i) => {
    if (/^[0-9]+$/.test(k)) guards.push(i === 0 ? `json_type(${doc}) = 'OBJECT'` : `json_type(${doc}, ${p.str(pointer(keys.slice(0, i)))}) = 'OBJECT'`);
  });
  return guards.length ? guards.join(' AND ') : undefined;
}

function guardedDuck(p: Params, doc: string, keys: string[], expr: string, otherwise = 'NULL'): string {
  const g = objectsOnly(p, doc, keys);
  return g ? `(CASE WHEN ${g} THEN ${expr} ELSE ${otherwise} END)` : expr;
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  selectSuffix: '',
  inlineCte: ' NOT MATERIALIZED',
  materializedCte: ' MATERIALIZED',
  placeholder: (_name, position) => `$${position}`,
  ident: (name) => quoteIdent(name, 'double'),
  epochMs: (col) => `epoch_ms(${col})`,
  jsonIs(p, doc, keys, kind) {
    const t = guardedDuck(p, doc, keys, keys.length ? `json_type(${doc}, ${p.str(pointer(keys))})` : `json_type(${doc})`);
    switch (kind) {
      case 'string': return `(${t} = 'VARCHAR')`;
      case 'number': return `(${t} IN ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT'))`;
      case 'bool': return `(${t} = 'BOOLEAN')`;
      case 'array': return `(${t} = 'ARRAY')`;
      case 'object': return `(${t} = 'OBJECT')`;
      case 'null': return `(${t} = 'NULL')`;
    }
  },
  jsonString(p, doc, keys) {
    const x = keys.length ? `json_extract_string(${doc}, ${p.str(pointer(keys))})` : `json_extract_string(${doc}, '$')`;
    return `CASE WHEN ${this.jsonIs(p, doc, keys, 'string')} THEN ${x} END`;
  },
  jsonFloat(p, doc, keys) {
    const raw = keys.length ? `json_extract(${doc}, ${p.str(pointer(keys))})` : `CAST(${doc} AS JSON)`;
    return `CASE WHEN ${this.jsonIs(p, doc, keys, 'number')} THEN CAST(${raw} AS DOUBLE) WHEN ${this.jsonIs(p, doc, keys, 'string')} THEN ${this.numericString(this.jsonString(p, doc, keys))} END`;
  },
  jsonBool(p, doc, keys) {
    const raw = keys.length ? `json_extract(${doc}, ${p.str(pointer(keys))})` : `CAST(${doc} AS JSON)`;
    return `CASE WHEN ${this.jsonIs(p, doc, keys, 'bool')} THEN CAST(${raw} AS BOOLEAN) END`;
  },
  jsonRaw(p, doc, keys) {
    const raw = keys.length ? `CAST(json_extract(${doc}, ${p.str(pointer(keys))}) AS VARCHAR)` : `CAST(CAST(${doc} AS JSON) AS VARCHAR)`;
    const t = guardedDuck(p, doc, keys, keys.length ? `json_type(${doc}, ${p.str(pointer(keys))})` : `json_type(${doc})`);
    return `CASE WHEN ${t} <> 'NULL' THEN ${raw} END`;
  },
  jsonArray(p, doc, keys) {
    const raw = keys.length ? `json_extract(${doc}, ${p.str(pointer(keys))})` : `CAST(${doc} AS JSON)`;
    return `(CASE WHEN ${this.jsonIs(p, doc, keys, 'array')} THEN CAST(${raw} AS JSON[]) ELSE CAST([] AS JSON[]) END)`;
  },
  arrayExists: (arr, v, body) => `(len(list_filter(${arr}, lambda ${v}: coalesce(${body}, false))) > 0)`,
  arrayFilter: (arr, v, body) => `list_filter(${arr}, lambda ${v}: coalesce(${body}, false))`,
  arrayMap: (arr, v, body) => `list_transform(${arr}, lambda ${v}: ${body})`,
  arrayZipMap: (arrays, v, body) => `list_transform(list_zip(${arrays.join(', ')}), lambda ${v}: ${body})`,
  zipElement: (v, k) => `${v}[${Math.trunc(k) + 1}]`,
  agg(fn: AggFn, expr, cond) {
    // (cond 'true': no FILTER clause, which an aggregate over one kind's rows needs none of)
    const f = cond === 'true' ? '' : ` FILTER (WHERE ${cond})`;
    switch (fn) {
      case 'count': return `count(*)${f}`;
      // Distinct values as a list made distinct at the end, not a DISTINCT aggregate: DuckDB gives a
      // grouped DISTINCT aggregate its own hash table on (group, value), which at 30M rows and 1M groups
      // took 4.2–4.5 s against 3.1–3.2 s for the list (list(DISTINCT) 5.3–5.9 s). list_distinct drops
      // NULLs; an empty group gives NULL, which callers coalesce as they did before.
      // A distinct count collects the values' 64-bit hashes (2.1 s there), counted by list_unique
      // (the bench statement 0.4-0.7 s faster than len(list_distinct())): fixed-width items, where
      // making 30M strings distinct took 1.7 s of the 3.1. Like ClickHouse's uniqExact, which keeps
      // 128-bit hashes of strings, it is exact unless two values of one profile share a hash: with n
      // distinct values, a chance of about n² / 2^65 (1e-17 for 30 values). hash(NULL) is not NULL,
      // hence the explicit filter.
      case 'count_distinct': return `list_unique(list(hash(${expr})) FILTER (WHERE ${cond} AND ${expr} IS NOT NULL))`;
      case 'list_distinct': return `list_distinct(list(${expr}) FILTER (WHERE ${cond} AND ${expr} IS NOT NULL))`;
      case 'any': return `max(${expr})${f}`;
      default: return `${fn}(${expr})${f}`;
    }
  },
  aggLatest: (expr, time, cond) => `arg_max(${expr}, ${time}) FILTER (WHERE ${cond})`,
  arrayAgg: (fn, arr) => `list_${fn}(${arr})`,
  aggFlattenDistinct: (arr, cond) => `list_distinct(flatten(list(${arr})${cond === 'true' ? '' : ` FILTER (WHERE ${cond})`}))`,
  mergeAgg(kind, col) {
    switch (kind) {
      case 'count': return `CAST(coalesce(sum(${col}), 0) AS BIGINT)`;
      case 'sum': return `sum(${col})`;
      case 'min': return `min(${col})`;
      case 'max': return `max(${col})`;
      case 'union': return `list_distinct(flatten(list(${col}) FILTER (WHERE ${col} IS NOT NULL)))`;
    }
  },
  arraySortLimit: (arr, n) => `list_sort(${arr})[1:${Math.trunc(n)}]`,
  arrayLength: (arr) => `len(${arr})`,
  arrayCompact: (arr) => `list_filter(${arr}, lambda z: z IS NOT NULL)`,
  arrayJoin: (arr, sep) => `array_to_string(${arr}, ${sep})`,
  toText: (expr) => `CAST(${expr} AS VARCHAR)`,
  emptyArray: () => 'CAST([] AS JSON[])',
  struct: (values) => `struct_pack(${values.map((v, i) => `f${i} := ${v}`).join(', ')})`,
  structField: (v, index) => `${v}.f${Math.trunc(index)}`,
  numericString(expr) {
    return `CASE WHEN regexp_full_match(${expr}, '${NUMERIC_RE}') AND isfinite(TRY_CAST(trim(${expr}) AS DOUBLE)) THEN TRY_CAST(trim(${expr}) AS DOUBLE) END`;
  },
  isFinite: (expr) => `isfinite(${expr})`,
  tryDouble: (expr) => `TRY_CAST(${expr} AS DOUBLE)`,
  regexFull: (expr, pattern) => `regexp_full_match(${expr}, ${pattern})`,
  regexReplace: (expr, pattern, replacement) => `regexp_replace(${expr}, ${pattern}, ${replacement})`,
  // (lower() maps each code point on its own, İ → i; only the final sigma is left to fold)
  foldCase: (expr) => `replace(lower(${expr}), 'ς', 'σ')`,
  contains: (hay, needle) => `contains(${hay}, ${needle})`,
  startsWith: (s, prefix) => `starts_with(${s}, ${prefix})`,
  endsWith: (s, suffix) => `suffix(${s}, ${suffix})`,
  parseDateMs: (expr) => `epoch_ms(TRY_CAST(${expr} AS TIMESTAMPTZ))`,
  parseDateOnlyMs: (expr) => `epoch_ms(CAST(TRY_CAST(${expr} AS DATE) AS TIMESTAMP))`,
  stringLength: (expr) => `length(${expr})`,
  monthDay: (ms) => `(month(make_timestamp(CAST(${ms} AS BIGINT) * 1000)) * 100 + day(make_timestamp(CAST(${ms} AS BIGINT) * 1000)))`,
  md5Bucket: (expr) => `(CAST(('0x' || substr(md5(${expr}), 1, 8)) AS UBIGINT) % 100)`,
  concat: (...parts) => `(${parts.join(' || ')})`,
  // A struct compares field by field. Zero-padded time || marker || text (ClickHouse's form) built a
  // string per row: enrichment's 22 latest values cost 1.2 s of CPU at 5M events, 0.3 s as structs.
  edgeKey: (ts, raw) => `struct_pack(t := ${ts}, p := (${raw}) IS NOT NULL, v := CAST(${raw} AS VARCHAR))`,
  edgeRaw: (key) => `(${key}).v`,
  argMinTuple: (value, keys) => `arg_min(${value}, struct_pack(${keys.map((k, i) => `k${i} := ${k}`).join(', ')}))`,
  intDiv: (a, b) => `(${a} // ${b})`,
  greatest: (a, b) => `greatest(${a}, ${b})`,
  inArray: (expr, arr) => `list_contains(${arr}, ${expr})`,
  arrayHasAny: (arr, values) => `list_has_any(${arr}, ${values})`,
  arrayContains: (arr, value) => `list_contains(${arr}, ${value})`,
  // A semi join prunes row groups through the join filter on sorted data; list_contains scans all.
  inList: (column, arr) => `${column} IN (SELECT unnest(${arr}))`,
};

const CH_TYPES: Record<ParamType, string> = { string: 'String', int: 'Int64', float: 'Float64', bool: 'Bool', 'string[]': 'Array(String)' };

function chKeys(p: Params, keys: string[]): string {
  return keys.map((k) => ', ' + p.str(k)).join('');
}

/** Digits of a zero-padded epoch-ms time (ClickHouse's edge keys): enough until the year 33658. */
const TS_WIDTH = 15;

const chParseDateMs = (expr: string) => `CAST(toUnixTimestamp64Milli(parseDateTime64BestEffortOrNull(${expr}, 3, 'UTC')) AS Nullable(Float64))`;

export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  // join_use_nulls: a profile without events gets NULL aggregates as in standard SQL. Variants off: a
  // CASE whose branches differ in type must fail loudly, not become a Variant that converts NULL to 0.
  selectSuffix: ' SETTINGS join_use_nulls = 1, use_variant_as_common_type = 0',
  // ClickHouse computes a CTE in each reader anyway.
  inlineCte: '',
  materializedCte: null,
  placeholder: (name, _position, type) => `{${name}:${CH_TYPES[type]}}`,
  ident: (name) => quoteIdent(name, 'backtick'),
  epochMs: (col) => `toUnixTimestamp64Milli(${col})`,
  jsonIs(p, doc, keys, kind) {
    const t = `JSONType(${doc}${chKeys(p, keys)})`;
    switch (kind) {
      case 'string': return `(${t} = 'String')`;
      case 'number': return `(${t} IN ('Int64', 'UInt64', 'Double'))`;
      case 'bool': return `(${t} = 'Bool')`;
      case 'array': return `(${t} = 'Array')`;
      case 'object': return `(${t} = 'Object')`;
      case 'null': return `(${t} = 'Null')`;
    }
  },
  jsonString(p, doc, keys) {
    return `if(${this.jsonIs(p, doc, keys, 'string')}, JSONExtractString(${doc}${chKeys(p, keys)}), NULL)`;
  },
  jsonFloat(p, doc, keys) {
    return `multiIf(${this.jsonIs(p, doc, keys, 'number')}, toNullable(JSONExtractFloat(${doc}${chKeys(p, keys)})), ${this.jsonIs(p, doc, keys, 'string')}, ${this.numericString(`JSONExtractString(${doc}${chKeys(p, keys)})`)}, NULL)`;
  },
  jsonBool(p, doc, keys) {
    return `if(${this.jsonIs(p, doc, keys, 'bool')}, JSONExtractBool(${doc}${chKeys(p, keys)}) = 1, NULL)`;
  },
  jsonRaw(p, doc, keys) {
    return `if(${this.jsonIs(p, doc, keys, 'null')}, NULL, JSONExtractRaw(${doc}${chKeys(p, keys)}))`;
  },
  jsonArray(p, doc, keys) {
    return `JSONExtractArrayRaw(${doc}${chKeys(p, keys)})`;
  },
  arrayExists: (arr, v, body) => `arrayExists(${v} -> ifNull(${body}, false), ${arr})`,
  arrayFilter: (arr, v, body) => `arrayFilter(${v} -> ifNull(${body}, false), ${arr})`,
  arrayMap: (arr, v, body) => `arrayMap(${v} -> ${body}, ${arr})`,
  arrayZipMap: (arrays, v, body) => `arrayMap((${arrays.map((_a, k) => `${v}_${k}`).join(', ')}) -> ${body}, ${arrays.join(', ')})`,
  zipElement: (v, k) => `${v}_${Math.trunc(k)}`,
  agg(fn: AggFn, expr, cond) {
    switch (fn) {
      case 'count': return `countIf(${cond})`;
      case 'count_distinct': return `uniqExactIf(${expr}, ${cond})`;
      case 'list_distinct': return `groupUniqArrayIf(assumeNotNull(${expr}), ${cond} AND ${expr} IS NOT NULL)`;
      case 'any': return `maxIfOrNull(${expr}, ${cond})`;
      default: return `${fn}IfOrNull(${expr}, ${cond})`;
    }
  },
  aggLatest: (expr, time, cond) => `argMaxIfOrNull(${expr}, ${time}, ${cond})`,
  arrayAgg(fn, arr) {
    // (the array functions take no Nullable elements: those left are not NULL)
    const a = `arrayMap(z -> assumeNotNull(z), arrayFilter(z -> z IS NOT NULL, ${arr}))`;
    if (fn === 'sum') return `arraySum(${a})`;
    return `if(empty(${a}), NULL, toNullable(array${fn[0]?.toUpperCase()}${fn.slice(1)}(${a})))`;
  },
  aggFlattenDistinct: (arr, cond) => `groupUniqArrayArrayIf(arrayFilter(z -> z IS NOT NULL, ${arr}), ${cond})`,
  mergeAgg(kind, col) {
    switch (kind) {
      case 'count': return `toUInt64(sum(ifNull(${col}, 0)))`;
      case 'sum': return `sumOrNull(${col})`;
      case 'min': return `minOrNull(${col})`;
      case 'max': return `maxOrNull(${col})`;
      case 'union': return `arrayDistinct(groupArrayArray(${col}))`;
    }
  },
  arraySortLimit: (arr, n) => `arraySlice(arraySort(${arr}), 1, ${Math.trunc(n)})`,
  arrayLength: (arr) => `length(${arr})`,
  arrayCompact: (arr) => `arrayFilter(z -> z IS NOT NULL, ${arr})`,
  arrayJoin: (arr, sep) => `arrayStringConcat(${arr}, ${sep})`,
  toText: (expr) => `toString(${expr})`,
  emptyArray: () => 'CAST([] AS Array(String))',
  struct: (values) => `tuple(${values.join(', ')})`,
  structField: (v, index) => `tupleElement(${v}, ${Math.trunc(index) + 1})`,
  numericString(expr) {
    return `if(match(${expr}, '${NUMERIC_RE}') AND isFinite(toFloat64OrZero(trimBoth(${expr}))), toFloat64OrNull(trimBoth(${expr})), NULL)`;
  },
  isFinite: (expr) => `isFinite(${expr})`,
  tryDouble: (expr) => `toFloat64OrNull(${expr})`,
  regexFull: (expr, pattern) => `match(${expr}, ${pattern})`,
  regexReplace: (expr, pattern, replacement) => `replaceRegexpOne(${expr}, ${pattern}, ${replacement})`,
  // (lowerUTF8 applies special casing: İ would become i + U+0307, and a word's last Σ ς)
  foldCase: (expr) => `replaceAll(lowerUTF8(replaceAll(${expr}, 'İ', 'I')), 'ς', 'σ')`,
  contains: (hay, needle) => `(position(${hay}, ${needle}) > 0)`,
  startsWith: (s, prefix) => `startsWith(${s}, ${prefix})`,
  endsWith: (s, suffix) => `endsWith(${s}, ${suffix})`,
  parseDateMs: chParseDateMs,
  // (the same parse: a date alone is read as midnight UTC there already)
  parseDateOnlyMs: chParseDateMs,
  stringLength: (expr) => `lengthUTF8(${expr})`,
  monthDay: (ms) => `(toMonth(fromUnixTimestamp64Milli(toInt64(${ms}), 'UTC')) * 100 + toDayOfMonth(fromUnixTimestamp64Milli(toInt64(${ms}), 'UTC')))`,
  md5Bucket: (expr) => `(reinterpretAsUInt32(reverse(substring(MD5(${expr}), 1, 4))) % 100)`,
  concat: (...parts) => `concat(${parts.join(', ')})`,
  // (a string: maxIfOrNull, the conditional aggregate here, cannot return a tuple; the markers 'v' and
  // 'm' are constants of this form, not values)
  edgeKey: (ts, raw) => `concat(leftPad(toString(${ts}), ${TS_WIDTH}, '0'), coalesce(concat('v', ${raw}), 'm'))`,
  edgeRaw: (key) => `(CASE WHEN substring(${key}, ${TS_WIDTH + 1}) LIKE 'v%' THEN substring(${key}, ${TS_WIDTH + 2}) END)`,
  argMinTuple: (value, keys) => `argMin(${value}, tuple(${keys.join(', ')}))`,
  intDiv: (a, b) => `intDiv(${a}, ${b})`,
  greatest: (a, b) => `greatest(${a}, ${b})`,
  inArray: (expr, arr) => `has(${arr}, ${expr})`,
  arrayHasAny: (arr, values) => `hasAny(${arr}, ${values})`,
  arrayContains: (arr, value) => `has(${arr}, ${value})`,
  inList: (column, arr) => `has(${arr}, ${column})`,
};

/**
 * A numeric string: optional spaces, optional minus, decimal digits with an optional fraction and
 * exponent. The same rule as the reference evaluator (reference.ts), so that "12.5" counts as a number
 * on every engine and "0x10", "1_000", "Infinity" count on none. A literal of our own source, not a value.
 */
export const NUMERIC_RE = '^ *-?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)? *$';

export const DIALECTS: Record<Dialect['name'], Dialect> = { duckdb: duckdbDialect, clickhouse: clickhouseDialect };

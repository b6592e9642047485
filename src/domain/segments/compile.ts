/**
 * The segment compiler: all segments and computed traits of a workspace → ONE SQL statement that scans
 * the workspace's events once (a shared GROUP BY profile with one conditional aggregate per distinct
 * event leaf), pivots current traits and scores, and evaluates every segment as a boolean column of
 * one row per profile. Sequences need pairs of events, so each is a small join over the same filtered
 * event set. References to other segments and computed traits are inlined (cycles are rejected by
 * check.ts), so a whole workspace is still one statement.
 *
 * Written by hand rather than with a query builder: the plan is specific (shared aggregates, dedup of
 * identical leaves, dialect hooks) and every value must be a bound parameter; see dialect.ts.
 * Semantics are those of ast.ts / reference.ts; the property test checks the two agree.
 */
import { Params, type BoundParam, type Dialect, type MergeKind } from '../sql/dialect.js';
import { md5Hex } from './md5.js';
import { foldCase } from './fold.js';
import {
  UNIT_MS, type Comparison, type ComputedTraitDefinition, type Condition, type EventSelector, type Filter,
  type Window,
} from './ast.js';

export interface CompileInput {
  workspaceId: string;
  /** Evaluation time, epoch ms. */
  now: number;
  segments: Array<{ key: string; condition: Condition }>;
  computed: ComputedTraitDefinition[];
  /** Restrict to these profiles (incremental recomputation). */
  profileIds?: string[] | undefined;
  /** Restrict to profile ids in any of these [from, to) ranges (a stratified sample for estimates). */
  profileRanges?: Array<{ from: string; to: string }> | undefined;
  /** Segments referenced by the above but not evaluated themselves (inlined where used). */
  references?: Array<{ key: string; condition: Condition }> | undefined;
  /** 'rows' (default): one row per profile; 'counts': one row, `profiles` and the member count per segment. */
  output?: 'rows' | 'counts' | undefined;
  /**
   * Rows ordered by profile id (default). False: in no particular order, for readers that index the
   * rows by profile (the behavioural models: sorting ~200 feature columns cost 0.3 s at 100k profiles).
   */
  ordered?: boolean | undefined;
  /**
   * Incremental state (docs/segments.md, "How segments stay current"). 'emit': also output every
   * mergeable aggregate as a state column and whether the profile has events dated after `now` (full
   * runs build the state table from it). 'read': evaluate from `table` (one row per profile: its
   * aggregates over its events up to seq `hwm`) merged with the profile's events after its hwm; only
   * for definitions whose aggregates are all mergeable (see classifyWorkspace).
   */
  state?: { mode: 'emit' } | { mode: 'read'; table: string; minHwm: number; defaultHwm: number } | undefined;
  /**
   * Typed property columns (docs/segments.md, "Typed property columns"): base names (propertyColumn)
   * of paths whose columns exist on the events table and hold propertyColumnValues for every row. A
   * leaf on such a path reads the columns instead of parsing the JSON; results and state column names
   * are the same either way.
   */
  typedColumns?: ReadonlySet<string> | undefined;
  /**
   * Trait keys that models write (behavioural library): key → model id. Their values live in
   * model_traits (one JSON object per profile and model) beside trait_updates; the latest wins.
   */
  modelTraits?: ReadonlyMap<string, string> | undefined;
  /**
   * Each event kind's share of the workspace's events (a sample's estimate is enough; see
   * DENSE_KIND_SHARE). Without it every kind's rows are materialized before their group.
   */
  eventShares?: ReadonlyArray<EventShare> | undefined;
}

/** A kind of event (message type and event or page / screen name) and its share of all events. */
export interface EventShare { type: string; event: string; share: number }

/**
 * A kind making up at least this share of the events is grouped straight from the scan, not from a
 * materialized copy of its rows. Measured at 50M events (docs/benchmarks.md): the product views (60 %)
 * lost 1–2 s of a ~21 s statement to the copy, while the orders (10 %) gained from it (grouped from the
 * filter, their rows come in sparse vectors and every aggregate costs 3–4× as much per row).
 */
export const DENSE_KIND_SHARE = 0.4;

/**
 * A path of an event's properties or context that leaves read row by row; or, with root 'products', a
 * path inside each order line of `properties.products` (its typed columns hold one value per line).
 */
export interface PropertyPath { root: 'properties' | 'context' | 'products'; keys: string[] }

/** The order line itself: its typed columns hold whether each line is a JSON object (`_b`). */
export const ITEM_LINE: PropertyPath = { root: 'products', keys: [] };

/**
 * The typed columns of a path: string (when a JSON string), boolean, raw JSON text. The number is
 * derived when read (a numeric string, or the raw text of a JSON number): a stored number column
 * cost ~1.2 ms per path per ingest commit, DuckDB compiling the numeric-string regex anew for each
 * statement, which showed in the event → membership latency.
 */
export const TYPED_SUFFIXES = ['s', 'b', 'r'] as const;
export type TypedSuffix = typeof TYPED_SUFFIXES[number];

/** Base name of a path's typed columns (`<base>_s`, `_b`, `_r`): a hash, so any key is a safe name. */
export function propertyColumn(path: PropertyPath): string {
  return `tp_${md5Hex(`${path.root}\u0001${path.keys.join('\u0001')}`).slice(0, 16)}`;
}

/**
 * The state-table column that holds a segment version's current membership (one boolean per profile
 * and state-keepable segment). The fast lane reads a profile's memberships from it instead of scanning
 * every membership row; per version, so that an edited definition never reads its predecessor's bits.
 */
export function membershipStateColumn(key: string, version: number): string {
  return `m_${md5Hex(`${key}\u0001${version}`).slice(0, 16)}`;
}

/**
 * The state-table column that holds a computed trait's last written value (for traits state can keep):
 * a fast run then writes only the values that changed instead of deleting its profiles' values from
 * every computed value (a scan: ~0.2 s per fast run at 1M profiles). Named by the definition itself,
 * so that an edited trait never reads its predecessor's values.
 */
export function computedStateColumn(def: ComputedTraitDefinition): string {
  return `v_${md5Hex(`computed\u0001${JSON.stringify(def)}`).slice(0, 16)}`;
}

/**
 * What each typed column holds, as SQL over a JSON text `doc` (the engine fills the columns with these
 * at ingest and when back-filling): exactly the values the compiler's JSON accessors read.
 */
export function propertyColumnValues(d: Dialect, p: Params, doc: string, keys: string[]): Record<TypedSuffix, string> {
  return { s: d.jsonString(p, doc, keys), b: d.jsonBool(p, doc, keys), r: d.jsonRaw(p, doc, keys) };
}

/**
 * What each typed column of a line-item path holds over the event's properties JSON `doc`: one value per
 * line of `products` (the values propertyColumnValues gives over the line's JSON), [] without lines.
 * Line items read from these lists instead of parsing every line's JSON for every value a statement
 * reads (at 1M profiles / 50M events the line items cost ~11 s of a 27 s shared statement).
 */
export function itemColumnValues(d: Dialect, p: Params, doc: string, keys: string[]): Record<TypedSuffix, string> {
  const lines = d.jsonArray(p, doc, ['products']);
  if (keys.length === 0) return { s: 'NULL', b: d.arrayMap(lines, 'li', d.jsonIs(p, 'li', [], 'object')), r: 'NULL' };
  const v = propertyColumnValues(d, p, 'li', keys);
  return { s: d.arrayMap(lines, 'li', v.s), b: d.arrayMap(lines, 'li', v.b), r: d.arrayMap(lines, 'li', v.r) };
}

/**
 * Whether a statement reads its line items from typed columns: only when every line-item path its
 * definitions read is typed and ready (a line's record is built from the columns or from its JSON, not both).
 */
function itemsTyped(d: Dialect, input: CompileInput): boolean {
  const { c } = compileEach(d, { ...input, typedColumns: undefined });
  const bases = [...c.paths].filter(([, path]) => path.root === 'products').map(([base]) => base);
  return !c.itemsUntyped && bases.length > 0 && bases.every((b) => input.typedColumns?.has(b) === true);
}

/** Paths with object keys only (numeric keys keep the dialect's object guards and are never typed). */
function typeable(keys: string[]): boolean {
  return keys.length > 0 && !keys.some((k) => /^[0-9]+$/.test(k));
}

/** The property and context paths the definitions read row by row: candidates for typed columns. */
export function propertyPaths(d: Dialect, input: CompileInput): PropertyPath[] {
  return [...compileEach(d, { ...input, typedColumns: undefined }).c.paths.values()];
}

/** Every definition compiled once (no statement assembled): the SQL of each, and the compiler's registries. */
function compileEach(d: Dialect, input: CompileInput): { c: Compiler; segments: string[]; computed: string[] } {
  const c = new Compiler(d, { ...input, state: undefined });
  return { c, segments: input.segments.map((s) => c.conditionSql(s.condition)), computed: input.computed.map((x) => c.computedValue(x)) };
}

/** A state column: output column of the statement → column name in the state table (stable across compiles). */
export interface StateColumn { column: string; name: string }

export interface CompiledQuery {
  sql: string;
  params: BoundParam[];
  /** Output columns: `pid`, then one boolean per segment, one value per computed trait. */
  segmentColumns: Array<{ key: string; column: string }>;
  computedColumns: Array<{ key: string; column: string; kind: ComputedTraitDefinition['kind'] }>;
  /** With input.state: the state columns output (plus `st_future`, and `st_hwm` when reading). */
  stateColumns?: StateColumn[] | undefined;
}

/**
 * Which definitions can be evaluated from incremental state: every aggregate they read merges (no
 * rolling "last N" window, no distinct count of event values) and they need no pair of events
 * (sequences) or per-value counts (most frequent). For each, the state columns it needs.
 */
export function classifyWorkspace(d: Dialect, input: CompileInput): { segments: Map<string, string[] | null>; computed: Map<string, string[] | null> } {
  const { c, segments, computed } = compileEach(d, input);
  const needs = (expr: string): string[] | null => {
    if (/\b(sq|mf)_[0-9]+\./.test(expr)) return null;
    const names = new Set<string>();
    for (const m of expr.matchAll(/\bagg\.(a_[0-9]+)\b/g)) {
      const meta = c.aggMeta.get(m[1] as string);
      if (!meta || meta.merge === null) return null;
      names.add(meta.name);
    }
    return [...names].sort();
  };
  return {
    segments: new Map(input.segments.map((s, i) => [s.key, needs(segments[i] ?? '')])),
    computed: new Map(input.computed.map((x, i) => [x.key, needs(computed[i] ?? '')])),
  };
}

const ISO_RE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$';

/** How to read one value: a JSON document plus keys, or a typed SQL expression. */
interface Accessor {
  str(): string;
  num(): string;
  bool(): string;
  /** Raw JSON text (NULL when missing). */
  raw(): string;
  /** Epoch ms (NULL when not a date). */
  date(): string;
}

/** Each value of `a` passed through `f`. */
function mapAccessor(a: Accessor, f: (x: string) => string): Accessor {
  return { str: () => f(a.str()), num: () => f(a.num()), bool: () => f(a.bool()), raw: () => f(a.raw()), date: () => f(a.date()) };
}

/** Each value of `key` (the JSON form, which names it) and `sql` (what is read) combined by `f`. */
function pairAccessors(key: Accessor, sql: Accessor, f: (key: string, sql: string) => string): Accessor {
  return {
    str: () => f(key.str(), sql.str()),
    num: () => f(key.num(), sql.num()),
    bool: () => f(key.bool(), sql.bool()),
    raw: () => f(key.raw(), sql.raw()),
    date: () => f(key.date(), sql.date()),
  };
}

export function compileWorkspace(d: Dialect, input: CompileInput): CompiledQuery {
  return new Compiler(d, input).compile();
}

export interface ExplainPlanNode {
  /** Pre-order index; columns n_<i> (holds) and v_<i> (the evaluated value as text, leaves only). */
  index: number;
  depth: number;
  condition: Condition;
}

/**
 * Explain: every node of a condition tree as its own boolean column, and each leaf's evaluated value
 * (a count, a sum, a time, a trait's JSON) beside it, for one profile — the same compiler as
 * membership, so the explanation cannot disagree with it.
 */
export function compileExplain(d: Dialect, input: Omit<CompileInput, 'segments' | 'output'> & { condition: Condition; profileId: string }): { query: CompiledQuery; nodes: ExplainPlanNode[] } {
  const nodes: ExplainPlanNode[] = [];
  const walk = (c: Condition, depth: number) => {
    nodes.push({ index: nodes.length, depth, condition: c });
    if (c.type === 'and' || c.type === 'or') c.conditions.forEach((x) => walk(x, depth + 1));
    else if (c.type === 'not') walk(c.condition, depth + 1);
  };
  walk(input.condition, 0);
  const compiler = new Compiler(d, { ...input, profileIds: [input.profileId], segments: nodes.map((n) => ({ key: `n_${n.index}`, condition: n.condition })) });
  return { query: compiler.compile(nodes.map((n) => compiler.leafValue(n.condition))), nodes };
}

class Compiler {
  private readonly p: Params;
  private readonly aggs = new Map<string, string>();
  /** Per aggregate alias: how partials merge (null: they do not), and its state column name. */
  readonly aggMeta = new Map<string, { merge: MergeKind | null; name: string }>();
  /** Placeholders of values relative to `now` (rolling windows): aggregates using them do not merge. */
  private readonly nowPlaceholders = new Set<string>();
  private readonly traitCols = new Map<string, string>();
  private readonly scoreCols = new Map<string, string>();
  private readonly ctes: string[] = [];
  private readonly joins: string[] = [];
  private readonly cteMemo = new Map<string, string>();
  private readonly segmentsByKey: Map<string, Condition>;
  private readonly computedByKey: Map<string, ComputedTraitDefinition>;
  private readonly inlining: string[] = [];
  /**
   * Typed JSON extractions computed once per event row in the ev CTE (expression → column), only on the
   * rows of the message types and event names whose leaves read them ('all' when some leaf reads every row).
   */
  private readonly evCols = new Map<string, { alias: string; guards: Map<string, { mt: string; event: string }> | 'all'; otherwise: string; sql?: string | undefined; items?: boolean }>();
  /**
   * Line items: the values leaves read of one order line (accessor expressions over its JSON `li`,
   * by expression), each computed once per line into the record of the shared items column (see
   * itemsCol) instead of once per leaf that reads it.
   */
  private readonly itemFields = new Map<string, { index: number; ref: string; typed?: string | undefined }>();
  /** Typed line-item lists the records read, by position in the zip of the records (itemColumn). */
  private readonly zipCols = new Map<string, number>();
  /** Line items read from typed columns (itemsTyped); a line-item path that cannot be typed was read. */
  private readonly typedItems: boolean;
  itemsUntyped = false;
  /** Paths read row by row (by base name), and the typed columns read instead of JSON. */
  readonly paths = new Map<string, PropertyPath>();
  private readonly typedRead = new Set<string>();
  /**
   * Boolean columns of ev that select a kind of row (an event's message type and name, see selector;
   * rows with a consent answer), with the predicate each stands for over ev0's columns: a kind's rows
   * are filtered by the predicate itself, which DuckDB pushes into the scan of events (filtered by the
   * column, every projected column of every event was read: 4.5 s of one scan at 50M events).
   */
  private readonly kindCols = new Map<string, string>();
  /** Per aggregate alias: the kind column every row it reads must satisfy (null: none). */
  private readonly aggKind = new Map<string, string | null>();
  /** An aggregate's SQL over its own kind's rows only (aggColumn): without the kind's conjunct. */
  private readonly inKindSql = new Map<string, string>();
  /** Kind columns of the dense kinds (DENSE_KIND_SHARE), grouped straight from the scan. */
  private readonly denseKinds = new Set<string>();

  constructor(private readonly d: Dialect, private readonly input: CompileInput) {
    this.p = new Params(d);
    this.segmentsByKey = new Map([...(input.references ?? []), ...input.segments].map((s) => [s.key, s.condition]));
    this.computedByKey = new Map(input.computed.map((c) => [c.key, c]));
    this.typedItems = input.typedColumns ? itemsTyped(d, input) : false;
  }

  compile(extraValues: Array<string | null> = []): CompiledQuery {
    const { d, p, input } = this;
    const ws = p.str(input.workspaceId);
    const now = p.int(input.now);
    const restrict = input.profileIds ? p.bind(input.profileIds, 'string[]') : undefined;
    const ranges = input.profileRanges?.map((r) => ({ from: p.str(r.from), to: p.str(r.to) }));
    const range = ranges && ranges.length > 0 ? ranges : undefined;
    const inRange = (col: string) => `(${(range ?? []).map((r) => `(${col} >= ${r.from} AND ${col} < ${r.to})`).join(' OR ')})`;

    const segCols = input.segments.map((s, i) => ({ key: s.key, column: `s_${i}`, expr: this.cond(s.condition) }));
    // In 'counts' output computed traits are only referenced (inlined where used), not returned.
    const compCols = input.output === 'counts' ? [] : input.computed.map((c, i) => ({ key: c.key, column: `c_${i}`, kind: c.kind, expr: this.computedValue(c) }));

    const state = input.state;
    const reading = state?.mode === 'read' ? state : undefined;
    // Reading state: only the events after each profile's high-water mark (seq is the commit order, so
    // the scan prunes to the table's tail by min/max of seq).
    const scanWhere = [`e.workspace_id = ${ws}`];
    if (restrict) scanWhere.push(d.inList('e.profile_id', restrict));
    if (range) scanWhere.push(inRange('e.profile_id'));
    if (reading) scanWhere.push(`e.seq > ${p.int(reading.minHwm)}`, `e.seq > coalesce(st.hwm, ${p.int(reading.defaultHwm)})`);
    const scanFrom = reading ? 'events e LEFT JOIN st ON st.pid = e.profile_id' : 'events e';
    const evWhere = [...scanWhere, `${d.epochMs('e.timestamp')} <= ${now}`];
    // The JSON text of properties / context is carried only when some expression reads it (decided
    // below, once every part is built): with every path typed, projecting it anyway made DuckDB read
    // and cast the JSON of every scanned row (~5–8 % of a history run at 50M events).
    const jsonRoots = (props: boolean, ctx: boolean) =>
      `${props ? ', props' : ''}${ctx ? ', ctx' : ''}`;
    // The event rows are read by one aggregate group per event kind (and most-frequent counts): DuckDB
    // materializes a CTE read more than once, writing every row and column of ev once and reading it
    // back per group, where inlined each kind's reader scans only its own rows and columns (the scan
    // filtered by its kind; see rowsOf). Sequences read their own materialized rows (see sequence). For
    // a list of profiles ev stays materialized (incremental runs: few rows, and each inlined reader
    // would join the list again).
    const inline = restrict ? '' : d.inlineCte;
    const ev0Of = (props: boolean, ctx: boolean) => `ev0 AS${inline} (SELECT e.profile_id AS pid, e.message_id AS mid, e.type AS mtype, e.event AS ename, e.name AS pname, ` +
      `${d.epochMs('e.timestamp')} AS ts${props ? `, ${d.toText('e.properties')} AS props` : ''}${ctx ? `, ${d.toText('e.context')} AS ctx` : ''}` +
      `${[...this.typedRead].map((c) => `, e.${d.ident(c)} AS ${c}`).join('')} ` +
      `FROM ${scanFrom} WHERE ${evWhere.join(' AND ')})`;
    const ev0 = ev0Of(true, true);
    // Each JSON path is parsed once per row, into a typed column that every leaf using it shares.
    const guarded = (expr: string, guards: Map<string, { mt: string; event: string }> | 'all', otherwise: string): string => {
      if (guards === 'all') return expr;
      const ors = [...guards.values()].map((g) => g.event === '*' ? `mtype = ${p.str(g.mt)}` : `(mtype = ${p.str(g.mt)} AND ${g.mt === 'track' ? 'ename' : 'pname'} = ${p.str(g.event)})`);
      return `CASE WHEN ${ors.join(' OR ')} THEN ${expr} ELSE ${otherwise} END`;
    };
    // The line items of a row: its array of JSON texts, each line read once into a record of the values
    // the leaves use (outside the guard, so that both branches keep the JSON array's type).
    const items = (arr: string) => d.arrayMap(arr, 'li', d.struct(this.itemFields.size ? [...this.itemFields.keys()] : ['true']));
    // Typed: the typed lists the records read (and the lines' object flags, for the lines' number)
    // zipped, each position mapped to its record; guarded outside, so that other rows get no lines.
    // (Mapped with its index over the flags, each record read every other list by index: building the
    // records of 5M orders took 1.0-1.4 s, zipped 0.6 s.)
    const zipped = () => {
      const line = `${propertyColumn(ITEM_LINE)}_b`;
      const lists = [...this.zipCols.keys(), ...(this.zipCols.has(line) ? [] : [line])];
      return d.arrayZipMap(lists, 'li_z', d.struct(this.itemFields.size ? [...this.itemFields.values()].map((f) => f.typed ?? 'NULL') : ['true']));
    };
    const evOf = (props: boolean, ctx: boolean) => `ev AS${inline} (SELECT pid, mid, mtype, ename, pname, ts${jsonRoots(props, ctx)}${[...this.evCols].map(([expr, c]) => {
      const v = guarded(c.items && this.typedItems ? zipped() : c.sql ?? expr, c.guards, c.otherwise);
      return `, ${c.items && !this.typedItems ? items(v) : v} AS ${c.alias}`;
    }).join('')} FROM ev0)`;
    const ev = evOf(true, true);
    const parts = [ev0, ev];
    const stateCols: StateColumn[] = [];
    const mergeable = [...this.aggs.values()].filter((a) => this.aggMeta.get(a)?.merge);
    let aggGroups: { names: string[]; owner: Map<string, string> } | null = null;
    if (reading) {
      const cols = mergeable.map((a) => `${d.ident(this.aggMeta.get(a)?.name ?? a)} AS ${a}`);
      const sw = restrict ? `WHERE ${d.inList('pid', restrict)}` : '';
      parts.unshift(`st AS (SELECT pid, hwm${cols.map((c) => `, ${c}`).join('')} FROM ${d.ident(reading.table)} ${sw})`);
      parts.push(`dmeta AS (SELECT e.profile_id AS pid, count(*) AS n, max(e.seq) AS seqmax, max(CASE WHEN ${d.epochMs('e.timestamp')} > ${now} THEN 1 ELSE 0 END) AS fut FROM ${scanFrom} WHERE ${scanWhere.join(' AND ')} GROUP BY e.profile_id)`);
      if (mergeable.length !== this.aggs.size) throw new Error('reading state: every aggregate must merge (classifyWorkspace first)');
      if (this.aggs.size) {
        const list = mergeable.join(', ');
        parts.push(`dagg AS (SELECT pid, ${[...this.aggs].map(([sql, a]) => `${sql} AS ${a}`).join(', ')} FROM ev GROUP BY pid)`);
        parts.push(`agg AS (SELECT pid, ${mergeable.map((a) => `${d.mergeAgg(this.aggMeta.get(a)?.merge as MergeKind, a)} AS ${a}`).join(', ')} ` +
          `FROM (SELECT pid, ${list} FROM st UNION ALL SELECT pid, ${list} FROM dagg) u GROUP BY pid)`);
      }
    } else if (this.aggs.size) {
      // One GROUP BY per event kind over only that kind's rows, joined by profile: a row feeds only its
      // own event's aggregates instead of evaluating every aggregate's filter. A profile without rows
      // of a kind gets NULL there, as a profile without events always did (every reader allows it).
      const groups = new Map<string, Array<[string, string]>>();
      for (const [sql, a] of this.aggs) {
        const k = this.aggKind.get(a) ?? '';
        groups.set(k, [...(groups.get(k) ?? []), [sql, a]]);
      }
      // A kind's rows, read by its group: on DuckDB first materialized on their own (only the columns the
      // group reads). Grouped straight from the filter, the rows come in sparse vectors (one event in
      // ten is an order) and the aggregates cost ~3-4× as much per row (the orders' group of the
      // behavioural models: 8.8 s of aggregation instead of 2.3 s at 5M events).
      const rowsOf = (k: string, list: Array<[string, string]>, i: number): string => {
        if (!k || d.materializedCte === null || this.denseKinds.has(k)) return `ev${k ? ` WHERE ${this.kindCols.get(k) ?? k}` : ''}`;
        const cols = new Set(['pid']);
        for (const [sql] of list) for (const m of sql.matchAll(/\b(?:x_[0-9]+|ts|mid|mtype|ename|pname)\b/g)) cols.add(m[0]);
        parts.push(`evk_${i} AS${d.materializedCte} (SELECT ${[...cols].join(', ')} FROM ev WHERE ${this.kindCols.get(k) ?? k})`);
        return `evk_${i}`;
      };
      // rowsOf(k) holds only the kind's rows: its aggregates need not test the kind (the columns
      // that rowsOf copies are those of the full SQL, a superset)
      const inKind = (k: string, sql: string, a: string) => (k ? this.inKindSql.get(a) ?? sql : sql);
      if (groups.size === 1) {
        // One kind only: still only its rows (a behavioural model's 46 windowed counts of orders were
        // evaluated on every event, 10× the rows, before this filter).
        const [k, list] = [...groups][0] ?? ['', []];
        parts.push(`agg AS (SELECT pid, ${[...this.aggs].map(([sql, a]) => `${inKind(k, sql, a)} AS ${a}`).join(', ')} FROM ${rowsOf(k, list, 0)} GROUP BY pid)`);
      } else {
        const names: string[] = [];
        const owner = new Map<string, string>();
        [...groups].forEach(([k, list], i) => {
          const g = `ag_${i}`;
          names.push(g);
          for (const [, a] of list) owner.set(a, g);
          parts.push(`${g} AS (SELECT pid, ${list.map(([sql, a]) => `${inKind(k, sql, a)} AS ${a}`).join(', ')} FROM ${rowsOf(k, list, i)} GROUP BY pid)`);
        });
        // Each group is joined to the profiles itself and `agg.a_N` is read from its group (ownedAgg):
        // one `agg` of all groups over the union of their profiles cost 1.2 s more (18.4 → 17.2 s for
        // the segment bench's statement at 1M profiles, five groups).
        aggGroups = { names, owner };
      }
    }
    if (state) mergeable.forEach((a, i) => stateCols.push({ column: `st_${i}`, name: this.aggMeta.get(a)?.name ?? a }));
    if (state?.mode === 'emit') {
      const fw = [`workspace_id = ${ws}`, `${d.epochMs('timestamp')} > ${now}`];
      parts.push(`fut AS (SELECT profile_id AS pid, 1 AS fut FROM events WHERE ${fw.join(' AND ')} GROUP BY profile_id)`);
    }
    if (this.traitCols.size) {
      // Current traits straight from the update log (latest value per key), filtered before grouping,
      // so an incremental run reads only the touched profiles' updates.
      // Only the keys read (the log holds every trait of every profile).
      const tw = [`workspace_id = ${ws}`, `entity_type = 'profile'`, `key IN (${[...this.traitCols.keys()].map((k) => p.str(k)).join(', ')})`];
      if (restrict) tw.push(d.inList('entity_id', restrict));
      if (range) tw.push(inRange('entity_id'));
      // Model outputs: one row per profile and model holding all its traits; each key read becomes a row
      // like a trait update's, so the latest value wins across both.
      const fromModels = [...this.traitCols.keys()].flatMap((k) => {
        const model = input.modelTraits?.get(k);
        if (model === undefined) return [];
        const mw = [`workspace_id = ${ws}`, `model = ${p.str(model)}`];
        if (restrict) mw.push(d.inList('profile_id', restrict));
        if (range) mw.push(inRange('profile_id'));
        return [`SELECT profile_id AS entity_id, ${p.str(k)} AS key, ${d.jsonRaw(p, 'traits', [k])} AS v, computed_at AS updated_at FROM model_traits WHERE ${mw.join(' AND ')}`];
      });
      const src = fromModels.length
        ? `(SELECT entity_id, key, ${d.toText('value')} AS v, updated_at FROM trait_updates WHERE ${tw.join(' AND ')} UNION ALL ${fromModels.join(' UNION ALL ')}) tu`
        : `(SELECT entity_id, key, ${d.toText('value')} AS v, updated_at FROM trait_updates WHERE ${tw.join(' AND ')}) tu`;
      parts.push(`tr AS (SELECT entity_id AS pid, ${[...this.traitCols].map(([k, a]) => `${d.aggLatest('v', 'updated_at', `key = ${p.str(k)}`)} AS ${a}`).join(', ')} ` +
        `FROM ${src} GROUP BY entity_id)`);
    }
    if (this.scoreCols.size) {
      const sw = [`workspace_id = ${ws}`];
      if (restrict) sw.push(d.inList('profile_id', restrict));
      if (range) sw.push(inRange('profile_id'));
      parts.push(`sc AS (SELECT profile_id AS pid, ${[...this.scoreCols].map(([m, a]) => `${d.agg('max', 'score', `model = ${p.str(m)}`)} AS ${a}`).join(', ')} ` +
        `FROM scores WHERE ${sw.join(' AND ')} GROUP BY profile_id)`);
    }
    parts.push(...this.ctes);
    const bw = [`workspace_id = ${ws}`, 'merged_into IS NULL'];
    if (restrict) bw.push(d.inList('profile_id', restrict));
    if (range) bw.push(inRange('profile_id'));
    parts.push(`base AS (SELECT profile_id AS pid FROM profiles WHERE ${bw.join(' AND ')})`);

    const joins = [
      reading ? 'LEFT JOIN st st0 ON st0.pid = base.pid LEFT JOIN dmeta ON dmeta.pid = base.pid' : '',
      state?.mode === 'emit' ? 'LEFT JOIN fut ON fut.pid = base.pid' : '',
      ...(aggGroups ? aggGroups.names.map((g) => `LEFT JOIN ${g} ON ${g}.pid = base.pid`) : this.aggs.size ? ['LEFT JOIN agg ON agg.pid = base.pid'] : []),
      this.traitCols.size ? 'LEFT JOIN tr ON tr.pid = base.pid' : '',
      this.scoreCols.size ? 'LEFT JOIN sc ON sc.pid = base.pid' : '',
      ...this.joins,
    ].filter(Boolean);
    const counts = input.output === 'counts';
    // (generated identifiers only: every value is a bound parameter)
    const groups = aggGroups;
    const ownedAgg = (x: string) => groups ? x.replace(/\bagg\.(a_[0-9]+)\b/g, (_m, a: string) => `${groups.owner.get(a) ?? 'agg'}.${a}`) : x;
    const cols = (counts
      ? ['count(*) AS profiles', ...segCols.map((s) => `sum(CASE WHEN coalesce(${s.expr}, false) THEN 1 ELSE 0 END) AS ${s.column}`)]
      : ['base.pid AS pid', ...segCols.map((s) => `coalesce(${s.expr}, false) AS ${s.column}`), ...compCols.map((c) => `${c.expr} AS ${c.column}`),
        ...extraValues.map((v, i) => `${v === null ? 'NULL' : d.toText(v)} AS v_${i}`),
        ...stateCols.map((c, i) => `agg.${mergeable[i]} AS ${c.column}`),
        ...(reading ? [
          `${d.greatest(`coalesce(st0.hwm, ${p.int(reading.defaultHwm)})`, `coalesce(dmeta.seqmax, ${p.int(reading.defaultHwm)})`)} AS st_hwm`,
          `coalesce(dmeta.fut, 0) AS st_future`, `coalesce(dmeta.n, 0) AS st_read`,
        ] : state?.mode === 'emit' ? ['coalesce(fut.fut, 0) AS st_future'] : [])]).map(ownedAgg);
    // (identifiers only: every value is a bound parameter, so no literal can contain these words)
    const readers = [...parts.filter((x) => x !== ev0 && x !== ev), ...[...this.evCols].map(([expr, c]) => c.sql ?? expr), ...cols, ...joins].join('\n');
    const props = /\bprops\b/.test(readers);
    const ctx = /\bctx\b/.test(readers);
    parts[parts.indexOf(ev0)] = ev0Of(props, ctx);
    parts[parts.indexOf(ev)] = evOf(props, ctx);
    const sql = `WITH ${parts.join(',\n')}\nSELECT ${cols.join(',\n  ')}\nFROM base ${joins.join(' ')}${counts || this.input.ordered === false ? '' : '\nORDER BY base.pid'}${d.selectSuffix}`;
    return {
      sql, params: p.list,
      segmentColumns: segCols.map(({ key, column }) => ({ key, column })),
      computedColumns: compCols.map(({ key, column, kind }) => ({ key, column, kind })),
      stateColumns: state ? stateCols : undefined,
    };
  }

  /** The boolean SQL of a condition (classification; registers its aggregates). */
  conditionSql(c: Condition): string {
    return this.cond(c);
  }

  // ---- conditions -------------------------------------------------------------------------------

  private cond(c: Condition): string {
    const { d, p } = this;
    switch (c.type) {
      case 'and': return `(${c.conditions.map((x) => `coalesce(${this.cond(x)}, false)`).join(' AND ')})`;
      case 'or': return `(${c.conditions.map((x) => `coalesce(${this.cond(x)}, false)`).join(' OR ')})`;
      case 'not': return `(NOT coalesce(${this.cond(c.condition)}, false))`;
      case 'trait': return this.compare(this.jsonAccessor(this.traitCol(c.trait), []), c);
      case 'event': {
        const n = `coalesce(${this.aggregate('count', '', this.selector(c, c.window))}, 0)`;
        const count = c.count ?? { op: 'at_least' as const, value: 1 };
        const v = p.int(count.value);
        return count.op === 'at_least' ? `(${n} >= ${v})` : count.op === 'exactly' ? `(${n} = ${v})` : `(${n} <= ${v})`;
      }
      case 'aggregate': {
        const value = this.aggregateValue(c.fn, c.path, c, c.window);
        return this.compare(this.numberAccessor(value), c);
      }
      case 'first_performed':
      case 'last_performed': {
        const t = this.aggregate(c.type === 'first_performed' ? 'min' : 'max', 'ts', this.selector(c, c.window));
        return this.compare(this.timeAccessor(t), c);
      }
      case 'last_value': {
        const raw = this.latestRaw(c.path, c, c.window, 'last');
        return this.compare(this.jsonAccessor(raw, []), c);
      }
      case 'sequence': return `(${this.sequence(c)}.hit IS NOT NULL)`;
      case 'computed_trait': {
        const def = this.computedByKey.get(c.key);
        if (!def) throw new Error(`unknown computed trait '${c.key}' (check the definition first)`);
        return this.compare(this.computedAccessor(def), c);
      }
      case 'score': return this.compare(this.numberAccessor(this.scoreCol(c.model)), c);
      case 'segment': {
        const target = this.segmentsByKey.get(c.segment);
        if (!target) throw new Error(`unknown segment '${c.segment}' (check the definition first)`);
        if (this.inlining.includes(c.segment)) throw new Error(`segment reference cycle through '${c.segment}'`);
        this.inlining.push(c.segment);
        try {
          return `coalesce(${this.cond(target)}, false)`;
        } finally {
          this.inlining.pop();
        }
      }
      case 'consent': {
        // The latest boolean answer. Only the rows with one are read (their own group, as an event kind's:
        // a tenth of the events in the bench), and the latest is max(ts * 2 + answer), a number, where the
        // zero-padded text of every row's time cost 5.7 s of a 37 s full run at 50M events. At one time
        // true wins, as it did ('1' > '0').
        const keys = ['consent', 'categoryPreferences', c.purpose];
        const answered = this.rowIsBool('ctx', keys);
        // (typed, the column is `<boolean column> IS NOT NULL`, which DuckDB pushes into the scan as it is)
        this.kindCols.set(answered, answered);
        const answer = this.rowAccessor('ctx', keys, null).bool();
        const latest = this.aggregate('any', `(ts * 2 + CASE WHEN coalesce(${answer}, false) THEN 1 ELSE 0 END)`, `(coalesce(${answered}, false))`);
        return `coalesce(${latest} % 2 <> 0, false)`;
      }
      case 'bucket': {
        const b = d.md5Bucket(d.concat(p.str(`${c.salt}:`), 'base.pid'));
        return `(${b} >= ${p.int(c.from)} AND ${b} < ${p.int(c.to)})`;
      }
    }
  }

  /** A comparison per ast.ts: missing → false, negative operators → true on missing. */
  private compare(a: Accessor, c: Comparison, p = this.p): string {
    const { d } = this;
    const now = this.input.now;
    const f = (x: string) => `coalesce(${x}, false)`;
    const t = (x: string) => `coalesce(${x}, true)`;
    switch (c.op) {
      case 'eq': case 'neq': case 'lt': case 'lte': case 'gt': case 'gte': {
        const sym = { eq: '=', neq: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' }[c.op];
        const lit = c.value;
        const expr = typeof lit === 'number' ? `${a.num()} ${sym} ${p.float(lit)}`
          : typeof lit === 'boolean' ? `${a.bool()} ${sym} ${p.bind(lit, 'bool')}`
          : `${a.str()} ${sym} ${p.str(lit)}`;
        return c.op === 'neq' ? t(expr) : f(expr);
      }
      case 'in': case 'not_in': {
        const strs = c.values.filter((v): v is string => typeof v === 'string');
        const nums = c.values.filter((v): v is number => typeof v === 'number');
        const bools = c.values.filter((v): v is boolean => typeof v === 'boolean');
        const ors: string[] = [];
        if (strs.length) ors.push(f(d.inArray(a.str(), p.bind(strs, 'string[]'))));
        for (const n of nums) ors.push(f(`${a.num()} = ${p.float(n)}`));
        for (const b of bools) ors.push(f(`${a.bool()} = ${p.bind(b, 'bool')}`));
        const any = `(${ors.join(' OR ')})`;
        return c.op === 'in' ? any : `(NOT ${any})`;
      }
      case 'contains': case 'not_contains': {
        const x = d.contains(d.foldCase(a.str()), p.str(foldCase(c.value)));
        return c.op === 'contains' ? f(x) : t(`NOT ${x}`);
      }
      case 'starts_with': return f(d.startsWith(d.foldCase(a.str()), p.str(foldCase(c.value))));
      case 'ends_with': return f(d.endsWith(d.foldCase(a.str()), p.str(foldCase(c.value))));
      case 'exists': return `(${a.raw()} IS NOT NULL)`;
      case 'not_exists': return `(${a.raw()} IS NULL)`;
      case 'within_last': return f(`${a.date()} > ${p.int(now - c.amount * UNIT_MS[c.unit])} AND ${a.date()} <= ${p.int(now)}`);
      case 'within_next': return f(`${a.date()} >= ${p.int(now)} AND ${a.date()} < ${p.int(now + c.amount * UNIT_MS[c.unit])}`);
      case 'more_than_ago': return f(`${a.date()} <= ${p.int(now - c.amount * UNIT_MS[c.unit])}`);
      case 'before': return f(`${a.date()} < ${p.int(Date.parse(isoUtc(c.date)))}`);
      case 'after': return f(`${a.date()} > ${p.int(Date.parse(isoUtc(c.date)))}`);
      case 'anniversary_within': {
        const r = anniversaryRange(now, c.days);
        if (r.all) return `(${a.date()} IS NOT NULL)`;
        const md = d.monthDay(a.date());
        const inRange = r.start <= r.end
          ? `(${md} >= ${p.int(r.start)} AND ${md} <= ${p.int(r.end)})`
          : `(${md} >= ${p.int(r.start)} OR ${md} <= ${p.int(r.end)})`;
        return f(`CASE WHEN ${md} = 229 THEN ${p.bind(r.feb29, 'bool')} ELSE ${inRange} END`);
      }
    }
  }

  /** The value a leaf compares (for explain), as an SQL expression; null for and / or / not. */
  leafValue(c: Condition): string | null {
    const { d, p } = this;
    switch (c.type) {
      case 'and': case 'or': case 'not': return null;
      case 'trait': return d.jsonRaw(p, this.traitCol(c.trait), []);
      case 'event': return `coalesce(${this.aggregate('count', '', this.selector(c, c.window))}, 0)`;
      case 'aggregate': return this.aggregateValue(c.fn, c.path, c, c.window);
      case 'first_performed': return this.aggregate('min', 'ts', this.selector(c, c.window));
      case 'last_performed': return this.aggregate('max', 'ts', this.selector(c, c.window));
      case 'last_value': return this.latestRaw(c.path, c, c.window, 'last');
      case 'sequence': return null;
      case 'computed_trait': {
        const def = this.computedByKey.get(c.key);
        return def ? this.computedValue(def) : null;
      }
      case 'score': return this.scoreCol(c.model);
      case 'segment': case 'consent': return null;
      case 'bucket': return d.md5Bucket(d.concat(p.str(`${c.salt}:`), 'base.pid'));
    }
  }

  // ---- accessors ---------------------------------------------------------------------------------

  /**
   * A column of the ev CTE computed once per row; `guard` is the selector of the leaf that reads it (the
   * column is only computed on rows of that message type and name; null = every row); `r` qualifies it.
   * Every reader of such a column reads it under its own selector, so rows outside the guards never matter.
   */
  private evCol(expr: string, guard: EventSelector | null, r = '', otherwise = 'NULL', sql?: string): string {
    let c = this.evCols.get(expr);
    if (!c) {
      c = { alias: `x_${this.evCols.size}`, guards: new Map(), otherwise, sql };
      this.evCols.set(expr, c);
    }
    if (guard === null) c.guards = 'all';
    else if (c.guards !== 'all') {
      const mt = guard.messageType ?? 'track';
      c.guards.set(`${mt}\u0001${guard.event}`, { mt, event: guard.event });
    }
    return r ? `${r}.${c.alias}` : c.alias;
  }

  /** A value at a path of the event's properties or context, extracted once per row per type. */
  private rowAccessor(root: 'props' | 'ctx', keys: string[], guard: EventSelector | null, r = ''): Accessor {
    if (typeable(keys)) {
      const path: PropertyPath = { root: root === 'props' ? 'properties' : 'context', keys };
      const base = propertyColumn(path);
      this.paths.set(base, path);
      if (this.input.typedColumns?.has(base)) {
        // The column's key is the JSON expression it stands for, in canonical form (its own Params, so
        // nothing unused is bound): deduplication and state column names do not change with typing.
        const scratch = new Params(this.d);
        const canon = this.jsonAccessor(root, keys, scratch);
        const col = (sfx: TypedSuffix) => {
          this.typedRead.add(`${base}_${sfx}`);
          return `${base}_${sfx}`;
        };
        return pairAccessors(canon, this.typedAccessor(col), (key, sql) => this.evCol(scratch.canonical(key), guard, r, 'NULL', sql));
      }
    }
    return mapAccessor(this.jsonAccessor(root, keys), (x) => this.evCol(x, guard, r));
  }

  /**
   * The values of a path read from its typed columns (`col(sfx)`): what its JSON accessor computes. The
   * number: a numeric string, or else the raw text of a JSON number (NULL for other values).
   */
  private typedAccessor(col: (sfx: TypedSuffix) => string): Accessor {
    const { d } = this;
    return {
      str: () => col('s'),
      num: () => `(CASE WHEN ${col('s')} IS NOT NULL THEN ${d.numericString(col('s'))} ELSE ${d.tryDouble(col('r'))} END)`,
      bool: () => col('b'),
      raw: () => col('r'),
      date: () => `(CASE WHEN ${col('s')} IS NULL THEN ${d.tryDouble(col('r'))} ` +
        `WHEN ${d.regexFull(col('s'), this.p.str(ISO_RE))} THEN ${this.isoMs(col('s'))} END)`,
    };
  }

  /** Whether the value at a path is a JSON boolean, as an ev column (typed: its boolean column is set). */
  private rowIsBool(root: 'props' | 'ctx', keys: string[]): string {
    const base = typeable(keys) ? propertyColumn({ root: root === 'props' ? 'properties' : 'context', keys }) : null;
    if (base && this.input.typedColumns?.has(base)) {
      this.typedRead.add(`${base}_b`);
      const scratch = new Params(this.d);
      return this.evCol(scratch.canonical(this.d.jsonIs(scratch, root, keys, 'bool')), null, '', 'NULL', `(${base}_b IS NOT NULL)`);
    }
    return this.evCol(this.d.jsonIs(this.p, root, keys, 'bool'), null);
  }

  private jsonAccessor(doc: string, keys: string[], p = this.p): Accessor {
    const { d } = this;
    return {
      str: () => d.jsonString(p, doc, keys),
      num: () => d.jsonFloat(p, doc, keys),
      bool: () => d.jsonBool(p, doc, keys),
      raw: () => d.jsonRaw(p, doc, keys),
      date: () => `(CASE WHEN ${d.jsonIs(p, doc, keys, 'number')} THEN ${d.jsonFloat(p, doc, keys)} ` +
        `WHEN ${d.jsonIs(p, doc, keys, 'string')} AND ${d.regexFull(d.jsonString(p, doc, keys), p.str(ISO_RE))} ` +
        `THEN ${this.isoMs(d.jsonString(p, doc, keys), p)} END)`,
    };
  }

  /**
   * Epoch ms of a string that matches ISO_RE. A date alone (10 characters: birthdays, anniversaries) is
   * read as a date, without the time-zone normalisation of utcDateString (its regexes and the zoned
   * parse: 0.48 s → 0.35 s for an anniversary over 1M profiles).
   */
  private isoMs(s: string, p = this.p): string {
    return `(CASE WHEN ${this.d.stringLength(s)} = 10 THEN ${this.d.parseDateOnlyMs(s)} ELSE ${this.d.parseDateMs(this.utcDateString(s, p))} END)`;
  }

  /** ISO strings without an offset are UTC (as in reference.ts); a date-only string is midnight UTC. */
  private utcDateString(raw: string, p = this.p): string {
    const { d } = this;
    // hh:mm without seconds gets ":00" (DuckDB does not read 10:00Z), then a missing offset becomes Z
    const s = d.regexReplace(raw, p.str('T([0-9]{2}:[0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$'), p.str('T\\1:00\\2'));
    return `CASE WHEN ${d.regexFull(s, p.str('^.*T[^Z+]*$'))} AND NOT ${d.regexFull(s, p.str('^.*T.*-[0-9]{2}:[0-9]{2}$'))} THEN ${d.concat(s, p.str('Z'))} ELSE ${s} END`;
  }

  private numberAccessor(expr: string): Accessor {
    return { str: () => 'NULL', num: () => expr, bool: () => 'NULL', raw: () => this.d.toText(expr), date: () => 'NULL' };
  }

  private timeAccessor(ms: string): Accessor {
    return { str: () => 'NULL', num: () => ms, bool: () => 'NULL', raw: () => this.d.toText(ms), date: () => ms };
  }

  private computedAccessor(def: ComputedTraitDefinition): Accessor {
    const v = this.computedValue(def);
    switch (def.kind) {
      case 'count': case 'sum': case 'avg': case 'min': case 'max': case 'unique_count': case 'days_since_last': case 'days_since_first':
        return this.numberAccessor(v);
      default:
        return this.jsonAccessor(v, []);
    }
  }

  // ---- event leaves --------------------------------------------------------------------------------

  /** A boolean over one ev row (qualified by `r`): message type, name, window and filters. */
  /** The lower bound of a window on `ts` (of the row alias `r`), or null without one. */
  private windowStart(w: Window | undefined, r: string): string | null {
    const ts = r ? `${r}.ts` : 'ts';
    if (w?.type === 'last') {
      const bound = this.p.int(this.input.now - w.amount * UNIT_MS[w.unit]);
      this.nowPlaceholders.add(bound);
      return `${ts} > ${bound}`;
    }
    if (w?.type === 'between') return `${ts} >= ${this.p.int(Date.parse(isoUtc(w.from)))}`;
    return null;
  }

  private selector(s: EventSelector, w: Window | undefined, r = ''): string {
    const { d, p } = this;
    const col = (c: string) => (r ? `${r}.${c}` : c);
    const mt = s.messageType ?? 'track';
    // The message type and name test, once per row as a boolean column of ev that every leaf on the
    // same event shares (dozens of leaves re-comparing the name strings on every row cost ~15 %).
    const kind = s.event === '*' ? `mtype = ${p.str(mt)}` : `mtype = ${p.str(mt)} AND ${mt === 'track' ? 'ename' : 'pname'} = ${p.str(s.event)}`;
    const kindCol = this.evCol(`coalesce(${kind}, false)`, null, r, 'false');
    if (!r) {
      this.kindCols.set(kindCol, `(${kind})`);
      const share = s.event === '*'
        ? (this.input.eventShares ?? []).filter((x) => x.type === mt).reduce((sum, x) => sum + x.share, 0)
        : this.input.eventShares?.find((x) => x.type === mt && x.event === s.event)?.share ?? 0;
      if (share >= DENSE_KIND_SHARE) this.denseKinds.add(kindCol);
    }
    const conds = [kindCol];
    const start = w?.type === 'last' ? this.windowStart(w, r) : null;
    if (start) conds.push(start);
    // (not windowStart for 'between': its two bounds are one condition, which state column names hash)
    if (w?.type === 'between') conds.push(`${col('ts')} >= ${p.int(Date.parse(isoUtc(w.from)))} AND ${col('ts')} < ${p.int(Date.parse(isoUtc(w.to)))}`);
    const items: Filter[] = [];
    for (const f of s.where ?? []) {
      const [root, ...keys] = f.path.split('.');
      if (root === 'products') items.push(f);
      else conds.push(this.compare(this.rowAccessor(root === 'context' ? 'ctx' : 'props', keys, s, r), f));
    }
    if (items.length) conds.push(this.itemsExist(s, r, items));
    return `(${conds.map((c) => `coalesce(${c}, false)`).join(' AND ')})`;
  }

  /**
   * Whether some line item of a row passes all `items` filters. With typed line items, one string
   * equality (eq, or in with only strings) is a test of the path's list of string values instead, with
   * no line records built nor a lambda per row: the five "bought category X" segments of the segment
   * bench went ~20.9 s → ~19.6 s for the statement at 50M events. (A line that is not an object has a
   * NULL there, as it has no field.) The column's key is the record form's expression with its fields
   * written out (expandItems), so state column names stay those of the record form and of the JSON.
   */
  private itemsExist(s: EventSelector, r: string, items: Filter[]): string {
    const f = items.length === 1 ? items[0] : undefined;
    const keys = f ? f.path.split('.').slice(1) : [];
    const strs = f?.op === 'eq' && typeof f.value === 'string' ? [f.value]
      : f?.op === 'in' && f.values.length > 0 && f.values.every((v): v is string => typeof v === 'string') ? f.values as string[] : null;
    if (!this.typedItems || !f || !strs || !typeable(keys)) return this.d.arrayExists(this.itemsCol(s, r), 'li', this.itemFilter(items));
    const path: PropertyPath = { root: 'products', keys };
    this.paths.set(propertyColumn(path), path);
    const scratch = new Params(this.d);
    const field = mapAccessor(this.jsonAccessor('li', keys, scratch), (x) => scratch.canonical(x));
    const isObject = `coalesce(${scratch.canonical(this.d.jsonIs(scratch, 'li', [], 'object'))}, false)`;
    const lines = scratch.canonical(this.d.jsonArray(scratch, 'props', ['products']));
    // (the comparison's values bound in `scratch` too: only the list parameter is in the statement)
    const key = scratch.canonical(this.d.arrayExists(lines, 'li', `(${isObject} AND coalesce(${this.compare(field, f, scratch)}, false))`));
    // One value: list_contains. list_has_any builds a set for every row: five "bought category X"
    // tests over 5M orders took 1.1-1.35 s, against 0.28 s.
    const col = this.itemColumn(path, 's', false);
    const [one] = strs;
    return this.evCol(key, s, r, 'NULL', strs.length === 1 && one !== undefined ? this.d.arrayContains(col, this.p.str(one)) : this.d.arrayHasAny(col, this.p.bind(strs, 'string[]')));
  }

  /** The line items of a row of `s`'s event that pass its `products.*` filters. */
  private keptItems(s: EventSelector): string {
    return this.d.arrayFilter(this.itemsCol(s), 'li', this.itemFilter((s.where ?? []).filter((f) => f.path.startsWith('products.'))));
  }

  /** All filters on one line item `li`; a line item that is not an object matches none (not even neq). */
  private itemFilter(items: Filter[]): string {
    if (items.length === 0) return 'true';
    const scratch = new Params(this.d);
    const isObject = `coalesce(${this.typedItems
      ? this.itemField(scratch.canonical(this.d.jsonIs(scratch, 'li', [], 'object')), this.itemColumn(ITEM_LINE, 'b'))
      : this.itemField(this.d.jsonIs(this.p, 'li', [], 'object'))}, false)`;
    return `(${[isObject, ...items.map((f) => `coalesce(${this.compare(this.itemAccessor(f.path.split('.').slice(1)), f)}, false)`)].join(' AND ')})`;
  }

  /**
   * The column of ev that holds an order row's line items (`products`), each a record of the values
   * leaves read (itemField), for the rows of `guard`'s event; `r` qualifies it.
   */
  private itemsCol(guard: EventSelector, r = ''): string {
    this.paths.set(propertyColumn(ITEM_LINE), ITEM_LINE);
    // typed: the lines' object flags stand for the array (the record is built by index, see evOf)
    const scratch = new Params(this.d);
    const key = this.typedItems ? scratch.canonical(this.d.jsonArray(scratch, 'props', ['products'])) : this.d.jsonArray(this.p, 'props', ['products']);
    const col = this.typedItems
      ? this.evCol(key, guard, r, '[]', this.itemColumn(ITEM_LINE, 'b', false))
      : this.evCol(key, guard, r, this.d.emptyArray());
    const c = this.evCols.get(key);
    if (c) c.items = true;
    return col;
  }

  /**
   * A value of the line item `li` (an expression over its JSON text), computed once per line into the
   * items column: the field of the record that holds it. State column names read through it to the
   * expression (aggColumn), so they are those of the expression written out.
   */
  private itemField(expr: string, typed?: string): string {
    let f = this.itemFields.get(expr);
    if (!f) {
      const index = this.itemFields.size;
      f = { index, ref: this.d.structField('li', index), typed };
      this.itemFields.set(expr, f);
    }
    return f.ref;
  }

  /** A typed column of a line-item path: read into ev, and (`at`) its element for the line (zipped). */
  private itemColumn(path: PropertyPath, sfx: TypedSuffix, at = true): string {
    const col = `${propertyColumn(path)}_${sfx}`;
    this.typedRead.add(col);
    if (!at) return col;
    if (!this.zipCols.has(col)) this.zipCols.set(col, this.zipCols.size);
    return this.d.zipElement('li_z', this.zipCols.get(col) ?? 0);
  }

  /** A path of the line item `li`, each value read once per line (itemField). */
  private itemAccessor(keys: string[]): Accessor {
    const path: PropertyPath = { root: 'products', keys };
    if (typeable(keys)) this.paths.set(propertyColumn(path), path);
    else this.itemsUntyped = true;
    if (this.typedItems) {
      // the JSON accessor over its own Params gives the field's key; the value comes from the columns
      const scratch = new Params(this.d);
      const canon = this.jsonAccessor('li', keys, scratch);
      return pairAccessors(canon, this.typedAccessor((sfx) => this.itemColumn(path, sfx)), (json, sql) => this.itemField(scratch.canonical(json), sql));
    }
    const inner = this.jsonAccessor('li', keys);
    return {
      str: () => this.itemField(inner.str()),
      num: () => this.itemField(inner.num()),
      bool: () => this.itemField(inner.bool()),
      raw: () => this.itemField(inner.raw()),
      date: () => this.itemField(inner.date()),
    };
  }

  /** One shared conditional aggregate; identical leaves share a column. */
  private aggregate(fn: Parameters<Dialect['agg']>[0], expr: string, cond: string): string {
    return this.aggColumn(this.d.agg(fn, expr, cond), MERGE_OF[fn] ?? null, cond, (c) => this.d.agg(fn, expr, c));
  }

  /** The kind column a condition starts with (selector's first conjunct), if any. */
  private kindOf(cond: string): string | null {
    const m = /^\(coalesce\((x_[0-9]+), false\)/.exec(cond);
    return m && this.kindCols.has(m[1] as string) ? (m[1] as string) : null;
  }

  /**
   * `build`: the aggregate's SQL for another condition. Over its kind's own rows (a group of one kind)
   * the kind's conjunct is always true, and an aggregate without it (or without any filter) is cheaper:
   * the segment bench's statement 16.0 / 17.8 / 16.0 s -> 15.1 / 16.5 / 15.5 s.
   */
  private aggColumn(sql: string, merge: MergeKind | null, cond: string, build?: (cond: string) => string): string {
    const a = alias(this.aggs, sql, 'a_');
    if (!this.aggKind.has(a)) {
      const k = this.kindOf(cond);
      this.aggKind.set(a, k);
      // the first occurrence is the leading conjunct (kindOf)
      if (k && build) {
        const reduced = cond.replace(`coalesce(${k}, false)`, 'true');
        this.inKindSql.set(a, build(reduced === '(true)' ? 'true' : reduced));
      }
    }
    if (!this.aggMeta.has(a)) {
      const rolling = [...this.nowPlaceholders].some((ph) => Params.mentions(sql, ph));
      // The name must not depend on what else is compiled: typed-column aliases (x_N, numbered in order
      // of use) are replaced by their expressions and placeholders by their values.
      const expanded = this.expandItems(sql.replace(/\bx_[0-9]+\b/g, (m) => [...this.evCols].find(([, c]) => c.alias === m)?.[0] ?? m));
      this.aggMeta.set(a, { merge: rolling ? null : merge, name: `k_${md5Hex(this.d.name + ':' + this.p.canonical(expanded)).slice(0, 20)}` });
    }
    return `agg.${a}`;
  }

  /** Line-item fields written out as the expressions they hold (the text state column names hash). */
  private expandItems(sql: string): string {
    if (this.itemFields.size === 0) return sql;
    const byRef = new Map([...this.itemFields].map(([expr, f]) => [f.ref, expr]));
    const refs = [...byRef.keys()].sort((a, b) => b.length - a.length).map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return sql.replace(new RegExp(`(?:${refs.join('|')})(?![0-9A-Za-z_])`, 'g'), (m) => byRef.get(m) ?? m);
  }

  /** sum / avg / min / max / count_distinct of a path over the selected events (or their line items). */
  private aggregateValue(fn: 'sum' | 'avg' | 'min' | 'max' | 'count_distinct', path: string, s: EventSelector, w: Window | undefined): string {
    const { d, p } = this;
    const sel = this.selector(s, w);
    const [root, ...keys] = path.split('.');
    if (root === 'products') {
      const kept = this.keptItems(s);
      const item = this.itemAccessor(keys);
      if (fn === 'count_distinct') return `coalesce(${d.arrayLength(this.flattenDistinct(d.arrayMap(kept, 'li', item.raw()), sel))}, 0)`;
      // Each order row's lines aggregated first, then the rows: no list of every line of a profile is
      // built (nor kept in state, where it grew with every order), and the partials merge as numbers.
      const nums = d.arrayCompact(d.arrayMap(kept, 'li', item.num()));
      if (fn === 'avg') {
        const n = this.aggregate('sum', d.arrayLength(nums), sel);
        return `(CASE WHEN ${n} > 0 THEN ${this.aggregate('sum', d.arrayAgg('sum', nums), sel)} / ${n} END)`;
      }
      const v = this.aggregate(fn, d.arrayAgg(fn, nums), sel);
      return fn === 'sum' ? `coalesce(${v}, 0)` : v;
    }
    const acc = this.rowAccessor(root === 'context' ? 'ctx' : 'props', keys, s);
    if (fn === 'count_distinct') return `coalesce(${this.aggregate('count_distinct', acc.raw(), sel)}, 0)`;
    if (fn === 'avg') {
      // sum / count of the numeric values rather than avg(): both merge, so an average can be kept incrementally
      const x = acc.num();
      const n = this.aggregate('count', '', `${sel} AND ${x} IS NOT NULL`);
      return `(CASE WHEN ${n} > 0 THEN ${this.aggregate('sum', x, sel)} / ${n} END)`;
    }
    const v = this.aggregate(fn, acc.num(), sel);
    return fn === 'sum' ? `coalesce(${v}, 0)` : v;
  }

  /** The distinct non-NULL elements of the rows' arrays (NULL when no row): kept in state as a set. */
  private flattenDistinct(arr: string, cond: string): string {
    return this.aggColumn(this.d.aggFlattenDistinct(arr, cond), 'union', cond, (c) => this.d.aggFlattenDistinct(arr, c));
  }

  /**
   * Raw JSON text at `path` of the latest (or earliest) selected event: the max (min) of the dialect's
   * edge key (time, then present above missing, then text), so ties resolve the same way on every
   * engine (reference.ts).
   */
  private latestRaw(path: string, s: EventSelector, w: Window | undefined, which: 'first' | 'last'): string {
    const { d } = this;
    const [root, ...keys] = path.split('.');
    const raw = this.rowAccessor(root === 'context' ? 'ctx' : 'props', keys, s).raw();
    return d.edgeRaw(this.aggregate(which === 'last' ? 'max' : 'min', d.edgeKey('ts', raw), this.selector(s, w)));
  }

  /** A sequence (or "A then not B") as a CTE of the profiles where it holds; returns its join alias. */
  private sequence(c: Extract<Condition, { type: 'sequence' }>): string {
    const memo = JSON.stringify(c);
    const hit = this.cteMemo.get(memo);
    if (hit) return hit;
    const { d, p } = this;
    const alias = `sq_${this.cteMemo.size}`;
    // The joins read the sequence's own rows (its steps within the window, and the events that block
    // it), filtered from ev once and materialized with only the columns they use: joined straight
    // from ev, ev had to be materialized whole (every row and column of every event: at 50M events
    // most of a full run's statement), where now every other reader of ev can have it inlined.
    const pre = `${alias}e`;
    const T = p.int(c.within.amount * UNIT_MS[c.within.unit]);
    const n = c.steps.length;
    const from = [`${pre} e0`];
    const where: string[] = [this.selector(c.steps[0] as EventSelector, c.window, 'e0')];
    for (let i = 1; i < n; i++) {
      from.push(`JOIN ${pre} e${i} ON e${i}.pid = e0.pid`);
      where.push(this.selector(c.steps[i] as EventSelector, c.window, `e${i}`));
      where.push(`e${i}.ts >= e${i - 1}.ts`);
      for (let j = 0; j < i; j++) where.push(`e${i}.mid <> e${j}.mid`);
    }
    where.push(`e${n - 1}.ts - e0.ts <= ${T}`);
    let body: string;
    // A blocker counts only from the last step on, and the steps are inside the window: blockers from
    // before the window's start can never count. Leaving them out kept the abandoned-cart rows to the
    // window's orders instead of every order ever (5M of 50M events in the segment bench).
    const blocker = (r: string) => {
      const sel = this.selector(c.thenNot as EventSelector, undefined, r);
      const start = this.windowStart(c.window, r);
      return start ? `(${sel} AND ${start})` : sel;
    };
    const rowsOf = [...c.steps.map((st) => this.selector(st as EventSelector, c.window)), ...(c.thenNot ? [blocker('')] : [])];
    const readers = [...where];
    if (!c.thenNot) {
      body = `SELECT e0.pid AS pid, 1 AS hit FROM ${from.join(' ')} WHERE ${where.join(' AND ')} GROUP BY e0.pid`;
    } else {
      where.push(`e${n - 1}.ts + ${T} <= ${p.int(this.input.now)}`);
      const chains = `SELECT DISTINCT e0.pid AS pid, e${n - 1}.ts AS tend FROM ${from.join(' ')} WHERE ${where.join(' AND ')}`;
      const blocks = blocker('x0');
      readers.push(blocks);
      const xs = `SELECT x0.pid AS pid, x0.ts AS ts FROM ${pre} x0 WHERE ${blocks}`;
      const blocked = d.agg('count', '', `coalesce(x.ts >= ch.tend AND x.ts <= ch.tend + ${T}, false)`);
      body = `SELECT pid, 1 AS hit FROM (SELECT ch.pid AS pid, ch.tend AS tend, ${blocked} AS blocked FROM (${chains}) ch LEFT JOIN (${xs}) x ON x.pid = ch.pid GROUP BY ch.pid, ch.tend) w WHERE blocked = 0 GROUP BY pid`;
    }
    // (identifiers only: every value is bound, so no literal can look like a column reference)
    const cols = new Set(['pid', 'mid', 'ts']);
    for (const r of readers) for (const m of r.matchAll(/\b(?:e[0-9]+|x0)\.([A-Za-z_][A-Za-z0-9_]*)/g)) cols.add(m[1] as string);
    this.ctes.push(`${pre} AS${d.materializedCte ?? ''} (SELECT ${[...cols].join(', ')} FROM ev WHERE ${rowsOf.join(' OR ')})`);
    this.ctes.push(`${alias} AS (${body})`);
    this.joins.push(`LEFT JOIN ${alias} ON ${alias}.pid = base.pid`);
    this.cteMemo.set(memo, alias);
    return alias;
  }

  private traitCol(key: string): string {
    return `tr.${alias(this.traitCols, key, 't_')}`;
  }

  private scoreCol(model: string): string {
    return `sc.${alias(this.scoreCols, model, 'm_')}`;
  }

  // ---- computed traits ----------------------------------------------------------------------------

  /** The SQL value of a computed trait: a number for counters and numeric kinds, else raw JSON text. */
  computedValue(c: ComputedTraitDefinition): string {
    const { d, p } = this;
    const sel = this.selector(c, c.window);
    const path = c.path ?? '';
    switch (c.kind) {
      case 'count': return `coalesce(${this.aggregate('count', '', sel)}, 0)`;
      case 'sum': case 'avg': case 'min': case 'max': return this.aggregateValue(c.kind, path, c, c.window);
      case 'unique_count': return this.aggregateValue('count_distinct', path, c, c.window);
      case 'first': return this.latestRaw(path, c, c.window, 'first');
      case 'last': return this.latestRaw(path, c, c.window, 'last');
      case 'days_since_last': case 'days_since_first': {
        const t = this.aggregate(c.kind === 'days_since_last' ? 'max' : 'min', 'ts', sel);
        return d.intDiv(`(${p.int(this.input.now)} - ${t})`, p.int(86_400_000));
      }
      case 'unique_list': {
        const [root, ...keys] = path.split('.');
        const values = root === 'products'
          ? this.flattenDistinct(d.arrayMap(this.keptItems(c), 'li', this.itemAccessor(keys).raw()), sel)
          : this.aggregate('list_distinct', this.rowAccessor(root === 'context' ? 'ctx' : 'props', keys, c).raw(), sel);
        // (values is a set already, of non-NULL values: a set aggregate, or sets united in state)
        const list = d.arraySortLimit(values, 100);
        return `(CASE WHEN ${d.arrayLength(list)} > 0 THEN ${d.concat("'['", d.arrayJoin(list, "','"), "']'")} END)`;
      }
      case 'most_frequent': return this.mostFrequent(c);
    }
  }

  /** Most frequent value (ties: the smallest JSON text) — a grouped CTE, joined like a sequence. */
  private mostFrequent(c: ComputedTraitDefinition): string {
    const memo = 'mf:' + JSON.stringify(c);
    let alias = this.cteMemo.get(memo);
    if (!alias) {
      const { d } = this;
      alias = `mf_${this.cteMemo.size}`;
      const [root, ...keys] = (c.path ?? '').split('.');
      const raw = this.rowAccessor(root === 'context' ? 'ctx' : 'props', keys, c).raw();
      // filtered by the kind's own predicate first, which DuckDB pushes into the scan of events (by the
      // kind column alone, every event was read and filtered: 50M rows for a trait over 30M page views)
      const sel = this.selector(c, c.window);
      const k = this.kindOf(sel);
      const kind = k ? `${this.kindCols.get(k) ?? k} AND ` : '';
      const counted = `SELECT pid, v, count(*) AS n FROM (SELECT pid, ${raw} AS v FROM ev WHERE ${kind}${sel}) x WHERE v IS NOT NULL GROUP BY pid, v`;
      // Higher count first, then the smaller text: the value with the smallest (-n, v). (As the min of
      // zero-padded (1e12 - n) || v, the strings built for 5M (profile, value) rows cost 0.3-0.7 s more.)
      this.ctes.push(`${alias} AS (SELECT pid, ${d.argMinTuple('v', ['-n', 'v'])} AS hit FROM (${counted}) y GROUP BY pid)`);
      this.joins.push(`LEFT JOIN ${alias} ON ${alias}.pid = base.pid`);
      this.cteMemo.set(memo, alias);
    }
    return `${alias}.hit`;
  }
}

const MERGE_OF: Partial<Record<Parameters<Dialect['agg']>[0], MergeKind>> = {
  count: 'count', sum: 'sum', min: 'min', max: 'max', any: 'max', list_distinct: 'union',
};

/** The column alias of a key in a registry (the next numbered one the first time it is asked for). */
function alias(registry: Map<string, string>, key: string, prefix: string): string {
  let a = registry.get(key);
  if (!a) {
    a = `${prefix}${registry.size}`;
    registry.set(key, a);
  }
  return a;
}

/** A date-only or offset-less ISO string is read as UTC. */
export function isoUtc(s: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return `${s}T00:00:00Z`;
  if (/T[^Z+]*$/.test(s) && !/T.*-\d{2}:\d{2}$/.test(s)) return `${s}Z`;
  return s;
}

/**
 * The month-days (month * 100 + day) covered by [today, today + days] in UTC calendar days, as one
 * circular range, and whether a 29 February birthday falls in it (it is celebrated on 28 February in
 * years without one).
 */
export function anniversaryRange(now: number, days: number): { all: boolean; start: number; end: number; feb29: boolean } {
  if (days >= 365) return { all: true, start: 0, end: 0, feb29: true };
  const day0 = Math.floor(now / 86_400_000);
  let feb29 = false;
  let start = 0;
  let end = 0;
  for (let i = 0; i <= days; i++) {
    const dt = new Date((day0 + i) * 86_400_000);
    const m = dt.getUTCMonth() + 1;
    const dd = dt.getUTCDate();
    const md = m * 100 + dd;
    const y = dt.getUTCFullYear();
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (md === 229 || (md === 228 && !leap)) feb29 = true;
    if (i === 0) start = md;
    end = md;
  }
  return { all: false, start, end, feb29 };
}

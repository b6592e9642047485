/**
 * Per-profile feature columns for models: computed traits as of a time, evaluated by the segment
 * compiler in ONE statement (a shared scan of the events) and read column-wise, and current profile
 * traits. The behavioural library and the statistical models both read their inputs through here.
 */
import { NUMERIC_COMPUTED_KINDS, type ComputedTraitDefinition } from '../domain/segments/ast.js';
import { compileWorkspace } from '../domain/segments/compile.js';
import { DIALECTS } from '../domain/sql/dialects.js';
import type { StoragePort } from '../ports/storage.js';

export interface FeatureColumns {
  /** Active (not merged-away) profiles, in the order of every column. */
  profileIds: string[];
  /** Numeric kinds: one value per profile, NaN where the profile has none. */
  columns: Record<string, Float64Array>;
  /** The other kinds (most frequent, first / last values, lists): text per profile. */
  text: Record<string, Array<string | null>>;
}

/**
 * Computed-trait definitions evaluated for every active profile as of `asOf` (events up to then).
 * Profiles come in id order unless `ordered` is false (readers whose result does not depend on the
 * order save the sort; the statistical models seed their sampling by row, so they keep it).
 */
export async function computedFeatures(store: StoragePort, ws: string, defs: readonly ComputedTraitDefinition[], asOf: number, opts: { ordered?: boolean } = {}): Promise<FeatureColumns> {
  const q = compileWorkspace(DIALECTS[store.segments.dialect], {
    workspaceId: ws, now: asOf, segments: [], computed: [...defs], typedColumns: store.segments.typedColumns(), eventShares: await store.segments.eventShares(ws),
    ordered: opts.ordered ?? true,
  });
  // Column-wise: a row object per profile with ~200 features did not fit the heap at 1M profiles.
  const read = await store.segments.queryColumns(q, new Set(q.computedColumns.filter((c) => NUMERIC_COMPUTED_KINDS.has(c.kind)).map((c) => c.column)));
  const n = read.rows;
  const out: FeatureColumns = { profileIds: (read.texts.get('pid') ?? []).map((p) => String(p)), columns: {}, text: {} };
  for (const c of q.computedColumns) {
    if (NUMERIC_COMPUTED_KINDS.has(c.kind)) out.columns[c.key] = read.numbers.get(c.column) ?? new Float64Array(n).fill(NaN);
    else {
      // (in place: the column is this read's own; a second array per text column was ~30M values at 1M profiles)
      const col = read.texts.get(c.column) ?? new Array<string | null>(n).fill(null);
      for (let i = 0; i < col.length; i++) col[i] = textOf(col[i]);
      out.text[c.key] = col;
    }
  }
  return out;
}

/** Each profile id's row. */
export function rowIndex(profileIds: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  profileIds.forEach((p, i) => index.set(p, i));
  return index;
}

/**
 * Current values of profile traits (model outputs included) for the given profiles (id → row), as
 * numbers (NaN where missing or not numeric) and as text.
 */
export async function traitFeatures(store: StoragePort, ws: string, index: ReadonlyMap<string, number>, keys: readonly string[], modelKeys: ReadonlyMap<string, string>): Promise<{ numbers: Map<string, Float64Array>; texts: Map<string, Array<string | null>> }> {
  const n = index.size;
  const numbers = new Map<string, Float64Array>();
  const texts = new Map<string, Array<string | null>>();
  for (const k of keys) {
    numbers.set(k, new Float64Array(n).fill(NaN));
    texts.set(k, new Array<string | null>(n).fill(null));
  }
  if (!keys.length) return { numbers, texts };
  for (const t of await store.latestTraitValues(ws, [...keys], modelKeys)) {
    const i = index.get(t.profileId);
    if (i === undefined) continue; // merged away, or not in this population
    const v = textOf(t.value);
    (texts.get(t.key) as Array<string | null>)[i] = v;
    (numbers.get(t.key) as Float64Array)[i] = v === null || v.trim() === '' ? NaN : numeric(v);
  }
  return { numbers, texts };
}

/** A stored value (JSON text) as text: strings unquoted, other JSON as written; null when absent. */
export function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v);
  if (s.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(s);
      if (typeof parsed === 'string') return parsed;
    } catch { /* not JSON: keep the text */ }
  }
  return s === 'null' ? null : s;
}

export function numeric(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

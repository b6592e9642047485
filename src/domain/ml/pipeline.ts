/**
 * The feature pipeline in front of clustering: raw profile columns → a numeric matrix where distances
 * mean something. Per numeric column: missing values imputed with the median, `log1p` for skewed
 * non-negative amounts (money, counts), then standardisation (mean 0, population sd 1); constant
 * columns are dropped (they carry no distance). Per categorical column (strings): missing becomes the
 * level "missing", the `topLevels` most frequent levels get a 0/1 column each and the rest share an
 * "other" column.
 *
 * `fitPipeline` learns the medians, means, sds and levels once and returns them as a JSON-serialisable
 * `PipelineSpec` (stored beside the model, so that scoring new profiles applies exactly the same
 * transform); `applyPipeline(spec, columns)` does the transform. Both are deterministic.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import { matrix, type Matrix } from './types.js';

/** A raw column: numbers (NaN, null, undefined = missing) or strings (null, undefined, '' = missing). */
export type RawColumn = ReadonlyArray<number | string | null | undefined> | Float64Array;
export type RawColumns = Readonly<Record<string, RawColumn>>;

export type ColumnTransform = 'auto' | 'log1p' | 'standard' | 'onehot' | 'drop';

export interface PipelineOptions {
  /** Columns to use, in output order (default: every key of the input, in key order). */
  columns?: readonly string[];
  /**
   * `auto` applies log1p to a numeric column whose values are all ≥ 0 and whose skewness (Fisher-Pearson,
   * of the non-missing values) exceeds this. Default 1: the usual "highly skewed" line; spend, order
   * counts and tenure in days are typically 2-10, ages and scores below 1.
   */
  skewThreshold?: number;
  /** Levels of a categorical column kept as their own 0/1 column (default 10); the rest become "other". */
  topLevels?: number;
  /** Per-column override of `auto`. */
  transforms?: Readonly<Record<string, ColumnTransform>>;
}

export const MISSING_LEVEL = 'missing';
export const OTHER_LEVEL = 'other';

const numericStep = z.object({
  name: z.string(),
  kind: z.literal('numeric'),
  log1p: z.boolean(),
  /** Skewness of the non-missing raw values (null when fewer than 2 or constant). */
  skewness: z.number().nullable(),
  /** Imputed for missing values (median of the non-missing raw values). */
  median: z.number(),
  /** Mean and population sd after imputation and log1p. */
  mean: z.number(),
  sd: z.number().positive(),
  missing: z.number().int().nonnegative(),
});
const categoricalStep = z.object({
  name: z.string(),
  kind: z.literal('categorical'),
  /** Levels with a column of their own, most frequent first ("missing" is a level like any other). */
  levels: z.array(z.string()),
  /** Whether an "other" column follows the levels (levels beyond topLevels at fit). */
  other: z.boolean(),
  missing: z.number().int().nonnegative(),
});
const droppedStep = z.object({
  name: z.string(),
  kind: z.literal('dropped'),
  reason: z.enum(['constant', 'all-missing', 'requested']),
  missing: z.number().int().nonnegative(),
});
const pipelineSpec = z.object({
  version: z.literal(1),
  /** Rows the pipeline was fitted on. */
  rows: z.number().int().nonnegative(),
  skewThreshold: z.number(),
  topLevels: z.number().int().positive(),
  steps: z.array(z.discriminatedUnion('kind', [numericStep, categoricalStep, droppedStep])),
  /** Output column names, in matrix order. */
  names: z.array(z.string()),
});

export type NumericStep = z.infer<typeof numericStep>;
export type CategoricalStep = z.infer<typeof categoricalStep>;
export type DroppedStep = z.infer<typeof droppedStep>;
export type PipelineStep = z.infer<typeof pipelineSpec>['steps'][number];
export type PipelineSpec = z.infer<typeof pipelineSpec>;

/** Reads a stored spec (InputError when it is not one). */
export function parsePipelineSpec(json: unknown): PipelineSpec {
  const r = pipelineSpec.safeParse(json);
  if (!r.success) throw new InputError('bad_input', `not a pipeline spec: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

type Kind = 'numeric' | 'categorical' | 'empty';

function isMissing(v: number | string | null | undefined): boolean {
  return v === null || v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v));
}

function kindOf(name: string, col: RawColumn): Kind {
  if (col instanceof Float64Array) return 'numeric';
  let kind: Kind = 'empty';
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (isMissing(v)) continue;
    const k: Kind = typeof v === 'number' ? 'numeric' : typeof v === 'string' ? 'categorical' : 'empty';
    if (k === 'empty') throw new InputError('wrong_type', `column '${name}' row ${i}: ${typeof v} is neither a number nor a string`, name);
    if (kind !== 'empty' && k !== kind) throw new InputError('wrong_type', `column '${name}' mixes numbers and strings (row ${i})`, name);
    kind = k;
  }
  return kind;
}

function rowCount(raw: RawColumns, names: readonly string[]): number {
  let n = -1;
  for (const name of names) {
    const col = raw[name];
    if (col === undefined) throw new InputError('bad_input', `column '${name}' is missing from the input`, name);
    if (n === -1) n = col.length;
    else if (col.length !== n) throw new InputError('bad_input', `column '${name}' has ${col.length} rows, the others ${n}`, name);
  }
  return Math.max(n, 0);
}

function numericValues(name: string, col: RawColumn): { values: Float64Array; present: Float64Array; missing: number } {
  const n = col.length;
  const values = new Float64Array(n);
  const present: number[] = [];
  let missing = 0;
  for (let i = 0; i < n; i++) {
    const v = col[i];
    if (isMissing(v)) {
      values[i] = NaN;
      missing++;
    } else if (typeof v !== 'number') {
      throw new InputError('wrong_type', `column '${name}' row ${i}: expected a number, got '${String(v)}'`, name);
    } else if (!Number.isFinite(v)) {
      throw new InputError('bad_input', `column '${name}' row ${i}: ${v} is not a finite number`, name);
    } else {
      values[i] = v;
      present.push(v);
    }
  }
  return { values, present: Float64Array.from(present), missing };
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  const h = n >> 1;
  return n % 2 ? (sorted[h] as number) : ((sorted[h - 1] as number) + (sorted[h] as number)) / 2;
}

/** Fisher-Pearson skewness g₁ = m₃ / m₂^1.5 (null when undefined). */
export function skewness(v: Float64Array): number | null {
  const n = v.length;
  if (n < 2) return null;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += v[i] as number;
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < n; i++) {
    const t = (v[i] as number) - mean;
    m2 += t * t;
    m3 += t * t * t;
  }
  m2 /= n;
  m3 /= n;
  // Relative to the scale of the values: rounding noise in a constant column is not spread.
  if (m2 <= 1e-24 * Math.max(1, mean * mean)) return null;
  return m3 / m2 ** 1.5;
}

export interface PipelineFit {
  spec: PipelineSpec;
  /** Human-readable account of each column's treatment (for the fit report). */
  notes: string[];
}

/** Learns the transform of each column (see the file comment). */
export function fitPipeline(raw: RawColumns, opts: PipelineOptions = {}): PipelineFit {
  const names = opts.columns ?? Object.keys(raw);
  if (names.length === 0) throw new InputError('bad_input', 'the pipeline needs at least one column');
  if (new Set(names).size !== names.length) throw new InputError('bad_option', 'a column is listed twice', 'columns');
  const skewThreshold = opts.skewThreshold ?? 1;
  const topLevels = opts.topLevels ?? 10;
  if (!Number.isFinite(skewThreshold)) throw new InputError('bad_option', `skewThreshold must be a finite number, got ${skewThreshold}`, 'skewThreshold');
  if (!Number.isInteger(topLevels) || topLevels < 1) throw new InputError('bad_option', `topLevels must be an integer ≥ 1, got ${topLevels}`, 'topLevels');
  for (const t of Object.keys(opts.transforms ?? {})) if (!names.includes(t)) throw new InputError('bad_option', `transform given for '${t}', which is not a pipeline column`, 'transforms');
  const rows = rowCount(raw, names);
  const steps: PipelineStep[] = [];
  const notes: string[] = [];
  for (const name of names) {
    const col = raw[name] as RawColumn;
    const transform = opts.transforms?.[name] ?? 'auto';
    const kind = kindOf(name, col);
    let missing = 0;
    for (let i = 0; i < col.length; i++) if (isMissing(col[i])) missing++;
    if (transform === 'drop') {
      steps.push({ name, kind: 'dropped', reason: 'requested', missing });
      notes.push(`${name}: dropped (requested)`);
      continue;
    }
    if (kind === 'empty') {
      steps.push({ name, kind: 'dropped', reason: 'all-missing', missing });
      notes.push(`${name}: dropped, every value is missing`);
      continue;
    }
    if (kind === 'categorical' || transform === 'onehot') {
      const step = fitCategorical(name, col, topLevels, missing);
      if (step.levels.length + (step.other ? 1 : 0) < 2) {
        steps.push({ name, kind: 'dropped', reason: 'constant', missing });
        notes.push(`${name}: dropped, a single level ('${step.levels[0] ?? ''}')`);
      } else {
        steps.push(step);
        notes.push(`${name}: one-hot, ${step.levels.length} levels${step.other ? ' + other' : ''}${missing ? `, ${missing} missing as '${MISSING_LEVEL}'` : ''}`);
      }
      continue;
    }
    const { values, present } = numericValues(name, col);
    const sorted = present.slice().sort();
    const med = median(sorted);
    const skew = skewness(present);
    const min = sorted[0] as number;
    let log1p: boolean;
    if (transform === 'log1p') {
      if (min < 0) throw new InputError('bad_option', `column '${name}' has negative values (${min}); log1p needs values ≥ 0`, name);
      log1p = true;
    } else if (transform === 'standard') {
      log1p = false;
    } else {
      log1p = min >= 0 && skew !== null && skew > skewThreshold;
    }
    let mean = 0;
    for (let i = 0; i < rows; i++) {
      const v = values[i] as number;
      const u = Number.isNaN(v) ? med : v;
      values[i] = log1p ? Math.log1p(u) : u;
      mean += values[i] as number;
    }
    mean /= rows;
    let ss = 0;
    for (let i = 0; i < rows; i++) ss += ((values[i] as number) - mean) ** 2;
    const sd = Math.sqrt(ss / rows);
    if (!(sd > 1e-12 * Math.max(1, Math.abs(mean)))) {
      steps.push({ name, kind: 'dropped', reason: 'constant', missing });
      notes.push(`${name}: dropped, constant (${med})`);
      continue;
    }
    steps.push({ name, kind: 'numeric', log1p, skewness: skew, median: med, mean, sd, missing });
    notes.push(`${name}: ${log1p ? 'log1p then ' : ''}standardised${skew !== null ? ` (skewness ${skew.toFixed(2)})` : ''}${missing ? `, ${missing} missing imputed with the median ${med}` : ''}`);
  }
  const spec: PipelineSpec = { version: 1, rows, skewThreshold, topLevels, steps, names: outputNames(steps) };
  if (spec.names.length === 0) throw new InputError('bad_input', 'no usable column: every column is constant, missing or dropped');
  return { spec, notes };
}

function levelOf(v: number | string | null | undefined): string {
  return isMissing(v) ? MISSING_LEVEL : String(v);
}

function fitCategorical(name: string, col: RawColumn, topLevels: number, missing: number): CategoricalStep {
  const counts = new Map<string, number>();
  for (let i = 0; i < col.length; i++) {
    const l = levelOf(col[i]);
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const byCount = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { name, kind: 'categorical', levels: byCount.slice(0, topLevels).map(([l]) => l), other: byCount.length > topLevels, missing };
}

function outputNames(steps: readonly PipelineStep[]): string[] {
  const names: string[] = [];
  for (const s of steps) {
    if (s.kind === 'numeric') names.push(s.name);
    else if (s.kind === 'categorical') {
      for (const l of s.levels) names.push(`${s.name}=${l}`);
      if (s.other) names.push(`${s.name}=${OTHER_LEVEL}`);
    }
  }
  return names;
}

export interface PipelineOutput {
  x: Matrix;
  names: string[];
  /** Per input column, values imputed (numeric) or mapped to "missing" (categorical). */
  imputed: Record<string, number>;
  /** Per categorical column, values outside the kept levels (in the "other" column, or all-zero without one). */
  unmatched: Record<string, number>;
  /** Per log1p column, negative values raised to 0 (refunds after the fit, say). */
  clamped: Record<string, number>;
}

/** Transforms raw columns with a fitted spec (the columns the spec drops may be absent). */
export function applyPipeline(spec: PipelineSpec, raw: RawColumns): PipelineOutput {
  const used = spec.steps.filter((s) => s.kind !== 'dropped');
  const rows = rowCount(raw, used.map((s) => s.name));
  const cols = spec.names.length;
  const x = matrix(rows, cols);
  const data = x.data;
  const imputed: Record<string, number> = {};
  const unmatched: Record<string, number> = {};
  const clamped: Record<string, number> = {};
  let c = 0;
  for (const s of used) {
    const col = raw[s.name] as RawColumn;
    if (s.kind === 'numeric') {
      const { values, missing } = numericValues(s.name, col);
      imputed[s.name] = missing;
      let neg = 0;
      for (let i = 0; i < rows; i++) {
        let v = values[i] as number;
        if (Number.isNaN(v)) v = s.median;
        if (s.log1p) {
          if (v < 0) {
            v = 0;
            neg++;
          }
          v = Math.log1p(v);
        }
        data[i * cols + c] = (v - s.mean) / s.sd;
      }
      if (s.log1p) clamped[s.name] = neg;
      c++;
    } else if (s.kind === 'categorical') {
      const index = new Map<string, number>(s.levels.map((l, j) => [l, j]));
      const width = s.levels.length + (s.other ? 1 : 0);
      let miss = 0;
      let unknown = 0;
      for (let i = 0; i < rows; i++) {
        const v = col[i];
        if (isMissing(v)) miss++;
        const j = index.get(levelOf(v));
        if (j !== undefined) data[i * cols + c + j] = 1;
        else {
          unknown++;
          if (s.other) data[i * cols + c + s.levels.length] = 1;
        }
      }
      imputed[s.name] = miss;
      unmatched[s.name] = unknown;
      c += width;
    }
  }
  return { x, names: spec.names.slice(), imputed, unmatched, clamped };
}

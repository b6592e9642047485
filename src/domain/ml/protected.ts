/**
 * Guards for segments and models marked "no protected attributes" (gender, age, ethnicity, …: whatever
 * trait keys the workspace declares protected):
 *
 * (a) `protectedUses`: every place a segment definition reads a protected trait, with its JSON pointer:
 *     trait conditions, computed-trait conditions on a protected key, event filters and paths on
 *     `context.traits.<protected>` (Segment's spec copies user traits into events there), and, through
 *     resolvers the caller passes, referenced segments (recursively, cycle-safe), the definitions of
 *     referenced computed traits and the features of models used by `score` conditions. A reference
 *     the guard cannot resolve is reported as unresolved: a guard that cannot look must not say "clean".
 * (b) `protectedFeatures`: the feature names of a model fit that encode a protected trait (the trait
 *     itself or its one-hot columns).
 * (c) proxy warnings: how strongly a candidate feature column is associated with a protected column:
 *     Cramér's V (categorical × categorical), the correlation ratio η (numeric × categorical, either
 *     way round), |Pearson r| (numeric × numeric); all in [0, 1]. A feature at or above `STRONG_PROXY`
 *     (0.5) is a "strong proxy", at or above `MODERATE_PROXY` (0.3) a "moderate" one. Dropping the
 *     protected column does not help if a strong proxy stays in.
 *
 * Key matching is case-insensitive: `Gender` and `gender` are one attribute to a guard.
 *
 * Why our own association measures: they are a few sums over a contingency table or group means;
 * written here in one pass over typed arrays, no library needed (and none is allowed in the domain).
 */
import { InputError } from '../errors.js';
import type { ComputedTraitDefinition, Condition, EventSelector, Filter } from '../segments/ast.js';
import { slug } from './feature-sets.js';

// ---- (a) protected traits in a segment definition --------------------------------------------------

export type ProtectedUseKind = 'trait' | 'computed_trait' | 'event_trait' | 'computed_trait_definition' | 'model_feature';

export interface ProtectedUse {
  /** The protected key as declared. */
  key: string;
  kind: ProtectedUseKind;
  /** The segment whose condition holds the use (null: the definition being checked). */
  segment: string | null;
  /** JSON pointer of the use inside that segment's condition. */
  pointer: string;
  /** The segment references followed to reach it, from the checked definition: pointer and key of each. */
  via: { pointer: string; segment: string }[];
  /** Everything above in one line: "/conditions/1/segment → adults: /conditions/0/trait". */
  path: string;
  /** For model features and computed-trait definitions: what inside them uses the key. */
  detail?: string;
}

export interface Unresolved {
  kind: 'segment' | 'model' | 'computed_trait';
  key: string;
  segment: string | null;
  pointer: string;
}

export interface ProtectedCheck {
  uses: ProtectedUse[];
  unresolved: Unresolved[];
  /** True only when there is no use and nothing unresolved. */
  clean: boolean;
}

export interface ProtectedResolvers {
  /** The condition of a referenced segment (undefined: unknown). */
  segment?: (key: string) => Condition | undefined;
  /** The definition of a computed trait (undefined: unknown). */
  computedTrait?: (key: string) => ComputedTraitDefinition | undefined;
  /** The feature names of a model used by a score condition (undefined: unknown). */
  modelFeatures?: (model: string) => readonly string[] | undefined;
}

/** Lower-cased protected keys, mapped back to the declared spelling. */
function keyIndex(keys: Iterable<string>): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of keys) {
    if (typeof k !== 'string' || k.trim() === '') throw new InputError('protected.bad_key', 'protected trait keys must be non-empty strings');
    m.set(k.toLowerCase(), k);
  }
  return m;
}

/** The protected key an event path reads (`context.traits.<key>` or below), if any. */
function eventPathKey(path: string, keys: Map<string, string>): string | undefined {
  const parts = path.split('.');
  if (parts[0] !== 'context' || parts[1] !== 'traits' || parts.length < 3) return undefined;
  return keys.get((parts[2] as string).toLowerCase());
}

/**
 * Every use of a protected trait in a condition, following referenced segments (and computed traits and
 * models) through the resolvers given. `selfKey` names the checked definition when it is a saved
 * segment (a reference back to it is a cycle and is not followed again).
 */
export function protectedUses(condition: Condition, protectedKeys: Iterable<string>, resolvers: ProtectedResolvers = {}, selfKey?: string): ProtectedCheck {
  const keys = keyIndex(protectedKeys);
  const uses: ProtectedUse[] = [];
  const unresolved: Unresolved[] = [];
  const computedSeen = new Map<string, { key: string; detail: string }[]>();
  const modelSeen = new Map<string, string[] | undefined>();

  type Via = ProtectedUse['via'];
  const pathOf = (via: Via, pointer: string) => [...via.map((v) => `${v.pointer || '/'} → ${v.segment}:`), pointer || '/'].join(' ');

  const add = (key: string, kind: ProtectedUseKind, segment: string | null, pointer: string, via: Via, detail?: string) => {
    const use: ProtectedUse = { key, kind, segment, pointer, via, path: pathOf(via, pointer) };
    if (detail !== undefined) use.detail = detail;
    uses.push(use);
  };

  const selector = (s: EventSelector, ptr: string, segment: string | null, via: Via) => {
    (s.where ?? []).forEach((f: Filter, i) => {
      const k = eventPathKey(f.path, keys);
      if (k) add(k, 'event_trait', segment, `${ptr}/where/${i}/path`, via);
    });
  };

  const walk = (c: Condition, ptr: string, segment: string | null, via: Via, chain: readonly string[]): void => {
    switch (c.type) {
      case 'and': case 'or': c.conditions.forEach((x, i) => walk(x, `${ptr}/conditions/${i}`, segment, via, chain)); return;
      case 'not': walk(c.condition, `${ptr}/condition`, segment, via, chain); return;
      case 'trait': {
        const k = keys.get(c.trait.toLowerCase());
        if (k) add(k, 'trait', segment, `${ptr}/trait`, via);
        return;
      }
      case 'computed_trait': {
        const k = keys.get(c.key.toLowerCase());
        if (k) add(k, 'computed_trait', segment, `${ptr}/key`, via);
        if (!resolvers.computedTrait) return;
        const def = resolvers.computedTrait(c.key);
        if (!def) return void unresolved.push({ kind: 'computed_trait', key: c.key, segment, pointer: `${ptr}/key` });
        for (const d of computedUses(def)) add(d.key, 'computed_trait_definition', segment, `${ptr}/key`, via, d.detail);
        return;
      }
      case 'event': case 'first_performed': case 'last_performed':
        selector(c, ptr, segment, via);
        return;
      case 'aggregate': case 'last_value': {
        selector(c, ptr, segment, via);
        const k = eventPathKey(c.path, keys);
        if (k) add(k, 'event_trait', segment, `${ptr}/path`, via);
        return;
      }
      case 'sequence':
        c.steps.forEach((s, i) => selector(s, `${ptr}/steps/${i}`, segment, via));
        if (c.thenNot) selector(c.thenNot, `${ptr}/thenNot`, segment, via);
        return;
      case 'score': {
        if (!modelSeen.has(c.model)) modelSeen.set(c.model, resolvers.modelFeatures?.(c.model)?.slice());
        const features = modelSeen.get(c.model);
        if (!features) return void unresolved.push({ kind: 'model', key: c.model, segment, pointer: `${ptr}/model` });
        for (const f of protectedFeatures(features, keys.values())) add(f.key, 'model_feature', segment, `${ptr}/model`, via, `model '${c.model}' uses feature '${f.feature}'`);
        return;
      }
      case 'segment': {
        if (c.segment === selfKey || chain.includes(c.segment)) return; // a cycle: checkReferences reports it
        const target = resolvers.segment?.(c.segment);
        if (!target) return void unresolved.push({ kind: 'segment', key: c.segment, segment, pointer: `${ptr}/segment` });
        walk(target, '', c.segment, [...via, { pointer: `${ptr}/segment`, segment: c.segment }], [...chain, c.segment]);
        return;
      }
      case 'consent': case 'bucket':
        return;
      default: {
        const never: never = c;
        throw new Error(`unhandled condition ${JSON.stringify(never)}`);
      }
    }
  };

  /** Protected paths a computed trait's definition reads (memoised per key). */
  function computedUses(def: ComputedTraitDefinition): { key: string; detail: string }[] {
    const cached = computedSeen.get(def.key);
    if (cached) return cached;
    const out: { key: string; detail: string }[] = [];
    if (def.path) {
      const k = eventPathKey(def.path, keys);
      if (k) out.push({ key: k, detail: `computed trait '${def.key}' aggregates ${def.path}` });
    }
    for (const f of def.where ?? []) {
      const k = eventPathKey(f.path, keys);
      if (k) out.push({ key: k, detail: `computed trait '${def.key}' filters on ${f.path}` });
    }
    computedSeen.set(def.key, out);
    return out;
  }

  walk(condition, '', null, [], selfKey ? [selfKey] : []);
  return { uses, unresolved, clean: uses.length === 0 && unresolved.length === 0 };
}

// ---- (b) protected features of a model fit ----------------------------------------------------------

/**
 * The features whose name encodes a protected key. A feature's column name is the part before `=` (after
 * it comes a one-hot level, a value); name and key are slugged as feature-sets.ts names trait columns
 * (lower case, every run of other characters → `_`), and the key must appear as whole `_`-separated
 * words: `gender`, `gender_female`, `trait_gender=female`, `trait:Gender`, `traits.gender.code` all
 * match `gender`; `agenda` and `page_views` do not match `age`. Deliberately broad: a guard should
 * rather ask about `age_band` than miss it.
 */
export function protectedFeatures(featureNames: readonly string[], protectedKeys: Iterable<string>): { feature: string; index: number; key: string }[] {
  const keys = [...keyIndex(protectedKeys).values()].map((declared) => ({ declared, word: `_${slug(declared)}_` }));
  const out: { feature: string; index: number; key: string }[] = [];
  featureNames.forEach((name, index) => {
    const eq = name.indexOf('=');
    const column = `_${slug(eq >= 0 ? name.slice(0, eq) : name)}_`;
    const hit = keys.find((k) => column.includes(k.word));
    if (hit) out.push({ feature: name, index, key: hit.declared });
  });
  return out;
}

// ---- (c) proxies ------------------------------------------------------------------------------------

/** Association at or above which a feature is a strong proxy of a protected attribute. */
export const STRONG_PROXY = 0.5;
/** … and a moderate one (worth a look). */
export const MODERATE_PROXY = 0.3;

/** A data column: numeric values (NaN = missing) or categorical integer codes (−1 = missing). */
export type ProxyColumn =
  | { name: string; kind: 'numeric'; values: ArrayLike<number> }
  | { name: string; kind: 'categorical'; codes: ArrayLike<number> };

export type AssociationMeasure = 'cramers_v' | 'correlation_ratio' | 'pearson';

export interface Association {
  measure: AssociationMeasure;
  /** In [0, 1]; 0 when either column does not vary over the rows both have. */
  value: number;
  /** Rows where both columns have a value. */
  n: number;
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new InputError('proxy.length_mismatch', `the columns have ${a.length} and ${b.length} rows`);
  return a.length;
}

const known = (code: number) => code >= 0 && Number.isInteger(code);

/** Dense 0 … k−1 indices of the codes that occur (codes may be sparse, e.g. hashed values). */
function dense(codes: ArrayLike<number>, rows: Uint8Array): { index: Int32Array; levels: number } {
  const map = new Map<number, number>();
  const index = new Int32Array(codes.length).fill(-1);
  for (let i = 0; i < codes.length; i++) {
    if (!rows[i]) continue;
    const c = codes[i] as number;
    let d = map.get(c);
    if (d === undefined) {
      d = map.size;
      map.set(c, d);
    }
    index[i] = d;
  }
  return { index, levels: map.size };
}

/**
 * Cramér's V of two categorical columns: √(χ² / (n · (min(r, c) − 1))) over their contingency table
 * (no bias correction, as scipy's `association(method='cramer')`). Rows missing either value are left out.
 */
export function cramersV(a: ArrayLike<number>, b: ArrayLike<number>): Association {
  const n0 = sameLength(a, b);
  const rows = new Uint8Array(n0);
  let n = 0;
  for (let i = 0; i < n0; i++) if (known(a[i] as number) && known(b[i] as number)) { rows[i] = 1; n++; }
  const da = dense(a, rows), db = dense(b, rows);
  const r = da.levels, c = db.levels;
  if (n === 0 || r < 2 || c < 2) return { measure: 'cramers_v', value: 0, n };
  const table = new Float64Array(r * c), rowSum = new Float64Array(r), colSum = new Float64Array(c);
  for (let i = 0; i < n0; i++) {
    if (!rows[i]) continue;
    const x = da.index[i] as number, y = db.index[i] as number;
    table[x * c + y] = (table[x * c + y] as number) + 1;
    rowSum[x] = (rowSum[x] as number) + 1;
    colSum[y] = (colSum[y] as number) + 1;
  }
  let chi2 = 0;
  for (let x = 0; x < r; x++) {
    for (let y = 0; y < c; y++) {
      const e = ((rowSum[x] as number) * (colSum[y] as number)) / n;
      const d = (table[x * c + y] as number) - e;
      chi2 += (d * d) / e;
    }
  }
  return { measure: 'cramers_v', value: Math.min(1, Math.sqrt(chi2 / (n * (Math.min(r, c) - 1)))), n };
}

/**
 * The correlation ratio η of a numeric column given a categorical one: √(between-group sum of squares /
 * total sum of squares), the share of the numeric column's variation that the categories explain.
 * No binning is needed: η uses the numeric values as they are (a numeric *protected* attribute, such as
 * age, against a categorical feature is the same measure with the roles named the other way round).
 */
export function correlationRatio(values: ArrayLike<number>, codes: ArrayLike<number>): Association {
  const n0 = sameLength(values, codes);
  const rows = new Uint8Array(n0);
  let n = 0, sum = 0;
  for (let i = 0; i < n0; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v) && known(codes[i] as number)) {
      rows[i] = 1;
      n++;
      sum += v;
    }
  }
  if (n === 0) return { measure: 'correlation_ratio', value: 0, n };
  const mean = sum / n;
  const { index, levels } = dense(codes, rows);
  const gSum = new Float64Array(levels), gN = new Float64Array(levels);
  let sst = 0;
  for (let i = 0; i < n0; i++) {
    if (!rows[i]) continue;
    const v = values[i] as number;
    const g = index[i] as number;
    gSum[g] = (gSum[g] as number) + v;
    gN[g] = (gN[g] as number) + 1;
    sst += (v - mean) * (v - mean);
  }
  if (!(sst > 0)) return { measure: 'correlation_ratio', value: 0, n };
  let ssb = 0;
  for (let g = 0; g < levels; g++) {
    const m = (gSum[g] as number) / (gN[g] as number) - mean;
    ssb += (gN[g] as number) * m * m;
  }
  return { measure: 'correlation_ratio', value: Math.min(1, Math.sqrt(ssb / sst)), n };
}

/** |Pearson r| of two numeric columns (two-pass: means first, then centred sums). */
export function absPearson(a: ArrayLike<number>, b: ArrayLike<number>): Association {
  const n0 = sameLength(a, b);
  let n = 0, sa = 0, sb = 0;
  for (let i = 0; i < n0; i++) {
    const x = a[i] as number, y = b[i] as number;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      n++;
      sa += x;
      sb += y;
    }
  }
  if (n < 2) return { measure: 'pearson', value: 0, n };
  const ma = sa / n, mb = sb / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n0; i++) {
    const x = a[i] as number, y = b[i] as number;
    if (!(Number.isFinite(x) && Number.isFinite(y))) continue;
    sab += (x - ma) * (y - mb);
    saa += (x - ma) * (x - ma);
    sbb += (y - mb) * (y - mb);
  }
  if (!(saa > 0 && sbb > 0)) return { measure: 'pearson', value: 0, n };
  return { measure: 'pearson', value: Math.min(1, Math.abs(sab / Math.sqrt(saa * sbb))), n };
}

/** The measure that fits the two columns' kinds. */
export function association(feature: ProxyColumn, attribute: ProxyColumn): Association {
  if (feature.kind === 'categorical' && attribute.kind === 'categorical') return cramersV(feature.codes, attribute.codes);
  if (feature.kind === 'numeric' && attribute.kind === 'numeric') return absPearson(feature.values, attribute.values);
  if (feature.kind === 'numeric' && attribute.kind === 'categorical') return correlationRatio(feature.values, attribute.codes);
  if (feature.kind === 'categorical' && attribute.kind === 'numeric') return correlationRatio(attribute.values, feature.codes);
  throw new Error('unreachable: every pair of column kinds is handled above');
}

export type ProxyLevel = 'strong' | 'moderate' | 'weak' | 'too_few_rows';

export interface ProxyWarning extends Association {
  feature: string;
  level: ProxyLevel;
}

export interface ProxyOptions {
  /** Strong-proxy threshold (default `STRONG_PROXY`, 0.5). */
  strong?: number;
  /** Moderate-proxy threshold (default `MODERATE_PROXY`, 0.3). */
  moderate?: number;
  /** Rows both columns need for a measure to count (default 30). */
  minRows?: number;
}

/**
 * Every feature's association with the protected attribute, strongest first (features with too few
 * rows last), with its level: ≥ strong → 'strong', ≥ moderate → 'moderate', else 'weak'.
 */
export function rankProxies(features: readonly ProxyColumn[], attribute: ProxyColumn, opts: ProxyOptions = {}): ProxyWarning[] {
  const strong = opts.strong ?? STRONG_PROXY;
  const moderate = opts.moderate ?? MODERATE_PROXY;
  const minRows = opts.minRows ?? 30;
  if (!(moderate > 0 && moderate <= strong && strong <= 1)) throw new InputError('proxy.bad_threshold', `thresholds must satisfy 0 < moderate ≤ strong ≤ 1, got moderate ${moderate}, strong ${strong}`);
  const out = features.map((f): ProxyWarning => {
    const a = association(f, attribute);
    const level: ProxyLevel = a.n < minRows ? 'too_few_rows' : a.value >= strong ? 'strong' : a.value >= moderate ? 'moderate' : 'weak';
    return { feature: f.name, ...a, level };
  });
  const rank = (w: ProxyWarning) => (w.level === 'too_few_rows' ? -1 : w.value);
  return out.sort((x, y) => rank(y) - rank(x) || x.feature.localeCompare(y.feature));
}

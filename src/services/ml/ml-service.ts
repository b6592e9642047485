/**
 * Statistical models (docs/models.md): fit a model of a kind under a name, keep every fit as a version
 * in the registry (config, training window, fitted parameters, metrics), and write its outputs as
 * profile traits (`model_traits`, model id `ml:<name>`; keys `<name>_…`) and its main score in `scores`
 * (the `score <name>` condition), so segments can use them at once. The kinds' fitting lives in
 * `./kinds/*`; the numeric work in `src/domain/ml`.
 */
import { InputError } from '../../domain/errors.js';
import { fairnessReport, type FairnessReport } from '../../domain/ml/fairness.js';
import { protectedUses, rankProxies, type ProxyColumn, type ProxyWarning } from '../../domain/ml/protected.js';
import type { Condition, Diagnostic } from '../../domain/segments/ast.js';
import { ML_CONFIGS, ML_KINDS, MODEL_NAME, mlTraits, type MlKind } from '../../domain/ml/configs.js';
import { assembleFeatures, featureDefinitions, type AssembledFeatures, type FeatureSpec } from '../../domain/ml/feature-sets.js';
import type { FitProgressEvent } from '../../domain/ml/types.js';
import type { MlModelRecord, ModelTraitRow, StoragePort } from '../../ports/storage.js';
import { computedFeatures, rowIndex, traitFeatures } from '../features.js';
import type { SegmentService } from '../segments.js';
import { KIND_FITTERS } from './kinds/index.js';
import type { Snapshot } from './types.js';

export type { FitContext, FitOutput, KindFitter, Snapshot } from './types.js';

export interface MlModelView {
  name: string;
  kind: string;
  version: number;
  fittedAt: string;
  durationMs: number;
  config: unknown;
  training: unknown;
  metrics: unknown;
  traits: Array<{ key: string; description: string }>;
  error: string | null;
  segmentsCreated?: string[];
}

export class MlService {
  /** Trait key → model_traits model id, per workspace (loaded once, updated by each fit). */
  private readonly traitKeys = new Map<string, Map<string, string>>();
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly store: StoragePort, private readonly segments: SegmentService, private readonly clock: () => number = Date.now) {
    segments.setModelTraitSource((ws) => this.modelTraitKeys(ws));
    segments.setConditionGuard((ws, condition, selfKey) => this.guard(ws, condition, selfKey));
  }

  kinds(): Array<{ kind: MlKind; traits: Array<{ key: string; description: string }> }> {
    return ML_KINDS.map((kind) => ({ kind, traits: mlTraits(kind, '<name>') }));
  }

  /** Trait keys of the active version of every model of a workspace. */
  async modelTraitKeys(ws: string): Promise<ReadonlyMap<string, string>> {
    return this.traitKeysOf(ws);
  }

  private async traitKeysOf(ws: string): Promise<Map<string, string>> {
    let keys = this.traitKeys.get(ws);
    if (!keys) {
      keys = new Map();
      const seen = new Set<string>();
      for (const r of await this.store.mlModels(ws, undefined, 10_000)) {
        if (r.error !== null || seen.has(r.name)) continue;
        seen.add(r.name);
        for (const k of r.traits) keys.set(k, `ml:${r.name}`);
      }
      this.traitKeys.set(ws, keys);
    }
    return keys;
  }

  /**
   * Fit a model and write its outputs. Fits of one workspace run one after the other (a second fit of a
   * name must see the first's version and outputs).
   */
  async fit(ws: string, kind: string, name: string, configInput: unknown, opts: { asOf?: number; progress?: (p: FitProgressEvent) => void } = {}): Promise<MlModelView> {
    const prev = this.running.get(ws) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.fitNow(ws, kind, name, configInput, opts));
    this.running.set(ws, run);
    try {
      return await run;
    } finally {
      if (this.running.get(ws) === run) this.running.delete(ws);
    }
  }

  private async fitNow(ws: string, kindInput: string, name: string, configInput: unknown, opts: { asOf?: number; progress?: (p: FitProgressEvent) => void }): Promise<MlModelView> {
    if (!(ML_KINDS as readonly string[]).includes(kindInput)) throw new InputError('ml.kind', `no model kind '${kindInput}' (kinds: ${ML_KINDS.join(', ')})`);
    const kind = kindInput as MlKind;
    if (!MODEL_NAME.test(name)) throw new InputError('ml.name', `model name '${name}' must be lower-case letters, digits and _, starting with a letter (at most 40)`);
    const parsed = ML_CONFIGS[kind].safeParse(configInput ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length ? `config.${issue.path.join('.')}` : 'config';
      throw new InputError('ml.config', `${kind} ${where}: ${issue?.message ?? 'invalid'}`);
    }
    const config = parsed.data;
    const history = await this.store.mlModels(ws, name, 1000);
    const other = history.find((r) => r.kind !== kind);
    if (other) throw new InputError('ml.name', `model '${name}' is a ${other.kind} model; pick another name for a ${kind} model`);
    const previous = history.find((r) => r.error === null);
    const version = (history[0]?.version ?? 0) + 1;
    const asOf = opts.asOf ?? this.clock();
    const progress = opts.progress ?? (() => undefined);
    const startedAt = this.clock();
    const t0 = performance.now();
    const proxyWarnings: ProxyWarning[][] = [];
    const fitter = KIND_FITTERS[kind];
    try {
      const out = await fitter({
        ws, name, config, asOf, previous, progress, store: this.store,
        snapshot: async (spec, at, noProtected) => {
          const snap = await this.snapshot(ws, spec, at, noProtected);
          // Once per fit: which features give a protected trait away (docs/models.md, fairness).
          if (noProtected && proxyWarnings.length === 0) proxyWarnings.push(await this.proxies(ws, snap));
          return snap;
        },
        members: (key) => this.members(ws, key),
      });
      const traits = mlTraits(kind, name).map((t) => t.key);
      progress({ phase: 'write', done: 0, total: out.profileIds.length });
      const rows: ModelTraitRow[] = [];
      out.traits.forEach((t, i) => { if (t) rows.push({ profileId: out.profileIds[i] as string, traits: t }); });
      await this.store.replaceModelTraits(ws, `ml:${name}`, rows, asOf, `${name}@${version}`);
      if (out.score) await this.store.replaceScores(ws, name, out.profileIds, out.score, asOf);
      const record: MlModelRecord = {
        workspaceId: ws, name, version, kind, config, training: out.training, artifact: out.artifact, traits,
        metrics: proxyWarnings[0]?.length ? { ...out.metrics, proxyWarnings: proxyWarnings[0] } : out.metrics,
        startedAt, durationMs: performance.now() - t0, error: null,
      };
      await this.store.insertMlModel(record);
      const keys = await this.traitKeysOf(ws);
      for (const k of traits) keys.set(k, `ml:${name}`);
      progress({ phase: 'segments', done: 0, total: 0 });
      const existing = new Set((await this.segments.list(ws, { includeArchived: true })).map((x) => x.key));
      const missing = (out.segments ?? []).filter((x) => !existing.has(x.key));
      if (missing.length) await this.segments.createMany(ws, missing.map((x) => ({ key: x.key, name: x.name, description: x.description, condition: x.condition })));
      else await this.segments.compute(ws);
      progress({ phase: 'done', done: 1, total: 1 });
      return { ...this.view(record), segmentsCreated: missing.map((x) => x.key) };
    } catch (err) {
      if (!(err instanceof InputError)) {
        const message = err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err);
        await this.store.insertMlModel({
          workspaceId: ws, name, version, kind, config, training: null, artifact: null, metrics: null, traits: [], startedAt, durationMs: performance.now() - t0, error: message,
        }).catch(() => undefined);
      }
      throw err;
    }
  }

  async list(ws: string): Promise<MlModelView[]> {
    const latest = new Map<string, MlModelRecord>();
    for (const r of await this.store.mlModels(ws, undefined, 10_000)) if (!latest.has(r.name)) latest.set(r.name, r);
    return [...latest.values()].map((r) => this.view(r));
  }

  /** A model's newest version (or the given one), with its fitted parameters when asked. */
  async show(ws: string, name: string, version?: number): Promise<MlModelView & { artifact?: unknown }> {
    const all = await this.store.mlModels(ws, name, 10_000);
    const r = version === undefined ? all[0] : all.find((x) => x.version === version);
    if (!r) throw new InputError('not_found', version === undefined ? `no model '${name}'` : `model '${name}' has no version ${version}`);
    return { ...this.view(r), artifact: r.artifact };
  }

  async versions(ws: string, name: string): Promise<MlModelView[]> {
    const all = await this.store.mlModels(ws, name, 10_000);
    if (!all.length) throw new InputError('not_found', `no model '${name}'`);
    return all.map((r) => this.view(r));
  }

  private view(r: MlModelRecord): MlModelView {
    const kind = r.kind as MlKind;
    const described = new Map(mlTraits(kind, r.name).map((t) => [t.key, t.description]));
    return {
      name: r.name, kind: r.kind, version: r.version, fittedAt: new Date(r.startedAt).toISOString(), durationMs: Math.round(r.durationMs),
      config: r.config, training: r.training, metrics: r.metrics, traits: r.traits.map((key) => ({ key, description: described.get(key) ?? '' })), error: r.error,
    };
  }

  /** Protected trait keys of a workspace (docs/models.md, fairness). */
  async protectedTraits(ws: string): Promise<string[]> {
    return this.store.protectedTraits(ws);
  }

  async setProtectedTraits(ws: string, keys: string[]): Promise<string[]> {
    for (const k of keys) if (!/^[^\s].{0,199}$/.test(k)) throw new InputError('ml.protected', `protected trait key '${k}' is empty or longer than 200 characters`);
    await this.store.setProtectedTraits(ws, [...new Set(keys)].sort());
    return this.store.protectedTraits(ws);
  }

  /**
   * Features that stand in for a protected trait (strong or moderate association, strongest first), per
   * protected trait, over the snapshot's profiles.
   */
  private async proxies(ws: string, snap: Snapshot): Promise<ProxyWarning[]> {
    const keys = await this.store.protectedTraits(ws);
    if (!keys.length) return [];
    const { texts } = await traitFeatures(this.store, ws, rowIndex(snap.profileIds), keys, await this.segments.modelTraits(ws));
    const features: ProxyColumn[] = [
      ...Object.entries(snap.numeric).map(([name, values]): ProxyColumn => ({ name, kind: 'numeric', values })),
      ...Object.entries(snap.categorical).map(([name, values]): ProxyColumn => ({ name, kind: 'categorical', codes: codesOf(values) })),
    ];
    const out: ProxyWarning[] = [];
    for (const key of keys) {
      const attribute: ProxyColumn = { name: key, kind: 'categorical', codes: codesOf(texts.get(key) ?? []) };
      for (const w of rankProxies(features, attribute)) if (w.level === 'strong' || w.level === 'moderate') out.push({ ...w, feature: `${w.feature} ~ ${key}` });
    }
    return out;
  }

  /** Segments marked "no protected attributes" refuse definitions that use protected traits, directly or through references. */
  private async guard(ws: string, condition: Condition, selfKey: string | undefined): Promise<Diagnostic[]> {
    if (selfKey === undefined) return [];
    const guarded = await this.store.guardedSegments(ws);
    if (!guarded.length) return [];
    const keys = await this.store.protectedTraits(ws);
    if (!keys.length) return [];
    const defs = new Map((await this.segments.list(ws)).map((x) => [x.key, x.condition]));
    defs.set(selfKey, condition);
    const out: Diagnostic[] = [];
    for (const g of guarded) {
      const c = defs.get(g);
      if (!c) continue;
      const check = protectedUses(c, keys, { segment: (k) => defs.get(k) }, g);
      // Only the segments this definition affects: itself, or a guarded one that reaches it.
      if (g !== selfKey && !check.uses.some((u) => u.segment === selfKey || u.via.some((v) => v.segment === selfKey))) continue;
      for (const u of check.uses) {
        out.push({
          code: 'segment.protected', severity: 'error', pointer: g === selfKey ? u.pointer : undefined,
          message: g === selfKey
            ? `segment '${g}' is marked "no protected attributes" but uses protected trait '${u.key}' at ${u.path}`
            : `segment '${g}' is marked "no protected attributes" and would use protected trait '${u.key}' through this segment (${u.path})`,
        });
      }
    }
    return out;
  }

  /** Mark a segment "no protected attributes" (its current definition must already comply) or unmark it. */
  async setSegmentGuard(ws: string, key: string, on: boolean): Promise<{ key: string; noProtected: boolean }> {
    const seg = await this.segments.get(ws, key);
    if (on) {
      const keys = await this.store.protectedTraits(ws);
      const defs = new Map((await this.segments.list(ws)).map((x) => [x.key, x.condition]));
      const check = protectedUses(seg.condition, keys, { segment: (k) => defs.get(k) }, key);
      if (check.uses.length) throw new InputError('segment.protected', `segment '${key}' uses protected trait(s) ${[...new Set(check.uses.map((u) => `'${u.key}' at ${u.path}`))].join(', ')}; change it before marking it`);
    }
    await this.store.setSegmentGuard(ws, key, on);
    return { key, noProtected: on };
  }

  async guardedSegments(ws: string): Promise<string[]> {
    return this.store.guardedSegments(ws);
  }

  /**
   * Fairness of a segment (selected = its members) or a model (selected = score ≥ threshold) over each
   * protected trait (or the attributes given): selection rate per group, demographic parity, the
   * four-fifths rule, and with an outcome segment (who really did it) TPR / FPR and equalized odds.
   */
  async fairness(ws: string, input: { segment?: string; model?: string; threshold?: number; outcome?: string; attributes?: string[] }): Promise<{ subject: string; population: number; selected: number; reports: FairnessReport[] }> {
    if ((input.segment === undefined) === (input.model === undefined)) throw new InputError('fairness.subject', 'give either a segment or a model');
    const attributes = input.attributes?.length ? input.attributes : await this.store.protectedTraits(ws);
    if (!attributes.length) throw new InputError('fairness.attributes', 'no protected traits: mark some (segmenta ml protect <trait…>) or name the attributes');
    const everyone = await computedFeatures(this.store, ws, [{ key: 'seen', kind: 'days_since_last', event: '*' }], this.clock());
    const ids = everyone.profileIds;
    let selected: Uint8Array;
    let subject: string;
    if (input.segment !== undefined) {
      const members = await this.members(ws, input.segment);
      selected = Uint8Array.from(ids, (p) => (members.has(p) ? 1 : 0));
      subject = `segment ${input.segment}`;
    } else {
      const name = input.model as string;
      await this.show(ws, name);
      const threshold = input.threshold ?? 0.5;
      const scores = await this.store.scoreValues(ws, name);
      selected = Uint8Array.from(ids, (p) => ((scores.get(p) ?? -Infinity) >= threshold ? 1 : 0));
      subject = `model ${name} (score ≥ ${threshold})`;
    }
    let actual: Uint8Array | undefined;
    if (input.outcome !== undefined) {
      const did = await this.members(ws, input.outcome);
      actual = Uint8Array.from(ids, (p) => (did.has(p) ? 1 : 0));
    }
    const { texts } = await traitFeatures(this.store, ws, rowIndex(ids), attributes, await this.segments.modelTraits(ws));
    const reports = attributes.map((attribute) => fairnessReport({ attribute, group: texts.get(attribute) ?? [], selected, ...(actual ? { actual } : {}) }));
    return { subject, population: ids.length, selected: selected.reduce((a, b) => a + b, 0), reports };
  }

  private async snapshot(ws: string, spec: FeatureSpec, asOf: number, noProtected: boolean): Promise<Snapshot> {
    if (noProtected) {
      const prot = new Set(await this.store.protectedTraits(ws));
      const used = spec.traits.filter((t) => prot.has(t));
      if (used.length) throw new InputError('ml.protected', `the model is marked "no protected attributes" but its features use protected trait(s): ${used.join(', ')}`);
    }
    const raw = await computedFeatures(this.store, ws, featureDefinitions(spec, asOf), asOf);
    const traits = await traitFeatures(this.store, ws, rowIndex(raw.profileIds), spec.traits, await this.segments.modelTraits(ws));
    const assembled = assembleFeatures(spec, { rows: raw.profileIds.length, columns: raw.columns, traitNumbers: traits.numbers, traitTexts: traits.texts });
    const tenure = raw.columns['f_tenure'];
    const seen = Uint8Array.from(raw.profileIds, (_, i) => (tenure && !Number.isNaN(tenure[i] as number) ? 1 : 0));
    return { profileIds: raw.profileIds, seen, ...assembled };
  }

  private async members(ws: string, key: string): Promise<Set<string>> {
    await this.segments.get(ws, key); // not_found for an unknown key
    const out = new Set<string>();
    const PAGE = 100_000;
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.store.segments.members(ws, key, PAGE, offset);
      for (const m of page) out.add(m.profileId);
      if (page.length < PAGE) break;
    }
    return out;
  }
}

/** Category codes of text values (null → −1), for association measures. */
function codesOf(values: ReadonlyArray<string | null>): Int32Array {
  const index = new Map<string, number>();
  return Int32Array.from(values, (v) => {
    if (v === null) return -1;
    let c = index.get(v);
    if (c === undefined) index.set(v, (c = index.size));
    return c;
  });
}

/**
 * Checks of a segment condition beyond its schema: referenced segments and computed traits exist,
 * segment references form no cycle, date ranges are ordered, bucket ranges are not empty. Every
 * problem is a diagnostic with a stable code, a message and a JSON pointer.
 */
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { MAX_DEPTH, type Condition, type Diagnostic, type Window } from './ast.js';

/**
 * A definition that cannot be used: an `InputError` (code of the first problem, a message naming every
 * one and where it is) that carries all the diagnostics, so the API can return them as they are.
 */
export class DefinitionError extends InputError {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[], origin?: string) {
    const where = (d: Diagnostic) => [origin, d.span ? `at character ${d.span.start}` : d.pointer].filter(Boolean).join(' ');
    super(diagnostics[0]?.code ?? 'segment.invalid', diagnostics.map((d) => `${where(d) ? where(d) + ': ' : ''}${d.message}`).join('; '));
    this.diagnostics = diagnostics;
  }
}

export interface ReferenceContext {
  /** Active segments of the workspace by key. */
  segments: ReadonlyMap<string, Condition>;
  /** Active computed trait keys. */
  computed: ReadonlySet<string>;
  /** The key of the segment being defined (a reference to it is a cycle). */
  selfKey?: string | undefined;
}

/** zod issues as diagnostics with a JSON pointer. */
export function schemaDiagnostics(err: z.ZodError): Diagnostic[] {
  return err.issues.map((i) => ({
    code: 'schema.invalid', severity: 'error' as const,
    pointer: '/' + i.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/'),
    message: i.message,
  }));
}

function windowProblem(w: Window | undefined): string | undefined {
  if (w?.type === 'between' && Date.parse(w.from) >= Date.parse(w.to)) return `window "between ${w.from} and ${w.to}" is empty: from must be before to`;
  return undefined;
}

export function checkReferences(c: Condition, ctx: ReferenceContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (pointer: string, code: string, message: string) => out.push({ code, message, pointer, severity: 'error' });

  /** Segments reachable from a key, for cycle detection. */
  const reaches = (from: Condition, target: string, seen: Set<string>): boolean => {
    const refs: string[] = [];
    const collect = (x: Condition) => {
      if (x.type === 'and' || x.type === 'or') x.conditions.forEach(collect);
      else if (x.type === 'not') collect(x.condition);
      else if (x.type === 'segment') refs.push(x.segment);
    };
    collect(from);
    for (const r of refs) {
      if (r === target) return true;
      if (seen.has(r)) continue;
      seen.add(r);
      const next = ctx.segments.get(r);
      if (next && reaches(next, target, seen)) return true;
    }
    return false;
  };

  const depth = (x: Condition): number => x.type === 'and' || x.type === 'or' ? 1 + Math.max(0, ...x.conditions.map(depth)) : x.type === 'not' ? 1 + depth(x.condition) : 1;
  if (depth(c) > MAX_DEPTH) err('', 'condition.too_deep', `the condition nests ${depth(c)} levels deep; at most ${MAX_DEPTH} are allowed`);
  const walk = (x: Condition, ptr: string): void => {
    switch (x.type) {
      case 'and': case 'or': x.conditions.forEach((y, i) => walk(y, `${ptr}/conditions/${i}`)); return;
      case 'not': walk(x.condition, `${ptr}/condition`); return;
      case 'segment': {
        if (x.segment === ctx.selfKey) return void err(`${ptr}/segment`, 'segment.cycle', `segment '${x.segment}' cannot contain itself`);
        const target = ctx.segments.get(x.segment);
        if (!target) return void err(`${ptr}/segment`, 'segment.unknown', `no active segment '${x.segment}'`);
        if (ctx.selfKey && reaches(target, ctx.selfKey, new Set())) err(`${ptr}/segment`, 'segment.cycle', `segment '${x.segment}' refers back to '${ctx.selfKey}': segment references must not form a cycle`);
        return;
      }
      case 'computed_trait':
        if (!ctx.computed.has(x.key)) err(`${ptr}/key`, 'computed.unknown', `no computed trait '${x.key}'`);
        return;
      case 'bucket':
        if (x.from >= x.to) err(ptr, 'bucket.empty', `bucket range ${x.from}..${x.to} is empty: from must be below to (buckets 0-99)`);
        return;
      case 'last_value':
        if (x.path.startsWith('products.')) err(`${ptr}/path`, 'path.line_item', 'last_value reads one value: use a properties. or context. path (line items have several)');
        break;
      default: break;
    }
    if ('window' in x) {
      const w = windowProblem(x.window);
      if (w) err(`${ptr}/window`, 'window.empty', w);
    }
  };
  walk(c, '');
  return out;
}

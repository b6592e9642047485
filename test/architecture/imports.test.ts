/**
 * The architecture of DESIGN.md, enforced: dependencies point inwards (domain is pure and imports no
 * driver, no HTTP, no file system), services reach storage only through the port, and no module
 * imports itself back through a cycle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sourceFiles } from './source-files.js';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');

/** Which top-level folders of src/ each folder may import from. */
const ALLOWED: Record<string, readonly string[]> = {
  domain: ['domain'],
  demo: ['domain', 'demo'],
  ports: ['domain', 'ports'],
  engines: ['domain', 'ports', 'engines'],
  services: ['domain', 'ports', 'services', 'demo'],
  app: ['domain', 'ports', 'engines', 'services', 'app'],
  http: ['domain', 'ports', 'services', 'app', 'http'],
  cli: ['domain', 'ports', 'services', 'app', 'http', 'demo', 'cli'],
};

/** Packages the pure layers may use: computation only, no I/O. */
const PURE_PACKAGES = new Set(['ua-parser-js', 'zod']);
const PURE_LAYERS = new Set(['domain', 'demo', 'ports']);

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) specs.push((m[1] ?? m[2] ?? m[3]) as string);
  return specs;
}

function layerOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0] ?? '';
}

const all = sourceFiles(SRC);
const graph = new Map<string, string[]>();
for (const f of all) {
  const local: string[] = [];
  for (const spec of importsOf(f)) {
    if (spec.startsWith('.')) local.push(resolve(dirname(f), spec).replace(/\.js$/, '.ts'));
  }
  graph.set(f, local);
}

test('every folder of src/ has a rule', () => {
  for (const f of all) assert.ok(layerOf(f) in ALLOWED, `${relative(SRC, f)} is in a folder without an import rule`);
});

test('imports point inwards only', () => {
  const wrong: string[] = [];
  for (const f of all) {
    const from = layerOf(f);
    for (const target of graph.get(f) ?? []) {
      const to = layerOf(target);
      if (!(ALLOWED[from] ?? []).includes(to)) wrong.push(`${relative(SRC, f)} → ${relative(SRC, target)} (${from} may not import ${to})`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('pure layers import no node built-ins and no I/O packages', () => {
  const wrong: string[] = [];
  for (const f of all) {
    if (!PURE_LAYERS.has(layerOf(f))) continue;
    for (const spec of importsOf(f)) {
      if (spec.startsWith('.')) continue;
      if (spec.startsWith('node:') || !PURE_PACKAGES.has(spec)) wrong.push(`${relative(SRC, f)} imports '${spec}'`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('only engines import database drivers', () => {
  const wrong: string[] = [];
  for (const f of all) {
    if (layerOf(f) === 'engines') continue;
    for (const spec of importsOf(f)) if (/^(@duckdb\/|@clickhouse\/|chdb$|pg$|postgres$)/.test(spec)) wrong.push(`${relative(SRC, f)} imports '${spec}'`);
  }
  assert.deepEqual(wrong, []);
});

test('no import cycles between modules', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, stack: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...stack.slice(stack.indexOf(f)), f].map((x) => relative(SRC, x)).join(' → '));
      return;
    }
    state.set(f, 'visiting');
    for (const t of graph.get(f) ?? []) if (graph.has(t)) visit(t, [...stack, f]);
    state.set(f, 'done');
  };
  for (const f of all) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('the checker itself sees imports (guards against a regex that matches nothing)', () => {
  const edges = [...graph.values()].reduce((n, l) => n + l.length, 0);
  assert.ok(edges > 20, `only ${edges} local imports found`);
  assert.ok(importsOf(join(SRC, 'services', 'ingest.ts')).includes('../domain/identity.js'));
});

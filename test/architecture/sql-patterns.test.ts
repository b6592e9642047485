/**
 * SQL shapes that cost far more than they look, kept out of the source.
 *
 * `list_contains(<bound list>, <id column>)` as a row filter searches the whole list for every row: a
 * full run's apply took 455 s under the write lock with ~20k profile ids in the list, and a lookup of
 * 2,000 message ids in 5M events 5.1 s (a semi join, `IN (SELECT unnest(...))` or a temporary table:
 * 0.09 s). Short lists of keys or values (segment keys, trait keys, mediums) are fine and not matched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { sourceFiles } from './source-files.js';

const SRC = resolve('src');

/** A list parameter ($3, ${...}) searched for an id column of every row. */
const LIST_OF_IDS = /list_contains\(\s*(?:\$\$?\{[^}]*\}|\$[0-9]+)\s*,\s*(?:[a-z_]+\.)?(?:pid|profile_id|entity_id|message_id|anonymous_id|user_id)\s*\)/g;

function offenders(text: string): string[] {
  return [...text.matchAll(LIST_OF_IDS)].map((m) => m[0]);
}

test('no list of ids is searched row by row with list_contains (a semi join instead)', () => {
  const found: string[] = [];
  for (const f of sourceFiles(SRC)) {
    for (const hit of offenders(readFileSync(f, 'utf8'))) found.push(`${relative(SRC, f)}: ${hit}`);
  }
  assert.deepEqual(found, [], `list_contains over a list of ids:\n${found.join('\n')}`);
});

test('the check sees the shapes it is for (guards against a pattern that matches nothing)', () => {
  assert.deepEqual(offenders("DELETE FROM seg_values WHERE list_contains($1, pid)"), ['list_contains($1, pid)'], 'a numbered parameter');
  assert.equal(offenders('WHERE list_contains($${t.computed.length + 1}, pid)').length, 1, 'a computed parameter number');
  assert.equal(offenders('AND list_contains($2, e.message_id)').length, 1, 'a qualified column');
  assert.deepEqual(offenders('AND list_contains($2, segment_key) AND list_contains($3, key)'), [], 'lists of keys are fine');
});

/**
 * Where a path inside a definition file is, for problems that name a line and column. Everything
 * here runs only when a problem is reported: a valid file costs no position bookkeeping. JSON
 * files are located through the yaml library too (JSON is YAML), so one path walk serves both.
 */
import type { Document, Node as YamlNode } from 'yaml';
import type { SourcePosition } from '../errors.js';

/**
 * The 1-based line and column of a UTF-16 offset in `text` (columns count UTF-16 code units, as
 * editors and the yaml library do). Used for JSON syntax errors only: every other position comes
 * from the yaml library's line counter, which is filled while it parses (and so covers only text
 * it could parse).
 * @example
 * positionAt('a: 1\nb: 2\n', 8); // { line: 2, column: 4 }
 */
export function positionAt(text: string, offset: number): SourcePosition {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < end; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return { line, column: end - lineStart + 1 };
}

/** The yaml library's node guards, passed in because the library itself is loaded lazily. */
export interface YamlGuards {
  isAlias: typeof import('yaml').isAlias;
  isMap: typeof import('yaml').isMap;
  isSeq: typeof import('yaml').isSeq;
  isScalar: typeof import('yaml').isScalar;
}

/**
 * The offset of the value at `path` in a parsed YAML document, or of its nearest existing
 * ancestor (a missing key points at the mapping that lacks it). Aliases are followed to their
 * anchor; a key with no value (`winner:`) points at the key. A repeated key (JSON allows it, and
 * JSON is parsed without `uniqueKeys`) resolves to its last occurrence, the one `JSON.parse` keeps.
 * @example
 * yamlOffset(yaml, yaml.parseDocument('a:\n  - 1\n  - 2\n'), ['a', 1]); // 13
 */
export function yamlOffset(guards: YamlGuards, document: Document, path: readonly PropertyKey[]): number {
  const start = (node: YamlNode): number => node.range?.[0] ?? 0;
  let node = document.contents as YamlNode | null;
  if (node === null) return 0;
  for (const segment of path) {
    if (guards.isAlias(node)) node = (node.resolve(document) as YamlNode | undefined) ?? node;
    let next: YamlNode | undefined;
    if (guards.isMap(node)) {
      for (const pair of node.items) {
        const key = pair.key as YamlNode | null;
        const name = guards.isScalar(key) ? key.value : key;
        if (String(name) !== String(segment)) continue;
        const value = pair.value as YamlNode | null;
        const empty = value === null || (guards.isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1]);
        next = empty ? (key ?? undefined) : value;
      }
    } else if (guards.isSeq(node)) {
      const item = node.items[Number(segment)] as YamlNode | null | undefined;
      next = item ?? undefined;
    }
    if (next === undefined) return start(node);
    node = next;
  }
  return start(node);
}

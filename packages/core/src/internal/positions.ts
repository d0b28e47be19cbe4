/**
 * Where a path inside a definition file is, for problems that name a line and column. Everything
 * here runs only when a problem is reported: a valid file costs no position bookkeeping.
 */
import type { Document, Node as YamlNode } from 'yaml';
import type { SourcePosition } from '../errors.js';

/**
 * The 1-based line and column of a UTF-16 offset in `text` (columns count UTF-16 code units, as
 * editors and the yaml library do).
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

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, at: number): number {
  let i = at;
  while (i < text.length && WHITESPACE.has(text[i] as string)) i++;
  return i;
}

/** Offset just past the JSON string starting at `at` (which is a `"`). */
function stringEnd(text: string, at: number): number {
  let i = at + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Offset just past the JSON value starting at `at`. */
function valueEnd(text: string, at: number): number {
  const first = text[at];
  if (first === '"') return stringEnd(text, at);
  if (first === '{' || first === '[') {
    let depth = 0;
    let i = at;
    while (i < text.length) {
      const char = text[i];
      if (char === '"') {
        i = stringEnd(text, i);
        continue;
      }
      if (char === '{' || char === '[') depth++;
      else if (char === '}' || char === ']') {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  let i = at;
  while (i < text.length && !WHITESPACE.has(text[i] as string) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  return i;
}

/**
 * The offset of the value at `path` in a JSON text that `JSON.parse` accepted, or of its nearest
 * existing ancestor when the path leaves the document (a missing key points at the object that
 * lacks it). A repeated key resolves to its last occurrence, the one `JSON.parse` keeps.
 * @example
 * jsonOffset('{"a": [1, 2]}', ['a', 1]); // 10
 */
export function jsonOffset(text: string, path: readonly PropertyKey[]): number {
  let at = skipWhitespace(text, 0);
  for (const segment of path) {
    const open = text[at];
    let found: number | undefined;
    if (open === '{') {
      let i = skipWhitespace(text, at + 1);
      while (i < text.length && text[i] === '"') {
        const keyEnd = stringEnd(text, i);
        const key = JSON.parse(text.slice(i, keyEnd)) as string;
        const value = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1);
        if (key === String(segment)) found = value;
        i = skipWhitespace(text, valueEnd(text, value));
        if (text[i] === ',') i = skipWhitespace(text, i + 1);
      }
    } else if (open === '[') {
      const index = Number(segment);
      let i = skipWhitespace(text, at + 1);
      for (let item = 0; i < text.length && text[i] !== ']'; item++) {
        if (item === index) {
          found = i;
          break;
        }
        i = skipWhitespace(text, valueEnd(text, i));
        if (text[i] === ',') i = skipWhitespace(text, i + 1);
      }
    }
    if (found === undefined) return at;
    at = found;
  }
  return at;
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
 * anchor; a key with no value (`winner:`) points at the key.
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

/**
 * Turns zod issues into one human sentence each: the path inside the file and what to do, e.g.
 * `variations[1].weight` + `must be > 0 (got 0)`.
 */
import type { z } from 'zod';

/** `['variations', 1, 'weight']` → `variations[1].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const name = String(segment);
      out += /^[A-Za-z_$][\w$-]*$/.test(name) ? (out === '' ? name : `.${name}`) : `[${JSON.stringify(name)}]`;
    }
  }
  return out;
}

/** Short rendering of a value for "(got …)". */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return value.length <= 4 && value.every((item) => typeof item !== 'object') ? JSON.stringify(value) : `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** One sentence per zod issue, with the value found in `input` at the issue's path. */
export function issueMessages(error: z.ZodError, input: unknown): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of error.issues) {
    const path = [...issue.path];
    const got = valueAt(input, path);
    switch (issue.code) {
      case 'invalid_type':
        out.push({ path, message: got === undefined ? `is required (${article(issue.expected)})` : `must be ${article(issue.expected)} (got ${describe(got)})` });
        break;
      case 'too_small': {
        const min = String(issue.minimum);
        if (issue.origin === 'array') out.push({ path, message: `needs at least ${min} item${min === '1' ? '' : 's'} (got ${Array.isArray(got) ? got.length : describe(got)})` });
        else if (issue.origin === 'string') out.push({ path, message: `must not be empty` });
        else out.push({ path, message: `must be ${issue.inclusive ? '>=' : '>'} ${min} (got ${describe(got)})` });
        break;
      }
      case 'too_big': {
        const max = String(issue.maximum);
        if (issue.origin === 'array') out.push({ path, message: `has more than ${max} items (got ${Array.isArray(got) ? got.length : describe(got)})` });
        else out.push({ path, message: `must be ${issue.inclusive ? '<=' : '<'} ${max} (got ${describe(got)})` });
        break;
      }
      case 'invalid_value':
        out.push({ path, message: `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')} (got ${describe(got)})` });
        break;
      case 'unrecognized_keys':
        for (const key of issue.keys) out.push({ path: [...path, key], message: `is not a known field; remove it or fix its spelling` });
        break;
      case 'invalid_format':
        out.push({
          path,
          message:
            issue.format === 'regex'
              ? `${issue.message.startsWith('must') ? issue.message : 'has an invalid format'} (got ${describe(got)})`
              : `must be ${article(issue.format === 'datetime' ? 'ISO 8601 date-time with a time zone, e.g. "2026-11-22T09:00:00Z"' : issue.format)} (got ${describe(got)})`,
        });
        break;
      case 'invalid_union': {
        // Report the union branch that got furthest, or a generic hint for metric sources.
        out.push({ path, message: `${issue.message === 'Invalid input' ? 'does not match any allowed shape' : issue.message} (got ${describe(got)})` });
        break;
      }
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

/**
 * Whether `value` is a plain mapping (not null, not an array): how input that failed or has not
 * yet passed its schema is read defensively.
 * @example
 * isRecord({ key: 'a' }); // true
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Collector configuration: one zod schema, filled from (lowest to highest precedence) defaults, a
 * YAML file, `ABTEL_COLLECTOR_*` environment variables and command-line flags.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AbtelError, UsageError } from '@abtel/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** A duration in milliseconds, or a string like `500ms`, `30s`, `10m`, `1h`, `1d`. */
const Duration = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'expected a duration like 500ms, 30s, 10m, 1h or 1d')
    .transform((text) => parseDuration(text)),
], { error: 'expected milliseconds or a duration like 500ms, 30s, 10m, 1h or 1d' });

/** A size in bytes, or a string like `512KiB`, `64MiB`, `1GiB` (KB/MB/GB mean the same here). */
const Size = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|KiB|MB|MiB|GB|GiB)$/i, 'expected a size like 512KiB, 64MiB or 1GiB')
    .transform((text) => parseSize(text)),
], { error: 'expected bytes or a size like 512KiB, 64MiB or 1GiB' });

// A limit of 0 bytes refuses every request; an interval of 0 spins.
const PositiveSize = Size.refine((bytes) => bytes > 0, { error: 'more than 0 (a limit of 0 refuses every request)' });
const PositiveDuration = Duration.refine((ms) => ms > 0, { error: 'more than 0 (an interval of 0 runs without pause)' });

export const CollectorConfig = z
  .object({
    /** Interface to bind; 127.0.0.1 keeps the collector private to the machine. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one (printed once listening). */
    port: z.number().int().min(0).max(65535).default(4318),
    /** Directory the signal files are written to. */
    dir: z.string().min(1).default('./data'),
    /** When set, every request must carry `Authorization: Bearer <token>`. */
    token: z.string().min(1).optional(),
    /** Largest accepted request body, compressed and after decompression. */
    maxBodyBytes: PositiveSize.default(16 * MiB),
    /** Request bytes being received, decoded or written at once before answering 429. */
    maxInflightBytes: PositiveSize.default(64 * MiB),
    rotation: z
      .object({
        /** Rotate before the open file would exceed this size (0: never by size). */
        maxBytes: Size.default(64 * MiB),
        /** Rotate a non-empty open file after this long (0: never by age). */
        maxAge: Duration.default(60 * 60 * 1000),
        /** Compress rotated files to `.jsonl.gz`. */
        gzip: z.boolean().default(false),
      })
      .strict()
      .default({ maxBytes: 64 * MiB, maxAge: 60 * 60 * 1000, gzip: false }),
    /** `flat`: rotated files beside the open one; `date`: rotated files under `YYYY-MM-DD/` (UTC). */
    layout: z.enum(['flat', 'date']).default('flat'),
    /** `none`: acknowledged = written to the OS (survives a crash of the process); `always`: also
     * fdatasync before acknowledging (survives power loss); `interval`: fdatasync every `fsyncInterval`. */
    fsync: z.enum(['none', 'always', 'interval']).default('none'),
    fsyncInterval: PositiveDuration.default(1000),
    /** On SIGINT/SIGTERM (`close()`), how long in-flight requests may take before their connections
     * are closed; what was already received is written before the files are closed. */
    shutdownTimeout: Duration.default(10_000),
    /** Flatten each rotated file into Parquet beside it (background, one file at a time). */
    compaction: z.boolean().default(false),
    /** Export the collector's own counters as OTLP metrics. */
    selfMetrics: z
      .object({
        interval: PositiveDuration.default(10_000),
        /** OTLP/HTTP base URL (`…/v1/metrics` is appended); without it they go to the local metrics file. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    /** Print ingest rates every few seconds (default: only when stderr is a terminal). */
    progress: z.boolean().optional(),
  })
  .strict();

export type CollectorConfig = z.infer<typeof CollectorConfig>;
/** What `CollectorConfig` accepts: every field optional, sizes and durations also as strings. */
export type CollectorConfigInput = z.input<typeof CollectorConfig>;

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text)!;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit);
}

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text)!;
  const unit = match[2]!.toLowerCase().replace('i', '');
  const factor = { b: 1, kb: 1024, mb: MiB, gb: 1024 * MiB }[unit as 'b' | 'kb' | 'mb' | 'gb'];
  return Math.round(Number(match[1]) * factor);
}

/** Environment variables and the config path they set. */
export const ENV_VARS: ReadonlyArray<readonly [string, string, 'string' | 'number' | 'boolean' | 'size' | 'duration']> = [
  ['ABTEL_COLLECTOR_HOST', 'host', 'string'],
  ['ABTEL_COLLECTOR_PORT', 'port', 'number'],
  ['ABTEL_COLLECTOR_DIR', 'dir', 'string'],
  ['ABTEL_COLLECTOR_TOKEN', 'token', 'string'],
  ['ABTEL_COLLECTOR_MAX_BODY_BYTES', 'maxBodyBytes', 'size'],
  ['ABTEL_COLLECTOR_MAX_INFLIGHT_BYTES', 'maxInflightBytes', 'size'],
  ['ABTEL_COLLECTOR_ROTATE_MAX_BYTES', 'rotation.maxBytes', 'size'],
  ['ABTEL_COLLECTOR_ROTATE_MAX_AGE', 'rotation.maxAge', 'duration'],
  ['ABTEL_COLLECTOR_ROTATE_GZIP', 'rotation.gzip', 'boolean'],
  ['ABTEL_COLLECTOR_LAYOUT', 'layout', 'string'],
  ['ABTEL_COLLECTOR_FSYNC', 'fsync', 'string'],
  ['ABTEL_COLLECTOR_FSYNC_INTERVAL', 'fsyncInterval', 'duration'],
  ['ABTEL_COLLECTOR_SHUTDOWN_TIMEOUT', 'shutdownTimeout', 'duration'],
  ['ABTEL_COLLECTOR_COMPACTION', 'compaction', 'boolean'],
];

/**
 * Converts a flag or env string into the type the schema expects (sizes/durations stay strings
 * when they carry a unit). A value of the wrong form is a usage error naming `source`.
 */
export function coerce(raw: string, type: 'string' | 'number' | 'boolean' | 'size' | 'duration', source: string): unknown {
  if (type === 'string') return raw;
  if (type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new UsageError(`${source} must be true or false (got "${raw}")`);
  }
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  if (type === 'number') throw new UsageError(`${source} must be an integer (got "${raw}")`);
  return raw.trim();
}

/** The schema of one setting, by its dotted path (`rotation.maxAge`). */
function settingSchema(path: string): z.ZodType {
  const [head, tail] = path.split('.') as [string, string | undefined];
  const field = CollectorConfig.shape[head as keyof typeof CollectorConfig.shape] as z.ZodType;
  if (tail === undefined) return field;
  // `rotation` is a defaulted object; its fields are read from the object inside the default.
  const inner = (field as z.ZodDefault<z.ZodObject>).unwrap();
  return inner.shape[tail] as z.ZodType;
}

/**
 * Checks one setting given as a flag or environment variable (after `coerce`), so that a bad value
 * is a usage error naming where it came from, the value and the accepted form.
 * @example
 * checkSetting('layout', 'weird', '--layout'); // throws UsageError: --layout must be one of flat, date (got "weird")
 */
export function checkSetting(path: string, value: unknown, source: string): void {
  const result = settingSchema(path).safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const expected =
    issue.code === 'invalid_value'
      ? `one of ${issue.values.map(String).join(', ')}`
      : issue.code === 'too_big'
        ? `at most ${String(issue.maximum)}`
        : issue.code === 'too_small'
          ? `at least ${String(issue.minimum)}`
          : issue.message.replace(/^(Invalid input: )?expected /, '');
  throw new UsageError(`${source} must be ${expected} (got "${String(value)}")`);
}

/** Sets `path` (dotted) in a nested plain object. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)) {
      out[key] = mergeDeep(current as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}

/**
 * Validates a configuration object, with errors that name the setting and its source.
 * @example
 * const config = parseConfig({ port: 0, dir: './data' }, 'options');
 */
export function parseConfig(input: unknown, source: string): CollectorConfig {
  const result = CollectorConfig.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  throw new AbtelError('invalid_input', `invalid collector configuration in ${source}: ${problems.join('; ')}`);
}

/**
 * Reads a YAML config file into a plain object (validated later, merged with env and flags).
 * @example
 * const fromFile = await readConfigFile('collector.yaml');
 */
export async function readConfigFile(path: string, cwd: string): Promise<Record<string, unknown>> {
  const full = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (error) {
    throw new AbtelError('not_found', `cannot read collector config ${full}: ${(error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new AbtelError('invalid_input', `collector config ${full} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AbtelError('invalid_input', `collector config ${full} must be a YAML mapping of settings (see collector/README.md)`);
  }
  // Validate the file alone first so the error names the file.
  parseConfig(parsed, full);
  return parsed as Record<string, unknown>;
}

/**
 * Combines the sources: file < env < flags, then validates.
 * @example
 * const config = await resolveConfig({ flags: { port: 0 }, env: process.env, cwd: process.cwd() });
 */
export async function resolveConfig(input: {
  flags: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  configPath?: string;
}): Promise<CollectorConfig> {
  const configPath = input.configPath ?? input.env.ABTEL_COLLECTOR_CONFIG;
  const fromFile = configPath ? await readConfigFile(configPath, input.cwd) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [name, path, type] of ENV_VARS) {
    const raw = input.env[name];
    if (raw === undefined || raw === '') continue;
    const value = coerce(raw, type, name);
    checkSetting(path, value, name);
    setPath(fromEnv, path, value);
  }
  const merged = mergeDeep(mergeDeep(fromFile, fromEnv), input.flags);
  const config = parseConfig(merged, configPath ? `${configPath}, ABTEL_COLLECTOR_* and flags` : 'ABTEL_COLLECTOR_* and flags');
  return { ...config, dir: resolve(input.cwd, config.dir) };
}

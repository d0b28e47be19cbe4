/**
 * The shared shape of abtel subcommands. Each app exports `Command` objects; `apps/cli` only
 * dispatches and maps error codes to exit codes, so every command is testable in-process with
 * `command.run(argv, io)`.
 */
import { getEventListeners } from 'node:events';
import { constants } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParsedFlags<T extends FlagSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>>;
import { UsageError, AbtelError, DefinitionError, formatProblem, isAbtelError } from '../errors.js';
import { isDecimal } from '../internal/decimal.js';

export { UsageError, AbtelError, DefinitionError, formatProblem, isAbtelError };

/** Where a command reads and writes; tests pass their own. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM by the bin; long-running commands stop cleanly when it fires. */
  readonly signal?: AbortSignal;
}

/** One `abtel <name>` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `abtel --help`. */
  readonly summary: string;
  /** Full `--help` text, including at least one example. */
  readonly help: string;
  /** Returns the process exit code (0 ok, 3 a `--fail-on` condition held). */
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * `-0.05`, `-3`, `-1e-3`, and negative quantities such as `-1s` or `-5MiB`: a value, not a flag (no
 * flag starts with a digit), so that its own check can say what is wrong with it.
 */
function isNegativeNumber(token: string): boolean {
  return token.startsWith('-') && (isDecimal(token) || /^-\d/.test(token));
}

/**
 * parseArgs reads `--mde -0.05` as a flag without its value followed by an unknown flag; joining
 * it into `--mde=-0.05` lets a negative number be the value of any flag that takes one.
 */
function joinNegativeValues(argv: readonly string[], options: FlagSpec): string[] {
  const out: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index]!;
    if (token === '--') {
      out.push(...argv.slice(index));
      break;
    }
    const next = argv[index + 1];
    const name = token.startsWith('--')
      ? token.slice(2)
      : /^-[^-]$/.test(token)
        ? Object.keys(options).find((key) => options[key]!.short === token.slice(1))
        : undefined;
    if (next !== undefined && name !== undefined && options[name]?.type === 'string' && isNegativeNumber(next)) {
      out.push(`--${name}=${next}`);
      index += 1;
    } else out.push(token);
  }
  return out;
}

/**
 * Strict flag parsing whose errors are one-line `UsageError`s naming the command. A negative number
 * is accepted as a flag's value (`--mde -0.05`), and a single-valued flag given twice is an error
 * rather than silently keeping the last.
 * @example
 * const { values } = parseFlags('power', argv, { baseline: { type: 'string' } });
 */
export function parseFlags<const T extends FlagSpec>(command: string, argv: readonly string[], options: T): ParsedFlags<T> {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, options), options, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    const unknown = (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && error instanceof Error ? /'([^']+)'/.exec(error.message)?.[1] : undefined;
    if (unknown !== undefined) {
      throw new UsageError(`abtel ${command}: unknown option ${unknown}; see abtel ${command} --help`, { cause: error });
    }
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`abtel ${command}: ${message} (see abtel ${command} --help)`, { cause: error });
  }
  const seen = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || options[token.name]?.type !== 'string' || options[token.name]?.multiple) continue;
    const previous = seen.get(token.name);
    if (previous !== undefined) {
      throw new UsageError(`abtel ${command}: --${token.name} was given twice ("${previous}", then "${token.value ?? ''}"); give it once (see abtel ${command} --help)`);
    }
    seen.set(token.name, token.value ?? '');
  }
  return { values: parsed.values, positionals: parsed.positionals } as ParsedFlags<T>;
}

/**
 * Parses a number flag with bounds, or throws a UsageError that says what was expected.
 * @example
 * const alpha = numberFlag('power', 'alpha', values.alpha, { min: 0, max: 1, exclusive: true }) ?? 0.05;
 */
export function numberFlag(
  command: string,
  flag: string,
  raw: string | undefined,
  bounds: { min?: number; max?: number; integer?: boolean; exclusive?: boolean } = {},
): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const { min, max, integer, exclusive } = bounds;
  const tooLow = min !== undefined && (exclusive ? value <= min : value < min);
  const tooHigh = max !== undefined && (exclusive ? value >= max : value > max);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || tooLow || tooHigh) {
    const kind = integer ? 'an integer' : 'a number';
    const range =
      min !== undefined && max !== undefined
        ? ` ${exclusive ? 'strictly ' : ''}between ${min} and ${max}`
        : min !== undefined
          ? ` ${exclusive ? '>' : '>='} ${min}`
          : max !== undefined
            ? ` ${exclusive ? '<' : '<='} ${max}`
            : '';
    throw new UsageError(`abtel ${command}: --${flag} must be ${kind}${range} (got "${raw}")`);
  }
  return value;
}

/**
 * Checks a `--memory-limit` for DuckDB up front, so a typo is a usage error instead of DuckDB's
 * bare "Failed to set config". Accepts what DuckDB's `memory_limit` does for sizes: a number, an
 * optional space and a unit (B, KB/KiB, MB/MiB, GB/GiB, TB/TiB, or K/M/G/T; any case). Percentages
 * and bare numbers are rejected by DuckDB 1.x, so they are here too.
 * @example
 * const memoryLimit = memoryLimitFlag('sql', values['memory-limit']); // '2GB' or undefined
 */
export function memoryLimitFlag(command: string, raw: string | undefined, flag = 'memory-limit'): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^(\d+(\.\d*)?|\.\d+)\s*(b|[kmgt]i?b|[kmgt])$/i.test(raw.trim())) {
    throw new UsageError(`abtel ${command}: --${flag} must be a size like 600MB, 2GB or 1.5GiB (got "${raw}")`);
  }
  return raw.trim();
}

/**
 * Throws a UsageError when a required flag is missing.
 * @example
 * const dir = requireFlag('validate', 'experiments', values.experiments);
 */
export function requireFlag<T>(command: string, flag: string, value: T | undefined): T {
  if (value === undefined) throw new UsageError(`abtel ${command}: --${flag} is required (see abtel ${command} --help)`);
  return value;
}

/** True when argv asks for help. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * For a bin: SIGINT and SIGTERM abort the returned signal, so a command that listens for the abort
 * (the collector) stops cleanly. A signal that arrives while nothing listens (a command still
 * starting, or one that never listens) ends the process at once, and so does a second signal, with
 * the shell's status for a signal (128 + its number: 130 for SIGINT, 143 for SIGTERM). Without
 * this, the handler installed for the clean stop would swallow signals the command never sees.
 * @example
 * process.exitCode = await run(argv, { ...io, signal: abortOnSignals() });
 */
export function abortOnSignals(exit: (code: number) => void = (code) => process.exit(code)): AbortSignal {
  const controller = new AbortController();
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      const listening = getEventListeners(controller.signal, 'abort').length > 0;
      if (controller.signal.aborted) {
        // Say so: the command's own shutdown (a collector draining its requests) is cut short.
        try {
          process.stderr.write(`received ${name} during the shutdown: exiting without finishing it\n`);
        } catch {
          // A closed stderr: the exit status still tells.
        }
      }
      if (controller.signal.aborted || !listening) {
        exit(128 + constants.signals[name]);
        return;
      }
      controller.abort(new Error(`received ${name}`));
    });
  }
  return controller.signal;
}

/**
 * How a command's program treats a closed stdout or stderr pipe, instead of crashing on the
 * stream's unhandled `EPIPE` error event:
 * - `'command'`: a reader that stops early (`abtel sql … | head -1`) ends the command quietly with
 *   success, like other CLIs; a closed stderr is ignored (the exit code still tells).
 * - `'server'`: both are ignored and the program carries on: a collector must keep receiving, and
 *   still drain and close cleanly on SIGTERM, when whatever read its output has gone.
 * @example
 * handleClosedOutput('server'); // first thing in the collector's bin
 */
export function handleClosedOutput(kind: 'command' | 'server', streams: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process, exit: (code: number) => void = (code) => process.exit(code)): void {
  const closed = (error: NodeJS.ErrnoException) => error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED';
  streams.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (!closed(error)) throw error;
    if (kind === 'command') exit(0);
  });
  streams.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (!closed(error)) throw error;
  });
}

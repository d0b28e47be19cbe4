/**
 * `abtel boundaries`: group-sequential efficacy boundaries for registered looks.
 */
import { numberFlag, parseFlags, UsageError, type Command, type CommandIo } from '@abtel/core/cli';
import { groupSequentialBoundaries, isStatsError } from '@abtel/stats';
import { formatNumber, parseFormat } from './power.js';

const HELP = `abtel boundaries — group-sequential z boundaries (Lan–DeMets O'Brien–Fleming spending)

Usage: abtel boundaries --looks <fractions|count> [--alpha 0.05] [--format text|json]

Computes two-sided efficacy boundaries at the registered information fractions (share of the
planned units analysed at each look) by exact recursive numerical integration, with the nominal
p-value each look must beat and the α spent so far. Stop for efficacy at a look when |z| ≥ boundary.

Flags:
  --looks <list|k>      increasing fractions ending at 1, e.g. 0.25,0.5,0.75,1; or a count k for
                        k equally spaced looks
  --alpha <α>           overall two-sided significance level (default 0.05)
  --format <text|json>  output format (default text)

Examples:
  abtel boundaries --looks 0.25,0.5,0.75,1 --alpha 0.05
  abtel boundaries --looks 4 --format json
`;

const FLAGS = { looks: { type: 'string' }, alpha: { type: 'string' }, format: { type: 'string' } } as const;

/** Parses `0.25,0.5,0.75,1` or a look count. */
export function parseLooks(raw: string | undefined): number[] {
  if (raw === undefined) throw new UsageError('abtel boundaries: --looks is required, e.g. --looks 0.25,0.5,0.75,1 (see abtel boundaries --help)');
  if (/^\s*\d+\s*$/.test(raw) && !raw.includes('.')) {
    const count = Number(raw);
    if (count < 1 || count > 50) throw new UsageError(`abtel boundaries: --looks count must be between 1 and 50 (got "${raw}")`);
    return Array.from({ length: count }, (_, i) => (i + 1) / count);
  }
  const parts = raw.split(',').map((part) => part.trim());
  const fractions = parts.map(Number);
  const bad = parts.findIndex((part, i) => part === '' || !Number.isFinite(fractions[i]!) || fractions[i]! <= 0 || fractions[i]! > 1);
  if (bad >= 0) throw new UsageError(`abtel boundaries: --looks must be fractions in (0, 1] separated by commas; look ${bad + 1} is "${parts[bad]}"`);
  for (let i = 1; i < fractions.length; i++) {
    if (!(fractions[i]! > fractions[i - 1]!)) throw new UsageError(`abtel boundaries: --looks must increase strictly (look ${i + 1}: ${parts[i]} after ${parts[i - 1]})`);
  }
  return fractions;
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags('boundaries', argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`abtel boundaries: unexpected argument "${positionals[0]}" (see abtel boundaries --help)`);
  const format = parseFormat('boundaries', values.format);
  const fractions = parseLooks(values.looks);
  const alpha = numberFlag('boundaries', 'alpha', values.alpha, { min: 0, max: 1, exclusive: true }) ?? 0.05;
  let plan;
  try {
    plan = groupSequentialBoundaries(fractions, { alpha });
  } catch (error) {
    if (isStatsError(error)) throw new UsageError(`abtel boundaries: ${error.message}`, { cause: error });
    throw error;
  }
  const looks = plan.looks.map((look, i) => ({ look: i + 1, ...look }));
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ kind: 'group_sequential_boundaries', alpha, spending: plan.spending, sides: 2, looks }, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `Lan–DeMets O'Brien–Fleming boundaries, two-sided α ${formatNumber(alpha)}:`,
    '  look  fraction   |z| ≥    nominal p   α spent',
    ...looks.map(
      (look) =>
        `  ${String(look.look).padStart(4)}  ${look.fraction.toFixed(4).padStart(8)}  ${look.z.toFixed(4).padStart(7)}  ${look.nominalPValue.toExponential(3).padStart(10)}  ${look.cumulativeAlpha.toFixed(6)}`,
    ),
  ];
  if (fractions.at(-1) !== 1) lines.push('  note: the last look is before full information (fraction < 1); α is not fully spent.');
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `abtel boundaries`. */
export const boundariesCommand: Command = { name: 'boundaries', summary: 'group-sequential z boundaries for planned looks', help: HELP, run };

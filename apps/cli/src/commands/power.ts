/**
 * `abtel power`: sample size (or minimum detectable effect) before launch.
 */
import { numberFlag, parseFlags, UsageError, type Command, type CommandIo } from '@abtel/core/cli';
import { isStatsError, mdeMeans, mdeProportions, sampleSizeMeans, sampleSizeProportions } from '@abtel/stats';

const HELP = `abtel power — sample size or minimum detectable effect for a two-sided test

Usage:
  abtel power --baseline <rate> --mde <abs> [flags]   units needed for a conversion-style metric
  abtel power --sd <σ> --mde <abs> [flags]            units needed for a mean metric with known σ
  abtel power --n <units> --baseline <rate> [flags]   smallest detectable change with n units
  abtel power --n <units> --sd <σ> [flags]            same for a mean metric

Proportions use the normal approximation, pooled variance under H0 and unpooled under H1
(Fleiss, Levin & Paik); each treatment arm is compared with the control (the first arm).

Flags:
  --baseline <p>        control rate, strictly between 0 and 1 (e.g. 0.6)
  --sd <σ>              per-unit standard deviation of a mean metric (instead of --baseline)
  --mde <δ>             absolute change to detect, e.g. 0.05 = +5 percentage points
  --n <units>           total exposed units available (asks for the MDE instead)
  --alpha <α>           two-sided significance level (default 0.05)
  --power <1−β>         power (default 0.8)
  --arms <k>            arms including control (default 2, or as many as --allocation lists)
  --allocation <a/b/…>  traffic split, control first (default equal), e.g. 50/50 or 20/40/40
  --daily-units <n>     exposed units per day, to print the days needed
  --format <text|json>  output format (default text)

Examples:
  abtel power --baseline 0.6 --mde 0.05
  abtel power --baseline 0.6 --mde 0.02 --allocation 50/50 --daily-units 1500 --format json
  abtel power --n 5000 --baseline 0.6
`;

const FLAGS = {
  baseline: { type: 'string' },
  sd: { type: 'string' },
  mde: { type: 'string' },
  n: { type: 'string' },
  alpha: { type: 'string' },
  power: { type: 'string' },
  arms: { type: 'string' },
  allocation: { type: 'string' },
  'daily-units': { type: 'string' },
  format: { type: 'string' },
} as const;

/** Parses `50/50` or `20/40/40` into positive weights. */
export function parseAllocation(command: string, raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split('/').map((part) => part.trim());
  const weights = parts.map(Number);
  if (parts.length < 2 || parts.some((part) => part === '') || weights.some((w) => !Number.isFinite(w) || w <= 0)) {
    throw new UsageError(`abtel ${command}: --allocation must be positive weights separated by "/", control first, e.g. 50/50 (got "${raw}")`);
  }
  return weights;
}

/** Parses `--format`. */
export function parseFormat(command: string, raw: string | undefined): 'text' | 'json' {
  if (raw === undefined || raw === 'text' || raw === 'json') return raw ?? 'text';
  throw new UsageError(`abtel ${command}: --format must be text or json (got "${raw}")`);
}

function armLabel(index: number, arms: number): string {
  if (index === 0) return 'control';
  return arms === 2 ? 'treatment' : `treatment ${index}`;
}

const integer = (value: number): string => value.toLocaleString('en-US');

/**
 * A number for display: 12 significant digits, trailing zeros dropped, so that sums of inputs read
 * as typed (0.55 + 0.15 prints 0.7, not 0.7000000000000001).
 * @example
 * formatNumber(0.55 + 0.15); // '0.7'
 */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(12)));
}
const percent = (value: number): string => `${(value * 100).toFixed(2).replace(/\.?0+$/, '')}%`;

/** Runs a stats call, turning its input errors into one-line usage errors. */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isStatsError(error)) throw new UsageError(`abtel power: ${error.message}`, { cause: error });
    throw error;
  }
}

async function run(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags('power', argv, FLAGS);
  if (positionals.length > 0) throw new UsageError(`abtel power: unexpected argument "${positionals[0]}" (see abtel power --help)`);
  const format = parseFormat('power', values.format);
  const baseline = numberFlag('power', 'baseline', values.baseline, { min: 0, max: 1, exclusive: true });
  const sd = numberFlag('power', 'sd', values.sd, { min: 0, exclusive: true });
  const mde = numberFlag('power', 'mde', values.mde);
  const n = numberFlag('power', 'n', values.n, { min: 2, integer: true });
  const alpha = numberFlag('power', 'alpha', values.alpha, { min: 0, max: 1, exclusive: true }) ?? 0.05;
  const power = numberFlag('power', 'power', values.power, { min: 0, max: 1, exclusive: true }) ?? 0.8;
  const arms = numberFlag('power', 'arms', values.arms, { min: 2, integer: true });
  const dailyUnits = numberFlag('power', 'daily-units', values['daily-units'], { min: 0, exclusive: true });
  const allocation = parseAllocation('power', values.allocation);
  if (baseline === undefined && sd === undefined) throw new UsageError('abtel power: give --baseline <rate> for a proportion or --sd <σ> for a mean (see abtel power --help)');
  if (baseline !== undefined && sd !== undefined) throw new UsageError('abtel power: give either --baseline or --sd, not both');
  if ((mde === undefined) === (n === undefined)) throw new UsageError('abtel power: give exactly one of --mde (to get a sample size) or --n (to get the minimum detectable effect)');
  if (mde === 0) throw new UsageError('abtel power: --mde must be non-zero (got "0")');
  if (arms !== undefined && allocation !== undefined && allocation.length !== arms) {
    throw new UsageError(`abtel power: --allocation lists ${allocation.length} arms but --arms is ${arms}`);
  }
  const options = { alpha, power, ...(allocation ? { allocation } : {}), ...(arms ? { arms } : {}), ...(dailyUnits ? { dailyUnits } : {}) };
  const metric = baseline !== undefined ? 'proportion' : 'mean';
  const design = `two-sided α ${formatNumber(alpha)}, power ${formatNumber(power)}`;

  if (mde !== undefined) {
    const result = usage(() => (baseline !== undefined ? sampleSizeProportions({ baseline, mde, ...options }) : sampleSizeMeans({ sd: sd!, mde, ...options })));
    if (format === 'json') {
      io.stdout.write(`${JSON.stringify({ kind: 'sample_size', metric, baseline: baseline ?? null, sd: sd ?? null, mde, alpha, power, allocation: result.allocation, perArm: result.perArm, total: result.total, dailyUnits: dailyUnits ?? null, days: result.days ?? null }, null, 2)}\n`);
      return 0;
    }
    const what =
      baseline !== undefined
        ? `proportion ${formatNumber(baseline)} → ${formatNumber(baseline + mde)} (${mde > 0 ? '+' : ''}${formatNumber(mde)})`
        : `mean, σ ${formatNumber(sd!)}, δ ${formatNumber(mde)}`;
    const width = Math.max(...result.perArm.map((_, i) => armLabel(i, result.perArm.length).length), 5);
    const lines = [`Sample size for a ${what}, ${design}:`];
    result.perArm.forEach((count, i) => lines.push(`  ${armLabel(i, result.perArm.length).padEnd(width)}  ${integer(count).padStart(10)}  (${percent(result.allocation[i]!)})`));
    lines.push(`  ${'total'.padEnd(width)}  ${integer(result.total).padStart(10)}`);
    if (result.days !== undefined) lines.push(`  ${'days'.padEnd(width)}  ${integer(result.days).padStart(10)}  at ${integer(dailyUnits!)} units/day`);
    io.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }

  const total = n!;
  const result = usage(() => (baseline !== undefined ? mdeProportions({ baseline, n: total, ...options }) : mdeMeans({ sd: sd!, n: total, ...options })));
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ kind: 'mde', metric, baseline: baseline ?? null, sd: sd ?? null, n: total, alpha, power, allocation: result.allocation, perArm: result.perArm, absolute: result.absolute, relative: Number.isFinite(result.relative) ? result.relative : null }, null, 2)}\n`);
    return 0;
  }
  const relative = Number.isFinite(result.relative) ? ` (${percent(result.relative)} relative)` : '';
  io.stdout.write(
    `Minimum detectable effect with ${integer(total)} units (${result.perArm.map(integer).join(' / ')} per arm), ${design}:\n` +
      `  ${baseline !== undefined ? `${formatNumber(baseline)} → ${(baseline + result.absolute).toFixed(4)}: +${result.absolute.toFixed(4)} absolute` : `δ = ${result.absolute.toPrecision(4)}`}${relative}\n`,
  );
  return 0;
}

/** `abtel power`. */
export const powerCommand: Command = { name: 'power', summary: 'sample size or minimum detectable effect before launch', help: HELP, run };

/**
 * `abtel analyze`: the CLI over `analyze()`. Exit codes: 0 ok, 3 when a `--fail-on` condition
 * holds (the report is still written first), 2 usage errors, 1 other failures (one line).
 */
import { access, constants, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Report } from '@abtel/core';
import { AbtelError, numberFlag, parseFlags, requireFlag, UsageError, type Command, type CommandIo } from '@abtel/core/cli';
import { analyze } from './analyze.js';
import { progressBar } from './progress.js';
import { renderReport, REPORT_FORMATS, type ReportFormat } from '../report/render.js';

/**
 * Conditions `--fail-on` understands, each with the check that makes it hold.
 * @example
 * FAIL_ON_CONDITIONS.srm!.holds(report); // 'sample ratio mismatch (…)' or undefined
 */
export const FAIL_ON_CONDITIONS: Readonly<Record<string, { describe: string; holds: (report: Report) => string | undefined }>> = {
  srm: {
    describe: 'sample ratio mismatch flagged',
    holds: (r) => (r.health.srm.flagged ? `sample ratio mismatch (chi-square p = ${r.health.srm.pValue})` : undefined),
  },
  guardrail: {
    describe: 'a guardrail action fired (breach for its consecutive windows)',
    holds: (r) => {
      const fired = r.guardrails.filter((g) => g.actionTriggered);
      return fired.length > 0 ? `guardrail action: ${fired.map((g) => `${g.metric}/${g.variation} ${g.action} at ${g.actionWindow}`).join(', ')}` : undefined;
    },
  },
  alert: {
    describe: 'any guardrail window breached',
    holds: (r) => {
      const alerts = r.guardrails.reduce((sum, g) => sum + g.alerts, 0);
      return alerts > 0 ? `${alerts} breached guardrail window(s)` : undefined;
    },
  },
  'bad-lines': {
    describe: 'unreadable input lines',
    holds: (r) => (r.badLines.count > 0 ? `${r.badLines.count} unreadable input line(s)` : undefined),
  },
  health: {
    describe: 'any health check failed (SRM, multiple exposure, assignment, stale, bad lines)',
    holds: (r) => {
      const h = r.health;
      const failed = [
        h.srm.flagged && 'SRM',
        h.multipleExposures.flagged && 'multiple exposures',
        h.assignment.flagged && 'assignment audit',
        h.freshness.stale && 'stale data',
        h.badLines > 0 && 'bad lines',
      ].filter(Boolean);
      return failed.length > 0 ? `health: ${failed.join(', ')}` : undefined;
    },
  },
  simpson: {
    describe: 'a Simpson reversal in a segment',
    holds: (r) => (r.segments.some((s) => s.simpson.flagged) ? 'Simpson reversal in a segment readout' : undefined),
  },
  pause: { describe: 'the decision is pause', holds: (r) => (r.decision.recommendation === 'pause' ? 'decision: pause' : undefined) },
  rollback: { describe: 'the decision is rollback', holds: (r) => (r.decision.recommendation === 'rollback' ? 'decision: rollback' : undefined) },
};

const HELP = `abtel analyze — the experiment readout: population, health, comparisons, guardrails, segments, decision

Usage:
  abtel analyze --data DIR --experiments DIR --experiment KEY [flags]

Flags:
  --data DIR|GLOB          OTLP JSON Lines (plain or .gz) and compacted Parquet; repeat for several
  --experiments DIR        experiment definitions (*.yaml, *.json, shared metrics.yaml)
  --experiment KEY         the experiment to analyse
  --format FORMAT          table (default), json, md, html
  --out FILE               write the report to FILE instead of stdout
  --segments A,B           segment attributes to read out (default: the experiment's segments)
  --fail-on C,D            exit 3 when a condition holds: ${Object.keys(FAIL_ON_CONDITIONS).join(', ')}
  --window-minutes N       window of the judge trend (default 60)
  --now ISO                readout time for freshness and the planned end (default: now)
  --max-bad-lines N        unreadable lines tolerated before the decision is pause (default 0)
  --stale-after MINUTES    a running experiment with older data is stale (default 360)

Exit codes: 0 ok, 3 a --fail-on condition holds (the report is written first), 2 usage, 1 other errors.

Examples:
  abtel analyze --data ./telemetry --experiments ./experiments --experiment support-persona
  abtel analyze --data ./telemetry --experiments ./experiments --experiment support-persona \\
    --format json --out report.json --fail-on srm,guardrail
  abtel analyze --data ./telemetry --experiments ./experiments --experiment support-persona --format html --out report.html
`;

/**
 * The `abtel analyze` command.
 * @example
 * const code = await analyzeCommand.run(['--data', 'telemetry', '--experiments', 'experiments', '--experiment', 'support-persona', '--format', 'json'], io);
 */
export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'Analyse an experiment from collected files: health, lifts, guardrails, segments, decision',
  help: HELP,
  async run(argv: readonly string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseFlags('analyze', argv, {
      data: { type: 'string', multiple: true },
      experiments: { type: 'string' },
      experiment: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      segments: { type: 'string' },
      'fail-on': { type: 'string' },
      'window-minutes': { type: 'string' },
      now: { type: 'string' },
      'max-bad-lines': { type: 'string' },
      'stale-after': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`abtel analyze: unexpected argument "${positionals[0]}" (use --data DIR; see abtel analyze --help)`);
    const dataInputs = requireFlag('analyze', 'data', values.data);
    const experiments = requireFlag('analyze', 'experiments', values.experiments);
    const experiment = requireFlag('analyze', 'experiment', values.experiment);
    const format = (values.format ?? 'table') as ReportFormat;
    if (!REPORT_FORMATS.includes(format)) {
      throw new UsageError(`abtel analyze: --format must be one of ${REPORT_FORMATS.join(', ')} (got "${values.format}")`);
    }
    const failOn = failOnList(values['fail-on']);
    const now = values.now;
    if (now !== undefined && Number.isNaN(Date.parse(now))) throw new UsageError(`abtel analyze: --now must be an ISO time such as 2026-11-22T12:00:00Z (got "${now}")`);
    const windowMinutes = numberFlag('analyze', 'window-minutes', values['window-minutes'], { min: 0, exclusive: true });
    const maxBadLines = numberFlag('analyze', 'max-bad-lines', values['max-bad-lines'], { min: 0, integer: true });
    const staleAfterMinutes = numberFlag('analyze', 'stale-after', values['stale-after'], { min: 0, exclusive: true });
    // Checked before the analysis, which can take minutes, rather than failing when it is done.
    const target = values.out === undefined ? undefined : await checkOutPath(values.out, resolve(io.cwd, values.out));

    // JSON output stays silent on stderr too: it is the machine format.
    const bar = format === 'json' ? progressBar({ write: () => true }) : progressBar(io.stderr as { write(text: string): unknown; isTTY?: boolean });
    let report: Report;
    try {
      report = await analyze({
        data: dataInputs.map((input) => resolve(io.cwd, input)),
        experiments: resolve(io.cwd, experiments),
        experiment,
        segments: values.segments === undefined ? undefined : list(values.segments),
        windowMinutes,
        now,
        decision: { maxBadLines, staleAfterMinutes },
        onProgress: (progress) => bar.update(progress),
        signal: io.signal,
      });
    } finally {
      bar.done();
    }

    const colour = format === 'table' && values.out === undefined && io.stdout.isTTY === true && !io.env.NO_COLOR;
    const text = await renderReport(report, format, { colour });
    if (target !== undefined) {
      try {
        await writeFile(target, text);
      } catch (error) {
        throw new AbtelError('io', `--out ${target}: cannot write the report (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
      }
      if (format !== 'json') io.stderr.write(`abtel analyze: ${report.decision.recommendation} — report written to ${target}\n`);
    } else {
      io.stdout.write(text);
    }

    const held = failOn.map((condition) => FAIL_ON_CONDITIONS[condition]!.holds(report)).filter((reason): reason is string => reason !== undefined);
    if (held.length > 0) {
      io.stderr.write(`abtel analyze: --fail-on: ${held.join('; ')}\n`);
      return 3;
    }
    return 0;
  },
};

/**
 * `--fail-on` as a list of known conditions. An empty item (`--fail-on ""`, `srm,,guardrail`) is a
 * usage error: a CI gate that silently checks nothing would pass every build.
 */
function failOnList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const accepted = Object.keys(FAIL_ON_CONDITIONS).join(', ');
  const items = raw.split(',').map((item) => item.trim());
  if (items.some((item) => item.length === 0)) {
    throw new UsageError(`abtel analyze: --fail-on "${raw}" has an empty condition; give a comma-separated list of ${accepted}`);
  }
  for (const condition of items) {
    if (!(condition in FAIL_ON_CONDITIONS)) throw new UsageError(`abtel analyze: --fail-on "${condition}" is not a condition; use ${accepted}`);
  }
  return items;
}

/**
 * The absolute `--out` path when the report can be written there: its directory exists and is
 * writable, and the path is not a directory. A missing path is `not_found` and an unwritable one
 * `io` (exit 1), as for `--data` and `--experiments`.
 */
async function checkOutPath(given: string, target: string): Promise<string> {
  const dir = dirname(target);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat) throw new AbtelError('not_found', `--out ${given}: directory ${dir} does not exist; create it (mkdir -p ${dir}) or write the report elsewhere`);
  if (!dirStat.isDirectory()) throw new AbtelError('not_found', `--out ${given}: ${dir} is not a directory; give a file path inside an existing directory`);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new AbtelError('io', `--out ${given}: ${target} is a directory; give a file path such as ${join(target, 'report.json')}`);
  const [path, what] = existing ? [target, 'file'] : [dir, 'directory'];
  try {
    await access(path, constants.W_OK);
  } catch (error) {
    throw new AbtelError('io', `--out ${given}: ${what} ${path} is not writable; fix its permissions or write the report elsewhere`, { cause: error });
  }
  return target;
}

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

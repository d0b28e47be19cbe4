/**
 * The demo's last step: `abtel compact` (optional), then the analysis of both experiments with
 * @abtel/analysis (DuckDB over the collected files): the terminal report is printed and the
 * report files are written. When the analysis package cannot be loaded (not built), the step says
 * so and the demo keeps the per-arm counts it read from the files.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CommandIo } from '@abtel/core/cli';
import { PERSONA_EXPERIMENT, RETRIEVAL_EXPERIMENT } from './support-agent.js';
import type { ProgressBar } from './internal/progress.js';

type AnalysisModule = typeof import('@abtel/analysis');
type CompactModule = typeof import('@abtel/analysis/commands/compact');

/** What the analysis step produced. */
export interface AnalysisOutcome {
  /** False when the analysis could not be loaded. */
  readonly available: boolean;
  /** Why the analysis is missing or failed, when it is. */
  readonly message?: string;
  readonly reportJson?: string;
  readonly reportHtml?: string;
  readonly reportMarkdown?: string;
  /** Report files of the other experiment, by experiment key. */
  readonly otherReports: Record<string, string[]>;
  /** The decision per experiment key. */
  readonly decisions: Record<string, { recommendation: string; winner?: string }>;
}

/** Minutes per bucket of the exposure timeline: the demo lasts seconds, not hours. */
const DEMO_WINDOW_MINUTES = 1;

function quietIo(io: CommandIo): CommandIo & { text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  return { stdout: sink, stderr: sink, env: io.env, cwd: io.cwd, ...(io.signal ? { signal: io.signal } : {}), text: () => text };
}

/**
 * Compacts (optionally) and analyses the demo's files; prints the terminal report of both
 * experiments and writes report.html / report.json / report.md (support-retrieval) and
 * support-persona.report.html / .json.
 * @example
 * const outcome = await analyseDemo({ dataDir, experimentsDir, out, compact: false, io, bar });
 */
export async function analyseDemo(options: {
  dataDir: string;
  experimentsDir: string;
  out: string;
  compact: boolean;
  io: CommandIo;
  bar: ProgressBar;
}): Promise<AnalysisOutcome> {
  const { io, dataDir, experimentsDir, out, bar } = options;
  let analysis: AnalysisModule;
  try {
    analysis = await import('@abtel/analysis');
  } catch (error) {
    const message = `the analysis (@abtel/analysis) could not be loaded: ${(error as Error).message.split('\n')[0]}; the per-arm counts above come straight from the files. Build everything with: node scripts/pnpm.mjs exec turbo run build`;
    io.stdout.write(`${message}\n`);
    return { available: false, message, otherReports: {}, decisions: {} };
  }
  if (options.compact) {
    try {
      const { compactCommand } = (await import('@abtel/analysis/commands/compact')) as CompactModule;
      const quiet = quietIo(io);
      // The count check passed, so every file holds all that the processes sent, and nothing else
      // is sent before the analysis: the live files are complete too. Without --include-active a
      // small run (no rotation yet) would compact nothing. Should the collector, left running by
      // --keep-running, append to a live file later, its Parquet no longer matches the file's size
      // and the file is read as JSON again.
      const code = await compactCommand.run([dataDir, '--include-active', '--min-age', '0'], quiet);
      const lines = quiet.text().trim().split('\n');
      const last = lines.find((text) => text.startsWith('abtel compact:')) ?? lines.pop() ?? '';
      io.stdout.write(code === 0 ? `  ${last}\n\n` : `  abtel compact exited ${code}: ${last}; analysing the raw files\n\n`);
    } catch (error) {
      io.stdout.write(`  abtel compact is not available (${(error as Error).message.split('\n')[0]}); analysing the raw files\n`);
    }
  }
  const colour = io.stdout.isTTY === true && !io.env['NO_COLOR'];
  const decisions: AnalysisOutcome['decisions'] = {};
  const written: Record<string, string[]> = {};
  try {
    for (const experiment of [RETRIEVAL_EXPERIMENT, PERSONA_EXPERIMENT]) {
      bar.start(`analysis ${experiment}`);
      const report = await analysis.analyze({
        data: [dataDir],
        experiments: experimentsDir,
        experiment,
        windowMinutes: DEMO_WINDOW_MINUTES,
        onProgress: (progress) => bar.update(progress.done, progress.total),
        ...(io.signal ? { signal: io.signal } : {}),
      });
      bar.clear();
      decisions[experiment] = { recommendation: report.decision.recommendation, ...(report.decision.winner ? { winner: report.decision.winner } : {}) };
      io.stdout.write(`${await analysis.renderReport(report, 'table', { colour })}\n`);
      const base = experiment === RETRIEVAL_EXPERIMENT ? join(out, 'report') : join(out, `${experiment}.report`);
      const files: string[] = [];
      for (const format of ['html', 'json', 'md'] as const) {
        const file = `${base}.${format}`;
        await writeFile(file, await analysis.renderReport(report, format));
        files.push(file);
      }
      written[experiment] = files;
    }
  } catch (error) {
    bar.clear();
    const message = `the analysis failed: ${(error as Error).message.split('\n')[0]}`;
    io.stdout.write(`${message}\n`);
    return { available: true, message, otherReports: {}, decisions };
  }
  const [reportHtml, reportJson, reportMarkdown] = written[RETRIEVAL_EXPERIMENT] ?? [];
  return {
    available: true,
    ...(reportHtml ? { reportHtml } : {}),
    ...(reportJson ? { reportJson } : {}),
    ...(reportMarkdown ? { reportMarkdown } : {}),
    otherReports: { [PERSONA_EXPERIMENT]: written[PERSONA_EXPERIMENT] ?? [] },
    decisions,
  };
}

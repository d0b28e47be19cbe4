/**
 * The demo's last step: `abtel compact` (optional) and `abtel analyze` on the collected files,
 * through the same command objects the `abtel` CLI runs, so the demo shows exactly what a user
 * gets from the CLI. When the analysis package is not available, the step says so and the demo
 * keeps the per-arm counts it read from the files.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Command, CommandIo } from '@abtel/core/cli';
import { PERSONA_EXPERIMENT, RETRIEVAL_EXPERIMENT } from './support-agent.js';
import type { ProgressBar } from './internal/progress.js';

/** What the analysis step produced. */
export interface AnalysisOutcome {
  /** False when `abtel analyze` could not be loaded. */
  readonly available: boolean;
  /** Why the analysis is missing or failed, when it is. */
  readonly message?: string;
  readonly reportJson?: string;
  readonly reportHtml?: string;
  readonly reportMarkdown?: string;
  /** Report files of the other experiment(s), by experiment key. */
  readonly otherReports: Record<string, string[]>;
  /** Exit codes of the analyze runs (0 ok; 3 a --fail-on condition). */
  readonly exitCodes: number[];
}

// Entry points that may export abtel's command objects, in the order they are tried.
const COMMAND_MODULES = ['@abtel/analysis/commands', '@abtel/analysis', '@abtel/collector/commands', '@abtel/collector', '@abtel/files'];

async function findCommand(name: string): Promise<{ command?: Command; problems: string[] }> {
  const problems: string[] = [];
  for (const specifier of COMMAND_MODULES) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(specifier)) as Record<string, unknown>;
    } catch (error) {
      problems.push(`${specifier}: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    for (const value of Object.values(mod)) {
      const candidate = value as Partial<Command> | undefined;
      if (candidate && typeof candidate === 'object' && candidate.name === name && typeof candidate.run === 'function') return { command: candidate as Command, problems };
    }
  }
  return { problems };
}

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
 * Compacts (optionally) and analyses the demo's files; prints the terminal report of the
 * retrieval experiment (and the persona experiment) and writes report.html / report.json.
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
  const { io, dataDir, experimentsDir, out } = options;
  const analyze = await findCommand('analyze');
  if (!analyze.command) {
    const message = `abtel analyze is not available in this build (${analyze.problems[0] ?? 'no module exports an "analyze" command'}); the per-arm counts above come straight from the files. Build everything with: node scripts/pnpm.mjs exec turbo run build`;
    io.stdout.write(`${message}\n`);
    return { available: false, message, otherReports: {}, exitCodes: [] };
  }
  if (options.compact) {
    const compact = await findCommand('compact');
    if (compact.command) {
      const quiet = quietIo(io);
      const code = await compact.command.run([dataDir], quiet);
      io.stdout.write(code === 0 ? `  compacted ${dataDir} to Parquet\n` : `  abtel compact exited ${code}: ${quiet.text().trim().split('\n').pop() ?? ''}\n`);
    } else {
      io.stdout.write('  abtel compact is not available in this build; analysing the raw files\n');
    }
  }
  const base = ['--data', dataDir, '--experiments', experimentsDir];
  const exitCodes: number[] = [];
  const otherReports: Record<string, string[]> = {};
  const run = async (argv: string[], target: CommandIo): Promise<void> => {
    exitCodes.push(await (analyze.command as Command).run(argv, target));
  };
  try {
    await run([...base, '--experiment', RETRIEVAL_EXPERIMENT, '--format', 'table'], io);
    io.stdout.write('\n');
    await run([...base, '--experiment', PERSONA_EXPERIMENT, '--format', 'table'], io);
    const reportJson = join(out, 'report.json');
    const reportHtml = join(out, 'report.html');
    const reportMarkdown = join(out, 'report.md');
    const quiet = quietIo(io);
    await run([...base, '--experiment', RETRIEVAL_EXPERIMENT, '--format', 'json', '--out', reportJson], quiet);
    await run([...base, '--experiment', RETRIEVAL_EXPERIMENT, '--format', 'html', '--out', reportHtml], quiet);
    await run([...base, '--experiment', RETRIEVAL_EXPERIMENT, '--format', 'md', '--out', reportMarkdown], quiet);
    const personaJson = join(out, `${PERSONA_EXPERIMENT}.report.json`);
    const personaHtml = join(out, `${PERSONA_EXPERIMENT}.report.html`);
    await run([...base, '--experiment', PERSONA_EXPERIMENT, '--format', 'json', '--out', personaJson], quiet);
    await run([...base, '--experiment', PERSONA_EXPERIMENT, '--format', 'html', '--out', personaHtml], quiet);
    otherReports[PERSONA_EXPERIMENT] = [personaHtml, personaJson];
    const failed = exitCodes.filter((code) => code !== 0 && code !== 3);
    if (failed.length > 0) {
      const message = `abtel analyze failed (exit ${failed.join(', ')}): ${quiet.text().trim().split('\n').slice(-3).join(' | ')}`;
      io.stdout.write(`${message}\n`);
      return { available: true, message, otherReports, exitCodes };
    }
    return { available: true, reportJson, reportHtml, reportMarkdown, otherReports, exitCodes };
  } catch (error) {
    const message = `abtel analyze failed: ${(error as Error).message.split('\n')[0]}`;
    io.stdout.write(`${message}\n`);
    return { available: true, message, otherReports, exitCodes };
  }
}

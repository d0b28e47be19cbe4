/**
 * `abtel demo`: a whole conversation-level experiment on one machine, from the real parts only.
 *
 *   collector (child process) ◀─OTLP─ agent (child, node --import @abtel/node/register) ─▶ model server
 *                 ▲                                   │ transcripts
 *                 └───────OTLP─── ticket service (child) ◀┘
 *   files ─▶ count check ─▶ [judge step] ─▶ analysis (DuckDB) ─▶ terminal report, report.html, report.json
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeDirectory } from '@abtel/core';
import { AbtelError, UsageError, type CommandIo } from '@abtel/core/cli';
import { startModelServer, type ModelServer } from './model-server.js';
import { DEFAULT_CONVERSATIONS, DEFAULT_SEED } from './sizing.js';
import { PERSONA_EXPERIMENT, RETRIEVAL_EXPERIMENT, type AgentSummary } from './support-agent.js';
import { OUTCOME_CSAT, OUTCOME_RESOLVED, type TicketSummary } from './tickets.js';
import { armCounts, scanTelemetry, type TelemetryCounts } from './telemetry-files.js';
import { ProgressBar } from './internal/progress.js';
import { parseMessage, startNode, type Child } from './internal/processes.js';
import { analyseDemo, type AnalysisOutcome } from './analysis-step.js';
import { outDirectoryError } from './internal/out-directory.js';

/** The demo package's root (apps/demo): holds experiments/ and dist/. */
export const DEMO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The experiment definitions the demo runs. */
export const DEMO_EXPERIMENTS_DIR = join(DEMO_ROOT, 'experiments');
const MARKER = '.abtel-demo';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  readonly conversations?: number;
  readonly seed?: string;
  /** Output directory (default `./abtel-demo`). */
  readonly out?: string;
  /** Leave the collector running after the report, until the signal fires. */
  readonly keepRunning?: boolean;
  /** Compact the files to Parquet before the analysis (`abtel compact`). */
  readonly compact?: boolean;
  /** Conversations in flight at once (default 12). */
  readonly concurrency?: number;
  /** How abtel events travel: `logs` (default, OpenTelemetry events) or `spans` (span events, for trace-only backends). */
  readonly events?: 'logs' | 'spans';
  /** Multiplies the model server's simulated latency (default 1). */
  readonly latencyScale?: number;
}

/** What a demo run produced. */
export interface DemoResult {
  readonly out: string;
  readonly dataDir: string;
  readonly agent: AgentSummary;
  readonly tickets: TicketSummary;
  readonly files: { chatSpans: number; exposures: number; outcomes: number; badLines: number };
  /** Every count the processes reported sending was found in the files. */
  readonly complete: boolean;
  readonly analysis: AnalysisOutcome;
  readonly timingsMs: Record<string, number>;
}

async function prepareOut(given: string, out: string): Promise<void> {
  try {
    await makeDirectory(out);
  } catch (error) {
    throw outDirectoryError(given, out, error);
  }
  const entries = await readdir(out);
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new UsageError(`abtel demo: --out ${out} is not empty and was not written by abtel demo; pass an empty or new directory`);
  }
  // A previous run's files would be counted twice: start from a clean slate (only our own files).
  for (const name of ['data', 'conversations.jsonl', 'report.json', 'report.html', 'report.md', 'summary.json']) {
    await rm(join(out, name), { recursive: true, force: true });
  }
  try {
    await writeFile(join(out, MARKER), 'Written by abtel demo; the next run replaces the files in this directory.\n');
    await makeDirectory(join(out, 'data'));
  } catch (error) {
    throw outDirectoryError(given, out, error);
  }
}

function collectorBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@abtel/collector/package.json')), 'bin', 'abtel-collector.js');
}

async function startCollector(dataDir: string, env: NodeJS.ProcessEnv, extraArgs: readonly string[]): Promise<{ child: Child; endpoint: string }> {
  let resolveEndpoint: (url: string) => void = () => undefined;
  const endpointSeen = new Promise<string>((resolveUrl) => {
    resolveEndpoint = resolveUrl;
  });
  const timeout = new AbortController();
  const child = startNode([collectorBin(), '--host', '127.0.0.1', '--port', '0', '--dir', dataDir, ...extraArgs], {
    env,
    cwd: DEMO_ROOT,
    onLine: (line) => {
      const url = /https?:\/\/127\.0\.0\.1:\d+/.exec(line)?.[0];
      if (url) resolveEndpoint(url);
    },
  });
  const endpoint = await Promise.race([
    endpointSeen,
    child.exited.then((code) => {
      throw new AbtelError('io', `the collector exited (${code}) before listening: ${child.stderr().trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
    }),
    sleep(20_000, undefined, { signal: timeout.signal }).then(() => {
      throw new AbtelError('io', 'the collector did not print its address within 20 s');
    }),
  ]).finally(() => timeout.abort());
  return { child, endpoint };
}

async function runChild<T>(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  bar: ProgressBar,
  signal: AbortSignal | undefined,
): Promise<T> {
  let summary: T | undefined;
  bar.start(name);
  const child = startNode(['--import', '@abtel/node/register', join(DEMO_ROOT, 'dist', script)], {
    env,
    // `--import @abtel/node/register` resolves from the working directory: the demo package has it.
    cwd: DEMO_ROOT,
    onLine: (line) => {
      const message = parseMessage(line);
      if (message?.type === 'progress') bar.update(Number(message['done']), Number(message['total']));
      if (message?.type === 'summary') {
        const { type: _type, ...rest } = message;
        summary = rest as unknown as T;
      }
    },
  });
  const onAbort = (): void => void child.stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  const code = await child.exited;
  signal?.removeEventListener('abort', onAbort);
  bar.clear();
  if (code !== 0 || summary === undefined) {
    const tail = child.stderr().trim().split('\n').slice(-5).join('\n  ');
    throw new AbtelError('io', `the ${name} process failed (exit ${code})${tail ? `:\n  ${tail}` : ''}`);
  }
  return summary;
}

interface Expected {
  chatSpans: number;
  exposures: number;
  outcomes: number;
}

async function waitForFiles(dataDir: string, expected: Expected, timeoutMs: number): Promise<TelemetryCounts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await scanTelemetry(dataDir);
    const outcomes = counts.events['abtel.outcome'] ?? 0;
    const exposures = counts.events['abtel.exposure'] ?? 0;
    if ((counts.chatSpans >= expected.chatSpans && exposures >= expected.exposures && outcomes >= expected.outcomes) || Date.now() > deadline) return counts;
    await sleep(200);
  }
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function line(io: CommandIo, text = ''): void {
  io.stdout.write(`${text}\n`);
}

function armTable(counts: TelemetryCounts, experimentKey: string): string[] {
  const rows = armCounts(counts, experimentKey, OUTCOME_RESOLVED, OUTCOME_CSAT);
  return rows.map((arm) => {
    const rate = arm.exposed > 0 ? ((100 * arm.resolved) / arm.exposed).toFixed(1) : '–';
    const csat = arm.csatCount > 0 ? (arm.csatSum / arm.csatCount).toFixed(2) : '–';
    return `    ${arm.variation.padEnd(16)} ${String(arm.exposed).padStart(5)} exposed   resolved ${rate.padStart(5)}%   csat ${csat} (n=${arm.csatCount})`;
  });
}

/**
 * Runs the whole demo and prints its progress and report to `io`.
 * @example
 * const result = await runDemo({ conversations: 60, seed: '7', out: '/tmp/abtel-demo' }, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
 * console.log(result.analysis.reportJson);
 */
export async function runDemo(options: DemoOptions, io: CommandIo): Promise<DemoResult> {
  const conversations = options.conversations ?? DEFAULT_CONVERSATIONS;
  const seed = options.seed ?? DEFAULT_SEED;
  const givenOut = options.out ?? 'abtel-demo';
  const out = resolve(io.cwd, givenOut);
  const dataDir = join(out, 'data');
  const logFile = join(out, 'conversations.jsonl');
  const bar = new ProgressBar(io.stderr);
  const timings: Record<string, number> = {};
  const started = Date.now();
  let stepStart = started;
  const step = (name: string): void => {
    const now = Date.now();
    timings[name] = now - stepStart;
    stepStart = now;
  };

  await prepareOut(givenOut, out);
  line(io, `abtel demo: ${conversations} support conversations, seed ${seed}, experiments ${RETRIEVAL_EXPERIMENT} (2 arms) and ${PERSONA_EXPERIMENT} (3 arms)`);

  // Children get the caller's environment minus anything that would send their telemetry
  // elsewhere or sample it away.
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(io.env)) if (!key.startsWith('OTEL_') && !key.startsWith('ABTEL_')) baseEnv[key] = value;

  let collector: { child: Child; endpoint: string } | undefined;
  let model: ModelServer | undefined;
  try {
    // With --compact the collector rotates small files, as in a long-running deployment (it
    // compacts each rotated file); the analysis step then compacts the rest, live files included.
    collector = await startCollector(dataDir, baseEnv, options.compact ? ['--rotate-max-bytes', '512KiB'] : []);
    model = await startModelServer({ seed, latencyScale: options.latencyScale ?? 1 });
    line(io, `  collector   ${collector.endpoint} → ${dataDir}`);
    line(io, `  model       ${model.baseURL} (OpenAI-compatible, deterministic from the seed)`);
    step('start');

    const childEnv: NodeJS.ProcessEnv = {
      ...baseEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      ABTEL_EXPERIMENTS: DEMO_EXPERIMENTS_DIR,
      ABTEL_EVENTS: options.events ?? 'logs',
      ABTEL_DEMO_MODEL_URL: model.baseURL,
      ABTEL_DEMO_LOG: logFile,
      ABTEL_DEMO_SEED: seed,
      ABTEL_DEMO_CONVERSATIONS: String(conversations),
      ABTEL_DEMO_CONCURRENCY: String(options.concurrency ?? 12),
    };
    const agent = await runChild<AgentSummary>('conversations', 'agent.js', { ...childEnv, OTEL_SERVICE_NAME: 'support-agent' }, bar, io.signal);
    step('agent');
    const assignments = Object.entries(agent.assignments)
      .map(([key, arms]) => `${key}: ${Object.entries(arms).map(([arm, n]) => `${arm} ${n}`).join(', ')}`)
      .join('; ');
    line(io, `  agent       ${agent.conversations} conversations, ${agent.calls} model calls (${agent.failedCalls} failed, ${agent.streamedCalls} streamed), ${agent.escalatedAfterErrors} escalated after errors`);
    line(io, `              assignments ${assignments}`);

    const tickets = await runChild<TicketSummary>('outcomes', 'ticket-service.js', { ...childEnv, OTEL_SERVICE_NAME: 'ticket-service' }, bar, io.signal);
    step('tickets');
    line(io, `  tickets     ${tickets.tickets} closed: ${tickets.outcomes[OUTCOME_RESOLVED] ?? 0} ${OUTCOME_RESOLVED}, ${tickets.outcomes[OUTCOME_CSAT] ?? 0} ${OUTCOME_CSAT} outcomes (simulated 5–90 minutes later, joined by conversation id only)`);

    const expected: Expected = {
      chatSpans: agent.calls,
      exposures: sum(Object.values(agent.assignments).map((arms) => sum(Object.values(arms)))),
      outcomes: sum(Object.values(tickets.outcomes)),
    };
    const counts = await waitForFiles(dataDir, expected, 30_000);
    step('flush');
    const files = {
      chatSpans: counts.chatSpans,
      exposures: counts.events['abtel.exposure'] ?? 0,
      outcomes: counts.events['abtel.outcome'] ?? 0,
      badLines: counts.badLines.length,
    };
    const complete = files.chatSpans === expected.chatSpans && files.exposures === expected.exposures && files.outcomes === expected.outcomes;
    line(
      io,
      `  files       ${files.chatSpans}/${expected.chatSpans} chat spans, ${files.exposures}/${expected.exposures} exposures, ${files.outcomes}/${expected.outcomes} outcomes` +
        (complete ? ' — nothing lost' : ' — telemetry MISSING: the files hold fewer (or more) than the processes sent') +
        (files.badLines > 0 ? `, ${files.badLines} unreadable line(s)` : ''),
    );
    for (const key of [RETRIEVAL_EXPERIMENT, PERSONA_EXPERIMENT]) {
      line(io, `  ${key} (read straight from the files):`);
      for (const row of armTable(counts, key)) line(io, row);
    }

    // Judge step: an online judge would sample gen_ai spans from the files here, score them and
    // send `gen_ai.evaluation.result` events back through the collector before the analysis.
    // abtel does not ship a judge worker yet, so the report has no judge scores (none are faked).

    line(io);
    const analysis = await analyseDemo({ dataDir, experimentsDir: DEMO_EXPERIMENTS_DIR, out, compact: options.compact ?? false, io, bar });
    step('analysis');
    await writeFile(
      join(out, 'summary.json'),
      `${JSON.stringify({ seed, conversations, agent, tickets, expected, files, complete, analysis: { available: analysis.available, message: analysis.message, decisions: analysis.decisions } }, null, 2)}\n`,
    );
    line(io);
    for (const written of [analysis.reportHtml, analysis.reportJson, analysis.reportMarkdown]) if (written) line(io, `  wrote ${written}`);
    for (const files of Object.values(analysis.otherReports)) for (const written of files) line(io, `  wrote ${written}`);
    line(io, `  wrote ${join(out, 'summary.json')}`);
    timings['total'] = Date.now() - started;
    const seconds = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`;
    line(
      io,
      `  done in ${seconds(timings['total'])} (start ${seconds(timings['start'])}, conversations ${seconds(timings['agent'])}, outcomes ${seconds(timings['tickets'])}, ` +
        `flush ${seconds(timings['flush'])}, analysis ${seconds(timings['analysis'])})`,
    );
    if (analysis.reportHtml) line(io, `  next: open ${analysis.reportHtml} in a browser, or query the files with: abtel sql ${dataDir}`);

    if (options.keepRunning) {
      line(io);
      line(io, `The collector keeps running at ${collector.endpoint} (files in ${dataDir}).`);
      line(io, `Explore with:  abtel sql ${dataDir}   or   abtel analyze --data ${dataDir} --experiments ${DEMO_EXPERIMENTS_DIR} --experiment ${PERSONA_EXPERIMENT}`);
      line(io, 'Press Ctrl+C to stop.');
      await model.close();
      model = undefined;
      await new Promise<void>((resolveWait) => {
        if (io.signal?.aborted) resolveWait();
        io.signal?.addEventListener('abort', () => resolveWait(), { once: true });
        void collector?.child.exited.then(() => resolveWait());
      });
    }
    return { out, dataDir, agent, tickets, files, complete, analysis, timingsMs: timings };
  } finally {
    bar.clear();
    await model?.close();
    await collector?.child.stop();
  }
}

/**
 * `abtel demo`: the command object the `abtel` CLI dispatches to.
 */
import { UsageError, numberFlag, parseFlags, wantsHelp, type Command } from '@abtel/core/cli';
import { runDemo } from './demo.js';
import { DEFAULT_CONVERSATIONS, DEFAULT_SEED } from './sizing.js';

const help = `abtel demo — run a whole conversation-level experiment on this machine

Starts the embedded collector, a deterministic OpenAI-compatible model server, a support agent
(real openai client, traced with node --import @abtel/node/register) and a ticket service that
reports outcomes later; waits until every span, exposure and outcome is in the files; then prints
the analysis and writes report.html and report.json.

Usage: abtel demo [--conversations N] [--seed S] [--out DIR] [--keep-running] [--compact] [--events logs|spans]

Flags:
  --conversations N  conversations to simulate (default ${DEFAULT_CONVERSATIONS}: enough to detect the
                     +15-point resolution effect with power 0.9, see apps/demo/src/sizing.ts)
  --seed S           seed of every simulated choice (default ${DEFAULT_SEED}); the same seed gives the
                     same report numbers (latency aside, which is measured on this machine)
  --out DIR          output directory (default ./abtel-demo): data/, conversations.jsonl,
                     report.html, report.json, report.md, summary.json
  --keep-running     leave the collector running afterwards to explore with abtel sql (Ctrl+C stops)
  --compact          compact the files (the live ones too) to Parquet before the analysis
  --concurrency N    conversations in flight at once (default 12)
  --events MODE      how exposures and outcomes travel: logs (default, OpenTelemetry events) or
                     spans (span events, for trace-only backends); the analysis reads both

Example:
  abtel demo --conversations 200 --seed 7 --out /tmp/abtel-demo
`;

/**
 * The `demo` command.
 * @example
 * const code = await demoCommand.run(['--conversations', '60', '--out', '/tmp/demo'], io);
 */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'run a simulated support-agent experiment end to end and print its report',
  help,
  async run(argv, io) {
    if (wantsHelp(argv)) {
      io.stdout.write(help);
      return 0;
    }
    const { values, positionals } = parseFlags('demo', argv, {
      conversations: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'keep-running': { type: 'boolean' },
      compact: { type: 'boolean' },
      concurrency: { type: 'string' },
      events: { type: 'string' },
    });
    if (positionals.length > 0) {
      throw new UsageError(`abtel demo: unexpected argument "${positionals[0]}" (see abtel demo --help)`);
    }
    const conversations = numberFlag('demo', 'conversations', values.conversations, { min: 1, max: 100_000, integer: true });
    const concurrency = numberFlag('demo', 'concurrency', values.concurrency, { min: 1, max: 256, integer: true });
    if (values.seed !== undefined && !/^[A-Za-z0-9_-]{1,40}$/.test(values.seed)) {
      throw new UsageError(`abtel demo: --seed must be 1–40 letters, digits, "_" or "-" (got "${values.seed}")`);
    }
    if (values.events !== undefined && values.events !== 'logs' && values.events !== 'spans') {
      throw new UsageError(`abtel demo: --events must be "logs" or "spans" (got "${values.events}")`);
    }
    const result = await runDemo(
      {
        ...(conversations !== undefined ? { conversations } : {}),
        ...(concurrency !== undefined ? { concurrency } : {}),
        ...(values.seed !== undefined ? { seed: values.seed } : {}),
        ...(values.out !== undefined ? { out: values.out } : {}),
        ...(values.events === 'logs' || values.events === 'spans' ? { events: values.events } : {}),
        keepRunning: values['keep-running'] === true,
        compact: values.compact === true,
      },
      io,
    );
    // Lost telemetry or a failed analysis is a failure; a build without the analysis is not
    // (the demo said what it could not do and printed the counts from the files instead).
    const analysisFailed = result.analysis.available && result.analysis.message !== undefined;
    return result.complete && !analysisFailed ? 0 : 1;
  },
};

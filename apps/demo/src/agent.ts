/**
 * Entry point of the agent process:
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ABTEL_EXPERIMENTS=apps/demo/experiments \
 *   ABTEL_DEMO_MODEL_URL=http://127.0.0.1:4000/v1 ABTEL_DEMO_LOG=conversations.jsonl \
 *   node --import @abtel/node/register apps/demo/dist/agent.js
 * Prints `{"type":"progress",…}` lines while it runs and one `{"type":"summary",…}` line at the
 * end, after its telemetry has been flushed to the collector.
 */
import { flushTelemetry } from './internal/flush.js';
import { requiredEnv, send } from './internal/child.js';
import { runConversations } from './support-agent.js';

const summary = await runConversations({
  baseURL: requiredEnv('ABTEL_DEMO_MODEL_URL', 'the model server base URL, e.g. http://127.0.0.1:4000/v1'),
  logFile: requiredEnv('ABTEL_DEMO_LOG', 'the conversation log file, e.g. ./conversations.jsonl'),
  seed: process.env['ABTEL_DEMO_SEED'] ?? '1',
  conversations: Number(process.env['ABTEL_DEMO_CONVERSATIONS'] ?? '100'),
  first: Number(process.env['ABTEL_DEMO_FIRST'] ?? '0'),
  concurrency: Number(process.env['ABTEL_DEMO_CONCURRENCY'] ?? '8'),
  onConversation: (done, total) => send({ type: 'progress', done, total }),
});
await flushTelemetry();
send({ type: 'summary', ...summary });

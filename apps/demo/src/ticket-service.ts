/**
 * Entry point of the ticket-service process, started after the conversations are over:
 *   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 ABTEL_DEMO_LOG=conversations.jsonl \
 *   node --import @abtel/node/register apps/demo/dist/ticket-service.js
 * Records outcomes joined to the experiments only by conversation id, flushes, then prints one
 * `{"type":"summary",…}` line.
 */
import { flushTelemetry } from './internal/flush.js';
import { requiredEnv, send } from './internal/child.js';
import { processTickets } from './tickets.js';

const summary = await processTickets({
  seed: process.env['ABTEL_DEMO_SEED'] ?? '1',
  logFile: requiredEnv('ABTEL_DEMO_LOG', 'the conversation log the agent wrote, e.g. ./conversations.jsonl'),
  onTicket: (done, total) => {
    if (done % 50 === 0 || done === total) send({ type: 'progress', done, total });
  },
});
for (const bad of summary.badLines) process.stderr.write(`ticket service: skipped line ${bad.line} of the conversation log: ${bad.reason}\n`);
await flushTelemetry();
send({ type: 'summary', ...summary });

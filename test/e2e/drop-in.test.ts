/**
 * The drop-in path: an unmodified app started with `node --import @abtel/node/register` gets its
 * `chat …` spans (from @opentelemetry/instrumentation-openai around the real openai client)
 * stamped with the conversation and the assigned variation, for ESM and for CommonJS.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '@abtel/collector';
import { scanTelemetry, startModelServer, type ModelServer } from '@abtel/demo';
import { DEMO_EXPERIMENTS, FIXTURES, REPO_ROOT, recorded, requireBuilt, runNode, summaryOf, tempDir, removeTempDirs, type Recorded } from './helpers.js';

afterAll(removeTempDirs);

interface TinySummary {
  results: { conversationId: string; variation: string; reply: string }[];
}

describe('drop-in: node --import @abtel/node/register', () => {
  let collector: RunningCollector;
  let model: ModelServer;
  let dir: string;

  beforeAll(async () => {
    requireBuilt(join(REPO_ROOT, 'packages', 'node', 'dist', 'register.js'));
    dir = await tempDir('drop-in');
    collector = await startCollector({ host: '127.0.0.1', port: 0, dir });
    model = await startModelServer({ seed: '3', latencyScale: 0, failures: false });
  });
  afterAll(async () => {
    await model?.close();
    await collector?.close();
  });

  for (const [flavour, file, protocol] of [
    ['ESM', 'tiny-agent.mjs', 'http/json'],
    ['CommonJS', 'tiny-agent.cjs', 'http/json'],
    // The collector decodes protobuf into the same files.
    ['ESM (OTLP protobuf)', 'tiny-agent.mjs', 'http/protobuf'],
  ] as const) {
    it(`stamps the chat spans of an unmodified ${flavour} app`, async () => {
      const run = await runNode(['--import', '@abtel/node/register', join(FIXTURES, file)], {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          CONVERSATION_PREFIX: protocol === 'http/protobuf' ? 'proto-conv' : 'esm-conv',
          OTEL_SERVICE_NAME: `tiny-${flavour}`,
          ABTEL_EXPERIMENTS: DEMO_EXPERIMENTS,
          MODEL_URL: model.baseURL,
        },
        timeoutMs: 60_000,
      });
      expect(run.stderr).not.toMatch(/Error/);
      expect(run.code).toBe(0);
      const summary = summaryOf<TinySummary>(run.stdout);
      expect(summary.results).toHaveLength(3);
      const spans = (await recorded(dir)).spans.filter((span) => span.name.startsWith('chat'));
      for (const result of summary.results) {
        const mine = spans.filter((span) => span.attributes['gen_ai.conversation.id'] === result.conversationId);
        expect(mine).toHaveLength(1);
        const [span] = mine;
        expect(span?.name).toBe('chat tiny-1');
        expect(span?.attributes).toMatchObject({
          'gen_ai.conversation.id': result.conversationId,
          'abtel.experiment.key': 'support-persona',
          'abtel.experiment.variation': result.variation,
          'abtel.assignment.unit': 'conversation',
          'gen_ai.request.model': 'tiny-1',
        });
        expect(Number(span?.attributes['abtel.experiment.version'])).toBe(1);
        // The persona reached the model: the reply introduces the variation's name.
        const name = { 'sam-neutral': 'Sam', 'riley-warm': 'Riley', 'alex-concise': 'Alex' }[result.variation];
        expect(result.reply).toContain(String(name));
      }
      const counts = await scanTelemetry(dir);
      const exposed = counts.exposures.get('support-persona');
      for (const result of summary.results) expect(exposed?.get(result.conversationId)).toBe(result.variation);
    });
  }

  // Trace sampling must not decide which conversations count as exposed: outcomes are kept
  // whatever the sampler does, so an exposure lost with its span would take the conversation out
  // of its arm while its outcome stays (biased rates, sample ratio mismatch).
  const sampling = [
    { sampler: 'traceidratio', arg: '0.25', conversations: 40 },
    { sampler: 'always_off', arg: '', conversations: 10 },
  ];
  for (const events of ['logs', 'spans'] as const) {
    for (const { sampler, arg, conversations } of sampling) {
      it(`emits one exposure per conversation under OTEL_TRACES_SAMPLER=${sampler}${arg === '' ? '' : ` ${arg}`} (ABTEL_EVENTS=${events})`, async () => {
        const prefix = `${sampler}-${events}-conv-`;
        const run = await runNode(['--import', '@abtel/node/register', join(FIXTURES, 'sampled-agent.mjs')], {
          env: {
            OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
            OTEL_SERVICE_NAME: `sampled-${sampler}-${events}`,
            OTEL_TRACES_SAMPLER: sampler,
            OTEL_TRACES_SAMPLER_ARG: arg,
            ABTEL_EXPERIMENTS: DEMO_EXPERIMENTS,
            ABTEL_EVENTS: events,
            MODEL_URL: model.baseURL,
            CONVERSATIONS: String(conversations),
            CONVERSATION_PREFIX: prefix,
          },
          timeoutMs: 60_000,
        });
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const { results } = summaryOf<{ results: { conversationId: string; variation: string }[] }>(run.stdout);
        expect(results).toHaveLength(conversations);
        const mine = (record: Recorded) => String(record.attributes['gen_ai.conversation.id'] ?? '').startsWith(prefix);
        const { spans, events: all } = await recorded(dir);
        const chats = spans.filter((span) => span.name === 'chat tiny-1' && mine(span));
        const exposures = all.filter((event) => event.name === 'abtel.exposure' && mine(event));
        const outcomes = all.filter((event) => event.name === 'abtel.outcome' && mine(event));
        if (sampler === 'always_off') {
          expect(chats).toHaveLength(0);
        } else {
          // The sampler kept some traces and dropped others (P(all 40 or none) < 1e-4).
          expect(chats.length).toBeGreaterThan(0);
          expect(chats.length).toBeLessThan(conversations);
        }
        // Whatever it kept, every conversation has exactly one exposure, with its variation, and its outcome.
        expect(outcomes).toHaveLength(conversations);
        expect(exposures).toHaveLength(conversations);
        for (const { conversationId, variation } of results) {
          const [exposure, ...more] = exposures.filter((event) => event.attributes['gen_ai.conversation.id'] === conversationId);
          expect(more).toHaveLength(0);
          expect(exposure?.attributes['abtel.experiment.variation']).toBe(variation);
          // A sampled conversation's exposure is still parented to (logs) or recorded on (spans) its chat span.
          const chat = chats.find((span) => span.attributes['gen_ai.conversation.id'] === conversationId);
          if (chat !== undefined) expect([exposure?.traceId, exposure?.spanId]).toEqual([chat.traceId, chat.spanId]);
        }
      });
    }
  }
});

/**
 * The drop-in path: an unmodified app started with `node --import @abtel/node/register` gets its
 * `chat …` spans (from @opentelemetry/instrumentation-openai around the real openai client)
 * stamped with the conversation and the assigned variation, for ESM and for CommonJS.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector, type RunningCollector } from '@abtel/collector';
import { scanTelemetry, startModelServer, type ModelServer } from '@abtel/demo';
import { DEMO_EXPERIMENTS, FIXTURES, REPO_ROOT, requireBuilt, runNode, summaryOf, tempDir, removeTempDirs } from './helpers.js';
import { readFile, readdir } from 'node:fs/promises';

afterAll(removeTempDirs);

interface TinySummary {
  results: { conversationId: string; variation: string; reply: string }[];
}

interface FlatSpan {
  name: string;
  attributes: Record<string, unknown>;
}

async function chatSpans(dir: string): Promise<FlatSpan[]> {
  const spans: FlatSpan[] = [];
  for (const file of await readdir(dir, { recursive: true })) {
    if (!String(file).includes('traces') || !String(file).endsWith('.jsonl')) continue;
    for (const line of (await readFile(join(dir, String(file)), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      const data = JSON.parse(line) as { resourceSpans: { scopeSpans: { spans: { name: string; attributes?: { key: string; value: Record<string, unknown> }[] }[] }[] }[] };
      for (const rs of data.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) {
            const attributes: Record<string, unknown> = {};
            for (const kv of span.attributes ?? []) attributes[kv.key] = Object.values(kv.value)[0];
            if (span.name.startsWith('chat')) spans.push({ name: span.name, attributes });
          }
        }
      }
    }
  }
  return spans;
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

  for (const [flavour, file] of [
    ['ESM', 'tiny-agent.mjs'],
    ['CommonJS', 'tiny-agent.cjs'],
  ] as const) {
    it(`stamps the chat spans of an unmodified ${flavour} app`, async () => {
      const run = await runNode(['--import', '@abtel/node/register', join(FIXTURES, file)], {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: `tiny-${flavour}`, ABTEL_EXPERIMENTS: DEMO_EXPERIMENTS, MODEL_URL: model.baseURL },
        timeoutMs: 60_000,
      });
      expect(run.stderr).not.toMatch(/Error/);
      expect(run.code).toBe(0);
      const summary = summaryOf<TinySummary>(run.stdout);
      expect(summary.results).toHaveLength(3);
      const spans = await chatSpans(dir);
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
});

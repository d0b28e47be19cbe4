import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assign, parseExperiments } from '@abtel/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAppDir, ensureBuilt, runApp, startApp, type ChildResult, type RunningChild } from './helpers/child.js';
import { personaDefinition } from './helpers/definitions.js';
import { OpenAICompatibleServer } from './helpers/openai-server.js';
import { OtlpReceiver, type ReceivedSpan } from './helpers/otlp-receiver.js';

// The drop-in path, tested as users run it: `node --import @abtel/node/register app` in a real
// child process, from an application directory outside the package, exporting OTLP/HTTP JSON to a
// real local receiver, with the real `openai` client talking to a local OpenAI-compatible server.

const definition = personaDefinition();
const persona = parseExperiments([{ file: 'p.json', content: definition }]).require('support-persona');
const variationOf = (conversationId: string) => assign(persona, { id: conversationId }).variation as string;
const configOf = (key: string) => persona.variations.find((v) => v.key === key)!.config as { name: string; tone: string };

const UPSTREAM_ESM = `
import http from 'node:http';
import OpenAI from 'openai';
import { withConversation, experiment, recordOutcome } from '@abtel/node';

const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'test-key', maxRetries: 0 });
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => resolve(JSON.parse(body))); }).on('error', reject);
});

await withConversation({ conversationId: process.env.CONVERSATION_ID, attributes: { plan: 'pro', channel: 'web' } }, async () => {
  const persona = await experiment('support-persona').variation();
  const messages = [
    { role: 'system', content: \`\${persona.config.name} helps customers in a \${persona.config.tone} tone.\` },
    { role: 'user', content: 'Where is my parcel?' },
  ];
  const reply = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
  let streamed = '';
  for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
  const downstream = process.env.DOWNSTREAM_URL ? await get(process.env.DOWNSTREAM_URL) : null;
  recordOutcome({ name: 'resolved', value: true, experimentKey: 'support-persona' });
  console.log(JSON.stringify({ variation: persona.key, reply: reply.choices[0].message.content, streamed, downstream }));
});
`;

// The same conversation, calling downstream with the global fetch (undici) instead of node:http.
const UPSTREAM_FETCH_ESM = `
import OpenAI from 'openai';
import { withConversation, experiment } from '@abtel/node';

const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'test-key', maxRetries: 0 });
await withConversation({ conversationId: process.env.CONVERSATION_ID, attributes: { plan: 'pro' } }, async () => {
  const persona = await experiment('support-persona').variation();
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Where is my parcel?' }] });
  const response = await fetch(process.env.DOWNSTREAM_URL);
  console.log(JSON.stringify({ variation: persona.key, downstream: await response.json() }));
});
`;

const DOWNSTREAM_CJS = `
const http = require('node:http');
const { OpenAI } = require('openai');

const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'test-key', maxRetries: 0 });
(async () => {
  const { experiment } = await import('@abtel/node');
  const server = http.createServer(async (req, res) => {
    const persona = await experiment('support-persona').variation();
    await client.embeddings.create({ model: 'text-embedding-3-small', input: 'parcel tracking' });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ variation: persona.key, reason: persona.reason }));
  });
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
})();
`;

const SIMPLE_CJS = `
const { OpenAI } = require('openai');
const client = new OpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: 'test-key', maxRetries: 0 });
(async () => {
  const { withConversation, experiment } = await import('@abtel/node');
  await withConversation({ conversationId: process.env.CONVERSATION_ID }, async () => {
    const persona = await experiment('support-persona').variation();
    const reply = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: persona.config.name + ' answers briefly.' }, { role: 'user', content: 'secret question 42' }],
    });
    console.log(JSON.stringify({ variation: persona.key, reply: reply.choices[0].message.content }));
  });
})();
`;

// Mistakes that lose telemetry, made twice each: one process warning per kind on stderr.
const MISTAKES_ESM = `
import { withConversation, experiment, markExposed, recordOutcome } from '@abtel/node';

for (let i = 0; i < 2; i++) {
  recordOutcome({ name: 'resolved', value: true });
  await withConversation({ conversationId: 'conv-mistakes' }, async () => {
    markExposed('support-persone');
    await experiment('support-persona').variation();
  });
}
console.log(JSON.stringify({ done: true }));
`;

const receiver = new OtlpReceiver();
const model = new OpenAICompatibleServer();
let app: ReturnType<typeof createAppDir>;
let definitions: Server;
let definitionsUrl = '';

beforeAll(async () => {
  ensureBuilt();
  await Promise.all([receiver.start(), model.start()]);
  app = createAppDir({
    'upstream.mjs': UPSTREAM_ESM,
    'upstream-fetch.mjs': UPSTREAM_FETCH_ESM,
    'downstream.cjs': DOWNSTREAM_CJS,
    'simple.cjs': SIMPLE_CJS,
    'mistakes.mjs': MISTAKES_ESM,
    'experiments/support-persona.json': JSON.stringify(definition),
    'invalid-experiments/persona.json': JSON.stringify({
      key: 'persona',
      version: 1,
      owner: 'me',
      surface: 'persona',
      control: 'zz',
      variations: [
        { key: 'a', weight: 0 },
        { key: 'b', weight: 1 },
      ],
    }),
  });
  definitions = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/yaml' }).end(`key: support-persona\nversion: 3\nowner: support-team\nsurface: persona\nstate: running\ncontrol: classic\nvariations:\n  - { key: classic, weight: 1, config: { name: Sam, tone: neutral } }\n  - { key: warm, weight: 1, config: { name: Ava, tone: warm and encouraging } }\n`);
  });
  await new Promise<void>((resolve) => definitions.listen(0, '127.0.0.1', resolve));
  definitionsUrl = `http://127.0.0.1:${(definitions.address() as AddressInfo).port}/experiments/support-persona.yaml`;
}, 120_000);

afterAll(async () => {
  await Promise.all([receiver.stop(), model.stop(), new Promise((resolve) => definitions?.close(resolve))]);
  app?.remove();
});

beforeEach(() => receiver.clear());

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_BLRP_SCHEDULE_DELAY: '100',
    OPENAI_BASE_URL: model.baseURL,
    ABTEL_EXPERIMENTS: 'experiments',
    ...extra,
  };
}

/** The abtel.* and gen_ai.conversation.id attributes of a span. */
function stampOf(span: ReceivedSpan): Record<string, unknown> {
  return Object.fromEntries(Object.entries(span.attributes).filter(([key]) => key.startsWith('abtel.') || key === 'gen_ai.conversation.id'));
}

/**
 * Starts the downstream service (`downstream.cjs`, service `retrieval`), then runs `upstream` (service
 * `agent`) in conversation `conversationId`, calling it; the downstream is left running.
 */
async function runAgentCallingRetrieval(upstream: string, conversationId: string): Promise<{ upstream: ChildResult; downstream: RunningChild; port: number }> {
  const downstream = startApp(app.dir, 'downstream.cjs', baseEnv({ OTEL_SERVICE_NAME: 'retrieval' }));
  const { port } = (await downstream.firstJsonLine()) as { port: number };
  const result = await runApp(
    app.dir,
    upstream,
    baseEnv({ OTEL_SERVICE_NAME: 'agent', CONVERSATION_ID: conversationId, DOWNSTREAM_URL: `http://127.0.0.1:${port}/search` }),
  );
  return { upstream: result, downstream, port };
}

describe('node --import @abtel/node/register', () => {
  it('stamps ESM upstream and CommonJS downstream spans, emits the exposure once, and the downstream reuses the assignment', async () => {
    const conversationId = 'conv-dropin-1';
    const expected = variationOf(conversationId);
    const { upstream, downstream } = await runAgentCallingRetrieval('upstream.mjs', conversationId);
    expect(upstream.stderr).toBe('');
    expect(upstream.code).toBe(0);
    const output = JSON.parse(upstream.stdout.trim()) as { variation: string; reply: string; streamed: string; downstream: { variation: string; reason: string } };
    // The variation's persona reached the model through the system prompt.
    expect(output).toEqual({
      variation: expected,
      reply: `Hello from ${configOf(expected).name} helps customers in`,
      streamed: `Hello from ${configOf(expected).name} helps customers in`,
      downstream: { variation: expected, reason: 'reused' },
    });
    const stopped = await downstream.stop('SIGTERM');
    expect(stopped.signal).toBe('SIGTERM');

    await receiver.waitFor('upstream and downstream spans', () =>
      receiver.spans.filter((s) => s.serviceName === 'agent' && s.name === 'chat gpt-4o-mini').length === 2 &&
      receiver.spans.some((s) => s.serviceName === 'retrieval' && s.name.startsWith('embeddings')),
    );
    const stamp = {
      'gen_ai.conversation.id': conversationId,
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': expected,
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
    };
    const chats = receiver.spans.filter((s) => s.serviceName === 'agent' && s.name === 'chat gpt-4o-mini');
    for (const chat of chats) {
      expect(stampOf(chat)).toEqual(stamp);
      expect(chat.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.output_tokens': 6 });
    }
    const clientSpan = receiver.spans.find((s) => s.serviceName === 'agent' && s.kind === 3 && s.name === 'GET')!;
    expect(stampOf(clientSpan)).toEqual(stamp);
    const serverSpan = receiver.spans.find((s) => s.serviceName === 'retrieval' && s.kind === 2)!;
    expect(stampOf(serverSpan)).toEqual(stamp);
    expect(serverSpan.traceId).toBe(clientSpan.traceId);
    expect(serverSpan.parentSpanId).toBe(clientSpan.spanId);
    const embeddings = receiver.spans.find((s) => s.serviceName === 'retrieval' && s.name.startsWith('embeddings'))!;
    expect(stampOf(embeddings)).toEqual(stamp);

    await receiver.waitFor('exposure and outcome', () => receiver.logs.some((l) => l.eventName === 'abtel.outcome'));
    const exposures = receiver.logs.filter((l) => l.eventName === 'abtel.exposure');
    // One per process that used the assignment for a gen_ai call; the analysis dedupes per unit.
    const agentExposure = exposures.find((l) => l.serviceName === 'agent')!;
    expect(exposures.filter((l) => l.serviceName === 'agent')).toHaveLength(1);
    const firstChat = chats.find((c) => c.spanId === agentExposure.spanId);
    expect(firstChat).toBeDefined();
    expect(agentExposure.traceId).toBe(firstChat!.traceId);
    expect(agentExposure.attributes).toEqual({
      ...stamp,
      'feature_flag.key': 'support-persona',
      'feature_flag.result.variant': expected,
      'feature_flag.result.reason': 'split',
      'feature_flag.context.id': conversationId,
      'feature_flag.provider.name': 'abtel',
      'abtel.segment.plan': 'pro',
    });
    const outcome = receiver.logs.find((l) => l.eventName === 'abtel.outcome')!;
    expect(outcome.attributes).toEqual({
      'gen_ai.conversation.id': conversationId,
      'abtel.outcome.name': 'resolved',
      'abtel.outcome.value': 1,
      'abtel.experiment.key': 'support-persona',
      // The conversation's unit in each of its experiments (here one, the conversation itself).
      'abtel.assignment.ids': [`support-persona=${conversationId}`],
    });
    // Message content is off by default: no log record or span carries the prompt text.
    const everything = JSON.stringify([receiver.spans, receiver.logs]);
    expect(everything).not.toContain('Where is my parcel');
    expect(receiver.rejected).toBe(0);
  });

  it('carries the conversation and its assignment to a downstream service called with the global fetch', async () => {
    const conversationId = 'conv-dropin-fetch';
    model.requests.length = 0;
    const expected = variationOf(conversationId);
    const { upstream, downstream, port } = await runAgentCallingRetrieval('upstream-fetch.mjs', conversationId);
    expect(upstream.stderr).toBe('');
    expect(upstream.code).toBe(0);
    // 'reused': the downstream read the assignment from the baggage instead of routing again.
    expect(JSON.parse(upstream.stdout.trim())).toEqual({ variation: expected, downstream: { variation: expected, reason: 'reused' } });
    await downstream.stop('SIGTERM');

    await receiver.waitFor('upstream and downstream spans', () =>
      receiver.spans.some((s) => s.serviceName === 'agent' && s.name === 'chat gpt-4o-mini') &&
      receiver.spans.some((s) => s.serviceName === 'retrieval' && s.name.startsWith('embeddings')) &&
      receiver.logs.filter((l) => l.eventName === 'abtel.exposure').length === 2,
    );
    const stamp = {
      'gen_ai.conversation.id': conversationId,
      'abtel.experiment.key': 'support-persona',
      'abtel.experiment.variation': expected,
      'abtel.experiment.version': 3,
      'abtel.assignment.unit': 'conversation',
    };
    const fetchSpan = receiver.spans.find((s) => s.serviceName === 'agent' && s.kind === 3 && s.name === 'GET')!;
    expect(fetchSpan).toBeDefined();
    expect(fetchSpan.attributes).toMatchObject({ 'http.request.method': 'GET', 'url.full': `http://127.0.0.1:${port}/search`, 'http.response.status_code': 200 });
    const serverSpan = receiver.spans.find((s) => s.serviceName === 'retrieval' && s.kind === 2)!;
    expect(serverSpan.traceId).toBe(fetchSpan.traceId);
    expect(serverSpan.parentSpanId).toBe(fetchSpan.spanId);
    // Every span of both services is stamped: the chat and embeddings spans, the fetch client span
    // and the downstream's server span.
    const names = (service: string) => receiver.spans.filter((s) => s.serviceName === service).map((s) => s.name).sort();
    expect(names('agent')).toEqual(['GET', 'chat gpt-4o-mini']);
    expect(names('retrieval')).toEqual(['GET', 'embeddings text-embedding-3-small']);
    for (const span of receiver.spans) expect(stampOf(span), `${span.serviceName} ${span.name}`).toEqual(stamp);
    // The openai client's own requests (fetch too, inside its gen_ai span) are left alone: no HTTP
    // client span, and the model provider gets neither trace context nor the conversation's baggage.
    expect(model.requests.map((r) => r.path).sort()).toEqual(['/v1/chat/completions', '/v1/embeddings']);
    for (const request of model.requests) {
      expect(request.headers['baggage'], request.path).toBeUndefined();
      expect(request.headers['traceparent'], request.path).toBeUndefined();
    }
    const downstreamGenAi = receiver.spans.find((s) => s.serviceName === 'retrieval' && s.name.startsWith('embeddings'))!;

    // The downstream's exposure is at its gen_ai span and names the upstream assignment as reused.
    const downstreamExposure = receiver.logs.find((l) => l.eventName === 'abtel.exposure' && l.serviceName === 'retrieval')!;
    expect(downstreamExposure.spanId).toBe(downstreamGenAi.spanId);
    expect(downstreamExposure.attributes).toEqual({
      ...stamp,
      'feature_flag.key': 'support-persona',
      'feature_flag.result.variant': expected,
      'feature_flag.result.reason': 'cached',
      'feature_flag.context.id': conversationId,
      'feature_flag.provider.name': 'abtel',
    });
    expect(receiver.rejected).toBe(0);
  });

  it('records events on spans with ABTEL_EVENTS=spans, loads definitions from a URL and captures content when asked (CommonJS app)', async () => {
    const conversationId = 'conv-dropin-2';
    const result = await runApp(
      app.dir,
      'simple.cjs',
      baseEnv({ CONVERSATION_ID: conversationId, ABTEL_EVENTS: 'spans', ABTEL_CAPTURE_CONTENT: 'true', ABTEL_EXPERIMENTS: definitionsUrl, OTEL_SERVICE_NAME: 'cjs-app' }),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ variation: variationOf(conversationId) });
    await receiver.waitFor('the chat span', () => receiver.spans.some((s) => s.serviceName === 'cjs-app' && s.name === 'chat gpt-4o-mini'));
    const chat = receiver.spans.find((s) => s.serviceName === 'cjs-app' && s.name === 'chat gpt-4o-mini')!;
    expect(chat.events.map((e) => e.name)).toEqual(['abtel.exposure']);
    expect(chat.events[0]!.attributes['feature_flag.result.variant']).toBe(variationOf(conversationId));
    // Content capture on: instrumentation-openai's message events carry the prompt, stamped with the conversation.
    await receiver.waitFor('message events', () => receiver.logs.some((l) => JSON.stringify(l.body).includes('secret question 42')));
    const message = receiver.logs.find((l) => JSON.stringify(l.body).includes('secret question 42'))!;
    expect(message.attributes['gen_ai.conversation.id']).toBe(conversationId);
    expect(receiver.logs.filter((l) => l.eventName?.startsWith('abtel.'))).toHaveLength(0);
  });

  it('sends OTLP/HTTP protobuf when OTEL_EXPORTER_OTLP_PROTOCOL asks for it, per signal', async () => {
    const both = await runApp(app.dir, 'simple.cjs', baseEnv({ CONVERSATION_ID: 'conv-proto', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }));
    expect(both.stderr).toBe('');
    expect(both.code).toBe(0);
    expect(new Set(receiver.protobufRequests)).toEqual(new Set(['/v1/traces', '/v1/logs']));
    expect(receiver.spans).toHaveLength(0);
    expect(receiver.logs).toHaveLength(0);
    receiver.clear();
    // Traces as protobuf, logs as JSON (the logs' own variable wins).
    const mixed = await runApp(
      app.dir,
      'simple.cjs',
      baseEnv({ CONVERSATION_ID: 'conv-proto-2', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }),
    );
    expect(mixed.code).toBe(0);
    expect(new Set(receiver.protobufRequests)).toEqual(new Set(['/v1/traces']));
    expect(receiver.logs.filter((log) => log.eventName === 'abtel.exposure').map((log) => log.attributes['gen_ai.conversation.id'])).toEqual(['conv-proto-2']);
    expect(receiver.rejected).toBe(0);
  });

  it('shows each kind of mistake that loses telemetry once on stderr, without a diag logger, and runs the app to its end', async () => {
    const result = await runApp(app.dir, 'mistakes.mjs', baseEnv());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toEqual({ done: true });
    const warnings = result.stderr.split('\n').filter((line) => line.includes('AbtelWarning'));
    expect(warnings.map((line) => line.replace(/^\(node:\d+\) /, ''))).toEqual([
      '[ABTEL_OUTCOME_DROPPED] AbtelWarning: @abtel/node: recordOutcome dropped an outcome: outcome "resolved" has no conversationId and no conversation is active; pass conversationId ' +
        '(shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)',
      '[ABTEL_MARK_EXPOSED] AbtelWarning: @abtel/node: markExposed("support-persone"): no experiment "support-persone" is defined (known: support-persona) ' +
        '(shown once; every occurrence goes to the OpenTelemetry diag logger, e.g. OTEL_LOG_LEVEL=warn)',
    ]);
  });

  it('never blocks or crashes the app when the collector is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    // The exporters would retry for 30 s; the exit flush is bounded by ABTEL_FLUSH_TIMEOUT_MS (2 s).
    const env = baseEnv({ CONVERSATION_ID: 'conv-down', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '30000' });
    const result = await runApp(app.dir, 'simple.cjs', env, 40_000);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ variation: variationOf('conv-down') });
    expect(result.durationMs).toBeLessThan(12_000);
  });

  it('stops at start-up with one clear line for bad configuration', async () => {
    const badEvents = await runApp(app.dir, 'simple.cjs', baseEnv({ ABTEL_EVENTS: 'kafka' }));
    expect(badEvents.code).toBe(1);
    expect(badEvents.stdout).toBe('');
    expect(badEvents.stderr).toBe('@abtel/node/register: ABTEL_EVENTS must be "logs" or "spans" (got "kafka"); unset it for OpenTelemetry log events\n');
    const badEndpoint = await runApp(app.dir, 'simple.cjs', baseEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not-a-url' }));
    expect(badEndpoint.code).toBe(1);
    expect(badEndpoint.stdout).toBe('');
    expect(badEndpoint.stderr).toBe(
      `@abtel/node/register: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL (got "not-a-url"); set it to the collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318, or unset it for that local collector\n`,
    );
    const grpc = await runApp(app.dir, 'simple.cjs', baseEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }));
    expect(grpc.code).toBe(1);
    expect(grpc.stderr).toMatch(/^@abtel\/node\/register: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported by the drop-in, which sends OTLP over HTTP; [^\n]+\n$/);
    const hugeFlush = await runApp(app.dir, 'simple.cjs', baseEnv({ ABTEL_FLUSH_TIMEOUT_MS: '3000000000' }));
    expect(hugeFlush.code).toBe(1);
    expect(hugeFlush.stderr).toMatch(/^@abtel\/node\/register: ABTEL_FLUSH_TIMEOUT_MS must be a whole number of milliseconds from 0 to 2147483647 \(got "3000000000"\)[^\n]+\n$/);
    const missingDir = await runApp(app.dir, 'simple.cjs', baseEnv({ ABTEL_EXPERIMENTS: 'no-such-dir' }));
    expect(missingDir.code).toBe(1);
    expect(missingDir.stdout).toBe('');
    expect(missingDir.stderr).toBe(
      '@abtel/node/register: ABTEL_EXPERIMENTS=no-such-dir: cannot read experiment directory no-such-dir: ENOENT; pass an existing directory of *.yaml/*.json definitions\n',
    );
    const invalid = await runApp(app.dir, 'simple.cjs', baseEnv({ ABTEL_EXPERIMENTS: 'invalid-experiments' }));
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toBe(
      '@abtel/node/register: ABTEL_EXPERIMENTS=invalid-experiments: 2 problems in experiment definitions: ' +
        // persona.json is one line of JSON.stringify: the 0 of the first weight is column 112, "zz" column 73.
        'invalid-experiments/persona.json:1:112: variations[0].weight must be > 0 (got 0); invalid-experiments/persona.json:1:73: control must be one of the variation keys "a", "b" (got "zz"); ' +
        'fix the definitions, or point ABTEL_EXPERIMENTS at valid ones\n',
    );
  });
});

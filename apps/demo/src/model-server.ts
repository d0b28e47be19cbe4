/**
 * An OpenAI-compatible chat-completions server for the demo, on 127.0.0.1. It is deterministic:
 * every answer, failure, token count and delay follows from the seed and the request content, and
 * its behaviour depends on what the system prompt asks for (retrieval profile, persona name and
 * tone), which is how the experiment's variations change what customers experience.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { hexId, uniform } from './internal/hash.js';
import {
  BASE_LATENCY_MS,
  LATENCY_JITTER_MS,
  LATENCY_PER_TOKEN_MS,
  RATE_LIMIT_RATE,
  RESOLUTION_PROBABILITY,
  RETRIEVAL_PROFILES,
  SERVER_ERROR_RATE,
  TONES,
  TOPICS,
  type RetrievalProfile,
  type Tone,
  type Topic,
} from './simulation.js';

/** Options of {@link startModelServer}. */
export interface ModelServerOptions {
  /** Seed of every random choice (default '1'). */
  readonly seed?: string;
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Multiplies every simulated delay; 0 answers immediately (tests). Default 1. */
  readonly latencyScale?: number;
  /** Set to false to never fail a call (default true). */
  readonly failures?: boolean;
}

/** Counters of what the server answered, also served as JSON on `GET /debug/stats`. */
export interface ModelServerStats {
  requests: number;
  completions: number;
  streamed: number;
  failures: { '429': number; '500': number };
  badRequests: number;
  promptTokens: number;
  completionTokens: number;
}

/** A running model server. */
export interface ModelServer {
  /** Base URL for the `openai` client, e.g. `http://127.0.0.1:41234/v1`. */
  readonly baseURL: string;
  readonly port: number;
  readonly stats: ModelServerStats;
  close(): Promise<void>;
}

interface ChatMessage {
  role: string;
  content: unknown;
}

interface ChatRequest {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
}

/** What the system prompt asks for, as the server understands it. */
export interface PromptSettings {
  readonly profile: RetrievalProfile;
  readonly name: string;
  readonly tone: Tone;
}

/**
 * Reads the retrieval profile, persona name and tone from a system prompt written like the demo
 * agent writes it (`You are Sam, …`, `Tone: warm`, `Retrieval profile: hybrid-rerank`). Anything
 * missing falls back to the control behaviour.
 * @example
 * parseSystemPrompt('You are Riley, a support agent. Tone: warm. Retrieval profile: bm25.');
 * // { profile: 'bm25', name: 'Riley', tone: 'warm' }
 */
export function parseSystemPrompt(system: string): PromptSettings {
  const profile = /Retrieval profile:\s*([\w-]+)/i.exec(system)?.[1]?.toLowerCase();
  const tone = /Tone:\s*(\w+)/i.exec(system)?.[1]?.toLowerCase();
  const name = /You are ([A-Z][\w-]*)/.exec(system)?.[1];
  return {
    profile: (RETRIEVAL_PROFILES as readonly string[]).includes(profile ?? '') ? (profile as RetrievalProfile) : 'bm25',
    tone: (TONES as readonly string[]).includes(tone ?? '') ? (tone as Tone) : 'neutral',
    name: name ?? 'Sam',
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part: unknown) => (typeof part === 'object' && part !== null && 'text' in part ? String((part as { text: unknown }).text) : '')).join('');
  }
  return '';
}

/** Rough token count: one token per four characters plus a per-message overhead, as tokenizers roughly do. */
function tokensOf(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The deterministic answer to a conversation so far. Exported so tests can check the server's
 * behaviour without HTTP.
 * @example
 * const reply = answer('1', [{ role: 'system', content: 'You are Sam.' }, { role: 'user', content: '[T-1-000000] My CSV export times out every time I run it.' }]);
 */
export function answer(seed: string, messages: readonly ChatMessage[]): { content: string; settings: PromptSettings; ticket: string; resolvable: boolean } {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => textOf(m.content)).join('\n');
  const settings = parseSystemPrompt(system);
  const userMessages = messages.filter((m) => m.role === 'user').map((m) => textOf(m.content));
  const first = userMessages[0] ?? '';
  const ticket = /\[(T-[\w-]+)\]/.exec(first)?.[1] ?? `anon-${hexId(12, seed, first)}`;
  const topic: Topic | undefined = TOPICS.find((candidate) => first.includes(candidate.opening));
  const turn = Math.max(1, userMessages.length);
  // Common random numbers: a ticket's draw is the same whichever profile serves it, so the only
  // thing a variation changes is the threshold it is compared against.
  const resolvable = topic !== undefined && uniform(seed, ticket, 'resolvable') < RESOLUTION_PROBABILITY[settings.profile];
  const fixTurn = uniform(seed, ticket, 'fix-turn') < 0.6 ? 1 : 2;
  let body: string;
  if (!topic) body = `Thanks for your message. Could you tell me more about what happened?`;
  else if (resolvable && turn >= fixTurn) body = `To fix this: ${topic.fix}.`;
  else body = settings.tone === 'concise' ? `Try ${topic.generic}.` : `Could you try ${topic.generic}? Let me know what happens.`;
  const { name, tone } = settings;
  const greeting = turn === 1;
  let content: string;
  if (tone === 'warm') {
    content = `${greeting ? `Hi there, I'm ${name}. ` : ''}I'm sorry about the trouble with this. ${body} I'm happy to help with anything else!`;
  } else if (tone === 'concise') {
    content = `${greeting ? `${name} here. ` : ''}${body}`;
  } else {
    content = `${greeting ? `Hello, I'm ${name}. ` : ''}${body}`;
  }
  return { content, settings, ticket, resolvable };
}

class BadRequest extends Error {}

async function readJson(request: IncomingMessage, limit = 4 * 1024 * 1024): Promise<ChatRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BadRequest(`request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) throw new BadRequest('request body must be a JSON object');
    return parsed as ChatRequest;
  } catch (error) {
    if (error instanceof BadRequest) throw error;
    throw new BadRequest(`request body is not valid JSON: ${(error as Error).message}`);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function errorBody(message: string, type: string, code: string | null): unknown {
  return { error: { message, type, param: null, code } };
}

/**
 * Starts the model server on 127.0.0.1 (port 0 = a free port).
 * @example
 * const server = await startModelServer({ seed: '7' });
 * const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'demo', maxRetries: 0 });
 * await client.chat.completions.create({ model: 'support-1', messages: [{ role: 'user', content: 'Hi' }] });
 * await server.close();
 */
export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const seed = options.seed ?? '1';
  const latencyScale = options.latencyScale ?? 1;
  const failures = options.failures ?? true;
  const stats: ModelServerStats = { requests: 0, completions: 0, streamed: 0, failures: { '429': 0, '500': 0 }, badRequests: 0, promptTokens: 0, completionTokens: 0 };
  // How often each exact request body was seen: a retried request gets a fresh failure draw,
  // and because requests of one conversation are sequential, the draw stays deterministic.
  const occurrences = new Map<string, number>();

  async function completions(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body: ChatRequest;
    try {
      body = await readJson(request);
    } catch (error) {
      stats.badRequests += 1;
      sendJson(response, 400, errorBody((error as Error).message, 'invalid_request_error', null));
      return;
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      stats.badRequests += 1;
      sendJson(response, 400, errorBody('`messages` must be a non-empty array of { role, content }', 'invalid_request_error', null));
      return;
    }
    const messages = (body.messages as unknown[]).filter((m): m is ChatMessage => typeof m === 'object' && m !== null && 'role' in m);
    const model = typeof body.model === 'string' ? body.model : 'abtel-demo-1';
    const key = hexId(32, 'request', JSON.stringify(messages), model);
    const occurrence = (occurrences.get(key) ?? 0) + 1;
    occurrences.set(key, occurrence);
    const { content, settings } = answer(seed, messages);

    const failureDraw = uniform(seed, key, occurrence, 'failure');
    if (failures && failureDraw < SERVER_ERROR_RATE) {
      stats.failures['500'] += 1;
      await sleep(5 * latencyScale);
      sendJson(response, 500, errorBody('The model server had an error while processing your request.', 'server_error', null));
      return;
    }
    if (failures && failureDraw < SERVER_ERROR_RATE + RATE_LIMIT_RATE) {
      stats.failures['429'] += 1;
      sendJson(response, 429, errorBody('Rate limit reached for requests. Please try again in 1s.', 'requests', 'rate_limit_exceeded'), { 'retry-after': '1' });
      return;
    }

    const promptTokens = messages.reduce((sum, m) => sum + 4 + tokensOf(textOf(m.content)), 0);
    const completionTokens = tokensOf(content);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const delayMs =
      latencyScale * (BASE_LATENCY_MS[settings.profile] + LATENCY_PER_TOKEN_MS * completionTokens + LATENCY_JITTER_MS * uniform(seed, key, occurrence, 'jitter'));
    const id = `chatcmpl-${hexId(24, seed, key, occurrence)}`;
    const created = Math.floor(Date.now() / 1000);
    stats.completions += 1;
    stats.promptTokens += promptTokens;
    stats.completionTokens += completionTokens;

    if (body.stream !== true) {
      await sleep(delayMs);
      sendJson(response, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint: 'fp_abtel_demo',
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
      return;
    }

    stats.streamed += 1;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_abtel_demo', choices, ...extra })}\n\n`;
    const words = content.split(/(?<= )/);
    const pieces = 4;
    const perPiece = Math.ceil(words.length / pieces);
    response.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    for (let i = 0; i < words.length; i += perPiece) {
      await sleep(delayMs / pieces);
      response.write(chunk([{ index: 0, delta: { content: words.slice(i, i + perPiece).join('') }, logprobs: null, finish_reason: null }]));
    }
    const includeUsage = body.stream_options?.include_usage === true;
    response.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], includeUsage ? { usage: null } : {}));
    if (includeUsage) response.write(chunk([], { usage }));
    response.end('data: [DONE]\n\n');
  }

  const server: Server = createServer((request, response) => {
    const url = request.url ?? '/';
    stats.requests += 1;
    if (request.method === 'POST' && url.split('?')[0] === '/v1/chat/completions') {
      completions(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendJson(response, 500, errorBody(`internal error: ${(error as Error).message}`, 'server_error', null));
        else response.destroy();
      });
      return;
    }
    if (request.method === 'GET' && url === '/debug/stats') {
      sendJson(response, 200, stats);
      return;
    }
    if (request.method === 'GET' && url === '/v1/models') {
      sendJson(response, 200, { object: 'list', data: [{ id: 'abtel-demo-1', object: 'model', created: 0, owned_by: 'abtel' }] });
      return;
    }
    sendJson(response, 404, errorBody(`no route for ${request.method} ${url}; the demo model server serves POST /v1/chat/completions`, 'invalid_request_error', 'not_found'));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    baseURL: `http://${host}:${address.port}/v1`,
    port: address.port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

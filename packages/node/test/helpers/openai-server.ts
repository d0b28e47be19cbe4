import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenAI-compatible server for tests: POST /v1/chat/completions (JSON, or server-sent
 * events with `stream: true`, usage included when `stream_options.include_usage` is set) and
 * POST /v1/embeddings. The reply echoes the first word of the system prompt so tests can check
 * that a variation's config reached the model.
 */
export class OpenAICompatibleServer {
  readonly requests: { path: string; body: Record<string, unknown>; headers: import('node:http').IncomingHttpHeaders }[] = [];
  #server: Server | undefined;
  #counter = 0;

  get baseURL(): string {
    const address = this.#server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}/v1`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error' } }));
          return;
        }
        this.requests.push({ path: req.url ?? '', body, headers: req.headers });
        if (req.method === 'POST' && req.url === '/v1/chat/completions') this.#chat(body, res);
        else if (req.method === 'POST' && req.url === '/v1/embeddings') this.#embeddings(body, res);
        else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.url}`, type: 'invalid_request_error' } }));
      });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #chat(body: Record<string, unknown>, res: import('node:http').ServerResponse): void {
    this.#counter += 1;
    const id = `chatcmpl-test-${this.#counter}`;
    const model = String(body['model'] ?? 'unknown');
    const messages = (body['messages'] as { role: string; content: string }[] | undefined) ?? [];
    const system = messages.find((message) => message.role === 'system')?.content ?? '';
    const content = `Hello from ${system.split(/\s+/).slice(0, 4).join(' ') || 'nobody'}`;
    const promptTokens = messages.reduce((sum, message) => sum + String(message.content).split(/\s+/).length, 0);
    const completionTokens = content.split(/\s+/).length;
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const created = Math.floor(Date.now() / 1000);
    if (body['stream'] === true) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const words = content.split(' ');
      words.forEach((word, index) => {
        const chunk = {
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta: index === 0 ? { role: 'assistant', content: word } : { content: ` ${word}` }, finish_reason: null }],
        };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      });
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      const includeUsage = (body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
        usage,
      }),
    );
  }

  #embeddings(body: Record<string, unknown>, res: import('node:http').ServerResponse): void {
    const inputs = Array.isArray(body['input']) ? (body['input'] as unknown[]) : [body['input']];
    const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: [String(input).length / 100, 0.5, 0.25] }));
    const tokens = inputs.reduce<number>((sum, input) => sum + String(input).split(/\s+/).length, 0);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ object: 'list', data, model: String(body['model'] ?? 'unknown'), usage: { prompt_tokens: tokens, total_tokens: tokens } }),
    );
  }
}

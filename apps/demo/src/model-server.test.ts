import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answer, parseSystemPrompt, startModelServer, type ModelServer } from './model-server.js';
import { RESOLUTION_PROBABILITY, scenario, openingMessage } from './simulation.js';

const system = (profile: string, name = 'Sam', tone = 'neutral'): string =>
  `You are ${name}, a customer-support agent for Acme Cloud. Tone: ${tone}. Retrieval profile: ${profile}.`;

describe('model server with the real openai client', () => {
  let server: ModelServer;
  let client: OpenAI;
  beforeAll(async () => {
    server = await startModelServer({ seed: '5', latencyScale: 0 });
    client = new OpenAI({ baseURL: server.baseURL, apiKey: 'demo', maxRetries: 0 });
  });
  afterAll(async () => server.close());

  it('answers non-streaming requests with an id, the persona and usage', async () => {
    const s = scenario('5', 3);
    const messages = [
      { role: 'system' as const, content: system('bm25', 'Riley', 'warm') },
      { role: 'user' as const, content: openingMessage(s) },
    ];
    let completion: OpenAI.Chat.Completions.ChatCompletion | undefined;
    // A call may fail by design (500/429); the next identical request gets a fresh draw.
    for (let attempt = 0; attempt < 5 && !completion; attempt += 1) {
      completion = await client.chat.completions.create({ model: 'support-1', messages }).catch(() => undefined);
    }
    expect(completion?.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(completion?.object).toBe('chat.completion');
    expect(completion?.model).toBe('support-1');
    const text = completion?.choices[0]?.message.content ?? '';
    expect(text).toContain("I'm Riley");
    expect(text).toContain("I'm sorry about the trouble");
    expect(completion?.usage?.prompt_tokens).toBeGreaterThan(10);
    expect(completion?.usage?.total_tokens).toBe((completion?.usage?.prompt_tokens ?? 0) + (completion?.usage?.completion_tokens ?? 0));
  });

  it('streams chunks and ends with a usage chunk when asked', async () => {
    const messages = [
      { role: 'system' as const, content: system('hybrid-rerank', 'Alex', 'concise') },
      { role: 'user' as const, content: openingMessage(scenario('5', 4)) },
    ];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        const stream = await client.chat.completions.create({ model: 'support-1', messages, stream: true, stream_options: { include_usage: true } });
        let text = '';
        let usage: OpenAI.CompletionUsage | undefined | null;
        let finish: string | null | undefined;
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (chunk.usage) usage = chunk.usage;
        }
        const direct = answer('5', messages);
        expect(text).toBe(direct.content);
        expect(text.startsWith('Alex here.')).toBe(true);
        expect(finish).toBe('stop');
        expect(usage?.completion_tokens).toBe(Math.ceil(text.length / 4));
        return;
      } catch (error) {
        if (!(error instanceof OpenAI.APIError)) throw error;
      }
    }
    throw new Error('five failures in a row is not plausible at the configured error rates');
  });

  it('fails a small share of calls with 500 and 429, which the client surfaces with maxRetries 0', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 150; i += 1) {
      try {
        await client.chat.completions.create({ model: 'support-1', messages: [{ role: 'user', content: `ping ${i}` }] });
        statuses.push(200);
      } catch (error) {
        expect(error).toBeInstanceOf(OpenAI.APIError);
        statuses.push((error as InstanceType<typeof OpenAI.APIError>).status ?? -1);
      }
    }
    const failed = statuses.filter((status) => status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(20);
    expect(new Set(failed).size).toBeLessThanOrEqual(2);
    for (const status of failed) expect([429, 500]).toContain(status);
  });

  it('rejects bad bodies with a 400 that says what is wrong', async () => {
    const response = await fetch(`${server.baseURL}/chat/completions`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
  });
});

describe('simulated behaviour', () => {
  it('parses what the system prompt asks for, with control fallbacks', () => {
    expect(parseSystemPrompt(system('hybrid-rerank', 'Riley', 'warm'))).toEqual({ profile: 'hybrid-rerank', name: 'Riley', tone: 'warm' });
    expect(parseSystemPrompt('Be helpful.')).toEqual({ profile: 'bm25', name: 'Sam', tone: 'neutral' });
  });

  it('is deterministic and resolves the configured share of tickets per profile', () => {
    const n = 4000;
    const rate = (profile: string): number => {
      let resolvable = 0;
      for (let i = 0; i < n; i += 1) {
        const messages = [{ role: 'system', content: system(profile) }, { role: 'user', content: openingMessage(scenario('9', i)) }];
        const a = answer('9', messages);
        expect(answer('9', messages)).toEqual(a);
        if (a.resolvable) resolvable += 1;
      }
      return resolvable / n;
    };
    // 4 standard errors of a proportion at n = 4000 is about 0.031.
    expect(Math.abs(rate('bm25') - RESOLUTION_PROBABILITY.bm25)).toBeLessThan(0.031);
    expect(Math.abs(rate('hybrid-rerank') - RESOLUTION_PROBABILITY['hybrid-rerank'])).toBeLessThan(0.031);
  });

  it('uses common random numbers: a ticket the control solves, the treatment solves too', () => {
    for (let i = 0; i < 500; i += 1) {
      const user = { role: 'user', content: openingMessage(scenario('2', i)) };
      const a = answer('2', [{ role: 'system', content: system('bm25') }, user]);
      const b = answer('2', [{ role: 'system', content: system('hybrid-rerank') }, user]);
      expect(b.ticket).toBe(a.ticket);
      if (a.resolvable) expect(b.resolvable).toBe(true);
    }
  });
});

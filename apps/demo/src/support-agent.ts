/**
 * The simulated customer-support agent: runs multi-turn conversations against an
 * OpenAI-compatible server with the real `openai` client, inside abtel's conversation context,
 * with the retrieval profile and persona its experiments assign. It knows nothing about
 * telemetry beyond `withConversation` and `experiment(key).variation()`: the `chat …` spans come
 * from `@opentelemetry/instrumentation-openai`, installed by `node --import @abtel/node/register`.
 */
import { appendFile } from 'node:fs/promises';
import OpenAI from 'openai';
import { experiment, withConversation } from '@abtel/node';
import { pick, uniform } from './internal/hash.js';
import { CONFIRMATION, ESCALATION, TOPICS, openingMessage, scenario, type Scenario, type Topic } from './simulation.js';

/** Experiment keys the agent asks for (definitions in apps/demo/experiments/). */
export const RETRIEVAL_EXPERIMENT = 'support-retrieval';
export const PERSONA_EXPERIMENT = 'support-persona';

/** Options of {@link runConversations}. */
export interface AgentOptions {
  /** Base URL of the OpenAI-compatible server, e.g. `http://127.0.0.1:4000/v1`. */
  readonly baseURL: string;
  readonly seed: string;
  readonly conversations: number;
  /** Index of the first conversation (default 0). */
  readonly first?: number;
  /** Conversations in flight at once (default 8). */
  readonly concurrency?: number;
  /** JSON Lines file the transcripts are appended to (what the ticket service reads). */
  readonly logFile: string;
  /** Model name sent in requests (default `support-1`). */
  readonly model?: string;
  /** Called after each finished conversation. */
  readonly onConversation?: (done: number, total: number) => void;
}

/** What the agent sent, for the count check against what lands in the files. */
export interface AgentSummary {
  conversations: number;
  /** Chat-completion attempts: each one is a `chat …` span. */
  calls: number;
  failedCalls: number;
  streamedCalls: number;
  /** Conversations handed to a human because both attempts of a turn failed. */
  escalatedAfterErrors: number;
  /** Assignments the agent received, per experiment and variation (each one is exposed once). */
  assignments: Record<string, Record<string, number>>;
}

/** One line of the conversation log: what a ticketing system would store, and nothing else. */
export interface ConversationLogRecord {
  conversationId: string;
  ticketId: string;
  transcript: { role: 'user' | 'assistant'; content: string }[];
}

type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

function stringConfig(config: Record<string, unknown> | undefined, field: string, fallback: string): string {
  const value = config?.[field];
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function numberConfig(config: Record<string, unknown> | undefined, field: string, fallback: number): number {
  const value = config?.[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * Retrieval over the tiny knowledge base: the relevant article ranks first only when the profile
 * re-ranks; keyword retrieval returns articles in a noisy order. Only the prompt length (tokens)
 * depends on this: whether the fix is found is the model server's business.
 */
function retrieve(seed: string, s: Scenario, profile: string, passages: number): Topic[] {
  const ranked = [...TOPICS].sort((a, b) => uniform(seed, s.ticketId, 'rank', a.id) - uniform(seed, s.ticketId, 'rank', b.id));
  if (profile === 'hybrid-rerank') ranked.sort((a, b) => Number(b.id === s.topic.id) - Number(a.id === s.topic.id));
  return ranked.slice(0, Math.max(1, Math.min(passages, ranked.length)));
}

/**
 * The system prompt: persona first, then the retrieval profile and its passages.
 * @example
 * systemPrompt({ name: 'Riley', tone: 'warm' }, 'bm25', []);
 */
export function systemPrompt(persona: { name: string; tone: string }, profile: string, passages: readonly Topic[]): string {
  return [
    `You are ${persona.name}, a customer-support agent for Acme Cloud. Tone: ${persona.tone}.`,
    `Retrieval profile: ${profile}.`,
    'Knowledge base passages:',
    ...passages.map((topic, index) => `[${index + 1}] kb/${topic.id}: ${topic.fix}.`),
    'Answer with the passage that fixes the problem; if none does, ask one clarifying question.',
  ].join('\n');
}

/**
 * Runs `conversations` simulated support conversations and appends their transcripts to
 * `logFile`. Each conversation is one abtel unit: its spans carry one variation per experiment.
 * @example
 * const summary = await runConversations({ baseURL: server.baseURL, seed: '1', conversations: 20, logFile: 'conversations.jsonl' });
 */
export async function runConversations(options: AgentOptions): Promise<AgentSummary> {
  // Retries are the agent's own (one per turn), so that every attempt is its own span and failed
  // calls show up in the error-rate guardrail instead of hiding inside the client.
  const client = new OpenAI({ baseURL: options.baseURL, apiKey: 'demo-key', maxRetries: 0, timeout: 30_000 });
  const model = options.model ?? 'support-1';
  const summary: AgentSummary = { conversations: 0, calls: 0, failedCalls: 0, streamedCalls: 0, escalatedAfterErrors: 0, assignments: {} };
  const count = (experimentKey: string, variation: string): void => {
    const arms = (summary.assignments[experimentKey] ??= {});
    arms[variation] = (arms[variation] ?? 0) + 1;
  };

  async function complete(messages: Message[], stream: boolean): Promise<string | undefined> {
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      summary.calls += 1;
      try {
        if (!stream) {
          const completion = await client.chat.completions.create({ model, messages, temperature: 0.2 });
          return completion.choices[0]?.message.content ?? '';
        }
        summary.streamedCalls += 1;
        const chunks = await client.chat.completions.create({ model, messages, temperature: 0.2, stream: true, stream_options: { include_usage: true } });
        let text = '';
        for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
        return text;
      } catch (error) {
        if (!(error instanceof OpenAI.APIError)) throw error;
        summary.failedCalls += 1;
      }
    }
    return undefined;
  }

  async function converse(index: number): Promise<void> {
    const s = scenario(options.seed, index);
    await withConversation({ conversationId: s.conversationId, attributes: { locale: s.locale, plan: s.plan } }, async () => {
      const retrieval = await experiment(RETRIEVAL_EXPERIMENT).variation();
      const persona = await experiment(PERSONA_EXPERIMENT).variation();
      count(RETRIEVAL_EXPERIMENT, retrieval.key);
      count(PERSONA_EXPERIMENT, persona.key);
      const retrievalConfig = retrieval.config as Record<string, unknown> | undefined;
      const personaConfig = persona.config as Record<string, unknown> | undefined;
      const profile = stringConfig(retrievalConfig, 'profile', 'bm25');
      const passages = retrieve(options.seed, s, profile, numberConfig(retrievalConfig, 'passages', 2));
      const system = systemPrompt({ name: stringConfig(personaConfig, 'name', 'Sam'), tone: stringConfig(personaConfig, 'tone', 'neutral') }, profile, passages);
      const messages: Message[] = [{ role: 'system', content: system }];
      const transcript: ConversationLogRecord['transcript'] = [];
      const say = (role: 'user' | 'assistant', content: string): void => {
        messages.push({ role, content });
        transcript.push({ role, content });
      };
      say('user', openingMessage(s));
      for (let turn = 1; turn <= s.maxTurns; turn += 1) {
        const reply = await complete(messages, s.stream);
        if (reply === undefined) {
          summary.escalatedAfterErrors += 1;
          say('assistant', `Sorry, I am having technical difficulties. ${ESCALATION}`);
          break;
        }
        say('assistant', reply);
        if (reply.includes(s.topic.fixKeyword)) {
          say('user', CONFIRMATION);
          break;
        }
        if (turn === s.maxTurns) {
          say('assistant', ESCALATION);
          break;
        }
        say('user', pick([s.topic.followUp, `${s.topic.followUp} Any other idea?`], uniform(options.seed, s.ticketId, 'follow-up', turn)));
      }
      const record: ConversationLogRecord = { conversationId: s.conversationId, ticketId: s.ticketId, transcript };
      await appendFile(options.logFile, `${JSON.stringify(record)}\n`);
    });
    summary.conversations += 1;
    options.onConversation?.(summary.conversations, options.conversations);
  }

  const first = options.first ?? 0;
  let next = first;
  const end = first + options.conversations;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const index = next;
      next += 1;
      await converse(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  return summary;
}

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperiments } from '@abtel/core';
import { configureAbtel } from '@abtel/node';
import { DEMO_EXPERIMENTS_DIR } from './demo.js';
import { startModelServer, type ModelServer } from './model-server.js';
import { CONFIRMATION, ESCALATION, scenario } from './simulation.js';
import { runConversations, type ConversationLogRecord } from './support-agent.js';
import { closeTicket } from './tickets.js';

// The agent's conversation logic in-process, with a context manager but without an exporting SDK
// (the e2e tests run it as the real child process with the register entry). Without a context
// manager `withConversation` could not carry the conversation and every unit would get control.
describe('support agent', () => {
  let server: ModelServer;
  let dir: string;
  const contextManager = new AsyncLocalStorageContextManager();
  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    configureAbtel({ experiments: await loadExperiments(DEMO_EXPERIMENTS_DIR) });
    server = await startModelServer({ seed: '11', latencyScale: 0 });
    dir = await mkdtemp(join(tmpdir(), 'abtel-agent-'));
  });
  afterAll(async () => {
    context.disable();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs every conversation to a confirmation or an escalation and counts every call attempt', async () => {
    const logFile = join(dir, 'conversations.jsonl');
    const summary = await runConversations({ baseURL: server.baseURL, seed: '11', conversations: 60, concurrency: 6, logFile });
    expect(summary.conversations).toBe(60);
    // Every attempt reached the server: answered, or failed on purpose.
    expect(summary.calls).toBe(server.stats.completions + server.stats.failures['429'] + server.stats.failures['500']);
    expect(summary.failedCalls).toBe(server.stats.failures['429'] + server.stats.failures['500']);
    expect(summary.streamedCalls).toBeGreaterThan(0);
    for (const key of ['support-retrieval', 'support-persona']) {
      expect(Object.values(summary.assignments[key] ?? {}).reduce((a, b) => a + b, 0)).toBe(60);
    }
    // Every arm got conversations, so the variation really reached the agent.
    expect(Object.keys(summary.assignments['support-retrieval'] ?? {}).sort()).toEqual(['bm25', 'hybrid-rerank']);
    expect(Object.keys(summary.assignments['support-persona'] ?? {}).sort()).toEqual(['alex-concise', 'riley-warm', 'sam-neutral']);
    const records = (await readFile(logFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ConversationLogRecord);
    expect(new Set(records.map((r) => r.conversationId)).size).toBe(60);
    for (const record of records) {
      const index = Number(record.conversationId.split('-').pop());
      const s = scenario('11', index);
      const last = record.transcript[record.transcript.length - 1];
      const fixed = record.transcript.some((m) => m.role === 'assistant' && m.content.includes(s.topic.fixKeyword));
      // Resolved exactly when the fix was given; otherwise the agent escalates.
      expect(last?.content === CONFIRMATION).toBe(fixed);
      if (!fixed) expect(last?.content.endsWith(ESCALATION)).toBe(true);
      expect(closeTicket('11', record).resolved).toBe(fixed);
      expect(record.transcript.filter((m) => m.role === 'user').length).toBeLessThanOrEqual(s.maxTurns + 1);
      // The persona reached the model: the first reply introduces one of the persona names.
      expect(record.transcript[1]?.content).toMatch(/Sam|Riley|Alex/);
      // No variation leaks into what the ticket service reads.
      expect(JSON.stringify(record)).not.toMatch(/hybrid-rerank|bm25|sam-neutral|riley-warm|alex-concise/);
    }
  });
});

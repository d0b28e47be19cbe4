import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiments } from '@abtel/core';
import { sampleSizeProportions } from '@abtel/stats';
import { DEMO_EXPERIMENTS_DIR } from './demo.js';
import { DEFAULT_CONVERSATIONS, SIZING } from './sizing.js';
import { PERSONA_EXPERIMENT, RETRIEVAL_EXPERIMENT, systemPrompt } from './support-agent.js';
import { closeTicket } from './tickets.js';
import { parseSystemPrompt } from './model-server.js';
import { CONFIRMATION, ESCALATION, RESOLUTION_PROBABILITY, TOPICS } from './simulation.js';

describe('demo experiments', () => {
  it('load with the core loader and match what the agent and the model server understand', async () => {
    const set = await loadExperiments(DEMO_EXPERIMENTS_DIR);
    const retrieval = set.require(RETRIEVAL_EXPERIMENT);
    const persona = set.require(PERSONA_EXPERIMENT);
    expect(retrieval.variations.map((v) => v.key)).toEqual(['bm25', 'hybrid-rerank']);
    expect(persona.variations).toHaveLength(3);
    expect(retrieval.metrics?.primary).toBe('resolved');
    expect(persona.metrics?.primary).toBe('csat');
    for (const variation of retrieval.variations) {
      const profile = String(variation.config['profile']);
      expect(Object.keys(RESOLUTION_PROBABILITY)).toContain(profile);
      expect(parseSystemPrompt(systemPrompt({ name: 'Sam', tone: 'neutral' }, profile, [])).profile).toBe(profile);
    }
    for (const variation of persona.variations) {
      const config = variation.config as { name: string; tone: string };
      expect(parseSystemPrompt(systemPrompt(config, 'bm25', []))).toMatchObject({ name: config.name, tone: config.tone });
    }
    const metricNames = set.metrics(RETRIEVAL_EXPERIMENT).map((metric) => metric.name);
    expect(metricNames).toEqual(expect.arrayContaining(['resolved', 'csat', 'latency_p95', 'error_rate', 'tokens_per_conversation']));
  });
});

describe('default size', () => {
  it('is the power calculation of sizing.ts, recomputed with @abtel/stats, plus a margin', () => {
    const result = sampleSizeProportions({ baseline: SIZING.baseline, mde: SIZING.mde, alpha: SIZING.alpha, power: SIZING.power });
    expect(result.perArm).toEqual([SIZING.perArm, SIZING.perArm]);
    expect(result.total).toBe(SIZING.total);
    expect(DEFAULT_CONVERSATIONS).toBeGreaterThanOrEqual(result.total);
    expect(DEFAULT_CONVERSATIONS).toBeLessThan(result.total * 1.1);
    // The injected effect is the one the calculation assumes.
    expect(RESOLUTION_PROBABILITY['hybrid-rerank'] - RESOLUTION_PROBABILITY.bm25).toBeCloseTo(SIZING.mde, 12);
  });

  it('is what the comment in support-retrieval.yaml says, with the command that gives it', () => {
    const yaml = readFileSync(join(DEMO_EXPERIMENTS_DIR, 'support-retrieval.yaml'), 'utf8');
    const comment = yaml
      .split('\n')
      .filter((line) => line.trimStart().startsWith('#'))
      .map((line) => line.replace(/^\s*#\s?/, ''))
      .join(' ');
    const command = /`abtel power ([^`]*)`/.exec(comment)?.[1];
    expect(command).toBe(`--baseline ${SIZING.baseline} --mde ${SIZING.mde} --power ${SIZING.power}`);
    expect(comment).toContain(`(${SIZING.total})`);
    expect(comment).toContain(`size (${DEFAULT_CONVERSATIONS} conversations)`);
  });
});

describe('ticket service', () => {
  const topic = TOPICS[0]!;
  const resolved = {
    conversationId: 'conv-x',
    ticketId: 'T-x',
    transcript: [
      { role: 'user' as const, content: topic.opening },
      { role: 'assistant' as const, content: `Hi there, I'm Riley. I'm sorry about the trouble with this. To fix this: ${topic.fix}.` },
      { role: 'user' as const, content: CONFIRMATION },
    ],
  };
  const escalated = {
    ...resolved,
    transcript: [
      { role: 'user' as const, content: topic.opening },
      { role: 'assistant' as const, content: `Hello, I'm Sam. Could you try ${topic.generic}?` },
      { role: 'assistant' as const, content: ESCALATION },
    ],
  };

  it('reads resolution from the transcript alone', () => {
    expect(closeTicket('1', resolved).resolved).toBe(true);
    expect(closeTicket('1', escalated).resolved).toBe(false);
  });

  it('gives satisfaction in 1..5, deterministically, higher for resolved tickets on average', () => {
    let resolvedSum = 0;
    let escalatedSum = 0;
    let n = 0;
    for (let i = 0; i < 400; i += 1) {
      const a = closeTicket(String(i), { ...resolved, conversationId: `c-${i}` });
      const b = closeTicket(String(i), { ...escalated, conversationId: `c-${i}` });
      expect(closeTicket(String(i), { ...resolved, conversationId: `c-${i}` })).toEqual(a);
      for (const outcome of [a, b]) {
        if (outcome.csat !== undefined) expect([1, 2, 3, 4, 5]).toContain(outcome.csat);
        expect(outcome.minutesLater).toBeGreaterThanOrEqual(5);
      }
      if (a.csat !== undefined && b.csat !== undefined) {
        resolvedSum += a.csat;
        escalatedSum += b.csat;
        n += 1;
      }
    }
    expect(resolvedSum / n - escalatedSum / n).toBeGreaterThan(1.5);
  });
});

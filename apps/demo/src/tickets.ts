/**
 * The ticket service: a separate system that closes tickets and collects satisfaction surveys
 * after the conversation is over. It reads only what a ticketing system would have (the
 * transcript, keyed by conversation id) and reports outcomes with `recordOutcome`, joined to the
 * experiment only by `gen_ai.conversation.id`. It never sees a variation: the outcome depends on
 * the variation only through what the agent said.
 */
import { readFile } from 'node:fs/promises';
import { recordOutcome } from '@abtel/node';
import { uniform } from './internal/hash.js';
import { CONFIRMATION, CSAT_MODEL } from './simulation.js';
import type { ConversationLogRecord } from './support-agent.js';

/** Outcome names the ticket service records (metrics.yaml reads them). */
export const OUTCOME_RESOLVED = 'support_conversation_resolved';
export const OUTCOME_CSAT = 'csat';

/** Share of customers who answer the satisfaction survey. */
export const SURVEY_RESPONSE_RATE = 0.8;

/** What one closed ticket reports. */
export interface TicketOutcome {
  conversationId: string;
  resolved: boolean;
  /** 1–5, or undefined when the customer did not answer the survey. */
  csat: number | undefined;
  /** Simulated minutes between the end of the conversation and the outcome. */
  minutesLater: number;
}

/**
 * Reads a transcript the way the support team would: resolved when the customer confirmed the
 * fix; satisfaction from how the replies read (acknowledging the trouble helps, curt replies hurt).
 * @example
 * const outcome = closeTicket('1', record);
 */
export function closeTicket(seed: string, record: ConversationLogRecord): TicketOutcome {
  const last = record.transcript[record.transcript.length - 1];
  const resolved = last?.role === 'user' && last.content === CONFIRMATION;
  const replies = record.transcript.filter((message) => message.role === 'assistant').map((message) => message.content);
  const empathetic = replies.some((reply) => /sorry about the trouble/i.test(reply));
  // A reply that opens without a greeting reads as curt to customers.
  const curt = replies.length > 0 && !/^(Hello|Hi)\b/.test(replies[0] ?? '');
  const base = (resolved ? CSAT_MODEL.resolved : CSAT_MODEL.unresolved) + (empathetic ? CSAT_MODEL.empathyBonus : 0) - (curt ? CSAT_MODEL.curtPenalty : 0);
  const noise = [-1, 0, 0, 1][Math.floor(uniform(seed, record.conversationId, 'csat-noise') * 4)] ?? 0;
  const csat = Math.min(5, Math.max(1, Math.round(base + noise)));
  const answeredSurvey = uniform(seed, record.conversationId, 'survey') < SURVEY_RESPONSE_RATE;
  return {
    conversationId: record.conversationId,
    resolved,
    csat: answeredSurvey ? csat : undefined,
    minutesLater: 5 + Math.floor(uniform(seed, record.conversationId, 'delay') * 85),
  };
}

/** What the ticket service sent, for the count check. */
export interface TicketSummary {
  tickets: number;
  outcomes: Record<string, number>;
  badLines: { line: number; reason: string }[];
}

/**
 * Reads the conversation log and records one `support_conversation_resolved` (1/0) per ticket
 * and one `csat` per answered survey. A bad line is reported with its number and skipped.
 * @example
 * const summary = await processTickets({ seed: '1', logFile: 'conversations.jsonl' });
 */
export async function processTickets(options: { seed: string; logFile: string; onTicket?: (done: number, total: number) => void }): Promise<TicketSummary> {
  const text = await readFile(options.logFile, 'utf8');
  const summary: TicketSummary = { tickets: 0, outcomes: { [OUTCOME_RESOLVED]: 0, [OUTCOME_CSAT]: 0 }, badLines: [] };
  const records: ConversationLogRecord[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      const record = JSON.parse(line) as ConversationLogRecord;
      if (typeof record.conversationId !== 'string' || !Array.isArray(record.transcript)) throw new Error('needs conversationId and transcript');
      records.push(record);
    } catch (error) {
      summary.badLines.push({ line: index + 1, reason: (error as Error).message });
    }
  });
  // The log's order depends on which conversation finished first; tickets are closed in id order.
  records.sort((a, b) => (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0));
  for (const record of records) {
    const outcome = closeTicket(options.seed, record);
    const attributes = { 'abtel.demo.simulated_minutes_after': outcome.minutesLater };
    recordOutcome({ conversationId: outcome.conversationId, name: OUTCOME_RESOLVED, value: outcome.resolved ? 1 : 0, attributes });
    summary.outcomes[OUTCOME_RESOLVED] = (summary.outcomes[OUTCOME_RESOLVED] ?? 0) + 1;
    if (outcome.csat !== undefined) {
      recordOutcome({ conversationId: outcome.conversationId, name: OUTCOME_CSAT, value: outcome.csat, attributes });
      summary.outcomes[OUTCOME_CSAT] = (summary.outcomes[OUTCOME_CSAT] ?? 0) + 1;
    }
    summary.tickets += 1;
    options.onTicket?.(summary.tickets, records.length);
  }
  return summary;
}

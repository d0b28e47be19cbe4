/**
 * The ground truth of the simulated support world: what the model server does for each retrieval
 * profile and persona, and how customers react. These constants are the effects the demo injects;
 * the end-to-end tests compare the analysis against them.
 */
import { pick, uniform } from './internal/hash.js';

/** Retrieval profiles the model server recognises in the system prompt (`Retrieval profile: …`). */
export const RETRIEVAL_PROFILES = ['bm25', 'hybrid-rerank'] as const;
export type RetrievalProfile = (typeof RETRIEVAL_PROFILES)[number];

/**
 * Probability that a ticket is solvable with the passages a profile retrieves. A solvable ticket
 * gets the fix at turn 1 or 2, which every simulated customer waits for, so this is the resolution
 * rate of the profile up to the rare conversation whose calls fail twice in a row.
 * The injected treatment effect is 0.70 − 0.55 = +0.15 (absolute).
 */
export const RESOLUTION_PROBABILITY: Readonly<Record<RetrievalProfile, number>> = { bm25: 0.55, 'hybrid-rerank': 0.7 };

/** Base latency of one completion in milliseconds; re-ranking makes the treatment slightly slower. */
export const BASE_LATENCY_MS: Readonly<Record<RetrievalProfile, number>> = { bm25: 120, 'hybrid-rerank': 145 };
/** Extra latency per completion token (ms) and the largest uniform jitter added (ms). */
export const LATENCY_PER_TOKEN_MS = 0.25;
export const LATENCY_JITTER_MS = 12;

/** Passages the agent puts into the system prompt per profile (more context → more input tokens). */
export const PASSAGES_PER_PROFILE: Readonly<Record<RetrievalProfile, number>> = { bm25: 2, 'hybrid-rerank': 4 };

/** Share of calls that fail with HTTP 500 and with HTTP 429 (rate limit), independent of the arm. */
export const SERVER_ERROR_RATE = 0.025;
export const RATE_LIMIT_RATE = 0.015;

/** Tones a persona can ask for (`Tone: …` in the system prompt). */
export const TONES = ['neutral', 'warm', 'concise'] as const;
export type Tone = (typeof TONES)[number];

/**
 * Customer satisfaction (1–5) model used by the ticket service: a resolved ticket starts at 4.2,
 * an unresolved one at 2.3; replies that acknowledge the trouble (the warm tone does) add 0.45,
 * curt replies (the concise tone) subtract 0.15; then integer noise −1/0/0/+1, clamped to 1–5.
 */
export const CSAT_MODEL = { resolved: 4.2, unresolved: 2.3, empathyBonus: 0.45, curtPenalty: 0.15 } as const;

/** A support topic: what the customer writes, what fixes it, and how the customer recognises the fix. */
export interface Topic {
  readonly id: string;
  readonly opening: string;
  readonly followUp: string;
  readonly fix: string;
  /** A phrase that appears in a reply exactly when it contains the fix. */
  readonly fixKeyword: string;
  readonly generic: string;
}

/** The knowledge base shared by the agent (retrieval) and the model server (answers). */
export const TOPICS: readonly Topic[] = [
  {
    id: 'password-reset',
    opening: "I can't log in: the password reset email never arrives.",
    followUp: 'Still no reset email, I checked the spam folder too.',
    fix: 'add no-reply@acme.example to your allowed senders, then press "Resend reset link" under Settings > Security',
    fixKeyword: 'Resend reset link',
    generic: 'waiting a few minutes and checking that the address on the account is correct',
  },
  {
    id: 'billing-double-charge',
    opening: 'I was charged twice for my subscription this month.',
    followUp: 'The second charge is still on my card statement.',
    fix: 'the duplicate is a pre-authorisation; open Billing > Pending holds and press "Release hold" to drop it within 24 hours',
    fixKeyword: 'Release hold',
    generic: 'comparing the invoice numbers of both charges in Billing > History',
  },
  {
    id: 'export-timeout',
    opening: 'My CSV export times out every time I run it.',
    followUp: 'It still times out, even with a smaller date range.',
    fix: 'switch the export to "Background export" in the export dialog; you get an email with the file when it is ready',
    fixKeyword: 'Background export',
    generic: 'exporting a shorter date range and retrying in a few minutes',
  },
  {
    id: 'api-key-rotation',
    opening: 'Our integration broke after I rotated the API key.',
    followUp: 'The integration still answers 401 with the new key.',
    fix: 'the old key is cached by the webhook relay; press "Re-sync credentials" on the Integrations page after rotating',
    fixKeyword: 'Re-sync credentials',
    generic: 'double-checking that the new key was copied without trailing spaces',
  },
  {
    id: 'sso-login-loop',
    opening: 'Single sign-on sends me back to the login page in a loop.',
    followUp: 'Still looping, I cleared my cookies already.',
    fix: 'your identity provider sends an expired certificate; upload the new one under Admin > SSO > "Replace certificate"',
    fixKeyword: 'Replace certificate',
    generic: 'clearing cookies for acme.example and trying a private window',
  },
];

/** Customer reply that closes a ticket as resolved (the ticket service reads transcripts for it). */
export const CONFIRMATION = 'That worked, thank you!';
/** Agent message when a conversation is handed to a human (the ticket stays open). */
export const ESCALATION = 'I am handing this conversation to a human colleague who will follow up by email.';

/** A simulated customer ticket: derived only from the seed and the conversation's index. */
export interface Scenario {
  readonly conversationId: string;
  readonly ticketId: string;
  readonly topic: Topic;
  /** Customer turns before the customer gives up (2 or 3; the fix never comes later than turn 2). */
  readonly maxTurns: number;
  readonly locale: 'en-US' | 'en-GB' | 'de-DE';
  readonly plan: 'free' | 'pro';
  /** Whether the agent streams its completions for this conversation. */
  readonly stream: boolean;
}

/**
 * The scenario of the `index`-th conversation for a seed.
 * @example
 * const s = scenario('42', 0); // { conversationId: 'conv-42-000000', ticketId: 'T-42-000000', … }
 */
export function scenario(seed: string, index: number): Scenario {
  const serial = String(index).padStart(6, '0');
  const ticketId = `T-${seed}-${serial}`;
  return {
    conversationId: `conv-${seed}-${serial}`,
    ticketId,
    topic: pick(TOPICS, uniform(seed, ticketId, 'topic')),
    maxTurns: uniform(seed, ticketId, 'patience') < 0.5 ? 2 : 3,
    locale: pick(['en-US', 'en-GB', 'de-DE'] as const, uniform(seed, ticketId, 'locale')),
    plan: uniform(seed, ticketId, 'plan') < 0.7 ? 'free' : 'pro',
    stream: uniform(seed, ticketId, 'stream') < 0.5,
  };
}

/**
 * The opening customer message: carries the ticket id, which is how the model server tells tickets apart.
 * @example
 * openingMessage(scenario('42', 0)); // '[T-42-000000] …'
 */
export function openingMessage(s: Scenario): string {
  return `[${s.ticketId}] ${s.topic.opening}`;
}

export { startModelServer, answer, parseSystemPrompt } from './model-server.js';
export type { ModelServer, ModelServerOptions, ModelServerStats, PromptSettings } from './model-server.js';
export {
  RESOLUTION_PROBABILITY,
  BASE_LATENCY_MS,
  PASSAGES_PER_PROFILE,
  SERVER_ERROR_RATE,
  RATE_LIMIT_RATE,
  CSAT_MODEL,
  TOPICS,
  CONFIRMATION,
  ESCALATION,
  scenario,
  openingMessage,
} from './simulation.js';
export type { RetrievalProfile, Tone, Topic, Scenario } from './simulation.js';
export { runConversations, systemPrompt, RETRIEVAL_EXPERIMENT, PERSONA_EXPERIMENT } from './support-agent.js';
export type { AgentOptions, AgentSummary, ConversationLogRecord } from './support-agent.js';
export { processTickets, closeTicket, OUTCOME_RESOLVED, OUTCOME_CSAT, SURVEY_RESPONSE_RATE } from './tickets.js';
export type { TicketOutcome, TicketSummary } from './tickets.js';
export { scanTelemetry, armCounts } from './telemetry-files.js';
export type { TelemetryCounts, OutcomeRecord, ArmCounts } from './telemetry-files.js';
export { runDemo, DEMO_ROOT, DEMO_EXPERIMENTS_DIR } from './demo.js';
export type { DemoOptions, DemoResult } from './demo.js';
export { DEFAULT_CONVERSATIONS, DEFAULT_SEED, SIZING } from './sizing.js';
export { demoCommand } from './commands.js';

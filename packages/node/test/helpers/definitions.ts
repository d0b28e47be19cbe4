/** Experiment definitions used across the tests (validated by @abtel/core like any user file). */
export function personaDefinition(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: 'support-persona',
    version: 3,
    owner: 'support-team',
    surface: 'persona',
    unit: 'conversation',
    state: 'running',
    control: 'classic',
    segments: ['plan', 'locale'],
    variations: [
      { key: 'classic', weight: 1, config: { name: 'Sam', tone: 'neutral' } },
      { key: 'warm', weight: 1, config: { name: 'Ava', tone: 'warm and encouraging' } },
    ],
    ...overrides,
  };
}

export function retrievalDefinition(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: 'support-retrieval',
    version: 1,
    owner: 'search-team',
    surface: 'retrieval',
    unit: 'user',
    state: 'running',
    control: 'bm25',
    variations: [
      { key: 'bm25', weight: 1, config: { topK: 5 } },
      { key: 'hybrid', weight: 1, config: { topK: 8 } },
    ],
    ...overrides,
  };
}

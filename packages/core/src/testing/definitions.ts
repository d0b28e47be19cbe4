// Test helper (not exported from the package): a minimal valid definition with overrides.
import { ExperimentDefinition, type ExperimentDefinitionInput } from '../experiment.js';

export function definition(overrides: Partial<ExperimentDefinitionInput> = {}): ExperimentDefinition {
  return ExperimentDefinition.parse({
    key: 'support-persona',
    version: 1,
    owner: 'support-ai',
    surface: 'persona',
    state: 'running',
    variations: [
      { key: 'neutral', weight: 1 },
      { key: 'warm', weight: 1 },
    ],
    control: 'neutral',
    ...overrides,
  });
}

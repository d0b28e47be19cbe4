export { openDataset } from './dataset.js';
export type { Dataset, OpenDatasetOptions, BadLine, ReadProgress, SkippedData } from './dataset.js';
export { armMetricStats, population, health, guardrailWindows, judgeTrend, segmentMix, segmentAttributesSeen, metricStatsSql, excludedUnits } from './stats.js';
export { prepareExperiment } from './prepare.js';
export type { PreparedExperiment } from './prepare.js';
export type { ArmMetricStats, ArmMetricOptions, Population, Health } from './stats.js';
export { defineViews, viewSqlFiles, sqlDirectory } from './views.js';
export { writeSyntheticDataset } from './synthetic.js';
export type {
  SyntheticSpec,
  SyntheticResult,
  SyntheticUnit,
  SyntheticCall,
  SyntheticOutcome,
  SyntheticSegment,
  SyntheticIncident,
} from './synthetic.js';

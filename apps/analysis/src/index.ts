/**
 * @abtel/analysis: DuckDB analysis of collected OTLP files into a versioned report and a decision.
 */
// Inference, decision and report
export { analyze } from './analyze/analyze.js';
export type { AnalyzeOptions, AnalyzeProgress } from './analyze/analyze.js';
export { buildReport, DECISION_DEFAULTS } from './analyze/build.js';
export type {
  BuildReportInputs,
  ReportExperimentInput,
  ArmStatsInput,
  PopulationInput,
  HealthInput,
  GuardrailWindowsInput,
  SegmentInput,
  JudgeTrendInput,
  BadLineInput,
  DecisionOptions,
} from './analyze/inputs.js';
export { decide } from './analyze/decision.js';
export type { Decision, UndecidedReport } from './analyze/decision.js';
export { evaluateGuardrail, isObjective, GUARDRAIL_DEFAULTS } from './analyze/guardrails.js';
export { analyzeCommand, FAIL_ON_CONDITIONS } from './analyze/command.js';
export { progressBar } from './analyze/progress.js';
export type { ProgressSink } from './analyze/progress.js';
export { renderReport, REPORT_FORMATS } from './report/render.js';
export type { ReportFormat } from './report/render.js';
export { renderTable } from './report/table.js';
export { renderMarkdown, MARKDOWN_LIMIT } from './report/markdown.js';
export { renderHtml } from './report/html.js';
export { chartSpecs, renderCharts } from './report/charts.js';
export type { ChartSpec, RenderedChart } from './report/charts.js';
// Data: views, datasets and sufficient statistics
export {
  openDataset,
  armMetricStats,
  population,
  health,
  guardrailWindows,
  judgeTrend,
  segmentMix,
  metricStatsSql,
  excludedUnits,
  prepareExperiment,
  defineViews,
  viewSqlFiles,
  sqlDirectory,
  writeSyntheticDataset,
} from './data/index.js';
export type {
  Dataset,
  OpenDatasetOptions,
  BadLine,
  ReadProgress,
  SkippedData,
  ArmMetricStats,
  ArmMetricOptions,
  PreparedExperiment,
  Population,
  Health,
  SyntheticSpec,
  SyntheticResult,
  SyntheticUnit,
  SyntheticCall,
  SyntheticOutcome,
  SyntheticSegment,
  SyntheticIncident,
} from './data/index.js';

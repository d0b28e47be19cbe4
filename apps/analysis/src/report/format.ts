/**
 * Number formatting shared by the table, Markdown and HTML renderers, so a number reads the same
 * in every format: rates as percentages, rate differences in percentage points, other values with
 * three significant digits.
 */
import type { MetricResult, Report, SegmentResult } from '@abtel/core';
import { SRM_THRESHOLD } from '@abtel/stats';

/**
 * Three significant digits, thousands separators for large values; `—` for null.
 * @example
 * formatNumber(0.123456); // '0.123'
 */
export function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude < 1e-3) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

/**
 * A count with thousands separators.
 * @example
 * formatCount(12345); // '12,345'
 */
export function formatCount(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : Math.round(value).toLocaleString('en-US');
}

/**
 * A share as a percentage.
 * @example
 * formatPercent(0.125, true); // '+12.5%'
 */
export function formatPercent(value: number | null | undefined, signed = false): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const text = `${formatNumber(value * 100)}%`;
  return signed && value > 0 ? `+${text}` : text;
}

/**
 * A p-value: 2 significant digits, `<0.0001` below that. Given the threshold it is compared with
 * (alpha), more digits are shown where two would round onto or across the threshold, so that
 * `p 0.0497` is never printed as `0.05` next to alpha 0.05.
 * @example
 * formatP(0.02371); // '0.024'
 * formatP(0.0497, 0.05); // '0.0497'
 */
export function formatP(value: number | null | undefined, threshold?: number): string {
  return pValueText(value, threshold, '—', () => '<0.0001');
}

/**
 * A p-value for a sentence: 2 significant digits (scientific below 1e-4), more where two would
 * round onto or across `threshold`.
 * @example
 * formatPText(0.0497, 0.05); // '0.0497' (so 'p = 0.0497 < alpha 0.05' reads correctly)
 * formatPText(0.00002); // '2.0e-5'
 */
export function formatPText(value: number | null | undefined, threshold?: number): string {
  return pValueText(value, threshold, 'n/a', (tiny) => tiny.toExponential(1));
}

/**
 * formatP and formatPText, which differ only in the text for a missing p and for p below 1e-4
 * (printed by its digits instead when the threshold itself is that small).
 */
function pValueText(value: number | null | undefined, threshold: number | undefined, missing: string, tiny: (value: number) => string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return missing;
  if (value < 1e-4 && !(threshold !== undefined && threshold <= 1e-4)) return tiny(value);
  return pValueDigits(value, threshold);
}

/** Up to 6 significant digits: the fewest (≥ 2) whose rounding stays on p's side of the threshold. */
function pValueDigits(value: number, threshold: number | undefined): string {
  let digits = 2;
  const rounded = (): number => Number(value.toPrecision(digits));
  const misleading = (): boolean =>
    threshold !== undefined && value !== threshold && (rounded() === threshold || rounded() < threshold !== value < threshold);
  while (digits < 6 && misleading()) digits += 1;
  const number = rounded();
  return number !== 0 && Math.abs(number) < 1e-4 ? number.toExponential(digits - 1) : number.toString();
}

/**
 * The value of one arm: rates of binary metrics as percentages.
 * @example
 * formatMetricValue({ kind: 'binary' }, 0.4); // '40%'
 */
export function formatMetricValue(metric: Pick<MetricResult, 'kind'>, value: number | null): string {
  return metric.kind === 'binary' ? formatPercent(value) : formatNumber(value);
}

/**
 * A difference: percentage points for binary metrics, signed.
 * @example
 * formatDiff({ kind: 'binary' }, 0.05); // '+5 pp'
 */
export function formatDiff(metric: Pick<MetricResult, 'kind'>, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const sign = value > 0 ? '+' : '';
  return metric.kind === 'binary' ? `${sign}${formatNumber(value * 100)} pp` : `${sign}${formatNumber(value)}`;
}

/**
 * `[lo, hi]` of a difference.
 * @example
 * formatInterval({ kind: 'mean' }, [-0.1, 0.3]); // '-0.1 to +0.3'
 */
export function formatInterval(metric: Pick<MetricResult, 'kind'>, interval: readonly [number | null, number | null]): string {
  if (interval[0] === null || interval[1] === null) return '—';
  return `${formatDiff(metric, interval[0])} to ${formatDiff(metric, interval[1])}`;
}

/**
 * `[lo, hi]` of a relative lift.
 * @example
 * formatRelativeInterval([0.01, 0.2]); // '+1% to +20%'
 */
export function formatRelativeInterval(interval: readonly [number | null, number | null]): string {
  if (interval[0] === null || interval[1] === null) return '—';
  return `${formatPercent(interval[0], true)} to ${formatPercent(interval[1], true)}`;
}

/**
 * The metric of a segment breakdown (or of a guardrail chart) as the main table knows it (its
 * kind), so that its numbers read like the metric's own row: rates as percentages, differences signed, in pp for rates. A
 * segment whose metric has no row in the report is read as a mean (plain numbers, signed diffs).
 * @example
 * segmentMetric(report, { metric: 'resolved', variation: 'warm' }); // { kind: 'binary' }
 */
export function segmentMetric(report: Pick<Report, 'comparisons'>, segment: Pick<SegmentResult, 'metric' | 'variation'>): Pick<MetricResult, 'kind'> {
  const same = report.comparisons.find((comparison) => comparison.variation === segment.variation);
  const row = [same, ...report.comparisons].flatMap((comparison) => comparison?.metrics ?? []).find((metric) => metric.name === segment.metric);
  return { kind: row?.kind ?? 'mean' };
}

/**
 * One segment row's numbers, formatted as the main metrics table formats them.
 * @example
 * segmentRowText({ kind: 'binary' }, row, 0.05); // { baseline: '40%', variant: '57.5%', diff: '+17.5 pp', ci: '+5 pp to +30 pp', p: '0.003' }
 */
export function segmentRowText(
  metric: Pick<MetricResult, 'kind'>,
  row: SegmentResult['rows'][number],
  alpha?: number,
): { baseline: string; variant: string; diff: string; ci: string; p: string } {
  return {
    baseline: formatMetricValue(metric, row.baseline.value),
    variant: formatMetricValue(metric, row.variant.value),
    diff: formatDiff(metric, row.absoluteDiff),
    ci: formatInterval(metric, row.ci95),
    p: formatP(row.pValue, alpha),
  };
}

/**
 * A one-word verdict for a metric row: better, worse, or nothing to say.
 * @example
 * verdict({ significant: true, better: false }); // 'worse'
 */
export function verdict(metric: Pick<MetricResult, 'significant' | 'better'>): 'better' | 'worse' | 'flat' {
  if (!metric.significant || metric.better === null) return 'flat';
  return metric.better ? 'better' : 'worse';
}

/**
 * The SRM check's status for a reader. Reports written before `status` existed fall back on
 * `flagged` and a null statistic.
 * @example
 * srmStatus({ statistic: null, df: 1, pValue: null, flagged: false, expected: {}, status: 'not_computed' }); // 'not computed'
 */
export function srmStatus(srm: Report['health']['srm']): 'SRM' | 'ok' | 'skipped' | 'not computed' {
  if (srm.flagged || srm.status === 'mismatch') return 'SRM';
  if (srm.status === 'not_computed' || srm.statistic === null || srm.pValue === null) return 'not computed';
  return srm.status === 'skipped' ? 'skipped' : 'ok';
}

/**
 * The SRM check's value: the test, or why there is none.
 * @example
 * srmValue(srm, 'chi2'); // 'chi2 0.18, df 1, p 0.67' or 'not computed: no exposed units'
 */
export function srmValue(srm: Report['health']['srm'], chi: string): string {
  if (srmStatus(srm) === 'not computed') return `not computed: ${srm.reason ?? 'no exposed units'}`;
  const test = `${chi} ${formatNumber(srm.statistic)}, df ${srm.df}, p ${formatP(srm.pValue, SRM_THRESHOLD)}`;
  return srm.status === 'skipped' && srm.reason ? `${test} (${srm.reason})` : test;
}

/**
 * The freshness check's status for a reader.
 * @example
 * freshnessStatus({ ageMinutes: null, stale: false, status: 'no_data' }); // 'no data'
 */
export function freshnessStatus(freshness: Report['health']['freshness']): 'ok' | 'stale' | 'no data' | 'in the future' {
  if (freshness.status === 'future') return 'in the future';
  if (freshness.status === 'no_data' || freshness.lastEventTime === undefined) return 'no data';
  return freshness.stale ? 'stale' : 'ok';
}

/**
 * The freshness check's value: the newest event and its age.
 * @example
 * freshnessValue({ lastEventTime: '2026-11-20T11:50:00.000Z', ageMinutes: 10, stale: false }); // '2026-11-20T11:50:00.000Z (10 min ago)'
 */
export function freshnessValue(freshness: Report['health']['freshness']): string {
  const status = freshnessStatus(freshness);
  if (status === 'no data') return 'no data';
  if (status === 'in the future') return `${freshness.lastEventTime} (0 min: after the readout time)`;
  return `${freshness.lastEventTime} (${ageText(freshness.ageMinutes ?? 0)})`;
}

/** An age in minutes as people say it: seconds under a minute, minutes under two hours, then hours. */
function ageText(minutes: number): string {
  if (minutes < 1) return `${Math.round(minutes * 60)} s ago`;
  if (minutes < 120) return `${formatNumber(minutes)} min ago`;
  return `${formatNumber(minutes / 60)} h ago`;
}

/**
 * Files left unread, one phrase per reason (in the order the reasons first appear): the first
 * `named` files (with their line count when only some lines were skipped), then how many more.
 * Callers put their own word in front (`not read:`, `skipped`).
 * @example
 * skippedByReason([{ file: 'metrics.jsonl', reason: 'OTLP metrics are not read' }]); // ['metrics.jsonl: OTLP metrics are not read']
 */
export function skippedByReason(items: readonly { file: string; lines?: number; reason: string }[], named = 5): string[] {
  const byReason = new Map<string, (typeof items)[number][]>();
  for (const item of items) byReason.set(item.reason, [...(byReason.get(item.reason) ?? []), item]);
  return [...byReason].map(([reason, files]) => {
    const listed = files.slice(0, named).map((item) => (item.lines !== undefined && item.lines > 0 ? `${item.file} (${item.lines} line(s))` : item.file));
    const more = files.length > named ? ` and ${files.length - named} more` : '';
    return `${listed.join(', ')}${more}: ${reason}`;
  });
}

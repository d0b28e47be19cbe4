/**
 * The terminal rendering of a report: aligned plain-text tables, colour only when asked (the
 * caller passes `colour: true` for a TTY without NO_COLOR).
 */
import type { Report } from '@abtel/core';
import {
  formatCount,
  freshnessStatus,
  freshnessValue,
  formatDiff,
  formatInterval,
  formatMetricValue,
  formatNumber,
  formatP,
  formatPercent,
  formatRelativeInterval,
  segmentMetric,
  segmentRowText,
  srmStatus,
  srmValue,
  verdict,
} from './format.js';

const ANSI = { reset: '\u001b[0m', bold: '\u001b[1m', dim: '\u001b[2m', red: '\u001b[31m', green: '\u001b[32m', yellow: '\u001b[33m' } as const;
type Style = keyof typeof ANSI;

/**
 * Renders the report for a terminal.
 * @example
 * process.stdout.write(renderTable(report, { colour: process.stdout.isTTY === true && !process.env.NO_COLOR }));
 */
export function renderTable(report: Report, options: { colour?: boolean } = {}): string {
  const paint = (text: string, ...styles: Style[]): string =>
    options.colour && styles.length > 0 ? `${styles.map((style) => ANSI[style]).join('')}${text}${ANSI.reset}` : text;
  const out: string[] = [];
  const { experiment, decision } = report;
  out.push(paint(`${experiment.key} v${experiment.version}`, 'bold') + `  state ${experiment.state} · unit ${experiment.unit} · generated ${report.generatedAt}`);
  const decisionColour: Style = decision.recommendation === 'ship' ? 'green' : decision.recommendation === 'rollback' || decision.recommendation === 'pause' ? 'red' : 'yellow';
  out.push('');
  out.push(`Decision: ${paint(decision.recommendation.toUpperCase() + (decision.winner ? ` ${decision.winner}` : ''), 'bold', decisionColour)}`);
  for (const reason of decision.reasons) out.push(`  - ${reason}`);

  out.push('');
  out.push(paint('Population', 'bold'));
  const exposed = Object.entries(report.population.exposed).map(([key, n]) => `${key} ${formatCount(n)}`).join(' · ');
  out.push(`  exposed: ${exposed} (total ${formatCount(report.population.total)}${report.population.plannedUnits ? ` of ${formatCount(report.population.plannedUnits)} planned` : ''})`);
  out.push(`  duplicate exposures ${formatCount(report.population.duplicateExposures)} · never exposed (excluded) ${formatCount(report.population.excluded)} · first ${report.population.firstExposure ?? '—'} · last ${report.population.lastExposure ?? '—'}`);

  const health = report.health;
  const flag = (flagged: boolean, text: string): string => (flagged ? paint(text, 'red') : text);
  /** A check's status: `ok` plain, anything else flagged (as html.ts's `status`). */
  const status = (label: string): string => flag(label !== 'ok', label);
  out.push('');
  out.push(paint('Health', 'bold'));
  out.push(
    table(
      ['check', 'value', 'status'],
      [
        ['sample ratio', srmValue(health.srm, 'chi2'), status(srmStatus(health.srm))],
        ['multiple exposures', `${formatCount(health.multipleExposures.units)} (${formatPercent(health.multipleExposures.share)})`, flag(health.multipleExposures.flagged, health.multipleExposures.flagged ? 'fail' : 'ok')],
        ['assignment audit', `${formatCount(health.assignment.mismatches)} mismatches of ${formatCount(health.assignment.checked)}`, flag(health.assignment.flagged, health.assignment.flagged ? 'fail' : 'ok')],
        ['exposed without gen_ai call', formatCount(health.exposuresWithoutCall), 'info'],
        ['outcomes without exposure', formatCount(health.outcomesWithoutExposure), 'info'],
        ['freshness', freshnessValue(health.freshness), status(freshnessStatus(health.freshness))],
        ['bad lines', formatCount(health.badLines), flag(health.badLines > 0, health.badLines > 0 ? 'gap' : 'ok')],
      ],
    ),
  );

  for (const comparison of report.comparisons) {
    out.push('');
    out.push(paint(`${comparison.variation} vs ${comparison.baseline}`, 'bold'));
    const rows = comparison.metrics.map((metric) => {
      const colour: Style[] = verdict(metric) === 'better' ? ['green'] : verdict(metric) === 'worse' ? ['red'] : [];
      return [
        metric.name,
        metric.role,
        `${formatMetricValue(metric, metric.baseline.value)} (n ${formatCount(metric.baseline.n)})`,
        `${formatMetricValue(metric, metric.variant.value)} (n ${formatCount(metric.variant.n)})`,
        paint(formatDiff(metric, metric.absoluteDiff), ...colour),
        formatInterval(metric, metric.ci95),
        `${formatPercent(metric.relativeLift, true)} (${formatRelativeInterval(metric.relativeCi95)})`,
        formatP(metric.pValue, report.experiment.alpha),
        metric.role === 'primary' ? '—' : `${formatP(metric.pAdjustedBH, report.experiment.alpha)} / ${formatP(metric.pAdjustedHolm, report.experiment.alpha)}`,
        extras(metric, report.experiment.alpha),
      ];
    });
    out.push(table(['metric', 'role', comparison.baseline, comparison.variation, 'diff', '95% CI', 'lift (95% CI)', 'p', 'p BH / Holm', 'more'], rows));
  }

  if (report.guardrails.length > 0) {
    out.push('');
    out.push(paint('Guardrails', 'bold'));
    out.push(
      table(
        ['metric', 'variation', 'threshold', 'windows', 'breached', 'action'],
        report.guardrails.map((guardrail) => [
          guardrail.metric,
          guardrail.variation,
          `${guardrail.direction === 'decrease' ? '+' : '-'}${formatNumber(Math.abs(guardrail.threshold.value))}${guardrail.threshold.relative ? ' rel' : ''} × ${guardrail.consecutiveWindows}`,
          `${guardrail.windows.length} × ${guardrail.windowMinutes} min`,
          formatCount(guardrail.alerts),
          guardrail.actionTriggered ? paint(`${guardrail.action} at ${guardrail.actionWindow}`, 'red') : 'none',
        ]),
      ),
    );
  }

  if (report.segments.length > 0) {
    out.push('');
    out.push(paint('Segments', 'bold'));
    for (const segment of report.segments) {
      const mix = `mix chi2 p ${formatP(segment.mix.pValue)}${segment.mix.flagged ? ' IMBALANCED' : ''}`;
      const simpson = segment.simpson.flagged ? paint(' SIMPSON REVERSAL', 'red') : '';
      out.push(`  ${segment.segment} · ${segment.metric} · ${segment.variation} vs ${segment.baseline} · ${mix}${simpson}`);
      const metric = segmentMetric(report, segment);
      out.push(
        table(
          ['value', segment.baseline, segment.variation, 'diff', '95% CI', 'p'],
          segment.rows.map((row) => {
            const text = segmentRowText(metric, row, report.experiment.alpha);
            return [row.value, `${text.baseline} (n ${formatCount(row.baseline.n)})`, `${text.variant} (n ${formatCount(row.variant.n)})`, text.diff, text.ci, text.p];
          }),
          '    ',
        ),
      );
    }
  }

  if (report.warnings.length > 0) {
    out.push('');
    out.push(paint('Warnings', 'bold', 'yellow'));
    for (const warning of report.warnings) out.push(`  - ${warning}`);
  }
  if (report.badLines.count > 0) {
    out.push('');
    out.push(paint(`Unreadable lines: ${formatCount(report.badLines.count)}`, 'bold', 'red'));
    for (const line of report.badLines.samples) out.push(`  ${line.file}:${line.line} ${line.reason}`);
  }
  return `${out.join('\n')}\n`;
}

function extras(metric: Report['comparisons'][number]['metrics'][number], alpha: number): string {
  const parts: string[] = [];
  if (metric.cuped) parts.push(`CUPED ${formatNumber(metric.cuped.absoluteDiff)} p ${formatP(metric.cuped.pValue, alpha)} (−${formatPercent(metric.cuped.varianceReduction)} var)`);
  if (metric.bayes) parts.push(`P(beat) ${formatPercent(metric.bayes.chanceToBeat)}`);
  if (metric.sequential) {
    const always = metric.sequential.alwaysValidCi95;
    parts.push(`look ${metric.sequential.currentLook}/${metric.sequential.looks.length} ${metric.sequential.status}${always ? `, always-valid CI ${formatInterval(metric, always)}` : ''}`);
  }
  if (metric.interval) parts.push(`${metric.interval} interval`);
  if (metric.note) parts.push(metric.note);
  return parts.join('; ');
}

/** Width of a cell without ANSI escapes. */
function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').length;
}

function table(header: string[], rows: string[][], indent = '  '): string {
  const widths = header.map((cell, i) => Math.max(visibleLength(cell), ...rows.map((row) => visibleLength(row[i] ?? ''))));
  const line = (cells: string[]): string =>
    indent + cells.map((cell, i) => cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell)))).join('  ').trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

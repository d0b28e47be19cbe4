/**
 * Markdown rendering sized for a pull-request comment: the decision first, one table per
 * comparison, guardrails and segments only where they say something, details folded.
 */
import type { Report } from '@abtel/core';
import { SRM_THRESHOLD } from '@abtel/stats';
import {
  formatCount,
  freshnessStatus,
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

/** GitHub rejects comments over 65,536 characters; stay well below. */
export const MARKDOWN_LIMIT = 60_000;

/**
 * Renders the report as GitHub-flavoured Markdown.
 * @example
 * await writeFile('report.md', renderMarkdown(report));
 */
export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  const { experiment, decision } = report;
  out.push(`### abtel · ${experiment.key} v${experiment.version}: **${decision.recommendation.toUpperCase()}**${decision.winner ? ` \`${decision.winner}\`` : ''}`);
  out.push('');
  for (const reason of decision.reasons) out.push(`- ${escape(reason)}`);
  out.push('');
  const exposed = Object.entries(report.population.exposed).map(([key, n]) => `\`${key}\` ${formatCount(n)}`).join(' · ');
  const health = report.health;
  out.push(
    `Exposed: ${exposed} (total ${formatCount(report.population.total)}${report.population.plannedUnits ? ` of ${formatCount(report.population.plannedUnits)} planned` : ''}) · ` +
      `${srmText(health.srm)} · bad lines ${formatCount(health.badLines)}${health.badLines > 0 ? ' ⚠️' : ''} · ` +
      `${freshnessText(health.freshness)}`,
  );
  const failing = [
    health.multipleExposures.flagged && `${formatCount(health.multipleExposures.units)} units exposed to several variations`,
    health.assignment.flagged && `${formatCount(health.assignment.mismatches)} of ${formatCount(health.assignment.checked)} units in a variation the definition does not assign`,
  ].filter((item): item is string => typeof item === 'string');
  if (failing.length > 0) out.push('', `⚠️ Health: ${failing.join('; ')}.`);

  for (const comparison of report.comparisons) {
    out.push('');
    out.push(`#### \`${comparison.variation}\` vs \`${comparison.baseline}\``);
    out.push('');
    out.push(`| metric | role | ${comparison.baseline} | ${comparison.variation} | diff (95% CI) | lift (95% CI) | p | p BH / Holm | |`);
    out.push('|---|---|--:|--:|--:|--:|--:|--:|---|');
    for (const metric of comparison.metrics) {
      const mark = verdict(metric) === 'better' ? '✅' : verdict(metric) === 'worse' ? '❌' : '';
      const extra: string[] = [];
      if (metric.cuped) extra.push(`CUPED ${formatNumber(metric.cuped.absoluteDiff)} (p ${formatP(metric.cuped.pValue, report.experiment.alpha)})`);
      if (metric.bayes) extra.push(`P(beat) ${formatPercent(metric.bayes.chanceToBeat)}`);
      if (metric.sequential) extra.push(`look ${metric.sequential.currentLook}/${metric.sequential.looks.length}: ${metric.sequential.status}`);
      if (metric.interval) extra.push(`${metric.interval} interval`);
      if (metric.note) extra.push(metric.note);
      out.push(
        `| ${metric.name} | ${metric.role} | ${formatMetricValue(metric, metric.baseline.value)} | ${formatMetricValue(metric, metric.variant.value)} | ` +
          `${formatDiff(metric, metric.absoluteDiff)} (${formatInterval(metric, metric.ci95)}) | ${formatPercent(metric.relativeLift, true)} (${formatRelativeInterval(metric.relativeCi95)}) | ` +
          `${formatP(metric.pValue, report.experiment.alpha)} | ${metric.role === 'primary' ? '—' : `${formatP(metric.pAdjustedBH, report.experiment.alpha)} / ${formatP(metric.pAdjustedHolm, report.experiment.alpha)}`} | ${mark} ${escape(extra.join('; '))} |`,
      );
    }
  }

  const fired = report.guardrails.filter((guardrail) => guardrail.alerts > 0);
  if (report.guardrails.length > 0) {
    out.push('');
    out.push(`#### Guardrails`);
    out.push('');
    if (fired.length === 0) out.push(`No guardrail breached in ${report.guardrails.length} guardrail × variation series.`);
    else {
      out.push('| metric | variation | breached windows | action |');
      out.push('|---|---|--:|---|');
      for (const guardrail of fired) {
        out.push(`| ${guardrail.metric} | ${guardrail.variation} | ${guardrail.alerts} of ${guardrail.windows.length} | ${guardrail.actionTriggered ? `**${guardrail.action}** at ${guardrail.actionWindow}` : `none (needs ${guardrail.consecutiveWindows} in a row)`} |`);
      }
    }
  }

  const notable = report.segments.filter((segment) => segment.simpson.flagged || segment.mix.flagged);
  if (notable.length > 0) {
    out.push('');
    out.push('#### Segments');
    out.push('');
    for (const segment of notable) {
      if (segment.simpson.flagged) out.push(`- ⚠️ Simpson reversal: ${segment.segment} in \`${segment.variation}\`: ${escape(segment.simpson.note ?? '')}`);
      if (segment.mix.flagged) out.push(`- ⚠️ segment mix of ${segment.segment} differs between arms (p ${formatP(segment.mix.pValue)})`);
    }
    // The rows behind each flag, so a reviewer can see the reversal or the imbalance in numbers.
    for (const segment of notable) {
      const metric = segmentMetric(report, segment);
      out.push('');
      out.push(`| ${escape(segment.segment)} (${escape(segment.metric)}) | ${segment.baseline} | ${segment.variation} | diff (95% CI) | p |`);
      out.push('|---|--:|--:|--:|--:|');
      for (const row of segment.rows) {
        const text = segmentRowText(metric, row, report.experiment.alpha);
        out.push(`| ${escape(row.value)} | ${text.baseline} (n ${formatCount(row.baseline.n)}) | ${text.variant} (n ${formatCount(row.variant.n)}) | ${text.diff} (${text.ci}) | ${text.p} |`);
      }
    }
  }

  if (report.warnings.length > 0 || report.badLines.count > 0) {
    out.push('');
    out.push(`<details><summary>${report.warnings.length} warning(s), ${formatCount(report.badLines.count)} unreadable line(s)</summary>`);
    out.push('');
    for (const warning of report.warnings) out.push(`- ${escape(warning)}`);
    for (const line of report.badLines.samples) out.push(`- \`${line.file}:${line.line}\` ${escape(line.reason)}`);
    out.push('');
    out.push('</details>');
  }
  out.push('');
  out.push(`<sub>abtel report schema v${report.schemaVersion} · generated ${report.generatedAt}</sub>`);
  let text = `${out.join('\n')}\n`;
  if (text.length > MARKDOWN_LIMIT) {
    text = `${text.slice(0, MARKDOWN_LIMIT - 200)}\n\n… truncated to fit a comment; see the JSON or HTML report for everything.\n`;
  }
  return text;
}

function srmText(srm: Report['health']['srm']): string {
  const status = srmStatus(srm);
  if (status === 'not computed') return `SRM ⚠️ ${srmValue(srm, 'chi²')}`;
  return `SRM p ${formatP(srm.pValue, SRM_THRESHOLD)}${status === 'SRM' ? ' ⚠️' : status === 'skipped' ? ` (skipped: ${srm.reason ?? 'too few units'})` : ''}`;
}

function freshnessText(freshness: Report['health']['freshness']): string {
  const status = freshnessStatus(freshness);
  if (status === 'no data') return 'newest event: ⚠️ no data';
  if (status === 'in the future') return `newest event ${freshness.lastEventTime} ⚠️ after the readout time`;
  return `newest event ${freshness.lastEventTime}${status === 'stale' ? ' ⚠️ stale' : ''}`;
}

/** Keeps table cells intact: pipes and newlines would break the row. */
function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}


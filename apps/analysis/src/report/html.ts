/**
 * The HTML report: ONE self-contained file. Styles are inline, charts are inline SVG rendered in
 * Node, there is no executable script and no external URL, so it opens offline, in a mail attachment, or as a
 * CI artefact. The full JSON report is embedded too (`<script type="application/json">`, which a
 * browser never executes) so the numbers travel with the pictures.
 */
import type { Report } from '@abtel/core';
import { renderCharts } from './charts.js';
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
  srmStatus,
  srmValue,
  verdict,
} from './format.js';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1320px;padding:0 1rem;color:#222}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#666}.decision{padding:.8rem 1rem;border-radius:6px;margin:1rem 0;background:#f4f4f4}
.decision.ship{background:#e6f5e9}.decision.rollback,.decision.pause{background:#fbe9e7}.decision.inconclusive,.decision.continue{background:#fff8e1}
.decision strong{font-size:1.2rem;text-transform:uppercase}
table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}th,td{padding:.25rem .6rem;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child,td.text,th.text{text-align:left}td{white-space:nowrap}td.text{white-space:normal;min-width:16rem}.better{color:#17702a;font-weight:600}.worse{color:#b3261e;font-weight:600}
.flag{color:#b3261e;font-weight:600}figure{margin:1rem 0}figcaption{color:#555;margin-bottom:.3rem}
`;

/**
 * Renders the report as a self-contained HTML document.
 * @example
 * await writeFile('report.html', await renderHtml(report));
 */
export async function renderHtml(report: Report): Promise<string> {
  const charts = await renderCharts(report);
  const { experiment, decision, health } = report;
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8">`);
  parts.push(`<meta name="viewport" content="width=device-width,initial-scale=1">`);
  // No network: forbid every fetch the document could make, even by accident.
  parts.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
  parts.push(`<title>${esc(`${experiment.key} v${experiment.version}: ${decision.recommendation}`)}</title><style>${STYLE}</style></head><body>`);
  parts.push(`<h1>${esc(experiment.key)} v${experiment.version}</h1>`);
  parts.push(`<div class="meta">${esc(experiment.description ?? '')} · state ${esc(experiment.state)} · unit ${esc(experiment.unit)} · generated ${esc(report.generatedAt)} · report schema v${report.schemaVersion}</div>`);
  parts.push(`<div class="decision ${decision.recommendation}" id="decision"><strong>${decision.recommendation}</strong>${decision.winner ? ` <code>${esc(decision.winner)}</code>` : ''}<ul>${decision.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul></div>`);

  parts.push(`<h2>Population and health</h2>`);
  parts.push(
    tableHtml(
      ['', ...Object.keys(report.population.exposed)],
      [['exposed units', ...Object.values(report.population.exposed).map((n) => formatCount(n))], ['expected (planned weights)', ...Object.keys(report.population.exposed).map((k) => formatNumber(health.srm.expected[k] ?? null))]],
    ),
  );
  parts.push(
    tableHtml(
      ['check', 'value', 'status'],
      [
        ['sample ratio mismatch', esc(srmValue(health.srm, 'χ²')), status(srmStatus(health.srm))],
        ['multiple exposures', `${formatCount(health.multipleExposures.units)} (${formatPercent(health.multipleExposures.share)})`, flag(health.multipleExposures.flagged, 'fail')],
        ['assignment audit', `${formatCount(health.assignment.mismatches)} of ${formatCount(health.assignment.checked)}`, flag(health.assignment.flagged, 'fail')],
        ['duplicate exposure events', formatCount(report.population.duplicateExposures), 'info'],
        ['never exposed (excluded)', formatCount(report.population.excluded), 'info'],
        ['exposed without gen_ai call', formatCount(health.exposuresWithoutCall), 'info'],
        ['outcomes without exposure', formatCount(health.outcomesWithoutExposure), 'info'],
        ['newest event', esc(freshnessValue(health.freshness)), status(freshnessStatus(health.freshness))],
        ['unreadable lines', formatCount(health.badLines), flag(health.badLines > 0, 'gap')],
      ],
      true,
    ),
  );

  for (const comparison of report.comparisons) {
    parts.push(`<h2>${esc(comparison.variation)} vs ${esc(comparison.baseline)}</h2>`);
    parts.push(
      tableHtml(
        ['metric', 'role', esc(comparison.baseline), esc(comparison.variation), 'difference', '95% CI', 'lift', 'lift 95% CI', 'p', 'p BH', 'p Holm', 'notes'],
        comparison.metrics.map((metric) => {
          const cls = verdict(metric);
          const notes: string[] = [];
          if (metric.cuped) notes.push(`CUPED ${formatNumber(metric.cuped.absoluteDiff)} (${formatNumber(metric.cuped.ci95[0])} to ${formatNumber(metric.cuped.ci95[1])}), p ${formatP(metric.cuped.pValue, report.experiment.alpha)}, θ ${formatNumber(metric.cuped.theta)}, variance −${formatPercent(metric.cuped.varianceReduction)}`);
          if (metric.bayes) notes.push(`chance to beat ${formatPercent(metric.bayes.chanceToBeat)}, expected loss ${formatNumber(metric.bayes.expectedLoss)}`);
          if (metric.sequential) notes.push(`look ${metric.sequential.currentLook}/${metric.sequential.looks.length} (information ${formatPercent(metric.sequential.informationFraction)}), |z| ${formatNumber(metric.sequential.z === null ? null : Math.abs(metric.sequential.z))} vs ${formatNumber(metric.sequential.boundaryZ)}: ${metric.sequential.status}${metric.sequential.alwaysValidCi95 ? `; always-valid 95% CI ${formatInterval(metric, metric.sequential.alwaysValidCi95)}` : ''}`);
          if (metric.interval) notes.push(`${metric.interval} interval`);
          if (metric.note) notes.push(metric.note);
          return [
            esc(metric.name),
            metric.role,
            `${formatMetricValue(metric, metric.baseline.value)} <small>n ${formatCount(metric.baseline.n)}</small>`,
            `${formatMetricValue(metric, metric.variant.value)} <small>n ${formatCount(metric.variant.n)}</small>`,
            `<span class="${cls}">${formatDiff(metric, metric.absoluteDiff)}</span>`,
            formatInterval(metric, metric.ci95),
            formatPercent(metric.relativeLift, true),
            formatRelativeInterval(metric.relativeCi95),
            formatP(metric.pValue, report.experiment.alpha),
            metric.role === 'primary' ? '—' : formatP(metric.pAdjustedBH, report.experiment.alpha),
            metric.role === 'primary' ? '—' : formatP(metric.pAdjustedHolm, report.experiment.alpha),
            esc(notes.join('; ')),
          ];
        }),
        'last',
      ),
    );
  }

  if (charts.length > 0) {
    parts.push(`<h2>Charts</h2>`);
    for (const chart of charts) {
      parts.push(`<figure class="chart" data-chart="${esc(chart.id)}"><figcaption>${esc(chart.title)}</figcaption>${chart.svg}</figure>`);
    }
  }

  if (report.guardrails.length > 0) {
    parts.push(`<h2>Guardrails</h2>`);
    parts.push(
      tableHtml(
        ['metric', 'variation', 'threshold', 'windows', 'breached', 'action'],
        report.guardrails.map((g) => [
          esc(g.metric),
          esc(g.variation),
          `${g.direction === 'decrease' ? '+' : '−'}${formatNumber(Math.abs(g.threshold.value))}${g.threshold.relative ? ' (relative)' : ''} for ${g.consecutiveWindows} window(s)`,
          `${g.windows.length} × ${g.windowMinutes} min`,
          formatCount(g.alerts),
          g.actionTriggered ? `<span class="flag">${g.action} at ${esc(g.actionWindow ?? '')}</span>` : 'none',
        ]),
      ),
    );
  }

  if (report.segments.length > 0) {
    parts.push(`<h2>Segments</h2>`);
    for (const segment of report.segments) {
      parts.push(
        `<p><strong>${esc(segment.segment)}</strong> · ${esc(segment.metric)} · ${esc(segment.variation)} vs ${esc(segment.baseline)} · mix χ² p ${formatP(segment.mix.pValue)} ${segment.mix.flagged ? '<span class="flag">imbalanced</span>' : ''} ${segment.simpson.flagged ? `<span class="flag">Simpson reversal</span>: ${esc(segment.simpson.note ?? '')}` : ''}</p>`,
      );
      parts.push(
        tableHtml(
          ['value', esc(segment.baseline), esc(segment.variation), 'difference', '95% CI', 'p'],
          segment.rows.map((row) => [
            esc(row.value),
            `${formatNumber(row.baseline.value)} <small>n ${formatCount(row.baseline.n)}</small>`,
            `${formatNumber(row.variant.value)} <small>n ${formatCount(row.variant.n)}</small>`,
            formatNumber(row.absoluteDiff),
            row.ci95[0] === null ? '—' : `${formatNumber(row.ci95[0])} to ${formatNumber(row.ci95[1])}`,
            formatP(row.pValue, report.experiment.alpha),
          ]),
        ),
      );
    }
  }

  if (report.warnings.length > 0 || report.badLines.count > 0) {
    parts.push(`<h2>Warnings</h2><ul>`);
    for (const warning of report.warnings) parts.push(`<li>${esc(warning)}</li>`);
    for (const line of report.badLines.samples) parts.push(`<li><code>${esc(line.file)}:${line.line}</code> ${esc(line.reason)}</li>`);
    parts.push(`</ul>`);
  }
  // `<` is escaped so that no string inside the JSON can close the script element.
  parts.push(`<script type="application/json" id="abtel-report">${JSON.stringify(report).replace(/</g, '\\u003c')}</script>`);
  parts.push(`</body></html>\n`);
  return parts.join('\n');
}

function tableHtml(header: string[], rows: string[][], textColumns: boolean | 'last' = false): string {
  const head = `<tr>${header.map((cell) => `<th>${cell}</th>`).join('')}</tr>`;
  const isText = (i: number, length: number): boolean => (textColumns === 'last' ? i === length - 1 : textColumns && i > 0);
  const body = rows.map((row) => `<tr>${row.map((cell, i) => `<td${isText(i, row.length) ? ' class="text"' : ''}>${cell}</td>`).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

/** A check's status: `ok` plain, anything else flagged. */
function status(label: string): string {
  return flag(label !== 'ok', esc(label));
}

function flag(flagged: boolean, label: string): string {
  return flagged ? `<span class="flag">${label}</span>` : 'ok';
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

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
  segmentMetric,
  segmentRowText,
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
  const alpha = experiment.alpha;
  const parts: Html[] = [];
  parts.push(html`<!doctype html><html lang="en"><head><meta charset="utf-8">`);
  parts.push(html`<meta name="viewport" content="width=device-width,initial-scale=1">`);
  // No network: forbid every fetch the document could make, even by accident.
  parts.push(html`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
  parts.push(html`<title>${experiment.key} v${experiment.version}: ${decision.recommendation}</title><style>${trusted(STYLE)}</style></head><body>`);
  parts.push(html`<h1>${experiment.key} v${experiment.version}</h1>`);
  parts.push(html`<div class="meta">${experiment.description ?? ''} · state ${experiment.state} · unit ${experiment.unit} · generated ${report.generatedAt} · report schema v${report.schemaVersion}</div>`);
  parts.push(
    html`<div class="decision ${decision.recommendation}" id="decision"><strong>${decision.recommendation}</strong>${decision.winner ? html` <code>${decision.winner}</code>` : ''}<ul>${join(decision.reasons.map((reason) => html`<li>${reason}</li>`))}</ul></div>`,
  );

  parts.push(html`<h2>Population and health</h2>`);
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
        ['sample ratio mismatch', srmValue(health.srm, 'χ²'), status(srmStatus(health.srm))],
        ['multiple exposures', `${formatCount(health.multipleExposures.units)} (${formatPercent(health.multipleExposures.share)})`, flag(health.multipleExposures.flagged, 'fail')],
        ['assignment audit', `${formatCount(health.assignment.mismatches)} of ${formatCount(health.assignment.checked)}`, flag(health.assignment.flagged, 'fail')],
        ['duplicate exposure events', formatCount(report.population.duplicateExposures), 'info'],
        ['never exposed (excluded)', formatCount(report.population.excluded), 'info'],
        ['exposed without gen_ai call', formatCount(health.exposuresWithoutCall), 'info'],
        ['outcomes without exposure', formatCount(health.outcomesWithoutExposure), 'info'],
        ['newest event', freshnessValue(health.freshness), status(freshnessStatus(health.freshness))],
        ['unreadable lines', formatCount(health.badLines), flag(health.badLines > 0, 'gap')],
      ],
      true,
    ),
  );

  for (const comparison of report.comparisons) {
    parts.push(html`<h2>${comparison.variation} vs ${comparison.baseline}</h2>`);
    parts.push(
      tableHtml(
        ['metric', 'role', comparison.baseline, comparison.variation, 'difference', '95% CI', 'lift', 'lift 95% CI', 'p', 'p BH', 'p Holm', 'notes'],
        comparison.metrics.map((metric) => {
          const notes: string[] = [];
          if (metric.cuped) notes.push(`CUPED ${formatNumber(metric.cuped.absoluteDiff)} (${formatNumber(metric.cuped.ci95[0])} to ${formatNumber(metric.cuped.ci95[1])}), p ${formatP(metric.cuped.pValue, alpha)}, θ ${formatNumber(metric.cuped.theta)}, variance −${formatPercent(metric.cuped.varianceReduction)}`);
          if (metric.bayes) notes.push(`chance to beat ${formatPercent(metric.bayes.chanceToBeat)}, expected loss ${formatNumber(metric.bayes.expectedLoss)}`);
          if (metric.sequential) notes.push(`look ${metric.sequential.currentLook}/${metric.sequential.looks.length} (information ${formatPercent(metric.sequential.informationFraction)}), |z| ${formatNumber(metric.sequential.z === null ? null : Math.abs(metric.sequential.z))} vs ${formatNumber(metric.sequential.boundaryZ)}: ${metric.sequential.status}${metric.sequential.alwaysValidCi95 ? `; always-valid 95% CI ${formatInterval(metric, metric.sequential.alwaysValidCi95)}` : ''}`);
          if (metric.interval) notes.push(`${metric.interval} interval`);
          if (metric.note) notes.push(metric.note);
          return [
            metric.name,
            metric.role,
            html`${formatMetricValue(metric, metric.baseline.value)} <small>n ${formatCount(metric.baseline.n)}</small>`,
            html`${formatMetricValue(metric, metric.variant.value)} <small>n ${formatCount(metric.variant.n)}</small>`,
            html`<span class="${verdict(metric)}">${formatDiff(metric, metric.absoluteDiff)}</span>`,
            formatInterval(metric, metric.ci95),
            formatPercent(metric.relativeLift, true),
            formatRelativeInterval(metric.relativeCi95),
            formatP(metric.pValue, alpha),
            metric.role === 'primary' ? '—' : formatP(metric.pAdjustedBH, alpha),
            metric.role === 'primary' ? '—' : formatP(metric.pAdjustedHolm, alpha),
            notes.join('; '),
          ];
        }),
        'last',
      ),
    );
  }

  if (charts.length > 0) {
    parts.push(html`<h2>Charts</h2>`);
    for (const chart of charts) {
      // The SVG is vega's own output, which escapes the text it draws.
      parts.push(html`<figure class="chart" data-chart="${chart.id}"><figcaption>${chart.title}</figcaption>${trusted(chart.svg)}</figure>`);
    }
  }

  if (report.guardrails.length > 0) {
    parts.push(html`<h2>Guardrails</h2>`);
    parts.push(
      tableHtml(
        ['metric', 'variation', 'threshold', 'windows', 'breached', 'action'],
        report.guardrails.map((g) => [
          g.metric,
          g.variation,
          `${g.direction === 'decrease' ? '+' : '−'}${formatNumber(Math.abs(g.threshold.value))}${g.threshold.relative ? ' (relative)' : ''} for ${g.consecutiveWindows} window(s)`,
          `${g.windows.length} × ${g.windowMinutes} min`,
          formatCount(g.alerts),
          g.actionTriggered ? html`<span class="flag">${g.action} at ${g.actionWindow ?? ''}</span>` : 'none',
        ]),
      ),
    );
  }

  if (report.segments.length > 0) {
    parts.push(html`<h2>Segments</h2>`);
    for (const segment of report.segments) {
      parts.push(
        html`<p><strong>${segment.segment}</strong> · ${segment.metric} · ${segment.variation} vs ${segment.baseline} · mix χ² p ${formatP(segment.mix.pValue)} ${segment.mix.flagged ? html`<span class="flag">imbalanced</span>` : ''} ${segment.simpson.flagged ? html`<span class="flag">Simpson reversal</span>: ${segment.simpson.note ?? ''}` : ''}</p>`,
      );
      const metric = segmentMetric(report, segment);
      parts.push(
        tableHtml(
          ['value', segment.baseline, segment.variation, 'difference', '95% CI', 'p'],
          segment.rows.map((row) => {
            const text = segmentRowText(metric, row, alpha);
            return [
              row.value,
              html`${text.baseline} <small>n ${formatCount(row.baseline.n)}</small>`,
              html`${text.variant} <small>n ${formatCount(row.variant.n)}</small>`,
              text.diff,
              text.ci,
              text.p,
            ];
          }),
        ),
      );
    }
  }

  if (report.warnings.length > 0 || report.badLines.count > 0) {
    parts.push(html`<h2>Warnings</h2><ul>`);
    for (const warning of report.warnings) parts.push(html`<li>${warning}</li>`);
    for (const line of report.badLines.samples) parts.push(html`<li><code>${line.file}:${line.line}</code> ${line.reason}</li>`);
    parts.push(html`</ul>`);
  }
  // `<` is escaped so that no string inside the JSON can close the script element.
  parts.push(html`<script type="application/json" id="abtel-report">${trusted(JSON.stringify(report).replace(/</g, '\\u003c'))}</script>`);
  parts.push(html`</body></html>\n`);
  return parts.map((part) => part.markup).join('\n');
}

/**
 * Markup that is safe to insert as it is. Only `html` and `trusted` make one, so any plain string
 * that reaches the document goes through `escapeHtml` first.
 */
class Html {
  constructor(readonly markup: string) {}
}

/** Text or finished markup: a table cell, or a value inside an `html` template. */
type Content = string | number | Html;

/** A template of literal markup whose interpolated values are escaped unless they are markup. */
function html(literals: TemplateStringsArray, ...values: Content[]): Html {
  return new Html(literals.reduce((out, literal, i) => out + content(values[i - 1] ?? '') + literal));
}

/** Markup produced by code that escapes its own text (vega's SVG, the embedded JSON, the style sheet). */
function trusted(markup: string): Html {
  return new Html(markup);
}

function content(value: Content): string {
  return value instanceof Html ? value.markup : escapeHtml(String(value));
}

function join(items: readonly Html[]): Html {
  return new Html(items.map((item) => item.markup).join(''));
}

function tableHtml(header: Content[], rows: Content[][], textColumns: boolean | 'last' = false): Html {
  const head = html`<tr>${join(header.map((cell) => html`<th>${cell}</th>`))}</tr>`;
  const isText = (i: number, length: number): boolean => (textColumns === 'last' ? i === length - 1 : textColumns && i > 0);
  const body = join(rows.map((row) => html`<tr>${join(row.map((cell, i) => (isText(i, row.length) ? html`<td class="text">${cell}</td>` : html`<td>${cell}</td>`)))}</tr>`));
  return html`<table>${head}${body}</table>`;
}

/** A check's status: `ok` plain, anything else flagged. */
function status(label: string): Content {
  return flag(label !== 'ok', label);
}

function flag(flagged: boolean, label: string): Content {
  return flagged ? html`<span class="flag">${label}</span>` : 'ok';
}

/**
 * Text as HTML: safe inside an element and inside a double- or single-quoted attribute.
 * @example
 * escapeHtml('<0.0001'); // '&lt;0.0001'
 */
function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

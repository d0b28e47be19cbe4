/**
 * The report's charts as vega-lite specs, rendered to SVG strings in Node (vega with renderer
 * 'none'), so the HTML report embeds finished SVG and needs neither a script nor the network to
 * open.
 */
import type { Report } from '@abtel/core';
import { formatDiff, formatInterval, formatNumber, formatPercent, formatRelativeInterval, segmentMetric } from './format.js';

/** A chart ready to embed. */
export interface RenderedChart {
  /** Stable id: `lift`, `exposures`, `guardrail-<metric>`, `judge-<name>`. */
  readonly id: string;
  readonly title: string;
  readonly svg: string;
}

/** A vega-lite spec with its id and title, before rendering. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly spec: Record<string, unknown>;
}

const WIDTH = 560;

/** What the lift chart says about a point or interval, in this order, each formatted as the tables do. */
const LIFT_TOOLTIP = [
  { field: 'metric', title: 'metric' },
  { field: 'variation', title: 'variation' },
  { field: 'liftText', title: 'relative lift' },
  { field: 'liftCi', title: 'relative lift 95% CI' },
  { field: 'diffText', title: 'difference' },
  { field: 'diffCi', title: 'difference 95% CI' },
] as const;

/**
 * The vega-lite specs of every chart the report has data for: lift with intervals per metric,
 * cumulative exposures per arm, each guardrail's windows against its threshold, and each judge
 * score's trend per arm.
 * @example
 * const specs = chartSpecs(report); // [{ id: 'lift', title: '…', spec: { mark: … } }, …]
 */
export function chartSpecs(report: Report): ChartSpec[] {
  const specs: ChartSpec[] = [];
  // One colour per variation across every chart.
  const colour = { field: 'variation', type: 'nominal', title: 'variation', scale: { domain: report.experiment.variations.map((v) => v.key) } };

  const lift = report.comparisons.flatMap((comparison) =>
    comparison.metrics
      .filter((metric) => metric.relativeLift !== null)
      .map((metric) => {
        const text = {
          metric: `${metric.name} (${metric.role})`,
          variation: comparison.variation,
          liftText: formatPercent(metric.relativeLift, true),
          liftCi: formatRelativeInterval(metric.relativeCi95),
          diffText: formatDiff(metric, metric.absoluteDiff),
          diffCi: formatInterval(metric, metric.ci95),
        };
        return {
          ...text,
          lift: metric.relativeLift,
          lo: metric.relativeCi95[0] ?? metric.relativeLift,
          hi: metric.relativeCi95[1] ?? metric.relativeLift,
          description: LIFT_TOOLTIP.map(({ field, title }) => `${title}: ${text[field]}`).join('; '),
        };
      }),
  );
  const armEncoding = {
    y: { field: 'metric', type: 'nominal', title: null },
    yOffset: { field: 'variation', type: 'nominal' },
    color: colour,
    // Preformatted text, as in the tables: left to vega, the interval's rule would describe its
    // lower bound as the lift (its x field) and print the bounds as raw floats.
    tooltip: LIFT_TOOLTIP.map(({ field, title }) => ({ field, title, type: 'nominal' })),
    description: { field: 'description', type: 'nominal' },
  };
  if (lift.length > 0) {
    specs.push({
      id: 'lift',
      title: `Relative lift vs ${report.experiment.control} with 95% intervals`,
      spec: {
        width: WIDTH,
        data: { values: lift },
        layer: [
          {
            mark: { type: 'rule', strokeWidth: 2 },
            encoding: { ...armEncoding, x: { field: 'lo', type: 'quantitative', title: 'relative lift', axis: { format: '+.0%' } }, x2: { field: 'hi' } },
          },
          { mark: { type: 'point', filled: true, size: 60 }, encoding: { ...armEncoding, x: { field: 'lift', type: 'quantitative' } } },
          { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#666', aria: false }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
        ],
      },
    });
  }

  if (report.population.timeline.length > 0) {
    specs.push({
      id: 'exposures',
      title: 'Cumulative exposed units per arm',
      spec: {
        width: WIDTH,
        height: 220,
        data: { values: report.population.timeline },
        mark: { type: 'line', point: report.population.timeline.length < 60 },
        encoding: {
          x: utcTimeAxis('bucket', 'time', report.population.timeline.map((point) => point.bucket)),
          y: { field: 'cumulative', type: 'quantitative', title: 'exposed units' },
          color: colour,
        },
      },
    });
  }

  const byMetric = new Map<string, Report['guardrails']>();
  for (const guardrail of report.guardrails) byMetric.set(guardrail.metric, [...(byMetric.get(guardrail.metric) ?? []), guardrail]);
  for (const [metric, guardrails] of byMetric) {
    const first = guardrails[0]!;
    const kind = segmentMetric(report, { metric, variation: first.variation });
    const limit = first.direction === 'decrease' ? Math.abs(first.threshold.value) : -Math.abs(first.threshold.value);
    // A relative threshold is a share of the control's value; an absolute one reads like the tables' differences.
    const formatCompared = (value: number | null): string => (first.threshold.relative ? formatPercent(value, true) : formatDiff(kind, value));
    const points = guardrails.flatMap((guardrail) =>
      guardrail.windows
        .filter((window) => window.compared !== null)
        .map((window) => ({
          window: window.windowStart,
          variation: guardrail.variation,
          compared: window.compared,
          breached: window.breached,
          description:
            `${metric} in ${guardrail.variation}, window from ${utcMinute(window.windowStart)}: ${formatCompared(window.compared)} vs ${first.baseline} ` +
            `(n ${window.variant.n} vs ${window.baseline.n})${window.breached ? ', beyond the threshold' : ''}`,
        })),
    );
    if (points.length === 0) continue;
    const x = utcTimeAxis('window', 'window start', points.map((point) => point.window));
    specs.push({
      id: `guardrail-${metric}`,
      title: `Guardrail ${metric}: ${first.threshold.relative ? 'relative ' : ''}difference vs ${first.baseline} per ${first.windowMinutes}-minute window (threshold ${formatCompared(limit)})`,
      spec: {
        width: WIDTH,
        height: 200,
        layer: [
          {
            data: { values: points },
            mark: { type: 'line', point: true },
            encoding: {
              x,
              y: { field: 'compared', type: 'quantitative', ...guardrailAxis(first.threshold.relative, kind.kind) },
              color: colour,
              tooltip: { field: 'description', type: 'nominal' },
              description: { field: 'description', type: 'nominal' },
            },
          },
          {
            data: { values: points.filter((point) => point.breached) },
            mark: { type: 'point', shape: 'triangle-up', size: 120, color: '#c00', filled: true },
            encoding: {
              x,
              y: { field: 'compared', type: 'quantitative' },
              tooltip: { field: 'description', type: 'nominal' },
              description: { field: 'description', type: 'nominal' },
            },
          },
          {
            data: { values: [{ threshold: limit, description: `threshold ${formatCompared(limit)}` }] },
            mark: { type: 'rule', color: '#c00', strokeDash: [6, 4] },
            encoding: { y: { field: 'threshold', type: 'quantitative' }, description: { field: 'description', type: 'nominal' } },
          },
        ],
      },
    });
  }

  const judgeNames = [...new Set(report.judgeTrend.map((point) => point.name))];
  for (const name of judgeNames) {
    const points = report.judgeTrend
      .filter((point) => point.name === name && point.mean !== null)
      .map((point) => ({
        window: point.windowStart,
        variation: point.variation,
        mean: point.mean,
        lo: point.ci95?.[0] ?? point.mean,
        hi: point.ci95?.[1] ?? point.mean,
        n: point.n,
        description:
          `${name} in ${point.variation}, window from ${utcMinute(point.windowStart)}: mean ${formatNumber(point.mean)}` +
          `${point.ci95 ? ` (95% CI ${formatNumber(point.ci95[0])} to ${formatNumber(point.ci95[1])})` : ''}, n ${point.n}`,
      }));
    if (points.length === 0) continue;
    specs.push({
      id: `judge-${name}`,
      title: `Judge score ${name}: mean per window and arm with 95% t interval`,
      spec: {
        width: WIDTH,
        height: 200,
        data: { values: points },
        encoding: { x: utcTimeAxis('window', 'window start', points.map((point) => point.window)), color: colour },
        layer: [
          { mark: { type: 'errorband', opacity: 0.2, aria: false }, encoding: { y: { field: 'lo', type: 'quantitative', title: `${name} score` }, y2: { field: 'hi' } } },
          {
            mark: { type: 'line', point: true },
            encoding: { y: { field: 'mean', type: 'quantitative' }, tooltip: { field: 'description', type: 'nominal' }, description: { field: 'description', type: 'nominal' } },
          },
        ],
      },
    });
  }
  return specs;
}

/** The y axis of a guardrail chart: a share for a relative threshold, pp for a rate, else plain. */
function guardrailAxis(relative: boolean, kind: string): Record<string, unknown> {
  if (relative) return { title: 'variant vs control (relative)', axis: { format: '+.0%' } };
  if (kind === 'binary') return { title: 'variant − control (pp)', axis: { labelExpr: "format(datum.value * 100, '+.1~f')" } };
  return { title: 'variant − control' };
}

/** `2026-11-20 21:15 UTC`: a window start as the axes read it. */
function utcMinute(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * An x encoding for ISO timestamps that reads them as UTC on a 24-hour clock, whatever the time
 * zone of the process: vega's default labels use local time and a 12-hour clock without AM/PM
 * (21:15 UTC came out as `09:15`). Within one UTC day the labels are `HH:MM` and the title names
 * the day; across days, ticks at midnight show the date instead.
 * @example
 * utcTimeAxis('bucket', 'time', ['2026-11-20T21:15:00.000Z']); // { …, title: 'time on 2026-11-20 (UTC)', axis: { format: '%H:%M' } }
 */
function utcTimeAxis(field: string, title: string, times: readonly string[]): Record<string, unknown> {
  const dates = times.map((time) => new Date(time)).filter((date) => !Number.isNaN(date.getTime()));
  const days = [...new Set(dates.map((date) => date.toISOString().slice(0, 10)))];
  const oneDay = days.length === 1 ? days[0] : undefined;
  const stamps = dates.map((date) => date.getTime());
  // Data within a few minutes (a short run, the demo) would read 21:15 at every tick.
  const withSeconds = stamps.length > 0 && Math.max(...stamps) - Math.min(...stamps) < 10 * 60_000;
  const axis = oneDay
    ? { format: withSeconds ? '%H:%M:%S' : '%H:%M' }
    : { labelExpr: "utchours(datum.value) === 0 && utcminutes(datum.value) === 0 ? utcFormat(datum.value, '%b %d') : utcFormat(datum.value, '%H:%M')" };
  // The utc scale also makes vega-lite format the explicit format, and the marks' descriptions, in UTC.
  return { field, type: 'temporal', title: `${title}${oneDay ? ` on ${oneDay}` : ''} (UTC)`, scale: { type: 'utc' }, axis };
}

/**
 * Renders every chart to SVG (vega-lite → vega → SVG, no browser, no network).
 * @example
 * const charts = await renderCharts(report);
 * charts.map((chart) => chart.svg.length);
 */
export async function renderCharts(report: Report): Promise<RenderedChart[]> {
  const specs = chartSpecs(report);
  if (specs.length === 0) return [];
  // Loaded on demand: vega is large, and only the HTML format needs it.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const rendered: RenderedChart[] = [];
  for (const { id, title, spec } of specs) {
    const full = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      background: 'white',
      config: { font: 'system-ui, sans-serif', view: { stroke: '#ddd' } },
      // A deep copy: vega tags the data objects it is given, and the report must stay untouched.
      ...(JSON.parse(JSON.stringify(spec)) as Record<string, unknown>),
    };
    const compiled = vegaLite.compile(full as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    try {
      rendered.push({ id, title, svg: await view.toSVG() });
    } finally {
      view.finalize();
    }
  }
  return rendered;
}

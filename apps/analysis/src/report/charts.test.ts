import { afterEach, describe, expect, it } from 'vitest';
import { sampleReport } from '../../test/sample-report.js';
import { chartSpecs, renderCharts } from './charts.js';

interface Layer {
  readonly mark: { type: string };
  readonly encoding: { tooltip?: { field: string; title: string }[]; x?: { field: string } };
}

function liftSpec(): { values: Record<string, unknown>[]; layers: Layer[] } {
  const spec = chartSpecs(sampleReport()).find((chart) => chart.id === 'lift')!.spec as { data: { values: Record<string, unknown>[] }; layer: Layer[] };
  return { values: spec.data.values, layers: spec.layer };
}

describe('lift chart tooltips', () => {
  // The sample's `resolved` is 400 of 1000 in control and 470 of 1010 in treatment_a:
  // 40% against 46.53%, a difference of +6.53 pp and a relative lift of 46.53 / 40 − 1 = +16.3%.
  it('label the point estimate as the lift and the bounds as the interval, formatted like the tables', () => {
    const { values, layers } = liftSpec();
    const resolved = values.find((row) => row.metric === 'resolved (primary)' && row.variation === 'treatment_a')!;
    for (const layer of layers.filter((candidate) => candidate.encoding.tooltip)) {
      const shown = Object.fromEntries(layer.encoding.tooltip!.map(({ field, title }) => [title, resolved[field]]));
      expect(shown['relative lift'], layer.mark.type).toBe('+16.3%');
      expect(shown['difference'], layer.mark.type).toBe('+6.53 pp');
      expect(shown['relative lift 95% CI']).toMatch(/^[+−-]?[\d.]+% to \+[\d.]+%$/);
      expect(shown['difference 95% CI']).toMatch(/^[+−-]?[\d.]+ pp to \+[\d.]+ pp$/);
    }
    // both the interval's rule and the estimate's point carry the tooltip
    expect(layers.filter((layer) => layer.encoding.tooltip).map((layer) => layer.mark.type)).toEqual(['rule', 'point']);
  });

  it('the SVG describes each mark with the same text, not raw floats', async () => {
    const lift = (await renderCharts(sampleReport())).find((chart) => chart.id === 'lift')!;
    const labels = [...lift.svg.matchAll(/aria-label="(relative[^"]*|metric[^"]*)"/g)].map((match) => match[1]!);
    // one rule and one point per metric and variation: 3 metrics × 2 variations
    expect(labels.filter((label) => label.includes('variation: treatment_a; relative lift: +16.3%;'))).toHaveLength(2);
    expect(labels).toHaveLength(12);
    // a raw float such as 0.377892550778 has far more decimals than three significant digits give
    for (const label of labels) expect(label).not.toMatch(/\d\.\d{6,}|\bhi:|\blo:/);
  });
});

describe('guardrail chart axes', () => {
  it('read a relative difference as a signed percentage, not as a fraction', async () => {
    const report = sampleReport();
    for (const guardrail of report.guardrails) guardrail.threshold = { ...guardrail.threshold, relative: true };
    const chart = (await renderCharts(report)).find((candidate) => candidate.id === 'guardrail-error_rate')!;
    const labelGroups = [...chart.svg.matchAll(/class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/g)].map((match) => [...match[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((text) => text[1]!));
    // The y axis is the second; every label a signed percentage (0% unsigned).
    const y = labelGroups[1]!;
    expect(y.length).toBeGreaterThan(1);
    for (const label of y) expect(label).toMatch(/^([+−-]\d+|0)%$/);
    expect(chart.svg).toContain('variant vs control (relative)');
  });
});

describe('guardrail and judge chart descriptions', () => {
  it('read like the tables: formatted values, the window in UTC, the threshold formatted in the title', async () => {
    const report = sampleReport();
    const charts = await renderCharts(report);
    const guardrail = charts.find((chart) => chart.id === 'guardrail-error_rate')!;
    const judge = charts.find((chart) => chart.id === 'judge-helpfulness')!;
    const threshold = report.guardrails[0]!.threshold.value;
    // The sample's error_rate threshold is absolute; its title shows it signed, as a difference.
    expect(report.guardrails[0]!.threshold.relative).toBe(false);
    expect(guardrail.title).toContain(`(threshold +${Number(Math.abs(threshold).toPrecision(3))})`);
    const labels = (svg: string) => [...svg.matchAll(/aria-label="([^"]*)"/g)].map((match) => match[1]!).filter((label) => label.includes(' window from '));
    const guardrailLabels = labels(guardrail.svg);
    const judgeLabels = labels(judge.svg);
    expect(guardrailLabels.length).toBeGreaterThan(0);
    expect(judgeLabels.length).toBeGreaterThan(0);
    for (const label of [...guardrailLabels, ...judgeLabels]) {
      expect(label).toMatch(/window from \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: /);
      expect(label).not.toMatch(/\d\.\d{6,}/);
    }
    // treatment_b breaches from the fourth window on (40 errors in 500 calls against 10).
    expect(guardrailLabels.some((label) => label.startsWith('error_rate in treatment_b') && label.endsWith('beyond the threshold'))).toBe(true);
    expect(judgeLabels.some((label) => /^helpfulness in control, window from .* UTC: mean 0\.7\d*( \(95% CI [^)]+\))?, n 40$/.test(label))).toBe(true);
  });
});

/** The sample report moved to the given timestamps: exposures, guardrail windows and judge windows. */
function reportAt(times: readonly string[]): ReturnType<typeof sampleReport> {
  const report = sampleReport();
  const arms = report.experiment.variations.map((variation) => variation.key);
  report.population.timeline = times.flatMap((bucket, i) => arms.map((variation) => ({ bucket, variation, cumulative: 100 * (i + 1) })));
  for (const guardrail of report.guardrails) guardrail.windows = times.map((windowStart, i) => ({ ...guardrail.windows[i % guardrail.windows.length]!, windowStart }));
  report.judgeTrend = times.flatMap((windowStart) => arms.map((variation) => ({ windowStart, variation, name: 'helpfulness', n: 40, mean: 0.8, sd: 0.1 })));
  return report;
}

/** The tick labels of each time axis (the x axis of every chart but the lift chart). */
async function timeAxisLabels(times: readonly string[]): Promise<Map<string, string[]>> {
  const charts = (await renderCharts(reportAt(times))).filter((chart) => chart.id !== 'lift');
  expect(charts.map((chart) => chart.id)).toEqual(['exposures', 'guardrail-error_rate', 'judge-helpfulness']);
  return new Map(
    charts.map((chart) => {
      // vega draws an axis's labels as the text of its `role-axis-label` group; the x axis comes first.
      const group = /class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/.exec(chart.svg)![1]!;
      return [chart.id, [...group.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]!)];
    }),
  );
}

describe('time axes', () => {
  const quarterHours = ['21:00', '21:15', '21:30', '21:45', '22:00', '22:15'].map((time) => `2026-11-20T${time}:00.000Z`);
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  // Node reads TZ again when it changes, so vega's local-time formatting would follow it.
  for (const zone of ['UTC', 'America/Los_Angeles', 'Asia/Kolkata']) {
    it(`label 21:15 UTC as 21:15 on a 24-hour clock with TZ=${zone}`, async () => {
      process.env.TZ = zone;
      for (const [id, labels] of await timeAxisLabels(quarterHours)) {
        expect(labels, id).toContain('21:15');
        expect(labels, id).toContain('22:00');
        for (const label of labels) expect(label, id).toMatch(/^(2[12]):[0-5]\d$/);
      }
    });
  }

  it('show seconds when the data spans less than ten minutes (a short run reads 21:15 at every tick otherwise)', async () => {
    const times = Array.from({ length: 10 }, (_, i) => `2026-11-20T21:15:${String(i * 5).padStart(2, '0')}.000Z`);
    const labels = await timeAxisLabels(times);
    for (const [id, list] of labels) {
      expect(list.length, id).toBeGreaterThan(1);
      for (const label of list) expect(label, id).toMatch(/^21:15:\d{2}$/);
    }
  });

  it('name the day in the title within one day', () => {
    const spec = chartSpecs(reportAt(quarterHours)).find((chart) => chart.id === 'exposures')!.spec as { encoding: { x: { title: string } } };
    expect(spec.encoding.x.title).toBe('time on 2026-11-20 (UTC)');
  });

  it('show the date at midnight across days', async () => {
    process.env.TZ = 'America/Los_Angeles';
    const sixHours = Array.from({ length: 9 }, (_, i) => new Date(Date.UTC(2026, 10, 20, 18 + 6 * i)).toISOString());
    for (const [id, labels] of await timeAxisLabels(sixHours)) {
      expect(labels, id).toContain('Nov 21');
      expect(labels, id).toContain('Nov 22');
      expect(labels.some((label) => /^(18|12):00$/.test(label)), id).toBe(true);
      for (const label of labels) expect(label, id).toMatch(/^([01]\d|2[0-3]):[0-5]\d$|^Nov \d\d$/);
    }
  });
});

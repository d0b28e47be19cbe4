import { describe, expect, it } from 'vitest';
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

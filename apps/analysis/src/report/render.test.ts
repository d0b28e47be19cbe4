import { describe, expect, it } from 'vitest';
import { Report } from '@abtel/core';
import { sampleReport } from '../../test/sample-report.js';
import { renderReport } from './render.js';
import { MARKDOWN_LIMIT } from './markdown.js';
import { chartSpecs } from './charts.js';

const report = sampleReport();

describe('sample report', () => {
  it('has every section the renderers draw', () => {
    expect(Report.parse(report)).toEqual(report);
    expect(report.decision.recommendation).toBe('rollback');
    expect(report.guardrails.find((g) => g.variation === 'treatment_b')!.actionWindow).toBe('2026-11-20T04:00:00.000Z');
    expect(report.segments.find((s) => s.variation === 'treatment_a')!.simpson.flagged).toBe(true);
    expect(chartSpecs(report).map((chart) => chart.id)).toEqual(['lift', 'exposures', 'guardrail-error_rate', 'judge-helpfulness']);
  });
});

describe('renderers', () => {
  it('json is the report itself', async () => {
    expect(JSON.parse(await renderReport(report, 'json'))).toEqual(report);
  });

  it('table: every metric and the decision; no escape codes unless colour is asked for', async () => {
    const plain = await renderReport(report, 'table');
    expect(plain).not.toMatch(/\u001b\[/);
    expect(plain).toContain('Decision: ROLLBACK');
    for (const name of ['resolved', 'csat', 'error_rate']) expect(plain).toContain(name);
    expect(plain).toContain('treatment_a vs control');
    expect(plain).toContain('SIMPSON REVERSAL');
    expect(plain).toContain('traces-2026-11-20.jsonl:17');
    const coloured = await renderReport(report, 'table', { colour: true });
    expect(coloured).toMatch(/\u001b\[31m/);
  });

  it('markdown: a well-formed table per comparison that fits a pull-request comment', async () => {
    const md = await renderReport(report, 'md');
    expect(md.length).toBeLessThan(MARKDOWN_LIMIT);
    expect(md).toMatch(/^### abtel · support-persona v3: \*\*ROLLBACK\*\*/);
    const tables = md.split('\n').filter((line) => line.startsWith('| metric | role |'));
    expect(tables).toHaveLength(2);
    // every row of the comparison tables has as many cells as its header
    const rows = md.split('\n').filter((line) => line.startsWith('| ') && /\| (primary|guardrail|secondary) \|/.test(line));
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row.split(' | ').length).toBe(tables[0]!.split(' | ').length);
    expect(md).toContain('Simpson reversal');
  });

  it('html: one document, no external references, report JSON embedded', async () => {
    const html = await renderReport(report, 'html');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
    const embedded = /<script type="application\/json" id="abtel-report">([\s\S]*?)<\/script>/.exec(html);
    expect(JSON.parse(embedded![1]!)).toEqual(report);
    expect(html.match(/<figure class="chart"/g)).toHaveLength(4);
  });
});

import { describe, expect, it } from 'vitest';
import { Report } from '@abtel/core';
import { sampleReport } from '../../test/sample-report.js';
import { renderHtml } from './html.js';

/**
 * The sample report with text that HTML would misread: a p-value printed `<0.0001`, a segment
 * value, a metric note and a warning with `<`, `&` and quotes.
 */
function reportWithMarkupCharacters(): Report {
  const report = sampleReport();
  const resolved = report.comparisons[0]!.metrics[0]!;
  resolved.pValue = 0.00002;
  resolved.note = 'capped at <5 & "so on"';
  report.segments[0]!.rows[0]!.value = `<5 turns & 'more'`;
  report.warnings.push('files <b>not</b> read');
  return Report.parse(report);
}

/** The document without the parts whose `<` are not text: the embedded JSON and vega's SVG. */
function textParts(html: string): string {
  return html.replace(/<script type="application\/json"[\s\S]*?<\/script>/, '').replace(/<svg[\s\S]*?<\/svg>/g, '');
}

/** Text content of every table cell, as a browser reads it (tags dropped, entities decoded). */
function cellTexts(html: string): string[] {
  return [...html.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((match) =>
    match[1]!
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}

describe('HTML escaping', () => {
  it('every < in the document starts a tag; text keeps its characters once parsed', async () => {
    const html = await renderHtml(reportWithMarkupCharacters());
    const text = textParts(html);
    // A `<` followed by anything but a tag name, `/` or `!` is text the browser has to guess about.
    expect(text.match(/<(?![a-zA-Z/!])[^\n]{0,20}/g)).toBeNull();
    expect(text).not.toContain('<b>not</b>');
    expect(text).toContain('<td>&lt;0.0001</td>');

    const cells = cellTexts(html);
    expect(cells).toContain('<0.0001');
    expect(cells).toContain(`<5 turns & 'more'`);
    expect(cells.some((cell) => cell.includes('capped at <5 & "so on"'))).toBe(true);
    expect(text).toContain('<li>files &lt;b&gt;not&lt;/b&gt; read</li>');
  });

  it('a p-value below 0.0001 in a segment heading is escaped too', async () => {
    const report = reportWithMarkupCharacters();
    report.segments[0]!.mix.pValue = 0.00001;
    const html = await renderHtml(report);
    expect(html).toContain('mix χ² p &lt;0.0001');
    expect(textParts(html).match(/<(?![a-zA-Z/!])/g)).toBeNull();
  });
});

/**
 * One entry point for every report format.
 */
import type { Report } from '@abtel/core';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { renderTable } from './table.js';

/**
 * Output formats of `abtel analyze`.
 * @example
 * REPORT_FORMATS.includes('md'); // true
 */
export const REPORT_FORMATS = ['table', 'json', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/**
 * Renders a report in the given format.
 * @example
 * process.stdout.write(await renderReport(report, 'md'));
 */
export async function renderReport(report: Report, format: ReportFormat, options: { colour?: boolean } = {}): Promise<string> {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    default:
      return renderTable(report, options);
  }
}

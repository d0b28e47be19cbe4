/**
 * Opens the HTML report in a real headless Chromium (Debian `chromium`, driven by playwright-core)
 * and checks that every chart rendered with visible marks and that the page made no network
 * request. Chromium missing is a failure, not a skip: CI installs it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleReport } from '../../test/sample-report.js';
import { renderHtml } from './html.js';

const CHROMIUM = process.env.ABTEL_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

describe('HTML report in headless Chromium', () => {
  let browser: Browser | undefined;
  let dir: string;

  const missing = `Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" (or set ABTEL_CHROMIUM to its path)`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'abtel-html-'));
    // A missing browser fails the test below with a clear message rather than skipping it.
    if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });

  it('has a Chromium to open the report with', () => {
    expect(existsSync(CHROMIUM), missing).toBe(true);
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('renders every chart as SVG with marks, offline, without any network request', async () => {
    if (!browser) throw new Error(missing);
    const file = join(dir, 'report.html');
    const report = sampleReport();
    report.comparisons[0]!.metrics[0]!.pValue = 0.00002;
    await writeFile(file, await renderHtml(report));
    const context = await browser.newContext({ offline: true });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    try {
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const charts = await page.$$eval('figure.chart', (figures) =>
        figures.map((figure) => {
          const svg = figure.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          const marks = svg ? Array.from(svg.querySelectorAll('.mark-symbol path, .mark-line path, .mark-rule line, .mark-rect path, .mark-area path, path.mark-symbol')) : [];
          const visibleMarks = marks.filter((mark) => {
            const r = (mark as unknown as { getBoundingClientRect(): { width: number; height: number } }).getBoundingClientRect();
            return r.width > 0 || r.height > 0;
          });
          return {
            id: figure.getAttribute('data-chart'),
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            drawn: svg ? svg.querySelectorAll('path, rect, line').length : 0,
            visibleMarks: visibleMarks.length,
          };
        }),
      );
      expect(charts.map((chart) => chart.id)).toEqual(['lift', 'exposures', 'guardrail-error_rate', 'judge-helpfulness']);
      for (const chart of charts) {
        expect(chart.width, `${chart.id} width`).toBeGreaterThan(100);
        expect(chart.height, `${chart.id} height`).toBeGreaterThan(50);
        expect(chart.drawn, `${chart.id} drawn elements`).toBeGreaterThan(0);
        expect(chart.visibleMarks, `${chart.id} visible data marks`).toBeGreaterThan(0);
      }
      expect(await page.textContent('#decision strong')).toBe('rollback');
      // A p-value below 0.0001 is text in its cell, not the start of a tag the parser swallows.
      const cells = await page.$$eval('td', (tds) => tds.map((td) => td.textContent));
      expect(cells).toContain('<0.0001');
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

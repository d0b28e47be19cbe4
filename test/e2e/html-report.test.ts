/**
 * The HTML report of a demo run opens in headless Chromium (no network) and its charts render:
 * every chart figure holds an SVG with a real size and drawn marks.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-gpu',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

interface ChartInfo {
  id: string;
  width: number;
  height: number;
  marks: number;
}

describe('report.html in headless Chromium', () => {
  let out: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    out = await tempDir('html');
    const run = await runCli(['demo', '--conversations', '120', '--seed', 'html', '--out', out]);
    if (run.code !== 0) throw new Error(`abtel demo exited ${run.code}\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('opens offline, shows the decision and renders every chart', async () => {
    const file = join(out, 'report.html');
    expect(existsSync(file), 'the demo wrote no report.html (is the analysis built?)').toBe(true);
    const context = await (browser as Browser).newContext({ offline: true });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(await page.title()).toContain('support-retrieval');
    expect((await page.textContent('#decision'))?.toLowerCase()).toMatch(/ship|continue|inconclusive|pause|rollback/);
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((figure) => {
        const svg = figure.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const marks = svg ? svg.querySelectorAll('path, rect, line, circle, text').length : 0;
        return { id: figure.getAttribute('data-chart') ?? '', width: box?.width ?? 0, height: box?.height ?? 0, marks } satisfies ChartInfo;
      }),
    );
    expect(charts.length).toBeGreaterThanOrEqual(2);
    for (const chart of charts) {
      expect(chart.width, chart.id).toBeGreaterThan(50);
      expect(chart.height, chart.id).toBeGreaterThan(50);
      expect(chart.marks, chart.id).toBeGreaterThan(3);
    }
    // Pixels, not only DOM: the first chart's screenshot is not a blank image.
    const shot = await page.locator('figure.chart svg').first().screenshot();
    expect(shot.length).toBeGreaterThan(1000);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await context.close();
  });
});

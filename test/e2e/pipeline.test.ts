/**
 * The whole pipeline in child processes, with the real SDK, exporters, collector and DuckDB:
 * `abtel demo` (built CLI) → files → analysis. Checked against the simulation's ground truth and
 * against counts read independently from the files.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, loadExperiments, type ExperimentDefinition } from '@abtel/core';
import { RESOLUTION_PROBABILITY, SERVER_ERROR_RATE, RATE_LIMIT_RATE, scanTelemetry, scenario, type AgentSummary, type TelemetryCounts, type TicketSummary } from '@abtel/demo';
import { DEMO_EXPERIMENTS, removeTempDirs, runCli, tempDir } from './helpers.js';

afterAll(removeTempDirs);

interface DemoSummary {
  seed: string;
  conversations: number;
  agent: AgentSummary;
  tickets: TicketSummary;
  expected: { chatSpans: number; exposures: number; outcomes: number };
  files: { chatSpans: number; exposures: number; outcomes: number; badLines: number };
  complete: boolean;
  analysis: { available: boolean; message?: string };
}

interface MetricResult {
  name: string;
  role: string;
  baseline: { n: number; value: number | null };
  variant: { n: number; value: number | null };
  absoluteDiff: number | null;
  ci95: [number | null, number | null];
  pValue: number | null;
  significant: boolean;
}

interface Report {
  experiment: { key: string };
  population: { exposed: Record<string, number>; total: number };
  health: { srm: { flagged: boolean }; assignment: { checked: number; mismatches: number } };
  comparisons: { variation: string; baseline: string; metrics: MetricResult[] }[];
  guardrails: { metric: string; actionTriggered: boolean }[];
  decision: { recommendation: string; reasons: string[]; winner?: string };
}

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

const CONVERSATIONS = 440;
const SEED = '2026';

describe(`abtel demo --conversations ${CONVERSATIONS} (the default size), end to end`, () => {
  let out: string;
  let stdout: string;
  let summary: DemoSummary;
  let counts: TelemetryCounts;
  let retrieval: ExperimentDefinition;
  let persona: ExperimentDefinition;

  beforeAll(async () => {
    out = await tempDir('pipeline');
    const run = await runCli(['demo', '--conversations', String(CONVERSATIONS), '--seed', SEED, '--out', out]);
    stdout = run.stdout;
    if (run.code !== 0) throw new Error(`abtel demo exited ${run.code}\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`);
    summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as DemoSummary;
    counts = await scanTelemetry(join(out, 'data'));
    const set = await loadExperiments(DEMO_EXPERIMENTS);
    retrieval = set.require('support-retrieval');
    persona = set.require('support-persona');
  });

  it('loses no span, exposure or outcome between the processes and the files', () => {
    expect(summary.agent.conversations).toBe(CONVERSATIONS);
    expect(counts.badLines).toEqual([]);
    // Every model call attempt is one `chat …` span; failed attempts are error spans.
    expect(counts.chatSpans).toBe(summary.agent.calls);
    expect(counts.chatErrorSpans).toBe(summary.agent.failedCalls);
    // One exposure per conversation and experiment.
    expect(counts.events['abtel.exposure']).toBe(2 * CONVERSATIONS);
    expect(counts.exposures.get('support-retrieval')?.size).toBe(CONVERSATIONS);
    expect(counts.exposures.get('support-persona')?.size).toBe(CONVERSATIONS);
    const sent = Object.values(summary.tickets.outcomes).reduce((a, b) => a + b, 0);
    expect(counts.events['abtel.outcome']).toBe(sent);
    expect(summary.tickets.outcomes['support_conversation_resolved']).toBe(CONVERSATIONS);
    expect(counts.conversations.size).toBe(CONVERSATIONS);
    expect(summary.complete).toBe(true);
    expect(stdout).toContain('nothing lost');
  });

  it('fails a plausible share of calls (the error guardrail has something to watch)', () => {
    const share = summary.agent.failedCalls / summary.agent.calls;
    const rate = SERVER_ERROR_RATE + RATE_LIMIT_RATE;
    const se = Math.sqrt((rate * (1 - rate)) / summary.agent.calls);
    expect(Math.abs(share - rate)).toBeLessThan(4 * se);
  });

  it("stamps every conversation's spans with exactly one variation per experiment, the one the definition assigns", () => {
    for (let index = 0; index < CONVERSATIONS; index += 1) {
      const { conversationId } = scenario(SEED, index);
      const perExperiment = counts.spanVariations.get(conversationId);
      expect(perExperiment, conversationId).toBeDefined();
      for (const def of [retrieval, persona]) {
        const variations = perExperiment?.get(def.key);
        expect(variations?.size, `${conversationId} ${def.key}`).toBe(1);
        const [variation] = [...(variations ?? [])];
        // Independent audit: the assignment the definition makes, and the exposure, agree.
        expect(variation).toBe(assign(def, { id: conversationId }).variation);
        expect(counts.exposures.get(def.key)?.get(conversationId)).toBe(variation);
      }
    }
  });

  describe('the analysis', () => {
    let report: Report;
    beforeAll(async () => {
      if (!summary.analysis.available) throw new Error(`the demo ran without the analysis: ${summary.analysis.message}`);
      report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Report;
    });

    it('reports the exposed conversations per arm that the files hold', () => {
      const exposures = counts.exposures.get('support-retrieval') ?? new Map<string, string>();
      const expected: Record<string, number> = {};
      for (const variation of exposures.values()) expected[variation] = (expected[variation] ?? 0) + 1;
      expect(report.population.exposed).toEqual(expected);
      expect(report.health.assignment.mismatches).toBe(0);
      expect(report.health.srm.flagged).toBe(false);
    });

    it('puts the injected treatment effect inside the reported 95% interval', () => {
      const comparison = report.comparisons.find((c) => c.variation === 'hybrid-rerank' && c.baseline === 'bm25');
      const resolved = comparison?.metrics.find((m) => m.name === 'resolved');
      expect(resolved?.role).toBe('primary');
      const injected = RESOLUTION_PROBABILITY['hybrid-rerank'] - RESOLUTION_PROBABILITY.bm25;
      const [lo, hi] = resolved?.ci95 ?? [null, null];
      expect(lo).not.toBeNull();
      expect(lo as number).toBeLessThan(injected);
      expect(hi as number).toBeGreaterThan(injected);
    });

    it('matches the resolution rates computed straight from the files, and decides as that data implies', () => {
      const exposures = counts.exposures.get('support-retrieval') ?? new Map<string, string>();
      const arms: Record<string, { n: number; resolved: number }> = { bm25: { n: 0, resolved: 0 }, 'hybrid-rerank': { n: 0, resolved: 0 } };
      for (const variation of exposures.values()) (arms[variation] as { n: number }).n += 1;
      for (const outcome of counts.outcomes) {
        if (outcome.name !== 'support_conversation_resolved') continue;
        const variation = exposures.get(outcome.conversationId);
        if (variation) (arms[variation] as { resolved: number }).resolved += outcome.value;
      }
      const c = arms['bm25'] as { n: number; resolved: number };
      const t = arms['hybrid-rerank'] as { n: number; resolved: number };
      const pc = c.resolved / c.n;
      const pt = t.resolved / t.n;
      const resolved = report.comparisons[0]?.metrics.find((m) => m.name === 'resolved');
      expect(resolved?.baseline.value).toBeCloseTo(pc, 12);
      expect(resolved?.variant.value).toBeCloseTo(pt, 12);
      // Pooled two-proportion z (DESIGN.md): significant at alpha 0.05 when |z| > 1.959964.
      const pooled = (c.resolved + t.resolved) / (c.n + t.n);
      const z = (pt - pc) / Math.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / t.n));
      // No error-rate difference was injected: that guardrail must stay quiet.
      const fired = report.guardrails.filter((g) => g.actionTriggered);
      expect(fired.filter((g) => g.metric === 'error_rate')).toEqual([]);
      // Latency is measured on this machine (server +20% against a +35% p95 threshold over two
      // consecutive 1-minute windows), so a heavily loaded machine could in principle breach it;
      // then the registered action, not ship, is the right decision.
      const latencyAction = fired.find((g) => g.metric === 'latency_p95');
      if (latencyAction) {
        expect(report.decision.recommendation).toBe('rollback');
      } else if (z > 1.959964) {
        expect(report.decision.recommendation).toBe('ship');
        expect(report.decision.winner).toBe('hybrid-rerank');
      } else {
        expect(report.decision.recommendation).toBe('continue');
      }
      // At the default size this seed does detect the effect (power 0.9 by design).
      expect(z).toBeGreaterThan(1.959964);
    });

    it('prints the terminal report and where the report files are', () => {
      expect(stdout).toContain(join(out, 'report.html'));
      expect(stdout).toContain(join(out, 'report.json'));
      expect(stdout).toMatch(/Decision: (SHIP|ROLLBACK|CONTINUE)/);
    });
  });

  // The HTML report of this run opens in headless Chromium (no network) and its charts render:
  // every chart figure holds an SVG with a real size and drawn marks.
  describe('report.html in headless Chromium', () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
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
});

describe('determinism', () => {
  it('gives the same counts and report numbers for the same seed (latency aside)', async () => {
    const runs: { summary: DemoSummary; report: Report }[] = [];
    for (let i = 0; i < 2; i += 1) {
      const out = await tempDir(`determinism-${i}`);
      const run = await runCli(['demo', '--conversations', '30', '--seed', 'same', '--out', out]);
      expect(run.code, run.stderr).toBe(0);
      const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as DemoSummary;
      expect(summary.analysis.available, summary.analysis.message).toBe(true);
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Report;
      runs.push({ summary, report });
    }
    const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(b.summary).toEqual(a.summary);
    const stable = (report: Report): unknown =>
      report.comparisons.map((c) => ({
        variation: c.variation,
        metrics: c.metrics.filter((m) => !m.name.startsWith('latency')).map((m) => ({ name: m.name, baseline: m.baseline, variant: m.variant, diff: m.absoluteDiff, ci: m.ci95, p: m.pValue })),
      }));
    expect(stable(b.report)).toEqual(stable(a.report));
    // Not vacuous: the stable part holds the primary metric and the token metric of both arms.
    expect(JSON.stringify(stable(a.report))).toContain('tokens_per_conversation');
    expect(b.report.population.exposed).toEqual(a.report.population.exposed);
  });
});

/** `value` with every number rounded to 10 significant digits (structure and other values unchanged). */
function significant(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? Number(value.toPrecision(10)) : value;
  if (Array.isArray(value)) return value.map(significant);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, significant(inner)]));
  return value;
}

describe('abtel demo --compact', () => {
  it('compacts a small run (no rotation yet) and the analysis of the Parquet equals that of the JSON', async () => {
    const { cp, readdir, rm } = await import('node:fs/promises');
    const out = await tempDir('compact');
    const run = await runCli(['demo', '--conversations', '30', '--seed', 'compact', '--compact', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const compacted = /abtel compact: compacted (\d+) file\(s\)/.exec(run.stdout);
    expect(compacted, run.stdout).not.toBeNull();
    expect(Number(compacted![1])).toBeGreaterThan(0);
    const parquet = (await readdir(join(out, 'data', '.abtel'))).filter((name) => name.endsWith('.parquet'));
    expect(parquet.sort()).toEqual(['logs.jsonl.parquet', 'traces.jsonl.parquet']);

    // The same files without their Parquet, analysed from the JSON.
    const raw = join(out, 'raw');
    await cp(join(out, 'data'), raw, { recursive: true });
    await rm(join(raw, '.abtel'), { recursive: true });
    const fromJson = await runCli(['analyze', '--data', raw, '--experiments', DEMO_EXPERIMENTS, '--experiment', 'support-retrieval', '--window-minutes', '1', '--format', 'json']);
    expect(fromJson.code, fromJson.stderr).toBe(0);
    const json = JSON.parse(fromJson.stdout) as Report;
    const fromParquet = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Report;
    // Sums run on several DuckDB threads in no fixed order, so a mean can differ in its last bits
    // between two reads of the same rows: numbers are compared to 10 significant digits.
    expect(significant(fromParquet.population)).toEqual(significant(json.population));
    expect(significant(fromParquet.comparisons)).toEqual(significant(json.comparisons));
    expect(significant(fromParquet.guardrails)).toEqual(significant(json.guardrails));
    expect(fromParquet.decision.recommendation).toBe(json.decision.recommendation);
    expect(fromParquet.decision.winner).toBe(json.decision.winner);
    expect(fromParquet.population.total).toBe(30);
  });
});

describe('abtel demo --keep-running', () => {
  it('leaves the collector up for exploration until Ctrl+C, then stops it', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI_BIN } = await import('./helpers.js');
    const out = await tempDir('keep-running');
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('OTEL_') && !key.startsWith('ABTEL_')) env[key] = value;
    const child = spawn(process.execPath, [CLI_BIN, 'demo', '--conversations', '20', '--seed', 'keep', '--out', out, '--keep-running'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stderr.resume();
    const ready = new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "Press Ctrl+C" line:\n${stdout}`)), 120_000);
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('Press Ctrl+C')) {
          clearTimeout(timer);
          resolveReady();
        }
      });
    });
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
    try {
      await ready;
      const url = /collector keeps running at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
      expect(url).toBeDefined();
      expect(stdout).toContain(`abtel sql ${join(out, 'data')}`);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('abtel demo --events spans', () => {
  it('carries exposures and outcomes as span events (trace-only backends), and nothing is lost', async () => {
    const out = await tempDir('spans');
    const run = await runCli(['demo', '--conversations', '40', '--seed', 'spans', '--events', 'spans', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as DemoSummary;
    expect(summary.complete).toBe(true);
    const { readdir } = await import('node:fs/promises');
    const files = await readdir(join(out, 'data'));
    const text = async (prefix: string): Promise<string> =>
      (await Promise.all(files.filter((f) => f.startsWith(prefix) && f.endsWith('.jsonl')).map((f) => readFile(join(out, 'data', f), 'utf8')))).join('');
    // Not as log records...
    const logs = await text('logs');
    expect(logs).not.toContain('"abtel.exposure"');
    expect(logs).not.toContain('"abtel.outcome"');
    // ...but as span events, which the file scan and the analysis both read.
    const counts = await scanTelemetry(join(out, 'data'));
    expect(counts.events['abtel.exposure']).toBe(80);
    expect(counts.events['abtel.outcome']).toBe(Object.values(summary.tickets.outcomes).reduce((a, b) => a + b, 0));
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as Report;
    expect(report.population.total).toBe(40);
    const resolved = report.comparisons[0]?.metrics.find((m) => m.name === 'resolved');
    const exposures = counts.exposures.get('support-retrieval') ?? new Map<string, string>();
    const treated = counts.outcomes.filter((o) => o.name === 'support_conversation_resolved' && exposures.get(o.conversationId) === 'hybrid-rerank');
    expect(resolved?.variant.value).toBeCloseTo(treated.reduce((a, o) => a + o.value, 0) / [...exposures.values()].filter((v) => v === 'hybrid-rerank').length, 12);
  });
});

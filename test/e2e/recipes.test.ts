/**
 * Every recipe in the root README.md runs as written: the test extracts the code blocks, writes
 * the `file=` blocks into a scratch directory and runs the `recipe=` shell blocks with bash, with
 * `abtel` on PATH (the built CLI) and port 4318 replaced by a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanTelemetry, startModelServer, type ModelServer } from '@abtel/demo';
import { CLI_BIN, REPO_ROOT, TEST_ROOT, requireBuilt } from './helpers.js';

interface Block {
  lang: string;
  attrs: Record<string, string>;
  body: string;
}

async function recipeBlocks(): Promise<Block[]> {
  const text = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const blocks: Block[] = [];
  for (const match of text.matchAll(/```(\w+)([^\n]*)\n([\s\S]*?)```/g)) {
    const attrs: Record<string, string> = {};
    for (const attr of (match[2] ?? '').trim().split(/\s+/)) {
      const [key, value] = attr.split('=');
      if (key && value) attrs[key] = value;
    }
    blocks.push({ lang: match[1] ?? '', attrs, body: match[3] ?? '' });
  }
  return blocks;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

describe('README.md recipes', () => {
  let blocks: Block[];
  let work: string;
  let port: number;
  let model: ModelServer;
  let env: NodeJS.ProcessEnv;
  const background: ChildProcess[] = [];

  const recipe = (name: string): string => {
    const block = blocks.find((candidate) => candidate.attrs['recipe'] === name);
    if (!block) throw new Error(`README.md has no block with recipe=${name}`);
    return block.body.replaceAll('4318', String(port));
  };

  const bash = (script: string, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolveRun) => {
      const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd: work, env: { ...env, ...extraEnv } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('exit', (code) => resolveRun({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    requireBuilt(join(REPO_ROOT, 'apps', 'cli', 'dist', 'bin.js'), join(REPO_ROOT, 'packages', 'node', 'dist', 'register.js'));
    blocks = await recipeBlocks();
    // Inside the test package, so that `openai`, `@abtel/node` and `@abtel/collector` resolve.
    work = await mkdtemp(join(TEST_ROOT, '.recipes-'));
    for (const block of blocks) {
      const file = block.attrs['file'];
      if (!file) continue;
      await mkdir(dirname(join(work, file)), { recursive: true });
      await writeFile(join(work, file), block.body);
    }
    // The duckdb recipe runs from a checkout: give the scratch directory the repository's SQL.
    await mkdir(join(work, 'apps', 'analysis'), { recursive: true });
    await symlink(join(REPO_ROOT, 'apps', 'analysis', 'sql'), join(work, 'apps', 'analysis', 'sql'));
    await mkdir(join(work, 'bin'));
    await writeFile(join(work, 'bin', 'abtel'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_BIN}" "$@"\n`);
    await chmod(join(work, 'bin', 'abtel'), 0o755);
    port = await freePort();
    model = await startModelServer({ seed: 'recipes', latencyScale: 0, failures: false });
    env = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('OTEL_') && !key.startsWith('ABTEL_')) env[key] = value;
    env['PATH'] = `${join(work, 'bin')}:${process.env['PATH'] ?? ''}`;
    env['OPENAI_BASE_URL'] = model.baseURL;
    env['OPENAI_API_KEY'] = 'recipe-test';
  });

  afterAll(async () => {
    for (const child of background) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(background.map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : undefined)));
    await model?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('recipe 2: `abtel collector` starts and prints where it listens', async () => {
    const child = spawn('bash', ['-c', `exec ${recipe('collector').trim()}`], { cwd: work, env });
    background.push(child);
    const listening = await new Promise<string>((resolveLine, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`collector did not start: ${seen}`)), 20_000);
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        seen += chunk;
        const url = /listening on (http:\/\/\S+)/.exec(seen)?.[1];
        if (url) {
          clearTimeout(timer);
          resolveLine(url);
        }
      });
    });
    expect(listening).toBe(`http://127.0.0.1:${port}`);
  });

  it('recipe 1: the unmodified agent started with the register entry sends stamped spans to it', async () => {
    const run = await bash(recipe('instrument'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/valid experiment definition/);
    const variation = /^(sam-neutral|riley-warm) /m.exec(run.stdout)?.[1];
    expect(variation).toBeDefined();
    // The collector acknowledges before the agent exits; give the file a moment to be scanned.
    let stamped = false;
    for (let attempt = 0; attempt < 20 && !stamped; attempt += 1) {
      const counts = await scanTelemetry(join(work, 'data'));
      stamped = counts.spanVariations.get('conv-1')?.get('support-persona')?.has(String(variation)) === true && counts.exposures.get('support-persona')?.get('conv-1') === variation;
      if (!stamped) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stamped).toBe(true);
  });

  it('recipe 2 (embedded): startCollector in your own process', async () => {
    const embeddedPort = await freePort();
    const source = (await readFile(join(work, 'collector.mjs'), 'utf8')).replaceAll(String(4318), String(embeddedPort)).replace("'./data'", "'./data-embedded'");
    await writeFile(join(work, 'collector-test.mjs'), source);
    const child = spawn(process.execPath, ['collector-test.mjs'], { cwd: work, env });
    background.push(child);
    const line = await new Promise<string>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error('embedded collector did not start')), 20_000);
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        clearTimeout(timer);
        resolveLine(chunk);
      });
    });
    expect(line).toContain(`send OTLP to http://127.0.0.1:${embeddedPort}`);
    const health = await fetch(`http://127.0.0.1:${embeddedPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' });
    expect(health.status).toBe(200);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  it('recipe 3: abtel analyze (table, JSON, HTML) and abtel sql on the files the agent produced', async () => {
    const run = await bash(recipe('analyze'));
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(work, 'report.json'), 'utf8')) as { experiment: { key: string }; population: { total: number } };
    expect(report.experiment.key).toBe('support-persona');
    expect(report.population.total).toBe(1);
    expect(await readFile(join(work, 'report.html'), 'utf8')).toContain('<svg');
    // The last command is `abtel sql -c`: one exposed conversation in the agent's variation.
    expect(run.stdout).toMatch(/(sam-neutral|riley-warm)\D+1\b/);
  });

  it('recipe 3: plain SQL over the files with the view definitions from apps/analysis/sql', async () => {
    const [prepare = '', query = ''] = recipe('duckdb').trim().split('\n');
    let csatRows: Record<string, unknown>[];
    const onPath = (await bash('command -v duckdb || true')).stdout.trim();
    if (onPath) {
      const run = await bash(`${prepare}\nduckdb -json -init abtel.sql -c ".read csat.sql"`);
      expect(run.code, run.stderr).toBe(0);
      // `-init` may announce the file it loads before the JSON result.
      csatRows = JSON.parse(run.stdout.slice(run.stdout.indexOf('['), run.stdout.lastIndexOf(']') + 1)) as Record<string, unknown>[];
    } else {
      // No duckdb CLI on this machine: run the recipe's own files with the same DuckDB engine,
      // statement by statement as `duckdb -init abtel.sql` and `.read csat.sql` do.
      expect(query).toContain('duckdb -init abtel.sql');
      const run = await bash(prepare);
      expect(run.code, run.stderr).toBe(0);
      expect(existsSync(join(work, 'abtel.sql'))).toBe(true);
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      const previous = process.cwd();
      process.chdir(work); // `./data` in abtel.sql is relative to where duckdb runs
      try {
        const statements = await connection.extractStatements(await readFile(join(work, 'abtel.sql'), 'utf8'));
        for (let i = 0; i < statements.count; i += 1) await (await statements.prepare(i)).run();
        const reader = await connection.runAndReadAll(await readFile(join(work, 'csat.sql'), 'utf8'));
        csatRows = reader.getRowObjectsJson() as Record<string, unknown>[];
      } finally {
        process.chdir(previous);
        connection.closeSync();
        instance.closeSync();
      }
    }
    expect(csatRows).toHaveLength(1);
    expect(csatRows[0]).toMatchObject({ conversations: expect.anything(), mean_csat: 5 });
    expect(Number(csatRows[0]?.['conversations'])).toBe(1);
  });

  it('mentions only repository paths that exist (config files, READMEs, SQL)', async () => {
    const text = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    const paths = [...text.matchAll(/`((?:apps|collector|packages|test)\/[^`\s]+)`/g)].map((match) => match[1] as string);
    expect(paths).toContain('collector/otelcol/config.yaml');
    for (const path of paths) expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
  });
});

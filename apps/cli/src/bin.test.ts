import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { commandEntries } from './commands.js';

// The built bin, exactly as a user runs it (turbo builds this package and its dependencies before
// its tests run).
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(packageDir, 'bin', 'abtel.js');
const examples = join(packageDir, '..', '..', 'packages', 'core', 'examples', 'experiments');

function abtel(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** A fresh temporary directory, removed when the current test ends. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the bin with piped stdio; `onStdout` sees each chunk (and the child) as it arrives. */
function abtelPiped(
  args: string[],
  onStdout: (chunk: string, child: ReturnType<typeof spawn>) => void,
  onStderr: (chunk: string, child: ReturnType<typeof spawn>) => void = () => {},
) {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += String(chunk);
    onStderr(String(chunk), child);
  });
  child.stdout.on('data', (chunk: Buffer) => onStdout(String(chunk), child));
  // The parent closing its end early is the point of some tests.
  child.stdout.on('error', () => {});
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return {
    child,
    done: new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, stderr });
      }),
    ),
  };
}

describe('the abtel bin', () => {
  it('prints help listing every command, and its version', () => {
    const help = abtel('--help');
    expect(help.status).toBe(0);
    for (const entry of commandEntries) expect(help.stdout).toContain(`  ${entry.name}`);
    const version = abtel('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each(commandEntries.map((entry) => entry.name))('abtel %s --help shows usage with an example', (name) => {
    const result = abtel(name, '--help');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Example/);
    expect(result.stdout).toContain(`abtel ${name}`);
  });

  it.each(commandEntries.map((entry) => entry.name))('abtel %s with an unknown flag exits 2 with one line', (name) => {
    const result = abtel(name, '--no-such-flag');
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('--no-such-flag');
  });

  it('a reader that closes the pipe early ends the command quietly with exit 0', async () => {
    const empty = tempDir('abtel-epipe-');
    const { done } = abtelPiped([
      'sql', empty, '-c', 'SELECT range AS n, repeat(\'x\', 40) AS pad FROM range(300000)', '--format', 'json',
    ], (_chunk, child) => child.stdout!.destroy());
    const { code, signal, stderr } = await done;
    // Only the word that the directory holds no telemetry file.
    expect(stderr).toBe(`abtel sql: no telemetry files were found in ${empty} (no OTLP JSON Lines, JSON or compacted Parquet files); every view is empty — check the directory\n`);
    expect(signal).toBeNull();
    expect(code).toBe(0);
  });

  it('the collector keeps receiving with its output pipes closed, and still drains and exits 0 on SIGTERM (both bins)', async () => {
    const collectorBin = join(packageDir, '..', '..', 'collector', 'bin', 'abtel-collector.js');
    for (const argv of [[bin, 'collector'], [collectorBin]]) {
      const dir = tempDir('abtel-closed-output-');
      const child = spawn(process.execPath, [...argv, '--port', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(/http:\/\/\S+/.exec(String(chunk))![0]));
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      // Whatever read the output has gone (`| head -1`, a supervisor restarted).
      child.stdout.destroy();
      child.stderr.destroy();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const span = (name: string) => ({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', name }] }] }] });
      for (const name of ['first', 'second']) {
        const response = await fetch(`${url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(span(name)) });
        expect(response.status).toBe(200);
      }
      // Shutting down writes to the closed stderr: that used to crash with exit 1 before the drain.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const names = readFileSync(join(dir, 'traces.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line).resourceSpans[0].scopeSpans[0].spans[0].name);
      expect(names).toEqual(['first', 'second']);
    }
  });

  it('SIGTERM ends a command that does not listen for the abort (the SQL shell waiting for input)', async () => {
    const empty = tempDir('abtel-signal-');
    let sent = false;
    // Piped input gets no prompt: the shell's banner on stderr says it is waiting.
    const { done } = abtelPiped(['sql', empty], () => {}, (chunk, child) => {
      if (sent || !chunk.includes('.exit to leave')) return;
      child.kill('SIGTERM');
      sent = true;
    });
    const started = Date.now();
    const { code, stderr } = await done;
    expect(sent).toBe(true);
    expect(stderr).not.toMatch(/Error|at /);
    expect(code).toBe(143);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('bad collector flag values and --memory-limit exit 2 with one line naming the flag', () => {
    const empty = tempDir('abtel-usage-');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['collector', '--port', '0', '--dir', empty, '--layout', 'weird'], {}, /^abtel collector: --layout must be one of flat, date \(got "weird"\)$/],
      [['collector', '--port', '0', '--dir', empty, '--fsync', 'sometimes'], {}, /--fsync .*"sometimes"/],
      [['collector', '--dir', empty], { ABTEL_COLLECTOR_PORT: 'abc' }, /^abtel collector: ABTEL_COLLECTOR_PORT must be an integer \(got "abc"\)$/],
      [['sql', empty, '-c', 'SELECT 1', '--memory-limit', 'abc'], {}, /^abtel sql: --memory-limit must be a size like 600MB, 2GB or 1\.5GiB \(got "abc"\)$/],
      [['compact', empty, '--memory-limit', 'zz'], {}, /^abtel compact: --memory-limit must be a size like 600MB, 2GB or 1\.5GiB \(got "zz"\)$/],
    ];
    for (const [args, env, message] of cases) {
      const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
      expect(result.status, args.join(' ')).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
    expect(abtel('sql', empty, '-c', 'SELECT 1 AS one', '--memory-limit', '1.5GiB').status).toBe(0);
  });

  it('a negative number is a flag value; unknown, repeated and empty flags are one-line usage errors', () => {
    const negative = abtel('power', '--baseline', '0.6', '--mde', '-0.05', '--format', 'json');
    expect(negative.stderr).toBe('');
    expect(negative.status).toBe(0);
    expect(JSON.parse(negative.stdout)).toEqual(JSON.parse(abtel('power', '--baseline', '0.6', '--mde=-0.05', '--format', 'json').stdout));
    const usage: [string[], string][] = [
      [['power', '--baseline', '0.6', '--mde', '0.05', '--bogus'], 'abtel power: unknown option --bogus; see abtel power --help'],
      [['assign', '--experiments', examples, '--experiment', 'support-persona', '--unit', ''], 'abtel assign: --unit must not be empty (give the unit id, e.g. --unit conv-1)'],
      [['assign', '--experiments', examples, '--experiment', 'support-persona', '--unit', 'c', '--unit', 'd'], 'abtel assign: --unit was given twice ("c", then "d"); give it once (see abtel assign --help)'],
    ];
    for (const [args, message] of usage) {
      const result = abtel(...args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`${message}\n`);
    }
  });

  it('validate reports a single bad shared metric once, not as undefined references everywhere', () => {
    const dir = tempDir('abtel-validate-');
    cpSync(join(packageDir, '..', 'demo', 'experiments'), dir, { recursive: true });
    const metrics = join(dir, 'metrics.yaml');
    writeFileSync(metrics, readFileSync(metrics, 'utf8').replace(/(- name: csat\n(?:.*\n)*?\s+kind: )mean/, '$1binry'));
    const result = abtel('validate', '--experiments', dir);
    expect(result.status).toBe(1);
    // Line 18 of the demo's metrics.yaml is `    kind: mean`, now `    kind: binry`: the value starts in column 11.
    expect(readFileSync(metrics, 'utf8').split('\n')[17]).toBe('    kind: binry');
    expect(result.stdout).toBe(`${metrics}:18:11: metrics[1].kind must be one of "binary", "mean", "sum", "ratio", "quantile", "count" (got "binry") (metric "csat")\n`);
    expect(result.stderr).toBe(`abtel validate: 1 problem in ${dir}\n`);
  });

  it('other commands print bad definitions one problem per line, as validate does, then one summary line', () => {
    const dir = tempDir('abtel-defs-');
    cpSync(join(packageDir, '..', 'demo', 'experiments'), dir, { recursive: true });
    const persona = join(dir, 'support-persona.yaml');
    writeFileSync(persona, readFileSync(persona, 'utf8').replaceAll('weight: 1', 'weight: 0'));
    const validated = abtel('validate', '--experiments', dir);
    const result = abtel('analyze', '--data', dir, '--experiments', dir, '--experiment', 'support-retrieval');
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    const problems = validated.stdout.trim().split('\n');
    expect(problems.length).toBeGreaterThan(1);
    expect(lines.slice(0, -1)).toEqual(problems);
    expect(lines.at(-1)).toBe(
      `abtel analyze: ${problems.length} problems in experiment definitions (above); fix them, then re-run (abtel validate checks them alone)`,
    );
  });

  it('validate prints FILE:LINE:COLUMN: PATH MESSAGE, and line and column in --json', () => {
    const dir = tempDir('abtel-validate-');
    writeFileSync(
      join(dir, 'a.json'),
      '{\n  "key": "a",\n  "version": 1,\n  "owner": "me",\n  "surface": "cta",\n  "control": "x",\n  "variations": [\n    { "key": "x", "weight": 1 },\n    { "key": "y", "weight": true }\n  ]\n}\n',
    );
    writeFileSync(join(dir, 'b.yaml'), 'key: a\nversion: 1\nowner: me\ncontrol: x\nvariations:\n  - { key: x, weight: 1 }\n  - { key: y, weight: 1 }\n');
    const result = abtel('validate', '--experiments', dir);
    expect(result.status).toBe(1);
    // Counted by hand: `true` is on line 9 after `    { "key": "y", "weight": ` (28 characters); the
    // missing surface points at b.yaml's top-level mapping (1:1); the repeated key is line 1, column 6.
    expect(result.stdout).toBe(
      `${dir}/a.json:9:29: variations[1].weight must be a number (got true)\n` +
        `${dir}/b.yaml:1:1: surface must be one of "prompt", "model", "retrieval", "tool_policy", "persona", "cta", "trigger", "other" (got nothing)\n` +
        `${dir}/b.yaml:1:6: key duplicates experiment "a" already defined in ${dir}/a.json; experiment keys must be unique\n`,
    );
    expect(result.stderr).toBe(`abtel validate: 3 problems in ${dir}\n`);
    const json = abtel('validate', '--experiments', dir, '--json');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      valid: false,
      experiments: [],
      problems: [
        { file: `${dir}/a.json`, path: 'variations[1].weight', message: 'must be a number (got true)', line: 9, column: 29 },
        { file: `${dir}/b.yaml`, path: 'surface', message: expect.stringMatching(/^must be one of/), line: 1, column: 1 },
        { file: `${dir}/b.yaml`, path: 'key', message: expect.stringMatching(/^duplicates experiment "a"/), line: 1, column: 6 },
      ],
    });
  });

  it('unknown commands and flags exit 2; bad values exit 2 with the expectation', () => {
    expect(abtel('nope').status).toBe(2);
    expect(abtel('--bogus').status).toBe(2);
    const bad = abtel('power', '--baseline', '1.5', '--mde', '0.05');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  // Node's recursive mkdir retried a directory under /proc forever at ~90 % CPU.
  it.runIf(process.platform === 'linux')('demo: an --out the file system will never create exits 1 within seconds, in one line', () => {
    const started = Date.now();
    const result = spawnSync(process.execPath, [bin, 'demo', '--out', '/proc/abtel-demo-out'], { encoding: 'utf8', timeout: 10_000 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'abtel demo: --out /proc/abtel-demo-out: cannot create /proc/abtel-demo-out, the file system refuses it (ENOENT): /proc, /sys or a similar mount?; ' +
        'pass a new or empty directory, e.g. --out ./abtel-demo on a writable file system (run with --debug for details)',
    ]);
  });

  it('analyze: an --out directory that does not exist exits 1 before the analysis; an empty --fail-on item exits 2; one line each', () => {
    const out = join(packageDir, 'no-such-dir', 'report.json');
    // The experiments do not exist either: the --out check comes first.
    const missing = abtel('analyze', '--data', 'none', '--experiments', 'none', '--experiment', 'x', '--out', out);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toEqual([
      `abtel analyze: --out ${out}: directory ${dirname(out)} does not exist; create it (mkdir -p ${dirname(out)}) or write the report elsewhere (run with --debug for details)`,
    ]);
    const empty = abtel('analyze', '--data', 'none', '--experiments', 'none', '--experiment', 'x', '--fail-on', 'srm,,guardrail');
    expect(empty.status).toBe(2);
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(empty.stderr).toMatch(/--fail-on "srm,,guardrail" has an empty condition; give a comma-separated list of srm, guardrail, /);
  });

  it('assign prints the routing JSON and validate accepts the example definitions', () => {
    const assign = abtel('assign', '--experiments', examples, '--experiment', 'support-persona', '--unit', 'conv-1', '--attr', 'locale=en');
    expect(assign.stderr).toBe('');
    expect(assign.status).toBe(0);
    const routed = JSON.parse(assign.stdout) as Record<string, unknown>;
    expect(Object.keys(routed).sort()).toEqual(['bucket', 'experiment', 'inExperiment', 'reason', 'variation']);
    expect(routed).toMatchObject({ experiment: 'support-persona', variation: 'warm', bucket: 0.9126919650007039 });
    expect(abtel('validate', '--experiments', examples).status).toBe(0);
  });
});

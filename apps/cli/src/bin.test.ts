import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commandEntries } from './commands.js';

// The built bin, exactly as a user runs it (turbo builds this package and its dependencies before
// its tests run).
const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = join(packageDir, 'bin', 'abtel.js');
const examples = join(packageDir, '..', '..', 'packages', 'core', 'examples', 'experiments');

function abtel(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
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

  it('unknown commands and flags exit 2; bad values exit 2 with the expectation', () => {
    expect(abtel('nope').status).toBe(2);
    expect(abtel('--bogus').status).toBe(2);
    const bad = abtel('power', '--baseline', '1.5', '--mde', '0.05');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
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

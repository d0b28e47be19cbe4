/** `curl` against the built `abtel-collector` bin: each public fixture, plain and gzip. */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, normaliseOtlp, readSignal, startChild, stopChild, tempDir } from './helpers.js';

const run = promisify(execFile);

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

const signalOf = (name: string) => (name.includes('trace') ? 'traces' : name.includes('metrics') ? 'metrics' : 'logs');

describe('curl → abtel-collector (child process)', () => {
  let url: string;
  let dir: string;
  let child: Awaited<ReturnType<typeof startChild>>['child'];
  const sent: Record<string, unknown[]> = { traces: [], logs: [], metrics: [] };

  beforeAll(async () => {
    dir = await tempDir();
    ({ child, url } = await startChild(['--port', '0', '--dir', dir, '--quiet']));
  });
  afterAll(async () => {
    if (child) await stopChild(child);
  });

  const names = readdirSync(FIXTURES).filter((name) => /\.jsonl?$/.test(name));
  for (const name of names) {
    it(`accepts ${name}, plain and gzip`, async () => {
      const text = readFileSync(join(FIXTURES, name), 'utf8');
      const bodies = name.endsWith('.jsonl') ? text.split('\n').filter((line) => line.trim() !== '') : [text];
      const signal = signalOf(name);
      for (const [index, body] of bodies.entries()) {
        const file = join(dir, `..`, `${name}.${index}.body`);
        await writeFile(file, body);
        const plain = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${file}`, `${url}/v1/${signal}`]);
        expect(plain.status, plain.body).toBe(200);
        await writeFile(`${file}.gz`, gzipSync(body));
        const gz = await curl(['-X', 'POST', '-H', 'Content-Type: application/json', '-H', 'Content-Encoding: gzip', '--data-binary', `@${file}.gz`, `${url}/v1/${signal}`]);
        expect(gz.status, gz.body).toBe(200);
        sent[signal]!.push(JSON.parse(body), JSON.parse(body));
      }
    });
  }

  it('wrote every fixture request as one line, semantically equal to what was sent', async () => {
    for (const signal of ['traces', 'logs', 'metrics']) {
      const lines = await readSignal(dir, signal);
      expect(lines.map((line) => normaliseOtlp(line))).toEqual(sent[signal]!.map((body) => normaliseOtlp(body)));
    }
  });

  it('answers 415 to curl with a form body', async () => {
    const reply = await curl(['-X', 'POST', '-d', 'a=b', `${url}/v1/traces`]);
    expect(reply.status).toBe(415);
    expect(JSON.parse(reply.body).message).toMatch(/unsupported Content-Type "application\/x-www-form-urlencoded"/);
  });
});

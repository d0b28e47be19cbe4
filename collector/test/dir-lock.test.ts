/**
 * One collector per data directory: a second start on a directory a live collector holds is
 * refused (in-process and through the CLI), while locks left by a crash are taken over.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCollector } from '../src/index.js';
import { LOCK_FILE } from '../src/internal/dir-lock.js';
import { BIN, dirUnderAFile, escapeRegExp, postJson, readSignal, startChild, stopChild, tempDir } from './helpers.js';

const spans = (name: string) => ({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', name }] }] }] });
const spanNames = async (dir: string) => (await readSignal(dir, 'traces')).map((line: any) => line.resourceSpans[0].scopeSpans[0].spans[0].name as string);
const readLockFile = async (dir: string) => JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;

/** A pid that surely ran on this host and is surely gone: a child that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  const pid = child.pid!;
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  return pid;
}

async function writeLock(dir: string, record: Record<string, unknown>, ageMs = 0): Promise<void> {
  const path = join(dir, LOCK_FILE);
  await writeFile(path, JSON.stringify(record));
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    await utimes(path, then, then);
  }
}

const canUnshare = canUnshareNow();

describe('directory lock', () => {
  it('a second collector on the same directory is refused, naming pid, host and the fix; the first keeps writing', async () => {
    const dir = await tempDir();
    const first = await startCollector({ port: 0, dir, progress: false, log: () => {} });
    try {
      const lock = await readLockFile(dir);
      expect(lock).toMatchObject({ pid: process.pid, hostname: hostname(), url: first.url });
      expect(typeof lock.token).toBe('string');
      expect(Date.parse(String(lock.startedAt))).not.toBeNaN();
      const before = (await readdir(dir)).sort();

      // Both collectors run in this one process: the same pid must not read as a restarted container's.
      const second = startCollector({ port: 0, dir, progress: false, log: () => {} });
      await expect(second).rejects.toMatchObject({ name: 'DirectoryLockedError', code: 'io' });
      const message = await second.then(
        () => '',
        (error: Error) => error.message,
      );
      expect(message).toMatch(
        new RegExp(`^another collector holds ${escapeRegExp(dir)}: pid ${process.pid} on host ${escapeRegExp(hostname())}, started at ${escapeRegExp(String(lock.startedAt))}, listening on ${escapeRegExp(first.url)} \\(lock file ${escapeRegExp(join(dir, LOCK_FILE))}, refreshed \\d+ s ago\\)\\. `),
      );
      expect(message).toContain(`Give each collector its own directory (e.g. --dir ${dir}-2, ABTEL_COLLECTOR_DIR or \`dir\` in the YAML file)`);
      expect(message).toContain(`if that collector is gone, delete ${join(dir, LOCK_FILE)} or start again once the lock is stale (not refreshed for 30 s)`);
      expect(message).not.toContain('\n');
      // The refused start touched nothing: same files, same lock.
      expect((await readdir(dir)).sort()).toEqual(before);
      expect(await readLockFile(dir)).toEqual(lock);

      expect((await postJson(`${first.url}/v1/traces`, spans('after the refusal'))).status).toBe(200);
      expect(await spanNames(dir)).toEqual(['after the refusal']);
    } finally {
      await first.close();
    }
    expect(await readdir(dir)).not.toContain(LOCK_FILE);

    const third = await startCollector({ port: 0, dir, progress: false, log: () => {} });
    try {
      expect(await readLockFile(dir)).toMatchObject({ pid: process.pid, url: third.url });
      expect((await postJson(`${third.url}/v1/traces`, spans('third'))).status).toBe(200);
    } finally {
      await third.close();
    }
  });

  it('a lock left by a dead process on this host is taken over at once, and the takeover is logged', async () => {
    const dir = await tempDir();
    const pid = deadPid();
    await writeLock(dir, { pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'crashed' });
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect(messages).toEqual([`took over ${join(dir, LOCK_FILE)} from pid ${pid} on host ${hostname()}, started at 2026-01-01T00:00:00.000Z: pid ${pid} is not running on this host`]);
      const lock = await readLockFile(dir);
      expect(lock).toMatchObject({ pid: process.pid, url: collector.url });
      expect(lock.token).not.toBe('crashed');
      // No temporary of the takeover is left behind.
      expect((await readdir(dir)).filter((name) => name.startsWith('.'))).toEqual([LOCK_FILE]);
    } finally {
      await collector.close();
    }
  });

  it('a fresh lock naming another host is refused; the same lock not refreshed for 30 s is taken over', async () => {
    const dir = await tempDir();
    const record = { pid: 4242, hostname: 'collector-7.other.example', startedAt: '2026-01-01T00:00:00.000Z', token: 'elsewhere', url: 'http://10.0.0.7:4318' };
    await writeLock(dir, record);
    await expect(startCollector({ port: 0, dir, progress: false, log: () => {} })).rejects.toThrow(
      new RegExp(`^another collector holds ${escapeRegExp(dir)}: pid 4242 on host collector-7\\.other\\.example, started at 2026-01-01T00:00:00\\.000Z, listening on http://10\\.0\\.0\\.7:4318 \\(lock file ${escapeRegExp(join(dir, LOCK_FILE))}, refreshed [01] s ago\\)\\. Give each collector its own directory`),
    );
    expect(await readLockFile(dir)).toEqual(record);

    await writeLock(dir, record, 45_000);
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/^took over \S+ from pid 4242 on host collector-7\.other\.example, started at 2026-01-01T00:00:00\.000Z, listening on http:\/\/10\.0\.0\.7:4318: not refreshed for 4[5-9] s$/);
      expect(await readLockFile(dir)).toMatchObject({ pid: process.pid, hostname: hostname() });
      // The new lock is fresh again.
      expect(Date.now() - (await stat(join(dir, LOCK_FILE))).mtimeMs).toBeLessThan(5000);
    } finally {
      await collector.close();
    }
  });

  it("a lock naming this process's own pid in this boot and pid namespace (a restart with the same pid) is taken over", async () => {
    const dir = await tempDir();
    // What this process records on Linux (elsewhere neither).
    const scope = existsSync('/proc/self/ns/pid')
      ? { bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidNamespace: readlinkSync('/proc/self/ns/pid') }
      : {};
    await writeLock(dir, { pid: process.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'previous-life', ...scope });
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect(messages).toEqual([
        `took over ${join(dir, LOCK_FILE)} from pid ${process.pid} on host ${hostname()}, started at 2026-01-01T00:00:00.000Z: it names this process's own pid ${process.pid}, so its holder is gone (a restart with the same pid)`,
      ]);
      expect((await readLockFile(dir)).token).not.toBe('previous-life');
    } finally {
      await collector.close();
    }
  });

  it('an empty or damaged lock file is refused while fresh and taken over once stale', async () => {
    const dir = await tempDir();
    const path = join(dir, LOCK_FILE);
    await writeFile(path, '');
    await expect(startCollector({ port: 0, dir, progress: false, log: () => {} })).rejects.toThrow(
      new RegExp(`^another collector may hold ${escapeRegExp(dir)}: its lock file ${escapeRegExp(path)} \\(refreshed [01] s ago\\) is not a readable lock \\(being written, or damaged\\)\\. Give each collector`),
    );
    await writeLock(dir, { pid: 'not a number' }, 31_000);
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      expect(messages).toEqual([`took over ${path} (it was not a readable lock): not refreshed for 31 s`]);
    } finally {
      await collector.close();
    }
  });

  it('a directory the lock cannot be created in is not fatal: one line says it is not locked, requests get 503', async () => {
    const { dir } = await dirUnderAFile();
    const messages: string[] = [];
    const collector = await startCollector({ port: 0, dir, progress: false, log: (line) => messages.push(line) });
    try {
      const lockLines = messages.filter((line) => line.includes(LOCK_FILE));
      expect(lockLines).toHaveLength(1);
      expect(lockLines[0]).toMatch(new RegExp(`^cannot create ${escapeRegExp(join(dir, LOCK_FILE))} \\(ENOTDIR: .*\\): ${escapeRegExp(dir)} is not locked against a second collector; trying again every 5 s$`));
      expect((await postJson(`${collector.url}/v1/traces`, spans('x'))).status).toBe(503);
    } finally {
      await collector.close();
    }
  });
});

describe('abtel-collector with a directory another collector holds', () => {
  it('prints the refusal as one line without a stack trace and exits 1; the first keeps serving and removes its lock at stop', async () => {
    const dir = await tempDir();
    const first = await startChild(['--port', '0', '--dir', dir, '--quiet']);
    try {
      const result = spawnSync(process.execPath, [BIN, '--port', '0', '--dir', dir, '--quiet'], { encoding: 'utf8', timeout: 15_000 });
      expect(result.signal).toBeNull();
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^abtel-collector: another collector holds ${escapeRegExp(dir)}: pid ${first.child.pid} on host ${escapeRegExp(hostname())}, started at \\S+, listening on ${escapeRegExp(first.url)} .*Give each collector its own directory \\(e\\.g\\. --dir ${escapeRegExp(dir)}-2, ABTEL_COLLECTOR_DIR .*delete ${escapeRegExp(join(dir, LOCK_FILE))} .*\\)\\.$`),
      );
      expect(result.stderr).not.toMatch(/^\s+at /m);

      expect((await postJson(`${first.url}/v1/traces`, spans('still served'))).status).toBe(200);
      expect(await stopChild(first.child)).toBe(0);
      expect(await readdir(dir)).not.toContain(LOCK_FILE);
      expect(await spanNames(dir)).toEqual(['still served']);
    } finally {
      await stopChild(first.child, 'SIGKILL');
    }
  });

  it('after kill -9 of the holder, the next start on this host takes the lock over at once', async () => {
    const dir = await tempDir();
    const first = await startChild(['--port', '0', '--dir', dir, '--quiet']);
    const pid = first.child.pid!;
    await stopChild(first.child, 'SIGKILL');
    const left = await readLockFile(dir);
    expect(left).toMatchObject({ pid, url: first.url });
    const second = await startChild(['--port', '0', '--dir', dir, '--quiet']);
    try {
      await expect
        .poll(second.stderr)
        .toContain(`abtel collector: took over ${join(dir, LOCK_FILE)} from pid ${pid} on host ${hostname()}, started at ${String(left.startedAt)}, listening on ${first.url}: pid ${pid} is not running on this host\n`);
      expect(await readLockFile(dir)).toMatchObject({ pid: second.child.pid, url: second.url });
      expect(await stopChild(second.child)).toBe(0);
      expect(await readdir(dir)).not.toContain(LOCK_FILE);
    } finally {
      await stopChild(second.child, 'SIGKILL');
    }
  });

  // A container on the host network shares the host name but has pids of its own: the holder's pid
  // is absent there, which read as "not running on this host" and let the live lock be taken.
  it.runIf(canUnshare)('a start in another pid namespace (a real one, via unshare) watches the live lock and is refused', async () => {
    const dir = await tempDir();
    const first = await startChild(['--port', '0', '--dir', dir, '--quiet']);
    try {
      const held = await readLockFile(dir);
      const second = spawn('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, BIN, '--port', '0', '--dir', dir, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      second.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Refused within one heartbeat of the first (5 s); a start that took the lock over would keep running.
      const exited = new Promise<number | null>((resolve) => second.once('exit', resolve));
      const killer = setTimeout(() => second.kill('SIGKILL'), 15_000);
      const code = await exited.finally(() => clearTimeout(killer));
      expect(code).toBe(1);
      expect(stderr).toContain(
        `abtel collector: ${join(dir, LOCK_FILE)} names pid ${first.child.pid} on host ${hostname()}, started at ${String(held.startedAt)}, listening on ${first.url}, but it was written in another pid namespace (${String(held.pidNamespace)}; this process: pid:[`,
      );
      expect(stderr).toMatch(/\nabtel-collector: another collector holds /);
      // The first never lost its lock and still writes.
      expect(await readLockFile(dir)).toMatchObject({ token: held.token });
      expect((await postJson(`${first.url}/v1/traces`, spans('after'))).status).toBe(200);
    } finally {
      await stopChild(first.child);
    }
  });
});

/** Whether this machine lets us create a pid namespace (root, and no sandbox forbidding it). */
function canUnshareNow(): boolean {
  return spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
}

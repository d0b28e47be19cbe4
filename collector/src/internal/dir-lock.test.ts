/**
 * The lock's heartbeat (with a short interval) and the takeover race, on real files. Refusals and
 * takeovers at start-up are tested through `startCollector` in test/dir-lock.test.ts.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, uptime } from 'node:os';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryLock, DirectoryLockedError, LOCK_FILE } from './dir-lock.js';

const HEARTBEAT_MS = 50;
const dirs: string[] = [];
const locks: DirectoryLock[] = [];

afterEach(async () => {
  await Promise.all(locks.splice(0).map((lock) => lock.release()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'abtel-dir-lock-'));
  dirs.push(dir);
  return dir;
}

async function acquire(dir: string, messages: string[] = []): Promise<DirectoryLock> {
  const lock = await DirectoryLock.acquire(dir, { log: (line) => messages.push(line), heartbeatMs: HEARTBEAT_MS });
  locks.push(lock);
  return lock;
}

const tokenIn = async (dir: string) => (JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as { token: string }).token;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DirectoryLock heartbeat', () => {
  it('refreshes the mtime of its lock', async () => {
    const dir = await tempDir();
    await acquire(dir);
    const path = join(dir, LOCK_FILE);
    const old = new Date(Date.now() - 20_000);
    await utimes(path, old, old);
    await expect.poll(async () => Date.now() - (await stat(path)).mtimeMs, { timeout: 2000 }).toBeLessThan(5000);
  });

  it('says once that another process took the directory over, and leaves that lock alone at release', async () => {
    const dir = await tempDir();
    const messages: string[] = [];
    const lock = await acquire(dir, messages);
    const other = { pid: 4242, hostname: 'other.example', startedAt: '2026-01-01T00:00:00.000Z', token: 'theirs' };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(other));
    await expect.poll(() => messages, { timeout: 2000 }).toHaveLength(1);
    expect(messages[0]).toBe(
      `another process took ${dir} over (its lock ${join(dir, LOCK_FILE)} now names pid 4242 on host other.example, started at 2026-01-01T00:00:00.000Z): two collectors are writing into one directory; stop one of them`,
    );
    expect(lock.held).toBe(false);
    await sleep(HEARTBEAT_MS * 5);
    expect(messages).toHaveLength(1);
    await lock.release();
    expect(await tokenIn(dir)).toBe('theirs');
  });

  it('creates its lock again when the file is removed, so a second collector is still refused', async () => {
    const dir = await tempDir();
    const messages: string[] = [];
    const lock = await acquire(dir, messages);
    const token = await tokenIn(dir);
    await unlink(join(dir, LOCK_FILE));
    await expect.poll(() => readdir(dir), { timeout: 2000 }).toContain(LOCK_FILE);
    expect(await tokenIn(dir)).toBe(token);
    expect(messages).toEqual([`${join(dir, LOCK_FILE)} was removed while this collector held it; creating it again`]);
    expect(lock.held).toBe(true);
    await expect(acquire(dir)).rejects.toBeInstanceOf(DirectoryLockedError);
  });

  it('a directory that cannot be written yet: says once that it is not locked, and takes the lock when it can', async () => {
    const dir = join(await tempDir(), 'not-yet');
    const messages: string[] = [];
    const lock = await acquire(dir, messages);
    expect(lock.held).toBe(false);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^cannot create .*\(ENOENT: .*\): .*not-yet is not locked against a second collector; trying again every 0\.05 s$/);
    await sleep(HEARTBEAT_MS * 3);
    expect(messages).toHaveLength(1);
    await mkdir(dir);
    await expect.poll(() => lock.held, { timeout: 2000 }).toBe(true);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('DirectoryLock takeover race', () => {
  it('two starters that find the same stale lock: exactly one takes it, the other is refused', async () => {
    const dir = await tempDir();
    const path = join(dir, LOCK_FILE);
    await writeFile(path, JSON.stringify({ pid: 4242, hostname: 'gone.example', startedAt: '2026-01-01T00:00:00.000Z', token: 'stale' }));
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    const results = await Promise.allSettled([acquire(dir), acquire(dir)]);
    const taken = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(taken).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toBeInstanceOf(DirectoryLockedError);
    expect((taken[0] as PromiseFulfilledResult<DirectoryLock>).value.held).toBe(true);
    // No temporary of either takeover is left behind.
    expect(await readdir(dir)).toEqual([LOCK_FILE]);
  });

  /** A stale lock of another host, not refreshed for a minute. */
  async function staleLock(dir: string): Promise<string> {
    const path = join(dir, LOCK_FILE);
    await writeFile(path, JSON.stringify({ pid: 4242, hostname: 'gone.example', startedAt: '2026-01-01T00:00:00.000Z', token: 'stale' }));
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    return path;
  }

  it('a starter that finds another starter taking the stale lock over waits for it, however long, and is then refused', async () => {
    const dir = await tempDir();
    const path = await staleLock(dir);
    // The other starter found the same lock stale and holds the takeover claim.
    const claim = `${path}.takeover`;
    await writeFile(claim, '');
    const messages: string[] = [];
    const late = acquire(dir, messages);
    const outcome = late.then(
      () => 'taken',
      (error: unknown) => error,
    );
    // Well past the 100 ms in which reading back after a takeover would have caught the race.
    await sleep(400);
    await writeFile(path, JSON.stringify({ pid: 4343, hostname: 'winner.example', startedAt: new Date().toISOString(), token: 'winner' }));
    await unlink(claim);
    const error = await outcome;
    expect(error).toBeInstanceOf(DirectoryLockedError);
    expect((error as DirectoryLockedError).holder?.token).toBe('winner');
    expect(await tokenIn(dir)).toBe('winner');
    expect(messages).toEqual([]);
  });

  it('a takeover claim abandoned by a start that died mid-takeover (over 10 s old) is removed and the stale lock taken', async () => {
    const dir = await tempDir();
    const path = await staleLock(dir);
    const claim = `${path}.takeover`;
    await writeFile(claim, '');
    const old = new Date(Date.now() - 11_000);
    await utimes(claim, old, old);
    const messages: string[] = [];
    const lock = await acquire(dir, messages);
    expect(lock.held).toBe(true);
    expect(messages).toEqual([expect.stringMatching(/^took over .* from pid 4242 on host gone\.example, .*: not refreshed for 60 s$/)]);
    expect(await readdir(dir)).toEqual([LOCK_FILE]);
  });
});

// Boot ids and pid namespaces are Linux's; elsewhere locks carry neither and pids compare as before.
describe.runIf(existsSync('/proc/self/ns/pid'))('DirectoryLock: whose pid a lock names (boot, pid namespace)', () => {
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const pidNamespace = readlinkSync('/proc/self/ns/pid');
  const OTHER_NAMESPACE = 'pid:[1]';

  /** Writes a lock of this host naming `pid`, with the given boot and namespace, refreshed `ageMs` ago. */
  async function lockOfThisHost(dir: string, fields: { pid: number; bootId?: string; pidNamespace?: string }, ageMs = 0): Promise<string> {
    const path = join(dir, LOCK_FILE);
    await writeFile(path, JSON.stringify({ hostname: hostname(), startedAt: '2026-11-23T00:00:00.000Z', token: 'other', ...fields }));
    const at = new Date(Date.now() - ageMs);
    await utimes(path, at, at);
    return path;
  }

  it('records the boot and pid namespace of its holder', async () => {
    const dir = await tempDir();
    await acquire(dir);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid, bootId, pidNamespace });
  });

  it('a lock from another pid namespace naming this very pid, still refreshed: refused after watching, not taken as a restart', async () => {
    const dir = await tempDir();
    // Another container on the host network, pid 1 like this one would be: its pid says nothing here.
    const path = await lockOfThisHost(dir, { pid: process.pid, bootId, pidNamespace: OTHER_NAMESPACE });
    const refresh = setInterval(() => {
      const now = new Date();
      void utimes(path, now, now).catch(() => undefined);
    }, 100);
    try {
      const messages: string[] = [];
      const error = await DirectoryLock.acquire(dir, { log: (line) => messages.push(line), heartbeatMs: HEARTBEAT_MS, staleAfterMs: 5_000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DirectoryLockedError);
      expect((error as DirectoryLockedError).holder?.token).toBe('other');
      expect(messages).toEqual([
        `${path} names pid ${process.pid} on host ${hostname()}, started at 2026-11-23T00:00:00.000Z, but it was written in another pid namespace (pid:[1]; this process: ${pidNamespace}): waiting up to 5 s for it to be refreshed (its holder runs: this start is refused) or to go stale (taken over)`,
      ]);
    } finally {
      clearInterval(refresh);
    }
    expect(await tokenIn(dir)).toBe('other');
  });

  it('a lock from another pid namespace that is not refreshed (a restarted container\'s): taken over once stale, without a second start', async () => {
    const dir = await tempDir();
    await lockOfThisHost(dir, { pid: 1, bootId, pidNamespace: OTHER_NAMESPACE }, 200);
    const messages: string[] = [];
    const started = Date.now();
    const lock = await DirectoryLock.acquire(dir, { log: (line) => messages.push(line), heartbeatMs: HEARTBEAT_MS, staleAfterMs: 1_000 });
    locks.push(lock);
    expect(lock.held).toBe(true);
    // It waited for the rest of the stale interval (800 ms after the lock's last refresh), not less.
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(messages[1]).toMatch(/^took over .* from pid 1 on host .*: it was written in another pid namespace \(pid:\[1\]; this process: pid:\[\d+\]\), and not refreshed for 1 s while this start waited$/);
    expect(await tokenIn(dir)).not.toBe('other');
  });

  it('another boot: taken over at once when last refreshed before this boot, else (another machine of this name) left to go stale', async () => {
    const dir = await tempDir();
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    // Refreshed a second ago by a machine with this host name but another boot: its pid, gone here, says nothing.
    await lockOfThisHost(dir, { pid: exited, bootId: 'another-boot' }, 1_000);
    await expect(acquire(dir)).rejects.toBeInstanceOf(DirectoryLockedError);
    // Last refreshed before this host booted (within the stale interval of a long one, as tests need).
    const bootedAt = Date.now() - uptime() * 1000;
    const path = await lockOfThisHost(dir, { pid: exited, bootId: 'another-boot' });
    const before = new Date(bootedAt - 1_000);
    await utimes(path, before, before);
    const messages: string[] = [];
    const lock = await DirectoryLock.acquire(dir, { log: (line) => messages.push(line), heartbeatMs: HEARTBEAT_MS, staleAfterMs: Date.now() - bootedAt + 60_000 });
    locks.push(lock);
    expect(lock.held).toBe(true);
    expect(messages).toEqual([expect.stringMatching(/: it was last refreshed before this host started \(another boot, another-boot\)$/)]);
  });

  it('a lock written before boot and namespace were recorded: pids compared as before', async () => {
    const dir = await tempDir();
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    await lockOfThisHost(dir, { pid: exited });
    const messages: string[] = [];
    await acquire(dir, messages);
    expect(messages).toEqual([expect.stringMatching(new RegExp(`: pid ${exited} is not running on this host$`))]);
  });
});

/**
 * A lock file that keeps a second collector out of a data directory. Two collectors in one
 * directory append to the same open files, rename files the other still writes into, and one's
 * start-up recovery removes the other's gzip temporaries: telemetry is lost or mixed.
 *
 * The lock is `<dir>/.abtel-collector.lock` (hidden: the readers in @abtel/files skip dot files),
 * a JSON record of the holder (pid, hostname, start time, a random token, later its URL). Its
 * holder refreshes the file's mtime every `LOCK_HEARTBEAT_MS` and removes it at shutdown.
 *
 * Invariants:
 * - A lock is live while its mtime is younger than `LOCK_STALE_AFTER_MS` and, when it names this
 *   host, this boot of it and this pid namespace, its pid runs and is not this process's own
 *   (unless this process holds that very token). A lock of this host and boot from another pid
 *   namespace (a restarted container, or another container with this host name) is watched: live
 *   if it is refreshed, else stale once not refreshed for `LOCK_STALE_AFTER_MS`. Anything else is
 *   stale and is taken over: a crash never needs a person to delete the file.
 * - One starter at a time replaces a stale lock, and only the very lock it found stale: it holds
 *   the exclusive takeover claim while it checks and replaces (so two starters that found the same
 *   stale lock cannot both take it, however far apart they get there).
 * - Only the holder of a token removes the file, and only while it still holds that token.
 * - A file system error never stops the collector: an unwritable directory already gets 503s from
 *   the writers, and the lock is tried again on every heartbeat until it is taken.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { AbtelError } from '@abtel/core';
import { z } from 'zod';
import { describeError } from './writer.js';

/** The lock's file name inside the data directory. */
export const LOCK_FILE = '.abtel-collector.lock';
/** A lock whose mtime is older than this is stale: its holder stopped refreshing it. */
export const LOCK_STALE_AFTER_MS = 30_000;
/** How often the holder refreshes the lock's mtime: several times within the stale window. */
export const LOCK_HEARTBEAT_MS = 5_000;
/**
 * After replacing a stale lock, how long to wait before reading it back: a second line of defence
 * behind the claim file (below) for two starters that both hold a claim (one of them removed the
 * other's as stale); reading back after both renames leaves exactly one seeing its own token.
 */
const TAKEOVER_SETTLE_MS = 100;
/**
 * The claim on a takeover: `<lock>.takeover`, created exclusively by the one starter that replaces
 * a stale lock and removed right after. A starter that finds it waits and reads the lock again, so
 * two starters that found the same stale lock never both replace it, however far apart they get
 * there (reading back after a pause alone only covers starters within that pause of each other).
 */
const CLAIM_SUFFIX = '.takeover';
/**
 * A claim older than this was left by a starter that stopped mid-takeover (it holds the claim for
 * a few file operations): it is removed, and the takeover goes on.
 */
const CLAIM_STALE_AFTER_MS = 10_000;
/** How long a starter that finds another's claim waits before reading the lock again. */
const CLAIM_WAIT_MS = 50;

/** What a lock file holds. */
export const LockRecord = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  /** When the holder started, ISO 8601. */
  startedAt: z.string(),
  /** Random per start: tells this holder's lock from a later one with the same pid and host. */
  token: z.string().min(1),
  /** The holder's OTLP/HTTP URL, once it listens. */
  url: z.string().optional(),
  /** The holder's boot of its host (Linux `boot_id`): a pid means something only in the boot that wrote it. */
  bootId: z.string().optional(),
  /** The holder's pid namespace (Linux, e.g. `pid:[4026531836]`): containers sharing a host name have their own pids. */
  pidNamespace: z.string().optional(),
});
export type LockRecord = z.infer<typeof LockRecord>;

/** A lock file as found: its record (undefined when it is not one, e.g. still empty), mtime and age. */
interface FoundLock {
  readonly record: LockRecord | undefined;
  readonly mtimeMs: number;
  readonly ageMs: number;
}

/** Whether two readings are of the same lock, unchanged in between (same holder, not refreshed or replaced). */
function sameLock(a: FoundLock, b: FoundLock): boolean {
  return a.record?.token === b.record?.token && a.mtimeMs === b.mtimeMs;
}

/**
 * Another collector holds the data directory: `startCollector` refuses to start.
 * @example
 * try {
 *   await startCollector({ dir: '/data' });
 * } catch (error) {
 *   // By name, not instanceof: a second copy of the package has its own class.
 *   if (isAbtelError(error, 'io') && error.name === 'DirectoryLockedError') console.error(error.message);
 * }
 */
export class DirectoryLockedError extends AbtelError {
  constructor(
    message: string,
    /** The lock's record, or undefined when the file could not be read as one. */
    readonly holder: LockRecord | undefined,
    readonly lockPath: string,
  ) {
    super('io', message);
    this.name = 'DirectoryLockedError';
  }
}

// The tokens of this process's locks that are neither released nor lost: a lock file naming this
// pid belongs to a live collector exactly when its token is here (else to an earlier process that
// had the same pid). A token is added before its file is written, so that two starters in one
// process racing for a stale lock see each other. A process global: two copies of this module in
// one process (sources and build) must see each other's tokens.
const LIVE_KEY = Symbol.for('@abtel/collector.liveDirectoryLocks');
const liveTokens: Set<string> = ((globalThis as Record<symbol, unknown>)[LIVE_KEY] ??= new Set<string>()) as Set<string>;

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** True unless signal 0 says no such process (EPERM: it exists, owned by another user). */
function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) !== 'ESRCH';
  }
}

/** Reads a lock file; undefined when there is none. */
async function readLock(path: string): Promise<FoundLock | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { mtimeMs } = await handle.stat();
    const text = await handle.readFile('utf8');
    let record: LockRecord | undefined;
    try {
      const parsed = LockRecord.safeParse(JSON.parse(text));
      record = parsed.success ? parsed.data : undefined;
    } catch {
      record = undefined;
    }
    return { record, mtimeMs, ageMs: Date.now() - mtimeMs };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Where this process's pid means something: its host, the host's boot, its pid namespace (the last two on Linux only). */
interface ProcessScope {
  readonly hostname: string;
  readonly bootId: string | undefined;
  readonly pidNamespace: string | undefined;
  /** When this host booted (this host's clock). */
  readonly bootedAtMs: number;
}

/** Reads one identifier; undefined where the system has none (not Linux, no /proc). */
function identifier(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

let scope: ProcessScope | undefined;
function currentScope(): ProcessScope {
  scope ??= {
    hostname: hostname(),
    bootId: identifier(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNamespace: identifier(() => readlinkSync('/proc/self/ns/pid')),
    bootedAtMs: Date.now() - uptime() * 1000,
  };
  return scope;
}

/**
 * What a found lock says of its holder: gone (`stale`, with why), running (`live`), or `unsure`: a
 * lock of this host and boot written in another pid namespace. Its pid means nothing here, and it
 * is either a container restarted since (its namespace is gone, the usual case) or another
 * container sharing this host name (still running); only its heartbeat tells them apart.
 */
type Judgement = { readonly kind: 'stale'; readonly reason: string } | { readonly kind: 'live' } | { readonly kind: 'unsure'; readonly why: string };

function judge(found: FoundLock, staleAfterMs: number): Judgement {
  const { record, ageMs } = found;
  if (record && liveTokens.has(record.token)) return { kind: 'live' };
  if (ageMs >= staleAfterMs) return { kind: 'stale', reason: `not refreshed for ${Math.round(ageMs / 1000)} s` };
  const here = currentScope();
  // A pid means something only on the host that wrote it...
  if (!record || record.hostname !== here.hostname) return { kind: 'live' };
  // ...in the boot that wrote it: another boot id is an earlier boot of this host (gone, if the
  // lock was last refreshed before this boot) or another machine with the same name.
  if (record.bootId !== undefined && here.bootId !== undefined && record.bootId !== here.bootId) {
    if (found.mtimeMs < here.bootedAtMs) return { kind: 'stale', reason: `it was last refreshed before this host started (another boot, ${record.bootId})` };
    return { kind: 'live' };
  }
  // ...and in its pid namespace (locks written before the namespace was recorded are taken as ours).
  if (record.pidNamespace !== undefined && here.pidNamespace !== undefined && record.pidNamespace !== here.pidNamespace) {
    return { kind: 'unsure', why: `it was written in another pid namespace (${record.pidNamespace}; this process: ${here.pidNamespace})` };
  }
  // A process restarted with the same pid in the same namespace finds its previous life's lock.
  if (record.pid === process.pid) return { kind: 'stale', reason: `it names this process's own pid ${record.pid}, so its holder is gone (a restart with the same pid)` };
  if (!pidIsAlive(record.pid)) return { kind: 'stale', reason: `pid ${record.pid} is not running on this host` };
  return { kind: 'live' };
}

/** Removes a takeover claim left by a starter that stopped mid-takeover (older than CLAIM_STALE_AFTER_MS). */
async function removeIfAbandoned(claim: string): Promise<void> {
  try {
    const { mtimeMs } = await stat(claim);
    if (Date.now() - mtimeMs >= CLAIM_STALE_AFTER_MS) await unlink(claim);
  } catch {
    // Gone already (its starter finished), or unreadable: the next round looks again.
  }
}

function describeHolder(record: LockRecord): string {
  return `pid ${record.pid} on host ${record.hostname}, started at ${record.startedAt}${record.url ? `, listening on ${record.url}` : ''}`;
}

/** The refusal: who holds the directory, and the ways out. One line, as the CLI prints one line. */
function lockedMessage(dir: string, lockPath: string, found: FoundLock, staleAfterMs: number): string {
  const refreshed = `refreshed ${Math.max(0, Math.round(found.ageMs / 1000))} s ago`;
  const who = found.record
    ? `another collector holds ${dir}: ${describeHolder(found.record)} (lock file ${lockPath}, ${refreshed})`
    : `another collector may hold ${dir}: its lock file ${lockPath} (${refreshed}) is not a readable lock (being written, or damaged)`;
  return (
    `${who}. Give each collector its own directory (e.g. --dir ${dir}-2, ABTEL_COLLECTOR_DIR or \`dir\` in the YAML file); ` +
    `if that collector is gone, delete ${lockPath} or start again once the lock is stale (not refreshed for ${staleAfterMs / 1000} s).`
  );
}

type Attempt = { readonly kind: 'taken' } | { readonly kind: 'live'; readonly found: FoundLock } | { readonly kind: 'failed'; readonly error: unknown };

type State = 'held' | 'unlocked' | 'lost' | 'released';

export interface DirectoryLockOptions {
  readonly log: (message: string) => void;
  /** Heartbeat interval (tests shorten it; default `LOCK_HEARTBEAT_MS`). */
  readonly heartbeatMs?: number;
  /** When a lock not refreshed counts as stale (tests shorten it; default `LOCK_STALE_AFTER_MS`). */
  readonly staleAfterMs?: number;
}

/**
 * The collector's hold on its data directory.
 * @example
 * const lock = await DirectoryLock.acquire('/data', { log: console.error }); // throws DirectoryLockedError when held
 * await lock.setUrl('http://127.0.0.1:4318');
 * await lock.release();
 */
export class DirectoryLock {
  readonly path: string;
  private readonly token = randomBytes(16).toString('hex');
  private record: LockRecord;
  private state: State = 'unlocked';
  private timer: NodeJS.Timeout | undefined;
  /** The heartbeat under way, awaited by `release` so that it does not recreate a removed lock. */
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    readonly dir: string,
    private readonly options: DirectoryLockOptions,
  ) {
    this.path = join(dir, LOCK_FILE);
    const here = currentScope();
    this.record = {
      pid: process.pid,
      hostname: here.hostname,
      startedAt: new Date().toISOString(),
      token: this.token,
      ...(here.bootId !== undefined ? { bootId: here.bootId } : {}),
      ...(here.pidNamespace !== undefined ? { pidNamespace: here.pidNamespace } : {}),
    };
    liveTokens.add(this.token);
  }

  /**
   * Takes the lock on `dir`, taking over a stale one (logged). When the directory cannot be
   * written, logs that it is not locked and returns an unlocked instance that keeps trying.
   * @throws DirectoryLockedError when a live collector holds the directory.
   * @example
   * const lock = await DirectoryLock.acquire('/data', { log: (line) => process.stderr.write(`${line}\n`) });
   */
  static async acquire(dir: string, options: DirectoryLockOptions): Promise<DirectoryLock> {
    const lock = new DirectoryLock(dir, options);
    const attempt = await lock.attempt();
    if (attempt.kind === 'live') {
      liveTokens.delete(lock.token);
      throw new DirectoryLockedError(lockedMessage(dir, lock.path, attempt.found, lock.staleAfterMs), attempt.found.record, lock.path);
    }
    if (attempt.kind === 'failed') {
      options.log(`cannot create ${lock.path} (${describeError(attempt.error)}): ${dir} is not locked against a second collector; trying again every ${(options.heartbeatMs ?? LOCK_HEARTBEAT_MS) / 1000} s`);
    }
    lock.schedule();
    return lock;
  }

  /** When a lock not refreshed counts as stale. */
  get staleAfterMs(): number {
    return this.options.staleAfterMs ?? LOCK_STALE_AFTER_MS;
  }

  /** True while this process holds the lock. */
  get held(): boolean {
    return this.state === 'held';
  }

  /** Adds the collector's URL to the lock, so that a refused second start can name it. */
  async setUrl(url: string): Promise<void> {
    this.record = { ...this.record, url };
    if (this.state === 'held') await this.replace().catch(() => undefined);
  }

  /** Stops the heartbeat and removes the lock file if it still holds this collector's token. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    const wasHeld = this.state === 'held';
    this.state = 'released';
    liveTokens.delete(this.token);
    if (!wasHeld) return;
    const found = await readLock(this.path).catch(() => undefined);
    if (found?.record?.token === this.token) await unlink(this.path).catch(() => undefined);
  }

  /** Creates the lock, or takes over a stale one; never throws. */
  private async attempt(): Promise<Attempt> {
    // A few rounds: the file may vanish between a failed create and the read (its holder stopped),
    // or another starter may hold the takeover claim or win the takeover (then a later round finds
    // its live lock).
    for (let round = 0; round < 5; round += 1) {
      if (this.stopped) return { kind: 'failed', error: new Error('released') };
      try {
        await this.create();
        return this.taken();
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') return { kind: 'failed', error };
      }
      let found;
      let reason;
      try {
        found = await readLock(this.path);
        if (!found) continue;
        if (found.record?.token === this.token) return this.taken();
        const judgement = judge(found, this.staleAfterMs);
        if (judgement.kind === 'live') return { kind: 'live', found };
        if (judgement.kind === 'stale') {
          reason = judgement.reason;
        } else {
          const watched = await this.watch(found, judgement.why);
          if (watched.kind === 'changed') continue;
          if (watched.kind === 'refreshed') return { kind: 'live', found: watched.found };
          reason = `${judgement.why}, and not refreshed for ${Math.round(this.staleAfterMs / 1000)} s while this start waited`;
        }
        if (!(await this.replaceUnderClaim(found))) continue;
        await sleep(TAKEOVER_SETTLE_MS);
        if ((await readLock(this.path))?.record?.token !== this.token) continue;
      } catch (error) {
        return { kind: 'failed', error };
      }
      const whose = found.record ? `from ${describeHolder(found.record)}` : '(it was not a readable lock)';
      this.options.log(`took over ${this.path} ${whose}: ${reason}`);
      return this.taken();
    }
    return { kind: 'failed', error: new Error(`${this.path} kept changing while it was being taken`) };
  }

  private taken(): Attempt {
    this.state = 'held';
    return { kind: 'taken' };
  }

  private text(): string {
    return `${JSON.stringify(this.record)}\n`;
  }

  /** Creates the lock file only if there is none (`wx`: atomic, also against another host on NFS v3+). */
  private async create(): Promise<void> {
    const handle = await open(this.path, 'wx', 0o644);
    try {
      await handle.writeFile(this.text());
    } catch (error) {
      // A full disk: an empty lock would look like another collector's to the next attempt.
      await handle.close().catch(() => undefined);
      await unlink(this.path).catch(() => undefined);
      throw error;
    }
    await handle.close();
  }

  /**
   * Watches a lock whose holder cannot be judged by its pid until it is refreshed (its holder runs),
   * changes (removed or replaced), or goes stale, which with the heartbeat every few seconds takes
   * at most the stale interval after its last refresh. Said in one line first: the start waits.
   */
  private async watch(found: FoundLock, why: string): Promise<{ kind: 'refreshed'; found: FoundLock } | { kind: 'changed' } | { kind: 'stale' }> {
    const waitMs = Math.max(0, found.mtimeMs + this.staleAfterMs - Date.now());
    this.options.log(
      `${this.path} names ${found.record ? describeHolder(found.record) : 'another holder'}, but ${why}: waiting up to ${Math.ceil(waitMs / 1000)} s for it to be refreshed (its holder runs: this start is refused) or to go stale (taken over)`,
    );
    const pollMs = Math.min(500, (this.options.heartbeatMs ?? LOCK_HEARTBEAT_MS) / 2);
    for (;;) {
      await sleep(pollMs);
      // Released meanwhile (a heartbeat's retry at shutdown): the caller stops too.
      if (this.stopped) return { kind: 'changed' };
      const now = await readLock(this.path);
      if (now === undefined || now.record?.token !== found.record?.token) return { kind: 'changed' };
      if (now.mtimeMs !== found.mtimeMs) return { kind: 'refreshed', found: now };
      if (now.ageMs >= this.staleAfterMs) return { kind: 'stale' };
    }
  }

  /**
   * Replaces the stale lock `found` with this one while holding the takeover claim, and only if the
   * lock is still exactly `found` (another starter may have taken it over between our read and our
   * claim). While another starter holds the claim, waits for it (at most until the claim counts as
   * abandoned). False when the lock changed meanwhile: the caller reads it again.
   */
  private async replaceUnderClaim(found: FoundLock): Promise<boolean> {
    const claim = `${this.path}${CLAIM_SUFFIX}`;
    let handle;
    for (;;) {
      try {
        handle = await open(claim, 'wx', 0o644);
        break;
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') throw error;
      }
      await removeIfAbandoned(claim);
      await sleep(CLAIM_WAIT_MS);
      const now = await readLock(this.path);
      // The claim's holder took the lock over (or it was removed): the caller decides again.
      if (now === undefined || !sameLock(now, found)) return false;
    }
    try {
      await handle.close();
      const now = await readLock(this.path);
      if (now === undefined || !sameLock(now, found)) return false;
      await this.replace();
      return true;
    } finally {
      await unlink(claim).catch(() => undefined);
    }
  }

  /** Replaces the lock file whole (a temporary renamed over it), so no reader sees it half written. */
  private async replace(): Promise<void> {
    const temporary = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, this.text(), { mode: 0o644 });
      await rename(temporary, this.path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  private schedule(): void {
    if (this.stopped || (this.state !== 'held' && this.state !== 'unlocked')) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => this.schedule());
    }, this.options.heartbeatMs ?? LOCK_HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Refreshes a held lock, notices it lost, or tries again to take a lock not yet held. */
  private async beat(): Promise<void> {
    if (this.state === 'held') {
      let found;
      try {
        found = await readLock(this.path);
      } catch {
        return; // unreadable for now (an I/O error): the next beat looks again
      }
      if (found?.record?.token === this.token) {
        const now = new Date();
        await utimes(this.path, now, now).catch(() => undefined);
        return;
      }
      if (found) {
        this.lose(found);
        return;
      }
      // Removed by hand, or with the whole directory: take it again (below), so that a second
      // collector started now is still refused.
      this.options.log(`${this.path} was removed while this collector held it; creating it again`);
      this.state = 'unlocked';
    }
    if (this.state !== 'unlocked') return;
    const attempt = await this.attempt();
    if (attempt.kind === 'live') this.lose(attempt.found);
    // 'failed' stays quiet: said once at start, and the writers report the directory's trouble.
  }

  /** Another process holds the directory now: said once, and the heartbeat stops. */
  private lose(found: FoundLock): void {
    this.state = 'lost';
    liveTokens.delete(this.token);
    const who = found.record ? describeHolder(found.record) : 'an unreadable lock';
    this.options.log(
      `another process took ${this.dir} over (its lock ${this.path} now names ${who}): two collectors are writing into one directory; stop one of them`,
    );
  }
}

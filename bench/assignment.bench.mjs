#!/usr/bin/env node
// Assignments per second for a 2-arm 50/50 experiment over 1,000,000 distinct conversation ids:
// abtel cold (first routing of each id, stored), abtel sticky hit (every id already stored; in
// first-arrival order and in a random order),
// against the GrowthBook JS SDK evaluating the same split locally and the FeatBit Node server SDK
// in offline mode with a JSON bootstrap, all measured in this run. Writes results/assignment.json.
//
// Usage: node assignment.bench.mjs [--ids 1000000] [--rounds 5]
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExperimentDefinition, ExperimentSet, MemoryAssignmentStore, StickyRouter, assign, bucketOf } from '@abtel/core';
import { GrowthBookClient } from '@growthbook/growthbook';
import { median, progress } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { ids: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.ids);
const ROUNDS = Number(values.rounds);
const KEY = 'support-persona';

/**
 * Distinct, realistic-looking conversation ids, built before any timing. They go through JSON so
 * that they are flat strings, as ids parsed from a request are (a concatenated string is a rope
 * whose characters every SDK's hash reads more slowly).
 */
function makeIds(count, prefix) {
  const ids = new Array(count);
  for (let i = 0; i < count; i++) ids[i] = `${prefix}-${(Math.imul(i + 1, 2654435761) >>> 0).toString(16).padStart(8, '0')}-${i.toString(36)}`;
  return JSON.parse(JSON.stringify(ids));
}

const ids = makeIds(N, 'conv');
const shuffledIds = shuffled(ids);
const warmIds = makeIds(100_000, 'warm');

/**
 * The same ids as new string objects, as a service sees them: each request parses its own copy.
 * V8 caches a string's hash on the string object, so looking up the very objects that were
 * stored would flatter any hash table (a `Map` among them). Every timed pass, GrowthBook's and
 * FeatBit's included, gets its own fresh copy, built outside the timing.
 */
function freshCopy(list) {
  return JSON.parse(JSON.stringify(list));
}

/** A deterministic shuffle: later turns of conversations do not arrive in first-turn order. */
function shuffled(list) {
  const out = list.slice();
  let state = 0x9e3779b9;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = state % (i + 1);
    const swap = out[i];
    out[i] = out[j];
    out[j] = swap;
  }
  return out;
}

const definition = ExperimentDefinition.parse({
  key: KEY,
  version: 1,
  owner: 'bench',
  surface: 'persona',
  state: 'running',
  variations: [
    { key: 'neutral', weight: 50 },
    { key: 'warm', weight: 50 },
  ],
  control: 'neutral',
});
const experiments = new ExperimentSet([definition]);

// Wall time is what a service sees; CPU time (user + system of this process) is also recorded
// because on a shared machine other processes stretch wall time unevenly across phases.
// `input` (a fresh copy of the ids) is built by the caller, outside the timing.
function time(fn, input) {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const checksum = fn(input);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, checksum };
}

async function timeAsync(fn, input) {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const checksum = await fn(input);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, checksum };
}

// ---- abtel: cold (not yet stored) and sticky hit -----------------------------------------------
function routeAll(router, list) {
  let treated = 0;
  for (let i = 0; i < list.length; i++) if (router.route(KEY, { id: list[i] }).variation === 'warm') treated++;
  return treated;
}

/**
 * abtel and GrowthBook, paired: every round times GrowthBook and then abtel's three passes back
 * to back, so that both see the same machine load (it is shared and its load swings within
 * seconds); the ratios are the medians of the per-round ratios.
 */
function benchPaired(growthbook) {
  const warmRouter = new StickyRouter({ experiments, store: new MemoryAssignmentStore({ maxEntries: 200_000 }) });
  routeAll(warmRouter, warmIds);
  routeAll(warmRouter, freshCopy(warmIds));
  const series = { gb: [], gbCpu: [], cold: [], coldCpu: [], sticky: [], stickyCpu: [], shuffled: [], shuffledCpu: [] };
  const ratios = { cold: [], coldCpu: [], sticky: [], stickyCpu: [], shuffled: [], shuffledCpu: [] };
  let treated = 0;
  for (let round = 0; round < ROUNDS; round++) {
    progress(`round ${round + 1}/${ROUNDS}`);
    const gb = time(growthbook.evaluate, freshCopy(ids));
    growthbook.treated = gb.checksum;
    const store = new MemoryAssignmentStore({ maxEntries: N + 1 });
    const router = new StickyRouter({ experiments, store });
    const first = time((list) => routeAll(router, list), freshCopy(ids));
    treated = first.checksum;
    // Sticky hits in first-arrival order (records are then read in storage order) ...
    const again = time((list) => routeAll(router, list), freshCopy(ids));
    if (again.checksum !== first.checksum) throw new Error('sticky hits changed a variation');
    // ... and in a random order, where every hit is a cache miss into the 1 M-unit table.
    const mixed = time((list) => routeAll(router, list), freshCopy(shuffledIds));
    if (mixed.checksum !== first.checksum) throw new Error('sticky hits in random order changed a variation');
    if (store.size !== N) throw new Error(`expected ${N} stored assignments, found ${store.size}`);
    const passes = { gb, cold: first, sticky: again, shuffled: mixed };
    for (const [name, pass] of Object.entries(passes)) {
      series[name].push(N / pass.seconds);
      series[`${name}Cpu`].push(N / pass.cpuSeconds);
    }
    for (const name of ['cold', 'sticky', 'shuffled']) {
      ratios[name].push(gb.seconds / passes[name].seconds);
      ratios[`${name}Cpu`].push(gb.cpuSeconds / passes[name].cpuSeconds);
    }
  }
  const medians = (record) => Object.fromEntries(Object.entries(record).map(([name, list]) => [name, median(list)]));
  return { rates: medians(series), ratios: medians(ratios), treatedShare: treated / N };
}

function benchPure() {
  const rates = [];
  const hashRates = [];
  const hitRates = [];
  // The store alone (no router): the sticky hit's lookup, touch and decode, without routing.
  const store = new MemoryAssignmentStore({ maxEntries: N + 1 });
  const at = Date.now();
  for (let i = 0; i < ids.length; i++) store.setIfAbsent(KEY, ids[i], { variation: i % 2 === 0 ? 'neutral' : 'warm', version: 1, assignedAt: at, lastActiveAt: at });
  for (let round = 0; round < ROUNDS; round++) {
    const pure = time((list) => {
      let treated = 0;
      for (let i = 0; i < list.length; i++) if (assign(definition, { id: list[i] }).variation === 'warm') treated++;
      return treated;
    }, freshCopy(ids));
    rates.push(N / pure.seconds);
    const hash = time((list) => {
      let sum = 0;
      for (let i = 0; i < list.length; i++) sum += bucketOf(KEY, list[i]);
      return sum;
    }, freshCopy(ids));
    hashRates.push(N / hash.seconds);
    const hits = time((list) => {
      let found = 0;
      for (let i = 0; i < list.length; i++) if (store.hit(KEY, list[i], at) >= 0) found++;
      return found;
    }, freshCopy(ids));
    if (hits.checksum !== N) throw new Error(`store.hit found ${hits.checksum} of ${N} stored units`);
    hitRates.push(N / hits.seconds);
  }
  return { assign: median(rates), bucketOf: median(hashRates), storeHit: median(hitRates) };
}

// ---- GrowthBook: the same 50/50 split as a feature with an experiment rule, evaluated locally ----
function benchGrowthBook() {
  const client = new GrowthBookClient({ enableDevMode: false });
  client.initSync({
    payload: {
      features: {
        [KEY]: {
          defaultValue: 'neutral',
          rules: [{ key: KEY, variations: ['neutral', 'warm'], weights: [0.5, 0.5], coverage: 1, hashAttribute: 'id', hashVersion: 2 }],
        },
      },
    },
  });
  const evaluate = (list) => {
    let treated = 0;
    for (let i = 0; i < list.length; i++) if (client.evalFeature(KEY, { attributes: { id: list[i] } }).value === 'warm') treated++;
    return treated;
  };
  evaluate(warmIds);
  evaluate(freshCopy(warmIds));
  return { evaluate, version: client.version, treated: 0 };
}

// ---- FeatBit: offline mode, flag bootstrapped from JSON (the format its server exports) --------
async function benchFeatBit() {
  let sdk;
  try {
    sdk = await import('@featbit/node-server-sdk');
  } catch (error) {
    return { skipped: `@featbit/node-server-sdk is not installed (${error.message})` };
  }
  const { FbClientBuilder, UserBuilder } = sdk.default ?? sdk;
  const now = new Date().toISOString();
  const bootstrap = JSON.stringify({
    messageType: 'data-sync',
    data: {
      eventType: 'full',
      featureFlags: [
        {
          id: '0f1a2b3c-0000-4000-8000-000000000001',
          key: KEY,
          name: KEY,
          variationType: 'string',
          variations: [
            { id: 'v-neutral', value: 'neutral' },
            { id: 'v-warm', value: 'warm' },
          ],
          targetUsers: [],
          rules: [],
          isEnabled: true,
          disabledVariationId: 'v-neutral',
          fallthrough: {
            dispatchKey: null,
            includedInExpt: true,
            variations: [
              { id: 'v-neutral', rollout: [0, 0.5], exptRollout: 1 },
              { id: 'v-warm', rollout: [0.5, 1], exptRollout: 1 },
            ],
          },
          exptIncludeAllTargets: true,
          tags: [],
          isArchived: false,
          disabledVariation: { id: 'v-neutral', value: 'neutral' },
          creatorId: 'bench',
          updatorId: 'bench',
          createdAt: now,
          updatedAt: now,
        },
      ],
      segments: [],
    },
  });
  const client = new FbClientBuilder().offline(true).useJsonBootstrapProvider(bootstrap).logLevel('error').build();
  try {
    await client.waitForInitialization();
  } catch (error) {
    return { skipped: `FeatBit client did not initialise offline: ${error.message}` };
  }
  const users = (list) => list.map((id) => new UserBuilder(id).build());
  const evaluate = async (list) => {
    let treated = 0;
    for (let i = 0; i < list.length; i++) if ((await client.stringVariation(KEY, list[i], 'neutral')) === 'warm') treated++;
    return treated;
  };
  const warmUsers = users(warmIds);
  const warmTreated = await evaluate(warmUsers);
  if (warmTreated === 0 || warmTreated === warmUsers.length) {
    await client.close();
    return { skipped: `FeatBit offline bootstrap did not evaluate the rollout (treated ${warmTreated} of ${warmUsers.length})` };
  }
  // Building users is the caller's cost in FeatBit's API, but it is kept out of the timing (as the
  // id strings are for everyone) so that the comparison is evaluation against evaluation.
  const rates = [];
  const cpuRates = [];
  let treated = 0;
  for (let round = 0; round < ROUNDS; round++) {
    progress(`FeatBit round ${round + 1}/${ROUNDS}`);
    const measured = await timeAsync(evaluate, users(freshCopy(ids)));
    rates.push(N / measured.seconds);
    cpuRates.push(N / measured.cpuSeconds);
    treated = measured.checksum;
  }
  await client.close();
  return { rate: median(rates), cpuRate: median(cpuRates), treatedShare: treated / N };
}

const growthbook = benchGrowthBook();
const paired = benchPaired(growthbook);
const abtel = {
  cold: paired.rates.cold,
  sticky: paired.rates.sticky,
  shuffled: paired.rates.shuffled,
  coldCpu: paired.rates.coldCpu,
  stickyCpu: paired.rates.stickyCpu,
  shuffledCpu: paired.rates.shuffledCpu,
  treatedShare: paired.treatedShare,
};
growthbook.rate = paired.rates.gb;
growthbook.cpuRate = paired.rates.gbCpu;
growthbook.treatedShare = growthbook.treated / N;
const pure = benchPure();
const featbit = await benchFeatBit();
progress('');
if (process.stderr.isTTY) process.stderr.write('\r');

const fmt = (rate) => `${(rate / 1e6).toFixed(2)} M/s`;
const ratio = (a, b) => Math.round((a / b) * 100) / 100;
// Paired ratios (median over rounds of abtel / GrowthBook timed back to back).
const round2 = (value) => Math.round(value * 100) / 100;
const coldRatio = round2(paired.ratios.cold);
const stickyRatio = round2(paired.ratios.sticky);
const shuffledRatio = round2(paired.ratios.shuffled);
const coldCpuRatio = round2(paired.ratios.coldCpu);
const stickyCpuRatio = round2(paired.ratios.stickyCpu);
const shuffledCpuRatio = round2(paired.ratios.shuffledCpu);
const rows = [
  ['abtel cold (route + store)', abtel.cold, coldRatio],
  ['abtel sticky hit (first-arrival order)', abtel.sticky, stickyRatio],
  ['abtel sticky hit (random order)', abtel.shuffled, shuffledRatio],
  ['abtel assign() (pure, no store)', pure.assign],
  ['abtel bucketOf() (hash only)', pure.bucketOf],
  ['abtel store.hit() (sticky lookup, no router)', pure.storeHit],
  [`GrowthBook ${growthbook.version} evalFeature (local)`, growthbook.rate],
];
if (featbit.rate !== undefined) rows.push(['FeatBit node-server-sdk (offline, bootstrap)', featbit.rate]);

console.log(`assignment: 2-arm 50/50, ${N.toLocaleString('en-US')} distinct ids, median of ${ROUNDS} rounds, Node ${process.version}`);
for (const [name, rate, paired] of rows) {
  const shown = paired ?? ratio(rate, growthbook.rate);
  console.log(`  ${name.padEnd(48)} ${fmt(rate).padStart(11)}   ${shown.toFixed(2)}× GrowthBook${paired === undefined ? '' : ' (paired)'}`);
}
if (featbit.skipped) console.log(`  FeatBit skipped: ${featbit.skipped}`);
console.log(`  by CPU time: abtel cold ${fmt(abtel.coldCpu)} (${coldCpuRatio}×), sticky hit ${fmt(abtel.stickyCpu)} (${stickyCpuRatio}×), random-order sticky hit ${fmt(abtel.shuffledCpu)} (${shuffledCpuRatio}×), GrowthBook ${fmt(growthbook.cpuRate)}${featbit.cpuRate !== undefined ? `, FeatBit ${fmt(featbit.cpuRate)}` : ''}`);
console.log(`  load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')} on ${cpus().length} cores (other processes stretch wall time)`);
console.log(`  goal cold ≥ 3× GrowthBook: ${coldRatio}× ${coldRatio >= 3 ? 'met' : 'NOT met'}; goal sticky ≥ 10×: ${stickyRatio}× ${stickyRatio >= 10 ? 'met' : 'NOT met'} (random order ${shuffledRatio}×)`);
console.log('  ids: every timed pass gets its own freshly parsed copy (no hash cached on the string objects)');
console.log(`  treated share: abtel ${abtel.treatedShare.toFixed(4)}, GrowthBook ${growthbook.treatedShare.toFixed(4)}${featbit.treatedShare !== undefined ? `, FeatBit ${featbit.treatedShare.toFixed(4)}` : ''}`);

const result = {
  benchmark: 'assignment',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  ids: N,
  rounds: ROUNDS,
  split: '2-arm 50/50',
  opsPerSecond: {
    abtelCold: Math.round(abtel.cold),
    abtelStickyHit: Math.round(abtel.sticky),
    abtelStickyHitRandomOrder: Math.round(abtel.shuffled),
    abtelAssignPure: Math.round(pure.assign),
    abtelBucketOf: Math.round(pure.bucketOf),
    abtelStoreHit: Math.round(pure.storeHit),
    growthbook: Math.round(growthbook.rate),
    featbit: featbit.rate === undefined ? null : Math.round(featbit.rate),
  },
  ratiosVsGrowthBook: {
    abtelCold: coldRatio,
    abtelStickyHit: stickyRatio,
    abtelStickyHitRandomOrder: shuffledRatio,
    abtelAssignPure: ratio(pure.assign, growthbook.rate),
    featbit: featbit.rate === undefined ? null : ratio(featbit.rate, growthbook.rate),
  },
  cpuOpsPerSecond: {
    abtelCold: Math.round(abtel.coldCpu),
    abtelStickyHit: Math.round(abtel.stickyCpu),
    abtelStickyHitRandomOrder: Math.round(abtel.shuffledCpu),
    growthbook: Math.round(growthbook.cpuRate),
    featbit: featbit.cpuRate === undefined ? null : Math.round(featbit.cpuRate),
  },
  cpuRatiosVsGrowthBook: { abtelCold: coldCpuRatio, abtelStickyHit: stickyCpuRatio, abtelStickyHitRandomOrder: shuffledCpuRatio },
  ratioMethod: 'abtel ratios: median over rounds of GrowthBook time / abtel time, both timed back to back in each round; other ratios: ratio of medians',
  idStrings: 'a freshly parsed copy per timed pass (as parsed from requests; no cached string hashes)',
  loadAverage: loadavg(),
  ratiosVsFeatBit: featbit.rate === undefined ? null : { abtelCold: ratio(abtel.cold, featbit.rate), abtelStickyHit: ratio(abtel.sticky, featbit.rate) },
  goals: { coldAtLeast3x: coldRatio >= 3, stickyAtLeast10x: stickyRatio >= 10, stickyRandomOrderAtLeast10x: shuffledRatio >= 10 },
  featbitSkipped: featbit.skipped ?? null,
  treatedShare: { abtel: abtel.treatedShare, growthbook: growthbook.treatedShare, featbit: featbit.treatedShare ?? null },
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'assignment.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log('  wrote bench/results/assignment.json');

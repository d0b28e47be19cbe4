#!/usr/bin/env node
// Computation time of @abtel/stats' exact methods against the naive Monte Carlo way of getting the
// same numbers, all measured in this run, plus how far the Monte Carlo answers land from the exact
// ones. Writes results/stats.json.
//   1. Bayesian chance to beat + expected losses: exact (finite sums; quadrature alongside) vs 1,000,000 posterior draws.
//   2. Group-sequential boundaries (4 looks): recursive integration vs simulating 1,000,000 trials
//      only to CHECK the α spent by given boundaries (solving them by simulation costs far more).
//   3. p95 difference with a unit-level cluster bootstrap: one walk over pre-sorted events per
//      resample vs materialising and sorting every resample.
//   4. The same bootstrap at 1,000,000 events against the previous bootstrap implementation.
//   5. The asymptotic cluster-robust interval (Deng, Knoblich & Lu 2018) on the same 1,000,000
//      events against the bootstrap, timed back to back in the same rounds; standard errors of both.
//
// Usage: node stats.bench.mjs [--draws 1000000] [--rounds 5]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bayesianBinary, compareQuantileArms, compareQuantiles, groupSequentialBoundaries, quantileArmFromUnits, seededRandom } from '@abtel/stats';
import { median, progress } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { draws: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const DRAWS = Number(values.draws);
const ROUNDS = Number(values.rounds);

function time(fn) {
  const seconds = [];
  const cpuSeconds = [];
  let result;
  for (let r = 0; r < ROUNDS; r++) {
    globalThis.gc?.();
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    result = fn();
    seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
    const used = process.cpuUsage(cpu);
    cpuSeconds.push((used.user + used.system) / 1e6);
  }
  return { seconds: median(seconds), cpuSeconds: median(cpuSeconds), result };
}

// The stats package's seeded uniform (mulberry32), shifted half a step into the open interval
// (0, 1) that the samplers of the naive baseline need (they take logarithms), and those samplers.
function uniform(seed) {
  const random = seededRandom(seed);
  return () => random() + 0.5 / 4294967296;
}
function normal(random) {
  return () => Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
}
// Marsaglia & Tsang (2000) gamma sampler, shape ≥ 1.
function gamma(shape, random, gauss) {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x;
    let v;
    do {
      x = gauss();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}
function beta(a, b, random, gauss) {
  const x = gamma(a, random, gauss);
  return x / (x + gamma(b, random, gauss));
}

// ---- 1. Bayesian ---------------------------------------------------------------------------------
progress('bayesian');
const control = { n: 20000, successes: 1400 };
const treatment = { n: 20000, successes: 1480 };
const exactBayes = time(() => bayesianBinary(control, treatment));
// The quadrature path, which non-whole priors take: a prior of 1 + 1e-9 moves the posteriors by < 1e-9.
const quadratureBayes = time(() => bayesianBinary(control, treatment, { prior: { alpha: 1 + 1e-9, beta: 1 + 1e-9 } }));
const naiveBayes = time(() => {
  const random = uniform(7);
  const gauss = normal(random);
  let wins = 0;
  let lossT = 0;
  let lossC = 0;
  for (let i = 0; i < DRAWS; i++) {
    const c = beta(1 + control.successes, 1 + control.n - control.successes, random, gauss);
    const t = beta(1 + treatment.successes, 1 + treatment.n - treatment.successes, random, gauss);
    if (t > c) wins += 1;
    lossT += Math.max(c - t, 0);
    lossC += Math.max(t - c, 0);
  }
  return { chanceToBeat: wins / DRAWS, expectedLossVariant: lossT / DRAWS, expectedLossBaseline: lossC / DRAWS };
});
const bayesErrors = {
  chanceToBeat: Math.abs(naiveBayes.result.chanceToBeat - exactBayes.result.chanceToBeat),
  expectedLossVariant: Math.abs(naiveBayes.result.expectedLossVariant - exactBayes.result.expectedLossVariant),
};

// ---- 2. Boundaries -------------------------------------------------------------------------------
progress('boundaries');
const fractions = [0.25, 0.5, 0.75, 1];
const exactBounds = time(() => groupSequentialBoundaries(fractions, { alpha: 0.05 }));
const z = exactBounds.result.looks.map((look) => look.z);
const naiveBounds = time(() => {
  const random = uniform(11);
  const gauss = normal(random);
  let crossed = 0;
  for (let i = 0; i < DRAWS; i++) {
    let score = 0;
    let previous = 0;
    for (let k = 0; k < fractions.length; k++) {
      score += gauss() * Math.sqrt(fractions[k] - previous);
      previous = fractions[k];
      if (Math.abs(score / Math.sqrt(fractions[k])) >= z[k]) {
        crossed += 1;
        break;
      }
    }
  }
  return crossed / DRAWS;
});

// ---- 3. Cluster bootstrap of p95 -----------------------------------------------------------------
progress('quantile bootstrap');
const RESAMPLES = 300;
function makeUnits(count, scale, seed) {
  const random = uniform(seed);
  const gauss = normal(random);
  return Array.from({ length: count }, () => Array.from({ length: 1 + Math.floor(random() * 6) }, () => Math.round(Math.exp(6 + 0.5 * gauss()) * scale)));
}
const unitsC = makeUnits(5000, 1, 21);
const unitsT = makeUnits(5000, 1.05, 22);
const exactQuantile = time(() => compareQuantiles(unitsC, unitsT, { q: 0.95, method: 'bootstrap', resamples: RESAMPLES, seed: 5 }));
function naiveVariance(units, random) {
  let mean = 0;
  let m2 = 0;
  for (let r = 1; r <= RESAMPLES; r++) {
    const events = [];
    for (let i = 0; i < units.length; i++) events.push(...units[Math.floor(random() * units.length)]);
    events.sort((a, b) => a - b);
    const h = (events.length - 1) * 0.95;
    const lo = Math.floor(h);
    const value = events[lo] + (h - lo) * (events[Math.min(lo + 1, events.length - 1)] - events[lo]);
    const delta = value - mean;
    mean += delta / r;
    m2 += delta * (value - mean);
  }
  return m2 / (RESAMPLES - 1);
}
const naiveQuantile = time(() => {
  const random = uniform(5);
  return Math.sqrt(naiveVariance(unitsC, random) + naiveVariance(unitsT, random));
});

// ---- 4. The same bootstrap at analysis scale: 1,000,000 events -----------------------------------
// Three arms of ≈ 6,667 units (20,000 conversations, ≈ 50 calls each); p95 of each variation
// against the same control, 200 resamples (what the analysis picks for this many events), fresh
// arrays every round as a report passes them. Baseline, timed back to back in the same rounds: the
// previous method — every arm sorted per comparison with a comparator index sort and every
// resample walked over all events from the smallest value. Both give the same numbers.
progress('quantile bootstrap, 1M events');
const LARGE_EVENTS = 1_000_000;
const LARGE_RESAMPLES = 200;
function makeArms() {
  const random = uniform(42);
  const gauss = normal(random);
  const arms = [[], [], []];
  for (let u = 0; u < 20_000; u++) arms[u % 3].push([]);
  for (let e = 0; e < LARGE_EVENTS; e++) {
    const arm = arms[e % 3];
    arm[Math.floor(random() * arm.length)].push(Math.round(Math.exp(6.5 + 0.6 * gauss() + (e % 3) * 0.02) * 1000) / 1000);
  }
  return arms;
}
const largeArms = makeArms();
const freshArms = () => largeArms.map((arm) => arm.map((events) => events.slice()));
// The previous implementation, kept here as the baseline (with @abtel/stats' own seeded uniform,
// without the +0.5 offset of `uniform` above, so its resamples are the library's).
function previousCompare(baseline, variant, q, resamples, seed) {
  const random = seededRandom(seed);
  const sortArm = (units) => {
    let count = 0;
    for (const events of units) count += events.length;
    const raw = new Float64Array(count);
    const rawUnit = new Int32Array(count);
    let at = 0;
    for (let unit = 0; unit < units.length; unit++) {
      const events = units[unit];
      for (let index = 0; index < events.length; index++) {
        const value = events[index];
        if (!Number.isFinite(value)) throw new Error('not finite');
        raw[at] = value;
        rawUnit[at] = unit;
        at++;
      }
    }
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    order.sort((a, b) => raw[a] - raw[b]);
    const values = new Float64Array(count);
    const unitOf = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      values[i] = raw[order[i]];
      unitOf[i] = rawUnit[order[i]];
    }
    return { values, unitOf, units: units.length };
  };
  const variance = ({ values, unitOf, units }) => {
    const copies = new Int32Array(units);
    let mean = 0;
    let m2 = 0;
    let count = 0;
    for (let r = 0; r < resamples; r++) {
      copies.fill(0);
      for (let i = 0; i < units; i++) copies[Math.floor(random() * units)] += 1;
      let total = 0;
      for (let i = 0; i < values.length; i++) total += copies[unitOf[i]];
      if (total === 0) continue;
      const h = (total - 1) * q;
      const lo = Math.floor(h);
      let seen = 0;
      let low = Number.NaN;
      let value = Number.NaN;
      for (let i = 0; i < values.length; i++) {
        seen += copies[unitOf[i]];
        if (Number.isNaN(low) && seen > lo) low = values[i];
        if (seen > lo + 1 || (seen > lo && lo + 1 >= total)) {
          value = low + (h - lo) * ((seen > lo + 1 ? values[i] : low) - low);
          break;
        }
      }
      count += 1;
      const delta = value - mean;
      mean += delta / count;
      m2 += delta * (value - mean);
    }
    return m2 / (count - 1);
  };
  const c = sortArm(baseline);
  const t = sortArm(variant);
  return Math.sqrt(variance(c) + variance(t));
}
const largeCurrent = [];
const largePrevious = [];
const largeAsymptotic = [];
const largeSummaries = [];
for (let r = 0; r < ROUNDS; r++) {
  const [c, a, b] = freshArms();
  largeCurrent.push(time1(() => [a, b].map((variant) => compareQuantiles(c, variant, { q: 0.95, method: 'bootstrap', resamples: LARGE_RESAMPLES, seed: 9 }).standardError)));
  const [c2, a2, b2] = freshArms();
  largePrevious.push(time1(() => [a2, b2].map((variant) => previousCompare(c2, variant, 0.95, LARGE_RESAMPLES, 9))));
  // 5. Asymptotic interval from the same per-unit lists (one sort per arm, no resampling) …
  const [c3, a3, b3] = freshArms();
  largeAsymptotic.push(time1(() => [a3, b3].map((variant) => compareQuantiles(c3, variant, { q: 0.95, method: 'asymptotic' }).standardError)));
  // … and from sufficient statistics alone, as the analysis has them from DuckDB.
  const arms = freshArms().map((arm) => quantileArmFromUnits(arm, 0.95));
  largeSummaries.push(time1(() => [arms[1], arms[2]].map((variant) => compareQuantileArms(arms[0], variant).standardError)));
}
function time1(fn) {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, result };
}
const largeMedian = (list, key) => median(list.map((entry) => entry[key]));
const largeSame = largeCurrent.every((entry, r) => entry.result.every((se, i) => Object.is(se, largePrevious[r].result[i])));
if (!largeSame) throw new Error(`the 1M-event bootstrap differs from the previous method: ${largeCurrent[0].result} vs ${largePrevious[0].result}`);
if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(61) + '\r');

const round = (x, digits = 2) => Number(x.toFixed(digits));
const result = {
  benchmark: 'stats',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  rounds: ROUNDS,
  monteCarloDraws: DRAWS,
  bayesian: {
    input: { control, treatment },
    exactSeconds: exactBayes.seconds,
    quadratureSeconds: quadratureBayes.seconds,
    monteCarloSeconds: naiveBayes.seconds,
    speedupVsMonteCarlo: round(naiveBayes.seconds / exactBayes.seconds, 1),
    exact: exactBayes.result,
    monteCarlo: naiveBayes.result,
    monteCarloAbsoluteError: bayesErrors,
  },
  boundaries: {
    fractions,
    z: z.map((v) => round(v, 4)),
    exactSeconds: exactBounds.seconds,
    monteCarloCheckSeconds: naiveBounds.seconds,
    speedupVsMonteCarloCheck: round(naiveBounds.seconds / exactBounds.seconds, 1),
    monteCarloAlpha: naiveBounds.result,
  },
  quantileBootstrap: {
    units: unitsC.length + unitsT.length,
    events: unitsC.flat().length + unitsT.flat().length,
    resamples: RESAMPLES,
    sortedWalkSeconds: exactQuantile.seconds,
    materialiseAndSortSeconds: naiveQuantile.seconds,
    speedup: round(naiveQuantile.seconds / exactQuantile.seconds, 1),
    standardError: { sortedWalk: exactQuantile.result.standardError, materialiseAndSort: naiveQuantile.result },
  },
  quantileBootstrapLarge: {
    events: LARGE_EVENTS,
    arms: 3,
    units: largeArms.reduce((sum, arm) => sum + arm.length, 0),
    comparisons: 2,
    quantile: 0.95,
    resamples: LARGE_RESAMPLES,
    seconds: largeMedian(largeCurrent, 'seconds'),
    cpuSeconds: largeMedian(largeCurrent, 'cpuSeconds'),
    previousMethodSeconds: largeMedian(largePrevious, 'seconds'),
    previousMethodCpuSeconds: largeMedian(largePrevious, 'cpuSeconds'),
    speedupCpu: round(largeMedian(largePrevious, 'cpuSeconds') / largeMedian(largeCurrent, 'cpuSeconds'), 2),
    speedupWall: round(largeMedian(largePrevious, 'seconds') / largeMedian(largeCurrent, 'seconds'), 2),
    identicalStandardErrors: largeSame,
    standardErrors: largeCurrent[0].result,
  },
  quantileAsymptoticLarge: {
    events: LARGE_EVENTS,
    arms: 3,
    comparisons: 2,
    quantile: 0.95,
    method: 'asymptotic cluster-robust outer interval (Deng, Knoblich & Lu 2018) from per-unit lists',
    seconds: largeMedian(largeAsymptotic, 'seconds'),
    cpuSeconds: largeMedian(largeAsymptotic, 'cpuSeconds'),
    bootstrapSeconds: largeMedian(largeCurrent, 'seconds'),
    bootstrapCpuSeconds: largeMedian(largeCurrent, 'cpuSeconds'),
    speedupVsBootstrapCpu: round(largeMedian(largeCurrent, 'cpuSeconds') / largeMedian(largeAsymptotic, 'cpuSeconds'), 2),
    speedupVsBootstrapWall: round(largeMedian(largeCurrent, 'seconds') / largeMedian(largeAsymptotic, 'seconds'), 2),
    fromSufficientStatisticsSeconds: largeMedian(largeSummaries, 'seconds'),
    standardErrors: largeAsymptotic[0].result,
    bootstrapStandardErrors: largeCurrent[0].result,
  },
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'stats.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`Bayesian (chance to beat + 2 expected losses): exact by finite sums ${(exactBayes.seconds * 1e3).toFixed(2)} ms (by quadrature ${(quadratureBayes.seconds * 1e3).toFixed(1)} ms) vs Monte Carlo ${DRAWS.toLocaleString('en-US')} draws ${(naiveBayes.seconds * 1e3).toFixed(0)} ms → ${result.bayesian.speedupVsMonteCarlo}× faster; Monte Carlo error ${bayesErrors.chanceToBeat.toExponential(1)} (chance), ${bayesErrors.expectedLossVariant.toExponential(1)} (loss)`);
console.log(`Boundaries (4 looks): recursive integration ${(exactBounds.seconds * 1e3).toFixed(1)} ms vs simulating ${DRAWS.toLocaleString('en-US')} trials just to check α ${(naiveBounds.seconds * 1e3).toFixed(0)} ms → ${result.boundaries.speedupVsMonteCarloCheck}×; simulated α ${naiveBounds.result.toFixed(4)}`);
console.log(`p95 cluster bootstrap (${result.quantileBootstrap.events.toLocaleString('en-US')} events, ${RESAMPLES} resamples): sorted walk ${(exactQuantile.seconds * 1e3).toFixed(0)} ms vs materialise+sort ${(naiveQuantile.seconds * 1e3).toFixed(0)} ms → ${result.quantileBootstrap.speedup}×`);
const large = result.quantileBootstrapLarge;
console.log(`p95 cluster bootstrap at 1,000,000 events (3 arms, 2 comparisons, ${LARGE_RESAMPLES} resamples): ${(large.cpuSeconds * 1e3).toFixed(0)} ms CPU (${(large.seconds * 1e3).toFixed(0)} ms wall) vs previous method ${(large.previousMethodCpuSeconds * 1e3).toFixed(0)} ms CPU (${(large.previousMethodSeconds * 1e3).toFixed(0)} ms wall) → ${large.speedupCpu}× by CPU, ${large.speedupWall}× wall; identical standard errors`);
const asymptotic = result.quantileAsymptoticLarge;
console.log(`p95 asymptotic interval at 1,000,000 events (same data, per-unit lists): ${(asymptotic.cpuSeconds * 1e3).toFixed(0)} ms CPU (${(asymptotic.seconds * 1e3).toFixed(0)} ms wall) vs bootstrap ${(asymptotic.bootstrapCpuSeconds * 1e3).toFixed(0)} ms CPU → ${asymptotic.speedupVsBootstrapCpu}× by CPU, ${asymptotic.speedupVsBootstrapWall}× wall; from sufficient statistics alone ${(asymptotic.fromSufficientStatisticsSeconds * 1e6).toFixed(0)} µs; standard errors ${asymptotic.standardErrors.map((se) => se.toFixed(3)).join(', ')} vs bootstrap ${asymptotic.bootstrapStandardErrors.map((se) => se.toFixed(3)).join(', ')}`);
console.log('wrote results/stats.json');

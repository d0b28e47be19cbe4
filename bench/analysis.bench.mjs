#!/usr/bin/env node
// Analysis over synthetic OTLP files: 1 M gen_ai spans (20 k conversations, 3 arms, exposures,
// outcomes, judge scores) as OTLP JSON Lines like the Collector's file exporter writes them.
// Measured in the same run, each phase in its own child process (so peak memory is per phase):
//   naive      baseline: plain DuckDB count(*) over the raw traces with the nested read_json
//              (schema inference, unnest of resourceSpans → scopeSpans → spans)
//   raw        abtel: open the raw JSON (explicit schema, bad-line accounting) + the analysis
//              queries a report runs (population, health, 5 metrics, guardrail windows, segments, judge trend)
//   compact    abtel compact of every file (spans/s)
//   compacted  the same analysis over the compacted Parquet
//   count-parquet  baseline: plain DuckDB count(*) over the compacted Parquet
//   analyze-*  the full `analyze()` (report side) over raw and over compacted data, when built
// Writes results/analysis.json. The data set is generated once into the OS temp directory and reused.
//
// Usage: node analysis.bench.mjs [--spans 1000000] [--memory-limit 600MB] [--data DIR] [--phases a,b,…]
//        (--spans 10000000 for the 10 M run: ~11 GB of JSON, about 200 k conversations)
// The data set is generated only when DIR has no .bench-dataset.json (delete it to regenerate; a
// hidden name, so that the analysis does not read it as a data file and report a bad line).
// --phases runs a subset in the usual order, e.g. --phases count-parquet,analyze-compacted while
// working on the compacted analysis (compacted phases compact first when nothing is compacted;
// raw phases remove the compacted files first). The results file is written only for a full run.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DATASET_MARKER, duckdbCount, naiveSpanCount, runPhase as runPhaseInChild, timePhase, traceFiles } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    spans: { type: 'string', default: '1000000' },
    'memory-limit': { type: 'string', default: '600MB' },
    data: { type: 'string' },
    phase: { type: 'string' },
    phases: { type: 'string' },
  },
});
const SPANS = Number(values.spans);
const CALLS_PER_CONVERSATION = 50;
const CONVERSATIONS = Math.round(SPANS / CALLS_PER_CONVERSATION);
const DATA = values.data ?? join(tmpdir(), `abtel-bench-analysis-${SPANS}`);
const EXPERIMENT = 'support-prompt';
const VARIATIONS = [
  { key: 'control', weight: 1 },
  { key: 'treatment_a', weight: 1 },
  { key: 'treatment_b', weight: 1 },
];
const METRICS = [
  { name: 'resolved', kind: 'binary', from: { outcome: 'resolved' }, direction: 'increase' },
  { name: 'csat', kind: 'mean', from: { outcome: 'csat' }, direction: 'increase' },
  { name: 'cost_per_conversation', kind: 'sum', from: { span_attribute: 'abtel.usage.cost_usd' }, direction: 'decrease' },
  { name: 'latency_per_call', kind: 'ratio', from: { span_value: 'duration_ms' }, direction: 'decrease' },
  { name: 'latency_p95', kind: 'quantile', quantile: 0.95, from: { span_value: 'duration_ms' }, direction: 'decrease' },
  {
    name: 'error_rate',
    kind: 'ratio',
    from: { span_value: 'error' },
    direction: 'decrease',
    threshold: { value: 0.05 },
    consecutiveWindows: 2,
    action: 'rollback',
    windowMinutes: 60,
  },
];
const DEFINITION = {
  key: EXPERIMENT,
  version: 1,
  description: 'benchmark',
  owner: 'bench',
  surface: 'prompt',
  unit: 'conversation',
  state: 'running',
  control: 'control',
  variations: VARIATIONS.map((v) => ({ ...v, config: {} })),
  segments: ['plan'],
  metrics: {
    primary: 'resolved',
    guardrails: ['error_rate'],
    secondary: ['csat', 'cost_per_conversation', 'latency_per_call', 'latency_p95'],
    definitions: METRICS,
  },
};

/** The analysis queries a report runs, through the data layer. */
async function runAnalysis(data, ds) {
  const { ExperimentDefinition } = await import('@abtel/core');
  const def = ExperimentDefinition.parse(DEFINITION);
  // As analyze() does: the experiment's working set once, with the values its metrics read.
  await data.prepareExperiment(ds, def, METRICS);
  const out = { population: await data.population(ds, def), health: await data.health(ds, def), metrics: {} };
  for (const metric of METRICS) out.metrics[metric.name] = await data.armMetricStats(ds, def, metric);
  out.guardrail = (await data.guardrailWindows(ds, def, METRICS[5], 60)).length;
  out.segments = await data.segmentMix(ds, def, 'plan');
  out.segmentStats = await data.armMetricStats(ds, def, METRICS[0], { segment: 'plan' });
  out.judge = (await data.judgeTrend(ds, def, 60)).length;
  return out;
}

async function phase(result, started) {
  const name = result.phase;
  if (name === 'naive') {
    result.rows = await naiveSpanCount(traceFiles(DATA));
  } else if (name === 'count-parquet') {
    result.rows = await duckdbCount(`SELECT count(*) AS n FROM read_parquet('${DATA}/.abtel/traces*.parquet') WHERE record_type = 'span'`);
  } else if (name === 'raw' || name === 'compacted') {
    const data = await import('@abtel/analysis/data');
    const ds = await data.openDataset({ inputs: [DATA], memoryLimit: values['memory-limit'] });
    result.openSeconds = (performance.now() - started) / 1000;
    result.files = ds.files;
    const out = await runAnalysis(data, ds);
    const [spans] = await ds.query('SELECT count(*) AS n FROM gen_ai_calls');
    result.rows = spans.n;
    result.exposed = out.population.exposed;
    result.resolved = out.metrics.resolved.map((arm) => ({ variation: arm.variation, n: arm.n, sum: arm.sum }));
    await ds.close();
  } else if (name === 'compact') {
    const { compactDirectory } = await import('@abtel/files');
    const compacted = await compactDirectory(DATA, { includeActive: true, minAgeMs: 0, memoryLimit: values['memory-limit'] });
    result.files = compacted.compacted.length;
    result.rows = compacted.rows;
    result.failed = compacted.failed;
  } else if (name === 'analyze-raw' || name === 'analyze-compacted') {
    const analysis = await import('@abtel/analysis');
    if (typeof analysis.analyze !== 'function') {
      result.skipped = 'analyze() is not built';
    } else {
      const experiments = join(DATA, '..', `abtel-bench-experiments-${process.pid}`);
      mkdirSync(experiments, { recursive: true });
      writeFileSync(join(experiments, `${EXPERIMENT}.json`), JSON.stringify(DEFINITION, null, 2));
      try {
        const report = await analysis.analyze({ data: [DATA], experiments, experiment: EXPERIMENT });
        result.decision = report.decision.recommendation;
        result.exposed = report.population.exposed;
      } finally {
        rmSync(experiments, { recursive: true, force: true });
      }
    }
  }
}

function runPhase(name) {
  return runPhaseInChild(fileURLToPath(import.meta.url), name, ['--data', DATA, '--spans', String(SPANS), '--memory-limit', values['memory-limit']], 18);
}

function removeCompacted() {
  rmSync(join(DATA, '.abtel'), { recursive: true, force: true });
}

async function main() {
  const marker = join(DATA, DATASET_MARKER);
  // Data sets made before the marker was hidden keep their (identical) files.
  if (!existsSync(marker) && existsSync(join(DATA, 'bench-dataset.json'))) renameSync(join(DATA, 'bench-dataset.json'), marker);
  if (!existsSync(marker)) {
    rmSync(DATA, { recursive: true, force: true });
    const { writeSyntheticDataset } = await import('@abtel/analysis/data');
    console.log(`generating ${SPANS.toLocaleString('en-US')} spans into ${DATA} …`);
    const t = performance.now();
    const generated = await writeSyntheticDataset(DATA, {
      conversations: CONVERSATIONS,
      callsPerConversation: CALLS_PER_CONVERSATION,
      seed: 2026,
      variations: VARIATIONS,
      records: false,
      recordsPerLine: 256,
      linesPerFile: 400, // ≈ 100 k spans, ≈ 110 MB per rotated file
      outcomes: [
        { name: 'resolved', kind: 'binary', rate: { control: 0.3, treatment_a: 0.33, treatment_b: 0.3 } },
        { name: 'csat', kind: 'value', mean: { control: 3.5, treatment_a: 3.6 }, integer: true, coverage: 0.4 },
      ],
      evaluations: [{ name: 'helpfulness', mean: { control: 3.5, treatment_a: 3.7 }, sampleRate: 0.2 }],
      segments: [{ name: 'plan', values: [{ value: 'free', share: 0.7 }, { value: 'pro', share: 0.3 }] }],
      duplicateExposureRate: 0.02,
    });
    writeFileSync(marker, JSON.stringify({ spans: generated.spans, logRecords: generated.logRecords, seconds: (performance.now() - t) / 1000 }));
  }
  const dataset = JSON.parse(readFileSync(marker, 'utf8'));
  const bytes = readdirSync(DATA).filter((n) => n.endsWith('.jsonl')).reduce((sum, n) => sum + statSync(join(DATA, n)).size, 0);
  console.log(`data: ${dataset.spans.toLocaleString('en-US')} spans, ${dataset.logRecords.toLocaleString('en-US')} log records, ${(bytes / 1e9).toFixed(2)} GB of JSON Lines`);
  console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}; DuckDB memory limit ${values['memory-limit']} for abtel phases`);

  const ALL = ['naive', 'raw', 'analyze-raw', 'compact', 'compacted', 'count-parquet', 'analyze-compacted'];
  const wanted = values.phases ? values.phases.split(',').map((name) => name.trim()) : ALL;
  const unknown = wanted.filter((name) => !ALL.includes(name));
  if (unknown.length > 0) throw new Error(`unknown phase(s) ${unknown.join(', ')}; phases: ${ALL.join(', ')}`);
  const results = {};
  const run = (name) => {
    if (wanted.includes(name)) results[name] = runPhase(name);
    return results[name];
  };
  const compactedData = () => existsSync(join(DATA, '.abtel')) && readdirSync(join(DATA, '.abtel')).some((n) => n.endsWith('.parquet'));
  if (wanted.some((name) => name === 'raw' || name === 'analyze-raw')) removeCompacted();
  const naive = run('naive');
  const raw = run('raw');
  const analyzeRaw = run('analyze-raw');
  if (wanted.includes('compact')) removeCompacted();
  else if (!compactedData() && wanted.some((name) => ['compacted', 'count-parquet', 'analyze-compacted'].includes(name))) runPhase('compact');
  const compact = run('compact');
  const compacted = run('compacted');
  const countParquet = run('count-parquet');
  const analyzeCompacted = run('analyze-compacted');

  console.log('');
  if (analyzeCompacted && !analyzeCompacted.skipped && !analyzeCompacted.failed) {
    const a = analyzeCompacted;
    console.log(`full analyze() over compacted data: ${a.seconds.toFixed(2)} s wall, ${a.cpuSeconds.toFixed(2)} s CPU, peak RSS ${Math.round(a.peakMb)} MB (goals ≤ ${SPANS >= 5e6 ? 3 : 1} s, ≤ 1024 MB)`);
    if (countParquet) console.log(`  = ${(a.seconds / countParquet.seconds).toFixed(2)}× the wall time of a plain DuckDB count(*) over the compacted Parquet (${countParquet.seconds.toFixed(2)} s; CPU ${(a.cpuSeconds / countParquet.cpuSeconds).toFixed(2)}×)`);
    if (naive) console.log(`  = ${(naive.seconds / a.seconds).toFixed(2)}× faster than the naive nested read_json count(*) over the raw JSON (${naive.seconds.toFixed(2)} s; CPU ${(naive.cpuSeconds / a.cpuSeconds).toFixed(2)}×)`);
  }
  if (analyzeRaw && !analyzeRaw.skipped && !analyzeRaw.failed && naive) {
    const ratio = naive.seconds / analyzeRaw.seconds;
    const relation = ratio >= 1 ? `${ratio.toFixed(2)}× faster than` : `${(1 / ratio).toFixed(2)}× slower than`;
    console.log(`full analyze() from raw JSON: ${analyzeRaw.seconds.toFixed(2)} s (${analyzeRaw.cpuSeconds.toFixed(2)} s CPU) = ${relation} the naive read (goals ≤ 3 s, ≥ 3× faster), peak RSS ${Math.round(analyzeRaw.peakMb)} MB`);
  }
  if (wanted !== ALL) {
    console.log('(a subset of phases: results/analysis.json is written by a full run only)');
    return;
  }

  const ratios = {
    rawVsNaive: naive.seconds / raw.seconds,
    compactedVsNaive: naive.seconds / compacted.seconds,
    compactedVsRaw: raw.seconds / compacted.seconds,
    compactedVsParquetCount: compacted.seconds / countParquet.seconds,
    analyzeCompactedVsParquetCount: analyzeCompacted.seconds / countParquet.seconds,
    analyzeCompactedVsParquetCountCpu: analyzeCompacted.cpuSeconds / countParquet.cpuSeconds,
    naiveVsAnalyzeCompacted: naive.seconds / analyzeCompacted.seconds,
    naiveVsAnalyzeRaw: naive.seconds / analyzeRaw.seconds,
  };
  const compactionSpansPerSecond = dataset.spans / compact.seconds;
  console.log(`data layer alone from raw JSON vs naive nested read_json count(*): ${ratios.rawVsNaive.toFixed(2)}× faster (${raw.seconds.toFixed(2)} s)`);
  console.log(`data layer alone over compacted data: ${compacted.seconds.toFixed(2)} s (${compacted.cpuSeconds.toFixed(2)} s CPU) = ${ratios.compactedVsParquetCount.toFixed(2)}× a plain Parquet count(*)`);
  console.log(`compaction: ${Math.round(compactionSpansPerSecond).toLocaleString('en-US')} spans/s (goal ≥ 200 000)`);
  const peak = Math.max(raw.peakMb, compact.peakMb, compacted.peakMb, analyzeRaw.peakMb ?? 0, analyzeCompacted.peakMb ?? 0);
  console.log(`peak memory of abtel phases: ${Math.round(peak)} MB (goal ≤ 1024)`);

  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(
    join(here, 'results', 'analysis.json'),
    `${JSON.stringify(
      {
        benchmark: 'analysis',
        date: new Date().toISOString(),
        node: process.version,
        machine: { cores: cpus().length, loadAverage: loadavg() },
        dataset: { spans: dataset.spans, logRecords: dataset.logRecords, conversations: CONVERSATIONS, jsonBytes: bytes },
        memoryLimit: values['memory-limit'],
        phases: { naive, raw, analyzeRaw, compact, compacted, countParquet, analyzeCompacted },
        ratios,
        compactionSpansPerSecond,
        peakMb: peak,
        goals: {
          rawSeconds: { goal: 3, measured: raw.seconds, met: raw.seconds <= 3 },
          rawVsNaive: { goal: 3, measured: ratios.rawVsNaive, met: ratios.rawVsNaive >= 3 },
          analyzeCompactedSeconds: { goal: SPANS >= 5e6 ? 3 : 1, measured: analyzeCompacted.seconds, met: analyzeCompacted.seconds <= (SPANS >= 5e6 ? 3 : 1) },
          analyzeRawSeconds: { goal: 3, measured: analyzeRaw.seconds, met: analyzeRaw.seconds <= 3 },
          compactionSpansPerSecond: { goal: 200000, measured: compactionSpansPerSecond, met: compactionSpansPerSecond >= 200000 },
          peakMb: { goal: 1024, measured: peak, met: peak <= 1024 },
        },
      },
      null,
      2,
    )}\n`,
  );
}

if (values.phase) await timePhase(values.phase, phase);
else await main();

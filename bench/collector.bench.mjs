#!/usr/bin/env node
// Collector throughput: spans per second for bodies of 512 spans (as the real OTLP exporters
// serialise them, JSON and protobuf), driven from a second process on 127.0.0.1, against a raw
// passthrough server (appends bodies to a file, nothing else) measured in the same run. Also checks
// zero loss (spans on disk == spans acknowledged) and peak resident memory under overload.
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

const here = dirname(fileURLToPath(import.meta.url));
const collectorBin = join(here, '..', 'collector', 'bin', 'abtel-collector.js');
const SPANS = 512;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 8;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const work = mkdtempSync(join(tmpdir(), 'abtel-collector-bench-'));

/** 512 spans shaped like an instrumented LLM app: gen_ai attributes, experiment stamps, an event. */
function makeSpans() {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-agent', 'service.version': '1.4.2', 'deployment.environment.name': 'bench' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('@abtel/node', '0.0.0');
  for (let index = 0; index < SPANS; index++) {
    const span = tracer.startSpan(`chat gpt-4o-mini`, {
      kind: 2,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'gen_ai.conversation.id': `conv-${index % 97}`,
        'gen_ai.usage.input_tokens': 1200 + index,
        'gen_ai.usage.output_tokens': 300 + (index % 50),
        'abtel.experiment.key': 'support-persona',
        'abtel.experiment.variation': index % 2 === 0 ? 'control' : 'empathetic',
        'abtel.experiment.version': 3,
      },
    });
    span.addEvent('gen_ai.choice', { 'gen_ai.response.finish_reasons': ['stop'] });
    span.end();
  }
  return memory.getFinishedSpans();
}

/** What the real exporter puts on the wire, captured by a one-shot server. */
async function captureBody(Exporter, spans) {
  let captured;
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      captured = { body: Buffer.concat(chunks), contentType: request.headers['content-type'] };
      response.writeHead(200, { 'content-type': request.headers['content-type'] });
      response.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const exporter = new Exporter({ url: `http://127.0.0.1:${server.address().port}/v1/traces` });
  await new Promise((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  server.close();
  return captured;
}

function startChild(args, pattern) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = pattern.exec(line);
      if (match) resolve({ child, url: match[1], stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`)));
  });
}

async function stopChild(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function runLoad(url, bodyFile, contentType, seconds, concurrency) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'collector-load.mjs'), url, bodyFile, contentType, String(seconds), String(concurrency), String(SPANS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident set size of a process (VmHWM), in MB. */
function peakRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** Counts lines and spans in every traces file; each line must parse (zero loss, whole lines). */
async function countSpansOnDisk(dir) {
  let lines = 0;
  let spans = 0;
  const input = createReadStream(join(dir, 'traces.jsonl'));
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line === '') continue;
    lines += 1;
    const data = JSON.parse(line);
    for (const resourceSpans of data.resourceSpans) for (const scopeSpans of resourceSpans.scopeSpans) spans += scopeSpans.spans.length;
  }
  return { lines, spans };
}

async function measure(kind, label, body, contentType, extraArgs = [], concurrency = CONCURRENCY) {
  const bodyFile = join(work, `${kind}.body`);
  writeFileSync(bodyFile, body);
  const dir = join(work, `${label}-${kind}`);
  mkdirSync(dir, { recursive: true });
  const server =
    label === 'passthrough'
      ? await startChild([join(here, 'collector-passthrough.mjs'), join(dir, 'bodies')], /listening on (\S+)/)
      : await startChild([collectorBin, '--port', '0', '--dir', dir, '--quiet', '--rotate-max-bytes', '0', ...extraArgs], /listening on (\S+)/);
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, peakRssMb(server.child.pid));
    } catch {
      // the process is gone
    }
  }, 200);
  const cpuBefore = cpuSeconds(server.child.pid);
  const load = await runLoad(`${server.url}/v1/traces`, bodyFile, contentType, SECONDS, concurrency);
  const cpu = cpuSeconds(server.child.pid) - cpuBefore;
  clearInterval(sampler);
  peak = Math.max(peak, peakRssMb(server.child.pid));
  await stopChild(server.child);
  // Spans per CPU-second of the server process: what one uncontended core would sustain, which
  // matters on a loaded machine where wall-clock rates mostly measure the CPU share a process gets.
  const result = { ...load, spansPerSecond: load.itemsAcked / load.seconds, cpuSeconds: cpu, spansPerCpuSecond: cpu > 0 ? load.itemsAcked / cpu : undefined, peakRssMb: Math.round(peak) };
  if (label !== 'passthrough') {
    const disk = await countSpansOnDisk(dir);
    result.spansOnDisk = disk.spans;
    result.lost = load.itemsAcked - disk.spans;
  }
  rmSync(dir, { recursive: true, force: true });
  return result;
}

const spans = makeSpans();
const json = await captureBody(JsonExporter, spans);
const proto = await captureBody(ProtoExporter, spans);
console.log(`bodies of ${SPANS} spans from the real exporters: JSON ${(json.body.length / 1024).toFixed(0)} KiB, protobuf ${(proto.body.length / 1024).toFixed(0)} KiB; ${ROUNDS} × ${SECONDS} s per server, alternating, ${CONCURRENCY} connections`);

const results = {};
for (const [kind, captured] of [
  ['json', json],
  ['protobuf', proto],
]) {
  // Alternate baseline and collector runs, so that a change in machine load during the run
  // affects both sides alike; the ratio is over the summed runs.
  const runs = { passthrough: [], collector: [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs.passthrough.push(await measure(kind, 'passthrough', captured.body, captured.contentType));
    runs.collector.push(await measure(kind, 'collector', captured.body, captured.contentType));
  }
  const combine = (list) => ({
    ...list.at(-1),
    ok: list.reduce((sum, run) => sum + run.ok, 0),
    itemsAcked: list.reduce((sum, run) => sum + run.itemsAcked, 0),
    seconds: list.reduce((sum, run) => sum + run.seconds, 0),
    spansPerSecond: list.reduce((sum, run) => sum + run.itemsAcked, 0) / list.reduce((sum, run) => sum + run.seconds, 0),
    cpuSeconds: list.reduce((sum, run) => sum + run.cpuSeconds, 0),
    spansPerCpuSecond: list.reduce((sum, run) => sum + run.itemsAcked, 0) / list.reduce((sum, run) => sum + run.cpuSeconds, 0),
    peakRssMb: Math.max(...list.map((run) => run.peakRssMb)),
    lost: list.reduce((sum, run) => sum + (run.lost ?? 0), 0),
    rounds: list.map((run) => Math.round(run.spansPerSecond)),
  });
  const passthrough = combine(runs.passthrough);
  const collector = combine(runs.collector);
  results[kind] = { passthrough, collector, ratio: collector.spansPerSecond / passthrough.spansPerSecond };
  console.log(
    `${kind.padEnd(8)} passthrough ${(passthrough.spansPerSecond / 1e6).toFixed(3)} M spans/s · collector ${(collector.spansPerSecond / 1e6).toFixed(3)} M spans/s · ratio ${results[kind].ratio.toFixed(2)} · lost ${collector.lost} · peak RSS ${collector.peakRssMb} MB`,
  );
  console.log(
    `${''.padEnd(8)} per CPU-second of the server process: passthrough ${(passthrough.spansPerCpuSecond / 1e6).toFixed(3)} M spans · collector ${(collector.spansPerCpuSecond / 1e6).toFixed(3)} M spans`,
  );
}

// Overload: many connections and fdatasync on every batch, so writes fall behind; the collector
// must answer 429 rather than buffer without bound.
const overload = await measure('json', 'overload', json.body, json.contentType, ['--fsync', 'always', '--max-body-bytes', '4MiB'], 128);
results.overload = overload;
console.log(
  `overload (128 connections, fsync always): ${overload.ok} accepted, ${overload.tooMany} answered 429, peak RSS ${overload.peakRssMb} MB (goal ≤ 300), lost ${overload.lost}`,
);

const goals = {
  jsonAtLeast025M: results.json.collector.spansPerSecond >= 0.25e6,
  jsonAtLeastHalfOfPassthrough: results.json.ratio >= 0.5,
  protobufAtLeast020M: results.protobuf.collector.spansPerSecond >= 0.2e6,
  zeroLoss: results.json.collector.lost === 0 && results.protobuf.collector.lost === 0 && overload.lost === 0,
  rssUnder300MbUnderOverload: overload.peakRssMb <= 300,
};
console.log(`machine load average during the run: ${(await import('node:os')).loadavg().map((value) => value.toFixed(1)).join(' / ')} on ${(await import('node:os')).cpus().length} cores`);
console.log(`goals: ${Object.entries(goals).map(([name, met]) => `${name} ${met ? 'met' : 'NOT met'}`).join(' · ')}`);
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(
  join(here, 'results', 'collector.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, spansPerBody: SPANS, secondsPerRun: SECONDS, rounds: ROUNDS, concurrency: CONCURRENCY, loadAverage: (await import('node:os')).loadavg(), bodyBytes: { json: json.body.length, protobuf: proto.body.length }, results, goals }, null, 2)}\n`,
);
rmSync(work, { recursive: true, force: true });

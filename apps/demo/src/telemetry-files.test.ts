import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { armCounts, scanTelemetry } from './telemetry-files.js';

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function spanLine(conversationId: string, variations: string[], status = 0): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'agent')] },
        scopeSpans: [
          {
            scope: { name: '@opentelemetry/instrumentation-openai' },
            spans: [
              {
                traceId: '0af7651916cd43dd8448eb211c80319c',
                spanId: 'b7ad6b7169203331',
                name: 'chat support-1',
                status: status ? { code: status } : {},
                attributes: [
                  str('gen_ai.conversation.id', conversationId),
                  { key: 'abtel.experiments', value: { arrayValue: { values: variations.map((v) => ({ stringValue: v })) } } },
                ],
                events: [{ name: 'abtel.exposure', attributes: [str('abtel.experiment.key', 'e2'), str('abtel.experiment.variation', 'y')] }],
              },
            ],
          },
        ],
      },
    ],
  });
}

function logLine(records: { eventName?: string; attributes: unknown[] }[]): string {
  return JSON.stringify({ resourceLogs: [{ resource: {}, scopeLogs: [{ scope: {}, logRecords: records }] }] });
}

describe('scanTelemetry', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'abtel-scan-'));
    await writeFile(join(dir, 'traces.jsonl'), `${spanLine('c1', ['e1=a', 'e2=y'])}\n${spanLine('c1', ['e1=a', 'e2=y'], 2)}\n{"resourceSpans": [tor\n`);
    const exposure = (conversation: string, variation: string) => ({
      eventName: 'abtel.exposure',
      attributes: [str('gen_ai.conversation.id', conversation), str('abtel.experiment.key', 'e1'), str('abtel.experiment.variation', variation)],
    });
    // Outcome values as the JS SDK sends them: whole numbers as intValue strings.
    const outcome = (conversation: string, name: string, value: number) => ({
      attributes: [str('event.name', 'abtel.outcome'), str('gen_ai.conversation.id', conversation), str('abtel.outcome.name', name), { key: 'abtel.outcome.value', value: { intValue: String(value) } }],
    });
    const gz = gzipSync(`${logLine([exposure('c1', 'a'), exposure('c2', 'b'), exposure('c1', 'b')])}\n${logLine([outcome('c1', 'resolved', 1), outcome('c2', 'resolved', 0), outcome('c2', 'csat', 4)])}\n`);
    await writeFile(join(dir, 'logs-2026-11-22T06-00-00.000.jsonl.gz'), gz);
    // Derived data in hidden directories is not telemetry.
    await mkdir(join(dir, '.abtel'));
    await writeFile(join(dir, '.abtel', 'x.jsonl'), '{ not telemetry\n');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('counts spans, errors, events from logs and span events, and reports torn lines', async () => {
    const counts = await scanTelemetry(dir);
    expect(counts.files).toBe(2);
    expect(counts.chatSpans).toBe(2);
    expect(counts.chatErrorSpans).toBe(1);
    expect(counts.badLines).toEqual([{ file: join(dir, 'traces.jsonl'), line: 3 }]);
    expect(counts.events).toEqual({ 'abtel.exposure': 5, 'abtel.outcome': 3 });
    expect([...(counts.spanVariations.get('c1')?.get('e1') ?? [])]).toEqual(['a']);
    expect([...(counts.spanVariations.get('c1')?.get('e2') ?? [])]).toEqual(['y']);
    // The first exposure of a unit wins; later ones are duplicates.
    expect(counts.exposures.get('e1')?.get('c1')).toBe('a');
    expect(counts.outcomes).toContainEqual({ conversationId: 'c2', name: 'csat', value: 4 });
  });

  it('joins outcomes to arms by conversation id', async () => {
    const arms = armCounts(await scanTelemetry(dir), 'e1', 'resolved', 'csat');
    expect(arms).toEqual([
      { variation: 'a', exposed: 1, resolved: 1, csatCount: 0, csatSum: 0 },
      { variation: 'b', exposed: 1, resolved: 0, csatCount: 1, csatSum: 4 },
    ]);
  });
});

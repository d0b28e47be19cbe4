import { promisify } from 'node:util';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installContextManager } from '../../test/helpers/harness.js';
import { unrefExportTimers, withUnrefTimers } from './export-timers.js';

let uninstall: () => void;
beforeAll(() => {
  uninstall = installContextManager();
});
afterAll(() => uninstall());

/** Timers that keep the event loop alive right now. */
const refTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An exporter whose exports never finish, like one waiting for an unreachable collector. */
const stuck: SpanExporter & LogRecordExporter = { export: () => {}, forceFlush: async () => {}, shutdown: async () => {} };

describe('withUnrefTimers', () => {
  it('unrefs the timers created inside it, also after an await, and no others', async () => {
    const outsideBefore = setTimeout(() => {}, 10_000);
    const [first, second] = await withUnrefTimers(async () => {
      const a = setTimeout(() => {}, 10_000);
      await tick();
      const b = setTimeout(() => {}, 10_000);
      return [a, b];
    });
    const outsideAfter = setTimeout(() => {}, 10_000);
    expect([first!.hasRef(), second!.hasRef(), outsideBefore.hasRef(), outsideAfter.hasRef()]).toEqual([false, false, true, true]);
    for (const timer of [first, second, outsideBefore, outsideAfter]) clearTimeout(timer);
  });

  it('keeps setTimeout working as before: arguments, clearTimeout, util.promisify', async () => {
    withUnrefTimers(() => undefined);
    expect(await new Promise((resolve) => setTimeout((a: number, b: number) => resolve(a + b), 1, 2, 3))).toBe(5);
    let fired = false;
    clearTimeout(setTimeout(() => (fired = true), 1));
    expect(await promisify(setTimeout)(20, 'value')).toBe('value');
    expect(fired).toBe(false);
  });
});

describe('unrefExportTimers on the SDK batch processors', () => {
  // The SDK's processors hold a 30 s export timeout for as long as an export is under way; these
  // fail when an SDK update renames the private methods through which exports start.
  it('BatchSpanProcessor: an export under way does not hold the process', async () => {
    const held = async (unref: boolean): Promise<number> => {
      const processor = new BatchSpanProcessor(stuck);
      if (unref) expect(unrefExportTimers(processor, 'span')).toBe(true);
      new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('t').startSpan('s').end();
      const before = refTimers();
      void processor.forceFlush().catch(() => {});
      await tick();
      return refTimers() - before;
    };
    expect(await held(false)).toBe(1);
    expect(await held(true)).toBe(0);
  });

  it('BatchLogRecordProcessor: an export under way does not hold the process', async () => {
    const held = async (unref: boolean): Promise<number> => {
      const processor = new BatchLogRecordProcessor({ exporter: stuck });
      if (unref) expect(unrefExportTimers(processor, 'log')).toBe(true);
      new LoggerProvider({ processors: [processor] }).getLogger('t').emit({ body: 'b' });
      const before = refTimers();
      void processor.forceFlush().catch(() => {});
      await tick();
      return refTimers() - before;
    };
    expect(await held(false)).toBe(1);
    expect(await held(true)).toBe(0);
  });

  it('leaves a processor of another shape alone', () => {
    const processor = { forceFlush: async () => {}, shutdown: async () => {} };
    const methods = { ...processor };
    expect(unrefExportTimers(processor, 'span')).toBe(false);
    expect(processor).toEqual(methods);
  });
});

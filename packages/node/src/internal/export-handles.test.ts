import { Agent, createServer, request, type ClientRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installContextManager } from '../../test/helpers/harness.js';
import { unrefExportHandles, withUnrefHandles } from './export-handles.js';

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

/** Timers that an export of `processor`, started by a flush once `record` gave it something to export, holds while under way. */
async function timersHeldByExport(processor: { forceFlush(): Promise<void> }, record: () => void): Promise<number> {
  record();
  const before = refTimers();
  void processor.forceFlush().catch(() => {});
  await tick();
  return refTimers() - before;
}

describe('withUnrefHandles', () => {
  it('unrefs the timers created inside it, also after an await, and no others', async () => {
    const outsideBefore = setTimeout(() => {}, 10_000);
    const [first, second] = await withUnrefHandles(async () => {
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
    withUnrefHandles(() => undefined);
    expect(await new Promise((resolve) => setTimeout((a: number, b: number) => resolve(a + b), 1, 2, 3))).toBe(5);
    let fired = false;
    clearTimeout(setTimeout(() => (fired = true), 1));
    expect(await promisify(setTimeout)(20, 'value')).toBe('value');
    expect(fired).toBe(false);
  });
});

describe('unrefExportHandles on the SDK batch processors', () => {
  // The SDK's processors hold a 30 s export timeout for as long as an export is under way; these
  // fail when an SDK update renames the private methods through which exports start.
  it('BatchSpanProcessor: an export under way does not hold the process', async () => {
    const held = async (unref: boolean): Promise<number> => {
      const processor = new BatchSpanProcessor(stuck);
      if (unref) expect(unrefExportHandles(processor, 'span')).toBe(true);
      return timersHeldByExport(processor, () => new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('t').startSpan('s').end());
    };
    expect(await held(false)).toBe(1);
    expect(await held(true)).toBe(0);
  });

  it('BatchLogRecordProcessor: an export under way does not hold the process', async () => {
    const held = async (unref: boolean): Promise<number> => {
      const processor = new BatchLogRecordProcessor({ exporter: stuck });
      if (unref) expect(unrefExportHandles(processor, 'log')).toBe(true);
      return timersHeldByExport(processor, () => new LoggerProvider({ processors: [processor] }).getLogger('t').emit({ body: 'b' }));
    };
    expect(await held(false)).toBe(1);
    expect(await held(true)).toBe(0);
  });

  it('leaves a processor of another shape alone', () => {
    const processor = { forceFlush: async () => {}, shutdown: async () => {} };
    const methods = { ...processor };
    expect(unrefExportHandles(processor, 'span')).toBe(false);
    expect(processor).toEqual(methods);
  });
});

describe('withUnrefHandles and HTTP requests', () => {
  // A collector that answers POST /answer and reads every other request without ever answering it;
  // its own handles (the listening socket, the accepted connections) do not hold the process, so
  // only the client's sockets are counted.
  let server: Server;
  let port: number;
  const received: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(req.url ?? '');
        if (req.url === '/answer') res.end('{}');
      });
    });
    server.on('connection', (socket) => socket.unref());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Client sockets that keep the event loop alive right now. */
  const refSockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;

  /** POSTs to `path` like the OTLP exporter does (a body, a keep-alive agent); resolves once the collector has read it. */
  const post = (agent: Agent, path: string): { req: ClientRequest; read: Promise<void> } => {
    const count = received.length;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent }, (res) => res.resume());
    req.on('error', () => {});
    req.end('{}');
    const read = (async () => {
      while (received.length === count) await new Promise((resolve) => setTimeout(resolve, 5));
      await tick();
    })();
    return { req, read };
  };

  /** Ends a request that is never answered, once its socket is closed. */
  const abort = async (req: ClientRequest): Promise<void> => {
    const closed = new Promise((resolve) => req.once('close', resolve));
    req.destroy();
    await closed;
    await tick();
  };

  it('the socket of a request made inside does not hold the process; one made outside does', async () => {
    const held = async (inside: boolean): Promise<number> => {
      const agent = new Agent({ keepAlive: true });
      const before = refSockets();
      const { req, read } = inside ? withUnrefHandles(() => post(agent, '/hang')) : post(agent, '/hang');
      await read;
      const count = refSockets() - before;
      await abort(req);
      agent.destroy();
      return count;
    };
    expect(await held(false)).toBe(1);
    expect(await held(true)).toBe(0);
  });

  it('a kept-alive socket that a later request reuses inside does not hold the process either (the agent refs it on reuse)', async () => {
    const held = async (inside: boolean): Promise<{ reused: boolean; count: number }> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const run = async (): Promise<{ reused: boolean; count: number }> => {
        const first = post(agent, '/answer');
        await new Promise((resolve) => first.req.on('close', resolve));
        const before = refSockets();
        const second = post(agent, '/hang');
        await second.read;
        const count = refSockets() - before;
        await abort(second.req);
        return { reused: second.req.reusedSocket, count };
      };
      const result = await (inside ? withUnrefHandles(run) : run());
      agent.destroy();
      return result;
    };
    expect(await held(false)).toEqual({ reused: true, count: 1 });
    expect(await held(true)).toEqual({ reused: true, count: 0 });
  });

  it('leaves requests made outside alone after requests made inside', async () => {
    const agent = new Agent({ keepAlive: true });
    const inside = withUnrefHandles(() => post(agent, '/hang'));
    await inside.read;
    const before = refSockets();
    const outside = post(agent, '/hang');
    await outside.read;
    expect(refSockets() - before).toBe(1);
    await abort(inside.req);
    await abort(outside.req);
    agent.destroy();
  });
});

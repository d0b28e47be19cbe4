#!/usr/bin/env node
// Load generator for collector.bench.mjs, run as its own process so that it does not share the
// event loop (or the core) with the server under test. Sends one body over and over on `concurrency`
// keep-alive connections for `seconds`, and prints what was acknowledged as JSON on stdout.
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [url, bodyFile, contentType, secondsText, concurrencyText, itemsText] = process.argv.slice(2);
const body = readFileSync(bodyFile);
const seconds = Number(secondsText);
const concurrency = Number(concurrencyText);
const itemsPerBody = Number(itemsText);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(url);
const result = { ok: 0, tooMany: 0, unavailable: 0, other: 0, errors: 0, itemsAcked: 0, seconds: 0 };
const deadline = Date.now() + seconds * 1000;
const started = process.hrtime.bigint();

function send() {
  return new Promise((resolve) => {
    const request = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': contentType, 'content-length': body.length } },
      (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode === 200) {
            result.ok += 1;
            result.itemsAcked += itemsPerBody;
          } else if (response.statusCode === 429) result.tooMany += 1;
          else if (response.statusCode === 503) result.unavailable += 1;
          else result.other += 1;
          resolve();
        });
      },
    );
    request.on('error', () => {
      result.errors += 1;
      resolve();
    });
    request.end(body);
  });
}

async function worker() {
  while (Date.now() < deadline) await send();
}

await Promise.all(Array.from({ length: concurrency }, worker));
result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
agent.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);

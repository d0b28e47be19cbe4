#!/usr/bin/env node
// Baseline for collector.bench.mjs: an HTTP server that only appends each request body (and a
// newline) to a file and answers 200 once the write returned — no decoding, no validation.
import { open } from 'node:fs/promises';
import http from 'node:http';

const file = await open(process.argv[2], 'a');
const server = http.createServer({ keepAliveTimeout: 5000 }, (request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    chunks.push(Buffer.from('\n'));
    await file.writev(chunks);
    response.writeHead(200, { 'content-type': request.headers['content-type'] ?? 'application/json', 'content-length': 2 });
    response.end('{}');
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`passthrough listening on http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => server.close(() => file.close().then(() => process.exit(0))));

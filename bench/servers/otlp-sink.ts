import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the traced servers export to (issue 24): an OTLP/HTTP receiver that reads each export to the end and answers
 * 200, as a collector does, and counts the bytes (`GET /_bytes`). Its own process, so receiving does not take the
 * load generator's CPU.
 */
let bytes = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/_bytes') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes }));
    return;
  }
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));

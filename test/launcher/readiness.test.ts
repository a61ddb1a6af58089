/**
 * The launcher's readiness probes against real servers on 127.0.0.1: the gRPC health check
 * (plaintext, TLS, mutual TLS; SERVING vs NOT_SERVING; nothing listening) and GET /health; and
 * the probe socket's defence against a connection to itself (TCP simultaneous open on a port
 * nobody listens on yet), forced here by binding the probe to the target port: it is detected,
 * reset (no TIME_WAIT: the same connection can be made again at once), and the port stays free
 * for the service that binds it next.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { ACLServiceService } from '../../src/gen/orlyacl/v1/acl.js';
import type { GrpcSecurity } from '../../src/grpc/security.js';
import { GrpcServer } from '../../src/grpc/server.js';
import { connectProbeSocket } from '../../src/launcher/probe-socket.js';
import { grpcHealthProbe, httpHealthProbe } from '../../src/launcher/readiness.js';
import { createLogger } from '../../src/logger.js';
import { freePort } from './fake-service.js';

const FIXTURES = new URL('../../../test/fixtures/tls/', import.meta.url);
const pem = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));
const ca = pem('ca.pem');
const serverTls: GrpcSecurity = { cert: pem('server.pem'), key: pem('server.key') };
const clientCert = { cert: pem('client.pem'), key: pem('client.key') };
const TOKEN = 'readiness-test-token-0123456789';

const servers: GrpcServer[] = [];
after(async () => {
  for (const server of servers) await server.stop(100);
});

async function serve(security: GrpcSecurity, serving = true): Promise<string> {
  const server = new GrpcServer({
    name: 'orly-test',
    listen: '127.0.0.1:0',
    security,
    services: [{ definition: ACLServiceService, implementation: {} }],
    logger: createLogger('silent'),
    isServing: () => serving,
  });
  servers.push(server);
  await server.start();
  return server.address;
}

describe('grpc health probe', () => {
  test('plaintext with a token: SERVING is ready, NOT_SERVING is not', async () => {
    assert.equal(await grpcHealthProbe(await serve({ token: TOKEN }), { token: TOKEN }).check(), true);
    await assert.rejects(
      grpcHealthProbe(await serve({ token: TOKEN }, false), {}).check(),
      /health status 2/,
    );
  });

  test('TLS and mutual TLS, verified against the CA', async () => {
    const tls = await serve({ ...serverTls, token: TOKEN });
    assert.equal(await grpcHealthProbe(tls, { ca }).check(), true);
    assert.equal(await grpcHealthProbe(tls, { ca, serverName: 'localhost' }).check(), true);
    await assert.rejects(grpcHealthProbe(tls, {}).check());
    await assert.rejects(grpcHealthProbe(tls, { ca: pem('other-ca.pem') }).check());
    const mtls = await serve({ ...serverTls, ca });
    assert.equal(await grpcHealthProbe(mtls, { ca, ...clientCert }).check(), true);
    await assert.rejects(grpcHealthProbe(mtls, { ca }).check());
  });

  test('nothing listening: not ready', async () => {
    await assert.rejects(grpcHealthProbe(`127.0.0.1:${await freePort()}`, {}).check(), /ECONNREFUSED/);
  });
});

test('http probe: 200 is ready, anything else is not', async () => {
  let code = 503;
  const server = createServer((_req, res) => {
    res.statusCode = code;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const probe = httpHealthProbe(`http://127.0.0.1:${port}/health`);
    await assert.rejects(probe.check(), /HTTP 503/);
    code = 200;
    assert.equal(await probe.check(), true);
  } finally {
    server.close();
  }
});

test('a probe that connects to itself is reset and does not keep the port', async () => {
  const port = await freePort();
  for (let i = 0; i < 2; i++) {
    // Bound to the target port: a connection to itself, as the kernel may pick by chance.
    await assert.rejects(connectProbeSocket('127.0.0.1', port, 1000, port), /connected to itself; reset/);
  }
  // The service can listen on it right away.
  const listener = createTcpServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, '127.0.0.1', resolve);
  });
  listener.close();
});

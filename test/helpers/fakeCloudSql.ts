// A Cloud SQL instance as the Cloud SQL Node.js Connector meets it, offline: the SQL Admin API's two calls
// it makes (`connectSettings`: address, region, server CA; `generateEphemeralCert`: signs the client's
// public key, recording any IAM access token sent) and the instance's server-side proxy on port 3307
// (TLS 1.3, client certificate required, server certificate named `PROJECT:INSTANCE` as Cloud SQL's
// per-instance CA names it), which passes the MySQL protocol through to a MariaDB of the stack.
// The proxy binds a random 127.x.y.z:3307 (the connector always dials 3307), so runs never collide.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { TestPki } from './tlsCerts.js';

export interface FakeCloudSql {
  /** SQL Admin API root for the connector's `sqlAdminAPIEndpoint`. */
  adminEndpoint: string;
  /** Access tokens the ephemeral-certificate requests carried (IAM login), in order. */
  tokens: Array<string | undefined>;
  /** Subjects of the client certificates the proxy accepted. */
  clients: string[];
  close(): Promise<void>;
}

export interface FakeCloudSqlOptions {
  pki: TestPki;
  project: string;
  region: string;
  instance: string;
  /** The MariaDB the proxy forwards to. */
  mysqlPort: number;
  /** CN of the proxy's certificate; `PROJECT:INSTANCE` unless a test wants the wrong one. */
  serverCn?: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

async function listenProxy(server: TlsServer): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const host = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const ok = await new Promise<boolean>((resolve) => {
      const onError = (): void => resolve(false);
      server.once('error', onError);
      server.listen(3307, host, () => {
        server.removeListener('error', onError);
        resolve(true);
      });
    });
    if (ok) return host;
  }
  throw new Error('no free 127.x.y.z:3307 for the fake Cloud SQL proxy');
}

export async function startFakeCloudSql(o: FakeCloudSqlOptions): Promise<FakeCloudSql> {
  const dir = mkdtempSync(join(tmpdir(), 'ott-cloudsql-'));
  const ca = join(o.pki.dir, 'ca.pem');
  const caKey = join(o.pki.dir, 'ca.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${o.serverCn ?? `${o.project}:${o.instance}`}`]);
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', 'server.pem', '-days', '1']);
  // generateEphemeralCert signs a public key it is given: a throwaway CSR carries the subject, -force_pubkey the key.
  openssl(dir, ['req', ...ec, '-keyout', 'client-dummy.key', '-out', 'client.csr', '-subj', '/CN=ott-ephemeral']);

  const tokens: Array<string | undefined> = [];
  const clients: string[] = [];
  const proxy = createTlsServer(
    { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')), ca: readFileSync(ca), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
    (sock) => {
      clients.push(String(sock.getPeerCertificate().subject?.CN));
      const up = connect(o.mysqlPort, '127.0.0.1');
      sock.pipe(up).pipe(sock);
      sock.on('error', () => up.destroy());
      up.on('error', () => sock.destroy());
    },
  );
  const proxyHost = await listenProxy(proxy);

  const base = `/sql/v1beta4/projects/${o.project}/instances/${o.instance}`;
  const admin: Server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = decodeURIComponent((req.url ?? '').split('?')[0]);
      const reply = (status: number, json: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'GET' && path === `${base}/connectSettings`) {
        return reply(200, {
          kind: 'sql#connectSettings',
          serverCaCert: { cert: readFileSync(ca, 'utf8'), expirationTime: new Date(Date.now() + 86_400_000).toISOString() },
          ipAddresses: [{ type: 'PRIVATE', ipAddress: proxyHost }],
          region: o.region,
          databaseVersion: 'MYSQL_8_0',
          backendType: 'SECOND_GEN',
          serverCaMode: 'GOOGLE_MANAGED_INTERNAL_CA',
        });
      }
      if (req.method === 'POST' && path === `${base}:generateEphemeralCert`) {
        const { public_key: publicKey, access_token: token } = JSON.parse(body) as { public_key: string; access_token?: string };
        tokens.push(token);
        const n = tokens.length;
        writeFileSync(join(dir, `pub-${n}.pem`), publicKey);
        openssl(dir, ['x509', '-req', '-in', 'client.csr', '-force_pubkey', `pub-${n}.pem`, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', `eph-${n}.pem`, '-days', '1']);
        return reply(200, { ephemeralCert: { kind: 'sql#sslCert', cert: readFileSync(join(dir, `eph-${n}.pem`), 'utf8') } });
      }
      reply(404, { error: { code: 404, message: `fake SQL Admin API: no ${req.method} ${path}` } });
    });
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
  const port = (admin.address() as { port: number }).port;
  return {
    adminEndpoint: `http://127.0.0.1:${port}/`,
    tokens,
    clients,
    close: async () => {
      await Promise.all([new Promise((r) => admin.close(r)), new Promise((r) => proxy.close(r))]);
    },
  };
}

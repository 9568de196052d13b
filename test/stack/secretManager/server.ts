// A Secret Manager fake: the real gRPC service definition (the .proto files shipped with
// @google-cloud/secret-manager), served by @grpc/grpc-js with the real service's error codes.
// Run: node --import tsx test/stack/secretManager/server.ts --port P. Secrets live in memory.
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { crc32c } from '../crc32c.js';

const require = createRequire(import.meta.url);
const smRoot = join(dirname(require.resolve('@google-cloud/secret-manager/package.json')), 'build', 'protos');
// google-gax does not export package.json: locate it from its main entry (build/src/index.js).
const gaxRoot = join(dirname(require.resolve('google-gax')), '..', 'protos');

interface Version {
  n: number;
  data: Buffer;
  createTime: Date;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
}
interface Secret {
  name: string;
  createTime: Date;
  labels: Record<string, string>;
  versions: Version[];
}

const secrets = new Map<string, Secret>();
const SECRET_RE = /^projects\/([^/]+)\/secrets\/([A-Za-z0-9_-]{1,255})$/;
const VERSION_RE = /^(projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255})\/versions\/(latest|[1-9][0-9]*)$/;

type Cb = grpc.sendUnaryData<unknown>;
const fail = (cb: Cb, code: grpc.status, details: string): void => cb({ code, details } as grpc.ServiceError, null);
const ts = (d: Date): { seconds: number; nanos: number } => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });

function secretMsg(s: Secret): object {
  return { name: s.name, createTime: ts(s.createTime), labels: s.labels, replication: { automatic: {} } };
}
function versionMsg(s: Secret, v: Version): object {
  return { name: `${s.name}/versions/${v.n}`, createTime: ts(v.createTime), state: v.state };
}

/** Resolves a version name (numbered or `latest`) or answers the real service's error. */
function findVersion(name: string, cb: Cb): { s: Secret; v: Version } | undefined {
  const m = VERSION_RE.exec(name ?? '');
  if (!m) return void fail(cb, grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request.`);
  const s = secrets.get(m[1]);
  if (!s) return void fail(cb, grpc.status.NOT_FOUND, `Secret [${m[1]}] not found or has no versions.`);
  const v = m[2] === 'latest' ? [...s.versions].reverse().find((x) => x.state === 'ENABLED') : s.versions[Number(m[2]) - 1];
  if (!v) return void fail(cb, grpc.status.NOT_FOUND, `Secret Version [${name}] not found.`);
  return { s, v };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- request shapes come from the .proto at run time
const handlers: Record<string, (call: grpc.ServerUnaryCall<any, unknown>, cb: Cb) => void> = {
  CreateSecret(call, cb) {
    const { parent, secretId, secret } = call.request as { parent: string; secretId: string; secret?: { labels?: Record<string, string> } };
    const name = `${parent}/secrets/${secretId}`;
    if (!/^projects\/[^/]+$/.test(parent ?? '') || !SECRET_RE.test(name)) return fail(cb, grpc.status.INVALID_ARGUMENT, 'Invalid resource field value in the request.');
    if (secrets.has(name)) return fail(cb, grpc.status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
    const s: Secret = { name, createTime: new Date(), labels: secret?.labels ?? {}, versions: [] };
    secrets.set(name, s);
    cb(null, secretMsg(s));
  },
  GetSecret(call, cb) {
    const name = (call.request as { name: string }).name;
    if (!SECRET_RE.test(name ?? '')) return fail(cb, grpc.status.INVALID_ARGUMENT, 'Invalid resource field value in the request.');
    const s = secrets.get(name);
    if (!s) return fail(cb, grpc.status.NOT_FOUND, `Secret [${name}] not found.`);
    cb(null, secretMsg(s));
  },
  ListSecrets(call, cb) {
    const parent = (call.request as { parent: string }).parent;
    cb(null, { secrets: [...secrets.values()].filter((s) => s.name.startsWith(`${parent}/secrets/`)).map(secretMsg), nextPageToken: '', totalSize: 0 });
  },
  DeleteSecret(call, cb) {
    const name = (call.request as { name: string }).name;
    if (!secrets.delete(name)) return fail(cb, grpc.status.NOT_FOUND, `Secret [${name}] not found.`);
    cb(null, {});
  },
  AddSecretVersion(call, cb) {
    const { parent, payload } = call.request as { parent: string; payload?: { data?: Buffer; dataCrc32c?: string | number } };
    const s = secrets.get(parent);
    if (!s) return fail(cb, grpc.status.NOT_FOUND, `Secret [${parent}] not found.`);
    const data = Buffer.from(payload?.data ?? Buffer.alloc(0));
    if (data.length > 64 * 1024) return fail(cb, grpc.status.INVALID_ARGUMENT, 'Secret Payload cannot be larger than 64KiB.');
    if (payload?.dataCrc32c !== undefined && payload.dataCrc32c !== null && Number(payload.dataCrc32c) !== crc32c(data)) {
      return fail(cb, grpc.status.INVALID_ARGUMENT, 'Checksum mismatch: the data_crc32c does not match the payload.');
    }
    const v: Version = { n: s.versions.length + 1, data, createTime: new Date(), state: 'ENABLED' };
    s.versions.push(v);
    cb(null, versionMsg(s, v));
  },
  GetSecretVersion(call, cb) {
    const found = findVersion((call.request as { name: string }).name, cb);
    if (found) cb(null, versionMsg(found.s, found.v));
  },
  AccessSecretVersion(call, cb) {
    const name = (call.request as { name: string }).name;
    const found = findVersion(name, cb);
    if (!found) return;
    if (found.v.state !== 'ENABLED') return fail(cb, grpc.status.FAILED_PRECONDITION, `Secret Version [${found.s.name}/versions/${found.v.n}] is in ${found.v.state} state.`);
    cb(null, { name: `${found.s.name}/versions/${found.v.n}`, payload: { data: found.v.data, dataCrc32c: String(crc32c(found.v.data)) } });
  },
  DisableSecretVersion(call, cb) {
    const found = findVersion((call.request as { name: string }).name, cb);
    if (!found) return;
    found.v.state = 'DISABLED';
    cb(null, versionMsg(found.s, found.v));
  },
};

export async function serve(port: number): Promise<grpc.Server> {
  const def = protoLoader.loadSync('google/cloud/secretmanager/v1/service.proto', {
    includeDirs: [smRoot, gaxRoot],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { google: { cloud: { secretmanager: { v1: { SecretManagerService: grpc.ServiceClientConstructor } } } } };
  const service = pkg.google.cloud.secretmanager.v1.SecretManagerService.service;
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(service)) {
    const name = method.charAt(0).toUpperCase() + method.slice(1);
    impl[method] = handlers[name] ?? ((_call: unknown, cb: Cb) => fail(cb, grpc.status.UNIMPLEMENTED, `${name} is not implemented by the local Secret Manager fake`));
  }
  const server = new grpc.Server();
  server.addService(service, impl);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return server;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--port');
  const port = Number(process.argv[i + 1]);
  if (i < 0 || !Number.isInteger(port)) {
    process.stderr.write('usage: server.ts --port PORT\n');
    process.exit(2);
  }
  const server = await serve(port);
  process.stdout.write(`secret manager fake listening on 127.0.0.1:${port}\n`);
  const stop = (): void => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Buckets: insert, get, list, delete, patch (accepted, changes nothing we model), storageLayout.
import { badRequest } from './errors.js';
import type { Exchange } from './exchange.js';
import { bucketResource } from './resource.js';
import type { Store } from './store.js';

export async function insertBucket(ex: Exchange, store: Store): Promise<void> {
  const body = await ex.json();
  await ex.faultGate('bucket', typeof body.name === 'string' ? body.name : undefined);
  if (typeof body.name !== 'string') throw badRequest('Required field: name');
  const b = store.createBucket(body.name, typeof body.location === 'string' ? body.location : undefined, typeof body.storageClass === 'string' ? body.storageClass : undefined);
  await ex.sendJson(200, bucketResource(ex.base, b));
}

export async function listBuckets(ex: Exchange, store: Store): Promise<void> {
  await ex.faultGate('bucket');
  const prefix = ex.query.get('prefix') ?? '';
  const items = [...store.buckets.values()].filter((b) => b.name.startsWith(prefix)).sort((a, b) => (a.name < b.name ? -1 : 1));
  const out: Record<string, unknown> = { kind: 'storage#buckets' };
  if (items.length) out.items = items.map((b) => bucketResource(ex.base, b));
  await ex.sendJson(200, out);
}

export async function bucketOp(ex: Exchange, store: Store, name: string, sub: string | undefined): Promise<void> {
  await ex.faultGate('bucket', name);
  const method = ex.req.method;
  if (sub === 'storageLayout' && method === 'GET') {
    const b = store.bucket(name);
    return ex.sendJson(200, { kind: 'storage#storageLayout', bucket: b.name, location: b.location, locationType: 'multi-region', hierarchicalNamespace: { enabled: false } });
  }
  if (sub !== undefined) throw badRequest(`unsupported bucket sub-resource: ${sub}`);
  if (method === 'DELETE') {
    store.deleteBucket(name);
    return ex.send(204, {});
  }
  if (method === 'PATCH' || method === 'PUT') await ex.drain();
  await ex.sendJson(200, bucketResource(ex.base, store.bucket(name)));
}

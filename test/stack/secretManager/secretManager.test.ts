// The Secret Manager fake through the real @google-cloud/secret-manager client, over gRPC.
import { afterAll, describe, expect, it } from 'vitest';
import { makeSecretClient } from './client.js';
import { uniqueName } from '../../helpers/names.js';
import { crc32c } from '../crc32c.js';

const client = makeSecretClient();
const parent = 'projects/ott-local';
afterAll(() => client.close());

describe('Secret Manager fake', () => {
  it('creates a secret, adds versions, and accesses latest and numbered versions', async () => {
    const id = uniqueName('creds');
    const [secret] = await client.createSecret({ parent, secretId: id, secret: { replication: { automatic: {} } } });
    expect(secret.name).toBe(`${parent}/secrets/${id}`);
    await client.addSecretVersion({ parent: secret.name, payload: { data: Buffer.from('{"v":1}') } });
    const v2 = Buffer.from('{"v":2}');
    const [added] = await client.addSecretVersion({ parent: secret.name, payload: { data: v2, dataCrc32c: crc32c(v2) } });
    expect(added.name).toBe(`${secret.name}/versions/2`);
    const [latest] = await client.accessSecretVersion({ name: `${secret.name}/versions/latest` });
    expect(latest.payload?.data?.toString()).toBe('{"v":2}');
    expect(Number(latest.payload?.dataCrc32c)).toBe(crc32c(v2));
    const [first] = await client.accessSecretVersion({ name: `${secret.name}/versions/1` });
    expect(first.payload?.data?.toString()).toBe('{"v":1}');
  });

  it('answers NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT and a checksum mismatch like the real service', async () => {
    await expect(client.accessSecretVersion({ name: `${parent}/secrets/${uniqueName('missing')}/versions/latest` })).rejects.toMatchObject({ code: 5 });
    const id = uniqueName('dup');
    await client.createSecret({ parent, secretId: id, secret: {} });
    await expect(client.createSecret({ parent, secretId: id, secret: {} })).rejects.toMatchObject({ code: 6 });
    await expect(client.accessSecretVersion({ name: `${parent}/secrets/${id}/versions/1` })).rejects.toMatchObject({ code: 5 });
    await expect(client.accessSecretVersion({ name: 'not/a/secret' })).rejects.toMatchObject({ code: 3 });
    await expect(client.addSecretVersion({ parent: `${parent}/secrets/${id}`, payload: { data: Buffer.from('x'), dataCrc32c: 12345 } })).rejects.toMatchObject({ code: 3 });
  });
});

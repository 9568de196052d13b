// The emulated services answer through their real client libraries, each isolated per test file.
import { describe, expect, it } from 'vitest';
import { createConnection } from 'mysql2/promise';
import { PubSub } from '@google-cloud/pubsub';
import { Datastore } from '@google-cloud/datastore';
import { uniqueName } from '../helpers/names.js';

describe('local cloud services through their real clients', () => {
  it('MariaDB: a private instance with FOR UPDATE SKIP LOCKED and a binary collation', async () => {
    const c = await createConnection({
      host: process.env.OTT_MYSQL_HOST,
      port: Number(process.env.OTT_MYSQL_PORT),
      user: process.env.OTT_MYSQL_USER,
      password: process.env.OTT_MYSQL_PASSWORD,
    });
    try {
      expect(Number(process.env.OTT_MYSQL_PORT)).not.toBe(3306);
      const db = uniqueName('svc').replace(/-/g, '_');
      await c.query(`CREATE DATABASE ${db}`);
      await c.query(`CREATE TABLE ${db}.t (k VARCHAR(100) PRIMARY KEY)`);
      await c.query(`INSERT INTO ${db}.t VALUES ('A/'), ('a/')`);
      const [rows] = await c.query(`SELECT k FROM ${db}.t WHERE k = 'a/' FOR UPDATE SKIP LOCKED`);
      expect(rows).toEqual([{ k: 'a/' }]);
      await c.query(`DROP DATABASE ${db}`);
    } finally {
      await c.end();
    }
  });

  it('Pub/Sub emulator: publish, pull, ack', async () => {
    const ps = new PubSub({ projectId: 'ott-local' });
    const [topic] = await ps.createTopic(uniqueName('t'));
    const [sub] = await topic.createSubscription(uniqueName('s'));
    await topic.publishMessage({ data: Buffer.from('hello') });
    const got = await new Promise<string>((resolve, reject) => {
      sub.on('message', (m) => {
        m.ack();
        resolve(m.data.toString());
      });
      sub.on('error', reject);
    });
    expect(got).toBe('hello');
    await sub.close();
    await sub.delete();
    await topic.delete();
    await ps.close();
  });

  it('Datastore emulator: save and read an entity', async () => {
    const ds = new Datastore({ projectId: 'ott-local' });
    const key = ds.key(['OttConfig', uniqueName('cfg')]);
    await ds.save({ key, data: { s3_bucket: 'src', num_messages: 5 } });
    const [entity] = await ds.get(key);
    expect(entity).toMatchObject({ s3_bucket: 'src', num_messages: 5 });
  });
});

// Bad-input catalogue (README.md in this folder): bad Pub/Sub messages and hard keys, through one real
// cdnTransfer run on the stack. Each case states its outcome: dead-lettered with a reason, a key on the
// error topic with a reason, or copied byte-identical under exactly its name. The run exits by itself
// (idle exit), so a case that hung or crash-looped the worker would fail the test by its timeout.
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/worker/cdnTransfer.js';
import { encodeMessage, type ObjectEntry } from '../../src/common/messages.js';
import { addDirRow, bytesFor, createWorld, dirCounters, drain, listGcs, publish, pubsub, publishRaw, putObject, readGcs, worldContext, type World } from '../worker/cdnTransferHarness.js';

const MiB = 1024 * 1024;
const DIR = 'data/bad/';
let w: World;

/** A key of exactly `bytes` UTF-8 bytes under DIR (the GCS name keeps its length: copy/ and data/ are both 5). */
function keyOfBytes(bytes: number): string {
  return DIR + 'k'.repeat(bytes - Buffer.byteLength(DIR));
}

interface DeadCase {
  id: string;
  data: () => Buffer;
  reason: RegExp;
}
// Messages that never get better by redelivery: dead-lettered as received, with the reason.
const dead: DeadCase[] = [
  { id: 'M1 not JSON', data: () => Buffer.from('{not json'), reason: /^not JSON/ },
  // Pub/Sub refuses a message with neither data nor attributes; this one has an attribute only.
  { id: 'M2 empty data', data: () => Buffer.alloc(0), reason: /^not JSON/ },
  { id: 'M3 JSON but not an object', data: () => Buffer.from('[1,2,3]'), reason: /^schema: \(root\)/ },
  { id: 'M4 wrong version (v: 2)', data: () => Buffer.from(JSON.stringify({ v: 2, kind: 'objects', dir_key: DIR, objects: [{ key: `${DIR}a`, size: 1, etag: 'e', last_modified: '2024-01-01T00:00:00Z' }] })), reason: /^schema: v:/ },
  { id: 'M5 another mode\'s message (a dir message)', data: () => encodeMessage({ v: 1, kind: 'dir', purpose: 'syncCheck', dir_key: DIR }), reason: /^schema: kind:/ },
  { id: 'M6 negative size', data: () => Buffer.from(JSON.stringify({ v: 1, kind: 'objects', dir_key: DIR, objects: [{ key: `${DIR}a`, size: -1, etag: 'e', last_modified: '2024-01-01T00:00:00Z' }] })), reason: /^schema: objects\.0\.size/ },
  { id: 'M7 no objects', data: () => Buffer.from(JSON.stringify({ v: 1, kind: 'objects', dir_key: DIR, objects: [] })), reason: /^schema: objects/ },
  { id: 'M8 key over 1,024 bytes', data: () => Buffer.from(JSON.stringify({ v: 1, kind: 'objects', dir_key: DIR, objects: [{ key: keyOfBytes(1025), size: 1, etag: 'e', last_modified: '2024-01-01T00:00:00Z' }] })), reason: /^schema: objects\.0\.key/ },
  { id: 'M9 oversized (over 10 MB)', data: () => Buffer.from(JSON.stringify({ v: 1, kind: 'objects', dir_key: DIR, objects: [{ key: `${DIR}a`, size: 1, etag: 'e', last_modified: '2024-01-01T00:00:00Z', pad: 'x'.repeat(9.5 * MiB) }] })), reason: /^message of \d+ bytes exceeds the \d+-byte limit/ },
  { id: 'M10 invalid UTF-8 bytes', data: () => Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), reason: /^not JSON/ },
];

interface KeyCase {
  id: string;
  name: string;
  size: number;
  /** The object is copied byte-identical under copy/<name>, or reaches the error topic with this reason. */
  error?: RegExp;
}
// Keys S3 takes; each is copied under exactly its own name or named on the error topic, never lost.
const keys: KeyCase[] = [
  { id: 'K1 control characters (\\x01, ESC, DEL)', name: 'ctl-\x01-\x1b[31m-\x7f.bin', size: 1000 },
  { id: 'K2 newline (GCS refuses CR/LF in names)', name: 'line\nbreak.txt', size: 10, error: /Disallowed unicode characters|400/ },
  { id: 'K3 exactly 1,024 bytes', name: keyOfBytes(1024).slice(DIR.length), size: 300 },
  { id: 'K4 only slashes after the folder', name: '///', size: 7 },
  { id: 'K5 .. segments', name: '../../etc/passwd', size: 11 },
  { id: 'K6 a . and a .. segment mid-key', name: 'x/./y/../z', size: 12 },
  { id: 'K7 %2E%2E that must not be decoded', name: '%2E%2E/enc', size: 13 },
  { id: 'K8 a lone surrogate-free 4-byte UTF-8 emoji', name: '😀/🎉.bin', size: 14 },
];

beforeAll(async () => {
  w = await createWorld('bad', { max_attempts: 2, retry_budget_ms: 2_000 });
});

describe('bad-input catalogue: messages and keys through cdnTransfer', () => {
  it('dead-letters bad messages with a reason, copies hard keys under their exact names or reports them, and handles duplicates once', async () => {
    const ctx = await worldContext(w);
    await addDirRow(ctx, DIR);
    for (const c of dead) {
      if (c.data().length) await publishRaw(w, c.data());
      else await pubsub.topic(w.topic).publishMessage({ data: c.data(), attributes: { note: 'no data' } });
    }

    const entries: ObjectEntry[] = [];
    for (const c of keys) entries.push(await putObject(w, DIR + c.name, c.size));
    await publish(w, DIR, entries);

    // D1 the same message twice (Pub/Sub delivers at least once), D2 one key twice in one message
    const dup = await putObject(w, `${DIR}dup.bin`, 5000);
    await publish(w, DIR, [dup]);
    await publish(w, DIR, [dup]);
    const twice = await putObject(w, `${DIR}twice.bin`, 6000);
    await publish(w, DIR, [twice, twice]);
    // E1 a listed size that is not the object's (changed since listed): verification refuses the copy
    const changed = await putObject(w, `${DIR}changed.bin`, 4000);
    await publish(w, DIR, [{ ...changed, size: 3999 }]);

    const s = await run(ctx, { exitWhenIdleMs: 2000 });

    const deadMsgs = await drain(w.deadSub, dead.length);
    expect(deadMsgs).toHaveLength(dead.length);
    for (const c of dead) {
      const m = deadMsgs.find((d) => d.data.equals(c.data()));
      expect(m, c.id).toBeDefined();
      expect(m!.attributes.reason, c.id).toMatch(c.reason);
    }

    const failing = keys.filter((k) => k.error);
    const errors = (await drain(w.errorSub, failing.length + 1)).map((m) => JSON.parse(m.data.toString()) as { key: string; reason: string; dir_key: string; attempts: number });
    for (const c of failing) {
      const e = errors.find((x) => x.key === DIR + c.name);
      expect(e?.reason, c.id).toMatch(c.error!);
      expect(e?.attempts, c.id).toBe(1); // a refusal that no retry changes
      expect(await readGcs(w, `copy/bad/${c.name}`), c.id).toBeUndefined();
    }
    const sizeErr = errors.find((x) => x.key === changed.key);
    expect(sizeErr?.reason).toMatch(/CDN serves 4000 bytes from byte 0 of "data\/bad\/changed.bin", the listing says 3999 in all: changed since listed/);

    for (const c of keys.filter((k) => !k.error)) {
      const g = await readGcs(w, `copy/bad/${c.name}`);
      expect(g, c.id).toBeDefined();
      expect(g!.data.equals(bytesFor(DIR + c.name, c.size)), c.id).toBe(true);
    }
    expect((await readGcs(w, 'copy/bad/dup.bin'))!.data.equals(bytesFor(dup.key, dup.size))).toBe(true);
    expect((await readGcs(w, 'copy/bad/twice.bin'))!.data.equals(bytesFor(twice.key, twice.size))).toBe(true);
    // Nothing else landed: no traversal out of copy/, no decoded %2E%2E.
    const expected = [...keys.filter((k) => !k.error).map((k) => `copy/bad/${k.name}`), 'copy/bad/dup.bin', 'copy/bad/twice.bin'];
    expect(await listGcs(w)).toEqual(expected.sort());

    // Each duplicate was copied once and skipped once (never two writes racing into a bad copy).
    const copiedOk = keys.filter((k) => !k.error).length + 2;
    expect(s, JSON.stringify(s)).toMatchObject({ deadLettered: dead.length, nacked: 0, copied: copiedOk, skipped: 2, failed: failing.length + 1 });
    expect(await dirCounters(ctx, DIR)).toMatchObject({ failed_objects: failing.length + 1 });
    await ctx.db.end();
  });
});

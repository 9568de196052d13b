// Probe: the Pub/Sub consumer's own CPU per message, with nothing else in the process: N object-list
// messages of 50 keys published, then pulled with the worker's subscription options and each acked after
// holdMs (a message's worth of copying). Prints this process's CPU during the pull, and the emulator's (on
// the benchmark's cores it is CPU taken from the run); PROFILE=1 writes a CPU profile.
// Usage: npx tsx bench/probe/pubsubCost.ts [messages] [holdMs]   (ACK_MS: the client's ack batching in ms)
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { Duration, PubSub, type Message } from '@google-cloud/pubsub';
import { startStack } from '../../test/stack/index.js';
import { encodeMessage, type ObjectsListMessage } from '../../src/common/messages.js';
import { pidOf, processCpuMs } from '../transfer/cpu.js';

const n = Number(process.argv[2] ?? 400);
const holdMs = Number(process.argv[3] ?? 150);
const stack = await startStack({ only: ['pubsub'] });
Object.assign(process.env, stack.env); // the client reads PUBSUB_EMULATOR_HOST
const pubsub = new PubSub({ projectId: stack.env.PUBSUB_PROJECT_ID ?? 'ott-local' });
const emulator = pidOf('cloud-pubsub-emulator', `--port=${stack.env.PUBSUB_EMULATOR_HOST!.split(':')[1]}`);
try {
  for (let round = 0; round < 3; round++) {
    const [topic] = await pubsub.createTopic(`probe-${round}`);
    await topic.createSubscription(`probe-${round}-sub`, { ackDeadlineSeconds: 60 });
    const pub = pubsub.topic(`probe-${round}`, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
    const etag = '"0123456789abcdef0123456789abcdef"';
    await Promise.all(Array.from({ length: n }, (_, i) => {
      const m: ObjectsListMessage = { v: 1, kind: 'objects', dir_key: '16384/', objects: Array.from({ length: 50 }, (_, j) => ({ key: `16384/s-${String(i * 50 + j).padStart(6, '0')}`, size: 16384, etag, last_modified: '2024-01-01T00:00:00.000Z' })) };
      return pub.publishMessage({ data: encodeMessage(m) });
    }));
    const sub = pubsub.subscription(`probe-${round}-sub`, {
      flowControl: { maxMessages: 22, maxBytes: 64 * 1024 * 1024, allowExcessMessages: false },
      streamingOptions: { maxStreams: 1 },
      maxExtensionTime: Duration.from({ hours: 24 }),
      ...(process.env.ACK_MS ? { batching: { maxMilliseconds: Number(process.env.ACK_MS) } } : {}),
    });
    const session = new Session();
    session.connect();
    if (process.env.PROFILE && round === 2) { await session.post('Profiler.enable'); await session.post('Profiler.start'); }
    const cpu = process.cpuUsage();
    const emulatorBefore = processCpuMs(emulator) ?? 0;
    const t = performance.now();
    let got = 0;
    await new Promise<void>((resolve) => {
      sub.on('message', (m: Message) => {
        const data = JSON.parse(m.data.toString('utf8')) as ObjectsListMessage;
        void data;
        setTimeout(() => {
          m.ack();
          if (++got === n) resolve();
        }, holdMs);
      });
    });
    const u = process.cpuUsage(cpu);
    const emulatorMs = (processCpuMs(emulator) ?? 0) - emulatorBefore;
    const ms = performance.now() - t;
    if (process.env.PROFILE && round === 2) { const { profile } = await session.post('Profiler.stop'); writeFileSync('/tmp/pubsub.cpuprofile', JSON.stringify(profile)); }
    session.disconnect();
    await sub.close();
    console.log(`round ${round}: ${n} messages in ${Math.round(ms)} ms, CPU ${Math.round((u.user + u.system) / 1000)} ms (${((u.user + u.system) / n / 1000).toFixed(3)} ms a message, ${((u.user + u.system) / n / 50).toFixed(1)} us a key); the emulator ${Math.round(emulatorMs)} ms`);
  }
} finally {
  await pubsub.close();
  await stack.stop();
}

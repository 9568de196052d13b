// A diagnostic side (workload `copypath`, only when named): the worker's own copy path (createCopier ->
// copyObject: signed GET, MD5, GCS upload with preconditions and metadata, verification) driven by the bare
// loop's lanes, without Pub/Sub, MySQL counters, metrics or the message pipeline. Ours minus this is what
// the pipeline costs; this minus the bare loop is what the copy path's checks and structure cost.
import type { ObjectEntry } from '../../src/common/messages.js';
import { closeContext, createContext } from '../../src/common/context.js';
import { createCopier } from '../../src/worker/copy/index.js';
import { inLanes, timed, type Timed } from './bare.js';

export async function runCopyPath(configFile: string, objects: ObjectEntry[], concurrency: number): Promise<Timed> {
  const ctx = await createContext({ mode: 'cdnTransfer', file: configFile, writeLog: () => undefined });
  const copier = createCopier(ctx, { concurrency });
  try {
    return await timed((halfway) =>
      inLanes(
        objects.length,
        concurrency,
        async (i) => {
          const r = await copier.copy(objects[i], ctx.signal);
          if (r.status !== 'copied') throw new Error(`copy path ${objects[i].key}: ${JSON.stringify(r)}`);
        },
        halfway,
      ),
    );
  } finally {
    await copier.close();
    await closeContext(ctx);
  }
}

// How eagerly V8 collects a process whose live heap is small but whose garbage comes fast: a publisher
// turns every S3 listing page into messages, some tens of MiB a second of short-lived objects and buffers.
// V8 lets the old generation grow to several times the live heap between full collections, the more the
// larger the heap limit (up to 4x: Node's default limit is GiBs on any sizeable machine, as is the units'
// in infra/systemd), and buffers freed only by a full collection pile up beside it. Measured on one
// subfolder of 500,000 objects (bench/scale.bench.ts, 4 GiB default limit): a live heap of 38 MiB (heap
// snapshot), yet peaks of 250 to 280 MiB RSS, most of it garbage awaiting the next full collection.
import { setFlagsFromString } from 'node:v8';

/**
 * Old generation allowed to grow to twice the live heap between full collections (V8's own most under a
 * small heap limit). On the same run at 300,000 objects: peak 190 MiB instead of 260, at the same rate
 * within the run-to-run noise (the extra collections are of a small heap, marked mostly on V8's threads).
 */
const HEAP_GROWING_PERCENT = 100;

/**
 * Collects a publisher's garbage before it piles up (see above). Set from the process itself, not its
 * command line: Node refuses V8 flags like this one in NODE_OPTIONS, and on the publisher VM operators run
 * `ott` by hand. V8 reads it each time it sets the next collection's limit, so setting it once the process
 * runs is in time. Not a heap limit: a live heap that outgrows the usual one makes the process collect
 * more often, never fail.
 */
export function collectEagerly(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/**
 * Turns off V8's allocation-site pretenuring in a copy worker. At thousands of small copies a second, V8
 * sometimes (3 of 23 small-workload runs) ends up promoting every copy's garbage: its whole-object body
 * buffer (WholeBody, 16 KiB here) and ~16 KiB of heap per object survive the scavenges, apparently held by
 * objects V8 chose to pretenure from the first burst of messages, garbage in the old generation that keeps
 * what it points to alive until a full collection. Then ~45 MiB/s of ArrayBuffers and ~35 MiB/s of old heap
 * pile up, one full collection a second, peak RSS 250-275 MiB instead of ~175 and 10-30% more CPU per
 * object. Without pretenuring, 0 of 28 runs did (bench/probe/repro.ts samples the worker's memory every 50
 * ms), at the same rate. Set from the process itself, as collectEagerly (Node refuses V8 flags in
 * NODE_OPTIONS): set at start it holds, 22 of 22 runs clean as with the flag on the command line (6 of 6).
 */
export function noPretenuring(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}

/**
 * Young collections for a streamed copy's buffers on Node 24. Each socket read is an ArrayBuffer of up to
 * 64 KiB, dead once hashed and copied into the upload's chunk, and a large copy makes little else, so the
 * young generation's own allocation rarely starts a scavenge. V8 starts one for such buffers when those in
 * the young generation reach twice its default semi-space maximum, which it derives from
 * --scavenger-max-new-space-capacity-mb: 8 on Node 22 (32 MiB of buffers, as Node 20's V8 did), 32 on Node
 * 24 (128 MiB, the capacity doubled without pointer compression). Its external-memory limit comes first and
 * starts a full collection instead. Measured on 8 x 256 MiB on Node 24 (bench/probe/abWorker.ts): 47-48 full
 * collections of the worker's ~40 MiB heap and 2 young ones (Node 20: 71 young, 1 full), 4.2 ms of CPU per
 * MiB, peak RSS 304-309 MiB; with 8, 68-69 young and 1 full, 2.8-2.9 ms per MiB, 260-271 MiB. Set from the
 * process, as the flags above (Node refuses it in NODE_OPTIONS): V8 reads it for that trigger each time, and
 * the young generation itself was sized at start (--max-semi-space-size in the units). Only on a V8 that
 * has the flag (12, Node 22, and up): Node 20's prints an error for an unknown one.
 */
export function scavengeStreamedBuffers(): void {
  if (Number(process.versions.v8.split('.')[0]) >= 12) setFlagsFromString('--scavenger-max-new-space-capacity-mb=8');
}

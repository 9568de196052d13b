// The transfer benchmark's pure pieces: its arguments (the knobs the tool's future settings go through),
// the part MD5s the bare parallel loop sends as Content-MD5, the loops' second-half clock, and the RESULTS.md conventions.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { syntheticBytes } from '../../test/stack/cdn/synthetic.js';
import { loadedMachine, rateRatio } from '../results.js';
import { fullSize, parseArgs } from './args.js';
import { syntheticPartMd5s } from './fixtures.js';
import { MiB, parseSize } from './measure.js';
import { inLanes, timed } from './bare.js';

describe('transfer benchmark arguments', () => {
  it('runs small, parallel and large at the issue sizes when nothing is named', () => {
    const a = parseArgs([], {});
    expect([...a.workloads]).toEqual(['small', 'parallel', 'large']);
    expect(a.small).toEqual({ count: 20_000, bytes: 16 * 1024 });
    expect(a.parallel).toMatchObject({ bytes: 5 * 1024 * MiB, capBytesPerS: 50 * MiB });
    expect(a.large).toEqual({ count: 8, bytes: 256 * MiB, bwlimitBytesPerS: 64 * MiB });
    expect((['small', 'parallel', 'large'] as const).every((w) => fullSize(a, w))).toBe(true);
  });

  it('takes workloads, sizes and lists; a smaller size is not a full-size run', () => {
    const a = parseArgs(['parallel', '--bytes', '256MiB', '--streams=2,4', '--cutoffs', '16MiB', 'small', '--objects', '500'], {});
    expect([...a.workloads]).toEqual(['parallel', 'small']);
    expect(a.parallel.bytes).toBe(256 * MiB);
    expect(a.parallel.streams).toEqual([2, 4]);
    expect(a.parallel.cutoffs).toEqual([16 * MiB]);
    expect(fullSize(a, 'parallel')).toBe(false);
    expect(fullSize(a, 'small')).toBe(false);
    expect(fullSize(a, 'large')).toBe(true);
  });

  it('passes the tool settings under test through, from the flag or the environment', () => {
    const flag = parseArgs(['--ott-config', '{"parallel_parts": 8}', '--ott-single-config', '{"parallel_parts": 1}'], {});
    expect(flag.ottConfig).toEqual({ parallel_parts: 8 });
    expect(flag.ottSingleConfig).toEqual({ parallel_parts: 1 });
    const env = parseArgs([], { BENCH_OTT_CONFIG: '{"a": true}', BENCH_OTT_SINGLE_CONFIG: '{"b": 2}' });
    expect(env.ottConfig).toEqual({ a: true });
    expect(env.ottSingleConfig).toEqual({ b: 2 });
    expect(parseArgs([], {}).ottSingleConfig).toBeUndefined();
  });

  it('refuses what it cannot use, naming the flag and the value', () => {
    expect(() => parseArgs(['--ott-config', '[1]'], {})).toThrow('Expected `--ott-config` to be a JSON object such as {"field": 1}, got `[1]`');
    expect(() => parseArgs(['--ott-config', '{oops'], {})).toThrow('Expected `--ott-config` to be a JSON object, got `{oops`');
    expect(() => parseArgs(['--bytes', '5XB'], {})).toThrow('Expected `--bytes` to be a size such as 16KiB, 256MiB or 5GiB, got `5XB`');
    expect(() => parseArgs(['--rounds', '0'], {})).toThrow('Expected `--rounds` to be an integer from 1 and up, got `0`');
    expect(() => parseArgs(['--bogus', '1'], {})).toThrow('Unknown flag `--bogus`');
    expect(() => parseArgs(['huge'], {})).toThrow('Expected a workload (small, parallel, large, procs, copypath) or a flag, got `huge`');
    expect(() => parseArgs(['--objects'], {})).toThrow('--objects needs a value');
  });

  it('reads sizes in binary and decimal units', () => {
    expect(parseSize('16KiB', 'x')).toBe(16_384);
    expect(parseSize('5GiB', 'x')).toBe(5 * 1024 * MiB);
    expect(parseSize('50MB', 'x')).toBe(50_000_000);
    expect(parseSize('1.5MiB', 'x')).toBe(1.5 * MiB);
    expect(parseSize('4096', 'x')).toBe(4096);
  });
});

describe('part MD5s of a synthetic object', () => {
  const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

  it.each([
    ['parts aligned with the 1 MiB block, a short last part', 5 * MiB + 123, 2 * MiB],
    ['parts not aligned with the block', 3 * MiB + 7, 768 * 1024 + 1],
    ['one part larger than the object', 1000, MiB],
  ])('equal the MD5 of each range of its bytes: %s', (_what, size, part) => {
    const bytes = syntheticBytes(size);
    const want: string[] = [];
    for (let s = 0; s < size; s += part) want.push(md5(bytes.subarray(s, Math.min(size, s + part))));
    expect(syntheticPartMd5s(size, part)).toEqual(want);
  });
});

describe('RESULTS.md conventions', () => {
  it('rate ratios are ours / peer: the faster side is above 1', () => {
    expect(rateRatio(50, 100)).toBe('2.00x'); // ours took half the time
    expect(rateRatio(200, 100)).toBe('0.50x');
  });

  it('a run that starts with the 1-min load above the core count is refused, saying why', () => {
    expect(loadedMachine(0)).toBeUndefined();
    expect(loadedMachine(1e6)).toMatch(/^1-min load 1000000\.0 above the \d+ cores when the run started$/);
  });
});

describe('the loops\' second half', () => {
  it('starts when half the objects (rounded up) have finished, once, and counts the rest', async () => {
    const finished: number[] = [];
    let halvesAt: number[] = [];
    const r = await timed((halfway) =>
      inLanes(
        5,
        2,
        async (i) => {
          await new Promise((resolve) => setTimeout(resolve, 5 * (i + 1)));
          finished.push(i);
        },
        (remaining) => ((halvesAt = [...halvesAt, finished.length]), halfway(remaining)),
      ),
    );
    expect(finished).toHaveLength(5);
    expect(halvesAt).toEqual([3]);
    expect(r.secondHalf?.objects).toBe(2);
    expect(r.secondHalf!.ms).toBeGreaterThan(0);
    expect(r.secondHalf!.ms).toBeLessThan(r.ms);
    expect(r.secondHalf!.cpuMs).toBeLessThanOrEqual(r.cpuMs);
  });
});

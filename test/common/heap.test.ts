// What the copy modes' heap settings (src/common/heap.ts) do to V8's collections, counted in a real process:
// a streamed copy's socket reads (ArrayBuffers of up to 64 KiB from Node's own stream reads, hashed and
// dropped) must be freed by young collections, not full ones. CI runs this file on Node 20 and on Node 24,
// where V8's defaults start a full collection for them instead.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

interface Collections {
  major: number;
  minor: number;
  stderr: string;
}

/** 512 MiB over a loopback socket into MD5 in a fresh process (with or without the setting); its collections by kind. */
async function streamAndCount(setting: boolean): Promise<Collections> {
  const script = [
    "import { createServer, connect } from 'node:net';",
    "import { createHash } from 'node:crypto';",
    "import { PerformanceObserver, constants } from 'node:perf_hooks';",
    "if (process.env.OTT_TEST_SETTING === '1') (await import('./src/common/heap.ts')).scavengeStreamedBuffers();",
    'const counts = { major: 0, minor: 0 };',
    'new PerformanceObserver((l) => { for (const e of l.getEntries()) {',
    '  if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) counts.major++;',
    '  if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;',
    "} }).observe({ entryTypes: ['gc'] });",
    'const total = 512 * 1024 * 1024;',
    'const block = Buffer.alloc(1024 * 1024, 7);',
    'const server = createServer((s) => { let sent = 0; const pump = () => { while (sent < total) { sent += block.length; if (!s.write(block)) return void s.once("drain", pump); } s.end(); }; pump(); });',
    "await new Promise((r) => server.listen(0, '127.0.0.1', r));",
    'const md5 = createHash("md5");',
    'await new Promise((r) => setTimeout(r, 50)); // start-up\'s collections reported, then counted from zero',
    'counts.major = counts.minor = 0;',
    'let got = 0;',
    "await new Promise((resolve, reject) => { const c = connect(server.address().port, '127.0.0.1'); c.on('data', (b) => { md5.update(b); got += b.length; }); c.on('end', resolve); c.on('error', reject); });",
    'server.close();',
    "if (got !== total) throw new Error(`read ${got} of ${total} bytes`);",
    'await new Promise((r) => setTimeout(r, 50)); // the observer hears of the last collections',
    'console.log(JSON.stringify(counts));',
  ].join('\n');
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    // The VMs' young generation (infra/systemd/ott@.service), through the one way it reaches a process.
    env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=16', OTT_TEST_SETTING: setting ? '1' : '0' },
  });
  return { ...(JSON.parse(stdout) as { major: number; minor: number }), stderr };
}

describe('heap settings of the copy modes', () => {
  it('scavengeStreamedBuffers: 512 MiB of socket reads are freed by young collections, not full ones, on this Node', async () => {
    const withIt = await streamAndCount(true);
    // A young collection per 32 MiB of buffers (16 here); a full one or two at most (Node 24: 1, without the setting 7-8).
    expect(withIt.minor).toBeGreaterThanOrEqual(8);
    expect(withIt.major).toBeLessThanOrEqual(2);
    // Node 20's V8 has no such flag: the setting is skipped there, and nothing is printed about it.
    expect(withIt.stderr).not.toMatch(/unrecognized flag/);
  });

  it.runIf(process.versions.v8.startsWith('13.'))('the count can fail: on Node 24 (V8 13) without the setting, the same reads cost full collections', async () => {
    const without = await streamAndCount(false);
    expect(without.major).toBeGreaterThanOrEqual(4);
  });
});

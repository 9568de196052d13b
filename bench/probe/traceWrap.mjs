// Probe: runs the real entry (OTT_PROBE_ENTRY) in a child with V8 tracing flags (OTT_PROBE_V8_ARGS),
// teeing its stdout to OTT_PROBE_MEM_FILE.stdout, so V8's own trace lines can be read. Not part of the tool.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
const out = createWriteStream(`${process.env.OTT_PROBE_MEM_FILE}.stdout`);
const child = spawn(process.execPath, [...(process.env.OTT_PROBE_V8_ARGS ?? '').split(' ').filter(Boolean), process.env.OTT_PROBE_ENTRY, ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.on('data', (b) => (out.write(b), process.stdout.write(b)));
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (c) => out.end(() => process.exit(c ?? 1)));

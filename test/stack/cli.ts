// `npm run stack`: starts the local cloud, prints `export NAME=value` lines for every endpoint (also to
// --env-file PATH), and stays up until SIGINT/SIGTERM. The npm script passes a `--` first because
// Node 20 itself grabs a `--env-file` anywhere on its command line.
import { writeFileSync } from 'node:fs';
import { startStack } from './index.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

const envFile = argValue('--env-file');
const only = argValue('--only')?.split(',');
const stack = await startStack({ only });
const lines = Object.entries(stack.env).map(([k, v]) => `export ${k}=${JSON.stringify(v)}`);
if (envFile) writeFileSync(envFile, lines.join('\n') + '\n');
process.stdout.write(lines.join('\n') + '\n');
process.stderr.write(`# local cloud up (logs in ${stack.env.OTT_STACK_LOGS}); Ctrl-C stops it\n`);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  void stack.stop().then(() => process.exit(0));
};
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
setInterval(() => undefined, 1 << 30);

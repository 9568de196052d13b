// `npm run -s stack:ctl -- <service> down|up`: an outage of one service of a running stack, from any
// process (chaos runs stop MariaDB and start it again while the CLI keeps running). The stack is found by
// OTT_STACK_CONTROL (printed by `npm run stack`, set in every test file), or `--control URL`.
import { serviceOutage } from './control.js';

const args = process.argv.slice(2).filter((a) => a !== '--');
const at = args.indexOf('--control');
const control = at >= 0 ? args.splice(at, 2)[1] : process.env.OTT_STACK_CONTROL;
const [service, action] = args;
if (!control || !service || (action !== 'down' && action !== 'up')) {
  process.stderr.write('usage: npm run -s stack:ctl -- <service> down|up [--control URL]  (URL defaults to $OTT_STACK_CONTROL)\n');
  process.exit(2);
}
try {
  await serviceOutage(control, service, action);
  process.stdout.write(`${service} ${action === 'down' ? 'is down' : 'is up'}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}

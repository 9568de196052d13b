import type { Argv, CommandModule } from 'yargs';
import { closeContext, createContext, type Ctx } from '../common/context.js';
import { ConfigError } from '../common/config/validate.js';
import { estimate, renderEstimate } from '../ops/estimate.js';
import { REGIONS, type Region } from '../estimate/prices.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

interface EstimateArgs extends GlobalArgs {
  sample: number;
  vms: number;
  vmObjectsPerSecond?: number;
  vmMibPerSecond?: number;
  network: 'external-ip' | 'nat';
  cdnRegion: Region;
  stsRegion: Region;
  ramp: boolean;
  targetDays?: number;
  prices?: string;
  json: boolean;
}

export const estimateCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'estimate',
  describe:
    'What the migration will cost and how long it will take, before or during a run: objects and bytes from the state table plus a sampled ' +
    'listing of subfolders not listed yet, a size histogram, what will not arrive as it is (over 5 TiB, names GCS refuses, archived objects ' +
    'and their restore cost), cost side by side for this tool through CloudFront, straight from S3, Storage Transfer Service with a ' +
    'CloudFront domain and over its managed private network (list prices from pricing/list-prices.json, --prices for your own), and the ' +
    'time for a fleet, bounded by the GCS write ramp. Read-only.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('sample', { type: 'number', default: 20, describe: 'subfolders of unknown size to list (spread over the table)' })
      .option('vms', { type: 'number', default: 10, describe: 'cdnTransfer VMs in the fleet' })
      .option('vm-objects-per-second', { type: 'number', describe: 'measured objects/s per VM (a pilot); default an assumption' })
      .option('vm-mib-per-second', { type: 'number', describe: 'measured MiB/s per VM (a pilot); default an assumption' })
      .option('network', { choices: ['external-ip', 'nat'] as const, default: 'external-ip' as const, describe: 'workers with external IPs (no NAT charge) or behind Cloud NAT' })
      .option('cdn-region', { choices: REGIONS, default: 'us' as Region, describe: 'CloudFront pricing region of the workers' })
      .option('sts-region', { choices: REGIONS, default: 'us' as Region, describe: 'region pair for Storage Transfer Service managed private network pricing' })
      .option('ramp', { type: 'boolean', default: true, describe: 'bound the object rate by the GCS write ramp (--no-ramp for a warmed-up bucket)' })
      .option('target-days', { type: 'number', describe: 'also print the fleet size that finishes within this many days' })
      .option('prices', { type: 'string', describe: 'JSON file overriding keys of pricing/list-prices.json (negotiated rates)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the estimate as JSON' })
      .check((a) => {
        for (const k of ['sample', 'vms', 'vmObjectsPerSecond', 'vmMibPerSecond', 'targetDays'] as const) {
          const v = a[k] as number | undefined;
          if (v !== undefined && (!Number.isFinite(v) || v < (k === 'sample' ? 0 : 1e-9))) throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: expected a positive number, got ${String(v)}`);
        }
        return true;
      }) as unknown as Argv<GlobalArgs>,
  // Not runMode: its closing summary log line would follow the table (and break --json for scripts).
  handler: async (args) => {
    const argv = args as unknown as EstimateArgs;
    let ctx: Ctx | undefined;
    try {
      ctx = await createContext({ mode: 'estimate', file: argv.config, configKey: argv.configKey, gcpProject: argv.gcpProject });
      const e = await estimate(ctx, {
        sample: Math.floor(argv.sample),
        vms: Math.ceil(argv.vms),
        vmObjectsPerSecond: argv.vmObjectsPerSecond,
        vmBytesPerSecond: argv.vmMibPerSecond === undefined ? undefined : argv.vmMibPerSecond * 1024 ** 2,
        network: argv.network,
        cdnRegion: argv.cdnRegion,
        stsRegion: argv.stsRegion,
        ramp: argv.ramp,
        targetDays: argv.targetDays,
        pricesFile: argv.prices,
      });
      process.stdout.write(`${argv.json ? JSON.stringify(e, null, 2) : renderEstimate(e)}\n`);
    } catch (err) {
      reportFailure('estimate', err, ctx);
      process.exitCode = err instanceof ConfigError ? 78 : 1;
    } finally {
      if (ctx) await closeContext(ctx);
    }
  },
};

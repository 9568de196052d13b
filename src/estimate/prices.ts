// The price list `ott estimate` reads: pricing/list-prices.json (dated, each section naming its public
// page), optionally overridden key by key from a file of negotiated rates. Read once, validated, frozen.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, deepFreeze } from '../common/config/validate.js';

const price = z.number().nonnegative();
/** [widthGiB | null, pricePerGiB]: a tier as the pricing pages write it ("next 40 TB"); null = the rest. */
const tiers = z.array(z.tuple([z.number().positive().nullable(), price])).min(1).refine((t) => t[t.length - 1][0] === null, 'the last tier must have a null width (the rest)');
export const REGIONS = ['us', 'eu', 'apac'] as const;
export type Region = (typeof REGIONS)[number];
const byRegion = <T extends z.ZodTypeAny>(t: T) => z.object({ us: t, eu: t, apac: t });
const dated = { source: z.string().min(1), read: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) };

const pricesSchema = z.object({
  read: z.string(),
  currency: z.literal('USD'),
  cloudfront: z.object({ ...dated, dataTransferOutPerGiB: byRegion(tiers), httpsRequestsPer10k: byRegion(price), originFetchFromS3PerGiB: price }),
  s3: z.object({
    ...dated,
    dataTransferOutPerGiB: tiers,
    getRequestsPer1k: price,
    listRequestsPer1k: price,
    restore: z.record(z.string(), z.object({ tier: z.string(), perGiB: price, requestsPer1k: price, hours: z.string() })),
  }),
  storageTransferService: z.object({ ...dated, agentlessPerGiB: price, managedPrivateNetworkPerGiB: byRegion(price) }),
  gcs: z.object({ ...dated, classAPer1k: z.record(z.string(), price), classBPer1k: z.record(z.string(), price) }),
  pubsub: z.object({ ...dated, perTiB: price, minimumBytesPerRequest: z.number().int().nonnegative() }),
  network: z.object({ ...dated, cloudNatPerGiB: price, cloudNatPerVmHour: price }),
  compute: z.object({ ...dated, vmType: z.string(), vmPerHour: price, cloudSqlPerHour: price }),
  noise: z.object({ ...dated, secretAccessPer10k: price }),
});
export type Prices = z.infer<typeof pricesSchema>;

const LIST = new URL('../../pricing/list-prices.json', import.meta.url);

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return over;
}

function readJson(path: string | URL, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${what} ${String(path)}: ${err instanceof Error ? err.message : String(err)}`, [String(path)]);
  }
}

/** The list prices, with `overrideFile`'s keys (same shape, any subset) on top; every field validated. */
export function loadPrices(overrideFile?: string): Readonly<Prices> {
  const merged = deepMerge(readJson(LIST, 'price list'), overrideFile ? readJson(overrideFile, 'price override file') : undefined);
  const parsed = pricesSchema.safeParse(merged);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = overrideFile ? `price override file ${overrideFile}` : 'price list';
    throw new ConfigError(`${where}: ${first.path.join('.')}: ${first.message}`, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return deepFreeze(parsed.data);
}

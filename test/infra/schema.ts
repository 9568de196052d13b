// infra/terraform against the provider's own schema, offline (test/infra/schema/google-provider.json, made
// by test/infra/schema/extract.ts): every resource and data type known, every argument and nested block
// known at its place, every required argument and block set. What `terraform validate` would say about
// names; expressions and types are left to the other checks.
import { readFileSync } from 'node:fs';
import type { Block, TfModule } from './hcl.js';
import { SCHEMA_FILE, type BlockSchema, type ProviderSchema } from './schema/extract.js';

export interface SchemaDoc {
  providers: Record<string, ProviderSchema>;
}

export function loadSchema(): SchemaDoc {
  return JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as SchemaDoc;
}

/** Meta-arguments Terraform itself takes on every resource / data block. */
const META = new Set(['count', 'for_each', 'provider', 'depends_on', 'lifecycle', 'provisioner', 'connection']);

const isBlockList = (v: unknown): v is Block[] => Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));

function checkBlock(where: string, value: Block, schema: BlockSchema, top: boolean, out: string[]): void {
  const present = new Set<string>();
  for (const [key, v] of Object.entries(value)) {
    if (top && META.has(key)) continue;
    if (key === 'dynamic') {
      for (const [name, gens] of Object.entries(v as Record<string, Block[]>)) {
        const nested = schema.blocks[name];
        if (!nested) {
          out.push(`${where}: dynamic "${name}": no such block`);
          continue;
        }
        present.add(name);
        for (const gen of gens) for (const content of (gen.content as Block[] | undefined) ?? []) checkBlock(`${where}.${name}`, content, nested.block, false, out);
      }
      continue;
    }
    if (key in schema.attributes) {
      present.add(key);
      continue;
    }
    const nested = schema.blocks[key];
    if (nested && isBlockList(v)) {
      present.add(key);
      for (const b of v) checkBlock(`${where}.${key}`, b, nested.block, false, out);
      continue;
    }
    out.push(nested ? `${where}.${key}: is a block, written as an argument` : `${where}.${key}: no such argument or block`);
  }
  for (const [k, req] of Object.entries(schema.attributes)) if (req === 'required' && !present.has(k)) out.push(`${where}: required argument ${k} is missing`);
  for (const [k, b] of Object.entries(schema.blocks)) if (b.required && !present.has(k)) out.push(`${where}: required block ${k} is missing`);
}

/** The provider a resource uses: its `provider` meta-argument, else the type's prefix (google_...). */
function providerOf(r: Block): string {
  const p = typeof r.provider === 'string' ? /^\$\{([a-z0-9-]+)(\.[a-z0-9_]+)?\}$/.exec(r.provider)?.[1] : undefined;
  return p ?? 'google';
}

/** Every mismatch between the module and the schema, as `kind type.name.path: what`. */
export function schemaViolations(tf: TfModule, schema: SchemaDoc): string[] {
  const out: string[] = [];
  for (const [kind, byType] of [['resource', tf.resources], ['data', tf.data]] as const) {
    for (const [type, byName] of Object.entries(byType)) {
      for (const [name, r] of Object.entries(byName)) {
        const provider = providerOf(r);
        const p = schema.providers[provider];
        const where = `${kind} ${type}.${name}`;
        if (!p) {
          out.push(`${where}: provider ${provider} has no schema`);
          continue;
        }
        const s = p[kind][type];
        if (s === undefined) out.push(`${where}: ${provider} ${p.version} has no ${kind} type ${type}`);
        else if (s === null) out.push(`${where}: ${type} exists in ${provider} ${p.version} but its schema was not kept: npx tsx test/infra/schema/extract.ts`);
        else checkBlock(where, r, s, true, out);
      }
    }
  }
  for (const doc of tf.raw) {
    for (const [name, blocks] of Object.entries((doc.provider ?? {}) as Record<string, Block[]>)) {
      const p = schema.providers[name];
      if (!p) out.push(`provider ${name}: no schema`);
      else for (const b of blocks) checkBlock(`provider ${name}`, Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'alias')), p.provider, false, out);
    }
  }
  return out;
}

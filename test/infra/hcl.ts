// Loads infra/terraform/*.tf through @cdktf/hcl2json (Terraform's own HCL parser compiled to wasm) and
// merges the files into one document, as Terraform does with a module's files.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';

export const INFRA_DIR = fileURLToPath(new URL('../../infra/', import.meta.url));
export const TF_DIR = `${INFRA_DIR}terraform/`;

/** A block as hcl2json gives it: attributes as values, nested blocks as arrays of blocks. */
export type Block = Record<string, unknown>;

export interface TfModule {
  files: string[];
  variables: Record<string, Block>;
  outputs: Record<string, Block>;
  locals: Block;
  /** resources[type][name] */
  resources: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  raw: Record<string, unknown>[];
}

function single(blocks: unknown, what: string): Block {
  if (!Array.isArray(blocks) || blocks.length !== 1) throw new Error(`${what}: expected one block, got ${JSON.stringify(blocks)?.slice(0, 200)}`);
  return blocks[0] as Block;
}

export async function loadTerraform(dir = TF_DIR): Promise<TfModule> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.tf')).sort();
  const mod: TfModule = { files, variables: {}, outputs: {}, locals: {}, resources: {}, data: {}, raw: [] };
  for (const f of files) {
    const doc = (await parse(f, await readFile(`${dir}${f}`, 'utf8'))) as Record<string, unknown>;
    mod.raw.push(doc);
    for (const [name, blocks] of Object.entries((doc.variable ?? {}) as Record<string, unknown>)) mod.variables[name] = single(blocks, `variable ${name}`);
    for (const [name, blocks] of Object.entries((doc.output ?? {}) as Record<string, unknown>)) mod.outputs[name] = single(blocks, `output ${name}`);
    for (const l of (doc.locals ?? []) as Block[]) {
      for (const [k, v] of Object.entries(l)) {
        if (k in mod.locals) throw new Error(`local ${k} defined twice`);
        mod.locals[k] = v;
      }
    }
    for (const [kind, target] of [['resource', mod.resources], ['data', mod.data]] as const) {
      for (const [type, byName] of Object.entries((doc[kind] ?? {}) as Record<string, Record<string, unknown>>)) {
        target[type] ??= {};
        for (const [name, blocks] of Object.entries(byName)) {
          if (target[type][name]) throw new Error(`${kind} ${type}.${name} defined twice`);
          target[type][name] = single(blocks, `${kind} ${type}.${name}`);
        }
      }
    }
  }
  return mod;
}

/** The one nested block `name` of `block` (hcl2json wraps nested blocks in arrays). */
export function child(block: Block, name: string): Block {
  return single(block[name], name);
}

export function resourcesOf(mod: TfModule, type: string): [string, Block][] {
  return Object.entries(mod.resources[type] ?? {});
}

/** Every string anywhere inside a value, for scans such as "no role/owner anywhere". */
export function allStrings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) allStrings(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) allStrings(x, out);
  return out;
}

/** Every key anywhere inside a value. */
export function allKeys(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) allKeys(x, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      allKeys(x, out);
    }
  }
  return out;
}

/**
 * Loads a copy of infra/terraform with one edit (`from` replaced by `to` in `file`; `from` must be there,
 * so a case cannot silently stop breaking anything) and hands it to `use`.
 */
export async function withEditedCopy<T>(file: string, from: string, to: string, use: (tf: TfModule) => T | Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ott-tf-'));
  try {
    await cp(TF_DIR, dir, { recursive: true });
    const text = await readFile(join(dir, file), 'utf8');
    if (!text.includes(from)) throw new Error(`${file} no longer contains the text this case changes: ${from.slice(0, 80)}`);
    await writeFile(join(dir, file), text.replace(from, to));
    return await use(await loadTerraform(`${dir}/`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

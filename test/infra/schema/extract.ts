// Regenerates test/infra/schema/google-provider.json, the offline schema that terraform-schema.test.ts
// checks infra/terraform against (terraform itself cannot be installed here, and the provider registry is
// out of reach). Source: the npm packages @cdktf/provider-google and @cdktf/provider-google-beta, which
// HashiCorp generated from `terraform providers schema -json` of hashicorp/google and google-beta; their
// package.json names the provider version (`cdktf.provider.version`). Each resource's config interface
// in lib/*/index.d.ts lists every argument the provider accepts (computed-only attributes are left out),
// with the Terraform name in its doc link and `?` on the optional ones; a property whose type is another
// interface of the file is a nested block.
//
// The packages are ~300 MiB each unpacked, so they are not dependencies: this script fetches them with
// `npm pack` into a scratch directory. It keeps the full schema of every type infra/terraform uses (plus
// any named with --type) and only the names of the others, so an unknown type still fails the test.
//
//   npx tsx test/infra/schema/extract.ts [--type google_x ...]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { loadTerraform } from '../hcl.js';

/** The package version to read; its provider version is written into the output. */
export const PACKAGES = { google: '@cdktf/provider-google@16.12.1', 'google-beta': '@cdktf/provider-google-beta@16.12.1' } as const;
export const SCHEMA_FILE = new URL('./google-provider.json', import.meta.url);

/** An argument: 'required' | 'optional'; a nested block: { required, block }. */
export interface BlockSchema {
  attributes: Record<string, 'required' | 'optional'>;
  blocks: Record<string, { required: boolean; block: BlockSchema }>;
}
export interface ProviderSchema {
  version: string;
  package: string;
  provider: BlockSchema;
  resource: Record<string, BlockSchema | null>;
  data: Record<string, BlockSchema | null>;
}

/** The Terraform name in a property's doc link: `{@link https://... Type#snake_name}`. */
function tfName(member: ts.PropertySignature, file: ts.SourceFile): string | undefined {
  const docs = ts.getJSDocCommentsAndTags(member).map((d) => d.getFullText(file)).join('\n');
  return /#([a-z0-9_]+)\}/.exec(docs)?.[1];
}

function interfacesOf(file: ts.SourceFile): Map<string, ts.InterfaceDeclaration> {
  const out = new Map<string, ts.InterfaceDeclaration>();
  file.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n)) out.set(n.name.text, n);
  });
  return out;
}

/** The local interface a property's type refers to (X, X[], cdktf.IResolvable | X[]), if any. */
function blockType(type: ts.TypeNode | undefined, locals: Map<string, ts.InterfaceDeclaration>): ts.InterfaceDeclaration | undefined {
  if (!type) return undefined;
  if (ts.isUnionTypeNode(type)) return type.types.map((t) => blockType(t, locals)).find(Boolean);
  if (ts.isArrayTypeNode(type)) return blockType(type.elementType, locals);
  if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) return locals.get(type.typeName.text);
  return undefined;
}

function blockOf(decl: ts.InterfaceDeclaration, file: ts.SourceFile, locals: Map<string, ts.InterfaceDeclaration>, depth = 0): BlockSchema {
  const schema: BlockSchema = { attributes: {}, blocks: {} };
  if (depth > 12) return schema;
  for (const m of decl.members) {
    if (!ts.isPropertySignature(m)) continue;
    const name = tfName(m, file);
    if (!name) continue;
    const nested = blockType(m.type, locals);
    if (nested) schema.blocks[name] = { required: !m.questionToken, block: blockOf(nested, file, locals, depth + 1) };
    else schema.attributes[name] = m.questionToken ? 'optional' : 'required';
  }
  return schema;
}

/** Reads one lib/NAME/index.d.ts: its Terraform type and, when wanted, its config schema. */
function readType(path: string, want: (type: string) => boolean): { type: string; kind: 'resource' | 'data' | 'provider'; schema: BlockSchema | null } | undefined {
  const text = readFileSync(path, 'utf8');
  const type = /static readonly tfResourceType = "([a-z0-9_-]+)";/.exec(text)?.[1];
  if (!type) return undefined;
  const kind = /\bextends cdktf\.TerraformProvider\b/.test(text) ? 'provider' : /\bextends cdktf\.TerraformDataSource\b/.test(text) ? 'data' : 'resource';
  if (kind !== 'provider' && !want(type)) return { type, kind, schema: null };
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const locals = interfacesOf(file);
  const config = [...locals.values()].find((i) => /Config$/.test(i.name.text) && !!i.heritageClauses?.some((h) => /TerraformMetaArguments/.test(h.getText(file))))
    ?? (kind === 'provider' ? [...locals.values()].find((i) => /ProviderConfig$/.test(i.name.text)) : undefined);
  if (!config) throw new Error(`${path}: no config interface for ${type}`);
  return { type, kind, schema: blockOf(config, file, locals) };
}

export function extractProvider(pkgDir: string, pkgSpec: string, want: (type: string) => boolean): ProviderSchema {
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { cdktf?: { provider?: { version?: string } } };
  const version = pkg.cdktf?.provider?.version;
  if (!version) throw new Error(`${pkgDir}: package.json has no cdktf.provider.version`);
  const out: ProviderSchema = { version, package: pkgSpec, provider: { attributes: {}, blocks: {} }, resource: {}, data: {} };
  const lib = join(pkgDir, 'lib');
  for (const dir of readdirSync(lib).sort()) {
    const d = join(lib, dir, 'index.d.ts');
    if (!existsSync(d)) continue;
    const t = readType(d, want);
    if (!t) continue;
    if (t.kind === 'provider') out.provider = t.schema!;
    else out[t.kind][t.type] = t.schema;
  }
  return out;
}

async function main(): Promise<void> {
  const extra = process.argv.flatMap((a, i, all) => (all[i - 1] === '--type' ? [a] : []));
  const tf = await loadTerraform();
  const used = new Set([...Object.keys(tf.resources), ...Object.keys(tf.data), ...extra]);
  const tmp = mkdtempSync(join(tmpdir(), 'ott-provider-schema-'));
  try {
    const providers: Record<string, ProviderSchema> = {};
    for (const [name, spec] of Object.entries(PACKAGES)) {
      const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp, spec], { encoding: 'utf8' }).trim().split('\n').pop()!;
      const dir = join(tmp, name);
      execFileSync('mkdir', ['-p', dir]);
      execFileSync('tar', ['-xzf', join(tmp, tgz), '-C', dir]);
      providers[name] = extractProvider(join(dir, 'package'), spec, (type) => used.has(type));
      rmSync(dir, { recursive: true, force: true });
    }
    const doc = {
      about: 'Generated by test/infra/schema/extract.ts from the npm packages named below (generated by HashiCorp from the provider schema). Full schemas for the types infra/terraform uses; null means the type exists but its schema was not kept: rerun the script with --type NAME.',
      providers,
    };
    writeFileSync(SCHEMA_FILE, `${JSON.stringify(doc, null, 1)}\n`);
    for (const [n, p] of Object.entries(providers)) console.log(`${n} ${p.version}: ${Object.keys(p.resource).length} resources, ${Object.keys(p.data).length} data sources`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

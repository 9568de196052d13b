// infra/image/build-image.sh for real, in a throwaway directory (--app-only: no apt, no root, no
// systemctl): builds the committed source (git archive HEAD, so engineers' unfinished edits cannot
// break it) with dev dependencies, installs it with `npm ci --omit=dev`, and runs the installed `ott`.
// One run, ~30-60 s: npm ci twice from the local npm cache plus tsc.
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFRA_DIR } from './hcl.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../', import.meta.url));

let tmp: string;
let prefix: string;
let binDir: string;
let unitDir: string;
let buildLog = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ott-image-'));
  prefix = join(tmp, 'opt/ott');
  binDir = join(tmp, 'usr/local/bin');
  unitDir = join(tmp, 'etc/systemd/system');
  const source = join(tmp, 'source.tar.gz');
  await run('git', ['-C', REPO, 'archive', '--format=tar.gz', '-o', source, 'HEAD']);
  const r = await run('bash', [`${INFRA_DIR}image/build-image.sh`, '--app-only', '--source', source, '--prefix', prefix, '--bin-dir', binDir, '--unit-dir', unitDir], {
    maxBuffer: 64 * 1024 * 1024,
    // Offline: the npm cache filled by scripts/setup.sh has every package; a test never reaches the registry.
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_offline: 'true' },
  }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`build-image.sh failed: ${e.message}\n${e.stderr ?? ''}`);
  });
  buildLog = r.stderr;
}, 600_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('infra/image/build-image.sh --app-only', () => {
  it('installs the built tool with production dependencies only', async () => {
    expect(buildLog).toContain(`installed ott`);
    const top = (await readdir(prefix)).sort();
    expect(top).toEqual(expect.arrayContaining(['bin', 'dist', 'infra', 'libexec', 'node_modules', 'package-lock.json', 'package.json', 'sql']));
    expect(top).not.toContain('src');
    await access(join(prefix, 'dist/main.js'));
    expect((await readdir(join(prefix, 'sql'))).some((f) => /^001_.*\.sql$/.test(f))).toBe(true);
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies)) await access(join(prefix, 'node_modules', dep));
    // Every package the lockfile marks dev-only (the build tools, test tools and their trees) is absent;
    // dev dependencies that production packages also need (@types/node, @grpc/proto-loader) stay.
    const lock = JSON.parse(await readFile(join(prefix, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => p.dev && path.startsWith('node_modules/')).map(([path]) => path);
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/vitest', 'node_modules/eslint', 'node_modules/patch-package', 'node_modules/tsx', 'node_modules/esbuild']));
    const present = (await Promise.all(devOnly.map((p) => access(join(prefix, p)).then(() => p, () => undefined)))).filter(Boolean);
    expect(present, 'dev-only packages installed').toEqual([]);
    await expect(stat(`${prefix}.staging`)).rejects.toThrow(); // swapped in, nothing left behind
  });

  it('records the commit it was built from (git archive carries it) for the image label', async () => {
    const info = JSON.parse(await readFile(join(prefix, 'BUILD_INFO.json'), 'utf8')) as { git_sha: string; node: string };
    const { stdout } = await run('git', ['-C', REPO, 'rev-parse', 'HEAD']);
    expect(info.git_sha).toBe(stdout.trim());
    expect(info.node).toBe(process.versions.node);
    expect(buildLog).toContain(`(${stdout.trim()})`);
  });

  it('pins Node 24 LTS and the Google Cloud CLI for the image (the system part)', async () => {
    const script = await readFile(`${INFRA_DIR}image/build-image.sh`, 'utf8');
    const node = /^readonly node_pinned=(\d+)\.(\d+)\.(\d+)$/m.exec(script);
    expect(node?.[1]).toBe('24');
    // The same Node 24 release CI runs the suite on.
    const ci = await readFile(join(REPO, '.ci/run'), 'utf8');
    expect(ci).toContain(`node@${node![1]}.${node![2]}.${node![3]}`);
    expect(script).toMatch(/^readonly gcloud_cli_version=\d+\.\d+\.\d+-\d+$/m);
    expect(script).toContain('apt_install --allow-downgrades "nodejs=${node_deb_version}"');
    expect(script).toContain('apt_install --allow-downgrades "google-cloud-cli=${gcloud_cli_version}"');
  });

  it('runs `ott --help` from the installed copy through the wrapper', async () => {
    const wrapper = join(binDir, 'ott');
    await access(wrapper, constants.X_OK);
    expect(await readFile(wrapper, 'utf8')).toContain(`${prefix}/bin/ott.mjs`);
    const { stdout } = await run(wrapper, ['--help'], { cwd: tmp });
    expect(stdout).toMatch(/^ott <command>/m);
    for (const cmd of ['migrate', 'config', 'dump']) expect(stdout).toMatch(new RegExp(`^\\s+ott ${cmd}`, 'm'));
  });

  it('runs a command that loads production modules (config show validates a config file)', async () => {
    const cfgFile = join(tmp, 'cfg.json');
    await writeFile(cfgFile, JSON.stringify({ mysql_table: 'transfer_state', credentials_secret_id: 'ott-credentials', gcs_bucket: 'dest-bucket', pubsub_subscription_id: 'ott-cdn-transfer-workers' }));
    const { stdout } = await run(join(binDir, 'ott'), ['config', 'show', '--config', cfgFile], { cwd: tmp });
    const shown = JSON.parse(stdout) as Record<string, unknown>;
    expect(shown.grace_period_seconds).toBe(600); // a schema default: zod ran from the installed copy
    expect(shown.gcs_bucket).toBe('dest-bucket');
    const bad = await run(join(binDir, 'ott'), ['config', 'show', '--config', join(tmp, 'missing.json')], { cwd: tmp }).catch((e: { code: number }) => e);
    expect('code' in bad && bad.code).toBe(78); // EX_CONFIG, which the unit does not restart on
  });

  it('installs the launcher and the unit pointing at the chosen prefix', async () => {
    await access(join(prefix, 'libexec/ott-worker'), constants.X_OK);
    const unit = await readFile(join(unitDir, 'ott@.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${prefix}/libexec/ott-worker %i`);
    expect(await readFile(join(prefix, 'libexec/ott-worker'), 'utf8')).toContain(`OTT_BIN:-${binDir}/ott`);
    // The installed launcher starts the installed ott (env file in a scratch /etc/ott).
    const etc = join(tmp, 'etc/ott');
    await run('mkdir', ['-p', etc]);
    await writeFile(join(etc, 'syncCheck.env'), 'OTT_GCP_PROJECT=p\nOTT_CONFIG_KEY=OttConfig/syncCheck\nOTT_ARGS=--help\n');
    const { stdout } = await run(join(prefix, 'libexec/ott-worker'), ['syncCheck'], { env: { ...process.env, OTT_ENV_DIR: etc } }).catch((e: { stdout: string; code: number }) => e);
    expect(stdout).toContain('starting: ott syncCheck --gcp-project p --config-key OttConfig/syncCheck --help');
    expect(stdout).toMatch(/^ott <command>|ott syncCheck/m); // yargs answered from the installed copy
  });
});

// The shell scripts and systemd units of infra/: shellcheck on every script, systemd-analyze verify on
// the unit for each mode, and the launcher run for real against a fake metadata server and a fake ott.
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFRA_DIR } from './hcl.js';

const run = promisify(execFile);
const MODES = ['cdnTransfer', 'syncCheck', 'rsync'];
const UNIT = `${INFRA_DIR}systemd/ott@.service`;
const LAUNCHER = `${INFRA_DIR}systemd/ott-worker.sh`;

async function which(cmd: string): Promise<string | undefined> {
  try {
    return (await run('sh', ['-c', `command -v ${cmd}`])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Every shell script under infra/: *.sh files and any file whose first line is a sh/bash shebang. */
async function shellScripts(dir = INFRA_DIR): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await shellScripts(p)));
    else if (e.name.endsWith('.sh') || /^#!.*\b(ba)?sh\b/.test((await readFile(p, 'utf8')).split('\n', 1)[0])) out.push(p);
  }
  return out.sort();
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ott-infra-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('shell scripts', () => {
  it('pass shellcheck (every script under infra/)', async () => {
    const shellcheck = await which('shellcheck');
    expect(shellcheck, 'shellcheck is missing: run bash scripts/setup.sh (it installs the Debian package)').toBeDefined();
    const scripts = await shellScripts();
    expect(scripts.map((s) => s.slice(INFRA_DIR.length))).toEqual(expect.arrayContaining(['image/build-image.sh', 'systemd/ott-worker.sh']));
    const r = await run(shellcheck!, ['--shell=bash', '--severity=style', ...scripts]).catch((e: { stdout: string; stderr: string; code: number }) => e);
    // The exit code too: a shellcheck that fails without findings (a bad option, a crash) must not pass.
    expect({ code: 'code' in r ? r.code : 0, findings: r.stdout, errors: r.stderr }, 'shellcheck').toEqual({ code: 0, findings: '', errors: '' });
  });
});

describe('systemd unit ott@.service', () => {
  it('passes systemd-analyze verify for each worker mode', async () => {
    const analyze = await which('systemd-analyze');
    expect(analyze, 'systemd-analyze is missing: run bash scripts/setup.sh (it installs the Debian package systemd)').toBeDefined();
    // verify checks that ExecStart exists and is executable: point it at the launcher in a scratch dir.
    const dir = await mkdtemp(join(tmp, 'units-'));
    const launcher = join(dir, 'ott-worker');
    await writeFile(launcher, await readFile(LAUNCHER));
    await chmod(launcher, 0o755);
    const unit = (await readFile(UNIT, 'utf8')).replace('ExecStart=/opt/ott/libexec/ott-worker', `ExecStart=${launcher}`);
    expect(unit).toContain(`ExecStart=${launcher} %i`);
    for (const mode of MODES) {
      const file = join(dir, `ott@${mode}.service`);
      await writeFile(file, unit);
      const r = await run(analyze!, ['verify', file]).catch((e: { stdout: string; stderr: string; code: number }) => e);
      // Unknown or malformed settings are only warnings (exit 0): any output at all is a failure.
      expect(`${r.stdout}${r.stderr}`.trim(), `systemd-analyze verify ott@${mode}.service`).toBe('');
      expect('code' in r ? r.code : 0).toBe(0);
    }
  });

  it('restarts always except on a bad config (78), stops with SIGTERM after the grace period, logs to the journal', async () => {
    const unit = await readFile(UNIT, 'utf8');
    const setting = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(unit)?.[1];
    expect(setting('Restart')).toBe('always');
    expect(setting('RestartPreventExitStatus')).toBe('78');
    expect(unit).toMatch(/#.*78 \(EX_CONFIG\)[\s\S]*crash loop/); // the reason is written down
    expect(setting('KillSignal')).toBe('SIGTERM');
    expect(setting('KillMode')).toBe('mixed');
    expect(Number(setting('TimeoutStopSec'))).toBe(600 + 60); // config grace_period_seconds default + 60 s
    expect(setting('StandardOutput')).toBe('journal');
    expect(setting('ExecStart')).toBe('/opt/ott/libexec/ott-worker %i');
    expect(setting('User')).toBe('ott');
    expect(setting('StartLimitIntervalSec')).toBe('0');
  });

  it('caps the unit\'s memory and lets it log in bursts without journald dropping lines', async () => {
    const unit = await readFile(UNIT, 'utf8');
    const setting = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(unit)?.[1];
    // 16 processes x 4 GiB of heap would exceed a 64 GiB VM: the unit as a whole stops at 90 %.
    expect(setting('MemoryMax')).toBe('90%');
    // One malloc arena: the socket reads' freed buffers do not stay in RSS across many (the reason is written down).
    expect(setting('Environment=MALLOC_ARENA_MAX')).toBe('1');
    expect(unit).toMatch(/#.*malloc arena[\s\S]*RSS[\s\S]*\nEnvironment=MALLOC_ARENA_MAX=1\n/);
    expect(setting('LogRateLimitIntervalSec')).toBe('30s');
    expect(Number(setting('LogRateLimitBurst'))).toBeGreaterThanOrEqual(100_000);
  });
});

describe('Ops Agent config (infra/image/ops-agent.yaml)', () => {
  it('parses ott\'s JSON lines from the journal and maps their severity and mode label onto the entry', async () => {
    const yaml = await readFile(`${INFRA_DIR}image/ops-agent.yaml`, 'utf8');
    expect(yaml).toMatch(/ott_journal:\n\s+type: systemd_journald/);
    expect(yaml).toMatch(/ott_json:\n\s+type: parse_json\n\s+field: MESSAGE/);
    expect(yaml).toMatch(/ott_severity:\n\s+type: modify_fields\n\s+fields:\n\s+severity:\n\s+move_from: jsonPayload\.severity/);
    expect(yaml).toContain('copy_from: jsonPayload."logging.googleapis.com/labels".mode');
    // In this order: only ott's units, then the JSON, then the fields it produced.
    expect(yaml).toMatch(/processors: \[ott_only, ott_json, ott_severity\]/);
    // The failed-units alert matches systemd's lines about ott@ units: the filter must keep them.
    expect(yaml).toContain('jsonPayload.UNIT =~ "^ott@"');
    expect(yaml).not.toMatch(/\t/);
  });
});

describe('launcher ott-worker', () => {
  let server: Server;
  let metadataUrl: string;
  const attributes: Record<string, string> = {};
  let fakeOtt: string;

  beforeAll(async () => {
    // The GCE metadata server as far as the launcher uses it: answers only with Metadata-Flavor: Google.
    server = createServer((req, res) => {
      const path = (req.url ?? '').replace(/^\/computeMetadata\/v1\//, '');
      const value = path === 'project/project-id' ? 'vm-project' : attributes[path.replace(/^instance\/attributes\//, '')];
      if (req.headers['metadata-flavor'] !== 'Google') res.writeHead(403).end('missing Metadata-Flavor');
      else if (value === undefined || !path.startsWith('instance/attributes/') && path !== 'project/project-id') res.writeHead(404).end('not found');
      else res.writeHead(200, { 'content-type': 'application/text' }).end(value);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    metadataUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/computeMetadata/v1`;
    // A stand-in for ott: prints its pid and arguments, one per line.
    fakeOtt = join(tmp, 'fake-ott');
    await writeFile(fakeOtt, '#!/bin/sh\necho "pid=$$"\nfor a in "$@"; do echo "arg=$a"; done\n');
    await chmod(fakeOtt, 0o755);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Runs the launcher asynchronously (the metadata server lives in this process). */
  function launch(mode: string, env: Record<string, string>): Promise<{ code: number | null; pid: number; stdout: string; args: string[]; ottPid?: number }> {
    return new Promise((resolve, reject) => {
      const child = spawn('bash', [LAUNCHER, mode], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OTT_BIN: fakeOtt, OTT_METADATA_URL: metadataUrl, OTT_METADATA_RETRIES: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const lines = stdout.split('\n');
        const ottPid = lines.find((l) => l.startsWith('pid='));
        resolve({ code, pid: child.pid!, stdout, args: lines.filter((l) => l.startsWith('arg=')).map((l) => l.slice(4)), ottPid: ottPid ? Number(ottPid.slice(4)) : undefined });
      });
    });
  }

  it('takes project, config key and flags from /etc/ott/MODE.env and execs ott in its own process', async () => {
    const envDir = await mkdtemp(join(tmp, 'etc-'));
    await writeFile(join(envDir, 'cdnTransfer.env'), 'OTT_GCP_PROJECT=p1\nOTT_CONFIG_KEY="OttConfig/cdnTransfer"\nOTT_ARGS=--processes 4\n');
    await writeFile(join(envDir, 'ott.env'), 'OTT_GCP_PROJECT=ignored\nOTT_CONFIG_KEY=ignored/x\n');
    const r = await launch('cdnTransfer', { OTT_ENV_DIR: envDir });
    expect(r.code, r.stdout).toBe(0);
    expect(r.args).toEqual(['cdnTransfer', '--gcp-project', 'p1', '--config-key', 'OttConfig/cdnTransfer', '--processes', '4']);
    // exec: ott is the process systemd started, so SIGTERM reaches the worker and not a shell.
    expect(r.ottPid).toBe(r.pid);
  });

  it('falls back to the shared ott.env', async () => {
    const envDir = await mkdtemp(join(tmp, 'etc-'));
    await writeFile(join(envDir, 'ott.env'), 'OTT_GCP_PROJECT=p2\nOTT_CONFIG_KEY=Kind/shared\n');
    const r = await launch('rsync', { OTT_ENV_DIR: envDir });
    expect(r.code, r.stdout).toBe(0);
    expect(r.args).toEqual(['rsync', '--gcp-project', 'p2', '--config-key', 'Kind/shared']);
  });

  it('reads instance metadata when there is no env file: the mode-specific key wins, the project defaults to the VM project', async () => {
    Object.assign(attributes, { 'ott-config-key-syncCheck': 'OttConfig/syncCheck', 'ott-config-key': 'OttConfig/generic', 'ott-args-syncCheck': '--deep' });
    const r = await launch('syncCheck', { OTT_ENV_DIR: join(tmp, 'none') });
    expect(r.code, r.stdout).toBe(0);
    expect(r.args).toEqual(['syncCheck', '--gcp-project', 'vm-project', '--config-key', 'OttConfig/syncCheck', '--deep']);
    attributes['ott-gcp-project'] = 'meta-project';
    const r2 = await launch('rsync', { OTT_ENV_DIR: join(tmp, 'none') });
    expect(r2.args).toEqual(['rsync', '--gcp-project', 'meta-project', '--config-key', 'OttConfig/generic']);
  });

  it('exits 78 (no restart) without a config key, or for an unknown mode', async () => {
    for (const k of Object.keys(attributes)) delete attributes[k];
    const r = await launch('cdnTransfer', { OTT_ENV_DIR: join(tmp, 'none') });
    expect(r.code).toBe(78);
    expect(r.stdout).toMatch(/no config key.*ott-config-key-cdnTransfer/);
    expect(r.args).toEqual([]);
    const bad = await launch('cdn"Transfr', { OTT_ENV_DIR: join(tmp, 'none') });
    expect(bad.code).toBe(78);
    // A JSON log line for the journal, valid even when it quotes odd input.
    const line = JSON.parse(bad.stdout.trim().split('\n')[0]) as { severity: string; message: string };
    expect(line.severity).toBe('ERROR');
    expect(line.message).toContain(`unknown mode 'cdn"Transfr'`);
  });

  it('exits 1 (systemd retries) when the metadata server is unreachable', async () => {
    const r = await launch('cdnTransfer', { OTT_ENV_DIR: join(tmp, 'none'), OTT_METADATA_URL: 'http://127.0.0.1:9/computeMetadata/v1' });
    expect(r.code).toBe(1);
    const line = JSON.parse(r.stdout.split('\n').find((l) => l.includes('cannot reach'))!) as { message: string };
    expect(line.message).toContain('cannot reach the metadata server for instance/attributes/ott-config-key-cdnTransfer');
  });
});

describe('quota-preflight.sh', () => {
  const PREFLIGHT = `${INFRA_DIR}quota-preflight.sh`;
  let dir: string;
  let fakeGcloud: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmp, 'preflight-'));
    // gcloud as far as the script uses it: the enabled APIs and the region's quotas, from files.
    fakeGcloud = join(dir, 'gcloud');
    await writeFile(
      fakeGcloud,
      '#!/bin/sh\necho "$*" >>"$FAKE_DIR/calls"\ncase "$1 $2" in\n  "services list") cat "$FAKE_DIR/apis" ;;\n  "compute regions") cat "$FAKE_DIR/region.json" ;;\n  *) echo "unexpected: $*" >&2; exit 3 ;;\nesac\n',
    );
    await chmod(fakeGcloud, 0o755);
  });

  const region = (quotas: Record<string, [number, number]>): string =>
    JSON.stringify({ name: 'us-central1', quotas: Object.entries(quotas).map(([metric, [limit, usage]]) => ({ metric, limit, usage })) });
  async function preflight(needs: unknown, quotas: Record<string, [number, number]>, apis = 'serviceusage.googleapis.com\ncloudresourcemanager.googleapis.com\ncompute.googleapis.com\n'): Promise<{ code: number; out: string }> {
    await writeFile(join(dir, 'apis'), apis);
    await writeFile(join(dir, 'region.json'), region(quotas));
    await writeFile(join(dir, 'needs.json'), typeof needs === 'string' ? needs : JSON.stringify(needs));
    const r = await run('bash', [PREFLIGHT, '--project', 'p', '--region', 'us-central1', '--needs', join(dir, 'needs.json')], { env: { ...process.env, OTT_GCLOUD: fakeGcloud, FAKE_DIR: dir } }).then(
      (x) => ({ code: 0, out: x.stdout + x.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    return r;
  }

  it('passes when every needed metric has room, and skips a metric the region does not list', async () => {
    const r = await preflight({ CPUS: 700, SSD_TOTAL_GB: 1500, IN_USE_ADDRESSES: 56, E2_CPUS: 700 }, { CPUS: [1000, 100], SSD_TOTAL_GB: [4096, 0], IN_USE_ADDRESSES: [69, 8] });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^quota\s+CPUS\s+700\s+900\s+1000\s+ok$/m);
    expect(r.out).toMatch(/^quota\s+IN_USE_ADDRESSES\s+56\s+61\s+69\s+ok$/m);
    expect(r.out).toMatch(/E2_CPUS.*not listed for us-central1: skipped/);
    expect(await readFile(join(dir, 'calls'), 'utf8')).toContain('compute regions describe us-central1 --project p --format=json');
  });

  it('fails naming the short metric and what to request', async () => {
    const r = await preflight({ CPUS: 704, INSTANCES: 70 }, { CPUS: [500, 24], INSTANCES: [1000, 0] });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^quota\s+CPUS\s+704\s+476\s+500\s+SHORT by 228: request CPUS >= 728 in us-central1$/m);
    expect(r.out).toMatch(/INSTANCES.*ok/);
    expect(r.out).toContain('not enough quota in us-central1');
  });

  it('fails when the APIs Terraform needs to start are off', async () => {
    const r = await preflight({ CPUS: 1 }, { CPUS: [10, 0] }, 'serviceusage.googleapis.com\n');
    expect(r.code).toBe(1);
    expect(r.out).toContain('gcloud services enable cloudresourcemanager.googleapis.com --project p');
    expect(r.out).toContain('gcloud services enable compute.googleapis.com --project p');
  });

  it('refuses needs that are not the quota_needs output', async () => {
    const r = await preflight('{"CPUS": "many"}', { CPUS: [10, 0] });
    expect(r.code).toBe(2);
    expect(r.out).toContain('expected an object of metric => number');
  });
});

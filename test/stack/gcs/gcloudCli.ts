// `gcloud storage` pointed at the GCS emulator, for the conformance tests: each call is a real CLI process
// with its own throwaway config dir and no credentials.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';

function gcloudPath(): string {
  try {
    return execFileSync('which', ['gcloud'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('gcloud not found on PATH: install the Google Cloud CLI (Debian package google-cloud-cli); this test needs it');
  }
}

export interface GcloudRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs `gcloud storage ARGS` against `endpoint`, keeping its config under `workDir`. */
export function gcloudStorage(args: string[], endpoint: string, workDir: string): Promise<GcloudRun> {
  const env = {
    ...process.env,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${endpoint}/`,
    CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
    CLOUDSDK_CORE_PROJECT: 'ott-local',
    CLOUDSDK_CONFIG: join(workDir, 'cloudsdk'),
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
  };
  return new Promise((resolve) => {
    execFile(gcloudPath(), ['storage', ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr: err && !stderr ? err.message : stderr }));
  });
}

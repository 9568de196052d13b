// Locates Google's emulator jars inside the preinstalled Google Cloud CLI.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

let sdkRoot: string | undefined;

export function gcloudSdkRoot(): string {
  if (sdkRoot) return sdkRoot;
  for (const guess of ['/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk']) {
    if (existsSync(join(guess, 'platform'))) return (sdkRoot = guess);
  }
  try {
    const out = execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8' }).trim();
    if (out) return (sdkRoot = out);
  } catch {
    /* fall through */
  }
  throw new Error('Google Cloud CLI not found: install the Debian package google-cloud-cli (with google-cloud-cli-pubsub-emulator and google-cloud-cli-datastore-emulator)');
}

/** Path of the first file in dir matching re, or a clear error naming the package that ships it. */
export function findJar(subdir: string, re: RegExp, pkg: string): string {
  const dir = join(gcloudSdkRoot(), subdir);
  const hit = existsSync(dir) ? readdirSync(dir).find((f) => re.test(f)) : undefined;
  if (!hit) throw new Error(`emulator jar ${re} not found in ${dir}: install the Debian package ${pkg}`);
  return join(dir, hit);
}

export function javaBinary(): string {
  for (const p of ['/usr/bin/java', '/usr/local/bin/java']) if (existsSync(p)) return p;
  throw new Error('java not found: install the Debian package default-jre-headless');
}

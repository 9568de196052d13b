// The no-secret-in-logs check: every captured line of every process, searched for each secret value and
// for any URL signature or policy that was not masked.
export interface SecretValues {
  mysqlPassword: string;
  awsSecret: string;
  privateKeyPem: string;
}

/** Distinctive pieces of the PEM body: any one of its base64 lines printed anywhere is a leak. */
function pemLines(pem: string): string[] {
  return pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .filter((l) => l.length >= 40);
}

/** Returns one description per leaking line (empty when clean). */
export function findLeaks(lines: string[], s: SecretValues): string[] {
  const needles: Array<[string, string]> = [
    ['MySQL password', s.mysqlPassword],
    ['AWS secret key', s.awsSecret],
    ...pemLines(s.privateKeyPem).map((l, i): [string, string] => [`private key line ${i + 1}`, l]),
  ];
  const signature = /[?&](Signature|Policy)=(?!\[REDACTED\])[^&\s"'<>]+/;
  const out: string[] = [];
  for (const line of lines) {
    for (const [what, value] of needles) if (value && line.includes(value)) out.push(`${what} in: ${line.slice(0, 200)}`);
    const m = signature.exec(line);
    if (m) out.push(`unmasked ${m[1]}= in: ${line.slice(0, 200)}`);
  }
  return out;
}

// The one place that keeps secrets out of output: every registered secret value, every URL signature
// (`Signature=`, `Policy=`, `Key-Pair-Id=`), and every PEM block is masked before a line is written.
const MASK = '[REDACTED]';
const secretValues = new Set<string>();
const URL_PARAMS = /([?&](?:Signature|Policy|Key-Pair-Id|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|GoogleAccessId|X-Goog-Signature)=)[^&\s"'<>]*/gi;
const PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g;

/** Registers a value that must never be printed. Short values are ignored: masking "1" would garble logs. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) {
    secretValues.add(value);
    // Also the JSON-escaped form, as it appears inside serialized lines.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) secretValues.add(escaped);
  }
}

export function redact(text: string): string {
  let out = text.replace(PEM, MASK).replace(URL_PARAMS, `$1${MASK}`);
  for (const s of secretValues) if (out.includes(s)) out = out.split(s).join(MASK);
  return out;
}

// Text for a terminal or a log viewer. S3 keys may hold any character, so a key printed as it is could end
// a line early and forge the next one ("x\nERROR ..."), move the cursor or rewrite the screen (ESC
// sequences), or reverse what follows (bidi overrides). Every such character is shown as an escape, and
// the backslash as `\\`, so what is printed maps back to exactly one key. Machine-read output (JSON, the
// error topic, log fields) keeps keys exact: JSON escapes them itself.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

// Writes a benchmark's lines into bench/RESULTS.md, replacing that benchmark's previous lines.
import { readFileSync, writeFileSync } from 'node:fs';

const FILE = new URL('./RESULTS.md', import.meta.url);

export function writeResults(benchmark: string, lines: string[]): void {
  const tag = `<!-- ${benchmark} -->`;
  const old = readFileSync(FILE, 'utf8').split('\n').filter((l) => !l.endsWith(tag));
  while (old.length && old[old.length - 1] === '') old.pop();
  writeFileSync(FILE, [...old, ...lines.map((l) => `${l} ${tag}`), ''].join('\n'));
  for (const l of lines) process.stdout.write(`${l}\n`);
}

export function ratio(ours: number, base: number): string {
  return `${(ours / base).toFixed(2)}x`;
}

export function perSecond(n: number, ms: number): string {
  const r = (n / ms) * 1000;
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k/s` : `${r.toFixed(0)}/s`;
}

// Where subfolder names come from: the S3 API (the common lister, Delimiter '/') or a file written by
// `aws s3 ls s3://BUCKET/ROOT/`. Both stream: millions of subfolders are never all in memory. Items come
// a page (S3) or a read chunk (file) at a time, so the per-key work stays synchronous and cheap.
import { createReadStream } from 'node:fs';

export type SourceItem = { dirKey: string } | { bad: string; lineNo: number; why: string };

/** Subfolder pages from the S3 API (listS3Subfolders) as source items. */
export async function* subfolderItems(pages: AsyncIterable<string[]>): AsyncGenerator<SourceItem[]> {
  for await (const dirKeys of pages) yield dirKeys.map((dirKey) => ({ dirKey }));
}

const PRE_LINE = /^\s*PRE (.+\/)$/;
// An object line: date, time, size, name (empty for a folder marker, the object named rootPrefix itself).
// Objects directly under the root are no subfolder: they make the root row (src/common/source/rootDir.ts).
const OBJECT_LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+\d+ ?.*$/;

/**
 * Parses `aws s3 ls` output: `PRE name/` lines are subfolders of rootPrefix; the first object line (an
 * object directly under the root) yields the root row, rootPrefix itself, once; anything unparseable is
 * reported.
 */
export async function* readDumpFile(path: string, rootPrefix: string): AsyncGenerator<SourceItem[]> {
  // utf8 decoding keeps a character split across two chunks whole; lines end with \n (a \r before it is dropped).
  // 64 KiB chunks: strings that size die young; bigger ones are born in V8's old generation and pile up there.
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  let lineNo = 0;
  let rest = '';
  const root = { prefix: rootPrefix, listed: false };
  for await (const chunk of input as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    const items: SourceItem[] = [];
    for (const line of lines) parseLine(line, ++lineNo, root, items);
    if (items.length) yield items;
  }
  const items: SourceItem[] = [];
  if (rest) parseLine(rest, ++lineNo, root, items);
  if (items.length) yield items;
}

function parseLine(raw: string, lineNo: number, root: { prefix: string; listed: boolean }, out: SourceItem[]): void {
  const rootPrefix = root.prefix;
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line.trim() === '') return;
  const m = PRE_LINE.exec(line);
  if (m) {
    const name = m[1];
    if (name === '/' || Buffer.byteLength(rootPrefix + name) > 1024) {
      out.push({ bad: line, lineNo, why: name === '/' ? 'empty subfolder name' : 'key longer than 1024 bytes' });
    } else {
      out.push({ dirKey: rootPrefix + name });
    }
  } else if (!OBJECT_LINE.test(line)) {
    out.push({ bad: line, lineNo, why: 'not a `PRE name/` line of aws s3 ls' });
  } else if (!root.listed) {
    // An object directly under the root: the root row exists (once, however many such lines follow).
    root.listed = true;
    out.push({ dirKey: rootPrefix });
  }
}

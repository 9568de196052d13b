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
// An object line: date, time, size, name. Objects directly under the root are not subfolders.
const OBJECT_LINE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+\d+ .+$/;

/** Items held back while the file may still be an `aws s3 ls s3://BUCKET/ROOT` listing (no trailing slash). */
const HOLD_MAX = 10_000;

/**
 * Parses `aws s3 ls` output: `PRE name/` lines are subfolders of rootPrefix; anything unparseable is reported.
 * A listing made without the trailing slash (`aws s3 ls s3://BUCKET/data`) lists `PRE data/` and its
 * siblings starting with "data", not the subfolders: loaded, it would record `data/data/`. Such a file is
 * refused with that explanation before anything is loaded; the items are held back only while every
 * subfolder so far starts with the root's own name (at most HOLD_MAX), so a real listing streams as before.
 */
export async function* readDumpFile(path: string, rootPrefix: string): AsyncGenerator<SourceItem[]> {
  const rootName = rootPrefix.split('/').at(-2) ?? '';
  let held: SourceItem[] | undefined = rootName ? [] : undefined;
  const pass = (items: SourceItem[]): SourceItem[] => {
    if (!held) return items;
    const real = items.some((i) => 'dirKey' in i && !i.dirKey.slice(rootPrefix.length).startsWith(rootName));
    held.push(...items);
    if (!real && held.length < HOLD_MAX) return [];
    const out = held;
    held = undefined;
    return out;
  };
  for await (const items of parseDumpFile(path, rootPrefix)) {
    const out = pass(items);
    if (out.length) yield out;
  }
  if (held?.some((i) => 'dirKey' in i && i.dirKey === `${rootPrefix}${rootName}/`)) {
    const root = rootPrefix.slice(0, -1);
    throw new Error(
      `dump file ${path} looks like \`aws s3 ls s3://BUCKET/${root}\` (no trailing slash): it lists the root folder itself ` +
        `("PRE ${rootName}/") and its siblings, not the subfolders under ${rootPrefix}; loaded, it would record ${rootPrefix}${rootName}/ ` +
        `as a subfolder. Nothing was loaded. List the subfolders with the trailing slash: aws s3 ls s3://BUCKET/${rootPrefix} > ${path}`,
    );
  }
  if (held?.length) yield held;
}

async function* parseDumpFile(path: string, rootPrefix: string): AsyncGenerator<SourceItem[]> {
  // utf8 decoding keeps a character split across two chunks whole; lines end with \n (a \r before it is dropped).
  // 64 KiB chunks: strings that size die young; bigger ones are born in V8's old generation and pile up there.
  const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  let lineNo = 0;
  let rest = '';
  for await (const chunk of input as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    const items: SourceItem[] = [];
    for (const line of lines) parseLine(line, ++lineNo, rootPrefix, items);
    if (items.length) yield items;
  }
  const items: SourceItem[] = [];
  if (rest) parseLine(rest, ++lineNo, rootPrefix, items);
  if (items.length) yield items;
}

function parseLine(raw: string, lineNo: number, rootPrefix: string, out: SourceItem[]): void {
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
  } // else: an object at the root, not a subfolder
}

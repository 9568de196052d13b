// Streaming reader for multipart/related upload bodies: the JSON metadata part is parsed, the media part
// is handed on chunk by chunk and never held whole. Either line ending works (gcloud sends bare LF), and
// the media part may have no headers at all (rclone sends none).
import { badRequest } from './errors.js';

/** Bytes of the metadata part and headers we accept before calling the body malformed. */
const HEAD_LIMIT = 1024 * 1024;

export interface MultipartHead {
  metadata: Record<string, unknown>;
  /** The media part's Content-Type, when it has one. */
  mediaType?: string;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  // gcloud quotes its boundary with single quotes; GCS accepts either quote.
  const m = /^multipart\/related\s*;.*\bboundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

export async function readMultipart(chunks: AsyncIterable<Buffer>, boundary: string, onHead: (head: MultipartHead) => Promise<void>, onData: (chunk: Buffer) => Promise<void>): Promise<void> {
  const it = chunks[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  const more = async (): Promise<boolean> => {
    const r = await it.next();
    if (r.done) return false;
    buf = buf.length ? Buffer.concat([buf, r.value]) : r.value;
    return true;
  };
  const find = async (needle: Buffer, from: number, what: string): Promise<number> => {
    for (;;) {
      const i = buf.indexOf(needle, from);
      if (i >= 0) return i;
      if (buf.length > HEAD_LIMIT || !(await more())) throw badRequest(`malformed multipart body: ${what} not found`);
    }
  };
  const ensure = async (n: number): Promise<void> => {
    while (buf.length < n) if (!(await more())) throw badRequest('malformed multipart body: ends early');
  };

  const dash = Buffer.from(`--${boundary}`);
  let p = (await find(dash, 0, 'first boundary')) + dash.length;
  await ensure(p + 2);
  const eol = buf[p] === 0x0d ? '\r\n' : '\n';
  p += eol.length;
  const blank = Buffer.from(eol + eol);
  const delim = Buffer.from(`${eol}--${boundary}`);

  // Part 1: headers, blank line, JSON.
  const blankLineAt = (i: number): boolean => buf.subarray(i, i + eol.length).toString('latin1') === eol;
  await ensure(p + eol.length);
  p = blankLineAt(p) ? p + eol.length : (await find(blank, p, 'metadata part headers')) + blank.length;
  const end1 = await find(delim, p, 'metadata part end');
  let metadata: Record<string, unknown>;
  try {
    metadata = JSON.parse(buf.subarray(p, end1).toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    throw badRequest('malformed multipart body: metadata part is not JSON');
  }
  p = end1 + delim.length;

  // Part 2: the line ending after the boundary, optional headers, blank line, then media.
  await ensure(p + eol.length * 2);
  p += eol.length;
  let mediaType: string | undefined;
  if (blankLineAt(p)) {
    p += eol.length;
  } else {
    const h2 = await find(blank, p, 'media part headers');
    for (const line of buf.subarray(p, h2).toString('latin1').split(eol)) {
      const m = /^content-type\s*:\s*(.+)$/i.exec(line.trim());
      if (m) mediaType = m[1].trim();
    }
    p = h2 + blank.length;
  }
  await onHead({ metadata, mediaType });

  buf = buf.subarray(p);
  for (;;) {
    const i = buf.indexOf(delim);
    if (i >= 0) {
      if (i > 0) await onData(buf.subarray(0, i));
      break;
    }
    // Hold back what could be the start of the closing delimiter.
    const safe = buf.length - (delim.length - 1);
    if (safe > 0) {
      await onData(buf.subarray(0, safe));
      buf = buf.subarray(safe);
    }
    if (!(await more())) throw badRequest('malformed multipart body: no closing boundary');
  }
  for (let r = await it.next(); !r.done; r = await it.next()) void r;
}

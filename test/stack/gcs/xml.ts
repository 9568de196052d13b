// The XML API's side of the emulator: documents in the shape GCS answers on its S3-compatible paths
// (`xmlns='http://s3.amazonaws.com/doc/2006-03-01/'`), its `<Error><Code>` errors, and the one request
// body we read (CompleteMultipartUpload).
import { GcsError } from './errors.js';

const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** `<name>escaped text</name>`, or nothing for undefined (optional elements are left out, as GCS does). */
export function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/** A whole response document: declaration, root element in the S3 namespace, already-rendered children. */
export function xmlDocument(root: string, children: string): string {
  return `<?xml version='1.0' encoding='UTF-8'?><${root} xmlns='${NS}'>${children}</${root}>`;
}

/** An XML API error: `<Error><Code>NoSuchUpload</Code><Message>..</Message></Error>` with its status. */
export class XmlError extends GcsError {
  constructor(status: number, readonly xmlCode: string, message: string) {
    super(status, xmlCode, message);
  }

  override get contentType(): string {
    return 'application/xml; charset=UTF-8';
  }

  override body(): string {
    return `<?xml version='1.0' encoding='UTF-8'?><Error>${el('Code', this.xmlCode)}${el('Message', this.message)}</Error>`;
  }
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'InvalidArgument',
  401: 'AuthenticationRequired',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  408: 'RequestTimeout',
  409: 'Conflict',
  412: 'PreconditionFailed',
  429: 'SlowDown',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** A JSON-API-shaped error (shared helpers, injected statuses) as the XML API would answer it. */
export function asXmlError(err: unknown): unknown {
  if (!(err instanceof GcsError) || err instanceof XmlError) return err;
  const code = err.code === 404 && /bucket does not exist/.test(err.message) ? 'NoSuchBucket' : (CODE_BY_STATUS[err.code] ?? 'InternalError');
  return new XmlError(err.code, code, err.message);
}

export const noSuchUpload = (id: string): XmlError => new XmlError(404, 'NoSuchUpload', `The requested upload was not found: ${id}`);
export const xmlBadRequest = (code: string, message: string): XmlError => new XmlError(400, code, message);

export interface CompletePart {
  partNumber: number;
  etag: string;
}

function unescapeXml(s: string): string {
  return s.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(lt|gt|amp|apos|quot));/gi, (_m, dec: string, hex: string, name: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }[name.toLowerCase()]!;
  });
}

/** The parts a CompleteMultipartUpload body lists, in the order given; MalformedXML when it lists none. */
export function parseCompleteBody(text: string): CompletePart[] {
  const malformed = (why: string): XmlError => xmlBadRequest('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${why}`);
  if (!/<CompleteMultipartUpload[\s>]/.test(text) || !/<\/CompleteMultipartUpload>\s*$/.test(text)) throw malformed('no CompleteMultipartUpload element');
  const parts: CompletePart[] = [];
  for (const m of text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const num = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]);
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
    if (!num || !etag) throw malformed(`a Part without PartNumber or ETag: ${m[1].slice(0, 120)}`);
    parts.push({ partNumber: Number(num[1]), etag: unescapeXml(etag[1].trim()) });
  }
  if (parts.length === 0) throw malformed('no Part elements');
  return parts;
}

/** An ETag as clients echo it (quoted or not, any case) reduced to its hex digest. */
export function bareEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
}

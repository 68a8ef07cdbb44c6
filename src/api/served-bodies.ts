// Response bodies the API serves as stored bytes, with a strong ETag: a stored report's
// JSON (its row never changes) and a page of findings (a succeeded correlation run's
// findings never change). Each route keeps its bodies in a cache bounded by bytes,
// least recently used out first (lru-cache), and answers If-None-Match with 304.
//
// These bodies were made from rows whose shape the route's response schema describes
// (the OpenAPI document keeps it); they are sent as bytes, so Fastify's serializer does
// not validate and stringify them again on every request.
//
// Each body is also kept gzipped, made once when it is first asked for: a client that sends
// `Accept-Encoding: gzip` (curl --compressed, Python requests, Go's and .NET's HTTP
// clients by default) gets a tenth of the bytes (a 234 KB report JSON is ~20 KB), and
// gzipping per request would cost more CPU than sending the plain bytes. The gzipped
// representation has its own strong tag (RFC 9110 8.8.3: a strong validator differs per
// content coding), the plain one's with `-gzip`; If-None-Match with either answers 304.
import { createHash } from 'node:crypto';
import { constants, gzipSync } from 'node:zlib';

import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';

export interface ServedBody {
  /** The quoted strong entity tag: the SHA-256 of `body`. */
  etag: string;
  body: Buffer;
  /** `body` gzipped, made on the first request that takes gzip (a page read once by a
   *  client that does not is never gzipped). */
  gzip?: Buffer;
}

export function servedBody(text: string): ServedBody {
  const body = Buffer.from(text, 'utf8');
  return servedBytes(etagOf(createHash('sha256').update(body).digest('hex')), body);
}

/** `body` with the tag `etag`. */
export function servedBytes(etag: string, body: Buffer): ServedBody {
  return { etag, body };
}

const GZIP_RESERVE = 0.5;

/** The body gzipped, kept on it when it is at most GZIP_RESERVE of the body (what the
 *  caches count for it ahead, see servedBodyCache; JSON gzips to a fifth or less). */
function gzipOf(served: ServedBody): Buffer {
  if (served.gzip) return served.gzip;
  const gzip = gzipSync(served.body, { level: constants.Z_DEFAULT_COMPRESSION });
  if (gzip.length <= served.body.length * GZIP_RESERVE) served.gzip = gzip;
  return gzip;
}
/** The tag of the gzipped representation of the body tagged `etag`. */
export function gzipEtagOf(etag: string): string {
  return `${etag.slice(0, -1)}-gzip"`;
}

/** True when Accept-Encoding takes gzip (RFC 9110 12.5.3: a coding with q=0 is refused;
 *  `*` stands for any coding not listed). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  let star: boolean | undefined;
  for (const item of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((param) => param.trim()).find((param) => param.startsWith('q='));
    const accepted = q === undefined || Number(q.slice(2)) > 0;
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') return accepted;
    if (coding.trim() === '*') star = accepted;
  }
  return star === true;
}

export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

/** If-None-Match: `*` or a list of entity tags; a weak tag (W/"…") matches by its value
 *  (RFC 9110 13.1.2 compares weakly for If-None-Match). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/** A cache of bodies by key, bounded by `maxBytes`; a body over a quarter of it is not kept. */
export function servedBodyCache<V extends { body: Buffer }>(maxBytes: number): LRUCache<string, V> {
  return new LRUCache<string, V>({
    maxSize: maxBytes,
    maxEntrySize: maxBytes / 4,
    // The body, and room for its gzipped form, which may be added after it is cached.
    sizeCalculation: (value, key) => Math.ceil(value.body.length * (1 + GZIP_RESERVE)) + key.length,
  });
}

/** 304 with the tag of the representation the request takes when If-None-Match names
 *  either representation of the body tagged `etag`; else undefined. */
export function sendNotModified(
  request: FastifyRequest,
  reply: FastifyReply,
  etag: string,
  gzip = acceptsGzip(request.headers['accept-encoding']),
): FastifyReply | undefined {
  const ifNoneMatch = request.headers['if-none-match'];
  if (!etagMatches(ifNoneMatch, etag) && !etagMatches(ifNoneMatch, gzipEtagOf(etag))) return undefined;
  return varyOnEncoding(reply)
    .status(304)
    .header('etag', gzip ? gzipEtagOf(etag) : etag)
    .send();
}

/** Adds Accept-Encoding to Vary, keeping what the route put there (Accept, for reports). */
function varyOnEncoding(reply: FastifyReply): FastifyReply {
  const current = reply.getHeader('vary');
  const listed = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (!listed.some((v) => v.toLowerCase() === 'accept-encoding')) listed.push('accept-encoding');
  return reply.header('vary', listed.join(', '));
}

/** 304 when the client has these bytes (If-None-Match), else the bytes as JSON, gzipped
 *  when the client takes gzip; each with its representation's tag. */
export function sendServed(request: FastifyRequest, reply: FastifyReply, served: ServedBody): FastifyReply {
  // Read once: the hot path of every served body.
  const gzip = acceptsGzip(request.headers['accept-encoding']);
  const notModified = sendNotModified(request, reply, served.etag, gzip);
  if (notModified) return notModified;
  varyOnEncoding(reply).type('application/json; charset=utf-8');
  if (gzip) return reply.header('etag', gzipEtagOf(served.etag)).header('content-encoding', 'gzip').send(gzipOf(served));
  return reply.header('etag', served.etag).send(served.body);
}

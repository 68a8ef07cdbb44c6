// Response bodies the API serves as stored bytes, with a strong ETag: a stored report's
// JSON (its row never changes) and a page of findings (a succeeded correlation run's
// findings never change). Each route keeps its bodies in a cache bounded by bytes,
// least recently used out first (lru-cache), and answers If-None-Match with 304.
//
// These bodies were made from rows whose shape the route's response schema describes
// (the OpenAPI document keeps it); they are sent as bytes, so Fastify's serializer does
// not validate and stringify them again on every request.
import { createHash } from 'node:crypto';

import type { FastifyReply } from 'fastify';
import { LRUCache } from 'lru-cache';

export interface ServedBody {
  /** The quoted strong entity tag: the SHA-256 of `body`. */
  etag: string;
  body: Buffer;
}

export function servedBody(text: string): ServedBody {
  const body = Buffer.from(text, 'utf8');
  return { etag: etagOf(createHash('sha256').update(body).digest('hex')), body };
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
    sizeCalculation: (value, key) => value.body.length + key.length,
  });
}

/** 304 when the client has these bytes (If-None-Match), else the bytes as JSON; both with the ETag. */
export function sendServed(reply: FastifyReply, served: ServedBody, ifNoneMatch: string | undefined): FastifyReply {
  reply.header('etag', served.etag);
  if (etagMatches(ifNoneMatch, served.etag)) return reply.status(304).send();
  return reply.type('application/json; charset=utf-8').send(served.body);
}

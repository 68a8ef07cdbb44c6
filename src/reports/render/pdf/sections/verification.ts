// Appendix E: how to verify the report, with accesstrail and with standard tools.
import { reportBaseName } from '../../naming.js';
import type { Pen } from '../pen.js';

export function drawVerification(pen: Pen): void {
  const { newPage, heading, paragraph, labelValue, openSection, model } = pen;
  const integrity = model.integrity!;
  newPage();
  openSection('appendix-e');
  paragraph(
    'The report JSON is the authoritative document; this PDF, the CSV files and the OSCAL file are renderings of it. The JSON is canonical (keys sorted, no insignificant whitespace); its content hash is the SHA-256 of the canonical JSON without the "integrity" and "generatedAt" members (so the same evidence and parameters give the same hash whenever the report is regenerated), and the Ed25519 signature covers the text "<content hash in lower-case hexadecimal>|<generatedAt>".',
  );
  labelValue([
    ['Report JSON', `${reportBaseName(model)}.json`],
    ['Manifest', `${reportBaseName(model)}.manifest.json (SHA-256 of every file, signed, bound to the content hash)`],
    ['Content SHA-256', integrity.contentSha256],
    ['Signing key id', `${integrity.signature.keyId} (first 16 hex digits of the SHA-256 of the public key, DER)`],
  ]);
  heading('With accesstrail', 2);
  paragraph("Put the publisher's public key (report-signing.pub.pem) in <data folder>/keys/trusted/, then run:", { size: 9 });
  paragraph(`accesstrail verify ${reportBaseName(model)}.json ${reportBaseName(model)}.pdf`, { font: 'Courier', size: 8 });
  paragraph(
    'Each file is reported "intact", or with the reason it is not: content hash mismatch (the content was changed), bad signature, unknown key (signed by a key you do not trust), or a file hash that does not match the manifest. The exit status is 0 only when every file is intact.',
  );
  heading('With standard tools', 2);
  paragraph(
    'Remove the "integrity" member from the JSON, serialise it canonically (RFC 8785 gives the same bytes for this document) and hash it with SHA-256; the hash must equal the one above. Then check the signature over the hash text:',
    { size: 9 },
  );
  paragraph(`printf %s ${integrity.contentSha256} > hash.txt`, { font: 'Courier', size: 7.5 });
  paragraph('echo "<signature value from the JSON>" | base64 -d > signature.bin', { font: 'Courier', size: 7.5 });
  paragraph('openssl pkeyutl -verify -pubin -inkey report-signing.pub.pem -rawin -in hash.txt -sigfile signature.bin', {
    font: 'Courier',
    size: 7.5,
  });
  paragraph("The footer of every page of this PDF carries the same content hash; the manifest binds this file's own SHA-256 to it.", {
    size: 9,
  });
}

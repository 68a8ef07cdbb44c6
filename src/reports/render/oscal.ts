// OSCAL 1.1.3 assessment results, for GRC tools that import them. One result covers
// the report's period (start/end); each control gets an observation (what was tested,
// the population, the status) and a finding carrying its status as an objective
// status; each report finding becomes an observation with its evidence records and a
// finding that relates to it and to the control's observation. UUIDs are name-based
// (RFC 4122 version 5) under a namespace derived from the content hash, so the same
// model always yields the same OSCAL bytes, and a different model different UUIDs.
import { createHash } from 'node:crypto';

import { canonicalReportJson } from '../canonical-json.js';
import type { ControlSection, Finding, ReportModel } from '../model.js';
import { reportBaseName } from './naming.js';

export const OSCAL_VERSION = '1.1.3';
const NS = 'https://accesstrail.dev/ns/oscal';

// RFC 4122 appendix C's URL namespace; the report namespace is v5(URL, "accesstrail:<hash>").
const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

export function uuidV5(namespace: string, name: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** OSCAL strings must be non-empty without leading or trailing whitespace. */
function text(value: string | null | undefined, fallback = '-'): string {
  const trimmed = (value ?? '').replace(/\s+/g, ' ').trim();
  return trimmed === '' ? fallback : trimmed;
}

function prop(name: string, value: string) {
  return { name, ns: NS, value: text(value) };
}

const statusWords: Record<ControlSection['status'], string> = {
  effective: 'Effective: every rule behind the control was evaluated over full coverage and found no exception.',
  exceptions: 'Exceptions: at least one finding; the findings are listed with their evidence.',
  incomplete: 'Incomplete: evaluated, but part of the period lacks coverage for a source the control relies on.',
  'not-evaluable': 'Not evaluable: a rule behind the control lacked the data it needs.',
};

export function subjectLabel(finding: Finding): string {
  const s = finding.subject;
  return s.upn ?? s.email ?? s.credentialId ?? s.metabaseAccountId ?? s.personId ?? s.source ?? finding.id;
}

export function renderOscal(model: ReportModel): string {
  return canonicalReportJson(oscalDocument(model));
}

/** The OSCAL assessment results of a signed model, as an object (its canonical JSON is the file). */
export function oscalDocument(model: ReportModel): Record<string, unknown> {
  if (!model.integrity) throw new TypeError('OSCAL rendering needs a signed model (integrity missing)');
  const hash = model.integrity.contentSha256;
  const namespace = uuidV5(URL_NAMESPACE, `accesstrail:${hash}`);
  const id = (name: string) => uuidV5(namespace, name);
  const reportResource = id('resource:report-json');
  const methodResource = id('resource:methodology');
  const controlsByRule = new Map<string, string[]>();
  for (const control of model.controls) {
    for (const rule of control.rules) controlsByRule.set(rule, [...(controlsByRule.get(rule) ?? []), control.id]);
  }

  const observations: unknown[] = [];
  const findings: unknown[] = [];

  for (const control of model.controls) {
    const observationId = id(`observation:control:${control.id}`);
    observations.push({
      uuid: observationId,
      title: text(`${control.id} ${control.title}`),
      description: text(
        `${control.tested} Result: ${statusWords[control.status]}${control.reasons.length > 0 ? ` ${control.reasons.join('; ')}.` : ''}`,
      ),
      props: [
        prop('control-id', control.id),
        prop('control-status', control.status),
        ...control.rules.map((rule) => prop('rule', rule)),
        ...control.formerIds.map((former) => prop('former-control-id', former)),
      ],
      methods: ['TEST'],
      types: ['control-objective'],
      'relevant-evidence': [{ href: `#${reportResource}`, description: text(`Population: ${control.population}`) }],
      collected: model.generatedAt,
    });
    findings.push({
      uuid: id(`finding:control:${control.id}`),
      title: text(`${control.id}: ${control.status}`),
      description: text(`${statusWords[control.status]} ${control.findingIds.length} finding(s).`),
      props: [prop('control-status', control.status)],
      target: {
        type: 'objective-id',
        'target-id': control.id,
        status: {
          state: control.status === 'effective' ? 'satisfied' : 'not-satisfied',
          reason: control.status === 'effective' ? 'pass' : control.status === 'exceptions' ? 'fail' : 'other',
        },
      },
      'related-observations': [{ 'observation-uuid': observationId }],
    });
  }

  for (const finding of model.findings) {
    const observationId = id(`observation:finding:${finding.id}`);
    const controls = controlsByRule.get(finding.rule) ?? [];
    const evidence = finding.evidence.map((ref) => ({
      description: text(`${ref.source} record ${ref.id}${ref.at ? ` at ${ref.at}` : ''}`),
      props: [prop('evidence-source', ref.source), prop('evidence-id', ref.id)],
    }));
    observations.push({
      uuid: observationId,
      title: text(`${finding.rule}: ${subjectLabel(finding)}`),
      description: text(finding.summary),
      props: [prop('finding-id', finding.id), prop('rule', finding.rule), prop('severity', finding.severity)],
      methods: ['TEST'],
      types: ['finding'],
      ...(evidence.length > 0 ? { 'relevant-evidence': evidence } : {}),
      collected: model.generatedAt,
    });
    findings.push({
      uuid: id(`finding:${finding.id}`),
      title: text(`${finding.rule}: ${subjectLabel(finding)}`),
      description: text(
        `${finding.summary}${finding.firstSeen ? ` First seen ${finding.firstSeen}.` : ''}${finding.lastSeen ? ` Last seen ${finding.lastSeen}.` : ''}`,
      ),
      props: [
        prop('finding-id', finding.id),
        prop('rule', finding.rule),
        prop('severity', finding.severity),
        ...controls.map((control) => prop('control-id', control)),
      ],
      target: {
        type: 'objective-id',
        // A finding can evidence several controls; OSCAL gives it one target, the first
        // control of the framework it belongs to, and the others are listed as props.
        'target-id': controls[0] ?? finding.rule,
        status: { state: 'not-satisfied', reason: 'fail' },
      },
      'related-observations': [
        { 'observation-uuid': observationId },
        ...controls.map((control) => ({ 'observation-uuid': id(`observation:control:${control}`) })),
      ],
    });
  }

  const document = {
    'assessment-results': {
      uuid: id('assessment-results'),
      metadata: {
        title: text(model.title),
        'last-modified': model.generatedAt,
        version: hash,
        'oscal-version': OSCAL_VERSION,
        props: [
          prop('framework', model.framework),
          prop('content-sha256', hash),
          prop('signing-key-id', model.integrity.signature.keyId),
          prop('provisional', String(model.provisional)),
          prop('as-of', model.asOf),
        ],
      },
      'import-ap': {
        href: `#${methodResource}`,
        remarks: 'accesstrail has no separate assessment plan; the methodology resource in back-matter states how the assessment was made.',
      },
      results: [
        {
          uuid: id('result'),
          title: text(model.title),
          description: text(
            `Automated access review for ${model.framework} over ${model.period.from} to ${model.period.to}, evaluated as of ${model.asOf}.`,
          ),
          start: model.period.from,
          end: model.period.to,
          props: [prop('as-of', model.asOf), prop('generated-at', model.generatedAt)],
          'reviewed-controls': {
            'control-selections': [{ 'include-controls': model.controls.map((control) => ({ 'control-id': control.id })) }],
          },
          ...(observations.length > 0 ? { observations } : {}),
          ...(findings.length > 0 ? { findings } : {}),
        },
      ],
      'back-matter': {
        resources: [
          {
            uuid: reportResource,
            title: 'Signed report (JSON)',
            description: 'The signed report this assessment result was rendered from; its content hash binds every rendering.',
            props: [prop('content-sha256', hash)],
            rlinks: [{ href: `${reportBaseName(model)}.json`, 'media-type': 'application/json' }],
          },
          {
            uuid: methodResource,
            title: 'Methodology',
            description: text(model.methodology.join(' '), 'Automated evaluation of the accesstrail rules.'),
          },
        ],
      },
    },
  };
  return document;
}

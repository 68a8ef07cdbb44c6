// OSCAL 1.1.3 assessment results, for GRC tools that import them. One result covers
// the report's period (start/end); each control gets an observation (what was tested,
// the population, the status) and a finding carrying its status as an objective
// status; each report finding becomes an observation with its evidence records and a
// finding that relates to it and to the control's observation. UUIDs are name-based
// (RFC 4122 version 5) under a namespace derived from the content hash, so the same
// model always yields the same OSCAL bytes, and a different model different UUIDs.
import { createHash } from 'node:crypto';

import { CANONICAL_ITEMS, canonicalReportJson } from '../canonical-json.js';
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

/** Items written as they are made: each is turned into its canonical JSON when the
 *  writer reaches it and dropped, so the observations and findings of a large report
 *  (44 MB of OSCAL at 20,000 accounts, 7,221 findings) are never all in memory. */
function canonicalItems(make: () => Iterable<unknown>): { [CANONICAL_ITEMS](): Iterable<string> } {
  return {
    *[CANONICAL_ITEMS]() {
      for (const item of make()) yield canonicalReportJson(item);
    },
  };
}

/** The OSCAL assessment results of a signed model, as an object whose canonical JSON is
 *  the file (its observations and findings are made as the writer reaches them). */
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

  // Each control's observation, then each finding's, in the model's order.
  function* observations() {
    for (const control of model.controls) {
      yield {
        uuid: id(`observation:control:${control.id}`),
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
      };
    }
    for (const finding of model.findings) {
      const evidence = finding.evidence.map((ref) => ({
        description: text(`${ref.source} record ${ref.id}${ref.at ? ` at ${ref.at}` : ''}`),
        props: [prop('evidence-source', ref.source), prop('evidence-id', ref.id)],
      }));
      yield {
        uuid: id(`observation:finding:${finding.id}`),
        title: text(`${finding.rule}: ${subjectLabel(finding)}`),
        description: text(finding.summary),
        props: [prop('finding-id', finding.id), prop('rule', finding.rule), prop('severity', finding.severity)],
        methods: ['TEST'],
        types: ['finding'],
        ...(evidence.length > 0 ? { 'relevant-evidence': evidence } : {}),
        collected: model.generatedAt,
      };
    }
  }

  // Each control's finding (its status), then each report finding, in the same order.
  function* findings() {
    for (const control of model.controls) {
      yield {
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
        'related-observations': [{ 'observation-uuid': id(`observation:control:${control.id}`) }],
      };
    }
    for (const finding of model.findings) {
      const controls = controlsByRule.get(finding.rule) ?? [];
      yield {
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
          { 'observation-uuid': id(`observation:finding:${finding.id}`) },
          ...controls.map((control) => ({ 'observation-uuid': id(`observation:control:${control}`) })),
        ],
      };
    }
  }
  // OSCAL arrays are not empty: left out when there is nothing to list.
  const listed = model.controls.length + model.findings.length > 0;

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
          ...(listed ? { observations: canonicalItems(observations), findings: canonicalItems(findings) } : {}),
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

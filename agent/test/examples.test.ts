// Every sample LicenseKey in agent/examples/ is one the API server could return: it validates against
// the LicenseKey CRD's openAPIV3Schema (vendored from tigera/operator, see the file's header), with
// no field the API server would prune, and the agent reads from it what its comment says.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { evaluateLicense, type LicenseKey } from '../src/license.js';

const EXAMPLES = new URL('../examples/', import.meta.url);
const CRD_FILE = new URL('./schemas/projectcalico.org_licensekeys.yaml', import.meta.url);

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema };

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
  };
}

const crd = yaml.load(readFileSync(CRD_FILE, 'utf8')) as Crd;
const version = crd.spec.versions[0] as Crd['spec']['versions'][number];

/**
 * Fields tigera/api has and the vendored CRD predates: status.maxcores (LicenseKeyStatus.MaxCores,
 * `int`, json "maxcores,omitempty"), described in the team's research but not in a CRD version that
 * could be read. The only addition; everything else is the vendored schema as it is.
 */
const NEWER_FIELDS: Record<string, Record<string, Schema>> = {
  status: { maxcores: { type: 'integer', description: 'Maximum Number of Allowed CPU Cores' } },
};

/**
 * The structural schema as JSON Schema: an object with `properties` takes no other field (the API
 * server prunes unknown fields, so a sample with one shows something a cluster never would).
 */
function structural(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, structural(v)]),
    );
    if (schema['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  if (schema.items) out.items = structural(schema.items);
  return out;
}

function licenseKeySchema(): Schema {
  const schema = structural(version.schema.openAPIV3Schema);
  const properties = schema.properties as Record<string, Schema>;
  for (const [field, added] of Object.entries(NEWER_FIELDS)) {
    const target = properties[field] as Schema;
    for (const name of Object.keys(added))
      expect(target.properties, `${field}.${name} is new`).not.toHaveProperty(name);
    target.properties = { ...target.properties, ...added };
  }
  return schema;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv); // a CommonJS module: its function is also its .default
const validate = ajv.compile(licenseKeySchema());

const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );

const samples = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => [f, yaml.load(readFileSync(new URL(f, EXAMPLES), 'utf8')) as LicenseKey] as const);

describe('agent/examples against the LicenseKey CRD schema', () => {
  it('has the samples this test expects', () => {
    expect(samples.map(([f]) => f).sort()).toEqual([
      'licensekey-cores.yaml',
      'licensekey-invalid.yaml',
      'licensekey-nodes-and-cores.yaml',
      'licensekey-unlimited.yaml',
      'licensekey.yaml',
    ]);
  });

  it.each(samples)('%s is a valid projectcalico.org/v3 LicenseKey', (_file, sample) => {
    expect(sample.apiVersion).toBe(`${crd.spec.group}/${version.name}`);
    expect(sample.kind).toBe(crd.spec.names.kind);
    expect(sample.metadata?.name).toBe('default');
    const valid = validate(sample);
    expect(describeErrors(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('rejects what the API server would reject or prune', () => {
    const good = samples.find(([f]) => f === 'licensekey-nodes-and-cores.yaml')?.[1] as LicenseKey;
    const status = good.status as Record<string, unknown>;
    const condition = (status.conditions as Record<string, unknown>[])[0] as Record<string, unknown>;
    const { lastTransitionTime: _, ...withoutTime } = condition;
    const broken: [string, unknown][] = [
      ['a condition without lastTransitionTime', { ...status, conditions: [withoutTime] }],
      ['maxcores as a string', { ...status, maxcores: '512' }],
      ['a misspelt maxnode', { ...status, maxnode: 100 }],
      ['an unknown package', { ...status, package: 'Gold' }],
      ['an expiry without a time zone', { ...status, expiry: '2027-03-31T23:59:59' }],
    ];
    for (const [what, brokenStatus] of broken) {
      expect(validate({ ...good, status: brokenStatus }), what).toBe(false);
    }
    expect(validate({ ...good, spec: {} }), 'a spec without token').toBe(false);
  });
});

describe('what the agent reads from each sample', () => {
  const read = (file: string) => {
    const sample = samples.find(([f]) => f === file)?.[1] as LicenseKey;
    return evaluateLicense(sample, Date.parse('2026-06-01T00:00:00Z') / 1000, 30 * 86_400);
  };

  it.each([
    ['licensekey.yaml', 'valid', 100, Number.POSITIVE_INFINITY],
    ['licensekey-cores.yaml', 'valid', Number.POSITIVE_INFINITY, 512],
    ['licensekey-nodes-and-cores.yaml', 'valid', 100, 512],
    ['licensekey-unlimited.yaml', 'valid', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    ['licensekey-invalid.yaml', 'invalid', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
  ])('%s: %s, %d nodes, %d cores', (file, state, maxNodes, maxCores) => {
    expect(read(file)).toMatchObject({ state, maxNodes, maxCores });
  });
});

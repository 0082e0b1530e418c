// Offline checks of Kubernetes manifests and Dockerfiles, shared by the deploy tests of each part:
// render a kustomize base with `kubectl kustomize`, validate every object against its schema model
// (kubernetes-models, @kubernetes-models/prometheus-operator), and read a Dockerfile's stages.
// kubectl is required: without it the tests that render fail rather than skip.
import { execFileSync } from 'node:child_process';
import * as yaml from 'js-yaml';
import { expect } from 'vitest';

export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** A schema model class of kubernetes-models, keyed by `apiVersion/kind`. */
export type Models = Record<string, new (data: never) => { validate(): void }>;

export function kustomize(dir: string, extraArgs: string[] = []): K8sObject[] {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', ...extraArgs, dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${KUBECTL} not found: these tests need kubectl (set KUBECTL)`);
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr || e.message}`);
  }
  return yaml.loadAll(out).filter((doc) => doc != null) as K8sObject[];
}

/**
 * The objects of a kustomize base, rendered on first use — in a test rather than a hook, so that a
 * missing kubectl fails every test that needs it instead of leaving them reported as skipped.
 */
export function renderedBase(dir: string): () => K8sObject[] {
  let rendered: K8sObject[] | Error | undefined;
  return () => {
    if (rendered === undefined) {
      try {
        rendered = kustomize(dir);
      } catch (err) {
        rendered = err as Error;
      }
    }
    if (rendered instanceof Error) throw rendered;
    return rendered;
  };
}

/** Schema problems of every object, one line each; an object of a kind without a model is one too. */
export function validateAll(objects: K8sObject[], models: Models): string[] {
  const problems: string[] = [];
  for (const obj of objects) {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const Model = models[key];
    if (!Model) {
      problems.push(`${obj.metadata.name}: no schema model for ${key}`);
      continue;
    }
    try {
      new Model(obj as never).validate();
    } catch (err) {
      problems.push(`${key} ${obj.metadata.name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** "Kind namespace/name" of every object, sorted: what a base renders, at a glance. */
export function inventory(objects: K8sObject[]): string[] {
  return objects.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();
}

/** The one object of this kind and name; throws when there are none or several. */
export function findOne<T>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}

/** Does a matchLabels-style selector select these labels? An empty selector selects everything. */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

export const portKey = (p: { protocol?: string; port?: number | string }) =>
  `${p.protocol ?? 'TCP'}/${p.port}`;

export interface DockerStage {
  image: string;
  instructions: { op: string; args: string }[];
}

/** A Dockerfile's build stages with their instructions; comments dropped, continuation lines joined. */
export function dockerfileStages(text: string): DockerStage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const result: DockerStage[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(trimmed) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const image = args.split(/\s+/).find((word) => !word.startsWith('--')) ?? '';
      result.push({ image, instructions: [] });
    } else {
      result.at(-1)?.instructions.push({ op: upper, args });
    }
  }
  return result;
}

/** The user the last stage runs as: its last USER, or undefined when it sets none. */
export function runtimeUser(stage: DockerStage): string | undefined {
  return stage.instructions
    .filter((i) => i.op === 'USER')
    .at(-1)
    ?.args.split(':')[0];
}

type SecurityContext = {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
};

/** A container that runs non-root, read-only, unprivileged, without capabilities (the pod's settings as fallback). */
export function expectHardened(
  podSc: SecurityContext | undefined,
  containerSc: SecurityContext | undefined,
): void {
  const pod = podSc ?? {};
  const sc = containerSc ?? {};
  // The container's settings win over the pod's.
  expect(sc.runAsNonRoot ?? pod.runAsNonRoot).toBe(true);
  expect(sc.runAsUser ?? pod.runAsUser).toBeGreaterThan(0);
  expect(sc.readOnlyRootFilesystem).toBe(true);
  expect(sc.allowPrivilegeEscalation).toBe(false);
  expect(sc.privileged ?? false).toBe(false);
  expect(sc.capabilities?.drop).toContain('ALL');
  expect(sc.capabilities?.add ?? []).toEqual([]);
  expect((sc.seccompProfile ?? pod.seccompProfile)?.type).toBe('RuntimeDefault');
}

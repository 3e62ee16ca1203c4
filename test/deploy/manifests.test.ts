/**
 * What a team deploys with (deploy/): the Compose file against the Compose specification's JSON schema (dclint, which
 * ships the current schema, with its correctness and security rules), each Kubernetes resource Kustomize lists
 * against the Kubernetes API schemas (kubernetes-models' validators; no npm package renders Kustomize, so each
 * listed file is validated as it is), and the promises the README makes about them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DCLinter } from 'dclint';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { DEPLOYED_HAPROXY_CFG } from '../support/haproxy.js';
import { DEPLOYED_PGBOUNCER_INI } from '../support/pgbouncer.js';

const DEPLOY = path.resolve('deploy');
const COMPOSE = path.join(DEPLOY, 'compose.yaml');
const KUSTOMIZE = path.join(DEPLOY, 'kubernetes');

type Resource = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };
/** The Kubernetes API schema of each kind the manifests use, as kubernetes-models validates it. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 Service': Service,
};

/** Throws what the Kubernetes API schema finds wrong with `resource`. */
function validateResource(resource: Resource): void {
  const model = MODELS[`${resource.apiVersion} ${resource.kind}`];
  if (!model) throw new Error(`no schema here for ${resource.apiVersion} ${resource.kind}`);
  new model(resource as never).validate();
}

const lintCompose = (file: string) =>
  new DCLinter({
    rules: {
      'no-duplicate-container-names': 2,
      'no-duplicate-exported-ports': 2,
      'no-unbound-port-interfaces': 2,
      'no-version-field': 2,
      'require-project-name-field': 2,
      'service-image-require-explicit-tag': 2,
    },
    quiet: true,
    debug: false,
    exclude: [],
  }).lintFiles([file], false);

describe('deploy/compose.yaml', () => {
  const compose = parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true }) as {
    services: Record<string, { volumes?: string[]; environment?: Record<string, string>; healthcheck?: unknown; restart?: string; stop_grace_period?: string }>;
  };

  it('when checked against the Compose specification, then it is valid, with no error from the linter', () => {
    const [result] = lintCompose(COMPOSE);
    expect(result!.messages.filter((message: { type: string }) => message.type === 'error')).toEqual([]);
  });

  it('when a service key is misspelled, then the same check fails (the check can fail)', () => {
    const broken = path.join(fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'notes-compose-')), 'compose.yaml');
    fs.writeFileSync(broken, fs.readFileSync(COMPOSE, 'utf8').replace('restart: unless-stopped', 'restarts: unless-stopped'));
    const [result] = lintCompose(broken);
    expect(result!.messages.map((message: { rule: string }) => message.rule)).toContain('invalid-schema');
    fs.rmSync(path.dirname(broken), { recursive: true });
  });

  it('when it runs three replicas behind HAProxy on PgBouncer, then every config file it mounts is the one the deployment tests start, and every service restarts and is checked', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api-1', 'api-2', 'api-3', 'haproxy', 'pgbouncer', 'postgres', 'redis']);
    const mounted = Object.values(compose.services)
      .flatMap((service) => service.volumes ?? [])
      .filter((volume) => volume.startsWith('./'))
      .map((volume) => path.resolve(DEPLOY, volume.split(':')[0]!))
      .sort();
    expect(mounted).toEqual([DEPLOYED_HAPROXY_CFG, DEPLOYED_PGBOUNCER_INI].sort());
    for (const [name, service] of Object.entries(compose.services)) {
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
      if (name !== 'haproxy' && name !== 'pgbouncer') expect({ name, healthcheck: Boolean(service.healthcheck) }).toEqual({ name, healthcheck: true });
    }
    expect(compose.services['api-1']!.environment!.DATABASE_URL).toMatch(/@pgbouncer:6432\//);
  });

  it('when read for credentials, then every password comes from deploy/.env (interpolated), none is written in the file', () => {
    const text = fs.readFileSync(COMPOSE, 'utf8');
    const assignments = [...text.matchAll(/^\s*([A-Z_]*(PASSWORD|SECRET)[A-Z_]*):\s*(.*)$/gm)];
    expect(assignments.length).toBeGreaterThan(0);
    for (const [, key, , value] of assignments) expect({ key, value }).toEqual({ key, value: expect.stringMatching(/^\$\{[A-Z_]+:\?/) });
    for (const url of text.match(/\w+:\/\/[^\s"']+/g) ?? []) expect(url).not.toMatch(/:\/\/[^/]*:[^$/][^@/]*@/);
  });
});

describe('deploy/kubernetes (Kustomize)', () => {
  const kustomization = parse(fs.readFileSync(path.join(KUSTOMIZE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const resources: Resource[] = kustomization.resources.flatMap((file) =>
    parseAllDocuments(fs.readFileSync(path.join(KUSTOMIZE, file), 'utf8')).map((document) => document.toJS() as Resource),
  );
  const byKind = (kind: string) => resources.find((resource) => resource.kind === kind) as Record<string, never> | undefined;

  it('when kustomization.yaml is read, then it lists every manifest in the folder, and each resource is valid against the Kubernetes API schema', () => {
    const files = fs.readdirSync(KUSTOMIZE).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(resources.map((resource) => resource.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service'].sort(),
    );
    for (const resource of resources) expect(() => validateResource(resource)).not.toThrow();
  });

  it('when a resource breaks the schema, then the same validation fails (the check can fail)', () => {
    const deployment = structuredClone(byKind('Deployment')) as unknown as Resource & { spec: { replicas: unknown } };
    deployment.spec.replicas = 'three';
    expect(() => validateResource(deployment)).toThrow(/replicas/);
  });

  it('when the Deployment is read, then it runs 3 non-root replicas on a read-only root filesystem, probes /readyz and /healthz, and waits longer than drain + grace', () => {
    const deployment = byKind('Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { terminationGracePeriodSeconds: number; securityContext: Record<string, unknown>; containers: Array<Record<string, never>> } } };
    };
    const config = (byKind('ConfigMap') as unknown as { data: Record<string, string> }).data;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]! as unknown as {
      securityContext: Record<string, unknown>;
      resources: { requests: object; limits: object };
      startupProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
      livenessProbe: { httpGet: { path: string } };
    };
    expect(deployment.spec.replicas).toBe(3);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits).toBeDefined();
    expect([container.startupProbe.httpGet.path, container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path]).toEqual(['/readyz', '/readyz', '/healthz']);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(config.SHUTDOWN_DRAIN_SECONDS) + Number(config.SHUTDOWN_GRACE_SECONDS));
  });

  it('when the NetworkPolicy is read, then it restricts both directions: in from the ingress (and metrics), out to PgBouncer, Redis, DNS and HTTPS only', () => {
    const policy = byKind('NetworkPolicy') as unknown as { spec: { policyTypes: string[]; ingress: unknown[]; egress: Array<{ ports: Array<{ port: number }> }> } };
    expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(policy.spec.egress.flatMap((rule) => rule.ports.map((port) => port.port)).sort((a, b) => a - b)).toEqual([53, 53, 443, 6379, 6432]);
  });
});

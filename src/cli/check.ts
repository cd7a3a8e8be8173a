import { API_GROUP, KINDS } from '../api/group.ts';
import { CHECK_USAGE, parseCheckCommand, wantsHelp } from '../config.ts';
import { Kube, loadKubeConfig } from '../kube/client.ts';
import { CRD_VERSION, PERMISSIONS, SUPPORTED_KUBERNETES } from '../operator/permissions.ts';

export interface CheckResult {
  ok: boolean;
  line: string;
}

type Condition = { type: string; status: string; reason?: string; message?: string };
const cond = (c: Condition[] | undefined, type: string) => c?.find((x) => x.type === type);

const minor = (v: string) => {
  const m = /^v?(\d+)\.(\d+)/.exec(v);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : Number.NaN;
};

/** The first Kubernetes with MutatingAdmissionPolicy in admissionregistration.k8s.io/v1 (GA, on by default). */
const FINALIZER_POLICY_SINCE = '1.36';

/** Whether the API server's version is one this build supports. */
async function checkVersion(kube: Kube): Promise<CheckResult> {
  const { version } = await kube.discovery();
  const ok = minor(version) >= minor(SUPPORTED_KUBERNETES.min);
  // manifests/finalizer-policy.yaml is a MutatingAdmissionPolicy (admissionregistration.k8s.io/v1).
  const policy =
    ok && minor(version) < minor(FINALIZER_POLICY_SINCE)
      ? `; install without manifests/finalizer-policy.yaml (MutatingAdmissionPolicy, ${FINALIZER_POLICY_SINCE}+): Shoal then patches each AppGroup's finalizer itself`
      : '';
  return {
    ok,
    line: ok
      ? `Kubernetes ${version} (>= ${SUPPORTED_KUBERNETES.min}; tested with ${SUPPORTED_KUBERNETES.tested})${policy}`
      : `Kubernetes ${version} is older than ${SUPPORTED_KUBERNETES.min}, the oldest Shoal supports`,
  };
}

async function checkCrds(kube: Kube): Promise<CheckResult[]> {
  type Crd = {
    spec: { versions: { name: string; served: boolean; storage: boolean }[] };
    status?: { conditions?: Condition[] };
  };
  return Promise.all(
    Object.values(KINDS).map(async ({ plural }) => {
      const name = `${plural}.${API_GROUP}`;
      const crd = await kube.get<Crd>({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        name,
      });
      if (!crd) return { ok: false, line: `CRD ${name} is not installed` };
      const version = crd.spec.versions.find((v) => v.name === CRD_VERSION);
      if (!version?.served || !version.storage)
        return {
          ok: false,
          line: `CRD ${name} does not serve and store ${CRD_VERSION}, the version this build uses`,
        };
      if (cond(crd.status?.conditions, 'Established')?.status !== 'True')
        return { ok: false, line: `CRD ${name} is not Established` };
      return { ok: true, line: `CRD ${name} (${CRD_VERSION})` };
    }),
  );
}

interface Deployment {
  spec: { template: { spec: { serviceAccountName?: string } } };
  status?: { readyReplicas?: number; replicas?: number; conditions?: Condition[] };
}

async function checkDeployment(
  kube: Kube,
  namespace: string,
): Promise<{ result: CheckResult; account: string }> {
  const d = await kube.get<Deployment>({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace,
    name: 'shoal',
  });
  const account = d?.spec.template.spec.serviceAccountName ?? 'shoal';
  if (!d) return { result: { ok: false, line: `Deployment ${namespace}/shoal not found` }, account };
  const available = cond(d.status?.conditions, 'Available');
  const ready = `${d.status?.readyReplicas ?? 0}/${d.status?.replicas ?? 0} ready`;
  return {
    account,
    result:
      available?.status === 'True'
        ? { ok: true, line: `Deployment ${namespace}/shoal available (${ready})` }
        : {
            ok: false,
            line: `Deployment ${namespace}/shoal is not available (${ready}${available?.message ? `: ${available.message}` : ''})`,
          },
  };
}

/** One SubjectAccessReview per verb and resource the operator needs, as its ServiceAccount. */
async function checkPermissions(kube: Kube, namespace: string, account: string): Promise<CheckResult[]> {
  const user = `system:serviceaccount:${namespace}:${account}`;
  const asks = PERMISSIONS.flatMap((p) =>
    p.resources.flatMap((r) => p.verbs.map((verb) => ({ p, resource: r, verb }))),
  );
  const answers = await Promise.all(
    asks.map(async ({ p, resource, verb }) => {
      const [res, sub] = resource.split('/');
      const review = (await kube.create({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        metadata: {},
        spec: {
          user,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
          resourceAttributes: {
            group: p.group,
            resource: res,
            ...(sub ? { subresource: sub } : {}),
            verb,
            ...(p.scope === 'namespace' ? { namespace } : {}),
          },
        },
      } as never)) as { status?: { allowed?: boolean } };
      return {
        allowed: review.status?.allowed === true,
        what: `${verb} ${p.group ? `${p.group}/` : ''}${resource}`,
        p,
      };
    }),
  );
  const denied = answers.filter((a) => !a.allowed);
  if (denied.length === 0)
    return [{ ok: true, line: `${user} has the ${answers.length} permissions it needs` }];
  return denied.map((a) => ({
    ok: false,
    line: `${user} may not ${a.what}${a.p.scope === 'namespace' ? ` in ${namespace}` : ''} (${a.p.role}: ${a.p.why})`,
  }));
}

async function checkService(kube: Kube, namespace: string): Promise<CheckResult[]> {
  type Service = { spec: { ports: { name?: string }[] } };
  type Slice = { endpoints?: { conditions?: { ready?: boolean } }[]; ports?: { name?: string }[] };
  const svc = await kube.get<Service>({ apiVersion: 'v1', kind: 'Service', namespace, name: 'shoal' });
  if (!svc) return [{ ok: false, line: `Service ${namespace}/shoal not found` }];
  const slices = await kube.list<Slice>('discovery.k8s.io/v1', 'EndpointSlice', {
    namespace,
    labelSelector: 'kubernetes.io/service-name=shoal',
  });
  return svc.spec.ports.map(({ name = '' }) => {
    const ready = slices.items
      .filter((s) => s.ports?.some((p) => (p.name ?? '') === name))
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready !== false).length;
    return ready > 0
      ? { ok: true, line: `Service ${namespace}/shoal port ${name}: ${ready} ready endpoint(s)` }
      : { ok: false, line: `Service ${namespace}/shoal port ${name} has no ready endpoints` };
  });
}

/**
 * `shoal check`: what `flux check` does for Flux. The API server's version; with --pre nothing
 * else. Otherwise the CRDs at the version this build uses, the operator Deployment available, its
 * ServiceAccount allowed every verb it needs (SubjectAccessReview), and the Service's ports with
 * ready endpoints. One line per check (✔ or ✗); exit 1 when any fails.
 */
export async function checkCommand(
  opts: { namespace: string; pre: boolean },
  kube: Kube,
  out: (s: string) => void,
): Promise<number> {
  const results: CheckResult[] = [await checkVersion(kube)];
  if (!opts.pre) {
    results.push(...(await checkCrds(kube)));
    const { result, account } = await checkDeployment(kube, opts.namespace);
    results.push(result);
    results.push(...(await checkPermissions(kube, opts.namespace, account)));
    results.push(...(await checkService(kube, opts.namespace)));
  }
  out(results.map((r) => `${r.ok ? '✔' : '✗'} ${r.line}\n`).join(''));
  return results.every((r) => r.ok) ? 0 : 1;
}

export async function checkMain(args: string[]): Promise<number> {
  if (wantsHelp(args)) {
    process.stdout.write(CHECK_USAGE);
    return 0;
  }
  const cfg = parseCheckCommand(args, process.env);
  return checkCommand(cfg, new Kube(loadKubeConfig(cfg.kube)), (s) => process.stdout.write(s));
}

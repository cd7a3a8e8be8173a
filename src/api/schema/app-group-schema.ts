import {
  arr,
  bool,
  conditions,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  duration,
  int,
  int64,
  localRef,
  obj,
  quantity,
  type Schema,
  str,
} from './builders.ts';

const PATH_RULE =
  "!self.startsWith('/') && self != '..' && !self.startsWith('../') && !self.endsWith('/..') && " +
  "!self.contains('/../') && !self.contains('\\\\')";

const metricTarget = obj(
  'The value to hold the metric at.',
  {
    type: str('Utilization (Resource only), AverageValue (per pod) or Value (Prometheus only).', {
      enum: ['Utilization', 'AverageValue', 'Value'],
    }),
    averageUtilization: int("Target average utilisation in percent of the pods' requests (Resource).", {
      minimum: 1,
    }),
    averageValue: quantity('Target value of the metric averaged over the pods, as a quantity.'),
    value: quantity('Target value of the metric as a whole (Prometheus), as a quantity.'),
  },
  ['type'],
  {
    'x-kubernetes-validations': [
      {
        rule: "self.type != 'Utilization' || has(self.averageUtilization)",
        message: 'Utilization needs averageUtilization',
      },
      {
        rule: "self.type != 'AverageValue' || has(self.averageValue)",
        message: 'AverageValue needs averageValue',
      },
      { rule: "self.type != 'Value' || has(self.value)", message: 'Value needs value' },
    ],
  },
);

const querySource = (description: string) =>
  obj(
    description,
    {
      query: str('PromQL instant query, evaluated through the Prometheus HTTP API (/api/v1/query).', {
        minLength: 1,
        maxLength: 4096,
      }),
      target: metricTarget,
    },
    ['query', 'target'],
  );

const metricSpec = obj(
  'One metric to scale on. With several, the largest proposal wins; a failed metric forbids scaling down.',
  {
    type: str(
      'Resource (cpu or memory of the pods, from metrics.k8s.io), Pods (a Prometheus query returning one ' +
        'sample per pod, by its `pod` label) or Prometheus (a query returning one number, like HPA External).',
      { enum: ['Resource', 'Pods', 'Prometheus'] },
    ),
    resource: obj(
      'A resource metric of the pods, compared against their requests (Utilization) or as an AverageValue.',
      { name: str('cpu or memory.', { enum: ['cpu', 'memory'] }), target: metricTarget },
      ['name', 'target'],
      {
        'x-kubernetes-validations': [
          {
            rule: "self.target.type != 'Value'",
            message: 'a Resource metric takes Utilization or AverageValue',
          },
        ],
      },
    ),
    pods: querySource('A per-pod metric from Prometheus; the target must be an AverageValue.'),
    prometheus: querySource('A single number from Prometheus, with a Value or AverageValue target.'),
  },
  ['type'],
  {
    'x-kubernetes-validations': [
      { rule: "self.type != 'Resource' || has(self.resource)", message: 'type Resource needs resource' },
      { rule: "self.type != 'Pods' || has(self.pods)", message: 'type Pods needs pods' },
      {
        rule: "self.type != 'Prometheus' || has(self.prometheus)",
        message: 'type Prometheus needs prometheus',
      },
    ],
  },
);

const scalingRules = (direction: string, windowDefault: string) =>
  obj(`How to scale ${direction}; the autoscaling/v2 HPAScalingRules shape, with the same defaults.`, {
    stabilizationWindowSeconds: int(
      `Seconds of past recommendations considered when scaling ${direction} (${windowDefault}).`,
      { minimum: 0, maximum: 3600 },
    ),
    selectPolicy: str(
      'Which policy applies when several do: Max (default), Min, or Disabled (never scale this way).',
      {
        enum: ['Max', 'Min', 'Disabled'],
      },
    ),
    policies: arr(
      "Limits on the change within a period; by default the HPA's.",
      obj(
        'One scaling policy.',
        {
          type: str('Pods (an absolute count) or Percent (of the current replicas).', {
            enum: ['Pods', 'Percent'],
          }),
          value: int('The amount of change allowed; greater than zero.', { minimum: 1 }),
          periodSeconds: int('The window the policy holds over, 1 to 1800 seconds.', {
            minimum: 1,
            maximum: 1800,
          }),
        },
        ['type', 'value', 'periodSeconds'],
      ),
      { 'x-kubernetes-list-type': 'atomic' },
    ),
    tolerance: quantity('Relative tolerance before scaling in this direction (0.1 = 10%); default 0.1.'),
  });

export const autoscalingSchema: Schema = obj(
  'Shoal decides the replica count like a HorizontalPodAutoscaler (the same algorithm and defaults), ' +
    'within the group budget, and owns spec.replicas through the shoal-autoscaler field manager.',
  {
    minReplicas: int('Lower bound on replicas; default 1. The workload never goes below it.', {
      minimum: 1,
      default: 1,
    }),
    maxReplicas: int('Upper bound on replicas.', { minimum: 1 }),
    metrics: arr('Metrics to scale on; by default CPU utilisation at 80%.', metricSpec, {
      maxItems: 10,
      'x-kubernetes-list-type': 'atomic',
    }),
    behavior: obj(
      'Scaling behaviour in each direction (autoscaling/v2 behavior); omit for the HPA defaults.',
      {
        scaleUp: scalingRules('up', 'default 0'),
        scaleDown: scalingRules('down', 'default 300'),
      },
    ),
    weight: int(
      'Share of a scarce group budget relative to the other apps of the same priority; default 1.',
      {
        minimum: 1,
        maximum: 1000,
        default: 1,
      },
    ),
    priority: int('Priority tier under a scarce budget: higher tiers are served first; default 0.', {
      minimum: -1000,
      maximum: 1000,
      default: 0,
    }),
  },
  ['maxReplicas'],
  {
    'x-kubernetes-validations': [
      {
        rule: '!has(self.minReplicas) || self.minReplicas <= self.maxReplicas',
        message: 'minReplicas must be <= maxReplicas',
      },
    ],
  },
);

const patchOperation = obj(
  'One RFC 6902 operation.',
  {
    op: str('The operation.', { enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] }),
    path: str('A JSON Pointer into the object.', { maxLength: 1024 }),
    from: str('Source pointer for move and copy.', { maxLength: 1024 }),
    value: {
      description: 'The value for add, replace and test: any JSON.',
      'x-kubernetes-preserve-unknown-fields': true,
    },
  },
  ['op', 'path'],
);

const helmSchema = obj(
  'How a Helm chart is rendered (helm template): for a ChartSource, or a path in a GitSource that holds a ' +
    "Chart.yaml. Values merge in this order, later winning: the chart's values.yaml, valuesFiles, valuesFrom, values.",
  {
    releaseName: str("The release name the templates see (.Release.Name). Default: the AppGroup's name.", {
      maxLength: 53,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    }),
    values: {
      type: 'object',
      description: 'Values given inline, merged last.',
      'x-kubernetes-preserve-unknown-fields': true,
    },
    valuesFiles: arr(
      'Values files, in order: paths inside the chart, or, for a chart in Git, inside the repository. No ..',
      str('A relative path.', {
        maxLength: 1024,
        'x-kubernetes-validations': [
          { rule: PATH_RULE, message: 'must be relative and must not contain ..' },
        ],
      }),
      { maxItems: 32 },
    ),
    valuesFrom: arr(
      'Values from ConfigMaps and Secrets in the same namespace, in order (read as the group applies: its ' +
        'ServiceAccount, or the operator). Secret values appear in no log, event, status or diff.',
      obj(
        'One key holding YAML values.',
        {
          kind: str('ConfigMap or Secret.', { enum: ['ConfigMap', 'Secret'] }),
          name: str('Name of the object.', { minLength: 1, maxLength: 253 }),
          key: str('The key (default values.yaml).', { maxLength: 253, default: 'values.yaml' }),
          optional: bool('A missing object or key is skipped instead of failing the render.', {
            default: false,
          }),
        },
        ['kind', 'name'],
      ),
      { maxItems: 32 },
    ),
    includeCRDs: bool("Render the chart's crds/ (applied first and never pruned).", { default: true }),
    skipTests: bool('Leave out helm.sh/hook: test objects.', { default: true }),
  },
);

export const appGroupSpecSchema: Schema = obj(
  'What to run and how many: a directory of a GitSource, synced to the cluster, with replica policy per app.',
  {
    sourceRef: obj(
      'The source of the manifests, in the same namespace: a GitSource (the default) or a ChartSource.',
      {
        kind: str('GitSource or ChartSource.', { enum: ['GitSource', 'ChartSource'], default: 'GitSource' }),
        name: str('Name of the source in the same namespace.', { minLength: 1, maxLength: 253 }),
      },
      ['name'],
    ),
    helm: helmSchema,
    path: str(
      'Directory inside the repository with the manifests (YAML or JSON, read recursively). Relative, ' +
        'never outside the repository. Default: the repository root.',
      {
        default: '.',
        maxLength: 1024,
        'x-kubernetes-validations': [
          { rule: PATH_RULE, message: 'path must be relative and must not contain ..' },
        ],
      },
    ),
    targetNamespace: str(
      "Namespace for namespaced objects that name none. Default: the AppGroup's namespace.",
      {
        maxLength: 63,
        pattern: DNS_LABEL_PATTERN,
      },
    ),
    interval: duration('Full re-check period; drift on watched objects is corrected sooner.', '5m', '168h'),
    timeout: duration('Bound on one sync (apply and health checks).', '5m', '24h'),
    prune: bool('Delete objects that left Git; only ones this group applied and still labels as its own.', {
      default: false,
    }),
    allowEmpty: bool('With prune: allow a render of zero objects to delete everything this group applied.', {
      default: false,
    }),
    suspend: bool('When true, nothing is synced or autoscaled until it is set back to false.', {
      default: false,
    }),
    adopt: bool(
      "Take over objects that already exist and that no other AppGroup owns: they get this group's owner " +
        'labels and are recorded as adopted in the inventory. Off (default): such objects are refused with ' +
        'OwnershipConflict and nothing is written. One object can opt in with the annotation shoal.dev/adopt: enabled.',
      { default: false },
    ),
    serviceAccountName: str(
      "Apply with this ServiceAccount of the AppGroup's namespace (impersonation). Default: the operator's " +
        'configured default.',
      { maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN },
    ),
    dependsOn: arr(
      'AppGroups in this namespace that must be Ready before this one syncs.',
      localRef('An AppGroup.'),
      {
        maxItems: 64,
      },
    ),
    patches: arr(
      'RFC 6902 JSON Patches applied to the rendered objects before they are applied.',
      obj(
        'A patch and the objects it applies to.',
        {
          target: obj(
            'Selects rendered objects; every field given must match, and at least one object must.',
            {
              group: str('API group ("" for the core group).'),
              version: str('API version.'),
              kind: str('Kind.'),
              name: str('Object name.'),
              namespace: str('Object namespace.'),
            },
          ),
          patch: arr('The operations, applied in order.', patchOperation, { minItems: 1, maxItems: 1000 }),
        },
        ['target', 'patch'],
      ),
      { maxItems: 1000 },
    ),
    apps: arr(
      'Replica and autoscaling policy per workload of the group. A workload listed here owns its replica count: ' +
        'the sync never sends spec.replicas for it.',
      obj(
        'Replica policy for one Deployment or StatefulSet of the rendered set.',
        {
          name: str('Name of a Deployment or StatefulSet in the rendered set.', {
            minLength: 1,
            maxLength: 253,
            pattern: DNS_SUBDOMAIN_PATTERN,
          }),
          replicas: int('A fixed replica count owned by Shoal, whatever the manifest says.', { minimum: 0 }),
          autoscaling: autoscalingSchema,
        },
        ['name'],
        {
          'x-kubernetes-validations': [
            {
              rule: '!(has(self.replicas) && has(self.autoscaling))',
              message: 'set replicas or autoscaling, not both',
            },
          ],
        },
      ),
      { maxItems: 256, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
    budget: obj("Optional cap on the summed requests of the group's autoscaled replicas.", {
      cpu: quantity('CPU requests the autoscaled apps may hold together.'),
      memory: quantity('Memory requests the autoscaled apps may hold together.'),
    }),
    metrics: obj('Where metrics come from.', {
      prometheus: obj(
        'A Prometheus server for Pods and Prometheus metrics.',
        {
          address: str(
            'Base URL of the Prometheus HTTP API, such as http://prometheus.monitoring.svc:9090.',
            {
              pattern: '^https?://',
            },
          ),
        },
        ['address'],
      ),
    }),
  },
  ['sourceRef'],
);

const quantityMap = (description: string) =>
  obj(description, { cpu: quantity('CPU.'), memory: quantity('Memory.') });

export const appGroupStatusSchema: Schema = obj('The observed state of the AppGroup.', {
  observedGeneration: int64('The last .metadata.generation that was reconciled.'),
  conditions: conditions(),
  sync: obj('Whether the cluster matches the source.', {
    status: str('Synced, OutOfSync or Unknown.', { enum: ['Synced', 'OutOfSync', 'Unknown'] }),
    revision: str('The revision compared against.'),
  }),
  health: obj('Aggregated health of the applied objects.', {
    status: str('Healthy, Progressing, Degraded, Missing or Unknown.', {
      enum: ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Unknown'],
    }),
    message: str('Why, when not Healthy.'),
  }),
  lastAppliedRevision: str('The last revision applied successfully.'),
  lastAttemptedRevision: str('The last revision a sync was attempted for.'),
  lastHandledReconcileAt: str('The last value of the shoal.dev/requested-at annotation that was handled.'),
  appliedDigest: str(
    "A digest of the last finished apply: each object's desired hash and a digest of what it left live (all but status and server-kept metadata), and the ServiceAccount. While it matches, a new Shoal process (a restart, another shard owner) skips the group's dry runs and applies.",
  ),
  inventory: arr(
    'The objects this group applied, as <namespace>_<name>_<group>_<kind> ids with their API version.',
    obj(
      'One applied object.',
      {
        id: str('Object id.'),
        v: str('API version.'),
        adopted: bool('The object existed before this group and was adopted.'),
        stale: bool('The object left Git while prune was off; it is kept in the cluster until a prune.'),
      },
      ['id', 'v'],
    ),
  ),
  apps: arr(
    'Replica decisions per app.',
    obj(
      'The state of one app.',
      {
        name: str('App name.'),
        replicas: obj('Replica counts.', {
          current: int('Replicas now.'),
          desired: int('Replicas decided.'),
          min: int('Lower bound.'),
          max: int('Upper bound.'),
        }),
        lastScaleTime: str('When the replicas were last changed.', { format: 'date-time' }),
        reason: str('Why the count is what it is.'),
        conditions: conditions(),
        metrics: arr(
          'Current and target per metric.',
          obj('One metric.', {
            type: str('Metric type.'),
            name: str('Metric name or query.'),
            current: str('Current value.'),
            target: str('Target value.'),
          }),
        ),
      },
      ['name', 'replicas'],
    ),
  ),
  budget: obj('Budget requested by the apps versus allocated to them.', {
    requested: quantityMap('Requested.'),
    allocated: quantityMap('Allocated.'),
    limited: arr('Apps held below their recommendation by the budget.', str('App name.')),
    overcommitted: bool("True when the apps' minimums alone exceed the budget."),
  }),
  hooks: obj('The Helm hooks of the release being applied (a revision of the source at a generation).', {
    release: str('<revision>|<generation>.'),
    action: str("install (the group's first release) or upgrade.", { enum: ['install', 'upgrade'] }),
    pre: str('Pre-install or pre-upgrade hooks: Succeeded or Failed.', { enum: ['Succeeded', 'Failed'] }),
    post: str('Post-install or post-upgrade hooks: Succeeded or Failed.', { enum: ['Succeeded', 'Failed'] }),
  }),
  history: arr(
    'The last five sync runs.',
    obj(
      'One sync run.',
      {
        revision: str('Revision synced.'),
        startedAt: str('Start.', { format: 'date-time' }),
        finishedAt: str('End.', { format: 'date-time' }),
        result: str('Succeeded or Failed.', { enum: ['Succeeded', 'Failed'] }),
        created: int('Objects created.'),
        configured: int('Objects changed.'),
        deleted: int('Objects deleted.'),
        message: str('Failure message.'),
      },
      ['revision', 'startedAt', 'finishedAt', 'result', 'created', 'configured', 'deleted'],
    ),
    { maxItems: 5 },
  ),
});

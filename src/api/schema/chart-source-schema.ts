import { bool, conditions, duration, int64, localRef, obj, type Schema, str } from './builders.ts';

export const chartSourceSpecSchema: Schema = obj(
  'Where a Helm chart comes from: an HTTP chart repository or an OCI registry, a chart and a version.',
  {
    url: str(
      'An HTTPS chart repository (its index.yaml is read), such as https://stefanprodan.github.io/podinfo, or ' +
        'an OCI registry path, such as oci://ghcr.io/stefanprodan/charts. http:// and plain-HTTP OCI are ' +
        'refused at run time unless the operator runs with --allow-insecure-http.',
      {
        minLength: 1,
        maxLength: 2048,
        pattern: '^(https?|oci)://[^\\s]+$',
        'x-kubernetes-validations': [
          {
            rule: "!self.matches('^[a-z]+://[^/]*@')",
            message: 'credentials must not be part of the URL; put them in the secret named by secretRef',
          },
        ],
      },
    ),
    chart: str('The chart name in the repository (or the last path segment in the registry).', {
      minLength: 1,
      maxLength: 253,
      pattern: '^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$',
    }),
    version: str(
      'An exact version (1.4.2) or a semver range (">=6.0.0 <7"); the newest version that matches is tracked. ' +
        'Default: the newest version.',
      { maxLength: 255, default: '*', pattern: '^[^\\s-][^\\n]*$' },
    ),
    interval: duration('How often the repository is asked for a newer matching version.', '10m', '168h'),
    timeout: duration('Bound on every request to the repository or registry.', '60s', '1h'),
    secretRef: localRef(
      'A Secret in the same namespace with credentials: username and password (basic auth), or bearerToken; ' +
        'ca.crt for a custom certificate authority.',
    ),
    suspend: bool('When true, the repository is not asked; the last artifact stays available.', {
      default: false,
    }),
  },
  ['url', 'chart'],
);

export const chartSourceStatusSchema: Schema = obj('The observed state of the ChartSource.', {
  observedGeneration: int64('The last .metadata.generation that was reconciled.'),
  conditions: conditions(),
  artifact: obj(
    'The chart version last fetched, checked and unpacked.',
    {
      revision: str('<chart>@<version>, for example podinfo@6.14.1.'),
      digest: str('sha256 digest of the chart archive.'),
      url: str('Where the archive was downloaded from (without credentials).'),
      fetchedAt: str('When it was fetched.', { format: 'date-time' }),
    },
    ['revision'],
  ),
  lastHandledReconcileAt: str('The last value of the shoal.dev/requested-at annotation that was handled.'),
});

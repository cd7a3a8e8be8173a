import { API_GROUP, API_VERSION, KINDS } from '../group.ts';
import { appGroupSpecSchema, appGroupStatusSchema } from './app-group-schema.ts';
import { obj, type Schema } from './builders.ts';
import { chartSourceSpecSchema, chartSourceStatusSchema } from './chart-source-schema.ts';
import { gitSourceSpecSchema, gitSourceStatusSchema } from './git-source-schema.ts';

interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer';
  jsonPath: string;
  priority?: number;
  description?: string;
}

const READY = '.status.conditions[?(@.type=="Ready")]';

function crd(
  names: (typeof KINDS)[keyof typeof KINDS],
  description: string,
  spec: Schema,
  status: Schema,
  columns: PrinterColumn[],
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: names.kind,
        listKind: `${names.kind}List`,
        plural: names.plural,
        singular: names.singular,
        shortNames: [...names.shortNames],
        categories: ['shoal'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: obj(
              description,
              {
                apiVersion: { type: 'string', description: 'APIVersion of this object: shoal.dev/v1alpha1.' },
                kind: { type: 'string', description: `Kind of this object: ${names.kind}.` },
                metadata: { type: 'object' },
                spec,
                status,
              },
              ['spec'],
            ),
          },
        },
      ],
    },
  };
}

/** The CustomResourceDefinitions of Shoal, built from the schemas in this folder (the one source). */
export function shoalCrds() {
  return [
    crd(
      KINDS.GitSource,
      'A Git repository Shoal follows, and the revision it last fetched.',
      gitSourceSpecSchema,
      gitSourceStatusSchema,
      [
        { name: 'URL', type: 'string', jsonPath: '.spec.url' },
        { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
        { name: 'Status', type: 'string', jsonPath: `${READY}.message` },
        { name: 'Revision', type: 'string', jsonPath: '.status.artifact.revision' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    ),
    crd(
      KINDS.ChartSource,
      'A Helm chart Shoal follows in a chart repository or an OCI registry, and the version it last fetched.',
      chartSourceSpecSchema,
      chartSourceStatusSchema,
      [
        { name: 'URL', type: 'string', jsonPath: '.spec.url' },
        { name: 'Chart', type: 'string', jsonPath: '.spec.chart' },
        { name: 'Version', type: 'string', jsonPath: '.spec.version', priority: 1 },
        { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
        { name: 'Status', type: 'string', jsonPath: `${READY}.message` },
        { name: 'Revision', type: 'string', jsonPath: '.status.artifact.revision' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    ),
    crd(
      KINDS.AppGroup,
      'A group of applications synced from a GitSource, with replica and autoscaling policy.',
      appGroupSpecSchema,
      appGroupStatusSchema,
      [
        { name: 'Ready', type: 'string', jsonPath: `${READY}.status` },
        { name: 'Status', type: 'string', jsonPath: `${READY}.message` },
        { name: 'Revision', type: 'string', jsonPath: '.status.lastAppliedRevision' },
        { name: 'Sync', type: 'string', jsonPath: '.status.sync.status', priority: 1 },
        { name: 'Health', type: 'string', jsonPath: '.status.health.status', priority: 1 },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
      ],
    ),
  ];
}

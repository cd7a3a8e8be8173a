/**
 * Small builders for the OpenAPI v3 (structural) schemas of Shoal's CRDs. They return plain objects,
 * so the CRD YAML is a serialisation of what these functions build.
 */

export interface Validation {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: (string | number)[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: Schema[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Validation[];
}

type Extra = Omit<Schema, 'type' | 'description'>;

export const str = (description: string, extra: Extra = {}): Schema => ({
  type: 'string',
  description,
  ...extra,
});
export const int = (description: string, extra: Extra = {}): Schema => ({
  type: 'integer',
  format: 'int32',
  description,
  ...extra,
});
export const int64 = (description: string, extra: Extra = {}): Schema => ({
  type: 'integer',
  format: 'int64',
  description,
  ...extra,
});
export const bool = (description: string, extra: Extra = {}): Schema => ({
  type: 'boolean',
  description,
  ...extra,
});
export const arr = (description: string, items: Schema, extra: Extra = {}): Schema => ({
  type: 'array',
  description,
  items,
  ...extra,
});
export const obj = (
  description: string,
  properties: Record<string, Schema>,
  required: string[] = [],
  extra: Extra = {},
): Schema => ({
  type: 'object',
  description,
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...extra,
});
export const map = (description: string, values: Schema): Schema => ({
  type: 'object',
  description,
  additionalProperties: values,
});

/** A Kubernetes resource quantity ("500m", "2Gi", 3), as `resource.Quantity` is published. */
export const quantity = (description: string): Schema => ({
  description,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern:
    '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
});

/** Go duration strings as Flux accepts them ("30s", "1m30s", "1.5h"); CEL then requires > 0. */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
/**
 * A duration field, greater than zero and at most `max` (Node's timers overflow past 24.8 days, so a
 * bound in the schema keeps nonsense out before the clock has to clamp it).
 */
export const duration = (description: string, defaultValue: string, max: string): Schema =>
  str(`${description} A Go duration such as 30s, 5m or 1h30m; greater than zero and at most ${max}.`, {
    default: defaultValue,
    pattern: DURATION_PATTERN,
    maxLength: 32,
    'x-kubernetes-validations': [
      { rule: "duration(self) > duration('0s')", message: 'must be greater than zero' },
      { rule: `duration(self) <= duration('${max}')`, message: `must be at most ${max}` },
    ],
  });

export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

export const localRef = (description: string): Schema =>
  obj(
    description,
    { name: str('Name of the object in the same namespace.', { minLength: 1, maxLength: 253 }) },
    ['name'],
  );

/** metav1.Condition, as `kubectl wait --for=condition=...` and kstatus read it. */
export const conditions = (): Schema =>
  arr(
    'Latest observations of the object: Ready, Reconciling and Stalled (kstatus), plus kind-specific types.',
    obj(
      'A metav1.Condition.',
      {
        type: str('Type of the condition, in CamelCase.', { maxLength: 316 }),
        status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
        observedGeneration: int64('The .metadata.generation the condition was set from.', { minimum: 0 }),
        lastTransitionTime: str('When the condition last changed status, reason or message.', {
          format: 'date-time',
        }),
        reason: str('A CamelCase reason from a fixed vocabulary.', { maxLength: 1024, minLength: 1 }),
        message: str('A human-readable, secret-free explanation.', { maxLength: 32768 }),
      },
      ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    ),
    { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  );

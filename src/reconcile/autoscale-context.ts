import type { AppGroup, AppSpec, AppStatus } from '../api/app-group.ts';
import type { KubernetesObject } from '../api/object.ts';
import { parseKey } from '../api/object-key.ts';
import type { DecisionResult, Workload } from '../autoscale/app-status.ts';
import type { Allocation } from '../autoscale/budget.ts';
import type { PodJson } from '../autoscale/readings.ts';
import type {
  AppDecision,
  AppObservation,
  AppState,
  EngineOptions,
  ResolvedPolicy,
  ResourceAmounts,
} from '../autoscale/types.ts';
import type { Kube } from '../kube/client.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { PrometheusClient } from '../metrics/prometheus.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Log } from '../runtime/logger.ts';
import type { StepObserver } from './run-steps.ts';

export interface AutoscalerMetrics {
  desired(labels: { namespace: string; group: string; app: string }, replicas: number): void;
  decision(result: DecisionResult): void;
  forget(labels: { namespace: string; group: string; app: string }): void;
}

export interface AutoscaleDeps {
  kube: Kube;
  clock: Clock;
  events: EventRecorder;
  log: Log;
  options: EngineOptions;
  syncPeriodMs: number;
  /** The engine's memory (recommendations, scale events) per group and app, as the HPA keeps it. */
  memory: AutoscaleMemory;
  /** The AppGroup as cached (undefined: gone). */
  group(namespace: string, name: string): Promise<AppGroup | undefined>;
  /** Tells the reads about the status write's new version. */
  wrote?(group: AppGroup, resourceVersion: string | undefined): void;
  /** Objects the drift watches hold (the workloads, with their pod templates); undefined: not watched. */
  cached?(apiVersion: string, kind: string, namespace: string): readonly KubernetesObject[] | undefined;
  prometheus: PrometheusClient;
  defaultPrometheusAddress?: string;
  /** Why the tenancy policy forbids `group` to touch a workload (undefined: it may). */
  forbidden?: (
    group: AppGroup,
    workload: { apiVersion: string; kind: string; name: string; namespace: string },
  ) => string | undefined;
  metrics?: AutoscalerMetrics;
  /** Told of every step (its name and duration, for the log and a histogram). */
  observeStep?: StepObserver;
}

/** One app as observed: its workload's scale, pods and readings (autoscaled apps), or its fixed count. */
export interface Observed {
  app: AppSpec;
  workload: Workload;
  current: number;
  /** Fixed apps: the count to hold. */
  fixed?: number;
  /** Autoscaled apps: the resolved policy and what the engine decides from. */
  policy?: ResolvedPolicy;
  observation?: AppObservation;
  pods?: readonly PodJson[];
}

/** An observed app with its decision (autoscaled apps) and its requests per replica (under a budget). */
export interface Planned extends Observed {
  decision?: AppDecision;
  perReplica?: ResourceAmounts;
}

/** One autoscale reconcile of one AppGroup: what its steps found so far. */
export interface AutoscaleContext {
  deps: AutoscaleDeps;
  key: string;
  group: AppGroup;
  /** The apps whose replicas Shoal owns. */
  owned: AppSpec[];
  now: Date;
  states: Map<string, AppState>;
  observed: Observed[];
  planned: Planned[];
  allocation?: Allocation;
  /** status.apps entries decided so far, by app. */
  statuses: Map<string, AppStatus>;
}

/**
 * The engine's state per group (`namespace/name`) and app: in memory, like the HPA's; a restarted
 * operator starts from the current counts.
 */
export class AutoscaleMemory {
  readonly #groups = new Map<string, Map<string, AppState>>();
  readonly #metrics: AutoscalerMetrics | undefined;

  constructor(metrics?: AutoscalerMetrics) {
    this.#metrics = metrics;
  }

  /** The apps' states of a group, made when missing. */
  of(key: string): Map<string, AppState> {
    let states = this.#groups.get(key);
    if (!states) {
      states = new Map();
      this.#groups.set(key, states);
    }
    return states;
  }

  /** Forgets one app of a group (it is no longer autoscaled), or the whole group. */
  forget(key: string, app?: string): void {
    const { namespace, name: group } = parseKey(key);
    const states = this.#groups.get(key);
    for (const a of app === undefined ? [...(states?.keys() ?? [])] : [app]) {
      states?.delete(a);
      this.#metrics?.forget({ namespace, group, app: a });
    }
    if (app === undefined) this.#groups.delete(key);
  }
}

/**
 * The vocabulary of the autoscaling decision engine: what it observes, what it keeps between
 * decisions, and what it decides. Pure types and defaults.
 */
import type { MetricSpec } from '../api/app-group.ts';
import type { AutoscalerState, Behavior } from './normalize.ts';
import { DEFAULT_TOLERANCE, type PodPhase, type Tolerance } from './replica-calculator.ts';

/** The controller-manager flags that shape every decision, with their defaults. */
export interface EngineOptions {
  tolerance: Tolerance;
  cpuInitializationPeriodMs: number;
  initialReadinessDelayMs: number;
  downscaleStabilizationMs: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  tolerance: DEFAULT_TOLERANCE,
  cpuInitializationPeriodMs: 300_000,
  initialReadinessDelayMs: 30_000,
  downscaleStabilizationMs: 300_000,
};

/** Amounts of the resources an autoscaler and a budget count, in milli-units. */
export type ResourceAmounts = { cpu?: number; memory?: number };
export const RESOURCES = ['cpu', 'memory'] as const;

/** One pod of the target as observed: its state, its requests and its usage (milli-units, pod totals). */
export interface PodObservation {
  name: string;
  phase: PodPhase;
  deleting?: boolean;
  ready?: { status: boolean; lastTransitionTime: Date };
  startTime?: Date;
  requests?: ResourceAmounts;
  usage?: ResourceAmounts;
  usageTimestamp?: Date;
  usageWindowMs?: number;
}

/** A Prometheus or Pods metric as read: one number, one number per pod, or a failure. Milli-units. */
export type MetricReading = { value: number } | { perPod: ReadonlyMap<string, number> } | { error: string };

export interface AppObservation {
  now: Date;
  /** The scale subresource's spec.replicas. */
  currentReplicas: number;
  /** The scale subresource's status.replicas (per-pod Prometheus targets divide by it). */
  statusReplicas: number;
  pods: readonly PodObservation[];
  /** Per metric of the policy, in order; Resource metrics read the pods and may carry a fetch error. */
  readings: readonly (MetricReading | undefined)[];
}

export interface HpaCondition {
  type: 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: Date;
}

export interface AppState extends AutoscalerState {
  /** The first decision has recorded its initial recommendation (HPA's recordInitialRecommendation). */
  initialized: boolean;
  conditions: HpaCondition[];
  lastScaleTime?: Date;
}

export const initialState = (): AppState => ({
  recommendations: [],
  scaleUpEvents: [],
  scaleDownEvents: [],
  initialized: false,
  conditions: [],
});

export interface EngineEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface MetricResult {
  type: MetricSpec['type'];
  name: string;
  target: { type: string; averageUtilization?: number; averageValue?: string; value?: string };
  current?: { averageUtilization?: number; averageValue?: string; value?: string };
  /** The replicas this metric alone proposes. */
  replicas?: number;
  error?: string;
}

export interface AppDecision {
  /** ScalingLimited as it was before this decision (a budget limit keeps its transition time). */
  previousLimited?: HpaCondition;
  currentReplicas: number;
  /** The count the app wants after normalisation (before any group budget). */
  desiredReplicas: number;
  /** The lowest count the app's own rules let a budget hold it to (min, scale-down limits). */
  floorReplicas: number;
  /** Why it would rescale ("cpu resource utilization (percentage of request) above target"...). */
  reason: string;
  /** False when the decision is to leave the count alone whatever it is (paused, metrics failed). */
  active: boolean;
  metrics: MetricResult[];
  events: EngineEvent[];
  state: AppState;
}

/** A policy with the defaults filled in and its targets parsed. */
export interface ResolvedPolicy {
  minReplicas: number;
  maxReplicas: number;
  metrics: MetricSpec[];
  /** Undefined: HPA's legacy path. */
  behavior: Behavior | undefined;
  tolerance: Tolerance;
}

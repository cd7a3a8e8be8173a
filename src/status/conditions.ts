import type { ConditionType, Reason } from '../api/conditions.ts';
import type { Condition } from '../api/meta.ts';

/** Messages go to status, events and logs: bounded, and stripped of URL userinfo. */
export const MAX_MESSAGE_LENGTH = 1024;

/** Removes `user:password@` from URLs and bounds the length. Does not fetch or log anything. */
export function sanitizeMessage(message: string): string {
  const clean = message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
  return clean.length > MAX_MESSAGE_LENGTH ? `${clean.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : clean;
}

export interface ConditionInput {
  type: ConditionType;
  status: Condition['status'];
  reason: Reason;
  message: string;
}

/**
 * Returns `conditions` with `input` set. `lastTransitionTime` changes only when status, reason or
 * message change (fluxcd/pkg runtime/conditions); `observedGeneration` is always the given one.
 * Pure: does not mutate its arguments.
 */
export function setCondition(
  conditions: readonly Condition[],
  input: ConditionInput,
  generation: number,
  now: Date,
): Condition[] {
  const message = sanitizeMessage(input.message);
  const existing = conditions.find((c) => c.type === input.type);
  const unchanged =
    existing !== undefined &&
    existing.status === input.status &&
    existing.reason === input.reason &&
    existing.message === message;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message,
    lastTransitionTime: unchanged ? existing.lastTransitionTime : now.toISOString(),
    observedGeneration: generation,
  };
  return [...conditions.filter((c) => c.type !== input.type), next].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
}

/** Returns `conditions` without the given type. Pure. */
export function removeCondition(conditions: readonly Condition[], type: ConditionType): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType) {
  return conditions?.find((c) => c.type === type);
}

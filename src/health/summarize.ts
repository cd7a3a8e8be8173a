import type { AppGroupStatus } from '../api/app-group.ts';
import type { HealthResult } from './rules.ts';

export type GroupHealth = NonNullable<AppGroupStatus['health']>;

/**
 * The group's health from its objects' health: Degraded when any failed or the rollout took longer
 * than `timeoutMs` since it started; Progressing while any is in progress; Healthy when all are
 * current; Missing when nothing was applied. Pure.
 */
export function groupHealth(
  objects: readonly { name: string; health: HealthResult }[],
  progressingForMs: number,
  timeoutMs: number,
): GroupHealth {
  if (objects.length === 0) return { status: 'Missing', message: 'no objects' };
  const failed = objects.filter((o) => o.health.status === 'Failed');
  if (failed.length > 0)
    return { status: 'Degraded', message: failed.map((o) => `${o.name}: ${o.health.message}`).join('; ') };
  const waiting = objects.filter((o) => o.health.status !== 'Current');
  if (waiting.length === 0) return { status: 'Healthy', message: `${objects.length} objects current` };
  const detail = waiting.map((o) => `${o.name}: ${o.health.message}`).join('; ');
  if (progressingForMs >= timeoutMs) {
    return { status: 'Degraded', message: `not healthy after ${Math.round(timeoutMs / 1000)}s: ${detail}` };
  }
  return { status: 'Progressing', message: detail };
}

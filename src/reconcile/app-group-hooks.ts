import type { HooksStatus } from '../api/app-group.ts';
import { runHookPhase } from '../apply/hooks.ts';
import type { HookPhase } from '../render/hooks.ts';
import { type AppGroupContext as Context, ownerOf } from './app-group-context.ts';
import type { Step } from './run-steps.ts';

/** A release: one revision of the source at one generation of the group (hooks run once per release). */
const releaseOf = (ctx: Context) => `${ctx.revision ?? ''}|${ctx.group.metadata.generation ?? 0}`;

/** The hooks status this run starts from: the recorded one if it is this release's. */
function current(ctx: Context): HooksStatus {
  const release = releaseOf(ctx);
  const recorded = ctx.hookStatus ?? ctx.group.status?.hooks;
  if (recorded?.release === release) return recorded;
  // Install the first time the group applies anything, upgrade after.
  return { release, action: ctx.group.status?.lastAppliedRevision ? 'upgrade' : 'install' };
}

async function run(ctx: Context, phases: HookPhase[], which: 'pre' | 'post'): Promise<void> {
  const status = current(ctx);
  if (status[which] === 'Succeeded') return;
  const opts = { clock: ctx.deps.clock, timeoutMs: ctx.timeoutMs, owner: ownerOf(ctx.group) };
  try {
    for (const phase of phases) await runHookPhase(ctx.applier, ctx.hooks, phase, opts);
    ctx.hookStatus = { ...status, [which]: 'Succeeded' };
  } catch (err) {
    ctx.hookStatus = { ...status, [which]: 'Failed' };
    throw err;
  }
}

/**
 * Helm's pre-install (first apply) or pre-upgrade hooks, before anything of the release is applied,
 * once per release: a failed one stops the sync (HookFailed), so nothing of the main set is written.
 */
export const preHooks: Step<Context> = {
  name: 'preHooks',
  async run(ctx) {
    if (ctx.hooks.length === 0) return undefined;
    await run(ctx, [current(ctx).action === 'install' ? 'pre-install' : 'pre-upgrade'], 'pre');
    return undefined;
  },
};

/**
 * Helm's post-install or post-upgrade hooks (then test hooks, when spec.helm.skipTests is off), once
 * the release's objects are Healthy, once per release; until then the group is looked at again
 * (assessHealth asks for it while Progressing).
 */
export const postHooks: Step<Context> = {
  name: 'postHooks',
  async run(ctx) {
    if (ctx.hooks.length === 0 || ctx.health?.status !== 'Healthy') return undefined;
    await run(ctx, [current(ctx).action === 'install' ? 'post-install' : 'post-upgrade', 'test'], 'post');
    return undefined;
  },
};

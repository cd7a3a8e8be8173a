import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fastLeaderElection } from './operator.ts';
import { waitFor } from './wait.ts';

const BIN = join(resolve(import.meta.dirname, '..', '..'), 'bin', 'shoal.js');

/** Runs the `shoal` command (bin/shoal.js) as its own process against `kubeconfig`. */
export function shoalCli(kubeconfig: string, ...args: string[]) {
  return shoalCliWithInput(kubeconfig, undefined, ...args);
}

/** `shoalCli` with `input` on its stdin. */
export function shoalCliWithInput(
  kubeconfig: string,
  input: string | undefined,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/**
 * `shoal run` as its own long-running process (to SIGTERM or SIGKILL it); output is collected.
 * `bin`: another entry point, e.g. the bundle the image ships (scripts/build-operator.ts).
 */
export function shoalProcess(
  kubeconfig: string,
  args: string[],
  env: Record<string, string> = {},
  bin = BIN,
) {
  return shoalCommandProcess(kubeconfig, ['run', ...args], env, bin);
}

/**
 * `shoal run` for one test namespace as its own process: only that namespace's groups, leader
 * election with the tests' short durations, no webhook receiver, its cache in `cacheDir`.
 */
export function namespaceShoalProcess(kubeconfig: string, namespace: string, cacheDir: string) {
  return shoalProcess(
    kubeconfig,
    [
      `--watch-namespace=${namespace}`,
      '--allow-file-urls',
      '--metrics-addr=127.0.0.1:0',
      '--webhook-addr=',
      ...fastLeaderElection(namespace),
    ],
    { SHOAL_CACHE_DIR: cacheDir },
  );
}

/** Any long-running `shoal` command (`dashboard`, `run`) as its own process; output is collected. */
export function shoalCommandProcess(
  kubeconfig: string,
  args: string[],
  env: Record<string, string> = {},
  bin = BIN,
) {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (b: Buffer) => {
    output += b.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    exit,
    output: () => output,
    /**
     * The `http://host:port` of the server whose log line says `msg` (`serving health and metrics`,
     * `serving push webhooks`): the port it bound, so a test can pass `:0` and never race another
     * process for a port it picked. Fails at once if the process exits first.
     */
    async listening(msg: string): Promise<string> {
      const addr = await waitFor(`"${msg}" in the log of shoal ${args[0]}`, () => {
        const line = output.split('\n').find((l) => l.includes(`"msg":"${msg}"`));
        if (line) return (JSON.parse(line) as { addr?: string }).addr ?? '';
        return child.exitCode !== null || child.signalCode !== null ? '' : undefined;
      });
      if (!addr) throw new Error(`shoal ${args[0]} exited before "${msg}":\n${output.slice(-2000)}`);
      return `http://${addr}`;
    },
    /** Kills it (SIGKILL) unless it already exited. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exit;
    },
  };
}

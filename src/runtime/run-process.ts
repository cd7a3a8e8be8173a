import { spawn } from 'node:child_process';
import type { Clock } from './clock.ts';

export interface RunProcessOptions {
  cwd?: string;
  /** The child's whole environment (nothing of the operator's leaks in unless passed here). */
  env: Record<string, string>;
  clock: Clock;
  timeoutMs: number;
  /** stdout past this is cut off: the process group is killed and the run reported as overflowed. */
  maxOutputBytes: number;
  stdin?: string;
}

export interface ProcessResult {
  /** The exit code; undefined when killed. */
  code: number | undefined;
  stdout: string;
  /** The last 64 KiB of stderr. */
  stderr: string;
  timedOut: boolean;
  overflowed: boolean;
  /** The binary could not be started (ENOENT...). */
  notFound: boolean;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Runs a program in a process group of its own, without a shell, and on the deadline (or when its
 * output passes the cap) kills the whole group, so helpers it started die with it. Never rejects:
 * the result says what happened.
 */
export function runProcess(
  binary: string,
  args: readonly string[],
  opts: RunProcessOptions,
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let timedOut = false;
    let overflowed = false;
    let notFound = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const cancel = opts.clock.after(opts.timeoutMs, () => {
      timedOut = true;
      killGroup();
    });
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length;
      if (outBytes > opts.maxOutputBytes) {
        if (!overflowed) {
          overflowed = true;
          killGroup();
        }
        return;
      }
      out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-STDERR_KEEP);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') notFound = true;
    });
    child.on('close', (code) => {
      cancel();
      resolve({
        code: code ?? undefined,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: err,
        timedOut,
        overflowed,
        notFound,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}

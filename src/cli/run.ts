import { parseRunConfig, RUN_USAGE } from '../config.ts';
import { jsonLogger } from '../runtime/logger.ts';

/**
 * `shoal run`: the operator, until SIGTERM or SIGINT (exit 0 once the Lease is released) or a lost
 * Lease (exit 1). A start-up that fails exits 1 as well, instead of leaving a process that serves
 * probes but reconciles nothing.
 */
export async function runCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(RUN_USAGE);
    return 0;
  }
  const config = parseRunConfig(argv, process.env);
  const { runOperator } = await import('../operator/operator.ts');
  const log = jsonLogger(
    config.logLevel,
    (s) => process.stderr.write(s),
    () => new Date(),
  );
  process.on('unhandledRejection', (reason) => {
    log({
      level: 'error',
      msg: 'unhandled rejection',
      error: reason instanceof Error ? reason.message : String(reason),
    });
  });
  const operator = await runOperator(config, log, { onLostLease: () => process.exit(1) }).catch(
    (err: unknown) => {
      log({
        level: 'error',
        msg: 'start-up failed',
        error: err instanceof Error ? err.message : String(err),
      });
      process.exit(1);
    },
  );
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log({ msg: 'shutting down', signal });
  await operator.stop().catch(() => {});
  // Stopped: the Lease is released and no write can start. Whatever handle is left (a socket the
  // server keeps alive) must not hold the exit past the grace period.
  setTimeout(() => process.exit(0), 2_000).unref();
  return 0;
}

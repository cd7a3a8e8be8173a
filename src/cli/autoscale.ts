import { readFile } from 'node:fs/promises';
import { ScenarioError, simulate } from '../autoscale/simulate.ts';

export const AUTOSCALE_USAGE = `usage: shoal autoscale simulate <file|->
  Replays a scenario (JSON: a policy, options, history and observed steps) through the autoscaler's
  decision engine and prints each step's decision as JSON. The format is in the README.
`;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `shoal autoscale simulate <file|->`: exit 0 with the decisions on stdout; 1 with a message naming
 * the offending field when the scenario is not valid; 2 for a usage error.
 */
export async function autoscaleCommand(
  args: readonly string[],
  io: { stdin: NodeJS.ReadableStream; out: (s: string) => void; err: (s: string) => void },
): Promise<number> {
  const [sub, file, ...extra] = args;
  if (sub !== 'simulate' || !file || extra.length > 0) {
    io.err(AUTOSCALE_USAGE);
    return 2;
  }
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  } catch (err) {
    io.err(`shoal: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  let scenario: unknown;
  try {
    scenario = JSON.parse(text);
  } catch (err) {
    io.err(`shoal: ${file} is not JSON: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  try {
    io.out(`${JSON.stringify(simulate(scenario), null, 2)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof ScenarioError)) throw err;
    io.err(`shoal: invalid scenario: ${err.message}\n`);
    return 1;
  }
}

/** `shoal autoscale` from its arguments, on the process's streams. */
export function autoscaleMain(args: string[]): Promise<number> {
  return autoscaleCommand(args, {
    stdin: process.stdin,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}

/**
 * argv -> one command, imported only when it runs: `shoal version` and `shoal --help` load nothing
 * but this file. A usage error (an unknown command or flag, a missing argument) is one line on
 * stderr and exit status 2.
 */
const VERSION = '0.1.0';

interface Command {
  /** Arguments as the usage shows them. */
  synopsis: string;
  summary: string;
  run: (args: string[], command: string) => Promise<number>;
}

const cluster = (args: string[], command: string) =>
  import('./cli/groups.ts').then((m) => m.groupsMain(command, args));

const COMMANDS: Record<string, Command> = {
  run: {
    synopsis: '[flags]',
    summary: 'the operator (flags: shoal run --help)',
    run: (args) => import('./cli/run.ts').then((m) => m.runCommand(args)),
  },
  render: {
    synopsis: '<dir> [-n ns] [--group ns/name] [-f values.yaml]...',
    summary: 'the desired objects as YAML (manifests, kustomize or a chart); no cluster needed',
    run: (args) => import('./cli/render.ts').then((m) => m.renderMain(args)),
  },
  diff: {
    synopsis: '<dir> [-n ns] [--group ns/name] [-f values.yaml]... [-o text|json-patch]',
    summary: 'what applying <dir> would change (server-side dry-run); exit 1 when anything would',
    run: (args) => import('./cli/diff.ts').then((m) => m.diffMain(args)),
  },
  dashboard: {
    synopsis: '[--port 9080] [--open] [-n ns]',
    summary: 'the dashboard on 127.0.0.1 as your kubeconfig user (like kubectl proxy)',
    run: (args) => import('./cli/dashboard.ts').then((m) => m.dashboardMain(args)),
  },
  check: {
    synopsis: '[--pre] [-n ns]',
    summary: 'check an installation: version, CRDs, the Deployment, its permissions, its Service',
    run: (args) => import('./cli/check.ts').then((m) => m.checkMain(args)),
  },
  get: {
    synopsis: 'groups|sources [-A | -n ns] [-o wide]',
    summary: 'a table like kubectl get, with sync and health',
    run: cluster,
  },
  reconcile: {
    synopsis: 'group ns/name [--with-source]',
    summary: 'reconcile now (sets shoal.dev/requested-at)',
    run: cluster,
  },
  suspend: { synopsis: 'group ns/name', summary: 'stop syncing a group', run: cluster },
  resume: { synopsis: 'group ns/name', summary: 'start syncing a group again', run: cluster },
  autoscale: {
    synopsis: 'simulate <file|->',
    summary: 'replay an autoscaling scenario through the decision engine (JSON in, JSON out)',
    run: (args) => import('./cli/autoscale.ts').then((m) => m.autoscaleMain(args)),
  },
  version: {
    synopsis: '',
    summary: 'print the version',
    run: async () => {
      process.stdout.write(`shoal ${VERSION}\n`);
      return 0;
    },
  },
};

/** The usage text, made from the command table. */
function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => [
    `shoal ${name} ${c.synopsis}`.trimEnd(),
    c.summary,
  ]);
  const width = Math.max(...lines.map(([l]) => (l as string).length)) + 2;
  return `shoal: a GitOps reconciler for Kubernetes\n\n${lines.map(([l, s]) => `  ${(l as string).padEnd(width)}${s}`).join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version') return COMMANDS.version?.run([], 'version') ?? 0;
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`shoal: unknown command "${name}" (shoal --help lists them)\n`);
    return 2;
  }
  return command.run(rest, name);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A usage error or a failure before the command could start: one line, exit status 2.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`shoal: ${message.split('\n')[0]}\n`);
    process.exitCode = 2;
  },
);

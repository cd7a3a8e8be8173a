import { autoscaleCommand } from './cli/autoscale.ts';
import { diffCommand } from './cli/diff.ts';
import { getCommand, reconcileCommand, suspendCommand } from './cli/groups.ts';
import { renderCommand } from './cli/render.ts';
import { runCommand } from './cli/run.ts';
import { parseClusterCommand, parseDirCommand } from './config.ts';
import { Kube, loadKubeConfig } from './kube/client.ts';

const USAGE = `shoal: a GitOps reconciler for Kubernetes

  shoal run [flags]                      the operator (see: shoal run --help)
  shoal render <dir> [-n ns] [--group ns/name]
                                         the desired objects as YAML; no cluster needed
  shoal diff <dir> [-n ns] [--group ns/name] [-o text|json-patch] [--kubeconfig PATH]
                                         what applying <dir> would change (server-side dry-run);
                                         exit status 1 when anything would change
  shoal get groups|sources [-A | -n ns]  a table like kubectl get, with sync and health
  shoal reconcile group ns/name [--with-source]
                                         reconcile now (sets shoal.dev/requested-at)
  shoal suspend|resume group ns/name     stop or restart syncing a group
  shoal autoscale simulate <file|->       replay an autoscaling scenario through the decision
                                         engine; JSON in, JSON out (format in the README)
  shoal version                          print the version
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'render': {
      const cfg = parseDirCommand(rest, process.env);
      return renderCommand(
        {
          dir: cfg.dir,
          kustomize: cfg.kustomize,
          namespace: cfg.namespace,
          ...(cfg.group ? { owner: { groupName: cfg.group.name, groupNamespace: cfg.group.namespace } } : {}),
        },
        (s) => process.stdout.write(s),
      );
    }
    case 'diff': {
      const cfg = parseDirCommand(rest, process.env);
      return diffCommand(cfg, (s) => process.stdout.write(s));
    }
    case 'get':
    case 'reconcile':
    case 'suspend':
    case 'resume': {
      const cfg = parseClusterCommand(rest, process.env);
      const kube = new Kube(loadKubeConfig(cfg.kube));
      const out = (text: string) => process.stdout.write(text);
      const [what, target] = cfg.args;
      if (command === 'get') {
        if (what !== 'groups' && what !== 'sources')
          throw new Error('usage: shoal get groups|sources [-A | -n ns]');
        const namespace = cfg.allNamespaces ? undefined : (cfg.namespace ?? 'default');
        out(await getCommand(kube, { kind: what, namespace, now: new Date() }));
        return 0;
      }
      const [namespace, name] = (target ?? '').split('/');
      if (what !== 'group' || !namespace || !name)
        throw new Error(`usage: shoal ${command} group <namespace>/<name>`);
      if (command === 'reconcile')
        out(await reconcileCommand(kube, namespace, name, cfg.withSource, new Date()));
      else out(await suspendCommand(kube, namespace, name, command === 'suspend'));
      return 0;
    }
    case 'autoscale':
      return autoscaleCommand(rest, {
        stdin: process.stdin,
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
      });
    case 'version':
    case '--version':
      process.stdout.write('shoal 0.1.0\n');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`shoal: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);

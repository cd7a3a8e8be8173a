import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);

/** Packages a copy of `chartDir` at `version` with the real helm; returns the .tgz path. */
export async function packageChart(
  helm: string,
  chartDir: string,
  version: string,
  outDir: string,
): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'chart-pkg-'));
  try {
    const copy = join(work, 'chart');
    await cp(chartDir, copy, { recursive: true });
    const chartYaml = join(copy, 'Chart.yaml');
    await writeFile(
      chartYaml,
      (await readFile(chartYaml, 'utf8')).replace(/^version: .*$/m, `version: ${version}`),
    );
    await mkdir(outDir, { recursive: true });
    const { stdout } = await run(helm, ['package', copy, '--destination', outDir], { env: helmEnv(work) });
    return stdout.trim().split(' ').pop() as string;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** An environment that keeps helm's config, cache and data in `dir`. */
export const helmEnv = (dir: string) => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: dir,
  HELM_CACHE_HOME: join(dir, 'cache'),
  HELM_CONFIG_HOME: join(dir, 'config'),
  HELM_DATA_HOME: join(dir, 'data'),
});

/**
 * A real HTTP chart repository on loopback: charts packaged by helm, index.yaml made by
 * `helm repo index`, served by a Node static server with optional basic auth. `requests` counts
 * what clients asked for.
 */
export async function startChartRepo(
  helm: string,
  opts: {
    basic?: { username: string; password: string };
    bearer?: string;
    /** Serve HTTPS with this certificate. */
    tls?: { certFile: string; keyFile: string };
  } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'chart-repo-'));
  const requests: string[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const expected = opts.basic
      ? `Basic ${Buffer.from(`${opts.basic.username}:${opts.basic.password}`).toString('base64')}`
      : opts.bearer
        ? `Bearer ${opts.bearer}`
        : undefined;
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end('unauthorized\n');
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^\/+/,
      '',
    );
    if (path.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    const body = await readFile(join(dir, path)).catch(() => undefined);
    if (!body) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res
      .writeHead(200, { 'content-type': path.endsWith('.yaml') ? 'text/yaml' : 'application/gzip' })
      .end(body);
  };
  const server = opts.tls
    ? createHttpsServer(
        { cert: await readFile(opts.tls.certFile), key: await readFile(opts.tls.keyFile) },
        (req, res) => void handler(req, res),
      )
    : createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    dir,
    requests,
    /** Packages `chartDir` at `version` into the repository and indexes it again. */
    async publish(chartDir: string, version: string): Promise<void> {
      await packageChart(helm, chartDir, version, dir);
      await run(helm, ['repo', 'index', dir, '--url', url], { env: helmEnv(dir) });
    },
    /**
     * Serves `archive` as `name` at `version`, entered in index.yaml by hand with its digest (for
     * archives `helm package` would never make; do not mix with `publish` in one repository).
     */
    async serveArchive(name: string, version: string, archive: Buffer): Promise<void> {
      const file = `${name}-${version}.tgz`;
      await writeFile(join(dir, file), archive);
      const index = (parse(await readFile(join(dir, 'index.yaml'), 'utf8').catch(() => '')) ?? {
        apiVersion: 'v1',
        entries: {},
      }) as { entries: Record<string, unknown[]> };
      index.entries[name] = [
        ...(index.entries[name] ?? []),
        {
          apiVersion: 'v2',
          name,
          version,
          urls: [`${url}/${file}`],
          digest: createHash('sha256').update(archive).digest('hex'),
          created: new Date().toISOString(),
        },
      ];
      await writeFile(join(dir, 'index.yaml'), stringify(index));
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

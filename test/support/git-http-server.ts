import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';

/** How the server authenticates clients. */
export type HttpAuth = { basic: { username: string; password: string } } | { bearer: string } | 'none';

export interface GitHttpServer {
  /** Base URL; a repository at <root>/<name> is <url>/<name>. */
  url: string;
  /** Requests served, by path, for counting what a client did. */
  requests: string[];
  /** Response body bytes sent so far. */
  bytesOut(): number;
  close(): Promise<void>;
}

/**
 * A real git smart-HTTP server on loopback: Node in front of `git http-backend` (CGI), with basic or
 * bearer authentication, and TLS when `tls` gives a certificate. Serves every repository under `root`
 * (a working repository `<root>/r` is `<url>/r/.git`).
 */
export async function startGitHttpServer(
  root: string,
  auth: HttpAuth,
  tls?: { certFile: string; keyFile: string },
  /** Sends response bodies at about this rate (a slow link), for tests that watch a transfer. */
  opts: { bytesPerSecond?: number } = {},
): Promise<GitHttpServer> {
  const requests: string[] = [];
  let bytes = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const header = req.headers.authorization ?? '';
    const ok =
      auth === 'none' ||
      ('basic' in auth &&
        header ===
          `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`) ||
      ('bearer' in auth && header === `Bearer ${auth.bearer}`);
    if (!ok) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'test',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(child.stdin);
    // CGI: headers, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    const rate = opts.bytesPerSecond;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        bytes += chunk.length;
        res.write(chunk);
        if (rate) {
          child.stdout.pause();
          setTimeout(() => child.stdout.resume(), (chunk.length / rate) * 1000);
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      bytes += head.length - end - 4;
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => res.end());
    res.on('close', () => child.kill());
  };
  const server = tls
    ? createHttps({ cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) }, handler)
    : createHttp(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    bytesOut: () => bytes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

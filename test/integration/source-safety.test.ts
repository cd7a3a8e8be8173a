import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '../support/cluster.ts';
import { scrapeMetric } from '../support/metrics.ts';
import { shoalObjects } from '../support/objects.ts';
import { startShoal } from '../support/shoal.ts';

const { cp, kube, newNamespace } = useCluster();

/** Text a hostile or misconfigured host sends back; it must appear in no status, event or log. */
const BODY = 'internal-db-7.corp.example token=sk_live_4242 you reached the metadata service';

describe('what a source server says stays out of status, events and logs (catalogue A15, A3)', () => {
  let ns: string;
  let shoal: Awaited<ReturnType<typeof startShoal>>;
  let o: ReturnType<typeof shoalObjects>;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    ns = await newNamespace('bodies');
    o = shoalObjects(kube, ns);
    // Answers every git request with an error and a text body, as a proxy or a hostile host may.
    server = createServer((req, res) => {
      const status = req.url?.startsWith('/forbidden/') ? 403 : 500;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${BODY}\nsecond line of ${BODY}\n`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-insecure-http'],
    });
  });

  afterAll(async () => {
    await shoal?.stop();
    server?.close();
  });

  it.each([
    ['403', 'forbidden', 'AuthenticationFailed', 'returned error: 403'],
    ['500', 'broken', 'SourceUnavailable', 'returned error: 500'],
  ])('a %s with a text body: git own line is kept, the body is not', async (_, path, reason, line) => {
    await o.source(path, { url: `${base}/${path}/repo.git`, interval: '1h' });
    const s = await o.sourceReason(path, reason);
    expect(o.ready(s)?.message).toContain(line);
    expect(o.ready(s)?.message).toMatch(/the server's message, \d+ line\(s\), is not shown/);
    const everything = `${await o.everything()}${JSON.stringify(shoal.logs)}`;
    expect(everything).not.toContain('sk_live_4242');
    expect(everything).not.toContain('internal-db-7');
  });
});

describe('hosts a source may not name (catalogue A15)', () => {
  let ns: string;
  let o: ReturnType<typeof shoalObjects>;

  beforeAll(async () => {
    ns = await newNamespace('hosts');
    o = shoalObjects(kube, ns);
  });

  it('refuses link-local and metadata addresses, by default, without asking git', async () => {
    const shoal = await startShoal({ kubeconfig: cp.kubeconfig, namespace: ns, extraArgs: [] });
    try {
      await o.source('metadata', { url: 'https://169.254.169.254/latest/meta-data.git', interval: '1h' });
      const s = await o.sourceReason('metadata', 'UrlNotAllowed');
      expect(o.ready(s)?.message).toBe(
        'the host 169.254.169.254 is a link-local or cloud metadata address, which is never fetched',
      );
      expect(s.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
      expect(await scrapeMetric(shoal.metricsUrl, 'shoal_git_requests_total')).toBe(0);
    } finally {
      await shoal.stop();
    }
  });

  it('with --source-hosts-allow, refuses every other host', async () => {
    const shoal = await startShoal({
      kubeconfig: cp.kubeconfig,
      namespace: ns,
      extraArgs: ['--allow-insecure-http', '--source-hosts-allow=git.example.com,*.example.org'],
    });
    try {
      await o.source('elsewhere', { url: 'http://127.0.0.1:9/x.git', interval: '1h' });
      const s = await o.sourceReason('elsewhere', 'UrlNotAllowed');
      expect(o.ready(s)?.message).toBe('the host 127.0.0.1 is not in --source-hosts-allow');
    } finally {
      await shoal.stop();
    }
  });
});

describe('durations past what a timer holds (catalogue C9)', () => {
  it.each([
    ['GitSource', 'interval', '1000h', 'must be at most 168h'],
    ['GitSource', 'timeout', '1000h', 'must be at most 1h'],
    ['AppGroup', 'interval', '597h', 'must be at most 168h'],
    ['AppGroup', 'timeout', '48h', 'must be at most 24h'],
  ])('the API server refuses a %s %s of %s', async (kind, field, value, message) => {
    const ns = await newNamespace('durations');
    const spec =
      kind === 'GitSource'
        ? { url: 'https://git.example.com/a.git', [field]: value }
        : { sourceRef: { name: 'repo' }, [field]: value };
    await expect(
      kube.apply({ apiVersion: 'shoal.dev/v1alpha1', kind, metadata: { name: 'x', namespace: ns }, spec }),
    ).rejects.toThrow(message);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../controlplane/control-plane.ts';
import { ensureDebianPackage } from './debian.ts';
import { waitFor } from './wait.ts';

export const PROMETHEUS = '/usr/bin/prometheus';

/** Debian's prometheus package, installed when missing (as root). */
export const ensurePrometheusInstalled = (log: (line: string) => void) =>
  ensureDebianPackage(PROMETHEUS, 'prometheus', log);

/**
 * A /metrics endpoint whose gauges a test sets: `set('queue_depth', {pod: 'web-1'}, 20)`. Prometheus
 * scrapes it like any exporter.
 */
export class TestExporter {
  readonly #series = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
  #server: Server | undefined;

  set(name: string, labels: Record<string, string>, value: number): void {
    this.#series.set(`${name}${JSON.stringify(labels)}`, { name, labels, value });
  }

  delete(name: string, labels: Record<string, string>): void {
    this.#series.delete(`${name}${JSON.stringify(labels)}`);
  }

  text(): string {
    return [...this.#series.values()]
      .map((s) => {
        const labels = Object.entries(s.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        const value = Number.isNaN(s.value) ? 'NaN' : String(s.value);
        return `${s.name}${labels ? `{${labels}}` : ''} ${value}\n`;
      })
      .join('');
  }

  async start(): Promise<number> {
    this.#server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(this.text());
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

export interface TestPrometheus {
  url: string;
  exporter: TestExporter;
  /** Waits until an instant query returns what `accept` wants (the next scrape has landed). */
  until(
    query: string,
    accept: (samples: { metric: Record<string, string>; value: number }[]) => boolean,
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Debian's Prometheus on loopback, scraping one TestExporter every second (its TSDB in a temporary
 * directory). `--query.lookback-delta=5s` so a series the exporter dropped goes stale quickly.
 */
export async function startPrometheus(): Promise<TestPrometheus> {
  if (!existsSync(PROMETHEUS))
    throw new Error(`${PROMETHEUS} is missing: install Debian's prometheus package`);
  const exporter = new TestExporter();
  const exporterPort = await exporter.start();
  const dir = await mkdtemp(join(tmpdir(), 'shoal-prometheus-'));
  const [port] = await freePorts(1);
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: test',
      `    static_configs: [{targets: ["127.0.0.1:${exporterPort}"]}]`,
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--query.lookback-delta=5s',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    proc.kill('SIGTERM');
    await new Promise((resolve) =>
      proc.exitCode !== null ? resolve(undefined) : proc.once('exit', resolve),
    );
    await exporter.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('Prometheus ready', async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    exporter,
    async until(query, accept) {
      await waitFor(`Prometheus: ${query}`, async () => {
        const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
        const body = (await res.json()) as {
          data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return accept(
          (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) })),
        );
      });
    },
    stop,
  };
}

import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chartRoot, DEFAULT_CHART_LIMITS, readChartArchive } from '../../../src/source/chart-archive.ts';
import { authorization, newestMatching } from '../../../src/source/chart-repository.ts';
import { bearerChallenge, ociRepository } from '../../../src/source/oci-registry.ts';
import { chartEntries, tarGz } from '../../support/tar.ts';

const reason = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return `${(err as { reason?: string }).reason}: ${(err as Error).message}`;
  }
  return 'no error';
};

describe('readChartArchive', () => {
  it('reads the files of a chart archive', () => {
    const files = readChartArchive(tarGz(chartEntries('demo', '1.0.0')));
    expect([...files.keys()]).toEqual(['demo/Chart.yaml', 'demo/templates/cm.yaml']);
    expect(files.get('demo/Chart.yaml')?.toString()).toContain('version: 1.0.0');
    expect(chartRoot(files)).toBe('demo');
  });

  it.each([
    ['demo/../../etc/cron.d/x', 'SecurityViolation'],
    ['/etc/passwd', 'SecurityViolation'],
    ['demo/templates/../../x', 'SecurityViolation'],
  ])('refuses the path %s', (name, expected) => {
    const archive = tarGz([...chartEntries('demo', '1.0.0'), { name, body: 'x' }]);
    expect(reason(() => readChartArchive(archive))).toMatch(
      new RegExp(`^${expected}: .*${name.replace(/[./]/g, '\\$&')}`),
    );
  });

  it.each([
    ['2', 'a symlink'],
    ['1', 'a hard link'],
    ['3', 'an entry of type "3"'],
  ])('refuses an entry of type %s (%s)', (type, words) => {
    const archive = tarGz([
      ...chartEntries('demo', '1.0.0'),
      { name: 'demo/templates/link.yaml', type, linkname: '/etc/shadow' },
    ]);
    expect(reason(() => readChartArchive(archive))).toBe(
      `SecurityViolation: the chart archive holds ${words}: "demo/templates/link.yaml"`,
    );
  });

  it('refuses a gzip bomb, a file and an archive over the limits, and too many files', () => {
    // 8 MiB of zeros gzip to 8 KiB; the reader stops inflating at the limit.
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(16 * 1024);
    expect(
      reason(() => readChartArchive(bomb, { ...DEFAULT_CHART_LIMITS, maxTotalBytes: 1024 * 1024 })),
    ).toMatch(/^LimitExceeded: the chart archive unpacks to more than/);
    const big = tarGz([...chartEntries('demo', '1.0.0'), { name: 'demo/big', body: Buffer.alloc(2048) }]);
    expect(reason(() => readChartArchive(big, { ...DEFAULT_CHART_LIMITS, maxFileBytes: 1024 }))).toBe(
      'LimitExceeded: the chart file demo/big is 2048 bytes, over the limit of 1024',
    );
    expect(reason(() => readChartArchive(big, { ...DEFAULT_CHART_LIMITS, maxArchiveBytes: 10 }))).toMatch(
      /^LimitExceeded: the chart archive is \d+ bytes, over the limit of 10$/,
    );
    expect(reason(() => readChartArchive(big, { ...DEFAULT_CHART_LIMITS, maxFiles: 2 }))).toBe(
      'LimitExceeded: the chart holds more than 2 files',
    );
  });

  it('says what is wrong with what is not a chart archive', () => {
    expect(reason(() => readChartArchive(Buffer.from('<html>nope</html>')))).toMatch(
      /^BuildFailed: the chart archive is not gzip/,
    );
    const truncated = tarGz([{ name: 'demo/Chart.yaml', body: 'x'.repeat(600) }]);
    const tar = gunzipSync(truncated).subarray(0, 700);
    expect(reason(() => readChartArchive(gzipSync(tar)))).toBe(
      'BuildFailed: the chart archive is truncated at "demo/Chart.yaml"',
    );
    expect(
      reason(() => chartRoot(readChartArchive(tarGz([{ name: 'a/x', body: '' }, { name: 'b/y' }])))),
    ).toBe('BuildFailed: a chart archive holds exactly one top directory');
    expect(reason(() => chartRoot(readChartArchive(tarGz([{ name: 'a/values.yaml' }]))))).toBe(
      'BuildFailed: the chart archive has no a/Chart.yaml',
    );
  });
});

describe('chart repositories and registries', () => {
  it('tracks the newest version in a range, pre-releases only when asked', () => {
    const versions = ['1.0.0', '1.2.0', '1.10.0', '2.0.0', '2.1.0-rc.1', 'latest'];
    expect(newestMatching(versions, '1.x')).toBe('1.10.0');
    expect(newestMatching(versions, '>=1.2.0 <2')).toBe('1.10.0');
    expect(newestMatching(versions, '1.2.0')).toBe('1.2.0');
    expect(newestMatching(versions, '*')).toBe('2.0.0');
    expect(newestMatching(versions, '>=2.1.0-rc.0')).toBe('2.1.0-rc.1');
    expect(newestMatching(versions, '3.x')).toBeUndefined();
  });

  it('sends a bearer token before basic credentials, and nothing without both parts', () => {
    expect(authorization({ bearerToken: 't' })).toBe('Bearer t');
    expect(authorization({ username: 'u', password: 'p' })).toBe(
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
    expect(authorization({ username: 'u' })).toBeUndefined();
  });

  it('reads a Bearer challenge and names the repository of an oci:// URL', () => {
    expect(
      bearerChallenge(
        'Bearer realm="https://auth.example/token",service="registry",scope="repository:charts/demo:pull"',
      ),
    ).toEqual({
      realm: 'https://auth.example/token',
      service: 'registry',
      scope: 'repository:charts/demo:pull',
    });
    expect(bearerChallenge('Basic realm="x"')).toBeUndefined();
    expect(bearerChallenge('Bearer service="no-realm"')).toBeUndefined();
    expect(ociRepository('oci://registry.example:5000/team/charts/', 'demo')).toEqual({
      host: 'registry.example:5000',
      repository: 'team/charts/demo',
    });
    expect(ociRepository('oci://registry.example', 'demo')).toEqual({
      host: 'registry.example',
      repository: 'demo',
    });
  });
});

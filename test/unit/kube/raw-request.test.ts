import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bodyText, MAX_LIST_BYTES, requestUrl } from '../../../src/kube/raw-request.ts';

describe('requestUrl', () => {
  it('appends the path to the server, keeping a path prefix', () => {
    expect(requestUrl('https://127.0.0.1:6443', '/api/v1/namespaces/a/configmaps/b')).toBe(
      'https://127.0.0.1:6443/api/v1/namespaces/a/configmaps/b',
    );
    expect(requestUrl('https://rancher.example/k8s/clusters/c-1/', '/api/v1/pods')).toBe(
      'https://rancher.example/k8s/clusters/c-1/api/v1/pods',
    );
  });

  it('encodes query values and leaves out the undefined ones', () => {
    expect(
      requestUrl('https://h', '/apis/apps/v1/namespaces/a/deployments/web', {
        fieldManager: 'shoal sync',
        dryRun: 'All',
        force: undefined,
      }),
    ).toBe('https://h/apis/apps/v1/namespaces/a/deployments/web?fieldManager=shoal+sync&dryRun=All');
  });
});

describe('bodyText', () => {
  it('joins the chunks, a character split between two of them included', async () => {
    const euro = Buffer.from('\u20ac', 'utf8');
    const body = Readable.from([
      Buffer.from('{"a":"'),
      euro.subarray(0, 1),
      euro.subarray(1),
      Buffer.from('"}'),
    ]);
    expect(JSON.parse(await bodyText(body))).toEqual({ a: '\u20ac' });
  });

  it('refuses an answer past 16 MiB even when no length was announced, and stops reading it', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const body = new Readable({
      read() {
        sent++;
        this.push(sent > 64 ? null : chunk);
      },
    });
    await expect(bodyText(body)).rejects.toThrow(/more than 16777216 bytes/);
    expect(sent).toBeLessThan(64);
    expect(body.destroyed).toBe(true);
  });

  it('reads a longer answer where the caller allows it (a LIST is as long as the cluster is large)', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    const body = new Readable({
      read() {
        sent++;
        this.push(sent > 20 ? null : chunk);
      },
    });
    expect((await bodyText(body, MAX_LIST_BYTES)).length).toBe(20 * 1024 * 1024);
  });
});

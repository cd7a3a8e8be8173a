import { describe, expect, it } from 'vitest';
import { requestUrl } from '../../../src/kube/raw-request.ts';

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

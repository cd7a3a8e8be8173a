import { REASON } from '../api/conditions.ts';
import type { Kube } from '../kube/client.ts';
import { ReconcileError } from '../runtime/errors/reconcile-error.ts';
import type { ChartCredentials } from '../source/chart-repository.ts';

/**
 * A ChartSource's credentials from its Secret: username and password, or bearerToken; ca.crt. They
 * stay in memory for the reconcile that reads them and appear in no message.
 */
export async function chartCredentials(
  kube: Kube,
  namespace: string,
  secretName: string,
): Promise<ChartCredentials> {
  const secret = await kube.get<{ data?: Record<string, string> }>({
    apiVersion: 'v1',
    kind: 'Secret',
    namespace,
    name: secretName,
  });
  if (!secret) throw new ReconcileError(REASON.AuthenticationFailed, `secret ${secretName} was not found`);
  const value = (k: string) => {
    const v = secret.data?.[k];
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
  };
  const [username, password, bearerToken, ca] = ['username', 'password', 'bearerToken', 'ca.crt'].map(value);
  return {
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(bearerToken !== undefined ? { bearerToken } : {}),
    ...(ca !== undefined ? { ca } : {}),
  };
}

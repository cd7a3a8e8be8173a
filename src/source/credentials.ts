import { REASON } from '../api/conditions.ts';
import { StalledError } from '../runtime/errors/stalled-error.ts';

/**
 * Git configuration that carries the credentials of a GitSource's secret, as environment variables
 * (GIT_CONFIG_COUNT/KEY/VALUE): never in the URL, argv, or a file. Pure.
 *
 * Supported today: HTTPS `username` + `password` (basic) and `bearerToken`.
 * Caveat: SSH keys (`identity`) and a custom CA (`ca.crt`) are refused with a clear error until the
 * Git source issue adds them.
 */
export function gitAuthEnv(
  data: Record<string, string> | undefined,
  secretName: string,
): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) decoded[k] = Buffer.from(v, 'base64').toString('utf8');
  let header: string | undefined;
  if (decoded.bearerToken) header = `Authorization: Bearer ${decoded.bearerToken}`;
  else if (decoded.username !== undefined && decoded.password !== undefined) {
    header = `Authorization: Basic ${Buffer.from(`${decoded.username}:${decoded.password}`).toString('base64')}`;
  } else if (decoded.identity || decoded['ca.crt']) {
    throw new StalledError(
      REASON.InvalidSpec,
      `secret ${secretName}: SSH identities and custom CAs are not supported yet`,
    );
  } else {
    throw new StalledError(
      REASON.InvalidSpec,
      `secret ${secretName} has neither username+password nor bearerToken`,
    );
  }
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: header };
}

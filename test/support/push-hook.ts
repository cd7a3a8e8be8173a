import { createHmac } from 'node:crypto';

/** A generic push webhook (`/hooks/generic`) for `repoUrl`, signed with `token`; the HTTP status. */
export async function postGenericPush(webhookUrl: string, token: string, repoUrl: string): Promise<number> {
  const body = JSON.stringify({ repository: { url: repoUrl } });
  const res = await fetch(`${webhookUrl}/hooks/generic`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-signature-256': `sha256=${createHmac('sha256', token).update(body).digest('hex')}`,
    },
    body,
  });
  return res.status;
}

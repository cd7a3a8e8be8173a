import { bool, conditions, duration, int64, localRef, obj, type Schema, str } from './builders.ts';

const REF_KIND_RULE =
  '(has(self.branch) ? 1 : 0) + (has(self.tag) ? 1 : 0) + (has(self.semver) ? 1 : 0) + (has(self.commit) ? 1 : 0) == 1' +
  ' || (has(self.commit) && has(self.branch) && !has(self.tag) && !has(self.semver))';

/** A ref name must not be empty, start with '-' (option injection) or contain whitespace or '..'. */
const REF_NAME = { minLength: 1, maxLength: 255, pattern: '^[^-\\s][^\\s]*$' };

export const gitSourceSpecSchema: Schema = obj(
  'Where the desired state comes from: a Git repository, a ref to follow, and how to reach it.',
  {
    url: str(
      'Repository URL: https://host/path, ssh://[user@]host[:port]/path or scp-style user@host:path. ' +
        'http:// and file:// are refused at run time unless the operator allows them. ' +
        'Credentials never go in the URL: use secretRef.',
      {
        minLength: 1,
        maxLength: 2048,
        pattern: '^((https?|ssh|file)://|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)[^\\s]*$',
        'x-kubernetes-validations': [
          {
            rule: "!self.matches('^https?://[^/]*@')",
            message: 'credentials must not be part of the URL; put them in the secret named by secretRef',
          },
        ],
      },
    ),
    ref: obj(
      'The ref to follow: exactly one of branch, tag, semver or commit; a commit may add the branch it is on. ' +
        'Defaults to the branch main.',
      {
        branch: str('Branch to follow; every new commit on it is a new revision.', REF_NAME),
        tag: str('Tag to check out.', REF_NAME),
        semver: str(
          'A semver range (">=1.2.0 <2.0.0"); the highest tag that satisfies it is checked out.',
          REF_NAME,
        ),
        commit: str('A full (40 hex digits) SHA-1 commit to pin; the branch, when given, only names it.', {
          minLength: 40,
          maxLength: 40,
          pattern: '^[0-9a-f]{40}$',
        }),
      },
      [],
      {
        default: { branch: 'main' },
        'x-kubernetes-validations': [
          {
            rule: REF_KIND_RULE,
            message: 'set exactly one of branch, tag, semver or commit (commit may add branch)',
          },
        ],
      },
    ),
    interval: duration('How often the repository is polled for a new revision (jittered).', '1m', '168h'),
    timeout: duration(
      'Bound on every git operation; the git process is killed when it expires.',
      '60s',
      '1h',
    ),
    secretRef: localRef(
      'A Secret in the same namespace with credentials: username and password, or bearerToken, for HTTPS; ' +
        'identity and known_hosts for SSH; ca.crt for a custom certificate authority.',
    ),
    webhookSecretRef: localRef(
      'A Secret in the same namespace whose key `token` verifies push webhooks for this source.',
    ),
    suspend: bool('When true, the source is not fetched; the last artifact stays available.', {
      default: false,
    }),
  },
  ['url'],
);

export const gitSourceStatusSchema: Schema = obj('The observed state of the GitSource.', {
  observedGeneration: int64('The last .metadata.generation that was reconciled.'),
  conditions: conditions(),
  artifact: obj(
    'The last revision fetched and checked out.',
    {
      revision: str('<ref>@sha1:<commit>, for example main@sha1:4f2c...'),
      digest: str('sha256 digest over the checked-out tree.'),
      commitTime: str('Commit time of the revision.', { format: 'date-time' }),
      fetchedAt: str('When the revision was fetched.', { format: 'date-time' }),
    },
    ['revision'],
  ),
  lastHandledReconcileAt: str('The last value of the shoal.dev/requested-at annotation that was handled.'),
});

import { gzipSync } from 'node:zlib';

/** One entry of a crafted tar: a file (type '0', the default), a directory ('5'), a symlink ('2')… */
export interface TarEntry {
  name: string;
  body?: string | Buffer;
  type?: string;
  linkname?: string;
}

const BLOCK = 512;

function header(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(e.name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(e.type ?? '0', 156);
  if (e.linkname) h.write(e.linkname, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/**
 * A gzipped ustar archive of exactly these entries, names as given (`..`, absolute paths, links
 * and all): what a hostile chart repository could serve, which `tar` and `helm package` refuse to
 * make.
 */
export function tarGz(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    parts.push(header(e, body.length), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts));
}

/** A minimal valid chart `name` at `version`, as tar entries, to add hostile entries to. */
export const chartEntries = (name: string, version: string): TarEntry[] => [
  { name: `${name}/Chart.yaml`, body: `apiVersion: v2\nname: ${name}\nversion: ${version}\n` },
  {
    name: `${name}/templates/cm.yaml`,
    body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata: {a: "1"}\n',
  },
];

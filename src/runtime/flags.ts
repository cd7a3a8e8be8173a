import { parseArgs } from 'node:util';

/** One command-line flag: its type, its default (stated here only) and its help line. */
export interface Flag {
  type: 'string' | 'boolean';
  default?: string | boolean;
  short?: string;
  /** The value's placeholder in the usage text (string flags). */
  arg?: string;
  /** A string flag that may be given more than once: its value is every occurrence, in order. */
  multiple?: boolean;
  help: string;
}

export type Flags = Record<string, Flag>;

/** A usage text from a flag table: one line per flag, with its default. Pure. */
export function usageOf(head: string, flags: Flags): string {
  const left = (name: string, f: Flag) =>
    `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.type === 'string' ? ` ${f.arg ?? 'VALUE'}` : ''}`;
  const width = Math.max(...Object.entries(flags).map(([n, f]) => left(n, f).length)) + 2;
  const lines = Object.entries(flags).map(([name, f]) => {
    const def =
      f.default !== undefined && f.default !== false ? ` (default ${JSON.stringify(f.default)})` : '';
    return `${left(name, f).padEnd(width)}${f.help}${f.multiple ? ' (repeatable)' : ''}${def}`;
  });
  return `${head}\n\n${lines.join('\n')}\n`;
}

export function parseFlags<F extends Flags>(flags: F, argv: string[], positionals = false) {
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [
      name,
      {
        type: f.type,
        ...(f.default !== undefined ? { default: f.default } : {}),
        ...(f.short ? { short: f.short } : {}),
        ...(f.multiple ? { multiple: true } : {}),
      },
    ]),
  );
  // parseArgs types its result from a literal options object; the table is that object's source.
  const parsed = parseArgs({
    args: argv,
    options: options as never,
    strict: true,
    allowPositionals: positionals,
  });
  return {
    values: parsed.values as unknown as {
      [K in keyof F]: F[K] extends { multiple: true }
        ? string[] | undefined
        : F[K]['type'] extends 'boolean'
          ? F[K] extends { default: boolean }
            ? boolean
            : boolean | undefined
          : F[K] extends { default: string }
            ? string
            : string | undefined;
    },
    positionals: parsed.positionals,
  };
}

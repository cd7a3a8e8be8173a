const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  // Go's micro signs (U+00B5 and U+03BC), escaped: one non-ASCII character makes V8 keep a whole
  // bundled source in two bytes per character (4 MiB more for the operator bundle).
  '\u00b5s': 1e-3,
  '\u03bcs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a non-negative Go duration ("90s", "1m30s", "1.5h", and as the API server writes them,
 * "15.123s", "1m0s", "0") into milliseconds. The CRDs' pattern is stricter (ms to h, above zero). Pure.
 */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /([0-9]+(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) throw new Error(`invalid duration "${text}"`);
  return total;
}

/** `ms` spread by up to ±`fraction` with `random` in [0,1), so periodic work does not align. Pure. */
export function jitter(ms: number, random: number, fraction = 0.1): number {
  return Math.round(ms * (1 + fraction * (2 * random - 1)));
}

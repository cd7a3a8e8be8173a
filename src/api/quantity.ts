import type { Quantity } from './meta.ts';

const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const SHAPE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

export class QuantityError extends Error {
  override readonly name = 'QuantityError';
}

/**
 * A Kubernetes quantity in milli-units, rounded up like `Quantity.MilliValue()`: "250m" → 250,
 * "2" → 2000, "1Ki" → 1024000, "123456789n" → 124. A number is taken as is (2 → 2000). Exact
 * (BigInt) up to the result; the result is a double. Pure.
 */
export function parseMilli(q: Quantity): number {
  const text = typeof q === 'number' ? numberText(q) : q.trim();
  const m = SHAPE.exec(text);
  if (!m) throw new QuantityError(`${JSON.stringify(q)} is not a quantity`);
  const [, sign, number = '0', exponent, suffix = ''] = m;
  const [whole = '', fraction = ''] = number.split('.');
  let numerator = BigInt(`${whole}${fraction}` || '0') * 1000n;
  let denominator = 10n ** BigInt(fraction.length);
  const ten = exponent ? Number(exponent.slice(1)) : (DECIMAL[suffix] ?? 0);
  if (ten >= 0) numerator *= 10n ** BigInt(ten);
  else denominator *= 10n ** BigInt(-ten);
  if (suffix in BINARY) numerator *= 2n ** BigInt(BINARY[suffix] ?? 0);
  // Round away from zero, as MilliValue does for a positive quantity.
  let milli = (numerator + denominator - 1n) / denominator;
  if (sign === '-') milli = -(numerator / denominator);
  return Number(milli);
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(`${n} is not a quantity`);
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/** Milli-units as a canonical quantity: whole units plainly ("2"), else with an m ("250m"). Pure. */
export function formatMilli(milli: number): string {
  const rounded = Math.ceil(milli);
  return rounded % 1000 === 0 ? String(rounded / 1000) : `${rounded}m`;
}

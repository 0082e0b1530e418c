// Kubernetes resource quantities ("8", "3500m", "7.5", "1e3", "2Ki") and the cores a Node counts for,
// as Tigera's usage reporter counts them: round(status.capacity.cpu) per node.
//
// The grammar (k8s.io/apimachinery/pkg/api/resource): a signed decimal number ("1", "1.5", ".5", "5.")
// then a suffix: binary SI (Ki Mi Gi Ti Pi Ei), decimal SI (n u m "" k M G T P E), or a decimal
// exponent (e3, E-2).

const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/;

const DECIMAL_EXPONENT: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const BINARY_EXPONENT: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** The value of a quantity, or undefined when the text is not one. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY.exec(text.trim());
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponent, suffix] = match;
  if (whole === '' && fraction === '') return undefined; // "", ".", "m"
  // As apimachinery's AsApproximateFloat64 does: the digits as a whole number times a power of ten,
  // so that "3500m" is exactly 3.5 and rounds as Go's math.Round rounds it.
  const digits = Number(`${whole}${fraction}`);
  let power = -fraction.length;
  let binary = 0;
  if (exponent !== undefined) power += Number(exponent);
  else if (suffix !== undefined) {
    if (suffix in BINARY_EXPONENT) binary = BINARY_EXPONENT[suffix] as number;
    else power += DECIMAL_EXPONENT[suffix] as number;
  }
  const value = digits * 10 ** power * 2 ** binary;
  return sign === '-' ? -value : value;
}

/**
 * The cores a Node counts for: round(status.capacity.cpu), halves away from zero (Go's math.Round):
 * "3500m" → 4, "7.5" → 8, "8" → 8. A Node without a CPU capacity counts 0, as in Tigera's reporter
 * (Quantity.Cpu() of a missing entry is zero). undefined when the capacity is not a quantity.
 */
export function nodeCores(capacityCpu: unknown): number | undefined {
  if (capacityCpu === undefined || capacityCpu === null) return 0;
  const value =
    typeof capacityCpu === 'number'
      ? capacityCpu
      : typeof capacityCpu === 'string'
        ? parseQuantity(capacityCpu)
        : undefined;
  if (value === undefined || !Number.isFinite(value)) return undefined;
  return Math.sign(value) * Math.round(Math.abs(value));
}

/**
 * The data arrays of a plotly figure as plain values, for the fallback table.
 * plotly.py sends numeric arrays in plotly.js's typed-array encoding,
 * `{"dtype": "f8", "bdata": "<base64>"}` (little-endian); other arrays are
 * plain JSON lists. Decoding is reading, not computing: the values are the
 * server's.
 */

const TYPED_ARRAYS: {
  [dtype: string]: { new (buffer: ArrayBuffer): ArrayLike<number> };
} = {
  i1: Int8Array,
  u1: Uint8Array,
  u1c: Uint8ClampedArray,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  f4: Float32Array,
  f8: Float64Array
};

/** The values of a trace's data array (`x`, `y`, ...); an empty list for anything else. */
export function traceValues(value: unknown): unknown[] {
  if (Array.isArray(value)) {
    return value;
  }
  if (value === null || typeof value !== 'object') {
    return [];
  }
  const { dtype, bdata } = value as { dtype?: unknown; bdata?: unknown };
  const Typed = typeof dtype === 'string' ? TYPED_ARRAYS[dtype] : undefined;
  if (Typed === undefined || typeof bdata !== 'string') {
    return [];
  }
  const binary = atob(bdata);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return Array.from(new Typed(bytes.buffer));
}

import { traceValues } from '../figureData';

function encode(array: ArrayBufferView): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

describe('traceValues', () => {
  it('passes plain lists through', () => {
    expect(traceValues([1, 'a', null])).toEqual([1, 'a', null]);
  });
  it("decodes plotly.py's typed arrays", () => {
    expect(traceValues({ dtype: 'f8', bdata: encode(new Float64Array([1.5, -2])) })).toEqual([
      1.5, -2
    ]);
    expect(traceValues({ dtype: 'i1', bdata: encode(new Int8Array([64, -1])) })).toEqual([64, -1]);
    expect(traceValues({ dtype: 'u2', bdata: encode(new Uint16Array([7, 65535])) })).toEqual([
      7, 65535
    ]);
    expect(traceValues({ dtype: 'f4', bdata: encode(new Float32Array([0.5])) })).toEqual([0.5]);
  });
  it('reads the histogram the server sends', () => {
    // amount's counts as the server encoded them (int16)
    expect(traceValues({ dtype: 'i2', bdata: 'WQCrAMsA' })).toEqual([89, 171, 203]);
  });
  it('gives nothing for what it cannot read', () => {
    expect(traceValues(undefined)).toEqual([]);
    expect(traceValues('abc')).toEqual([]);
    expect(traceValues({ dtype: 'c16', bdata: 'AAAA' })).toEqual([]);
    expect(traceValues({ dtype: 'f8' })).toEqual([]);
  });
});

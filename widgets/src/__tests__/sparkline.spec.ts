import { sparklinePoints } from '../sparkline';

describe('sparklinePoints', () => {
  it('spans the box: lowest point at the bottom, highest at the top', () => {
    expect(sparklinePoints([1, 3, 2], 42, 12)).toBe('1,11 21,1 41,6');
  });
  it('draws a flat series in the middle', () => {
    expect(sparklinePoints([5, 5], 10, 10)).toBe('1,5 9,5');
  });
  it('draws nothing for no points and skips non-finite ones', () => {
    expect(sparklinePoints([], 10, 10)).toBe('');
    expect(sparklinePoints([NaN, 2], 10, 10)).toBe('1,5');
  });
});

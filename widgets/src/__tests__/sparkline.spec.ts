import { sparklinePoints } from '../sparkline';

describe('sparklinePoints', () => {
  it('spans the box from zero at the bottom to the highest point at the top', () => {
    expect(sparklinePoints([0, 4, 2], 42, 12)).toBe('1,11 21,1 41,6');
    expect(sparklinePoints([2, 4], 10, 10)).toBe('1,5 9,1');
  });
  it('puts the lowest point at the bottom when it is negative', () => {
    expect(sparklinePoints([-2, 2], 10, 10)).toBe('1,9 9,1');
  });
  it('draws a steady series at the top and an all-zero one in the middle', () => {
    expect(sparklinePoints([5, 5], 10, 10)).toBe('1,1 9,1');
    expect(sparklinePoints([0, 0], 10, 10)).toBe('1,5 9,5');
  });
  it('draws nothing for no points and skips non-finite ones', () => {
    expect(sparklinePoints([], 10, 10)).toBe('');
    expect(sparklinePoints([NaN, 2], 10, 10)).toBe('1,1');
  });
});

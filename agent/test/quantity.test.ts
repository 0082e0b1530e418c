import { describe, expect, it } from 'vitest';
import { nodeCores, parseQuantity } from '../src/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['8', 8],
    ['3500m', 3.5],
    ['7.5', 7.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+2', 2],
    ['-1', -1],
    ['250m', 0.25],
    ['100u', 0.0001],
    ['1500000n', 0.0015],
    ['2k', 2000],
    ['1M', 1e6],
    ['1E', 1e18],
    ['1e3', 1000],
    ['15E-1', 1.5],
    ['2Ki', 2048],
    ['1Mi', 1048576],
    [' 4 ', 4],
  ])('%j is %d', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 12);
  });

  it.each(['', 'm', '.', 'eight', '8 cores', '1e', '1.5.2', '1Kb', '--1', '0x10', '1,5'])(
    'rejects %j',
    (text) => {
      expect(parseQuantity(text)).toBeUndefined();
    },
  );
});

describe('nodeCores: round(status.capacity.cpu) per node, as Tigera counts', () => {
  it.each([
    ['8', 8],
    ['3500m', 4], // rounded per node, halves up
    ['2500m', 3],
    ['2499m', 2],
    ['7.5', 8],
    ['4.2', 4],
    ['8.6', 9],
    ['500m', 1],
    ['499m', 0],
    ['96', 96],
    ['1e2', 100],
  ])('%j counts %d', (cpu, cores) => {
    expect(nodeCores(cpu)).toBe(cores);
  });

  it('counts a node without a CPU capacity as 0 and a number as itself; refuses what is not a quantity', () => {
    expect(nodeCores(undefined)).toBe(0);
    expect(nodeCores(null)).toBe(0);
    expect(nodeCores(16)).toBe(16);
    expect(nodeCores('lots')).toBeUndefined();
    expect(nodeCores({ cpu: 8 })).toBeUndefined();
  });

  it('rounds each node before summing: 4.4 + 4.4 → 8, not round(8.8) = 9', () => {
    expect((nodeCores('4.4') ?? 0) + (nodeCores('4400m') ?? 0)).toBe(8);
  });
});

// Per-layer lines are told apart: no two of the first ten layers share a colour, none
// of them is near another in hue and lightness, and layers past ten differ by dash.
import { describe, expect, it } from 'vitest';
import { LAYER_PALETTE, layerLabel, layerStyle } from '../../src/ui/charts/layers';

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const distance = (a: string, b: string) => Math.hypot(...rgb(a).map((x, i) => x - rgb(b)[i]!));

describe('layerStyle', () => {
  it('gives the first ten layers ten colours, every pair apart (RGB distance > 50; the closest, purple and grey, are 56)', () => {
    const colours = Array.from({ length: 10 }, (_, l) => layerStyle(l).color);
    expect(new Set(colours).size).toBe(10);
    for (let a = 0; a < 10; a++) for (let b = a + 1; b < 10; b++) expect(distance(colours[a]!, colours[b]!)).toBeGreaterThan(50);
  });

  it('puts the palette\'s two blues (blue, teal) apart: a small model (depth <= 8) never gets both', () => {
    const first8 = Array.from({ length: 8 }, (_, l) => layerStyle(l).color);
    expect(first8).toContain('#4e79a7');
    expect(first8).not.toContain('#76b7b2');
  });

  it('tells layer l from layer l + 10 by its dash, up to 30 layers', () => {
    const styles = Array.from({ length: 30 }, (_, l) => JSON.stringify(layerStyle(l)));
    expect(new Set(styles).size).toBe(30);
    expect(layerStyle(10).color).toBe(LAYER_PALETTE[0]);
    expect(layerStyle(10).dash).not.toBe(layerStyle(0).dash);
    expect(layerLabel(3)).toBe('L3');
  });
});

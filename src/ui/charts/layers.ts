// How per-layer lines are told apart: a categorical palette (Tableau 10, ordered so
// the first layers get the most different hues: blue, orange, green, red, purple...,
// the teal that reads as a second blue last), and past ten layers a dash pattern too,
// so layer 10 is not layer 0 again. Each line is also labelled at its end (`L3`).
export const LAYER_PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#9c755f', '#ff9da7', '#bab0ac', '#edc948', '#76b7b2'];
const DASHES = [undefined, '6 3', '2 2'];

export function layerStyle(layer: number): { color: string; dash: string | undefined } {
  const n = LAYER_PALETTE.length;
  return { color: LAYER_PALETTE[layer % n]!, dash: DASHES[Math.floor(layer / n) % DASHES.length] };
}

/** The short label at a layer line's end. */
export const layerLabel = (layer: number) => `L${layer}`;

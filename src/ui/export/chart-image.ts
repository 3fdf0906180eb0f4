// A chart of the page as a file. recharts draws SVG: it is serialised on its own, with
// the title and the legend (HTML on the page) drawn into it, a white ground and the
// page's font, so it reads the same anywhere; the PNG is that SVG drawn on a canvas
// at twice its size.
const NS = 'http://www.w3.org/2000/svg';
const TITLE_HEIGHT = 24;
const LEGEND_ROW = 18;
const PAD = 8;

export interface ChartImage {
  svg: string;
  width: number;
  height: number;
}

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The chart inside `container` as a standalone SVG, or null when it has not been drawn. */
export function chartSvg(container: Element, title: string): ChartImage | null {
  const surface = container.querySelector('.recharts-wrapper > svg.recharts-surface');
  if (!surface) return null;
  const box = surface.getBoundingClientRect();
  const width = Math.round(Number(surface.getAttribute('width')) || box.width);
  const chartHeight = Math.round(Number(surface.getAttribute('height')) || box.height);
  const style = getComputedStyle(container);
  const font = `${style.fontSize} ${style.fontFamily}`;
  const legend = [...container.querySelectorAll('.recharts-legend-item-text')]
    .map((span) => ({ text: span.textContent ?? '', color: getComputedStyle(span).color }));
  // the legend in rows, as wide as the chart: each item a swatch and its name
  const measure = document.createElement('canvas').getContext('2d');
  if (measure) measure.font = font;
  const items: { x: number; row: number; text: string; color: string }[] = [];
  let x = PAD, row = 0;
  for (const item of legend) {
    const w = 14 + (measure?.measureText(item.text).width ?? 7 * item.text.length) + 16;
    if (x + w > width && x > PAD) { x = PAD; row++; }
    items.push({ x, row, ...item });
    x += w;
  }
  const rows = legend.length ? row + 1 : 0;
  const height = TITLE_HEIGHT + chartHeight + rows * LEGEND_ROW + (rows ? PAD : 0);
  const out = el('svg', {
    xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': style.fontFamily, 'font-size': style.fontSize,
  });
  out.append(el('rect', { width, height, fill: '#ffffff' }), el('text', { x: PAD, y: 16, 'font-weight': 600, fill: '#1d2330' }, title));
  const chart = surface.cloneNode(true) as SVGElement;
  chart.setAttribute('x', '0');
  chart.setAttribute('y', String(TITLE_HEIGHT));
  chart.setAttribute('width', String(width));
  chart.setAttribute('height', String(chartHeight));
  chart.removeAttribute('style');
  out.append(chart);
  for (const item of items) {
    const y = TITLE_HEIGHT + chartHeight + item.row * LEGEND_ROW + 4;
    out.append(el('rect', { x: item.x, y: y + 2, width: 10, height: 10, fill: item.color }),
      el('text', { x: item.x + 14, y: y + 11, fill: item.color }, item.text));
  }
  return { svg: new XMLSerializer().serializeToString(out), width, height };
}

/** The SVG drawn on a canvas at `scale` times its size, as a PNG. */
export async function svgToPng(image: ChartImage, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([image.svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width * scale;
    canvas.height = image.height * scale;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser gives no 2d canvas');
    ctx.scale(scale, scale);
    ctx.drawImage(img, 0, 0, image.width, image.height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas made no PNG'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

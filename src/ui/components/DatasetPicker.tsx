// The data: the built-in sets, an upload area (file picker, folder picker, drag and
// drop), a grid of sample images and the class balance of what is loaded. The pickers
// are file inputs hidden from sight only: Tab reaches them and Enter or Space opens them.
import { useEffect, useRef } from 'react';
import type { DatasetSource } from '../../engine/config';
import type { DatasetInfo } from '../../engine/data/preview';
import { DATASET_LABELS, keysOf } from '../labels';
import { useStore } from '../store';
import { maxOf } from '../../engine/extremes';

function SampleGrid({ info }: { info: DatasetInfo }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [h, w, c] = info.shape;
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, 8 * w, 2 * h);
    info.samples.forEach((s, k) => {
      const img = ctx.createImageData(w, h);
      for (let p = 0; p < w * h; p++) {
        for (let ch = 0; ch < 3; ch++) img.data[4 * p + ch] = s.pixels[p * c + (c === 1 ? 0 : ch)]!;
        img.data[4 * p + 3] = 255;
      }
      ctx.putImageData(img, (k % 8) * w, Math.floor(k / 8) * h);
    });
  }, [info, h, w, c]);
  return <canvas ref={ref} width={8 * w} height={2 * h} className="samples" data-testid="dataset-samples" />;
}

/**
 * Training images per class, one row per class: its whole name (long ones end in an
 * ellipsis, the full name on hover), a bar and the count. Rows, not columns under
 * 26 px bars: names like `diagonal-stripes` or `automobile` overlapped and were cut.
 */
function Balance({ info }: { info: DatasetInfo }) {
  const max = maxOf(info.balance, 1);
  return (
    <div className="balance" data-testid="dataset-balance" title="training images per class">
      {info.balance.map((n, i) => (
        <div key={i} className="bar" title={`${info.classes[i]}: ${n} training images`}>
          <span data-testid="class-name">{info.classes[i]}</span><i style={{ width: `${(100 * n) / max}%` }} /><b>{n}</b>
        </div>
      ))}
    </div>
  );
}

type Picked = { name: string; path: string; size: number; read: () => Promise<ArrayBuffer> };
const fromFile = (f: File): Picked => ({ name: f.name, path: f.webkitRelativePath || f.name, size: f.size, read: () => f.arrayBuffer() });

export function DatasetPicker() {
  const dataset = useStore((s) => s.dataset);
  const info = useStore((s) => s.datasets[s.dataset]);
  const uploadedName = useStore((s) => s.datasets.upload?.name);
  const uploading = useStore((s) => s.uploading);
  const { chooseDataset, previewDataset, uploadFiles } = useStore.getState();
  // the panel describes what the next run loads: asked again when what shapes the set may
  // have changed (the preset, the seed, a link's fields; the store asks only if it did),
  // and with each new backend (a new worker): a preview the old one had not sent yet went with it
  const backend = useStore((s) => s.backendChoice);
  const preset = useStore((s) => s.preset);
  const seed = useStore((s) => s.seed);
  const extra = useStore((s) => s.extra);
  useEffect(() => { previewDataset(); }, [previewDataset, backend, preset, seed, extra]);
  const onFiles = (list: FileList | null) => { if (list?.length) void uploadFiles([...list].map(fromFile)); };
  return (
    <section className="panel dataset">
      <div className="pick">
        <h2>Data</h2>
        <label>dataset <select data-testid="dataset" value={dataset} onChange={(e) => chooseDataset(e.target.value as DatasetSource)}>
          {keysOf(DATASET_LABELS).map((d) => <option key={d} value={d}>{DATASET_LABELS[d]}</option>)}
          <option value="upload" disabled={!uploadedName}>{uploadedName ? `uploaded: ${uploadedName}` : 'uploaded (none yet)'}</option>
        </select></label>
        <div className="drop" data-testid="drop-zone"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => { e.preventDefault(); onFiles(e.dataTransfer.files); }}>
          Drop CIFAR-10 binary (.bin, .tar.gz), MNIST/Fashion-MNIST IDX (.gz or not) or a zip of class folders here, or
          <label className="file">choose files<input type="file" className="visually-hidden" multiple data-testid="upload" onChange={(e) => { onFiles(e.target.files); e.target.value = ''; }} /></label>
          <label className="file">choose a folder<input type="file" className="visually-hidden" {...{ webkitdirectory: '' }} onChange={(e) => { onFiles(e.target.files); e.target.value = ''; }} /></label>
          {uploading && <span> · reading…</span>}
        </div>
      </div>
      {info && (
        <div className="about" data-testid="dataset-info">
          <div><b>{info.name}</b>: {info.train} train / {info.test} test, {info.shape.join('x')}, {info.classes.length} classes</div>
          <div className="preview"><SampleGrid info={info} /><Balance info={info} /></div>
        </div>
      )}
    </section>
  );
}

// Start the next runs from weights: a model.safetensors (an export's model/ folder, or
// a Hub ViTForImageClassification of the same config) and the config.json beside it.
// The worker checks it whole and against the next run's model; a bad file is named by
// its first bad entry and the weights loaded before stay.
import { formatBytes } from '../../engine/config';
import { printable } from '../../engine/data/names';
import { useStore } from '../store';

export function WeightsPicker() {
  const weights = useStore((s) => s.weights);
  const loading = useStore((s) => s.loadingWeights);
  const before = useStore((s) => s.weightsBeforeReload);
  const { loadWeights, clearWeights } = useStore.getState();
  const onFiles = (list: FileList | null) => {
    if (list?.length) void loadWeights([...list].map((f) => ({ name: f.name, path: f.name, size: f.size, read: () => f.arrayBuffer() })));
  };
  return (
    <section className="weights" data-testid="weights-panel">
      <label className="file" title="a model.safetensors, and the config.json beside it">Load weights
        <input type="file" className="visually-hidden" multiple accept=".safetensors,.json" data-testid="load-weights" onChange={(e) => { onFiles(e.target.files); e.target.value = ''; }} />
      </label>
      <span data-testid="weights">
        {loading ? 'reading…'
          : weights ? <>next runs start from <b>{weights.file}</b> ({weights.tensors} tensors, {formatBytes(weights.bytes)}
            {weights.config ? `, ${weights.config} checked` : ''}{weights.ignored ? `; unused: ${weights.ignored}` : ''})
            {' '}<button data-testid="clear-weights" onClick={clearWeights}>Clear</button></>
            : before ? <>next runs start from a fresh model: <b>{printable(before)}</b>, loaded before the page reloaded, is not kept over a reload (load it again)</>
              : 'next runs start from a fresh model'}
      </span>
    </section>
  );
}

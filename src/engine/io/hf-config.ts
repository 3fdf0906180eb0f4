// Hugging Face's config.json (ViTConfig) and preprocessor_config.json (ViTImageProcessor)
// for our model, and the check of a config.json that comes with a file to import:
// shapes alone cannot tell the number of heads or the LayerNorm epsilon.
import type { ModelConfig } from '../config';
import { modelDims } from '../size';

/** ViTConfig fields <-> our model config: [HF key, our field path, value of ours]. */
function vitFields(m: ModelConfig): [string, string, number | string | boolean][] {
  return [
    ['hidden_size', 'model.width', m.width],
    ['num_hidden_layers', 'model.depth', m.depth],
    ['num_attention_heads', 'model.heads', m.heads],
    ['intermediate_size', 'model.mlpRatio', modelDims(m).mlpWidth],
    ['image_size', 'model.imageSize', m.imageSize],
    ['patch_size', 'model.patchSize', m.patchSize],
    ['num_channels', 'model.channels', m.channels],
    ['layer_norm_eps', 'model.layerNormEps', m.layerNormEps],
    // our GELU is the exact (erf) one, HF's "gelu"; q/k/v have biases
    ['hidden_act', 'the GELU', 'gelu'],
    ['qkv_bias', 'the query/key/value biases', true],
  ];
}

/** config.json of a ViTForImageClassification with our shapes and the dataset's classes. */
export function vitConfigJson(m: ModelConfig, classes: string[]): Record<string, unknown> {
  const fields = Object.fromEntries(vitFields(m).map(([k, , v]) => [k, v]));
  return {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    ...fields,
    hidden_dropout_prob: 0.0,
    attention_probs_dropout_prob: 0.0,
    initializer_range: m.initStd,
    encoder_stride: m.patchSize,
    id2label: Object.fromEntries(classes.map((c, i) => [String(i), c])),
    label2id: Object.fromEntries(classes.map((c, i) => [c, i])),
    problem_type: 'single_label_classification',
    // transformers 5 reads `dtype`, 4 reads `torch_dtype`
    dtype: 'float32',
    torch_dtype: 'float32',
  };
}

/** preprocessor_config.json: our normalisation (x / 255 - 0.5) / 0.5 at our image size. */
export function preprocessorJson(m: ModelConfig): Record<string, unknown> {
  const half = Array.from({ length: m.channels }, () => 0.5);
  return {
    image_processor_type: 'ViTImageProcessor',
    do_resize: true,
    size: { height: m.imageSize, width: m.imageSize },
    resample: 2, // bilinear
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: half,
    image_std: half,
  };
}

/**
 * A config.json value as a message shows it: a number, boolean or (cut) string as JSON,
 * an array or object by its kind and size, never written out (a deeply nested one made
 * JSON.stringify overflow the stack, and the page said only "Maximum call stack size
 * exceeded", naming no file).
 */
function shownValue(x: unknown): string {
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (x !== null && typeof x === 'object') return `an object of ${Object.keys(x).length} keys`;
  return typeof x === 'string' ? JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}...` : x) : String(JSON.stringify(x));
}

/**
 * The differences between a config.json and our model config, each naming the HF key,
 * both values and the field to set; empty when they agree. `num_labels` is checked
 * through id2label, as HF derives it.
 */
export function compareVitConfig(json: unknown, m: ModelConfig): string[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return ['it is not a JSON object'];
  const c = json as Record<string, unknown>;
  const out: string[] = [];
  if (c.model_type !== undefined && c.model_type !== 'vit') out.push(`model_type is ${shownValue(c.model_type)}, not "vit"`);
  for (const [key, field, ours] of vitFields(m)) {
    const theirs = c[key] ?? (key === 'qkv_bias' ? true : undefined); // HF's default
    const same = typeof ours === 'number' && typeof theirs === 'number' ? Math.abs(theirs - ours) <= 1e-12 * Math.max(1, Math.abs(ours)) : theirs === ours;
    if (!same) out.push(`${key} is ${shownValue(theirs)} but this run has ${JSON.stringify(ours)} (${field})`);
  }
  const labels = c.id2label && typeof c.id2label === 'object' ? Object.keys(c.id2label).length : undefined;
  if (labels !== undefined && labels !== m.numClasses) {
    out.push(`it has ${labels} labels but the data has ${m.numClasses} classes (model.numClasses follows the data)`);
  }
  return out;
}

// An independent ViTForImageClassification forward in plain JS (float64), written from
// Hugging Face's ViT as a PyTorch user runs it: Hub-named tensors in Hub layouts (the
// patch embedding a Conv2d [D, C, p, p] over NCHW pixels, linears [out, in]), shapes
// from config.json; and a PEFT LoRA adapter applied as PEFT does,
// y = W x + b + (alpha / r) B (A x) with lora_A [r, in] and lora_B [out, r], each
// module's r and alpha found in rank_pattern / alpha_pattern by PEFT's rule. Nothing
// here comes from the engine: a layout or naming mistake in the export fails against it.

export interface HostT {
  shape: number[];
  data: Float32Array;
}

export interface VitJson {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  image_size: number;
  patch_size: number;
  num_channels: number;
  layer_norm_eps: number;
  hidden_act: string;
  id2label: Record<string, string>;
}

interface Lora {
  A: HostT;
  B: HostT;
  scale: number;
}

/** erf by its Taylor series (|x| < 5; float64 keeps ~1e-9 there), else +-1 (erfc(5) < 2e-12). */
function erf(x: number): number {
  if (Math.abs(x) >= 5) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Each block module's name at run time under PEFT, in transformers 5 and 4, and its Hub name. */
const MODULES: [v5: string, v4: string][] = [
  ['attention.q_proj', 'attention.attention.query'],
  ['attention.k_proj', 'attention.attention.key'],
  ['attention.v_proj', 'attention.attention.value'],
  ['attention.o_proj', 'attention.output.dense'],
  ['mlp.fc1', 'intermediate.dense'],
  ['mlp.fc2', 'output.dense'],
];

/** PEFT's pattern rule: the first key k with `(^|.*\.)k$` matching the module's name. */
function byPattern(pattern: Record<string, number>, name: string): number | undefined {
  const key = Object.keys(pattern).find((k) => new RegExp(`(^|.*\\.)${k}$`).test(name));
  return key === undefined ? undefined : pattern[key];
}

/** The adapters PEFT would build from adapter_config.json and adapter_model.safetensors, by Hub module name. */
export function peftAdapters(
  tensors: Map<string, HostT>, config: Record<string, unknown>, depth: number, naming: 'transformers5' | 'transformers4',
): Map<string, Lora> {
  const targets = config.target_modules as string[];
  const out = new Map<string, Lora>();
  for (let l = 0; l < depth; l++) {
    for (const [v5, v4] of MODULES) {
      const hub = `vit.encoder.layer.${l}.${v4}`;
      const runtime = naming === 'transformers5' ? `vit.layers.${l}.${v5}` : hub;
      if (!targets.some((t) => runtime === t || runtime.endsWith(`.${t}`))) continue;
      const r = byPattern(config.rank_pattern as Record<string, number>, runtime) ?? (config.r as number);
      const alpha = byPattern(config.alpha_pattern as Record<string, number>, runtime) ?? (config.lora_alpha as number);
      const A = tensors.get(`base_model.model.${runtime}.lora_A.weight`);
      const B = tensors.get(`base_model.model.${runtime}.lora_B.weight`);
      if (!A || !B) throw new Error(`adapter has no weights for targeted module ${runtime}`);
      if (A.shape[0] !== r || B.shape[1] !== r) throw new Error(`${runtime}: rank ${r} but lora_A ${A.shape} / lora_B ${B.shape}`);
      out.set(hub, { A, B, scale: alpha / r });
    }
  }
  return out;
}

/** logits [N][classes] for pixel_values [N, C, H, W]. */
export function hfVitLogits(w: Map<string, HostT>, cfg: VitJson, pixels: HostT, adapters = new Map<string, Lora>()): number[][] {
  const D = cfg.hidden_size, p = cfg.patch_size, C = cfg.num_channels, S = cfg.image_size, H = cfg.num_attention_heads;
  const G = S / p, P = G * G, T = P + 1, dh = D / H, eps = cfg.layer_norm_eps;
  if (cfg.hidden_act !== 'gelu') throw new Error(`hidden_act ${cfg.hidden_act}`);
  const get = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    return t.data;
  };
  const linear = (x: number[], name: string): number[] => {
    const W = w.get(`${name}.weight`)!, b = get(`${name}.bias`);
    const [dOut, dIn] = W.shape as [number, number];
    if (x.length !== dIn) throw new Error(`${name}: input ${x.length} vs weight ${W.shape}`);
    const y = Array.from({ length: dOut }, (_, o) => {
      let s = b[o]!;
      for (let i = 0; i < dIn; i++) s += W.data[o * dIn + i]! * x[i]!;
      return s;
    });
    const lora = adapters.get(name);
    if (lora) {
      const r = lora.A.shape[0]!;
      const ax = Array.from({ length: r }, (_, k) => x.reduce((s, v, i) => s + lora.A.data[k * dIn + i]! * v, 0));
      for (let o = 0; o < dOut; o++) y[o]! += lora.scale * ax.reduce((s, v, k) => s + lora.B.data[o * r + k]! * v, 0);
    }
    return y;
  };
  const layerNorm = (x: number[], name: string): number[] => {
    const g = get(`${name}.weight`), b = get(`${name}.bias`);
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / x.length;
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i]! + b[i]!);
  };
  const conv = get('vit.embeddings.patch_embeddings.projection.weight');
  const convBias = get('vit.embeddings.patch_embeddings.projection.bias');
  const cls = get('vit.embeddings.cls_token'), pos = get('vit.embeddings.position_embeddings');
  const N = pixels.shape[0]!;
  const logits: number[][] = [];
  for (let n = 0; n < N; n++) {
    const px = (c: number, y: number, x: number) => pixels.data[((n * C + c) * S + y) * S + x]!;
    let h: number[][] = [Array.from({ length: D }, (_, d) => cls[d]! + pos[d]!)];
    for (let gy = 0; gy < G; gy++) for (let gx = 0; gx < G; gx++) {
      const t = 1 + gy * G + gx;
      h.push(Array.from({ length: D }, (_, d) => {
        let s = convBias[d]!;
        for (let c = 0; c < C; c++) for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) {
          s += conv[((d * C + c) * p + ky) * p + kx]! * px(c, gy * p + ky, gx * p + kx);
        }
        return s + pos[t * D + d]!;
      }));
    }
    for (let l = 0; l < cfg.num_hidden_layers; l++) {
      const at = `vit.encoder.layer.${l}`;
      const a = h.map((x) => layerNorm(x, `${at}.layernorm_before`));
      const q = a.map((x) => linear(x, `${at}.attention.attention.query`));
      const k = a.map((x) => linear(x, `${at}.attention.attention.key`));
      const v = a.map((x) => linear(x, `${at}.attention.attention.value`));
      const ctx = Array.from({ length: T }, () => new Array<number>(D).fill(0));
      for (let head = 0; head < H; head++) {
        const o = head * dh;
        for (let i = 0; i < T; i++) {
          const scores = Array.from({ length: T }, (_, j) => {
            let s = 0;
            for (let e = 0; e < dh; e++) s += q[i]![o + e]! * k[j]![o + e]!;
            return s / Math.sqrt(dh);
          });
          const top = Math.max(...scores);
          const exps = scores.map((s) => Math.exp(s - top));
          const z = exps.reduce((x, y) => x + y, 0);
          for (let j = 0; j < T; j++) for (let e = 0; e < dh; e++) ctx[i]![o + e]! += (exps[j]! / z) * v[j]![o + e]!;
        }
      }
      h = h.map((x, i) => linear(ctx[i]!, `${at}.attention.output.dense`).map((y, d) => y + x[d]!));
      h = h.map((x) => {
        const m = linear(layerNorm(x, `${at}.layernorm_after`), `${at}.intermediate.dense`).map((u) => 0.5 * u * (1 + erf(u / Math.SQRT2)));
        return linear(m, `${at}.output.dense`).map((y, d) => y + x[d]!);
      });
    }
    logits.push(linear(layerNorm(h[0]!, 'vit.layernorm'), 'classifier'));
  }
  return logits;
}

// PEFT LoRA configuration for the adapters PreLoRA made: the keyword arguments of
// `peft.LoraConfig` (ranks and alphas per module as PreLoRA assigned them, the exact
// modules it switched) and the adapter_config.json that `PeftModel.from_pretrained` reads.
import { patternKey, type PeftNaming } from './hf-names';

export interface AdapterSpec {
  /** module id `blocks.<l>.<family>` */
  id: string;
  rank: number;
  alpha: number;
}

/**
 * `LoraConfig(**kwargs)` for `get_peft_model`: every switched module by its exact
 * run-time name (a family suffix would also catch modules that never switched, and
 * under transformers 4 `output.dense` would catch `attention.output.dense` too), each
 * with its rank and alpha in `rank_pattern` / `alpha_pattern`; `r` and `lora_alpha`
 * (PEFT's defaults for anything unmatched) are the most common rank and its alpha.
 */
export function loraKwargs(adapters: AdapterSpec[], naming: PeftNaming): Record<string, unknown> {
  const count = new Map<number, number>();
  for (const a of adapters) count.set(a.rank, (count.get(a.rank) ?? 0) + 1);
  const r = [...count].sort((x, y) => y[1] - x[1] || x[0] - y[0])[0]?.[0] ?? 8;
  const keyed = adapters.map((a) => [patternKey(a.id, naming), a] as const);
  return {
    r,
    lora_alpha: adapters.find((a) => a.rank === r)?.alpha ?? r,
    target_modules: keyed.map(([k]) => k),
    rank_pattern: Object.fromEntries(keyed.map(([k, a]) => [k, a.rank])),
    alpha_pattern: Object.fromEntries(keyed.map(([k, a]) => [k, a.alpha])),
    lora_dropout: 0.0,
    bias: 'none',
  };
}

/** adapter_config.json of a trained adapter: LoraConfig plus what PEFT saves beside it. */
export function adapterConfigJson(adapters: AdapterSpec[], naming: PeftNaming): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: null,
    inference_mode: true,
    ...loraKwargs(adapters, naming),
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
  };
}

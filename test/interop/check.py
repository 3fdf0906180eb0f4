"""Check a PreLoRA Playground export against PyTorch: do Hugging Face transformers and
peft, loading the exported files, give the logits our engine gave?

usage: python3 test/interop/check.py EXPORT_DIR [--tol 1e-4]

EXPORT_DIR is what `npm run train -- --export EXPORT_DIR` writes:
  model/               ViTForImageClassification (model.safetensors, config.json,
                       preprocessor_config.json), LoRA merged
  base/, adapter/      the un-merged model and its PEFT LoRA adapter (only when some
                       module switched to LoRA)
  plan.json            the PreLoRA plan; "peft" holds LoraConfig keyword arguments
  interop.safetensors  pixel_values [N, C, H, W] float32 (normalised, as ViT takes them),
                       images [N, H, W, C] uint8 (raw), labels [N] int32, and
                       logits [N, classes] float32: our engine's, adapters applied
Needs torch, transformers, peft and safetensors (written against transformers 5.17 and
peft 0.21). The adapter's module names are for one transformers major version
(interop.safetensors' metadata "peft_names"; `--peft-names 4` exports for 4.x).

Checks, each printing max |torch - ours| over all logits:
  1. model/ through ViTForImageClassification.from_pretrained        (must be < tol)
  2. base/ + adapter/ through PeftModel.from_pretrained               (must be < tol)
     and every tensor of adapter_model.safetensors loaded unchanged
  3. plan.json's LoraConfig through get_peft_model: the planned rank and scale on
     every planned module, and nowhere else
  4. the image processor of preprocessor_config.json turns `images` into
     `pixel_values` (resize off: the images already have the model's size)
Exit 0 when every check passes, 1 when one fails, 2 on a usage error.
Runs on the CPU in float32 with eager attention, so nothing but the model differs.
"""
import argparse
import json
import os
import sys

import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import ViTForImageClassification

failures = []


def report(name, diff, tol, what=''):
    ok = diff < tol
    print(f"{'PASS' if ok else 'FAIL'} {name}: max |torch - ours| = {diff:.3e} (tolerance {tol:g}){what}")
    if not ok:
        failures.append(name)


def fail(name, message):
    print(f'FAIL {name}: {message}')
    failures.append(name)


def load_vit(path):
    model = ViTForImageClassification.from_pretrained(path, attn_implementation='eager')
    return model.float().eval()


def logits_of(model, pixels):
    with torch.no_grad():
        return model(pixel_values=pixels).logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('export_dir')
    parser.add_argument('--tol', type=float, default=1e-4)
    args = parser.parse_args()
    root, tol = args.export_dir, args.tol
    bundle_path = os.path.join(root, 'interop.safetensors')
    if not os.path.isfile(bundle_path):
        print(f'{bundle_path}: not found: give the folder that `npm run train -- --export DIR` wrote', file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    bundle = load_file(bundle_path)
    with safe_open(bundle_path, framework='pt') as f:
        meta = f.metadata() or {}
    pixels, ours = bundle['pixel_values'].float(), bundle['logits'].float()
    major = int(transformers.__version__.split('.')[0])
    naming = meta.get('peft_names', 'transformers5')
    print(f'transformers {transformers.__version__}, torch {torch.__version__}; export from backend '
          f"{meta.get('backend', '?')}, adapter names for {naming}; {pixels.shape[0]} images {tuple(pixels.shape[1:])}")

    # 1. the merged model
    merged = load_vit(os.path.join(root, 'model'))
    report('model/ (LoRA merged)', (logits_of(merged, pixels) - ours).abs().max().item(), tol)

    # 2. base + adapter
    adapter_dir = os.path.join(root, 'adapter')
    if os.path.isdir(adapter_dir):
        if naming != f'transformers{major}':
            print(f'note: the adapter was exported for {naming} but this is transformers {major}: '
                  f'its module names will not match (export with --peft-names {major})')
        base = load_vit(os.path.join(root, 'base'))
        alone = (logits_of(base, pixels) - ours).abs().max().item()
        try:
            model = PeftModel.from_pretrained(base, adapter_dir).eval()
        except Exception as err:
            fail('adapter load', f'PeftModel.from_pretrained: {type(err).__name__}: {err}')
            return finish()
        state = model.state_dict()
        saved = load_file(os.path.join(adapter_dir, 'adapter_model.safetensors'))
        for key, tensor in saved.items():
            loaded = key.replace('.lora_A.weight', '.lora_A.default.weight').replace('.lora_B.weight', '.lora_B.default.weight')
            if loaded not in state:
                fail('adapter load', f'{key}: no {loaded} in the PEFT model (module names for another transformers version?)')
            elif not torch.equal(state[loaded].float().cpu(), tensor.float()):
                fail('adapter load', f'{key} was loaded with other values')
        if 'adapter load' not in failures:
            print(f'PASS adapter load: {len(saved)} tensors loaded unchanged')
        report('base/ + adapter/ (PEFT)', (logits_of(model, pixels) - ours).abs().max().item(), tol,
               f'; base/ alone is {alone:.3e} off, so the adapter matters' if alone > 10 * tol
               else f'; base/ alone is only {alone:.3e} off: this check cannot tell a lost adapter')
    else:
        print('no adapter/ (no module switched to LoRA): checks 2 and 3 skipped')

    # 3. the plan's LoraConfig
    with open(os.path.join(root, 'plan.json')) as f:
        plan = json.load(f)
    kwargs = (plan.get('peft') or {}).get(f'transformers{major}')
    if kwargs:
        wrapped = get_peft_model(load_vit(os.path.join(root, 'model')), LoraConfig(**kwargs))
        planned = {'vit.' + m['peft'][f'transformers{major}']: m for m in plan['modules'] if m['switchStep'] is not None}
        found = {}
        for name, module in wrapped.base_model.model.named_modules():
            if hasattr(module, 'r') and isinstance(module.r, dict) and 'default' in module.r:
                found[name] = (module.r['default'], module.scaling['default'])
        wrong = [n for n, m in planned.items() if found.get(n) != (m['rank'], m['alpha'] / m['rank'])]
        extra = sorted(set(found) - set(planned))
        if wrong or extra:
            fail('plan LoraConfig', f'rank/scale differ on {wrong[:3]}, adapters where none was planned: {extra[:3]}')
        else:
            print(f'PASS plan LoraConfig: get_peft_model puts the planned rank and scale on all {len(planned)} modules, no others')

    # 4. the image processor
    try:
        from transformers import AutoImageProcessor
        processor = AutoImageProcessor.from_pretrained(os.path.join(root, 'model'))
        size = pixels.shape[-1]
        if processor.size.get('height') != size or processor.size.get('width') != size:
            fail('image processor', f'size {processor.size}, but the model takes {size}x{size}')
        images = [img.numpy() for img in bundle['images']]
        out = processor(images=images, do_resize=False, return_tensors='pt', input_data_format='channels_last')['pixel_values']
        report('image processor', (out.float() - pixels).abs().max().item(), tol)
    except Exception as err:  # the check of the logits does not depend on it
        print(f'SKIP image processor: {type(err).__name__}: {err}')

    return finish()


def finish():
    print('all checks passed' if not failures else f'{len(failures)} check(s) failed: {", ".join(failures)}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())

"""Make test/fixtures/hf-vit-micro/: a ViTForImageClassification of the `micro` shape
written by transformers itself (save_pretrained, float32 and bfloat16) and PyTorch's
logits for fixed inputs, so the Node tests can check that importing a real Hugging
Face checkpoint gives PyTorch's logits in our engine.

usage: python3 test/interop/make_fixture.py EXPORT_DIR OUT_DIR
EXPORT_DIR is an export of `npm run train -- --preset micro --export EXPORT_DIR`
(its model/config.json gives the shape, its interop.safetensors the inputs).
Made with transformers 5.17.0 and torch 2.11.0.
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from transformers import ViTConfig, ViTForImageClassification

export_dir, out = sys.argv[1], sys.argv[2]
config = ViTConfig.from_pretrained(os.path.join(export_dir, 'model'))
torch.manual_seed(0)
model = ViTForImageClassification(config).float().eval()
# HF's own init leaves biases zero and weights small: perturb all so a layout error shows
with torch.no_grad():
    for _, p in model.named_parameters():
        p.add_(torch.randn_like(p) * 0.05)
os.makedirs(out, exist_ok=True)
model.save_pretrained(os.path.join(out, 'f32'))
x = load_file(os.path.join(export_dir, 'interop.safetensors'))['pixel_values']
with torch.no_grad():
    logits = model(pixel_values=x).logits
model.to(torch.bfloat16).save_pretrained(os.path.join(out, 'bf16'))
with torch.no_grad():
    logits_bf16 = model.float()(pixel_values=x).logits  # the bf16-rounded weights, computed in float32
save_file({'pixel_values': x.contiguous(), 'logits': logits.contiguous(), 'logits_bf16_weights': logits_bf16.contiguous()},
          os.path.join(out, 'logits.safetensors'))
# then: f32/model.safetensors -> model-f32.safetensors, bf16/model.safetensors -> model-bf16.safetensors,
# f32/config.json -> config.json

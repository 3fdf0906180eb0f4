"""PyTorch reference for `npm run bench`: the same ViT, batch and optimiser as the
tfjs engine (src/engine/vit.ts), run eagerly in fp32 with TF32 off, in its two phases:
full training, and LoRA (every block linear frozen with a rank-r adapter, r = the
config's static rank). It measures what the tfjs bench measures per phase: samples/s
in steady state, host ms per step, the kernels' own device time per step (profiler),
peak memory and the trainable share.

usage: python3 torch_reference.py CONFIG.json [--out FILE] [--steps 30] [--warm 5]
CONFIG.json is what `npm run bench -- ... --print-config` prints, so both sides run
one config. The data are random images kept on the device (the reference measures the
model, not a data pipeline); tfjs uploads each batch from JS memory, as the page does.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FAMILIES = ('query', 'key', 'value', 'output', 'fc1', 'fc2')


class Linear(nn.Module):
    """y = x W + b (+ scale * (x A) B): W stored [in, out] as in the engine."""

    def __init__(self, d_in, d_out, std):
        super().__init__()
        self.weight = nn.Parameter(nn.init.trunc_normal_(torch.empty(d_in, d_out), std=std, a=-2 * std, b=2 * std))
        self.bias = nn.Parameter(torch.zeros(d_out))
        self.A = self.B = None
        self.scale = 0.0

    def add_adapter(self, rank, alpha):
        # A Kaiming-uniform (bound 1/sqrt(d_in)) and B zero, as the engine and PEFT
        d_in, d_out = self.weight.shape
        bound = 1 / math.sqrt(d_in)
        self.A = nn.Parameter(torch.empty(d_in, rank, device=self.weight.device).uniform_(-bound, bound))
        self.B = nn.Parameter(torch.zeros(rank, d_out, device=self.weight.device))
        self.scale = alpha / rank
        self.weight.requires_grad_(False)
        self.bias.requires_grad_(False)

    def forward(self, x):
        y = torch.addmm(self.bias, x, self.weight)
        if self.A is not None:
            y = y + self.scale * ((x @ self.A) @ self.B)
        return y


class Block(nn.Module):
    def __init__(self, m):
        super().__init__()
        D, F_ = m['width'], m['width'] * m['mlpRatio']
        std = m['initStd']
        self.heads = m['heads']
        self.norm1 = nn.LayerNorm(D, eps=m['layerNormEps'])
        self.norm2 = nn.LayerNorm(D, eps=m['layerNormEps'])
        dims = dict(query=(D, D), key=(D, D), value=(D, D), output=(D, D), fc1=(D, F_), fc2=(F_, D))
        self.lin = nn.ModuleDict({f: Linear(*dims[f], std) for f in FAMILIES})

    def forward(self, h, B, T):
        D = h.shape[-1]
        H, dh = self.heads, D // self.heads
        a = self.norm1(h)
        split = lambda t: t.view(B, T, H, dh).transpose(1, 2)
        q = split(self.lin['query'](a) * (1 / math.sqrt(dh)))
        k, v = split(self.lin['key'](a)), split(self.lin['value'](a))
        mixed = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
        h = h + self.lin['output'](mixed.transpose(1, 2).reshape(B * T, D))
        return h + self.lin['fc2'](F.gelu(self.lin['fc1'](self.norm2(h))))


class ViT(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m
        D, p, C = m['width'], m['patchSize'], m['channels']
        self.grid = m['imageSize'] // p
        self.patches = self.grid * self.grid
        std = m['initStd']
        tn = lambda *shape: nn.Parameter(nn.init.trunc_normal_(torch.empty(*shape), std=std, a=-2 * std, b=2 * std))
        self.patch_embed = Linear(p * p * C, D, std)
        self.cls_token = tn(1, 1, D)
        self.positions = tn(1, self.patches + 1, D)
        self.blocks = nn.ModuleList(Block(m) for _ in range(m['depth']))
        self.final_norm = nn.LayerNorm(D, eps=m['layerNormEps'])
        self.classifier = Linear(D, m['numClasses'], std)

    def forward(self, x):  # x [B, H, W, C], as the engine's input
        m = self.m
        B, G, p, C, D = x.shape[0], self.grid, m['patchSize'], m['channels'], m['width']
        P, T = self.patches, self.patches + 1
        patches = x.reshape(B * G, p, G, p * C).permute(0, 2, 1, 3).reshape(B * P, p * p * C)
        tokens = self.patch_embed(patches).view(B, P, D)
        h = (torch.cat([self.cls_token.expand(B, 1, D), tokens], 1) + self.positions).reshape(B * T, D)
        for blk in self.blocks:
            h = blk(h, B, T)
        return self.classifier(self.final_norm(h.view(B, T, D)[:, 0]))


def set_precision():
    # fp32 throughout, as tfjs-WebGPU (no TF32 tensor cores)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision('highest')


def lr_at(step, cfg):
    o, s = cfg['optim'], cfg['schedule']
    if step < s['warmupSteps']:
        return o['lr'] * (step + 1) / s['warmupSteps']
    progress = min(1, (step - s['warmupSteps']) / max(1, s['steps'] - s['warmupSteps']))
    floor = o['lr'] * s['minLrRatio']
    return floor + 0.5 * (o['lr'] - floor) * (1 + math.cos(math.pi * progress))


def measure(cfg, phase, dev, steps, warm):
    torch.manual_seed(cfg['seed'])
    m, o, pl = cfg['model'], cfg['optim'], cfg['prelora']
    model = ViT(m).to(dev)
    # the trainable share's denominator: the base model, before any adapter (the engine's trainable-share.ts)
    base_params = sum(p.numel() for p in model.parameters())
    if phase == 'lora':
        rank = pl['rank']
        alpha = pl['alpha'] if pl['alpha'] is not None else rank
        for blk in model.blocks:
            for f in pl['targets']:
                blk.lin[f].add_adapter(rank, alpha)
    params = [p for p in model.parameters() if p.requires_grad]
    # decoupled weight decay on matrices only, as the engine
    groups = [dict(params=[p for p in params if p.ndim == 2], weight_decay=o['weightDecay']),
              dict(params=[p for p in params if p.ndim != 2], weight_decay=0.0)]
    opt = torch.optim.AdamW(groups, lr=o['lr'], betas=(o['beta1'], o['beta2']), eps=o['epsilon'])
    B, S, C = o['batchSize'], m['imageSize'], m['channels']
    n = max(B * 8, 1024)
    images = torch.randn(n, S, S, C, device=dev)
    labels = torch.randint(0, m['numClasses'], (n,), device=dev)
    gen = torch.Generator(device=dev).manual_seed(cfg['seed'])
    counter = [0]

    def step():
        idx = torch.randint(0, n, (B,), device=dev, generator=gen)
        for g in opt.param_groups:
            g['lr'] = lr_at(counter[0], cfg)
        counter[0] += 1
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images[idx]), labels[idx], label_smoothing=o['labelSmoothing'])
        loss.backward()
        if o['clipNorm'] > 0:
            torch.nn.utils.clip_grad_norm_(params, o['clipNorm'])
        opt.step()
        return loss

    sync = torch.cuda.synchronize if dev == 'cuda' else (lambda: None)
    for _ in range(warm):
        step()
    sync()
    if dev == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    loss.item()  # like the engine's read-back of the losses
    sync()
    host_ms = (time.perf_counter() - t0) * 1000 / steps
    device_ms = None
    if dev == 'cuda':
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            sync()
        total_us = 0.0
        for e in prof.key_averages():
            total_us += getattr(e, 'self_device_time_total', None) or getattr(e, 'self_cuda_time_total', 0)
        device_ms = total_us / 1000
    return dict(samplesPerSec=B * 1000 / host_ms, hostMsPerStep=host_ms, deviceMsPerStep=device_ms,
                peakBytes=torch.cuda.max_memory_allocated() if dev == 'cuda' else None,
                trainableShare=sum(p.numel() for p in params) / base_params, lossLast=loss.item())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('config')
    ap.add_argument('--out')
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--warm', type=int, default=5)
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    set_precision()
    report = dict(
        torch=torch.__version__, cuda=torch.version.cuda,
        device=torch.cuda.get_device_name(0) if a.device == 'cuda' else 'cpu',
        batchSize=cfg['optim']['batchSize'], model=cfg['model'], rank=cfg['prelora']['rank'], targets=cfg['prelora']['targets'],
        steps=a.steps, warm=a.warm,
        phases={phase: measure(cfg, phase, a.device, a.steps, a.warm) for phase in ('full', 'lora')},
    )
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()

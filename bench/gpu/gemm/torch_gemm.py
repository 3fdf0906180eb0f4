# cuBLAS (PyTorch, fp32, TF32 off) on the GEMM microbenchmarks' shapes [M, K, N]: the
# forward x W + b (fwd), the input gradient dy W^T (ig) and the weight gradient x^T dy
# (wg: rows M, din K, dout N); us a product, the least of 3 runs of 20.
import json, os, torch
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
shapes = json.loads(os.environ.get('SHAPES', '[[8320,192,192],[8320,192,768],[8320,768,192],[8320,384,384],[8320,384,1536],[8320,1536,384]]'))
out = []
for M, K, N in shapes:
    for kind in ('fwd', 'ig', 'wg'):
        a = torch.randn(M, K, device='cuda')
        b = torch.randn(K, N, device='cuda') if kind == 'fwd' else torch.randn(N, K, device='cuda') if kind == 'ig' else torch.randn(M, N, device='cuda')
        bias = torch.randn(N, device='cuda')
        f = {'fwd': lambda: torch.addmm(bias, a, b), 'ig': lambda: torch.mm(a, b.t()), 'wg': lambda: torch.mm(a.t(), b)}[kind]
        for _ in range(5): f()
        ts = []
        for _ in range(3):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            for _ in range(20): f()
            e.record(); torch.cuda.synchronize()
            ts.append(s.elapsed_time(e) * 1000 / 20)
        us = min(ts)
        out.append(dict(M=M, K=K, N=N, kind=kind, fwd=kind == 'fwd', us=us, tflops=2 * M * N * K / us / 1e6))
        print(f"torch {kind:3} M{M} K{K} N{N} {us:8.1f} us {2*M*N*K/us/1e6:5.1f} TF")
json.dump(out, open(os.environ.get('OUTFILE', 'torch-gemm.json'), 'w'), indent=1)

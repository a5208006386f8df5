"""PyTorch reference timings for docs/performance.md (never run by the product or CI).

Same cases as bench/bench.ts: one pix2pix train step (G step + D step, Adam,
LSGAN + 100 L1, reuse of the detached fake) at 64x1 (depth 6), 128x4 (depth 7),
256x1 (depth 8), and one generator forward (eval) at 256 and 512; 2 threads,
median of --runs after one warm-up. The networks come from the fixture script
(test/fixtures/pix2pix/make_fixtures.py), which mirrors PyTorch-GAN's models.

    python3 bench/pytorch_bench.py [--runs 3] [--json]
"""
import argparse
import importlib.util
import json
import pathlib
import statistics
import time

import torch

root = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mf", root / "test/fixtures/pix2pix/make_fixtures.py")
mf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mf)


def train_case(size, batch, runs):
    depth = min(8, size.bit_length() - 1)
    G = mf.GeneratorUNet(3, 3, 64, depth).train()
    D = mf.Discriminator(3, 64).train()
    G.apply(mf.weights_init_normal)
    D.apply(mf.weights_init_normal)
    oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    mse, l1 = torch.nn.MSELoss(), torch.nn.L1Loss()
    a = torch.rand(batch, 3, size, size) * 2 - 1
    b = torch.rand(batch, 3, size, size) * 2 - 1
    ones = torch.ones(batch, 1, size // 16, size // 16)
    zeros = torch.zeros_like(ones)
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        oG.zero_grad()
        fake = G(a)
        lg = mse(D(fake, a), ones) + 100 * l1(fake, b)
        lg.backward()
        oG.step()
        oD.zero_grad()
        ld = 0.5 * (mse(D(b, a), ones) + mse(D(fake.detach(), a), zeros))
        ld.backward()
        oD.step()
        lg.item(), ld.item()
        if i > 0:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def forward_case(size, runs):
    G = mf.GeneratorUNet(3, 3, 64, 8).eval()
    x = torch.rand(1, 3, size, size) * 2 - 1
    times = []
    with torch.no_grad():
        for i in range(runs + 1):
            t0 = time.perf_counter()
            G(x).sum().item()
            if i > 0:
                times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(2)
    out = {
        "backend": f"pytorch {torch.__version__} ({torch.get_num_threads()} threads)",
        "trainStepMs": {f"{s}x{b}": round(train_case(s, b, args.runs)) for s, b in [(64, 1), (128, 4), (256, 1)]},
        "generatorForwardMs": {str(s): round(forward_case(s, args.runs)) for s in [256, 512]},
    }
    print(json.dumps(out, indent=2 if args.json else None))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Run the four benchmark workloads in staticnn, PyTorch and candle on this
machine, one after the other, and print one table of the results.

    python3 scripts/compare.py                 # everything (about 10 minutes the first time)
    python3 scripts/compare.py --only W1       # one workload
    python3 scripts/compare.py --venv /path    # reuse a virtual environment that has torch

- staticnn: `cargo bench --bench workloads` (criterion); the mean time per
  batch is read from target/criterion/<workload>/threads/<n>/new/estimates.json.
- PyTorch: this script again, inside a virtual environment it creates
  (`.bench-venv`, `pip install torch`), with `--torch-worker`.
- candle: the program in benchmarks/candle (its own cargo project, outside
  the workspace so the normal build never compiles candle), once per thread
  count through RAYON_NUM_THREADS.

Workloads (f32, inputs uniform in [0, 1), labels 0..9, SGD lr 0.05):
W1 train MLP 784-128-10 at batch 64; W2 train MLP 784-1000-500-250-10 at
batch 128; W3 train LeNet-5 at batch 64; W4 inference with W1's MLP at
batch 1 (latency) and batch 256 (throughput); W5 train the `resnet`
example's small ResNet at batch 64 (no candle twin).

    python3 scripts/compare.py --isa avx2      # both sides held to AVX2 (no candle)

Ratios are throughput ratios, staticnn over the other (higher is better
for staticnn); for W4 at batch 1 a ratio of 3.0 means a third of the
latency.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS = (1, 2)
# (name, batch size) in table order.
WORKLOADS = [("W1", 64), ("W2", 128), ("W3", 64), ("W4_b1", 1), ("W4_b256", 256), ("W5", 64)]
# Criterion group of a workload, where it is not the workload's name (W5 is
# the `resnet` example's network, which benches/workloads.rs calls ResNet).
BENCH_GROUP = {"W5": "ResNet"}
# --isa: what each side is held to. PyTorch reads ATEN_CPU_CAPABILITY for its
# own kernels and MKL_ENABLE_INSTRUCTIONS for MKL's; staticnn STATICNN_CPU.
ISA_ENV = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "STATICNN_CPU": "avx2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "MKL_ENABLE_INSTRUCTIONS": "AVX512",
               "STATICNN_CPU": "avx512"},
}


# When the script started: criterion results older than this are stale.
START = time.time()


def wanted(workload: str, only: str) -> bool:
    """Whether `--only` selects `workload` ("W4" selects W4_b1 and W4_b256,
    "W4_b1" selects W4)."""
    return workload.startswith(only) or only.startswith(workload)


# ---------------------------------------------------------------- PyTorch side


def torch_mlp(nn, widths):
    """The PyTorch twin of W1's and W2's MLPs: Linear layers with ReLU
    between them."""
    layers = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_lenet(nn):
    """The PyTorch twin of W3 (the `lenet` example's LeNet-5)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def torch_resnet(nn):
    """The PyTorch twin of the `resnet` example's network (examples/common):
    a 3x3 stride-2 stem to 16 channels, a residual block at 14x14, a
    stride-2 residual block to 32 channels at 7x7 with a 1x1 projection,
    global average pooling and a linear layer."""

    def conv(cin, cout, k=3, stride=1):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(
                conv(cin, cout, 3, stride), nn.BatchNorm2d(cout), nn.ReLU(),
                conv(cout, cout), nn.BatchNorm2d(cout),
            )
            self.downsample = (
                nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))
                if stride != 1 or cin != cout else nn.Identity()
            )

        def forward(self, x):
            return self.body(x) + self.downsample(x)

    return nn.Sequential(
        conv(1, 16, 3, 2), nn.BatchNorm2d(16), nn.ReLU(),
        Block(16, 16, 1), nn.ReLU(),
        Block(16, 32, 2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, 10),
    )


def torch_worker(only: str) -> None:
    """Time the workloads in PyTorch; print one JSON object per line."""
    import torch

    nn = torch.nn

    def mlp(widths):
        return torch_mlp(nn, widths)

    def lenet():
        return torch_lenet(nn)

    def resnet():
        return torch_resnet(nn)

    def timed(step, budget=3.0):
        for _ in range(20):
            step()
        calls, start = 0, time.perf_counter()
        while calls < 20 or time.perf_counter() - start < budget:
            step()
            calls += 1
        return (time.perf_counter() - start) / calls

    def data(dims):
        g = torch.Generator().manual_seed(7)
        return torch.rand(*dims, generator=g), torch.arange(dims[0]) % 10

    def report(name, threads, batch, secs):
        print(json.dumps({"workload": name, "threads": threads,
                          "samples_per_s": batch / secs, "us_per_batch": secs * 1e6}),
              flush=True)

    def train(name, threads, net, dims):
        torch.manual_seed(0)
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        loss = nn.CrossEntropyLoss()
        x, y = data(dims)

        def step():
            opt.zero_grad()
            loss(net(x), y).backward()
            opt.step()

        report(name, threads, dims[0], timed(step))

    def infer(threads, batch):
        net = mlp([784, 128, 10]).eval()
        x, _ = data((batch, 784))

        def step():
            with torch.inference_mode():
                net(x)

        report(f"W4_b{batch}", threads, batch, timed(step, 2.0))

    print(json.dumps({"version": torch.__version__}), flush=True)
    for threads in THREADS:
        torch.set_num_threads(threads)
        if wanted("W1", only):
            train("W1", threads, mlp([784, 128, 10]), (64, 784))
        if wanted("W2", only):
            train("W2", threads, mlp([784, 1000, 500, 250, 10]), (128, 784))
        if wanted("W3", only):
            train("W3", threads, lenet(), (64, 1, 28, 28))
        if wanted("W4", only):
            infer(threads, 1)
            infer(threads, 256)
        if wanted("W5", only):
            train("W5", threads, resnet(), (64, 1, 28, 28))


# ------------------------------------------------------------------- drivers


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        run([str(python), "-m", "pip", "install", "--quiet", "torch"])
    return python


def json_lines(text: str):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            yield json.loads(line)


def torch_results(venv: Path, only: str, env=None):
    python = ensure_venv(venv)
    out = run([str(python), __file__, "--torch-worker", "--only", only],
              capture_output=True, text=True, env=env).stdout
    results, version = {}, "?"
    for r in json_lines(out):
        if "version" in r:
            version = r["version"]
        else:
            results[(r["workload"], r["threads"])] = r["samples_per_s"]
    return results, version


def staticnn_results(only: str, env=None):
    groups = "|".join(BENCH_GROUP.get(n, n) for n, _ in WORKLOADS if wanted(n, only))
    run(["cargo", "bench", "--bench", "workloads", "--", "--noplot", f"^({groups})/"], cwd=ROOT, env=env)
    results = {}
    for name, batch in WORKLOADS:
        for threads in THREADS:
            group = BENCH_GROUP.get(name, name)
            est = ROOT / "target" / "criterion" / group / "threads" / str(threads) / "new" / "estimates.json"
            if est.exists() and est.stat().st_mtime > START:
                ns = json.loads(est.read_text())["mean"]["point_estimate"]
                results[(name, threads)] = batch / (ns * 1e-9)
    return results


def candle_results(only: str):
    manifest = ROOT / "benchmarks" / "candle" / "Cargo.toml"
    run(["cargo", "build", "--release", "--quiet", "--manifest-path", str(manifest)])
    binary = ROOT / "benchmarks" / "candle" / "target" / "release" / "staticnn-candle-bench"
    results = {}
    for threads in THREADS:
        env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
        out = run([str(binary), only], env=env, capture_output=True, text=True).stdout
        for r in json_lines(out):
            results[(r["workload"], threads)] = r["samples_per_s"]
    return results


def cell(v):
    return "-" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def table(ours, torch, candle, torch_version):
    head = ["workload", "threads", "staticnn", f"PyTorch {torch_version}", "candle",
            "staticnn/PyTorch", "staticnn/candle"]
    rows = []
    for name, batch in WORKLOADS:
        for threads in THREADS:
            key = (name, threads)
            if key not in ours and key not in torch and key not in candle:
                continue
            o, t, c = ours.get(key), torch.get(key), candle.get(key)
            label = name.replace("_", " ") + (" (samples/s)" if batch > 1 else " (samples/s = 1e6/us)")
            rows.append([label, str(threads), cell(o), cell(t), cell(c), ratio(o, t), ratio(o, c)])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def latency_lines(ours, torch, candle):
    out = []
    for threads in THREADS:
        vals = [d.get(("W4_b1", threads)) for d in (ours, torch, candle)]
        if any(v is not None for v in vals):
            us = ["-" if v is None else f"{1e6 / v:.2f} us" for v in vals]
            out.append(f"W4 batch-1 latency, {threads} thread(s): staticnn {us[0]}, "
                       f"PyTorch {us[1]}, candle {us[2]}")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="", help="run only workloads whose name starts with this (W1, W4, ...)")
    p.add_argument("--venv", type=Path, default=Path(os.environ.get("STATICNN_BENCH_VENV", ROOT / ".bench-venv")),
                   help="virtual environment for PyTorch (created if missing)")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-candle", action="store_true")
    p.add_argument("--isa", choices=sorted(ISA_ENV),
                   help="hold staticnn and PyTorch to one instruction set (candle is then left out)")
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        torch_worker(args.only)
        return
    env = dict(os.environ, **ISA_ENV[args.isa]) if args.isa else None
    ours = staticnn_results(args.only, env)
    torch, version = ({}, "-") if args.no_torch else torch_results(args.venv, args.only, env)
    # candle's gemm picks its kernels by CPU feature with no override.
    candle = {} if args.no_candle or args.isa else candle_results(args.only)
    if args.isa:
        print(f"\nboth sides held to {args.isa}: {ISA_ENV[args.isa]}")
    print()
    print(table(ours, torch, candle, version))
    print()
    print(latency_lines(ours, torch, candle))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Run staticnn's GPU test suite and GPU benchmarks on a machine with an
NVIDIA GPU, and print a short table: training throughput on the GPU, on the
CPU (one thread and every core) and, where PyTorch with CUDA is installed,
PyTorch on the same GPU.

    python3 scripts/gpu.py                  # tests, then benchmarks
    python3 scripts/gpu.py --skip-tests     # benchmarks only
    python3 scripts/gpu.py --python /venv/bin/python   # the PyTorch to use
    python3 scripts/gpu.py --only W1,W3     # some workloads

Needs the NVIDIA driver, cuBLAS and NVRTC where the loader finds them (on
LD_LIBRARY_PATH, or from the PyPI packages nvidia-cublas-cu12 and
nvidia-cuda-nvrtc-cu12, whose library folders this script adds itself).

- Tests: `cargo test --workspace --features cuda` with
  STATICNN_REQUIRE_GPU=1, so that the GPU tests fail rather than skip when
  no GPU can be used.
- staticnn: `cargo bench --features cuda --bench workloads` for W1 (MLP
  784-128-10, batch 64), W2 (MLP 784-1000-500-250-10, batch 128), W3
  (LeNet-5, batch 64) and the ResNet example's network (batch 64): group
  `GPU` on the device, groups `W1`... on the CPU at 1 thread and at every
  core. Criterion's mean time per batch is read from target/criterion.
- PyTorch: the same networks and SGD steps (scripts/compare.py's twins) on
  `cuda`, timed between two `torch.cuda.synchronize()`.
"""

import argparse
import json
import os
import site
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (the PyTorch twins of the networks)

ROOT = Path(__file__).resolve().parent.parent
START = time.time()
# (workload, batch size, what it is), in table order.
WORKLOADS = [
    ("W1", 64, "MLP 784-128-10"),
    ("W2", 128, "MLP 784-1000-500-250-10"),
    ("W3", 64, "LeNet-5"),
    ("ResNet", 64, "ResNet example"),
]


def run(cmd, env=None, **kw):
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, **kw)


def cuda_env():
    """The environment with the library folders of NVIDIA's PyPI packages
    (if installed) on LD_LIBRARY_PATH."""
    dirs = []
    roots = site.getsitepackages() + [site.getusersitepackages()]
    for root in roots:
        nvidia = Path(root) / "nvidia"
        if nvidia.is_dir():
            dirs += [str(p) for p in sorted(nvidia.glob("*/lib")) if p.is_dir()]
    env = dict(os.environ)
    if dirs:
        env["LD_LIBRARY_PATH"] = ":".join(dirs + [env.get("LD_LIBRARY_PATH", "")]).rstrip(":")
    return env


def estimate(*parts):
    """Mean seconds per iteration from a fresh criterion estimate, or None."""
    est = ROOT / "target" / "criterion" / Path(*parts) / "new" / "estimates.json"
    if est.exists() and est.stat().st_mtime > START:
        return json.loads(est.read_text())["mean"]["point_estimate"] * 1e-9
    return None


def torch_worker(only):
    """Time the workloads in PyTorch on the GPU; one JSON object per line."""
    import torch

    nn = torch.nn
    dev = torch.device("cuda")
    print(json.dumps({"version": torch.__version__, "device": torch.cuda.get_device_name(0)}),
          flush=True)
    nets = {
        "W1": lambda: compare.torch_mlp(nn, [784, 128, 10]),
        "W2": lambda: compare.torch_mlp(nn, [784, 1000, 500, 250, 10]),
        "W3": lambda: compare.torch_lenet(nn),
    }
    for name, batch, _ in WORKLOADS:
        if name not in nets or name not in only:
            continue
        torch.manual_seed(0)
        net = nets[name]().to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        loss = nn.CrossEntropyLoss()
        shape = (batch, 784) if name != "W3" else (batch, 1, 28, 28)
        x = torch.rand(*shape, device=dev)
        y = torch.arange(batch, device=dev) % 10

        def step():
            opt.zero_grad()
            loss(net(x), y).backward()
            opt.step()

        for _ in range(50):
            step()
        torch.cuda.synchronize()
        steps, start = 0, time.perf_counter()
        while steps < 200 or time.perf_counter() - start < 3.0:
            step()
            steps += 1
        torch.cuda.synchronize()
        secs = (time.perf_counter() - start) / steps
        print(json.dumps({"workload": name, "samples_per_s": batch / secs}), flush=True)


def torch_results(python, only):
    probe = run([python, "-c", "import torch; assert torch.cuda.is_available()"],
                capture_output=True)
    if probe.returncode != 0:
        return {}, "PyTorch with CUDA not found"
    out = run([python, __file__, "--torch-worker", "--only", ",".join(only)],
              capture_output=True, text=True)
    if out.returncode != 0:
        return {}, "PyTorch failed: " + out.stderr.strip().splitlines()[-1]
    results, about = {}, "?"
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if "version" in r:
                about = f"PyTorch {r['version']} on {r['device']}"
            else:
                results[r["workload"]] = r["samples_per_s"]
    return results, about


def cell(v):
    return "-" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skip-tests", action="store_true")
    ap.add_argument("--python", default=sys.executable, help="the Python that has PyTorch")
    ap.add_argument("--only", default=",".join(w[0] for w in WORKLOADS),
                    help="comma-separated workloads (default: all)")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    only = [w for w in args.only.split(",") if w]
    if args.torch_worker:
        torch_worker(only)
        return

    env = cuda_env()
    tests = "skipped"
    if not args.skip_tests:
        r = run(["cargo", "test", "--workspace", "--features", "cuda"],
                env=dict(env, STATICNN_REQUIRE_GPU="1"))
        tests = "passed" if r.returncode == 0 else "FAILED"

    cores = os.cpu_count() or 1
    bench_env = dict(env, STATICNN_BENCH_THREADS=f"1,{cores}")
    names = "|".join(only)
    run(["cargo", "bench", "--features", "cuda", "--bench", "workloads", "--",
         "--noplot", f"^(({names})/threads|GPU/({names})$)"], env=bench_env, check=True)
    torch, about = torch_results(args.python, only)

    print()
    print(f"GPU tests: {tests}")
    print(f"samples per second (training steps); PyTorch: {about}")
    print()
    print(f"| workload | batch | CPU 1 thread | CPU {cores} threads | GPU | PyTorch GPU "
          f"| GPU / best CPU | GPU / PyTorch |")
    print("|---|---|---|---|---|---|---|---|")
    for name, batch, what in WORKLOADS:
        if name not in only:
            continue

        def rate(*parts):
            s = estimate(*parts)
            return None if s is None else batch / s

        one, many = rate(name, "threads", "1"), rate(name, "threads", str(cores))
        gpu = rate("GPU", name)
        best = max((v for v in (one, many) if v is not None), default=None)
        print(f"| {name} ({what}) | {batch} | {cell(one)} | {cell(many)} | {cell(gpu)} "
              f"| {cell(torch.get(name))} | {ratio(gpu, best)} | {ratio(gpu, torch.get(name))} |")
    if tests == "FAILED":
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch's side of the GPU bundle's benchmark table (scripts/gpu-bundle.sh):
the networks of benches/workloads.rs (compare.py's twins) trained with the
same SGD steps on the same GPU, timed between two torch.cuda.synchronize().

    python3 gpu_torch.py W1,W2,W3,ResNet

Prints one JSON object per line: first what ran ({"torch": version,
"device": name}), then {"workload": name, "samples_per_s": rate}. TF32 is
off, as cuBLAS's default math mode leaves it off for staticnn, so both
sides multiply in full f32. Exits 2 when PyTorch or CUDA is missing."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# (workload, batch size, input shape of one sample), as in benches/workloads.rs.
WORKLOADS = [
    ("W1", 64, (784,)),
    ("W2", 128, (784,)),
    ("W3", 64, (1, 28, 28)),
    ("ResNet", 64, (1, 28, 28)),
]


def main():
    only = sys.argv[1].split(",") if len(sys.argv) > 1 else [w[0] for w in WORKLOADS]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": f"no PyTorch: {e}"}))
        sys.exit(2)
    if not torch.cuda.is_available():
        print(json.dumps({"error": "PyTorch sees no CUDA device"}))
        sys.exit(2)
    import compare

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    nn = torch.nn
    dev = torch.device("cuda")
    print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda,
                      "device": torch.cuda.get_device_name(0)}), flush=True)
    nets = {
        "W1": lambda: compare.torch_mlp(nn, [784, 128, 10]),
        "W2": lambda: compare.torch_mlp(nn, [784, 1000, 500, 250, 10]),
        "W3": lambda: compare.torch_lenet(nn),
        "ResNet": lambda: compare.torch_resnet(nn),
    }
    for name, batch, shape in WORKLOADS:
        if name not in only:
            continue
        torch.manual_seed(0)
        net = nets[name]().to(dev).train()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        loss = nn.CrossEntropyLoss()
        x = torch.rand(batch, *shape, device=dev)
        y = torch.arange(batch, device=dev) % 10

        def step():
            opt.zero_grad(set_to_none=True)
            loss(net(x), y).backward()
            opt.step()

        for _ in range(50):
            step()
        torch.cuda.synchronize()
        steps, start = 0, time.perf_counter()
        while steps < 100 or time.perf_counter() - start < seconds:
            step()
            steps += 1
        torch.cuda.synchronize()
        secs = (time.perf_counter() - start) / steps
        print(json.dumps({"workload": name, "samples_per_s": batch / secs}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the PyTorch fixtures under tests/fixtures/.

Writes a PyTorch `nn.Sequential(Linear(784, 128), ReLU(), Linear(128, 10))`
state dict with `safetensors.torch.save_file`, plus a batch of inputs and the
outputs PyTorch computes for them, so `tests/pytorch.rs` can check that the
equivalent `network!` loads the weights unchanged and computes the same
function.

    python3 -m venv .venv && .venv/bin/pip install torch safetensors
    .venv/bin/python scripts/make_torch_fixtures.py

The outputs are committed; CI does not need PyTorch.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def main() -> None:
    torch.manual_seed(1234)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    ).eval()
    # Inputs shaped like MNIST pixels in [0, 1].
    x = torch.rand(8, 784)
    with torch.no_grad():
        y = model(x)

    OUT.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), OUT / "torch_mlp.safetensors")
    save_file({"input": x.contiguous(), "output": y.contiguous()}, OUT / "torch_mlp_io.safetensors")
    print(f"wrote {OUT / 'torch_mlp.safetensors'} ({sorted(model.state_dict())})")
    optimiser_trajectories()


def optimiser_trajectories() -> None:
    """Three steps of each optimiser on a 2x2 weight and a 2-vector bias with
    fixed gradients, for `tests/optim.rs`."""
    torch.manual_seed(7)
    weight0 = torch.randn(2, 2)
    bias0 = torch.randn(2)
    grads = [(torch.randn(2, 2), torch.randn(2)) for _ in range(3)]
    configs = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
        "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        "adam": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=0.01, weight_decay=0.05),
        "adagrad": lambda p: torch.optim.Adagrad(p, lr=0.1, weight_decay=0.05),
    }
    out = {
        "weight": weight0.flatten().tolist(),
        "bias": bias0.tolist(),
        "grads": [[g[0].flatten().tolist(), g[1].tolist()] for g in grads],
        "after": {},
    }
    for name, make in configs.items():
        w = weight0.clone().requires_grad_(True)
        b = bias0.clone().requires_grad_(True)
        opt = make([w, b])
        for gw, gb in grads:
            w.grad, b.grad = gw.clone(), gb.clone()
            opt.step()
        out["after"][name] = [w.detach().flatten().tolist(), b.detach().tolist()]
    (OUT / "torch_optim.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

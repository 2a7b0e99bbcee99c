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


if __name__ == "__main__":
    main()

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
    conv_nets()


class LeNet(torch.nn.Module):
    """LeNet-5 as `examples/common/mod.rs` declares it with `network!`."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        f = torch.nn.functional
        x = f.max_pool2d(f.relu(self.conv1(x)), 2)
        x = f.max_pool2d(f.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(f.relu(self.fc2(f.relu(self.fc1(x)))))


class BasicBlock(torch.nn.Module):
    """torchvision's ResNet BasicBlock: ReLU after the sum."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        f = torch.nn.functional
        out = self.bn2(self.conv2(f.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return f.relu(out + shortcut)


class SmallResNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        f = torch.nn.functional
        x = f.relu(self.bn1(self.conv1(x)))
        x = f.max_pool2d(x, 3, stride=2, padding=1)
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(f.adaptive_avg_pool2d(x, 1), 1))


class Misc(torch.nn.Module):
    """Average pooling with padding, and BatchNorm over features."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.conv = nn.Conv2d(1, 4, (3, 2), stride=(1, 2))
        self.fc1 = nn.Linear(4 * 5 * 3, 16)
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        f = torch.nn.functional
        x = f.avg_pool2d(self.conv(x), 3, stride=2, padding=1)
        return self.fc2(f.relu(self.bn(self.fc1(torch.flatten(x, 1)))))


def sequential() -> torch.nn.Module:
    """A literal nn.Sequential, pooled as PyTorch code pools most often:
    AdaptiveAvgPool2d(1) then Flatten, so the Linear layer is index 8."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3),
    )


def conv_net(name: str, model: torch.nn.Module, shape: tuple) -> None:
    """The state dict of `model` and its outputs on random inputs. BatchNorm
    layers first see a few training batches so their running statistics are
    not the initial zeros and ones; the outputs are in eval mode."""
    torch.manual_seed(99)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(16, *shape) * 2 - 0.5)
    model.eval()
    x = torch.rand(4, *shape)
    with torch.no_grad():
        y = model(x)
    save_file(model.state_dict(), OUT / f"torch_{name}.safetensors")
    save_file({"input": x.contiguous(), "output": y.contiguous()}, OUT / f"torch_{name}_io.safetensors")
    print(f"wrote torch_{name}: {len(model.state_dict())} tensors")


def conv_nets() -> None:
    """A LeNet, a small ResNet, a net with average pooling and BatchNorm1d,
    and a literal nn.Sequential, for `tests/pytorch.rs`."""
    for name, model, shape in [
        ("lenet", LeNet(), (1, 28, 28)),
        ("resnet", SmallResNet(), (1, 28, 28)),
        ("misc", Misc(), (1, 11, 12)),
        ("sequential", sequential(), (1, 10, 10)),
    ]:
        conv_net(name, model, shape)


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

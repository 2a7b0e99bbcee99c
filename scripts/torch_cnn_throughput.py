#!/usr/bin/env python3
"""PyTorch's training throughput on the small ResNet of `examples/resnet.rs`,
for comparison with `cargo bench --bench workloads -- ResNet`: one step
(forward, cross-entropy, backward, SGD) on a batch of 64 synthetic 28x28
images, at 1 and 2 threads. LeNet-5 is workload W3 of
`scripts/compare.py`, which runs PyTorch and candle itself.

    python3 -m venv .venv && .venv/bin/pip install torch safetensors
    .venv/bin/python scripts/torch_cnn_throughput.py
"""

import time

import torch

from make_torch_fixtures import BasicBlock


class ResNet(torch.nn.Module):
    """The residual network of `examples/resnet.rs`."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(1, 16, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        f = torch.nn.functional
        x = self.layer2(self.layer1(f.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(f.adaptive_avg_pool2d(x, 1), 1))


def samples_per_second(make, threads: int, steps: int = 200) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = make()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    loss = torch.nn.CrossEntropyLoss()
    x, y = torch.rand(64, 1, 28, 28), torch.arange(64) % 10
    for i in range(steps + 20):
        if i == 20:
            start = time.perf_counter()
        opt.zero_grad()
        loss(net(x), y).backward()
        opt.step()
    return 64 * steps / (time.perf_counter() - start)


if __name__ == "__main__":
    print(f"torch {torch.__version__}")
    for threads in (1, 2):
        print(f"ResNet threads {threads}: {samples_per_second(ResNet, threads):.0f} samples/s")

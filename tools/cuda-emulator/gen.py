#!/usr/bin/env python3
"""Generate kernels.cpp: every op's CUDA source (runtime/src/ops/**/*.cu, after
the prelude) as C++, and for each kernel a launcher that unpacks
cuLaunchKernel's argument array, plus the table the fake driver looks
kernels up in."""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1])
out = Path(sys.argv[2])
# The sources: the repository's, or (for the emulator's planted-bug tests)
# a copy of runtime/src with a bug planted in it.
src_dir = Path(sys.argv[3]) if len(sys.argv) > 3 else root / "runtime/src"
prelude = (src_dir / "backend/prelude.cu").read_text()
# What makes a kernel cooperative: it needs its block's threads at once.
COOPERATIVE = re.compile(
    r"block_sum|block_accumulate|warp_sum|warp_max|__syncthreads|__syncwarp|__shfl|__shared__")
# Shared arrays become tracked arrays (emu.h), and a device function's
# parameter named `scratch` (the convention for shared memory handed to a
# helper) a tracked view. A shared array passed to any other pointer does
# not compile here, so nothing reaches shared memory untracked.
SHARED = re.compile(r"__shared__\s+(\w+)\s+(\w+)\[(\w+)\];")
SCRATCH = re.compile(r"\b(\w+)\*\s*scratch\b")


def emulated(src: str) -> str:
    src = SHARED.sub(lambda m: f'static emu::Shared<{m[1]}, {m[3]}> {m[2]}{{"{m[2]}"}};', src)
    return SCRATCH.sub(r"emu::SharedView<\1> scratch", src)


parts = ['#include "emu.h"\n']
table = []
# `ops/add.cu` beside `add.rs`, or `ops/conv/conv.cu` in an op's folder.
for cu in sorted((src_dir / "ops").rglob("*.cu"), key=lambda p: p.name):
    src = cu.read_text()
    ns = cu.stem
    # Each op in its own namespace, as each is its own NVRTC program.
    body = src.replace('extern "C" __global__ void ', "__global__ void ")
    parts.append(f"namespace op_{ns} {{\n{emulated(prelude)}\n#line 1 \"{cu.name}\"\n"
                 f"{emulated(body)}\n}}\n")
    kernels = list(re.finditer(r'extern "C" __global__ void (\w+)\(([^)]*)\)', src))
    for i, m in enumerate(kernels):
        name, params = m.group(1), m.group(2)
        end = kernels[i + 1].start() if i + 1 < len(kernels) else len(src)
        text = src[m.start():end]
        # Device functions it calls count too: look them up in the op's
        # source and the prelude.
        called = set(re.findall(r"(\w+)\(", text))
        helpers = "".join(
            h.group(0) for h in re.finditer(r"__device__[^{]*?(\w+)\([^)]*\)\s*\{.*?\n\}", prelude + src, re.S)
            if h.group(1) in called)
        coop = bool(COOPERATIVE.search(text) or COOPERATIVE.search(helpers))
        types = [re.sub(r"\s*\w+$", "", p.strip()) for p in params.split(",") if p.strip()]
        args = ", ".join(f"*({t}*)args[{j}]" for j, t in enumerate(types))
        parts.append(
            f"namespace op_{ns} {{\nvoid emu_{name}(dim3 g, dim3 b, void** args) {{\n"
            f"    emu::run(\"{name}\", g, b, {str(coop).lower()}, [&] {{ {name}({args}); }});\n}}\n}}\n")
        table.append((ns, name))

parts.append("struct Kernel { const char* name; void (*launch)(dim3, dim3, void**); };\n")
parts.append("extern const Kernel EMU_KERNELS[] = {\n")
parts += [f'    {{"{n}", op_{ns}::emu_{n}}},\n' for ns, n in table]
parts.append("    {nullptr, nullptr},\n};\n")
out.write_text("".join(parts))
print(f"{len(table)} kernels", file=sys.stderr)

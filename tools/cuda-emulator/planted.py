#!/usr/bin/env python3
"""The emulator's own tests: plant one bug of each class a GPU punishes into
a copy of the kernel sources, build the emulator from that copy, and check
that the GPU test suite fails on it, with the emulator naming the bug.

    python3 tools/cuda-emulator/planted.py CUDA_TESTS [SOURCES]

CUDA_TESTS is the GPU test binary (tests/cuda.rs built with --features
cuda; the GPU bundle's bin/cuda-tests); SOURCES the folder holding
backend/prelude.cu and ops/**/*.cu (default: runtime/src). NVRTC must be
findable (STATICNN_CUDA_LIB_DIR or LD_LIBRARY_PATH), as for the suite.

The classes, and what catches each:
- a missing __syncthreads: the shared-memory race check (threads run in a
  random order between barriers, and a read of a word another thread wrote
  since the last barrier is a race);
- a warp-synchronous assumption (lanes of a warp exchanging values through
  shared memory with no __syncwarp, as if they ran in lockstep): the same
  check, which orders lanes of a warp only at warp barriers;
- an out-of-bounds write: the guard bands around every allocation, and the
  error is sticky (a later test in the same process fails too);
- an accumulation-order dependence (a deterministic sum replaced by float
  atomics): threads and blocks run in a new random order at every launch,
  so two runs of one backward pass differ in their last bits.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PLANTS = [
    {
        "name": "missing __syncthreads (block_sum reads the warps' partial sums unordered)",
        "file": "backend/prelude.cu",
        "old": "    if (lane == 0) scratch[warp] = v;\n    __syncthreads();\n    v = lane < warps ? scratch[lane] : 0.0f;",
        "new": "    if (lane == 0) scratch[warp] = v;\n    v = lane < warps ? scratch[lane] : 0.0f;",
        "tests": ["losses_match_the_cpu"],
        "expect": r"shared-memory race",
    },
    {
        "name": "warp-synchronous reduction in shared memory (no __syncwarp between steps)",
        "file": "backend/prelude.cu",
        "old": "    v = lane < warps ? scratch[lane] : 0.0f;\n    v = warp_sum(v);\n    __syncthreads();\n    return v;\n}",
        "new": "    if (warp == 0)\n"
               "        for (int o = 16; o > 0; o >>= 1)\n"
               "            if (lane < o) scratch[lane] = scratch[lane] + (lane + o < warps ? scratch[lane + o] : 0.0f);\n"
               "    __syncthreads();\n"
               "    v = scratch[0];\n"
               "    __syncthreads();\n    return v;\n}",
        "tests": ["losses_match_the_cpu"],
        "expect": r"shared-memory race",
    },
    {
        "name": "out-of-bounds write (add writes one value past the end)",
        "file": "ops/add.cu",
        "old": "FOR_EACH(i, n) out[i] = a[i] + b[i];",
        "new": "FOR_EACH(i, n + 1) out[i] = a[i] + b[i];",
        # Both in one process: the second uses no `add`, and fails only
        # because the first one's error is sticky.
        "tests": ["conv_layers_match_the_cpu", "products_match_the_cpu"],
        "expect": r"CUDA_ERROR_ILLEGAL_ADDRESS",
        "all_fail": True,
    },
    {
        "name": "accumulation-order dependence (bias gradient summed with float atomics)",
        "file": "ops/conv/conv.cu",
        "old": "    s = block_sum(s, scratch);\n    if (threadIdx.x == 0) out[blockIdx.x] = s;",
        "new": "    if (threadIdx.x == 0) out[blockIdx.x] = 0.0f;\n    __syncthreads();\n    atomicAdd(out + blockIdx.x, s);",
        "tests": ["gradients_are_the_same_on_every_run"],
        "expect": r"differs between runs",
    },
]


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    binary = Path(sys.argv[1]).resolve()
    sources = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE.parent.parent / "runtime/src"
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, plant in enumerate(PLANTS):
            src = Path(tmp) / f"src{i}"
            (src / "backend").mkdir(parents=True)
            shutil.copy(sources / "backend/prelude.cu", src / "backend")
            shutil.copytree(sources / "ops", src / "ops", ignore=shutil.ignore_patterns("*.rs"))
            target = src / plant["file"]
            text = target.read_text()
            if text.count(plant["old"]) != 1:
                print(f"  STALE   {plant['name']}: the code to plant it in is not in {plant['file']}"
                      " (update planted.py)")
                failures += 1
                continue
            target.write_text(text.replace(plant["old"], plant["new"]))
            emu = Path(tmp) / f"emu{i}"
            subprocess.run(["bash", str(HERE / "build.sh"), str(emu), str(src)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            env = dict(os.environ, STATICNN_REQUIRE_GPU="1",
                       LD_LIBRARY_PATH=f"{emu}:{os.environ.get('LD_LIBRARY_PATH', '')}")
            run = subprocess.run([str(binary), "--exact", "--test-threads", "1", *plant["tests"]],
                                 env=env, capture_output=True, text=True, timeout=300)
            out = run.stdout + run.stderr
            failed = re.findall(r"^test (\w+) \.\.\. FAILED", out, re.M)
            caught = run.returncode != 0 and re.search(plant["expect"], out)
            if plant.get("all_fail"):
                caught = caught and len(failed) == len(plant["tests"])
            why = re.search(r"(cuda-emulator: .*|.*differs between runs.*)", out)
            if caught:
                print(f"  caught  {plant['name']}\n          {why.group(1)[:200] if why else ''}")
            else:
                print(f"  MISSED  {plant['name']}: the suite "
                      f"{'failed, but not with ' + plant['expect'] if run.returncode else 'passed'}")
                print(out[-3000:])
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""How long staticnn takes to compile (issue 5's compile-cost report).

    python3 scripts/compile_cost.py

1. `cargo build --release --examples` from an empty target directory: what
   a user waits for the first time.
2. A crate holding one `network!` of N layers (Dense/ReLU in turn, a
   BatchNorm every tenth, as in macros/src/cost.rs), for N = 10 .. 200,
   rebuilt with `cargo build --release` after its dependencies are built:
   the time the macro's expansion adds to the user's crate, end to end
   (expansion, type checking and code generation of what it wrote).

The macro's own expansion time, without rustc around it, is reported by
`cargo test -p staticnn-macros --release -- --ignored --nocapture expansion_time`.
"""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def network(layers: int) -> str:
    body = []
    for i in range(layers):
        if i % 10 == 9:
            layer = "BatchNorm"
        elif i % 2 == 0:
            layer = f"Dense({16 + (i % 7) * 8})"
        else:
            layer = "Relu"
        body.append(f"l{i}: {layer}," if i % 3 == 0 else f"{layer},")
    return "\n".join(body)


# Uses everything the macro generates: init, summary, inference, a
# training step (forward, backward, parameter visits) and save/load.
MAIN = """
fn main() -> staticnn::Result<()> {
    let mut net = Deep::init(&Cpu, 0)?;
    println!("{}", net.summary());
    let x = Tensor::<Cpu, Rank1<32>>::zeros(&Cpu, 4)?;
    let y = net.forward(&x)?;
    let mut opt = Sgd::new(0.1);
    let mut buffers = staticnn::train::StepBuffers::new(&net, &Cpu)?;
    let mut ctx = TrainCtx::new(0);
    let loss = staticnn::train::train_step(&mut net, &mut opt, &Mse, &x, &y, &mut buffers, &mut ctx)?;
    let path = std::env::temp_dir().join("deep.safetensors");
    net.save(&path)?;
    net.load(&path)?;
    println!("{loss}");
    Ok(())
}
"""


def timed(cmd, **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        target = tmp / "target"
        secs = timed(["cargo", "build", "--release", "--examples", "--target-dir", str(target)], cwd=ROOT)
        print(f"cargo build --release --examples, empty target dir: {secs:.1f} s")

        crate = tmp / "deep"
        (crate / "src").mkdir(parents=True)
        (crate / "Cargo.toml").write_text(
            f'[package]\nname = "deep"\nversion = "0.0.0"\nedition = "2021"\n\n'
            f'[dependencies]\nstaticnn = {{ path = "{ROOT}" }}\n\n[workspace]\n')
        main_rs = crate / "src" / "main.rs"
        build = ["cargo", "build", "--release", "--target-dir", str(target)]
        print("layers | rebuild of the crate (s) | ms per layer beyond the first 10")
        base = None
        for layers in (10, 50, 100, 200):
            main_rs.write_text("use staticnn::prelude::*;\nnetwork! { pub struct Deep: [32] {\n"
                               + network(layers) + "\n} }\n" + MAIN)
            timed(build, cwd=crate)  # dependencies, and a first build
            main_rs.write_text(main_rs.read_text() + "\n")
            secs = timed(build, cwd=crate)
            if base is None:
                base = secs
                print(f"{layers:>6} | {secs:.2f} | -")
            else:
                print(f"{layers:>6} | {secs:.2f} | {(secs - base) * 1e3 / (layers - 10):.1f}")
        shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    main()

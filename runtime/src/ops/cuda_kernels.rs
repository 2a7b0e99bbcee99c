//! Checks that every op's CUDA source compiles, and fits `sm_90`'s
//! limits. They live with the ops, not the device, since the list of
//! kernels is the ops' (`CUDA_KERNELS`); the device layer below knows
//! nothing of it.

use super::CUDA_KERNELS;
use crate::backend::cuda::tests::nvrtc_or_skip;
use crate::backend::cuda::{compile, compile::Target, compile_ptx, BLOCK};

/// Every kernel source compiles with NVRTC to PTX, and each
/// `extern "C" __global__` function is in it under its own name, or
/// launches would not find it.
#[test]
fn every_kernel_compiles_to_ptx() {
    if !nvrtc_or_skip() {
        return;
    }
    for k in CUDA_KERNELS {
        let ptx = compile_ptx(k).unwrap_or_else(|e| panic!("{e}"));
        for name in k.src.split("extern \"C\" __global__ void ").skip(1) {
            let name = name.split('(').next().unwrap_or_default();
            assert!(
                ptx.contains(&format!(".entry {name}(")),
                "{}.cu: kernel {name} missing from the PTX",
                k.name
            );
        }
    }
}

/// Every kernel assembles to machine code for the H100/H200 (`sm_90`)
/// with ptxas (inside NVRTC), and fits a block of [`BLOCK`] threads:
/// registers x threads within the 64K-register file, static shared
/// memory within 48 KiB, no spills to local memory. Prints ptxas's
/// figures for every kernel (`--nocapture` shows them).
#[test]
fn every_kernel_assembles_for_sm_90_within_its_limits() {
    if !nvrtc_or_skip() {
        return;
    }
    let mut problems = Vec::new();
    eprintln!(
        "{:<12} {:<34} {:>4} {:>6} {:>6} {:>6}",
        "source", "kernel", "regs", "smem", "stack", "spill"
    );
    for k in CUDA_KERNELS {
        let img = compile::compile(k, Target::Cubin(90), &["--ptxas-options=-v"])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(img.bytes.starts_with(b"\x7fELF"), "{}.cu: no CUBIN", k.name);
        let figures = compile::parse_ptxas_log(&img.log);
        let kernels = k.src.matches("extern \"C\" __global__ void ").count();
        assert_eq!(
            figures.len(),
            kernels,
            "{}.cu: ptxas log:\n{}",
            k.name,
            img.log
        );
        for f in figures {
            eprintln!(
                "{:<12} {:<34} {:>4} {:>6} {:>6} {:>6}",
                k.name, f.name, f.registers, f.shared_bytes, f.stack_bytes, f.spill_stores
            );
            if f.registers * BLOCK > 65536 {
                problems.push(format!(
                    "{}: {} registers x {BLOCK} threads",
                    f.name, f.registers
                ));
            }
            if f.shared_bytes > 48 * 1024 {
                problems.push(format!(
                    "{}: {} bytes of shared memory",
                    f.name, f.shared_bytes
                ));
            }
            if f.spill_stores > 0 {
                problems.push(format!("{}: spills {} bytes", f.name, f.spill_stores));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "kernels over sm_90's limits: {problems:#?}"
    );
}

/// The PTX the driver would get as a fallback assembles for `sm_90`
/// with the standalone `ptxas` too (CI installs PyPI's
/// `nvidia-cuda-nvcc-cu12` and points `STATICNN_PTXAS` at it), with the
/// same limits as the CUBIN above. Skips when no ptxas is named.
#[test]
fn every_kernels_ptx_assembles_with_ptxas() {
    let Some(ptxas) = std::env::var_os("STATICNN_PTXAS") else {
        eprintln!("skipping: STATICNN_PTXAS names no ptxas");
        return;
    };
    if !nvrtc_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for k in CUDA_KERNELS {
        let ptx = dir.path().join(format!("{}.ptx", k.name));
        std::fs::write(&ptx, compile_ptx(k).unwrap_or_else(|e| panic!("{e}"))).unwrap();
        let out = std::process::Command::new(&ptxas)
            .args(["-arch=sm_90", "-v", "-o"])
            .arg(dir.path().join(format!("{}.cubin", k.name)))
            .arg(&ptx)
            .output()
            .unwrap_or_else(|e| panic!("running {ptxas:?}: {e}"));
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "ptxas failed on {}.cu:\n{log}",
            k.name
        );
        for f in compile::parse_ptxas_log(&log) {
            eprintln!(
                "ptxas {:<12} {:<34} {:>4} regs {:>6} smem {:>4} spill",
                k.name, f.name, f.registers, f.shared_bytes, f.spill_stores
            );
            if f.registers * BLOCK > 65536 || f.shared_bytes > 48 * 1024 || f.spill_stores > 0 {
                problems.push(format!("{}: {f:?}", k.name));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "kernels over sm_90's limits: {problems:#?}"
    );
}

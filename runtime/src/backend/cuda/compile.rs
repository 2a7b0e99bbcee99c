//! Compiling the ops' kernel sources with NVRTC for one GPU architecture.
//!
//! The backend asks for machine code (CUBIN) for the device's own
//! architecture (`sm_90` on an H100 or H200), which the driver loads as it
//! is: no JIT at start-up, and no dependence on the driver accepting this
//! NVRTC's PTX (PTX from an NVRTC newer than the driver is refused). When
//! this NVRTC does not know the device (a GPU newer than the library), it
//! emits PTX for the newest architecture it does know, which the driver
//! compiles for the device.
//!
//! Images are cached per process by source and target, so two devices of
//! different architectures get their own, and no source is compiled twice.

use super::libs::{self, Lib};
use super::{Kernels, PRELUDE};
use crate::{Error, Result};
use cudarc::nvrtc::{result as nvrtc, sys};
use std::collections::HashMap;
use std::ffi::CString;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

/// What to ask NVRTC for: machine code for `sm_XY`, or PTX for
/// `compute_XY` (`XY` = 10 × major + minor of the compute capability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// CUBIN for `sm_XY`, loaded by the driver as is.
    Cubin(u32),
    /// PTX for `compute_XY`, compiled by the driver when loaded.
    Ptx(u32),
}

impl Target {
    fn option(self) -> String {
        match self {
            Target::Cubin(a) => format!("--gpu-architecture=sm_{a}"),
            Target::Ptx(a) => format!("--gpu-architecture=compute_{a}"),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Cubin(a) => write!(f, "sm_{a} (CUBIN)"),
            Target::Ptx(a) => write!(f, "compute_{a} (PTX)"),
        }
    }
}

/// One compiled source.
#[derive(Debug)]
pub struct Image {
    /// What was asked for.
    pub target: Target,
    /// The CUBIN, or the PTX text with its terminating NUL (the driver
    /// takes either through `cuModuleLoadData`).
    pub bytes: Vec<u8>,
    /// NVRTC's log: warnings, and with `--ptxas-options=-v` the registers
    /// and shared memory of every kernel.
    pub log: String,
}

impl Image {
    /// The PTX as text (empty for a CUBIN).
    pub fn ptx(&self) -> &str {
        match self.target {
            Target::Ptx(_) => std::str::from_utf8(&self.bytes)
                .unwrap_or_default()
                .trim_end_matches('\0'),
            Target::Cubin(_) => "",
        }
    }
}

/// Make sure NVRTC is loaded (see [`libs`]), or say what was looked for.
pub(crate) fn require_nvrtc() -> Result<()> {
    libs::load(Lib::Nvrtc)
        .map(drop)
        .map_err(|why| Error::Backend {
            backend: "cuda",
            why: format!("{why}; use the Cpu backend on this machine"),
        })
}

/// The architectures this NVRTC compiles for (`[75, 80, 86, 89, 90, ...]`).
pub fn supported_archs() -> Result<Vec<u32>> {
    require_nvrtc()?;
    let mut n = 0;
    // SAFETY: NVRTC is loaded; the second call writes `n` values.
    unsafe {
        sys::nvrtcGetNumSupportedArchs(&mut n)
            .result()
            .map_err(nvrtc_error)?;
        let mut archs = vec![0i32; n.max(0) as usize];
        sys::nvrtcGetSupportedArchs(archs.as_mut_ptr())
            .result()
            .map_err(nvrtc_error)?;
        Ok(archs.into_iter().map(|a| a as u32).collect())
    }
}

/// The best target for a device of compute capability `arch` (10 × major
/// + minor): its own CUBIN when this NVRTC knows it, else PTX for the
///   newest architecture below it that NVRTC knows.
pub fn target_for(arch: u32, supported: &[u32]) -> Result<Target> {
    if supported.contains(&arch) {
        return Ok(Target::Cubin(arch));
    }
    supported
        .iter()
        .copied()
        .filter(|&a| a <= arch)
        .max()
        .map(Target::Ptx)
        .ok_or_else(|| Error::Backend {
            backend: "cuda",
            why: format!(
                "this NVRTC compiles for {supported:?}, none of which runs on a GPU of compute capability {}.{}",
                arch / 10,
                arch % 10
            ),
        })
}

fn nvrtc_error(e: cudarc::nvrtc::result::NvrtcError) -> Error {
    Error::Backend {
        backend: "cuda",
        why: format!("NVRTC: {e}"),
    }
}

/// Compile `k` (after the prelude) for `target`, with `extra` NVRTC
/// options. Needs only libnvrtc, no device.
pub fn compile(k: &Kernels, target: Target, extra: &[&str]) -> Result<Image> {
    require_nvrtc()?;
    // The #line directive makes NVRTC's messages point into the op's own
    // file rather than into the prelude glued in front of it.
    let src = format!("{PRELUDE}\n#line 1 \"{}.cu\"\n{}", k.name, k.src);
    let file = format!("{}.cu", k.name);
    let failed = |why: String| Error::Backend {
        backend: "cuda",
        why: format!("NVRTC could not compile {file} for {target}: {why}"),
    };
    let (src, name) = match (CString::new(src), CString::new(file.clone())) {
        (Ok(s), Ok(n)) => (s, n),
        _ => return Err(failed("the source holds a NUL byte".into())),
    };
    let prog = nvrtc::create_program(&src, Some(&name)).map_err(|e| failed(e.to_string()))?;
    let mut options = vec![target.option(), "--std=c++17".to_string()];
    options.extend(extra.iter().map(|s| s.to_string()));
    // SAFETY: `prog` is live until destroyed below; `src` and `name`
    // outlive it.
    let out = unsafe {
        let compiled = nvrtc::compile_program(prog, &options);
        let log = nvrtc::get_program_log(prog)
            .map(|l| c_chars_to_string(&l))
            .unwrap_or_default();
        let bytes = match compiled {
            Err(e) => Err(failed(format!("{e}\n{log}"))),
            Ok(()) => match target {
                Target::Ptx(_) => nvrtc::get_ptx(prog)
                    .map(|p| p.into_iter().map(|c| c as u8).collect())
                    .map_err(|e| failed(e.to_string())),
                Target::Cubin(_) => get_cubin(prog).map_err(|e| failed(e.to_string())),
            },
        };
        let _ = nvrtc::destroy_program(prog);
        bytes.map(|bytes| Image { target, bytes, log })
    };
    out
}

/// # Safety
/// `prog` must be a live, compiled program.
unsafe fn get_cubin(prog: sys::nvrtcProgram) -> std::result::Result<Vec<u8>, nvrtc::NvrtcError> {
    let mut size = 0usize;
    sys::nvrtcGetCUBINSize(prog, &mut size).result()?;
    let mut bytes = vec![0u8; size];
    sys::nvrtcGetCUBIN(prog, bytes.as_mut_ptr().cast()).result()?;
    Ok(bytes)
}

fn c_chars_to_string(chars: &[std::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Images by (source, target), compiled once per process.
type Cache = HashMap<(&'static str, Target), Arc<Image>>;
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// `k` compiled for `target`, from the cache when it has been before.
pub(crate) fn cached(k: &'static Kernels, target: Target) -> Result<Arc<Image>> {
    let key = (k.name, target);
    if let Some(img) = CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Ok(img.clone());
    }
    // Compiled outside the lock: another source may compile meanwhile.
    let img = Arc::new(compile(k, target, &[])?);
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, img.clone());
    Ok(img)
}

/// What `ptxas -v` says about one kernel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelResources {
    /// The kernel's name.
    pub name: String,
    /// Registers per thread.
    pub registers: u32,
    /// Static shared memory per block, in bytes.
    pub shared_bytes: u32,
    /// Bytes spilled to local memory (stores).
    pub spill_stores: u32,
    /// Stack frame per thread, in bytes.
    pub stack_bytes: u32,
}

/// Parse the `ptxas info` lines of an NVRTC log compiled with
/// `--ptxas-options=-v`.
pub fn parse_ptxas_log(log: &str) -> Vec<KernelResources> {
    let mut out: Vec<KernelResources> = Vec::new();
    let number_before = |line: &str, unit: &str| -> Option<u32> {
        let at = line.find(unit)?;
        line[..at].split_whitespace().last()?.parse().ok()
    };
    for line in log.lines() {
        if let Some(at) = line.find("Compiling entry function '") {
            let rest = &line[at + "Compiling entry function '".len()..];
            let name = rest.split('\'').next().unwrap_or_default().to_string();
            out.push(KernelResources {
                name,
                ..Default::default()
            });
        } else if let Some(k) = out.last_mut() {
            if line.contains("bytes stack frame") {
                k.stack_bytes = number_before(line, "bytes stack frame").unwrap_or(0);
                k.spill_stores = number_before(line, "bytes spill stores").unwrap_or(0);
            }
            if line.contains("Used") && line.contains("registers") {
                k.registers = number_before(line, "registers").unwrap_or(0);
                k.shared_bytes = number_before(line, "bytes smem").unwrap_or(0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_prefer_the_devices_own_cubin() {
        let known = [75, 80, 86, 89, 90, 100, 120];
        assert_eq!(target_for(90, &known).unwrap(), Target::Cubin(90));
        // A GPU newer than this NVRTC: PTX the driver compiles for it.
        assert_eq!(target_for(103, &known).unwrap(), Target::Ptx(100));
        assert!(target_for(70, &known).is_err());
    }

    #[test]
    fn ptxas_figures_are_read_from_the_log() {
        let log = "\
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'relu_forward' for 'sm_90'
ptxas info    : Function properties for relu_forward
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, 364 bytes cmem[0]
ptxas info    : Compiling entry function 'softmax_rows' for 'sm_90'
ptxas info    : Function properties for softmax_rows
    16 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 32 registers, 128 bytes smem, 380 bytes cmem[0]
";
        let k = parse_ptxas_log(log);
        assert_eq!(k.len(), 2);
        assert_eq!(
            k[0],
            KernelResources {
                name: "relu_forward".into(),
                registers: 10,
                ..Default::default()
            }
        );
        assert_eq!(
            k[1],
            KernelResources {
                name: "softmax_rows".into(),
                registers: 32,
                shared_bytes: 128,
                spill_stores: 8,
                stack_bytes: 16,
            }
        );
    }
}

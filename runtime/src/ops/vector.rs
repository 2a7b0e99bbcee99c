//! Running plain elementwise loops compiled for the CPU path's vector
//! width.
//!
//! Why: the library is built for baseline x86-64 (SSE2, 4 lanes), so a
//! loop the compiler vectorises runs 4 lanes at a time even on a CPU with
//! AVX-512. [`on_cpu_path`] calls a closure from a function compiled with
//! the path's target features; the closure, marked `#[inline(always)]`,
//! is inlined into it and its loops are vectorised for 8 or 16 lanes.
//! (Calls the closure makes that are not inlined run at the baseline.)

use super::gemm::{cpu_path, CpuPath};

/// `f()`, compiled for the CPU path (`STATICNN_CPU`) when `f` is inlined.
#[inline(always)]
pub(crate) fn on_cpu_path<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        // What `CpuPath::is_supported` checks, as for the other kernels.
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        let path = cpu_path();
        match path {
            // SAFETY: only a path this CPU supports is run; the features
            // change the instructions `f` compiles to, not what it does.
            CpuPath::Avx512 if path.is_supported() => unsafe { avx512(f) },
            CpuPath::Avx2 if path.is_supported() => unsafe { avx2(f) },
            _ => f(),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        f()
    }
}

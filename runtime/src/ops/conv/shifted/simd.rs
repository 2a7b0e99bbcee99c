//! What the shifted kernels share: the multiply-add, the dispatch to the
//! CPU path's compiled copy of a kernel, the vectorizer barrier and
//! fixed-size loads.

/// `a * b + c`, fused where the path has FMA (`F`); the portable build
/// may lack it, where `mul_add` would be a library call.
#[inline(always)]
pub(super) fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Calls `$kernel::<LANES, VECTORS, TILE, FMA>(args)` compiled for `$path`
/// with `$vectors` (1 or 2) vectors per channel block.
macro_rules! dispatch {
    ($path:expr, $vectors:expr, $kernel:ident($($arg:expr),*)) => {
        dispatch!($path, $vectors, TILE_TWO, $kernel($($arg),*))
    };
    // `$narrow`: the tile for 2 vectors on the 16-register paths.
    ($path:expr, $vectors:expr, $narrow:expr, $kernel:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,fma")]
            unsafe fn avx512(v: usize, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
                if v == 1 {
                    $kernel::<16, 1, TILE_ONE, true>(a, b, c, d)
                } else {
                    $kernel::<16, 2, TILE_TWO, true>(a, b, c, d)
                }
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2(v: usize, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
                if v == 1 {
                    $kernel::<8, 1, TILE_ONE, true>(a, b, c, d)
                } else {
                    $kernel::<8, 2, $narrow, true>(a, b, c, d)
                }
            }
            match $path {
                // SAFETY: only a path this CPU supports is run, and the
                // kernels' reads are bounds-checked (weight_grad_all's once
                // a call, before its loops).
                CpuPath::Avx512 if $path.is_supported() => unsafe { avx512($vectors, $($arg),*) },
                CpuPath::Avx2 if $path.is_supported() => unsafe { avx2($vectors, $($arg),*) },
                _ => portable($vectors, $($arg),*),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = $path;
            portable($vectors, $($arg),*)
        }
        fn portable(v: usize, a: &Pass, b: &[f32], c: &[f32], d: &mut [f32]) {
            if v == 1 {
                $kernel::<8, 1, TILE_ONE, false>(a, b, c, d)
            } else {
                $kernel::<8, 2, $narrow, false>(a, b, c, d)
            }
        }
    }};
}
pub(super) use dispatch;

/// A no-op that keeps LLVM's loop vectorizer off the loop it sits in.
///
/// Why: with the tile's positions contiguous, LLVM vectorizes
/// [`correlate_all`](mod@super::correlate)'s loop over positions (gathering and scattering the
/// accumulators) instead of keeping one register per position with the
/// loop unrolled; that ran ten times slower. An empty `asm!` is opaque to
/// the vectorizer and emits no instruction.
#[inline(always)]
pub(super) fn no_vectorize() {
    // `asm!` is stable only on some targets; elsewhere (wasm32, for one)
    // `black_box` is the barrier, at the cost of a few instructions. The
    // macro writes the list of targets once for both cases.
    macro_rules! barrier_on {
        ($($arch:literal),*) => {
            #[cfg(any($(target_arch = $arch),*))]
            // SAFETY: an empty template reads and writes nothing.
            unsafe {
                std::arch::asm!("", options(nomem, nostack, preserves_flags))
            }
            #[cfg(not(any($(target_arch = $arch),*)))]
            std::hint::black_box(());
        };
    }
    barrier_on!(
        "x86_64",
        "x86",
        "aarch64",
        "arm",
        "riscv64",
        "riscv32",
        "loongarch64"
    );
}

/// Loads `V` vectors of `L` values from `s` at `at`.
#[inline(always)]
pub(super) fn load<const L: usize, const V: usize>(s: &[f32], at: usize) -> [[f32; L]; V] {
    let mut v = [[0.0; L]; V];
    for (k, v) in v.iter_mut().enumerate() {
        *v = s[at + k * L..][..L].try_into().unwrap_or([0.0; L]);
    }
    v
}

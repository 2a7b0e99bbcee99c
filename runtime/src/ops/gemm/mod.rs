//! General matrix product, `C = alpha * op(A) * op(B) + beta * C`.
//!
//! The CPU product picks its kernels once per process ([`cpu_path`]): on
//! x86-64 with AVX-512 those of `avx512`, with AVX2 and FMA those of
//! `avx2`; both need no packing and allocate nothing, and large products
//! are split across the rayon pool. Elsewhere (aarch64, older x86), and
//! for the one transpose pair no layer uses (`A^T B^T`), it runs
//! `portable`: the same two forms in plain Rust that the compiler
//! vectorises (NEON on aarch64), also without packing or allocation. `STATICNN_CPU=avx512|avx2|portable` forces a
//! path (one the CPU has), so that each is tested and benchmarked on a
//! machine that has them all.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;
mod view;

use crate::backend::{cpu::check_len, Cpu, Device};

#[cfg(feature = "cuda")]
pub(crate) mod cuda;
use crate::Result;

/// One matrix product, `C = alpha * op(A) op(B) + beta * C`, row-major:
/// `op(A)` is `m x k` (`A` stored `[m, k]`, or `[k, m]` when transposed),
/// `op(B)` is `k x n` (`B` stored `[k, n]`, or `[n, k]`), `C` is `[m, n]`.
/// With `beta == 0`, `C` is only written.
///
/// ```
/// # use staticnn_runtime::ops::gemm::Product;
/// // dW = dY^T x X, as a Dense layer's weight gradient.
/// let p = Product::new(10, 784, 64).a_transposed();
/// assert_eq!(p.lens(), (64 * 10, 64 * 784, 10 * 784));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Product {
    /// Rows of `C` and of `op(A)`.
    pub m: usize,
    /// Columns of `C` and of `op(B)`.
    pub n: usize,
    /// The inner size.
    pub k: usize,
    /// `A` is stored `[k, m]`.
    pub trans_a: bool,
    /// `B` is stored `[n, k]`.
    pub trans_b: bool,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `C`'s old values (0: overwrite).
    pub beta: f32,
}

impl Product {
    /// `C = A B` with `A` `[m, k]` and `B` `[k, n]`.
    pub const fn new(m: usize, n: usize, k: usize) -> Self {
        Product {
            m,
            n,
            k,
            trans_a: false,
            trans_b: false,
            alpha: 1.0,
            beta: 0.0,
        }
    }

    /// `A` is stored `[k, m]`.
    pub const fn a_transposed(self) -> Self {
        self.transpose_a(true)
    }

    /// `B` is stored `[n, k]`.
    pub const fn b_transposed(self) -> Self {
        self.transpose_b(true)
    }

    /// Whether `A` is stored `[k, m]`.
    pub const fn transpose_a(self, trans_a: bool) -> Self {
        Product { trans_a, ..self }
    }

    /// Whether `B` is stored `[n, k]`.
    pub const fn transpose_b(self, trans_b: bool) -> Self {
        Product { trans_b, ..self }
    }

    /// Scale the product by `alpha`.
    pub const fn alpha(self, alpha: f32) -> Self {
        Product { alpha, ..self }
    }

    /// Keep `beta` times `C`'s old values.
    pub const fn beta(self, beta: f32) -> Self {
        Product { beta, ..self }
    }

    /// Add to `C` (`beta = 1`).
    pub const fn accumulate(self) -> Self {
        self.beta(1.0)
    }

    /// The lengths `A`, `B` and `C` must have.
    pub const fn lens(&self) -> (usize, usize, usize) {
        (self.m * self.k, self.k * self.n, self.m * self.n)
    }
}

/// Matrix products on a device's buffers.
pub trait GemmOp: Device {
    /// `c = p.alpha * op(a) op(b) + p.beta * c`; an error when a buffer's
    /// length is not the one `p` needs.
    fn gemm(&self, p: Product, a: &Self::Buf, b: &Self::Buf, c: &mut Self::Buf) -> Result<()>;
}

impl GemmOp for Cpu {
    fn gemm(&self, p: Product, a: &Vec<f32>, b: &Vec<f32>, c: &mut Vec<f32>) -> Result<()> {
        let (la, lb, lc) = p.lens();
        check_len("gemm A", la, a.len())?;
        check_len("gemm B", lb, b.len())?;
        check_len("gemm C", lc, c.len())?;
        gemm_slices(p, a, b, c);
        Ok(())
    }
}

/// The CPU product on slices, for kernels (convolution) that multiply
/// sub-blocks of their buffers. Safe, and the kernels behind it read raw
/// pointers, so the lengths are checked here in every build.
pub(crate) fn gemm_slices(p: Product, a: &[f32], b: &[f32], c: &mut [f32]) {
    let (la, lb, lc) = p.lens();
    assert!(
        a.len() == la && b.len() == lb && c.len() == lc,
        "gemm {p:?}: A, B, C hold {}, {}, {} values, not {la}, {lb}, {lc}",
        a.len(),
        b.len(),
        c.len()
    );
    gemm_on(cpu_path(), p, a, b, c);
}

/// Which kernels the CPU product runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuPath {
    /// x86-64 AVX-512F kernels (`avx512`).
    Avx512,
    /// x86-64 AVX2 + FMA kernels (`avx2`).
    Avx2,
    /// Plain Rust kernels the compiler vectorises, on any CPU.
    Portable,
}

impl CpuPath {
    /// The name `STATICNN_CPU` takes ("avx512", "avx2", "portable").
    pub fn name(self) -> &'static str {
        match self {
            CpuPath::Avx512 => "avx512",
            CpuPath::Avx2 => "avx2",
            CpuPath::Portable => "portable",
        }
    }

    /// Whether this CPU can run the path.
    pub fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            // The AVX-512 kernels are compiled with `avx512f,fma`.
            CpuPath::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            CpuPath::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            CpuPath::Avx512 | CpuPath::Avx2 => false,
            CpuPath::Portable => true,
        }
    }

    /// Every path this CPU can run, fastest first.
    pub fn supported() -> Vec<CpuPath> {
        [CpuPath::Avx512, CpuPath::Avx2, CpuPath::Portable]
            .into_iter()
            .filter(|p| p.is_supported())
            .collect()
    }
}

/// The CPU product's kernels for this process: `STATICNN_CPU` when it
/// names a path this CPU has, else the fastest it has. Decided once; a
/// value that cannot be honoured is reported once on stderr.
pub fn cpu_path() -> CpuPath {
    static PATH: std::sync::OnceLock<CpuPath> = std::sync::OnceLock::new();
    *PATH.get_or_init(|| {
        let best = CpuPath::supported()[0];
        let Some(want) = std::env::var_os("STATICNN_CPU") else {
            return best;
        };
        let want = want.to_string_lossy();
        let path = match want.as_ref() {
            "avx512" => CpuPath::Avx512,
            "avx2" => CpuPath::Avx2,
            "portable" => CpuPath::Portable,
            other => {
                eprintln!(
                    "staticnn: STATICNN_CPU={other} is none of avx512, avx2, portable; using {}",
                    best.name()
                );
                return best;
            }
        };
        if path.is_supported() {
            path
        } else {
            eprintln!(
                "staticnn: STATICNN_CPU={want}, but this CPU cannot run it; using {}",
                best.name()
            );
            best
        }
    })
}

/// The product on a given path (one this CPU lacks runs the portable
/// one), on slices of the right lengths.
pub(crate) fn gemm_on(path: CpuPath, p: Product, a: &[f32], b: &[f32], c: &mut [f32]) {
    debug_assert_eq!((a.len(), b.len(), c.len()), p.lens());
    #[cfg(target_arch = "x86_64")]
    if !(p.trans_a && p.trans_b) && path != CpuPath::Portable && path.is_supported() {
        fast(path, p, a, b, c);
        return;
    }
    let _ = path;
    portable::gemm(p, a, b, c);
}

/// Multiply-adds each thread's band must have: a product is split into at
/// most `multiply-adds / PARALLEL_MIN` bands, so one below twice this runs
/// on the calling thread alone. Waking the second core and handing it half
/// costs tens of microseconds. On the earlier Intel CI machine splitting
/// W1's products (6.4M multiply-adds, about 100 us) made its step slower,
/// so the bound was 2^22; on the 2-core AMD EPYC that CI now runs on it
/// pays: W1 on 2 threads 396k against 280k samples/s on the AVX2 path and
/// 585k against 502k on AVX-512 (alternating runs), the other workloads
/// unchanged within noise.
const PARALLEL_MIN: usize = 1 << 21;

/// The AVX-512 or AVX2 product, split into row or column bands across the
/// rayon pool when it is large enough to pay for the hand-off.
#[cfg(target_arch = "x86_64")]
fn fast(path: CpuPath, p: Product, a: &[f32], b: &[f32], c: &mut [f32]) {
    let Product {
        m,
        n,
        k,
        trans_a,
        trans_b,
        alpha,
        beta,
    } = p;
    use rayon::prelude::*;
    use view::{Out, View};
    let a = if trans_a {
        View {
            ptr: a.as_ptr(),
            rs: 1,
            cs: m,
        }
    } else {
        View {
            ptr: a.as_ptr(),
            rs: k,
            cs: 1,
        }
    };
    // The dot form reads B as its stored `[n, k]` rows; the axpy form as
    // `[k, n]`.
    let b = if trans_b {
        View {
            ptr: b.as_ptr(),
            rs: k,
            cs: 1,
        }
    } else {
        View {
            ptr: b.as_ptr(),
            rs: n,
            cs: 1,
        }
    };
    let c = Out {
        ptr: c.as_mut_ptr(),
        ld: n,
    };
    // One band: rows `i0..i1` and columns `j0..j1` of C.
    let band = |(i0, i1): (usize, usize), (j0, j1): (usize, usize)| {
        let (a, c) = (a.at(i0, 0), c.at(i0, j0));
        let mnk = (i1 - i0, j1 - j0, k);
        // SAFETY: the path's features were detected (gemm_on); the views
        // cover the slices whose lengths gemm_slices' callers checked;
        // bands write disjoint parts of C, which a `&mut` borrow keeps
        // from aliasing A and B.
        unsafe {
            match (path, trans_b) {
                (CpuPath::Avx512, true) => avx512::dot_form(mnk, alpha, a, b.at(j0, 0), beta, c),
                (CpuPath::Avx512, false) => avx512::axpy_form(mnk, alpha, a, b.at(0, j0), beta, c),
                (_, true) => avx2::dot_form(mnk, alpha, a, b.at(j0, 0), beta, c),
                (_, false) => avx2::axpy_form(mnk, alpha, a, b.at(0, j0), beta, c),
            }
        }
    };
    let (mr, nr) = match path {
        CpuPath::Avx512 => (avx512::MR, avx512::NR),
        _ => (avx2::MR, avx2::NR),
    };
    let threads = rayon::current_num_threads().min(m * n * k / PARALLEL_MIN);
    if threads < 2 {
        return band((0, m), (0, n));
    }
    // Split the longer side into bands aligned to the kernels' tiles.
    if m >= n {
        let rows = m.div_ceil(threads).next_multiple_of(mr);
        (0..m.div_ceil(rows))
            .into_par_iter()
            .for_each(|t| band((t * rows, ((t + 1) * rows).min(m)), (0, n)));
    } else {
        let cols = n.div_ceil(threads).next_multiple_of(nr);
        (0..n.div_ceil(cols))
            .into_par_iter()
            .for_each(|t| band((0, m), (t * cols, ((t + 1) * cols).min(n))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], ta: bool, b: &[f32], tb: bool) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    let av = if ta { a[p * m + i] } else { a[i * k + p] };
                    let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                    s += av * bv;
                }
                c[i * n + j] = s;
            }
        }
        c
    }

    /// `alpha * op(A) op(B) + beta * C0` against the naive product, for
    /// every transpose pair: through `Cpu.gemm` (whichever path this
    /// process chose), and through every path this CPU can run.
    fn check(m: usize, n: usize, k: usize, alpha: f32, beta: f32) {
        check_with(m, n, k, alpha, beta, None);
        for path in CpuPath::supported() {
            check_with(m, n, k, alpha, beta, Some(path));
        }
    }

    fn check_with(m: usize, n: usize, k: usize, alpha: f32, beta: f32, path: Option<CpuPath>) {
        let mut rng = crate::Rng::new(9);
        let a: Vec<f32> = (0..m * k).map(|_| rng.normal()).collect();
        let b: Vec<f32> = (0..k * n).map(|_| rng.normal()).collect();
        let c0: Vec<f32> = (0..m * n).map(|_| rng.normal()).collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let ab = naive(m, n, k, &a, ta, &b, tb);
                let mut c = c0.clone();
                let p = Product::new(m, n, k)
                    .transpose_a(ta)
                    .transpose_b(tb)
                    .alpha(alpha)
                    .beta(beta);
                match path {
                    Some(path) => gemm_on(path, p, &a, &b, &mut c),
                    None => Cpu.gemm(p, &a, &b, &mut c).unwrap(),
                }
                for (idx, (x, (y, z))) in c.iter().zip(ab.iter().zip(&c0)).enumerate() {
                    let want = alpha * y + beta * z;
                    assert!(
                        (x - want).abs() < 1e-4 * (1.0 + (k as f32).sqrt() * want.abs()),
                        "{m}x{n}x{k} ta={ta} tb={tb} alpha={alpha} beta={beta} path={path:?} at {idx}: {x} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn matches_naive_for_every_transpose() {
        // Tiny (the portable path's own loops), partial tiles in every
        // direction, several k blocks of either form (k > 256 and
        // k > 1024), several column blocks (n > 512 and n > 128), a batch
        // of one, thin convolution-like products, an empty inner size.
        for &(m, n, k) in &[
            (3, 2, 4),
            (17, 9, 33),
            (64, 10, 128),
            (4, 16, 8),
            (16, 1, 8),
            (1, 128, 784),
            (13, 47, 31),
            (6, 600, 25),
            (25, 530, 600),
            (12, 32, 256),
            (9, 40, 1100),
            (7, 3, 0),
            // AVX2's tiles: 6 and 4 rows, 16 columns, 8-lane tails.
            (11, 20, 13),
            (5, 7, 9),
            (6, 16, 8),
        ] {
            check(m, n, k, 1.0, 0.0);
        }
        check(13, 47, 531, 1.5, 0.5);
        check(9, 70, 17, -2.0, 1.0);
    }

    #[test]
    fn split_across_threads_matches_one_thread() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        // Above PARALLEL_MIN (whatever it is set to): split by rows, then
        // by columns, into three bands with a ragged last one.
        let k = |m: usize, n: usize| 3 * PARALLEL_MIN / (m * n) + 1;
        pool.install(|| {
            check(200, 130, k(200, 130), 1.0, 0.0);
            check(30, 700, k(30, 700), 0.5, 1.0);
        });
    }

    #[test]
    fn beta_accumulates() {
        let a = vec![1.0, 2.0];
        let b = vec![3.0, 4.0];
        let mut c = vec![10.0];
        Cpu.gemm(Product::new(1, 1, 2).accumulate(), &a, &b, &mut c)
            .unwrap();
        assert_eq!(c, vec![21.0]);
    }

    #[test]
    fn wrong_length_is_an_error() {
        let mut c = vec![0.0; 3];
        assert!(Cpu
            .gemm(Product::new(2, 2, 2), &vec![0.0; 4], &vec![0.0; 4], &mut c)
            .is_err());
    }
}

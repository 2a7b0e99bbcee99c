//! How the products' kernels see their operands: raw strided views, so
//! that one band of a product split across threads can be handed to each.

/// A read-only matrix: element `(i, j)` is at `ptr + i * rs + j * cs`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

/// A row-major output: element `(i, j)` is at `ptr + i * ld + j`.
#[derive(Clone, Copy)]
pub(crate) struct Out {
    pub ptr: *mut f32,
    pub ld: usize,
}

// SAFETY: the pointers are only dereferenced inside the kernels, whose callers
// guarantees that views in flight on different threads either only read or
// write disjoint parts of `C`.
unsafe impl Send for View {}
unsafe impl Sync for View {}
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl View {
    pub(crate) fn at(self, i: usize, j: usize) -> View {
        View {
            ptr: self.ptr.wrapping_add(i * self.rs + j * self.cs),
            ..self
        }
    }
}

impl Out {
    pub(crate) fn at(self, i: usize, j: usize) -> Out {
        Out {
            ptr: self.ptr.wrapping_add(i * self.ld + j),
            ..self
        }
    }
}

/// `C = beta * C` (a product with `k == 0`).
///
/// # Safety
/// `C` must cover `m x n` elements.
pub(crate) unsafe fn scale(m: usize, n: usize, beta: f32, c: Out) {
    for i in 0..m {
        // SAFETY: row i of C has n values.
        let row = unsafe { std::slice::from_raw_parts_mut(c.ptr.add(i * c.ld), n) };
        if beta == 0.0 {
            row.fill(0.0);
        } else {
            row.iter_mut().for_each(|v| *v *= beta);
        }
    }
}

/// One tile of a blocked product: rows `i..i + rows` and columns
/// `j..j + cols` of `C`, over the inner block `k0..k0 + kc`, with the
/// `beta` it applies (later inner blocks add to what the first wrote).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tile {
    pub i: usize,
    pub j: usize,
    pub k0: usize,
    pub rows: usize,
    pub cols: usize,
    pub kc: usize,
    pub beta: f32,
}

/// Walk an `m x n` product with inner size `k` the way every kernel set
/// here blocks it: `k` in blocks of `kc` (the reused slice of one operand
/// stays in cache), columns in blocks of `nc`, then row tiles of the height
/// `rows_of(rows left)` picks, then column tiles of `nr`. With `k == 0`
/// there are no tiles and `C` is scaled by `beta`.
///
/// # Safety
/// `c` must cover `m x n` elements (for the `k == 0` case); `tile` is
/// called with tiles inside `m x n x k` only.
#[inline(always)]
pub(crate) unsafe fn blocked(
    (m, n, k): (usize, usize, usize),
    (kc, nc, nr): (usize, usize, usize),
    beta: f32,
    c: Out,
    rows_of: impl Fn(usize) -> usize,
    mut tile: impl FnMut(Tile),
) {
    if k == 0 {
        // SAFETY: forwarded contract.
        return unsafe { scale(m, n, beta, c) };
    }
    for k0 in (0..k).step_by(kc) {
        let kc = kc.min(k - k0);
        let beta = if k0 == 0 { beta } else { 1.0 };
        for j0 in (0..n).step_by(nc) {
            let nc = nc.min(n - j0);
            let mut i = 0;
            while i < m {
                let rows = rows_of(m - i);
                for j in (j0..j0 + nc).step_by(nr) {
                    let cols = nr.min(j0 + nc - j);
                    tile(Tile {
                        i,
                        j,
                        k0,
                        rows,
                        cols,
                        kc,
                        beta,
                    });
                }
                i += rows;
            }
        }
    }
}

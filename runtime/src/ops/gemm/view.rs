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

//! Sums written with independent partial sums, so they vectorise: a plain
//! `iter().sum()` of floats adds one value at a time (the compiler may not
//! reorder float additions), which is latency-bound and several times
//! slower. Partial sums are also more accurate than one running total.

const LANES: usize = 16;

/// `sum over i of f(a[i], b[i])` with `LANES` partial sums.
#[inline(always)]
fn lanes(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&x, &y)| f(x, y))
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `sum of a[i] * b[i]`.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    lanes(a, b, |x, y| x * y)
}

/// `sum of a[i]`.
#[inline(always)]
pub(crate) fn sum(a: &[f32]) -> f32 {
    lanes(a, a, |x, _| x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_plain_sums() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| (i % 5) as f32).collect();
        let plain = |f: &dyn Fn(usize) -> f32| (0..37).map(f).sum::<f32>();
        assert!((dot(&a, &b) - plain(&|i| a[i] * b[i])).abs() < 1e-3);
        assert!((sum(&a) - plain(&|i| a[i])).abs() < 1e-3);
    }
}

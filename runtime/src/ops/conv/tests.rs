use super::*;
use crate::backend::Cpu;
use crate::ops::gemm::CpuPath;
use crate::rng::Rng;

/// Direct convolution, the definition.
fn naive(g: &Geom2d, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; g.out_len()];
    let (kh, kw) = g.kernel;
    for n in 0..g.batch {
        for o in 0..g.out_c {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let mut s = b[o];
                    for c in 0..g.in_c {
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (oy * g.stride.0 + i) as isize - g.padding.0 as isize;
                                let ix = (ox * g.stride.1 + j) as isize - g.padding.1 as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= g.in_h as isize
                                    || ix >= g.in_w as isize
                                {
                                    continue;
                                }
                                s += x[((n * g.in_c + c) * g.in_h + iy as usize) * g.in_w
                                    + ix as usize]
                                    * w[((o * g.in_c + c) * kh + i) * kw + j];
                            }
                        }
                    }
                    y[((n * g.out_c + o) * g.out_h + oy) * g.out_w + ox] = s;
                }
            }
        }
    }
    y
}

fn geom(
    batch: usize,
    c: usize,
    hw: (usize, usize),
    o: usize,
    k: (usize, usize),
    s: (usize, usize),
    p: (usize, usize),
) -> Geom2d {
    let out_h = crate::ops::window::out_len(hw.0, k.0, s.0, p.0).unwrap();
    let out_w = crate::ops::window::out_len(hw.1, k.1, s.1, p.1).unwrap();
    Geom2d {
        batch,
        in_c: c,
        in_h: hw.0,
        in_w: hw.1,
        out_c: o,
        out_h,
        out_w,
        kernel: k,
        stride: s,
        padding: p,
    }
}

#[test]
fn im2col_product_matches_direct_convolution() {
    let mut rng = Rng::new(3);
    for g in [
        geom(3, 2, (7, 6), 4, (3, 3), (1, 1), (1, 1)),
        geom(2, 3, (9, 8), 7, (3, 2), (2, 3), (1, 0)),
        geom(5, 1, (5, 5), 6, (5, 5), (1, 1), (2, 2)),
        geom(2, 4, (6, 6), 3, (1, 1), (1, 1), (0, 0)),
        geom(2, 4, (6, 6), 3, (1, 1), (2, 2), (0, 0)),
        // Stride 2 read in pairs (a ResNet's), and with a last line too
        // short for a whole last pair (odd padded width).
        geom(2, 3, (14, 14), 5, (3, 3), (2, 2), (1, 1)),
        geom(2, 3, (7, 7), 5, (3, 3), (2, 2), (1, 1)),
        // Large enough that each run splits into groups of one image.
        geom(5, 16, (32, 32), 4, (3, 3), (1, 1), (1, 1)),
    ] {
        let x: Vec<f32> = (0..g.in_len()).map(|_| rng.normal()).collect();
        let w: Vec<f32> = (0..g.out_c * g.patch()).map(|_| rng.normal()).collect();
        let b: Vec<f32> = (0..g.out_c).map(|_| rng.normal()).collect();
        let mut y = vec![f32::NAN; g.out_len()];
        let mut cols = Vec::new();
        // Inference (one group at a time) gives the same outputs.
        let mut y_infer = vec![f32::NAN; g.out_len()];
        Cpu.conv2d_forward(&g, &x, &w, Some(&b), &mut y_infer, &mut Vec::new(), false)
            .unwrap();
        Cpu.conv2d_forward(&g, &x, &w, Some(&b), &mut y, &mut cols, true)
            .unwrap();
        assert_eq!(y, y_infer);
        for (a, e) in y.iter().zip(naive(&g, &x, &w, &b)) {
            assert!((a - e).abs() < 1e-3, "{g:?}: {a} vs {e}");
        }
        backward_matches_definition(&g, &x, &w, &cols, &mut rng);
    }
}

/// dW, db and dx against their definitions (sums over every output).
fn backward_matches_definition(g: &Geom2d, x: &[f32], w: &[f32], cols: &Vec<f32>, rng: &mut Rng) {
    let dy: Vec<f32> = (0..g.out_len()).map(|_| rng.normal()).collect();
    let (mut dx, mut dw, mut db) = (
        vec![0.0; g.in_len()],
        vec![0.0; w.len()],
        vec![0.0; g.out_c],
    );
    Cpu.conv2d_backward(
        g,
        &x.to_vec(),
        cols,
        &w.to_vec(),
        &dy,
        Some(&mut dx),
        &mut dw,
        Some(&mut db),
        &mut Vec::new(),
    )
    .unwrap();
    assert_gradients(g, x, w, &dy, (&dx, &dw, &db));
}

/// `(dx, dw, db)` against their definitions: sums over every output.
fn assert_gradients(g: &Geom2d, x: &[f32], w: &[f32], dy: &[f32], got: (&[f32], &[f32], &[f32])) {
    let (mut want_dx, mut want_dw, mut want_db) = (
        vec![0.0f64; g.in_len()],
        vec![0.0f64; w.len()],
        vec![0.0f64; g.out_c],
    );
    let (kh, kw) = g.kernel;
    for n in 0..g.batch {
        for o in 0..g.out_c {
            for oy in 0..g.out_h {
                for ox in 0..g.out_w {
                    let d = dy[((n * g.out_c + o) * g.out_h + oy) * g.out_w + ox] as f64;
                    want_db[o] += d;
                    for c in 0..g.in_c {
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (oy * g.stride.0 + i) as isize - g.padding.0 as isize;
                                let ix = (ox * g.stride.1 + j) as isize - g.padding.1 as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= g.in_h as isize
                                    || ix >= g.in_w as isize
                                {
                                    continue;
                                }
                                let xi = ((n * g.in_c + c) * g.in_h + iy as usize) * g.in_w
                                    + ix as usize;
                                let wi = ((o * g.in_c + c) * kh + i) * kw + j;
                                want_dw[wi] += d * x[xi] as f64;
                                want_dx[xi] += d * w[wi] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    for (what, got, want) in [
        ("dx", got.0, &want_dx),
        ("dw", got.1, &want_dw),
        ("db", got.2, &want_db),
    ] {
        assert_eq!(got.len(), want.len(), "{g:?} {what}");
        for (a, e) in got.iter().zip(want.iter()) {
            assert!(
                (*a as f64 - e).abs() < 1e-2 * e.abs().max(1.0),
                "{g:?} {what}: {a} vs {e}"
            );
        }
    }
}

type ForwardKernel =
    fn(&Geom2d, &[f32], &[f32], Option<&[f32]>, &mut [f32], &mut Vec<f32>, CpuPath);
type BackwardKernel = fn(
    &Geom2d,
    &[f32],
    &[f32],
    &[f32],
    Option<&mut [f32]>,
    &mut [f32],
    Option<&mut [f32]>,
    &mut Vec<f32>,
    CpuPath,
);

/// One of the CPU's convolution kernels under every CPU path this machine
/// runs (not only the one `STATICNN_CPU` picks), against the definition,
/// with scratch buffers that start too short and full of NaN.
fn check_kernels(
    shapes: &[Geom2d],
    applies: fn(&Geom2d) -> bool,
    forward: ForwardKernel,
    backward: BackwardKernel,
) {
    let mut rng = Rng::new(11);
    for g in shapes {
        assert!(applies(g), "{g:?}");
        let x: Vec<f32> = (0..g.in_len()).map(|_| rng.normal()).collect();
        let w: Vec<f32> = (0..g.out_c * g.patch()).map(|_| rng.normal()).collect();
        let b: Vec<f32> = (0..g.out_c).map(|_| rng.normal()).collect();
        let dy: Vec<f32> = (0..g.out_len()).map(|_| rng.normal()).collect();
        let want = naive(g, &x, &w, &b);
        for path in CpuPath::supported() {
            let mut y = vec![f32::NAN; g.out_len()];
            forward(g, &x, &w, Some(&b), &mut y, &mut vec![f32::NAN; 3], path);
            for (a, e) in y.iter().zip(&want) {
                let tol = 1e-4 * (g.patch() as f32).sqrt() * e.abs().max(1.0);
                assert!((a - e).abs() < tol, "{} {g:?}: {a} vs {e}", path.name());
            }
            let (mut dx, mut dw, mut db) = (
                vec![f32::NAN; g.in_len()],
                vec![f32::NAN; w.len()],
                vec![f32::NAN; g.out_c],
            );
            let mut work = vec![f32::NAN; 7];
            backward(
                g,
                &x,
                &w,
                &dy,
                Some(&mut dx),
                &mut dw,
                Some(&mut db),
                &mut work,
                path,
            );
            assert_gradients(g, &x, &w, &dy, (&dx, &dw, &db));
            // Without dx, the same weight gradient.
            let mut dw2 = vec![f32::NAN; w.len()];
            backward(g, &x, &w, &dy, None, &mut dw2, None, &mut work, path);
            assert_eq!(dw, dw2, "{} {g:?}", path.name());
        }
    }
}

/// The direct path on the shapes it serves: LeNet's first layer, RGB
/// 3x3, rows longer than one 16-wide block and not a multiple of it,
/// channel counts that leave 2- and 1-channel blocks, no padding.
#[test]
fn direct_convolution_matches_definition_on_every_cpu_path() {
    let shapes = [
        geom(4, 1, (28, 28), 6, (5, 5), (1, 1), (2, 2)),
        geom(3, 3, (19, 21), 7, (3, 3), (1, 1), (1, 1)),
        geom(2, 1, (20, 33), 3, (5, 5), (1, 1), (0, 0)),
        geom(3, 2, (7, 6), 4, (3, 3), (1, 1), (1, 1)),
        geom(2, 8, (9, 17), 5, (2, 2), (1, 1), (1, 0)),
    ];
    check_kernels(&shapes, direct::applies, direct::forward, direct::backward);
    // On AVX-512, or with at most 6 output channels, their forward pass
    // takes the shifted path's kernels (`shifted::takes_forward`): those
    // too, on every path.
    let stride_one =
        |g: &Geom2d| g.stride == (1, 1) && g.padding.0 < g.kernel.0 && g.padding.1 < g.kernel.1;
    let shifted_shapes: Vec<Geom2d> = shapes.into_iter().filter(stride_one).collect();
    check_kernels(
        &shifted_shapes,
        stride_one,
        shifted::forward,
        shifted::backward,
    );
}

/// The shifted-product path on a small ResNet's two 3x3 layers, LeNet's
/// second layer (no padding), and shapes that leave padded channel blocks
/// (20 and 40 outputs, several blocks), a short last tile of positions and
/// taps, uneven padding, a 4x2 kernel and a batch not divisible by the
/// threads.
#[test]
fn shifted_convolution_matches_definition_on_every_cpu_path() {
    let shapes = [
        geom(4, 16, (14, 14), 16, (3, 3), (1, 1), (1, 1)),
        geom(3, 32, (7, 7), 32, (3, 3), (1, 1), (1, 1)),
        geom(2, 6, (14, 14), 16, (5, 5), (1, 1), (0, 0)),
        geom(3, 5, (9, 11), 20, (3, 3), (1, 1), (2, 0)),
        geom(1, 5, (6, 5), 40, (4, 2), (1, 1), (1, 1)),
        geom(5, 9, (5, 5), 3, (3, 3), (1, 1), (0, 1)),
        // Fewer grid positions than one tile: the slack past the planes.
        geom(2, 9, (2, 3), 4, (3, 3), (1, 1), (1, 1)),
    ];
    check_kernels(
        &shapes,
        shifted::applies,
        shifted::forward,
        shifted::backward,
    );
}

#[test]
fn strided_and_wide_convolutions_do_not_take_the_direct_path() {
    assert!(!direct::applies(&geom(
        1,
        1,
        (8, 8),
        2,
        (3, 3),
        (2, 2),
        (1, 1)
    )));
    assert!(!direct::applies(&geom(
        1,
        16,
        (8, 8),
        2,
        (3, 3),
        (1, 1),
        (1, 1)
    )));
}

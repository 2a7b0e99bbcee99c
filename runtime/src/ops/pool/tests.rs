use super::cpu::{is_winner, max_nan, window};
use super::*;
use crate::backend::Cpu;

fn g2(h: usize, w: usize, k: usize, s: usize, p: usize) -> Geom2d {
    let oh = crate::ops::window::out_len(h, k, s, p).unwrap();
    let ow = crate::ops::window::out_len(w, k, s, p).unwrap();
    Geom2d {
        batch: 1,
        in_c: 1,
        in_h: h,
        in_w: w,
        out_c: 1,
        out_h: oh,
        out_w: ow,
        kernel: (k, k),
        stride: (s, s),
        padding: (p, p),
    }
}

#[test]
fn max_and_average_of_a_known_image() {
    let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    let g = g2(4, 4, 2, 2, 0);
    let mut y = vec![0.0; 4];
    Cpu.max_pool2d_forward(&g, &x, &mut y).unwrap();
    assert_eq!(y, vec![5.0, 7.0, 13.0, 15.0]);
    let mut dx = vec![9.0; 16];
    let dy = vec![1.0, 2.0, 3.0, 4.0];
    Cpu.max_pool2d_backward(&g, &x, &y, &dy, &mut dx, &mut Vec::new())
        .unwrap();
    assert_eq!(dx[5], 1.0);
    assert_eq!(dx[15], 4.0);
    assert_eq!(dx.iter().sum::<f32>(), 10.0);
    Cpu.avg_pool2d_forward(&g, &x, &mut y).unwrap();
    assert_eq!(y, vec![2.5, 4.5, 10.5, 12.5]);
}

#[test]
fn max_pool_padding_never_wins() {
    let x = vec![-5.0; 9];
    let g = g2(3, 3, 2, 2, 1);
    let mut y = vec![0.0; 4];
    Cpu.max_pool2d_forward(&g, &x, &mut y).unwrap();
    assert_eq!(y, vec![-5.0; 4]);
}

#[test]
fn ties_send_the_gradient_to_the_first_winner_only() {
    for padding in [0, 1] {
        let x = vec![1.0; 16];
        let g = g2(4, 4, 2, 2, padding);
        let mut y = vec![0.0; g.out_len()];
        Cpu.max_pool2d_forward(&g, &x, &mut y).unwrap();
        let dy = vec![1.0; g.out_len()];
        let mut dx = vec![0.0; 16];
        Cpu.max_pool2d_backward(&g, &x, &y, &dy, &mut dx, &mut Vec::new())
            .unwrap();
        assert_eq!(
            dx.iter().sum::<f32>(),
            g.out_len() as f32,
            "padding {padding}"
        );
        assert_eq!(dx[0], 1.0, "padding {padding}");
    }
}

/// Both passes against the window-by-window definition (the padded
/// path's loops), for the 2x2 stride-2 fast path, tiling windows that
/// skip rows (3x3 stride 3, rounding down) and overlapping ones, on
/// planes with many ties (values on a coarse grid), a NaN and negative
/// gradients.
#[test]
fn fast_paths_match_the_definition() {
    let mut rng = crate::Rng::new(3);
    let cases = [
        (4, 4, 2, 2),
        (5, 5, 2, 2),
        (28, 28, 2, 2),
        // Rows of 8 and more outputs (blocks of 8, the last overlapping),
        // one of exactly 8, and odd sizes that leave a row and a column
        // uncovered.
        (6, 16, 2, 2),
        (17, 19, 2, 2),
        (3, 7, 2, 2),
        (2, 2, 2, 2),
        (8, 11, 3, 3),
        (9, 9, 3, 2),
    ];
    for (h, w, k, st) in cases {
        let g = g2(h, w, k, st, 0);
        let mut x: Vec<f32> = (0..h * w).map(|_| (rng.uniform() * 4.0).floor()).collect();
        x[h * w / 2] = f32::NAN;
        let dy: Vec<f32> = (0..g.out_len()).map(|_| rng.normal()).collect();
        let mut y = vec![0.0; g.out_len()];
        Cpu.max_pool2d_forward(&g, &x, &mut y).unwrap();
        let mut dx = vec![7.0; h * w];
        Cpu.max_pool2d_backward(&g, &x, &y, &dy, &mut dx, &mut Vec::new())
            .unwrap();
        let (mut y_def, mut dx_def) = (vec![0.0; g.out_len()], vec![0.0; h * w]);
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let o = oy * g.out_w + ox;
                let mut best = f32::NEG_INFINITY;
                window(&g, oy, ox, |iy, ix| best = max_nan(best, x[iy * w + ix]));
                y_def[o] = best;
                let mut given = false;
                window(&g, oy, ox, |iy, ix| {
                    if !given && is_winner(x[iy * w + ix], best) {
                        dx_def[iy * w + ix] += dy[o];
                        given = true;
                    }
                });
            }
        }
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&y_def), "{h}x{w} k{k} s{st} forward");
        assert_eq!(bits(&dx), bits(&dx_def), "{h}x{w} k{k} s{st} backward");
    }
}

#[test]
fn nan_propagates() {
    let mut x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    x[0] = f32::NAN;
    let g = g2(4, 4, 2, 2, 0);
    let mut y = vec![0.0; 4];
    Cpu.max_pool2d_forward(&g, &x, &mut y).unwrap();
    assert!(y[0].is_nan());
    assert_eq!(&y[1..], &[7.0, 13.0, 15.0]);
}

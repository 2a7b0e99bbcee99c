use super::*;
use crate::backend::Cpu;

#[test]
fn training_normalises_and_moves_running_stats() {
    // Two samples, one channel, two positions: values 1, 2, 3, 4.
    let g = NormGeom {
        batch: 2,
        channels: 1,
        spatial: 2,
    };
    let x = vec![1.0, 2.0, 3.0, 4.0];
    let (mut y, mut mean, mut inv) = (vec![0.0; 4], Vec::new(), Vec::new());
    let (mut rm, mut rv) = (vec![0.0], vec![1.0]);
    Cpu.batch_norm_train(
        &g,
        0.0,
        &x,
        &vec![1.0],
        &vec![0.0],
        &mut y,
        &mut mean,
        &mut inv,
        Running {
            mean: &mut rm,
            var: &mut rv,
            momentum: 0.1,
        },
    )
    .unwrap();
    assert_eq!(mean, vec![2.5]);
    let s = 1.25f32.sqrt();
    for (a, e) in y.iter().zip([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]) {
        assert!((a - e).abs() < 1e-6);
    }
    assert!((rm[0] - 0.25).abs() < 1e-6);
    // Unbiased variance 5/3 enters the running variance.
    assert!((rv[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-6);
}

#[test]
fn one_value_per_channel_is_an_error() {
    let g = NormGeom {
        batch: 1,
        channels: 2,
        spatial: 1,
    };
    let err = Cpu
        .batch_norm_train(
            &g,
            1e-5,
            &vec![1.0, 2.0],
            &vec![1.0; 2],
            &vec![0.0; 2],
            &mut vec![0.0; 2],
            &mut Vec::new(),
            &mut Vec::new(),
            Running {
                mean: &mut vec![0.0; 2],
                var: &mut vec![1.0; 2],
                momentum: 0.1,
            },
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("more than one value per channel"),
        "{err}"
    );
}

/// The statistics and the parameters' gradients against sums in f64, on a
/// batch that is not a whole number of the CPU's 8-sample blocks, planes
/// with a partial last vector, and values far from zero (where summing
/// in f32 alone would lose the variance to cancellation).
#[test]
fn blocked_sums_match_f64_sums() {
    let g = NormGeom {
        batch: 19,
        channels: 3,
        spatial: 37,
    };
    let mut rng = crate::Rng::new(5);
    let x: Vec<f32> = (0..g.len())
        .map(|i| 1000.0 * (i % 3) as f32 + rng.normal())
        .collect();
    let dy: Vec<f32> = (0..g.len()).map(|_| rng.normal()).collect();
    let (c, m) = (g.channels, g.count() as f64);
    let (gamma, beta) = (vec![1.5; c], vec![0.25; c]);
    let (mut y, mut mean, mut inv_std) = (vec![0.0; g.len()], Vec::new(), Vec::new());
    let (mut rm, mut rv) = (vec![0.0; c], vec![1.0; c]);
    let running = Running {
        mean: &mut rm,
        var: &mut rv,
        momentum: 0.1,
    };
    Cpu.batch_norm_train(
        &g,
        1e-5,
        &x,
        &gamma,
        &beta,
        &mut y,
        &mut mean,
        &mut inv_std,
        running,
    )
    .unwrap();
    let (mut dx, mut dg, mut db) = (vec![0.0; g.len()], vec![0.0; c], vec![0.0; c]);
    let stats = Stats::Batch {
        mean: &mean,
        inv_std: &inv_std,
    };
    Cpu.batch_norm_backward(&g, &x, &gamma, stats, &dy, &mut dx, &mut dg, &mut db)
        .unwrap();
    for ch in 0..c {
        let at = |n: usize, p: usize| (n * c + ch) * g.spatial + p;
        let values = || (0..g.batch).flat_map(move |n| (0..g.spatial).map(move |p| at(n, p)));
        let mu = values().map(|i| x[i] as f64).sum::<f64>() / m;
        let var = values().map(|i| (x[i] as f64 - mu).powi(2)).sum::<f64>() / m;
        let is = 1.0 / (var + 1e-5).sqrt();
        assert!(
            (mean[ch] as f64 - mu).abs() < 1e-3,
            "{ch}: {} vs {mu}",
            mean[ch]
        );
        assert!(
            (inv_std[ch] as f64 / is - 1.0).abs() < 1e-4,
            "{ch}: {} vs {is}",
            inv_std[ch]
        );
        let sb: f64 = values().map(|i| dy[i] as f64).sum();
        let sg: f64 = values()
            .map(|i| dy[i] as f64 * (x[i] as f64 - mu) * is)
            .sum();
        assert!(
            (db[ch] as f64 - sb).abs() < 1e-3,
            "{ch}: {} vs {sb}",
            db[ch]
        );
        assert!(
            (dg[ch] as f64 - sg).abs() < 1e-2,
            "{ch}: {} vs {sg}",
            dg[ch]
        );
    }
}

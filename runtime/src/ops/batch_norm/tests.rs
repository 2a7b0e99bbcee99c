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

//! `train::gradients`: a batch's loss and every parameter's gradient by
//! name in one call, checked against central differences of the loss, in
//! training mode and with BatchNorm frozen (eval mode).

use staticnn::prelude::*;
use staticnn::train::{gradients, Mode};
use staticnn::Rng;

network! {
    struct Net: [4] { fc1: Dense(6), bn: BatchNorm, Relu, Dropout(0.25), fc2: Dense(3) }
}

fn batch() -> (Tensor<Cpu, Rank1<4>>, Tensor<Cpu, ClassIndex>) {
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..8 * 4).map(|_| rng.normal()).collect();
    let y: Vec<f32> = (0..8).map(|i| (i % 3) as f32).collect();
    (
        Tensor::from_slice(&Cpu, &x).unwrap(),
        Tensor::from_slice(&Cpu, &y).unwrap(),
    )
}

/// The loss after nudging value `i` of parameter `name` by `by`, in eval
/// mode (deterministic, and leaving the running statistics alone).
fn loss_nudged(net: &mut Net, name: &str, i: usize, by: f32) -> f64 {
    let (x, y) = batch();
    net.visit_params_mut("", &mut |n, p| {
        if n == name {
            let mut v = p.to_vec()?;
            v[i] += by;
            p.set(&v)?;
        }
        Ok(())
    })
    .unwrap();
    let value = SoftmaxCrossEntropy
        .value(&net.forward(&x).unwrap(), &y)
        .unwrap();
    net.visit_params_mut("", &mut |n, p| {
        if n == name {
            let mut v = p.to_vec()?;
            v[i] -= by;
            p.set(&v)?;
        }
        Ok(())
    })
    .unwrap();
    f64::from(value)
}

#[test]
fn eval_mode_gradients_match_central_differences_by_name() {
    let mut net = Net::init(&Cpu, 1).unwrap();
    // Running statistics away from 0 and 1, as after some training.
    net.bn
        .running_mean
        .set(&[0.3, -0.2, 0.1, 0.5, -0.4, 0.2])
        .unwrap();
    net.bn
        .running_var
        .set(&[1.5, 0.7, 2.0, 0.9, 1.2, 0.6])
        .unwrap();
    let (x, y) = batch();
    let before = net.bn.running_mean.to_vec().unwrap();
    let g = gradients(&mut net, &SoftmaxCrossEntropy, &x, &y, Mode::Eval).unwrap();
    let names: Vec<&str> = g.grads.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fc1.weight",
            "fc1.bias",
            "bn.weight",
            "bn.bias",
            "fc2.weight",
            "fc2.bias"
        ]
    );
    assert_eq!(g.get("fc1.weight").unwrap().dims, [6, 4]);
    assert_eq!(
        net.bn.running_mean.to_vec().unwrap(),
        before,
        "eval mode moved the statistics"
    );
    let expected_loss = SoftmaxCrossEntropy
        .value(&net.forward(&x).unwrap(), &y)
        .unwrap();
    assert!((g.loss - expected_loss).abs() < 1e-6);
    let eps = 1e-2;
    for grad in &g.grads {
        for (i, &analytic) in grad.values.iter().enumerate() {
            let numeric = (loss_nudged(&mut net, &grad.name, i, eps)
                - loss_nudged(&mut net, &grad.name, i, -eps))
                / (2.0 * f64::from(eps));
            let err = (f64::from(analytic) - numeric).abs();
            assert!(
                err < 2e-3 + 1e-2 * numeric.abs(),
                "{}[{i}]: analytic {analytic}, numeric {numeric}",
                grad.name
            );
        }
    }
    assert!(g.global_norm() > 0.0);
}

#[test]
fn train_mode_is_a_training_step_without_the_update() {
    let (x, y) = batch();
    let mut a = Net::init(&Cpu, 2).unwrap();
    let mut b = Net::init(&Cpu, 2).unwrap();
    let weights = a.fc1.weight.to_vec().unwrap();
    let g = gradients(
        &mut a,
        &SoftmaxCrossEntropy,
        &x,
        &y,
        Mode::Train { seed: 9 },
    )
    .unwrap();
    // The running statistics moved, as in a PyTorch training step; the
    // weights did not.
    assert_ne!(a.bn.running_mean.to_vec().unwrap(), vec![0.0; 6]);
    assert_eq!(a.fc1.weight.to_vec().unwrap(), weights);
    // The same as the long way round: a state, forward_train, the loss's
    // gradient, backward.
    let mut state = Default::default();
    let pred = b
        .forward_train(&x, &mut state, &mut TrainCtx::new(9))
        .unwrap();
    let (loss, dy) = SoftmaxCrossEntropy.value_and_grad(pred, &y).unwrap();
    let mut grads = b.zero_grads(&Cpu).unwrap();
    b.backward(&x, &dy, &mut state, &mut grads).unwrap();
    let mut long_way = Vec::new();
    b.visit_grads(&grads, &mut |_, g| {
        long_way.push(g.to_vec()?);
        Ok(())
    })
    .unwrap();
    assert_eq!(g.loss, loss);
    let short_way: Vec<Vec<f32>> = g.grads.iter().map(|g| g.values.clone()).collect();
    assert_eq!(short_way, long_way);
}

//! Convolutional and residual networks end to end: training on the bundled
//! digits, BatchNorm's two modes and running statistics, save/load and
//! device copies of nested blocks, the nested summary, and clear errors for
//! bad configurations.

#[path = "../examples/common/mod.rs"]
mod common;

use staticnn::layers::{BatchNorm, Conv2d, MaxPool2d, PoolWindow};
use staticnn::prelude::*;
use staticnn::Rng;

network! {
    /// A small CNN with every image layer the examples use.
    struct Cnn: [1, 28, 28] {
        conv: Conv2d(8, kernel = 5, padding = 2, bias = false), bn: BatchNorm, Relu,
        MaxPool2d(2),
        block: Residual {
            conv1: Conv2d(8, kernel = 3, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(8, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        },
        Relu,
        down: Residual {
            Conv2d(16, kernel = 3, stride = 2, padding = 1), Relu,
        } + downsample: {
            Conv2d(16, kernel = 1, stride = 2, bias = false), BatchNorm,
        },
        Relu,
        GlobalAvgPool,
        fc: Dense(10),
    }
}

fn params<M: Layer<Cpu>>(net: &M) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    net.visit_params("", &mut |name, p| {
        out.push((name.to_string(), p.to_vec()?));
        Ok(())
    })
    .unwrap();
    out
}

fn images(n: usize, seed: u64) -> Tensor<Cpu, Rank3<1, 28, 28>> {
    let mut rng = Rng::new(seed);
    Tensor::from_vec(&Cpu, (0..n * 784).map(|_| rng.uniform()).collect()).unwrap()
}

#[test]
fn a_residual_cnn_learns_the_bundled_digits() {
    let all = common::bundled::<Rank3<1, 28, 28>>().unwrap();
    let (_, part) = all.split(0.4, 5).unwrap();
    let (train, val) = part.split(0.25, 6).unwrap();
    let mut net = Cnn::init(&Cpu, 1).unwrap();
    let before = evaluate(&net, &SoftmaxCrossEntropy, &val, 100).unwrap();
    let mut opt = Adam::new(5e-3);
    let history = fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &train,
        Some(&val),
        &FitConfig::new(8, 32).verbose(false),
    )
    .unwrap();
    let after = evaluate(&net, &SoftmaxCrossEntropy, &val, 100).unwrap();
    let losses: Vec<f32> = history.epochs.iter().map(|e| e.train_loss).collect();
    println!(
        "training losses {losses:?}, validation accuracy {:?}",
        after.accuracy
    );
    assert!(losses[7] < 0.3 * losses[0], "training losses {losses:?}");
    assert!(
        after.accuracy.unwrap() > 0.8,
        "validation accuracy {:?} (before {:?})",
        after.accuracy,
        before.accuracy
    );
}

#[test]
fn batch_norm_trains_on_batch_statistics_and_infers_on_running_ones() {
    let mut bn = BatchNorm::<Cpu, Rank3<2, 3, 3>>::new(&Cpu, 0.5, 1e-5).unwrap();
    // Channel 0 around 10, channel 1 around -4.
    let mut rng = Rng::new(2);
    let x: Vec<f32> = (0..4 * 18)
        .map(|i| if (i / 9) % 2 == 0 { 10.0 } else { -4.0 } + rng.normal())
        .collect();
    let x = Tensor::<Cpu, Rank3<2, 3, 3>>::from_vec(&Cpu, x).unwrap();
    let mut state = Default::default();
    let y = bn
        .forward_train(&x, &mut state, &mut TrainCtx::new(0))
        .unwrap()
        .to_vec()
        .unwrap();
    // Training output: each channel has mean 0 and variance 1.
    for c in 0..2 {
        let v: Vec<f32> = (0..4)
            .flat_map(|n| y[(n * 2 + c) * 9..][..9].to_vec())
            .collect();
        let mean = v.iter().sum::<f32>() / 36.0;
        let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / 36.0;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "{mean} {var}"
        );
    }
    // Running mean moved halfway from 0 towards each channel's mean.
    let rm = bn.running_mean.to_vec().unwrap();
    assert!(
        (rm[0] - 5.0).abs() < 0.5 && (rm[1] + 2.0).abs() < 0.5,
        "{rm:?}"
    );
    // Inference uses the running statistics, so it differs from training.
    let inferred = Layer::<Cpu>::forward(&bn, &x).unwrap().to_vec().unwrap();
    assert!((inferred[0] - y[0]).abs() > 0.5);
    // Backward after an inference pass (BatchNorm frozen, as when
    // fine-tuning) treats the running statistics as constants: the layer is
    // `y = w (x - mean) / sqrt(var + eps) + b` per channel.
    let mut grads = bn.zero_grads(&Cpu).unwrap();
    let mut state = Default::default();
    bn.infer(&x, &mut state).unwrap();
    let dy = Tensor::<Cpu, Rank3<2, 3, 3>>::from_vec(&Cpu, vec![1.0; 4 * 18]).unwrap();
    let dx = bn
        .backward(&x, &dy, &mut state, &mut grads)
        .unwrap()
        .to_vec()
        .unwrap();
    let (w, rv) = (
        bn.weight.to_vec().unwrap(),
        bn.running_var.to_vec().unwrap(),
    );
    let xs = x.to_vec().unwrap();
    for c in 0..2 {
        let inv = 1.0 / (rv[c] + 1e-5).sqrt();
        assert!((dx[c * 9] - w[c] * inv).abs() < 1e-5);
        let dgamma: f32 = (0..4)
            .flat_map(|n| xs[(n * 2 + c) * 9..][..9].to_vec())
            .map(|v| (v - rm[c]) * inv)
            .sum();
        let got = grads.weight.to_vec().unwrap()[c];
        assert!(
            (got - dgamma).abs() < 1e-3 * dgamma.abs().max(1.0),
            "{got} vs {dgamma}"
        );
        assert_eq!(grads.bias.to_vec().unwrap()[c], 36.0);
    }
}

#[test]
fn batch_norm_on_one_value_per_channel_is_a_clear_error() {
    let mut net = Cnn::init(&Cpu, 1).unwrap();
    let mut state = Default::default();
    let mut ctx = TrainCtx::new(0);
    // One image still has 28x28 values per channel: fine.
    net.forward_train(&images(1, 1), &mut state, &mut ctx)
        .unwrap();
    network! { struct Flat: [4] { Dense(3), BatchNorm } }
    let mut flat = Flat::init(&Cpu, 0).unwrap();
    let one = Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, vec![1.0; 4]).unwrap();
    let err = flat
        .forward_train(&one, &mut Default::default(), &mut ctx)
        .unwrap_err();
    assert!(
        err.to_string().contains("more than one value per channel"),
        "{err}"
    );
}

#[test]
fn save_load_round_trip_keeps_weights_and_running_statistics() {
    let mut net = Cnn::init(&Cpu, 3).unwrap();
    // A few training passes move the running statistics off 0 and 1.
    let mut state = Default::default();
    for seed in 0..3 {
        net.forward_train(&images(4, seed), &mut state, &mut TrainCtx::new(0))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn.safetensors");
    net.save(&path).unwrap();
    let mut other = Cnn::init(&Cpu, 4).unwrap();
    other.load(&path).unwrap();
    assert_eq!(params(&net), params(&other));
    let names: Vec<String> = params(&net).into_iter().map(|(n, _)| n).collect();
    for name in [
        "conv.weight",
        "bn.running_var",
        "block.conv1.weight",
        "block.bn2.running_mean",
        "down.0.bias",
        "down.downsample.1.running_var",
        "fc.bias",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    let x = images(3, 9);
    assert_eq!(
        net.forward(&x).unwrap().to_vec().unwrap(),
        other.forward(&x).unwrap().to_vec().unwrap()
    );
    // A copy (as for another device) carries the running statistics too.
    let copy = net.to_device(&Cpu).unwrap();
    assert_eq!(params(&net), params(&copy));
}

#[test]
fn a_file_with_a_wrong_kernel_is_refused_and_the_network_kept() {
    network! {
        struct Wide: [1, 28, 28] {
            conv: Conv2d(8, kernel = 3, padding = 2, bias = false), bn: BatchNorm, Relu,
            MaxPool2d(2),
            Flatten, fc: Dense(10),
        }
    }
    let wide = Wide::init(&Cpu, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.safetensors");
    wide.save(&path).unwrap();
    let mut net = Cnn::init(&Cpu, 5).unwrap();
    let before = params(&net);
    let err = net.load(&path).unwrap_err().to_string();
    assert!(
        err.contains("conv.weight") && err.contains("[8, 1, 3, 3]") && err.contains("[8, 1, 5, 5]"),
        "{err}"
    );
    assert_eq!(params(&net), before);
}

#[test]
fn layers_built_by_hand_check_their_geometry() {
    let mut rng = Rng::new(0);
    // 28 - 5 + 1 = 24, not 28: the stride and padding disagree with the type.
    let err = Conv2d::<Cpu, Rank3<1, 28, 28>, Rank3<6, 28, 28>, 5, 5>::init(
        &Cpu,
        &mut rng,
        Init::HeNormal,
        true,
        (1, 1),
        (0, 0),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("24x24") && err.contains("28x28"), "{err}");
    assert!(MaxPool2d::<Rank3<1, 4, 4>, Rank3<1, 3, 3>>::new(PoolWindow::square(2)).is_err());
    assert!(BatchNorm::<Cpu, Rank1<3>>::new(&Cpu, 1.5, 1e-5).is_err());
    assert!(BatchNorm::<Cpu, Rank1<3>>::new(&Cpu, 0.1, 0.0).is_err());
}

#[test]
fn summary_nests_blocks_under_their_names() {
    let text = Cnn::init(&Cpu, 0).unwrap().summary().to_string();
    assert!(text.contains("block (Residual)"), "{text}");
    assert!(
        text.contains("\n  block.conv1 (Conv2d(8, kernel = 3, padding = 1, bias = false))"),
        "{text}"
    );
    assert!(text.contains("\n  down.downsample.1 (BatchNorm)"), "{text}");
    assert!(text.contains("[16, 7, 7]"), "{text}");
    let total = Cnn::init(&Cpu, 0).unwrap().summary().total_params();
    assert_eq!(total, Cnn::<Cpu>::NUM_PARAMS);
}

#[test]
fn conv_backward_after_inference_matches_backward_after_training() {
    // Inference keeps only one group's unfolded images; a backward pass
    // after it unfolds the batch again and must give the same gradients.
    let mut rng = Rng::new(8);
    let mut conv = Conv2d::<Cpu, Rank3<3, 12, 12>, Rank3<4, 6, 6>, 3, 3>::init(
        &Cpu,
        &mut rng,
        Init::HeNormal,
        true,
        (2, 2),
        (1, 1),
    )
    .unwrap();
    let x = Tensor::<Cpu, Rank3<3, 12, 12>>::from_vec(
        &Cpu,
        (0..5 * 432).map(|_| rng.normal()).collect(),
    )
    .unwrap();
    let dy =
        Tensor::<Cpu, Rank3<4, 6, 6>>::from_vec(&Cpu, (0..5 * 144).map(|_| rng.normal()).collect())
            .unwrap();
    let run = |conv: &mut Conv2d<Cpu, Rank3<3, 12, 12>, Rank3<4, 6, 6>, 3, 3>, train: bool| {
        let mut state = Default::default();
        let y = if train {
            conv.forward_train(&x, &mut state, &mut TrainCtx::new(0))
        } else {
            conv.infer(&x, &mut state)
        }
        .unwrap()
        .to_vec()
        .unwrap();
        let mut grads = conv.zero_grads(&Cpu).unwrap();
        let dx = conv
            .backward(&x, &dy, &mut state, &mut grads)
            .unwrap()
            .to_vec()
            .unwrap();
        (y, dx, grads.weight.to_vec().unwrap())
    };
    let trained = run(&mut conv, true);
    let inferred = run(&mut conv, false);
    assert_eq!(trained, inferred);
}

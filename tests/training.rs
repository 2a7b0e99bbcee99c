//! Training end to end: XOR to 100%, MNIST digits from the bundled subset,
//! and the parts of `fit` around the loop (validation, early stopping,
//! checkpoints, history, divergence, bad labels).

#[path = "../examples/common/mod.rs"]
mod common;

use staticnn::prelude::*;

network! {
    struct Xor: [2] { Dense(8), Tanh, Dense(1), Sigmoid }
    struct Digits: [784] { fc1: Dense(64), Relu, Dropout(0.1), fc2: Dense(10) }
    struct Regressor: [3] { Dense(16), Tanh, Dense(1) }
}

fn xor_data() -> Dataset<Rank1<2>, Rank1<1>> {
    Dataset::new(
        vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        vec![0.0, 1.0, 1.0, 0.0],
    )
    .unwrap()
}

#[test]
fn xor_is_learned_to_100_percent() {
    let data = xor_data();
    let mut net = Xor::init(&Cpu, 0).unwrap();
    let mut opt = Adam::new(0.05);
    let history = fit(
        &mut net,
        &mut opt,
        &BinaryCrossEntropy,
        &data,
        None,
        &FitConfig::new(400, 4).verbose(false),
    )
    .unwrap();
    assert_eq!(history.last().unwrap().train_accuracy, Some(1.0));
    let (x, _) = data.to_tensors(&Cpu).unwrap();
    let y = net.forward(&x).unwrap();
    let predicted: Vec<bool> = y.as_slice().iter().map(|p| *p > 0.5).collect();
    assert_eq!(predicted, [false, true, true, false]);
    assert!(history.epochs[0].train_loss > 3.0 * history.last().unwrap().train_loss);
}

#[test]
fn every_optimiser_trains_xor_down() {
    fn loss_after<O: Optimizer<Cpu>>(mut opt: O) -> (f32, f32) {
        let mut net = Xor::init(&Cpu, 1).unwrap();
        let h = fit(
            &mut net,
            &mut opt,
            &BinaryCrossEntropy,
            &xor_data(),
            None,
            &FitConfig::new(200, 4).verbose(false),
        )
        .unwrap();
        (h.epochs[0].train_loss, h.last().unwrap().train_loss)
    }
    for (name, (first, last)) in [
        ("sgd", loss_after(Sgd::new(0.5))),
        (
            "nesterov",
            loss_after(Sgd::new(0.2).momentum(0.9).nesterov(true)),
        ),
        ("adam", loss_after(Adam::new(0.05))),
        ("adamw", loss_after(Adam::adamw(0.05, 0.01))),
        ("rmsprop", loss_after(RmsProp::new(0.02))),
        ("adagrad", loss_after(AdaGrad::new(0.2))),
    ] {
        assert!(
            last < 0.5 * first,
            "{name}: loss went from {first} to {last}"
        );
    }
}

/// The bundled digits, read exactly as the examples read them.
fn bundled() -> Dataset<Rank1<784>, ClassIndex> {
    common::bundled().unwrap()
}

#[test]
fn mnist_subset_trains_to_high_accuracy() {
    let all = bundled();
    assert_eq!(all.len(), 5000);
    // Half the digits, shuffled, then 80/20: 2,000 to train, 500 held out.
    let (_, half) = all.split(0.5, 3).unwrap();
    let (train, val) = half.split(0.2, 4).unwrap();
    let mut net = Digits::init(&Cpu, 0).unwrap();
    let before = evaluate(&net, &SoftmaxCrossEntropy, &val, 100).unwrap();
    let mut opt = Adam::new(2e-3);
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
    assert!(
        before.accuracy.unwrap() < 0.3,
        "untrained accuracy {:?}",
        before.accuracy
    );
    assert!(
        after.accuracy.unwrap() > 0.85,
        "accuracy after training {:?}",
        after.accuracy
    );
    assert!(after.loss < 0.5 * before.loss);
    assert_eq!(history.epochs.len(), 8);
    assert_eq!(history.last().unwrap().val_accuracy, after.accuracy);
}

#[test]
fn early_stopping_checkpoints_and_history() {
    let all = bundled();
    let (_, small) = all.split(0.1, 5).unwrap();
    let (train, val) = small.split(0.5, 6).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("best.safetensors");
    let mut net = Digits::init(&Cpu, 0).unwrap();
    // A high learning rate on 250 digits overfits fast, so validation loss
    // turns up and early stopping must fire.
    let mut opt = Adam::new(1e-2);
    let cfg = FitConfig::new(60, 16)
        .verbose(false)
        .early_stopping(3)
        .checkpoint(&ckpt);
    let history = fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &train,
        Some(&val),
        &cfg,
    )
    .unwrap();
    assert!(
        history.stopped_early,
        "ran all {} epochs",
        history.epochs.len()
    );
    let best = history.best_epoch.unwrap();
    assert_eq!(history.epochs.len(), best + 3);
    let best_val = history.epochs[best - 1].val_loss.unwrap();
    assert!(history
        .epochs
        .iter()
        .all(|e| e.val_loss.unwrap() >= best_val));
    // The best weights were restored, and they are the checkpoint's.
    let restored = evaluate(&net, &SoftmaxCrossEntropy, &val, 64).unwrap();
    assert!(
        (restored.loss - best_val).abs() < 1e-5,
        "{} vs {best_val}",
        restored.loss
    );
    let mut from_ckpt = Digits::init(&Cpu, 9).unwrap();
    from_ckpt.load(&ckpt).unwrap();
    assert!(
        (evaluate(&from_ckpt, &SoftmaxCrossEntropy, &val, 64)
            .unwrap()
            .loss
            - best_val)
            .abs()
            < 1e-5
    );

    let csv_path = dir.path().join("h.csv");
    history.save_csv(&csv_path).unwrap();
    let text = std::fs::read_to_string(&csv_path).unwrap();
    assert!(text.starts_with("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n"));
    assert_eq!(text.lines().count(), history.epochs.len() + 1);
    let json_path = dir.path().join("h.json");
    history.save_json(&json_path).unwrap();
    let back: History =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(back, history);
}

#[test]
fn schedules_set_the_learning_rate_each_epoch() {
    let mut net = Xor::init(&Cpu, 0).unwrap();
    let mut opt = Sgd::new(0.4);
    let cfg = FitConfig::new(4, 4).verbose(false).schedule(StepLr {
        step_size: 2,
        gamma: 0.5,
    });
    let h = fit(
        &mut net,
        &mut opt,
        &BinaryCrossEntropy,
        &xor_data(),
        None,
        &cfg,
    )
    .unwrap();
    let lrs: Vec<f32> = h.epochs.iter().map(|e| e.lr).collect();
    assert_eq!(lrs, [0.4, 0.4, 0.2, 0.2]);
    assert_eq!(opt.lr(), 0.4, "fit restores the optimiser's initial rate");
}

#[test]
fn regression_with_mse() {
    // y = x0 - 2 x1 + 0.5 x2 on a grid.
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..200 {
        let v = [
            (i % 7) as f32 / 7.0,
            (i % 5) as f32 / 5.0,
            (i % 3) as f32 / 3.0,
        ];
        y.push(v[0] - 2.0 * v[1] + 0.5 * v[2]);
        x.extend_from_slice(&v);
    }
    let data = Dataset::<Rank1<3>, Rank1<1>>::new(x, y).unwrap();
    let mut net = Regressor::init(&Cpu, 0).unwrap();
    let mut opt = Adam::new(0.01);
    let h = fit(
        &mut net,
        &mut opt,
        &Mse,
        &data,
        None,
        &FitConfig::new(100, 20).verbose(false),
    )
    .unwrap();
    assert!(h.last().unwrap().train_loss < 1e-3, "{:?}", h.last());
    assert_eq!(h.last().unwrap().train_accuracy, None);
}

#[test]
fn divergence_is_an_error() {
    let data = Dataset::<Rank1<3>, Rank1<1>>::new(vec![1e30, 1e30, 1e30], vec![1.0]).unwrap();
    let mut net = Regressor::init(&Cpu, 0).unwrap();
    let mut opt = Sgd::new(1.0);
    let err = fit(
        &mut net,
        &mut opt,
        &Mse,
        &data,
        None,
        &FitConfig::new(50, 1).verbose(false),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
    assert!(err.to_string().contains("lower the learning rate"), "{err}");
}

#[test]
fn evaluate_refuses_batch_size_zero_as_fit_does() {
    let data = Dataset::<Rank1<784>, ClassIndex>::new(vec![0.5; 784], vec![3.0]).unwrap();
    let net = Digits::init(&Cpu, 0).unwrap();
    let err = evaluate(&net, &SoftmaxCrossEntropy, &data, 0).unwrap_err();
    assert!(
        err.to_string().contains("batch size: must be at least 1"),
        "{err}"
    );
}

#[test]
fn a_nan_weight_hidden_by_relu_is_divergence() {
    // ReLU's `max` maps NaN to 0, so one NaN weight in the first layer
    // leaves the loss finite while it spreads; `fit` must still stop.
    let data = Dataset::<Rank1<784>, ClassIndex>::new(vec![0.5; 7840], vec![3.0; 10]).unwrap();
    let mut net = Digits::init(&Cpu, 0).unwrap();
    let mut w = net.fc1.weight.to_vec().unwrap();
    w[0] = f32::NAN;
    net.fc1.weight.set(&w).unwrap();
    let mut opt = Sgd::new(0.01);
    let err = fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &data,
        None,
        &FitConfig::new(3, 5).verbose(false),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Diverged { epoch: 1, tensor: Some(_), loss } if loss.is_finite()),
        "{err}"
    );
    assert!(err.to_string().contains("parameter `fc1.weight`"), "{err}");
}

#[test]
fn bad_labels_fail_before_any_update() {
    let mut targets = vec![0.0; 10];
    targets[7] = 10.0;
    let data = Dataset::<Rank1<784>, ClassIndex>::new(vec![0.5; 7840], targets).unwrap();
    let mut net = Digits::init(&Cpu, 0).unwrap();
    let before = net.fc1.weight.to_vec().unwrap();
    let mut opt = Sgd::new(0.1);
    let err = fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &data,
        None,
        &FitConfig::new(1, 4).verbose(false),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("label 10 is out of range"),
        "{err}"
    );
    assert_eq!(net.fc1.weight.to_vec().unwrap(), before);

    let err = fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &data,
        None,
        &FitConfig::new(1, 0),
    )
    .unwrap_err();
    assert!(err.to_string().contains("batch size"), "{err}");
}

#[test]
fn full_mnist_idx_directory_loads_and_trains() {
    // The `--data DIR` path of the mnist example, on IDX files written from
    // the bundled digits (gzipped training set, plain test set).
    use std::io::Write;
    let all = bundled();
    let (test, train) = all.split(0.2, 8).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pixels = |d: &Dataset<Rank1<784>, ClassIndex>| -> Vec<u8> {
        d.inputs()
            .iter()
            .map(|v| (v * 255.0).round() as u8)
            .collect()
    };
    let labels = |d: &Dataset<Rank1<784>, ClassIndex>| -> Vec<u8> {
        d.targets().iter().map(|&v| v as u8).collect()
    };
    let p = dir.path();
    staticnn::data::mnist::write_idx(
        &p.join("t10k-images-idx3-ubyte"),
        &p.join("t10k-labels-idx1-ubyte"),
        28,
        28,
        &pixels(&test),
        &labels(&test),
    )
    .unwrap();
    staticnn::data::mnist::write_idx(
        &p.join("tmp-img"),
        &p.join("tmp-lab"),
        28,
        28,
        &pixels(&train),
        &labels(&train),
    )
    .unwrap();
    for (from, to) in [
        ("tmp-img", "train-images-idx3-ubyte.gz"),
        ("tmp-lab", "train-labels-idx1-ubyte.gz"),
    ] {
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(p.join(to)).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(&std::fs::read(p.join(from)).unwrap()).unwrap();
        gz.finish().unwrap();
        std::fs::remove_file(p.join(from)).unwrap();
    }
    let (train2, test2) = mnist::load_dir::<Rank1<784>>(p).unwrap();
    assert_eq!((train2.len(), test2.len()), (train.len(), test.len()));
    assert_eq!(train2.targets(), train.targets());
    let worst = train2
        .inputs()
        .iter()
        .zip(train.inputs())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(worst < 1e-6, "pixels changed by {worst}");

    let mut net = Digits::init(&Cpu, 0).unwrap();
    let mut opt = Adam::new(2e-3);
    fit(
        &mut net,
        &mut opt,
        &SoftmaxCrossEntropy,
        &train2,
        Some(&test2),
        &FitConfig::new(2, 64).verbose(false),
    )
    .unwrap();
    assert!(
        evaluate(&net, &SoftmaxCrossEntropy, &test2, 256)
            .unwrap()
            .accuracy
            .unwrap()
            > 0.8
    );

    // A directory without the files says what it needs.
    let empty = tempfile::tempdir().unwrap();
    let err = mnist::load_dir::<Rank1<784>>(empty.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
}

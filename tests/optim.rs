//! Optimisers follow PyTorch's update rules: three steps with fixed
//! gradients land where `torch.optim` lands (fixture from
//! `scripts/make_torch_fixtures.py`), and schedules give PyTorch's rates.

use staticnn::layers::{Dense, DenseGrads};
use staticnn::prelude::*;
use staticnn::Param;

type Layer2 = Dense<Cpu, 2, 2>;

fn fixture() -> serde_json::Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_optim.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn run<O: Optimizer<Cpu>>(name: &str, mut opt: O) {
    let f = fixture();
    let mut layer =
        Layer2::from_values(&Cpu, &floats(&f["weight"]), Some(&floats(&f["bias"]))).unwrap();
    for g in f["grads"].as_array().unwrap() {
        let grads = DenseGrads {
            weight: Param::from_slice(&Cpu, &[2, 2], &floats(&g[0])).unwrap(),
            bias: Some(Param::from_slice(&Cpu, &[2], &floats(&g[1])).unwrap()),
        };
        opt.step(&mut layer, &grads).unwrap();
    }
    let want_w = floats(&f["after"][name][0]);
    let want_b = floats(&f["after"][name][1]);
    let got_w = layer.weight.to_vec().unwrap();
    let got_b = layer.bias.as_ref().unwrap().to_vec().unwrap();
    for (g, w) in got_w.iter().chain(&got_b).zip(want_w.iter().chain(&want_b)) {
        assert!(
            (g - w).abs() < 1e-5,
            "{name}: got {got_w:?} {got_b:?}, PyTorch {want_w:?} {want_b:?}"
        );
    }
}

#[test]
fn sgd_matches_pytorch() {
    run("sgd", Sgd::new(0.1));
    run(
        "sgd_momentum",
        Sgd::new(0.1).momentum(0.9).weight_decay(0.01),
    );
    run("sgd_nesterov", Sgd::new(0.1).momentum(0.9).nesterov(true));
}

#[test]
fn adam_and_adamw_match_pytorch() {
    run("adam", Adam::new(0.01).weight_decay(0.1));
    run("adamw", Adam::adamw(0.01, 0.1));
}

#[test]
fn rmsprop_and_adagrad_match_pytorch() {
    run("rmsprop", RmsProp::new(0.01).weight_decay(0.05));
    run("adagrad", AdaGrad::new(0.1).weight_decay(0.05));
}

#[test]
fn schedules() {
    let step = StepLr {
        step_size: 3,
        gamma: 0.1,
    };
    assert!((step.lr(2, 0.5) - 0.5).abs() < 1e-7);
    assert!((step.lr(3, 0.5) - 0.05).abs() < 1e-7);
    let cos = CosineAnnealing {
        t_max: 4,
        eta_min: 0.0,
    };
    let lrs: Vec<f32> = (0..=4).map(|e| cos.lr(e, 1.0)).collect();
    for (got, want) in lrs.iter().zip([1.0, 0.853_553_4, 0.5, 0.146_446_6, 0.0]) {
        assert!((got - want).abs() < 1e-6, "{lrs:?}");
    }
    assert!((ExponentialLr { gamma: 0.5 }.lr(3, 1.0) - 0.125).abs() < 1e-7);
}

//! Layers and losses written outside the library (`examples/custom`):
//! placed in `network!` with `Custom(..)`, their gradients checked against
//! central differences alone and inside a network, their parameters saved,
//! loaded and trained with the built-in ones.

#[path = "../examples/custom/layers.rs"]
mod layers;

use layers::{Gelu, GeluLayer, Huber, LayerNorm, LayerNormLayer};
use staticnn::gradcheck::{check_layer, check_loss, GradCheck};
use staticnn::layers::Build;
use staticnn::prelude::*;
use staticnn::Rng;

network! {
    struct Normed: [6] {
        fc1: Dense(5),
        norm: Custom(LayerNormLayer),
        act: Custom(GeluLayer),
        fc2: Dense(3),
    }

    struct Line: [1] { fc: Dense(1) }
}

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal()).collect()
}

fn assert_ok(what: &str, r: GradCheck) {
    assert!(r.checked > 0, "{what}: nothing checked");
    assert!(r.max_rel_err < 1e-2, "{what}: {r:?}");
}

#[test]
fn gelu_and_layer_norm_gradients_match_central_differences() {
    let x = Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, random(12, 1)).unwrap();
    let mut gelu: Gelu<Rank1<4>> = GeluLayer::build(&Cpu, &mut Rng::new(0)).unwrap();
    assert_ok("Gelu", check_layer(&mut gelu, &x, 1e-2, 1).unwrap());

    let mut norm: LayerNorm<Cpu, 4> = LayerNormLayer::build(&Cpu, &mut Rng::new(0)).unwrap();
    // Away from the initial ones and zeros, so the scale's gradient counts.
    norm.weight.set(&[0.5, -1.0, 2.0, 1.5]).unwrap();
    norm.bias.set(&[0.1, 0.2, -0.3, 0.0]).unwrap();
    assert_ok("LayerNorm", check_layer(&mut norm, &x, 1e-2, 2).unwrap());
}

#[test]
fn a_network_with_custom_layers_has_correct_gradients() {
    let mut net = Normed::init(&Cpu, 3).unwrap();
    let x = Tensor::<Cpu, Rank1<6>>::from_vec(&Cpu, random(18, 4)).unwrap();
    assert_ok("Normed", check_layer(&mut net, &x, 1e-2, 5).unwrap());
}

#[test]
fn huber_gradient_matches_central_differences() {
    // Errors on both sides of delta, none within eps of the kink.
    let pred =
        Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, vec![0.3, -2.5, 1.7, 4.0, 0.0, 0.9, -0.4, 3.0])
            .unwrap();
    let target =
        Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, vec![0.0, 0.0, 0.0, 0.0, 1.5, 0.2, 0.1, -1.0])
            .unwrap();
    let huber = Huber { delta: 1.0 };
    assert_ok("Huber", check_loss(&huber, &pred, &target, 1e-3).unwrap());
    // Mean over the 8 values: 0.5 * 0.09, 2.0, 1.2, 3.5, 1.0, 0.5 * 0.49, 0.5 * 0.25, 3.5.
    let expected = (0.045 + 2.0 + 1.2 + 3.5 + 1.0 + 0.245 + 0.125 + 3.5) / 8.0;
    let value = huber.value(&pred, &target).unwrap();
    assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
}

#[test]
fn custom_parameters_are_counted_saved_and_loaded_by_name() {
    let net = Normed::init(&Cpu, 1).unwrap();
    assert_eq!(Normed::<Cpu>::NUM_PARAMS, 6 * 5 + 5 + 2 * 5 + 5 * 3 + 3);
    assert_eq!(net.num_params(), Normed::<Cpu>::NUM_PARAMS);
    let mut names = Vec::new();
    net.visit_params("", &mut |name, _| {
        names.push(name.to_string());
        Ok(())
    })
    .unwrap();
    assert!(names.contains(&"norm.weight".to_string()), "{names:?}");
    assert!(names.contains(&"norm.bias".to_string()), "{names:?}");

    let mut trained = Normed::init(&Cpu, 1).unwrap();
    trained
        .norm
        .get_mut::<LayerNorm<Cpu, 5>>()
        .expect("the placed layer is a LayerNorm")
        .weight
        .set(&[1.0, 2.0, 3.0, 4.0, 5.0])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("normed.safetensors");
    trained.save(&path).unwrap();
    let mut loaded = Normed::init(&Cpu, 9).unwrap();
    loaded.load(&path).unwrap();
    let norm = loaded.norm.get::<LayerNorm<Cpu, 5>>().unwrap();
    assert_eq!(norm.weight.to_vec().unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0]);
    assert!(loaded.norm.get::<Gelu<Rank1<5>>>().is_none());
}

/// The shift of the network's LayerNorm.
fn norm_bias(net: &Normed) -> Vec<f32> {
    let norm = net.norm.get::<LayerNorm<Cpu, 5>>().expect("a LayerNorm");
    norm.bias.to_vec().unwrap()
}

#[test]
fn fit_trains_custom_layers_and_a_custom_loss() {
    let xs = random(64 * 6, 7);
    let labels: Vec<f32> = xs
        .chunks(6)
        .map(|s| if s[0] > 0.0 { 1.0 } else { 0.0 })
        .collect();
    let data = Dataset::<Rank1<6>, ClassIndex>::new(xs, labels).unwrap();
    let mut net = Normed::init(&Cpu, 2).unwrap();
    let before = norm_bias(&net);
    let cfg = FitConfig::new(20, 16).verbose(false);
    let history = fit(
        &mut net,
        &mut Adam::new(1e-2),
        &SoftmaxCrossEntropy,
        &data,
        None,
        &cfg,
    )
    .unwrap();
    let (first, last) = (&history.epochs[0], history.epochs.last().unwrap());
    assert!(
        last.train_loss < 0.5 * first.train_loss,
        "{first:?} -> {last:?}"
    );
    let after = norm_bias(&net);
    assert_ne!(
        before, after,
        "the optimiser did not reach the custom layer"
    );

    // Huber's loss, through the host path of `PointwiseLoss`.
    let xs: Vec<f32> = (0..40).map(|i| i as f32 / 20.0 - 1.0).collect();
    let ys: Vec<f32> = xs.iter().map(|x| 3.0 * x - 0.5).collect();
    let data = Dataset::<Rank1<1>, Rank1<1>>::new(xs, ys).unwrap();
    let mut line = Line::init(&Cpu, 0).unwrap();
    let cfg = FitConfig::new(150, 8).verbose(false);
    fit(
        &mut line,
        &mut Adam::new(0.05),
        &Huber { delta: 1.0 },
        &data,
        None,
        &cfg,
    )
    .unwrap();
    let w = line.fc.weight.to_vec().unwrap()[0];
    assert!((w - 3.0).abs() < 0.1, "slope {w}");
}

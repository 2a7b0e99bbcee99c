//! Gradient checks against central differences for every layer and loss.
//!
//! Bound: the forward passes run in f32. With step `eps = 1e-2` the
//! truncation error of a central difference is O(eps^2 * f''') ~ 1e-4 for
//! these smooth, O(1)-scaled functions, and f32 rounding of the objective
//! (|L| ~ 10, machine epsilon 6e-8) contributes ~ 1e-6 * |L| / eps ~ 1e-4.
//! `GradCheck` compares relatively above a floor of 1e-2 (absolutely
//! below), so a correct gradient lands near 1e-3 and a wrong one (a missing
//! factor, a transposed index, a sign) lands near 1. We require < 1e-2.
//!
//! Piecewise-linear functions (ReLU, LeakyReLU) are checked at inputs kept
//! at least 0.1 from their kink, where the central difference is exact.

use staticnn::gradcheck::{check_layer, check_loss, GradCheck};
use staticnn::layers::{
    AvgPool2d, BatchNorm, Conv2d, Dense, Dropout, Flatten, GlobalAvgPool, Identity, LeakyRelu,
    MaxPool2d, PoolWindow, Relu, Sigmoid, Softmax, Step, Tanh,
};
use staticnn::prelude::*;
use staticnn::{Layer, Rng};

const EPS: f32 = 1e-2;
const BOUND: f32 = 1e-2;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal()).collect()
}

/// Random values at least 0.1 away from zero (away from ReLU's kink).
fn away_from_zero(n: usize, seed: u64) -> Vec<f32> {
    random(n, seed)
        .into_iter()
        .map(|v| {
            if v.abs() < 0.1 {
                v.signum() * 0.1 + v
            } else {
                v
            }
        })
        .collect()
}

fn assert_ok(what: &str, r: GradCheck) {
    assert!(r.checked > 0, "{what}: nothing checked");
    assert!(
        r.max_rel_err < BOUND,
        "{what}: relative error {} at {} (analytic, numeric) = {:?}",
        r.max_rel_err,
        r.worst,
        r.worst_values
    );
}

fn check<L: Layer<Cpu>>(what: &str, mut layer: L, x: Vec<f32>) {
    let x = Tensor::<Cpu, L::Input>::from_vec(&Cpu, x).unwrap();
    assert_ok(what, check_layer(&mut layer, &x, EPS, 7).unwrap());
}

#[test]
fn dense() {
    let mut rng = Rng::new(1);
    let layer = Dense::<Cpu, 7, 5>::init(&Cpu, &mut rng, Init::GlorotUniform, true).unwrap();
    // Non-zero bias so its gradient path is exercised with real values.
    check("Dense", layer, random(3 * 7, 2));
    let layer = Dense::<Cpu, 6, 9>::init(&Cpu, &mut rng, Init::HeNormal, false).unwrap();
    check("Dense without bias", layer, random(4 * 6, 3));
    // Above nalgebra's small-matrix threshold, so the blocked product runs.
    let layer = Dense::<Cpu, 12, 8>::init(&Cpu, &mut rng, Init::HeNormal, true).unwrap();
    check("Dense (large)", layer, random(9 * 12, 4));
}

#[test]
fn activations() {
    check("Sigmoid", Sigmoid::<Rank1<6>>::new(), random(18, 4));
    check("Tanh", Tanh::<Rank1<6>>::new(), random(18, 5));
    check("Relu", Relu::<Rank1<6>>::new(), away_from_zero(18, 6));
    check(
        "LeakyRelu",
        LeakyRelu::<Rank1<6>>::with_slope(0.2),
        away_from_zero(18, 7),
    );
    check("Identity", Identity::<Rank1<6>>::new(), random(18, 8));
    check("Softmax", Softmax::<6>::new(), random(18, 9));
    check(
        "Flatten",
        Flatten::<Rank3<2, 2, 2>, 8>::new(),
        random(16, 10),
    );
    // Dropout's mask is fixed by the seed, so it is differentiable.
    check(
        "Dropout",
        Dropout::<Rank1<10>>::new(0.3).unwrap(),
        random(40, 11),
    );
}

#[test]
fn step_has_no_gradient() {
    let mut layer = Step::<Rank1<3>>::new();
    let x = Tensor::<Cpu, Rank1<3>>::from_vec(&Cpu, vec![1.0, -1.0, 2.0]).unwrap();
    let err = check_layer(&mut layer, &x, EPS, 1).unwrap_err();
    assert!(err.to_string().contains("Step has no gradient"), "{err}");
    assert_eq!(
        Layer::<Cpu>::forward(&layer, &x).unwrap().to_vec().unwrap(),
        vec![1.0, 0.0, 1.0]
    );
}

/// Distinct values spaced 0.05 apart in random order: no two values in a
/// pooling window are within the step of each other, so the maximum never
/// changes hands during a central difference.
fn distinct(n: usize, seed: u64) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
    Rng::new(seed).shuffle(&mut v);
    v
}

#[test]
fn conv2d() {
    let mut rng = Rng::new(20);
    // Stride and padding, square kernel.
    let layer = Conv2d::<Cpu, Rank3<2, 7, 6>, Rank3<3, 4, 3>, 3, 3>::init(
        &Cpu,
        &mut rng,
        Init::HeNormal,
        true,
        (2, 2),
        (1, 1),
    )
    .unwrap();
    check(
        "Conv2d stride 2 padding 1",
        layer,
        random(2 * 2 * 7 * 6, 21),
    );
    // Rectangular kernel, different strides and paddings per axis, no bias.
    let layer = Conv2d::<Cpu, Rank3<3, 6, 8>, Rank3<4, 6, 3>, 3, 2>::init(
        &Cpu,
        &mut rng,
        Init::GlorotUniform,
        false,
        (1, 3),
        (1, 0),
    )
    .unwrap();
    check("Conv2d 3x2 kernel", layer, random(3 * 3 * 6 * 8, 22));
    // 1x1: the product runs on the input itself, with no unfolding.
    let layer = Conv2d::<Cpu, Rank3<4, 3, 3>, Rank3<2, 3, 3>, 1, 1>::init(
        &Cpu,
        &mut rng,
        Init::GlorotUniform,
        true,
        (1, 1),
        (0, 0),
    )
    .unwrap();
    check("Conv2d 1x1", layer, random(2 * 4 * 3 * 3, 23));
}

#[test]
fn pools() {
    let max = MaxPool2d::<Rank3<2, 6, 6>, Rank3<2, 3, 3>>::new(PoolWindow::square(2)).unwrap();
    check("MaxPool2d", max, distinct(2 * 2 * 36, 24));
    let overlapping = MaxPool2d::<Rank3<1, 5, 5>, Rank3<1, 3, 3>>::new(PoolWindow {
        kernel: (3, 3),
        stride: (2, 2),
        padding: (1, 1),
    })
    .unwrap();
    check(
        "MaxPool2d 3x3 stride 2 padding 1",
        overlapping,
        distinct(2 * 25, 25),
    );
    let avg = AvgPool2d::<Rank3<2, 6, 4>, Rank3<2, 3, 2>>::new(PoolWindow::square(2)).unwrap();
    check("AvgPool2d", avg, random(2 * 2 * 24, 26));
    let padded = AvgPool2d::<Rank3<1, 5, 5>, Rank3<1, 3, 3>>::new(PoolWindow {
        kernel: (3, 3),
        stride: (2, 2),
        padding: (1, 1),
    })
    .unwrap();
    check("AvgPool2d padding 1", padded, random(3 * 25, 27));
    check(
        "GlobalAvgPool",
        GlobalAvgPool::<Rank3<3, 4, 5>>::new(),
        random(2 * 60, 28),
    );
}

#[test]
fn batch_norm_in_training_mode() {
    // Over features (after Dense) and over channels (after Conv2d). The
    // scale and shift start at 1 and 0; move them so their gradients flow
    // through non-trivial values.
    let mut bn = BatchNorm::<Cpu, Rank1<5>>::new(&Cpu, 0.1, 1e-5).unwrap();
    bn.weight.set(&random(5, 29)).unwrap();
    bn.bias.set(&random(5, 30)).unwrap();
    check("BatchNorm over features", bn, random(6 * 5, 31));
    let mut bn = BatchNorm::<Cpu, Rank3<3, 2, 3>>::new(&Cpu, 0.1, 1e-5).unwrap();
    bn.weight.set(&random(3, 32)).unwrap();
    bn.bias.set(&random(3, 33)).unwrap();
    check("BatchNorm over channels", bn, random(4 * 18, 34));
}

network! {
    /// An identity shortcut around convolutions with BatchNorm.
    struct Block: [2, 5, 5] {
        Residual {
            conv1: Conv2d(2, kernel = 3, padding = 1), bn1: BatchNorm, Tanh,
            conv2: Conv2d(2, kernel = 3, padding = 1),
        },
    }

    /// A shortcut that projects: the body halves the image and doubles the
    /// channels, and so does the strided 1x1 convolution.
    struct Projected: [2, 6, 6] {
        Residual {
            conv1: Conv2d(4, kernel = 3, stride = 2, padding = 1), Tanh,
            conv2: Conv2d(4, kernel = 3, padding = 1),
        } + downsample: {
            Conv2d(4, kernel = 1, stride = 2), BatchNorm,
        },
    }
}

#[test]
fn residual_blocks() {
    check(
        "Residual",
        Block::init(&Cpu, 35).unwrap(),
        random(3 * 50, 36),
    );
    check(
        "Residual with projection",
        Projected::init(&Cpu, 37).unwrap(),
        random(3 * 72, 38),
    );
}

network! {
    struct Deep: [5] {
        Dense(8), Tanh,
        hidden: Dense(6), Sigmoid,
        Dropout(0.25),
        out: Dense(3), Softmax,
    }
}

#[test]
fn whole_network() {
    let net = Deep::init(&Cpu, 3).unwrap();
    check("network", net, random(4 * 5, 12));
}

#[test]
fn losses() {
    let pred = Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, random(12, 13)).unwrap();
    let target = Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, random(12, 14)).unwrap();
    assert_ok("Mse", check_loss(&Mse, &pred, &target, EPS).unwrap());

    let labels = Tensor::<Cpu, ClassIndex>::from_vec(&Cpu, vec![0.0, 3.0, 1.0]).unwrap();
    assert_ok(
        "SoftmaxCrossEntropy",
        check_loss(&SoftmaxCrossEntropy, &pred, &labels, EPS).unwrap(),
    );

    // Probabilities well inside (0, 1), where the clamp is inactive.
    let probs: Vec<f32> = random(12, 15)
        .iter()
        .map(|v| 0.2 + 0.6 * staticnn::ops::activation::sigmoid(*v))
        .collect();
    let probs = Tensor::<Cpu, Rank1<4>>::from_vec(&Cpu, probs).unwrap();
    let bits = Tensor::<Cpu, Rank1<4>>::from_vec(
        &Cpu,
        (0..12).map(|i| (i % 3 == 0) as u8 as f32).collect(),
    )
    .unwrap();
    assert_ok(
        "BinaryCrossEntropy",
        check_loss(&BinaryCrossEntropy, &probs, &bits, 1e-3).unwrap(),
    );
}

/// `y = 2x` with a backward pass that forgets the factor 2.
struct WrongDouble;

impl Layer<Cpu> for WrongDouble {
    type Input = Rank1<3>;
    type Output = Rank1<3>;
    type State = Option<(Tensor<Cpu, Rank1<3>>, Tensor<Cpu, Rank1<3>>)>;
    type Grads = ();

    fn infer<'s>(
        &self,
        x: &Tensor<Cpu, Rank1<3>>,
        state: &'s mut Self::State,
    ) -> Result<&'s Tensor<Cpu, Rank1<3>>> {
        let y = Tensor::from_vec(&Cpu, x.as_slice().iter().map(|v| 2.0 * v).collect())?;
        let (y, _) = state.insert((y, x.clone()));
        Ok(y)
    }
    fn forward_train<'s>(
        &mut self,
        x: &Tensor<Cpu, Rank1<3>>,
        state: &'s mut Self::State,
        _: &mut staticnn::TrainCtx,
    ) -> Result<&'s Tensor<Cpu, Rank1<3>>> {
        self.infer(x, state)
    }
    fn output(state: &Self::State) -> Result<&Tensor<Cpu, Rank1<3>>> {
        Ok(&state.as_ref().unwrap().0)
    }
    fn backward<'s>(
        &self,
        _x: &Tensor<Cpu, Rank1<3>>,
        dy: &Tensor<Cpu, Rank1<3>>,
        state: &'s mut Self::State,
        _: &mut (),
    ) -> Result<&'s Tensor<Cpu, Rank1<3>>> {
        let (_, dx) = state.as_mut().unwrap();
        *dx = dy.clone();
        Ok(dx)
    }
    fn num_params(&self) -> usize {
        0
    }
    fn zero_grads(&self, _: &Cpu) -> Result<()> {
        Ok(())
    }
    fn visit_params(&self, _: &str, _: &mut staticnn::layers::ParamVisitor<'_, Cpu>) -> Result<()> {
        Ok(())
    }
    fn visit_params_mut(
        &mut self,
        _: &str,
        _: &mut staticnn::layers::ParamVisitorMut<'_, Cpu>,
    ) -> Result<()> {
        Ok(())
    }
    fn visit_grads(
        &mut self,
        _: &(),
        _: &mut staticnn::layers::GradVisitor<'_, Cpu>,
    ) -> Result<()> {
        Ok(())
    }
}

#[test]
fn a_wrong_gradient_is_caught() {
    let x = Tensor::<Cpu, Rank1<3>>::from_vec(&Cpu, random(6, 16)).unwrap();
    let r = check_layer(&mut WrongDouble, &x, EPS, 1).unwrap();
    assert!(
        r.max_rel_err > 0.4,
        "a gradient off by a factor 2 passed: {r:?}"
    );
    assert!(r.worst.starts_with("input["), "{}", r.worst);
}

//! The embedded-inference path: one sample at a time through a
//! `Predictor`, with no heap allocation after the first call (counted by
//! `support/counting.rs`), and the same answers as a batched forward pass.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;

use common::{LeNet, Mlp};
use staticnn::prelude::*;
network! {
    /// An MLP ending in Softmax, so the predictor returns probabilities.
    struct Classifier: [784] { fc1: Dense(128), Relu, Dropout(0.2), fc2: Dense(10), Softmax }
}

#[test]
fn single_sample_inference_allocates_nothing_after_the_first_call() {
    let _one = counting::exclusive();
    let digits = common::bundled::<Rank1<784>>().unwrap();
    let net = Classifier::init(&Cpu, 3).unwrap();
    let mlp = Mlp::init(&Cpu, 4).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let mut plain = Predictor::new(&mlp).unwrap();
    let mut sink = 0.0f32;
    let counted = counting::allocations(|| {
        for i in 0..200 {
            let x = digits.get(i).unwrap().0;
            sink += predictor.predict(x).unwrap()[3];
            sink += plain.predict_class(x).unwrap() as f32;
        }
    });
    // The counter does see allocations.
    assert_eq!(
        counting::allocations(|| drop(std::hint::black_box(vec![1u8]))),
        1
    );
    assert_eq!(counted, 0, "allocations in 400 predictions");
    assert!(sink.is_finite());
}

#[test]
fn predictions_match_the_batched_forward_pass() {
    let digits = common::bundled::<Rank1<784>>().unwrap();
    let net = Classifier::init(&Cpu, 5).unwrap();
    let x = Tensor::<Cpu, Rank1<784>>::from_slice(&Cpu, &digits.inputs()[..20 * 784]).unwrap();
    let batched = net.forward(&x).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    for i in 0..20 {
        let one = predictor.predict(digits.get(i).unwrap().0).unwrap();
        for (a, b) in one.iter().zip(batched.sample(i)) {
            assert!((a - b).abs() < 1e-6, "sample {i}: {a} vs {b}");
        }
    }
    // Convolutional networks take the same path (allocation-free on
    // AVX-512 CPUs, tests/allocations.rs).
    let lenet = LeNet::init(&Cpu, 6).unwrap();
    let class = Predictor::new(&lenet)
        .unwrap()
        .predict_class(digits.get(0).unwrap().0)
        .unwrap();
    assert!(class < 10);
}

#[test]
fn a_sample_of_the_wrong_length_is_an_error() {
    let net = Classifier::init(&Cpu, 0).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let err = predictor.predict(&[0.5; 783]).unwrap_err().to_string();
    assert!(err.contains("784 values, but 783 were given"), "{err}");
}

/// nalgebra in and out: an application's statically sized vectors reach
/// the network with their sizes checked by the compiler, and batches
/// convert from and to matrices with one sample per row.
#[test]
fn nalgebra_vectors_and_matrices() {
    use staticnn::nalgebra::{Const, Dyn, OMatrix, SVector};
    let (net, val) = common::quick_mlp(1).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    let x: SVector<f32, 784> = SVector::from_column_slice(val.get(0).unwrap().0);
    let y: SVector<f32, 10> = predictor.predict_vector(&x).unwrap();
    let plain = predictor.predict(val.get(0).unwrap().0).unwrap().to_vec();
    assert_eq!(y.as_slice(), plain.as_slice());
    assert_eq!(predictor.predict_vector_class(&x).unwrap(), y.argmax().0);

    let rows = OMatrix::<f32, Dyn, Const<784>>::from_row_slice(&val.inputs()[..3 * 784]);
    let batch = Tensor::<Cpu, Rank1<784>>::from_rows(&Cpu, &rows).unwrap();
    assert_eq!(batch.to_vec().unwrap(), &val.inputs()[..3 * 784]);
    let out = net.forward(&batch).unwrap();
    let m = out.as_matrix();
    assert_eq!((m.nrows(), m.ncols()), (3, 10));
    assert_eq!(m.row(0).iter().copied().collect::<Vec<_>>(), plain);
    assert_eq!(out.vector(0).unwrap(), y);
    assert!(out.vector(3).is_none());
    let again = Tensor::<Cpu, Rank1<784>>::from_vectors(&Cpu, &[x, x]).unwrap();
    assert_eq!(again.batch(), 2);
    // No samples is an error, not an empty tensor.
    assert!(
        Tensor::<Cpu, Rank1<784>>::from_rows(&Cpu, &OMatrix::<f32, Dyn, Const<784>>::zeros(0))
            .is_err()
    );
}

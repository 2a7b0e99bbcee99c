use staticnn::nalgebra::SVector;
use staticnn::prelude::*;

network! {
    struct Mlp: [784] { Dense(16), Relu, Dense(10) }
}

fn main() {
    let net = Mlp::init(&Cpu, 0).unwrap();
    let mut predictor = Predictor::new(&net).unwrap();
    // A 28x28 image flattened is 784 values, not 28.
    let _ = predictor.predict_vector(&SVector::<f32, 28>::zeros());
}

use staticnn::prelude::*;

mod parts {
    use staticnn::prelude::*;

    network! {
        pub struct Encoder: [784] { Dense(32), Relu, Dense(2) }
    }
}

use parts::Encoder;

network! {
    // The declared output shape is wrong: the encoder gives [2].
    struct WrongOutput: [784] { encoder: Encoder -> [3], Dense(1) }

    // The encoder wants flat inputs.
    struct WrongInput: [1, 28, 28] { encoder: Encoder -> [2] }

    // Built-in layers work out their own shapes.
    struct Arrow: [4] { Dense(2) -> [2] }

    // A network from elsewhere needs its output shape.
    struct Unannotated: [784] { Encoder }
}

network! {
    struct Small: [4] { Dense(2) }

    // Declared here, so the macro knows the shape is [2], not [5].
    struct Mislabelled: [4] { small: Small -> [5] }
}

fn main() {
    let _ = WrongOutput::init(&Cpu, 0);
    let _ = WrongInput::init(&Cpu, 0);
}

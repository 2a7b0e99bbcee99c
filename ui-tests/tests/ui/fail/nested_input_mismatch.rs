use staticnn::prelude::*;

network! {
    struct Encoder: [784] { Dense(32), Relu, Dense(2) }
    struct Head: [4] { Dense(10) }

    // The images need flattening before the encoder.
    struct Images: [1, 28, 28] { encoder: Encoder }

    // The encoder's 2 outputs do not feed a head that wants 4.
    struct Chained: [784] { encoder: Encoder, head: Head }
}

fn main() {}

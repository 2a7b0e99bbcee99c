use staticnn::prelude::*;

network! {
    struct ReluWithArg: [4] { Dense(8), Relu(2) }
    struct SlopeNotNumber: [4] { Dense(8), LeakyRelu("steep") }
    struct TwoSlopes: [4] { Dense(8), LeakyRelu(0.1, 0.2) }
}

fn main() {}

use staticnn::prelude::*;

network! {
    struct TwoSizes: [4] { Dense(8, 3) }
    struct UnknownOption: [4] { Dense(8, activation = relu) }
    struct BadInit: [4] { Dense(8, init = kaiming) }
    struct FloatSize: [4] { Dense(2.5) }
    struct NegativeSize: [4] { Dense(-3) }
}

fn main() {}

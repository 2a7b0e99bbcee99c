use staticnn::prelude::*;

const SIDE: usize = 9;

network! {
    // The side is a constant, so rustc checks the pooling at compile time.
    struct ConstSide: [2, SIDE, SIDE] { AvgPool2d(2), Flatten, Dense(3) }
}

fn main() {
    let net = ConstSide::init(&Cpu, 0).unwrap();
    let _ = net.summary();
}

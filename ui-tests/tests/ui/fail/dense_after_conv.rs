use staticnn::prelude::*;

network! {
    struct Forgot: [1, 28, 28] {
        conv: Conv2d(6, kernel = 5), Relu, MaxPool2d(2),
        fc: Dense(10),
    }
}

fn main() {}

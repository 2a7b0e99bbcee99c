use staticnn::prelude::*;

network! {
    // The projection keeps the image size, but the body halves it.
    struct Unstrided: [16, 8, 8] {
        Residual {
            Conv2d(32, kernel = 3, stride = 2, padding = 1), Relu,
        } + downsample: {
            Conv2d(32, kernel = 1),
        },
    }

    // The projection gives the wrong number of features.
    struct Flat: [8] { Residual { Dense(16), Relu } + { Dense(12) } }
}

fn main() {}

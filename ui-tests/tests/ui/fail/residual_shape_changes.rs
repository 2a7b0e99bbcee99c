use staticnn::prelude::*;

network! {
    // The body halves the image and doubles the channels, so its output
    // cannot be added to its input without a projection.
    struct Strided: [16, 8, 8] {
        Residual {
            Conv2d(32, kernel = 3, stride = 2, padding = 1), BatchNorm, Relu,
            Conv2d(32, kernel = 3, padding = 1), BatchNorm,
        },
    }

    // A flat body that changes the width.
    struct Wider: [8] { Residual { Dense(16), Relu } }
}

fn main() {}

use staticnn::prelude::*;

network! {
    struct NoKernel: [1, 8, 8] { Conv2d(4) }
    struct Misspelt: [1, 8, 8] { Conv2d(4, kernal = 3) }
    struct EvenSame: [1, 8, 8] { Conv2d(4, kernel = 4, padding = same) }
    struct Triple: [1, 8, 8] { Conv2d(4, kernel = (3, 3, 3)) }
    struct NoWindow: [1, 8, 8] { MaxPool2d }
    struct PadTooBig: [1, 8, 8] { MaxPool2d(2, padding = 2) }
    struct Momentum: [4] { BatchNorm(momentum = 2.0) }
    struct NoBody: [4] { Residual }
    struct NotABlock: [4] { Dense(4) { Relu } }
    struct Keras: [1, 8, 8] { Conv2D(4, kernel = 3), BatchNorm2d }
}

fn main() {}

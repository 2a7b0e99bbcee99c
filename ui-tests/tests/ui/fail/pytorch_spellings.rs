use staticnn::prelude::*;

// Layers written as in PyTorch or Keras: one error each, with the staticnn
// spelling (input sizes are inferred, so PyTorch's first size goes).
network! {
    struct Linear1: [784] { Linear(784, 128), Relu, Dense(10) }
    struct Dense2: [784] { Dense(784, 128), Relu, Dense(10) }
    struct TorchConv: [1, 8, 8] { Conv2d(1, 16, 3), Relu, Flatten, Dense(2) }
    struct TorchConvNamed: [1, 8, 8] { Conv2d(1, 16, kernel_size = 3, stride = 2), Flatten, Dense(2) }
    struct KernelSize: [1, 8, 8] { Conv2d(4, kernel_size = 3), Flatten, Dense(2) }
    struct KerasConv: [1, 8, 8] { Conv2D(16, 3, strides = 1, padding = "same"), Flatten, Dense(2) }
    struct Bn2d: [1, 8, 8] { Conv2d(4, kernel = 3), BatchNorm2d(4), Flatten, Dense(2) }
    struct Ceil: [1, 8, 8] { MaxPool2d(2, ceil_mode = false), Flatten, Dense(2) }
    struct PoolSize: [1, 8, 8] { MaxPool2d(kernel_size = 2), Flatten, Dense(2) }
    struct Slope: [16] { LeakyReLU(negative_slope = 0.2), Dense(2) }
    struct Rate: [16] { Dropout(rate = 0.5), Dense(2) }
    struct Module: [784] { nn::Linear(784, 128), Relu, Dense(10) }
    struct Dotted: [784] { Dense(128), nn.ReLU(), Dense(10) }
}

fn main() {}

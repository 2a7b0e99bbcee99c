use staticnn::prelude::*;

network! {
    struct ZeroStride: [1, 8, 8] { Conv2d(4, kernel = 3, stride = 0) }
    struct ZeroPool: [1, 8, 8] { MaxPool2d(0) }
    struct ZeroChannels: [1, 8, 8] { Conv2d(0, kernel = 3) }
    struct ZeroKernelRows: [1, 8, 8] { Conv2d(2, kernel = (0, 3)) }
}

fn main() {}

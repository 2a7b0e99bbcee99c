//! Every numeric argument of every layer as a `const` item, a `const fn`
//! call or a const expression, singly and in pairs.
use staticnn::prelude::*;
const K: usize = 3;
const P: usize = 2;
const S: usize = 1;
const N: usize = 2;
const DROP: f64 = 0.25;
const SLOPE: f32 = 0.2;
const fn hidden() -> usize { 12 }
const fn rate() -> f32 { 0.1 }
network! {
    struct Net: [1, 8 + 4, { 4 * 3 }] {
        Conv2d(8, kernel = K, padding = same), Conv2d(8, K, stride = S, padding = (P - 1, 1)),
        Conv2d(4, kernel = (K, K - 2), padding = (0, P / 2 - 1)),
        MaxPool2d(P), AvgPool2d(kernel = (P, 1), stride = (S, S), padding = (0, 0)),
        MaxPool2d(1, stride = S, floor = true),
        AdaptiveAvgPool2d(N), AdaptiveMaxPool2d((1, 1)),
        BatchNorm(momentum = rate(), eps = SLOPE as f64 * 1e-4),
        Flatten, Dense(hidden()), LeakyRelu(SLOPE), Dropout(DROP), Dense(N * 5), LeakyRelu(slope = -SLOPE + 0.3)
    }
}
fn main() -> Result<()> {
    let net = Net::<Cpu>::init(&Cpu, 0)?;
    assert_eq!(Net::<Cpu>::OUTPUT_SHAPE, &[10]);
    let y = net.forward(&Tensor::zeros(&Cpu, 2)?)?;
    assert_eq!(y.batch(), 2);
    Ok(())
}

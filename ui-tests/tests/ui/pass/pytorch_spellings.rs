//! PyTorch's spellings of pooling to a fixed size, so that a ported
//! `nn.Sequential` keeps its layer indices: `AdaptiveAvgPool2d(1), Flatten`
//! where staticnn would write `GlobalAvgPool`.
use staticnn::prelude::*;

const SIDE: usize = 6;
const OUT: usize = 1;

network! {
    pub struct Ported: [2, SIDE, SIDE] {
        Conv2d(4, kernel = 3, padding = 1), Relu,
        AdaptiveMaxPool2d((3, 2)),
        AdaptiveAvgPool2d(output_size = OUT),
        Flatten,
        Dense(3),
    }

    pub struct Literal: [1, 8, 8] { AdaptiveAvgPool2d(2), Flatten, Dense(2) }
}

fn main() -> Result<()> {
    let net = Ported::init(&Cpu, 0)?;
    println!("{}", net.summary());
    let y = net.forward(&Tensor::<Cpu, Rank3<2, SIDE, SIDE>>::zeros(&Cpu, 2)?)?;
    assert_eq!(y.batch(), 2);
    let mut names = Vec::new();
    net.visit_params("", &mut |name, _| {
        names.push(name.to_string());
        Ok(())
    })?;
    // The indices of PyTorch's nn.Sequential: Dense is layer 5.
    assert_eq!(names, ["0.weight", "0.bias", "5.weight", "5.bias"]);
    let lit = Literal::init(&Cpu, 0)?;
    assert_eq!(Literal::<Cpu>::NUM_PARAMS, 4 * 2 + 2);
    lit.forward(&Tensor::<Cpu, Rank3<1, 8, 8>>::zeros(&Cpu, 1)?)?;
    Ok(())
}

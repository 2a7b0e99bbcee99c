// Constants named like the items `network!` generates still mean the
// constants: sizes are resolved at the user's module level, never as the
// generated associated items.
use staticnn::prelude::*;

const INPUT_SHAPE: usize = 3;
const NUM_PARAMS: usize = 5;
const OUTPUT_SHAPE: f32 = 0.25;

network! {
    struct Net: [INPUT_SHAPE] { Dense(NUM_PARAMS), LeakyRelu(OUTPUT_SHAPE), Dense(2) }
}

fn main() -> Result<()> {
    let net = Net::init(&Cpu, 0)?;
    assert_eq!(Net::<Cpu>::INPUT_SHAPE, &[3]);
    assert_eq!(Net::<Cpu>::NUM_PARAMS, 3 * 5 + 5 + 5 * 2 + 2);
    let y = net.forward(&Tensor::<Cpu, Rank1<3>>::zeros(&Cpu, 1)?)?;
    assert_eq!(y.batch(), 1);
    Ok(())
}

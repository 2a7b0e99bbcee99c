use staticnn::prelude::*;

network! {
    struct Deep: [784] { fc1: Dense(1000), Relu, fc2: Dense(500) }
    struct Stage2: [1000] { enc: Dense(500), Relu, dec: Dense(1000) }
    struct Stage3: [500] { enc: Dense(250), Relu, dec: Dense(500) }
}

fn main() -> Result<()> {
    let mut deep = Deep::init(&Cpu, 0)?;
    let stage2 = Stage2::init(&Cpu, 0)?;
    let stage3 = Stage3::init(&Cpu, 0)?;
    deep.fc2.copy_weights_from(&stage2.enc)?; // 1000 -> 500: fits
    deep.fc2.copy_weights_from(&stage3.enc)?; // 500 -> 250: a type error
    Ok(())
}

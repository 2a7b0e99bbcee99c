use staticnn::prelude::*;

mod parts {
    use staticnn::prelude::*;

    network! {
        /// Declared in another module, by another `network!`.
        pub struct Encoder: [784] { fc: Dense(32), Relu, code: Dense(2) }
    }
}

use parts::Encoder;

network! {
    pub struct Decoder: [2] { Dense(32), Relu, Dense(784), Sigmoid }

    /// The encoder comes from elsewhere, so its output shape is written
    /// out (and checked by rustc); the decoder is declared just above.
    pub struct Autoencoder: [784] {
        encoder: Encoder -> [2],
        decoder: Decoder,
    }

    /// The same network from this block may also carry its shape.
    pub struct Twice: [2] { a: Decoder -> [784], b: Encoder -> [2] }
}

fn main() -> Result<()> {
    let net = Autoencoder::init(&Cpu, 0)?;
    let y: Tensor<Cpu, Rank1<784>> = net.forward(&Tensor::zeros(&Cpu, 3)?)?;
    assert_eq!(y.batch(), 3);
    assert_eq!(
        Autoencoder::<Cpu>::NUM_PARAMS,
        Encoder::<Cpu>::NUM_PARAMS + Decoder::<Cpu>::NUM_PARAMS
    );
    assert_eq!(net.encoder.code.weight.dims(), &[2, 32]);
    let mut names = Vec::new();
    net.visit_params("", &mut |n, _| {
        names.push(n.to_string());
        Ok(())
    })?;
    assert_eq!(names[0], "encoder.fc.weight");
    assert_eq!(names.last().unwrap(), "decoder.2.bias");
    let _ = Twice::init(&Cpu, 0)?;
    println!("{}", net.summary());
    Ok(())
}

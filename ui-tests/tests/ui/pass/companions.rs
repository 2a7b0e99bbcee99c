//! The state and gradient structs of a network, and the bodies of its
//! residual blocks, take no names from the user's module: items named
//! `MlpState`, `MlpGrads` or `MlpBlock` stay the user's. Named with
//! `#[companions(...)]`, they are the user's to use.
use staticnn::prelude::*;

struct MlpState;
struct MlpGrads;
struct MlpBlock;

network! {
    #[derive(Debug)]
    struct Mlp: [4] { Dense(3), Relu, block: Residual { Dense(3), Relu }, Dense(2) }

    #[companions(state = NamedState, grads = NamedGrads)]
    pub struct Named: [4] { fc: Dense(2) }
}

fn main() -> Result<()> {
    let _ = (MlpState, MlpGrads, MlpBlock);
    let mlp = Mlp::init(&Cpu, 0)?;
    let _ = format!("{mlp:?}");
    let net = Named::init(&Cpu, 0)?;
    let x = Tensor::<Cpu, Rank1<4>>::zeros(&Cpu, 3)?;
    let mut state = NamedState::default();
    net.infer(&x, &mut state)?;
    let grads: NamedGrads = net.zero_grads(&Cpu)?;
    assert_eq!(grads.fc.weight.dims(), &[2, 4]);
    Ok(())
}

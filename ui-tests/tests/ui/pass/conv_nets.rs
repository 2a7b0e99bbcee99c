use staticnn::prelude::*;

const CH: usize = 4;
const SIDE: usize = 12;

network! {
    #[derive(Debug)]
    pub struct Head: [8] { Dense(6), BatchNorm, Relu, Dense(3) }

    /// Every image layer, literal and const sizes, `padding = same`,
    /// rectangular kernels and strides, nested residual blocks, and a
    /// network used as a layer.
    #[derive(Debug)]
    pub struct Images: [1, SIDE, SIDE] {
        stem: Conv2d(CH, kernel = 3, padding = same, init = he_uniform), bn: BatchNorm(momentum = 0.2, eps = 1e-3), Relu,
        Dropout(0.1),
        outer: Residual {
            inner: Residual {
                Conv2d(CH, 3, padding = 1, bias = false), BatchNorm, Relu,
            },
            Conv2d(CH, kernel = (3, 1), padding = (1, 0)),
        },
        down: Residual {
            Conv2d(8, kernel = 3, stride = 2, padding = 1), Relu,
        } + proj: {
            Conv2d(8, kernel = 1, stride = 2, bias = false), BatchNorm,
        },
        AvgPool2d(kernel = (2, 3), stride = (2, 3)),
        MaxPool2d(3, stride = 1, padding = 1),
        GlobalAvgPool,
        head: Head,
    }
}

network! {
    pub struct Plain: [2, 9, 7] {
        Conv2d(3, kernel = (4, 2), stride = (2, 1), padding = valid),
        MaxPool2d(2, floor = true), Flatten, Dense(2),
    }
}

fn main() -> Result<()> {
    let mut net = Images::init(&Cpu, 1)?;
    println!("{}", net.summary());
    assert_eq!(Images::<Cpu>::OUTPUT_SHAPE, &[3]);
    let x = Tensor::<Cpu, Rank3<1, SIDE, SIDE>>::zeros(&Cpu, 2)?;
    let y: Tensor<Cpu, Rank1<3>> = net.forward(&x)?;
    assert_eq!(y.batch(), 2);
    let mut state = Default::default();
    net.forward_train(&x, &mut state, &mut TrainCtx::new(0))?;
    let _ = format!("{net:?}");
    // Weight names follow the blocks.
    let mut names = Vec::new();
    net.visit_params("", &mut |n, _| {
        names.push(n.to_string());
        Ok(())
    })?;
    assert!(names.contains(&"outer.inner.0.weight".to_string()), "{names:?}");
    assert!(names.contains(&"down.proj.1.running_var".to_string()), "{names:?}");
    assert!(names.contains(&"head.3.bias".to_string()), "{names:?}");
    // [2, 9, 7] -> conv [3, 3, 6] -> pool (floor) [3, 1, 3] -> 9 -> 2.
    assert_eq!(Plain::<Cpu>::NUM_PARAMS, 3 * 2 * 4 * 2 + 3 + 9 * 2 + 2);
    Ok(())
}

use staticnn::prelude::*;

network! {
    pub struct LeNet: [1, 28, 28] {
        conv1: Conv2d(6, kernel = 5, padding = 2), Relu, MaxPool2d(2),
        conv2: Conv2d(16, kernel = 5), Relu, MaxPool2d(2),
        Flatten,
        fc1: Dense(120), Relu,
        fc2: Dense(84), Relu,
        fc3: Dense(10),
    }

    pub struct Small: [3, 8, 8] {
        stem: Conv2d(8, kernel = 3, padding = 1, bias = false), bn: BatchNorm, Relu,
        block1: Residual {
            conv1: Conv2d(8, kernel = 3, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(8, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        },
        Relu,
        block2: Residual {
            conv1: Conv2d(16, kernel = 3, stride = 2, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(16, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        } + downsample: {
            Conv2d(16, kernel = 1, stride = 2, bias = false), BatchNorm,
        },
        Relu,
        GlobalAvgPool,
        fc: Dense(10),
    }
}

#[test]
fn smoke() {
    let net = LeNet::init(&Cpu, 1).unwrap();
    println!("{}", net.summary());
    let x = Tensor::<Cpu, Rank3<1, 28, 28>>::zeros(&Cpu, 2).unwrap();
    let y = net.forward(&x).unwrap();
    assert_eq!(y.batch(), 2);
    let net = Small::init(&Cpu, 1).unwrap();
    println!("{}", net.summary());
    let mut names = Vec::new();
    net.visit_params("", &mut |n, _| {
        names.push(n.to_string());
        Ok(())
    })
    .unwrap();
    println!("{names:?}");
}

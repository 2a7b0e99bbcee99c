//! Weights saved by PyTorch load into the equivalent `network!` and give
//! PyTorch's outputs. Fixtures come from `scripts/make_torch_fixtures.py`.

#[path = "../examples/common/mod.rs"]
mod common;

// `LeNet` in `scripts/make_torch_fixtures.py` is the `lenet` example's.
use common::LeNet;
use safetensors::SafeTensors;
use staticnn::prelude::*;

network! {
    /// `nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))`:
    /// unnamed layers take the Sequential's index names (`0.weight`,
    /// `2.bias`).
    struct TorchMlp: [784] { Dense(128), Relu, Dense(10) }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tensor(file: &SafeTensors, name: &str) -> Vec<f32> {
    let view = file.tensor(name).unwrap();
    view.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn pytorch_state_dict_gives_pytorch_outputs() {
    // Dense layers only: the same products in the same order, so tighter.
    matches_pytorch(TorchMlp::init(&Cpu, 0).unwrap(), "mlp", 1e-5);
}

#[test]
fn saving_again_keeps_pytorch_names_and_layouts() {
    let mut net = TorchMlp::init(&Cpu, 0).unwrap();
    net.load(fixture("torch_mlp.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.safetensors");
    net.save(&path).unwrap();
    let ours = std::fs::read(&path).unwrap();
    let theirs = std::fs::read(fixture("torch_mlp.safetensors")).unwrap();
    let (ours, theirs) = (
        SafeTensors::deserialize(&ours).unwrap(),
        SafeTensors::deserialize(&theirs).unwrap(),
    );
    let mut names = ours.names();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    for name in names {
        assert_eq!(
            ours.tensor(name).unwrap().shape(),
            theirs.tensor(name).unwrap().shape()
        );
        assert_eq!(tensor(&ours, name), tensor(&theirs, name), "{name}");
    }
}

network! {
    /// `SmallResNet`: torchvision-style BasicBlocks, the second one with a
    /// `downsample` projection, and a 3x3 stride-2 max pool that PyTorch
    /// rounds down (28 -> 14).
    struct TorchResNet: [1, 28, 28] {
        conv1: Conv2d(8, kernel = 3, padding = 1, bias = false), bn1: BatchNorm, Relu,
        MaxPool2d(3, stride = 2, padding = 1, floor = true),
        layer1: Residual {
            conv1: Conv2d(8, kernel = 3, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(8, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        },
        Relu,
        layer2: Residual {
            conv1: Conv2d(16, kernel = 3, stride = 2, padding = 1, bias = false), bn1: BatchNorm, Relu,
            conv2: Conv2d(16, kernel = 3, padding = 1, bias = false), bn2: BatchNorm,
        } + downsample: {
            Conv2d(16, kernel = 1, stride = 2, bias = false), BatchNorm,
        },
        Relu,
        GlobalAvgPool,
        fc: Dense(10),
    }

    /// `Misc`: a rectangular kernel and stride, padded average pooling
    /// (rounded down), and BatchNorm over features.
    /// nn.Sequential(Conv2d(1, 4, 3, padding=1), BatchNorm2d(4), ReLU(),
    /// MaxPool2d(2), Conv2d(4, 6, 3), ReLU(), AdaptiveAvgPool2d(1),
    /// Flatten(), Linear(6, 3)), layer for layer.
    struct TorchSequential: [1, 10, 10] {
        Conv2d(4, kernel = 3, padding = 1), BatchNorm, Relu, MaxPool2d(2),
        Conv2d(6, kernel = 3), Relu,
        AdaptiveAvgPool2d(1), Flatten, Dense(3),
    }

    struct TorchMisc: [1, 11, 12] {
        conv: Conv2d(4, kernel = (3, 2), stride = (1, 2)),
        AvgPool2d(3, stride = 2, padding = 1, floor = true),
        Flatten,
        fc1: Dense(16), bn: BatchNorm, Relu,
        fc2: Dense(3),
    }
}

/// Load `torch_{name}.safetensors` into `net` and compare its outputs on
/// the saved inputs with PyTorch's (eval mode, so BatchNorm uses the saved
/// running statistics): no value may differ by `tolerance` or more.
fn matches_pytorch<M: Model<Cpu>>(mut net: M, name: &str, tolerance: f32) {
    net.load(fixture(&format!("torch_{name}.safetensors")))
        .unwrap();
    let bytes = std::fs::read(fixture(&format!("torch_{name}_io.safetensors"))).unwrap();
    let io = SafeTensors::deserialize(&bytes).unwrap();
    let x = Tensor::<Cpu, M::Input>::from_vec(&Cpu, tensor(&io, "input")).unwrap();
    let want = tensor(&io, "output");
    let got = net.forward(&x).unwrap().to_vec().unwrap();
    assert_eq!(got.len(), want.len());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < tolerance,
        "{name}: largest difference from PyTorch: {worst}"
    );
}

#[test]
fn pytorch_lenet_gives_pytorch_outputs() {
    matches_pytorch(LeNet::init(&Cpu, 0).unwrap(), "lenet", 1e-4);
}

#[test]
fn pytorch_resnet_with_batch_norm_statistics_gives_pytorch_outputs() {
    matches_pytorch(TorchResNet::init(&Cpu, 0).unwrap(), "resnet", 1e-4);
}

#[test]
fn pytorch_pooling_and_batch_norm_over_features_give_pytorch_outputs() {
    matches_pytorch(TorchMisc::init(&Cpu, 0).unwrap(), "misc", 1e-4);
}

#[test]
fn a_literal_nn_sequential_port_loads_and_gives_pytorch_outputs() {
    // AdaptiveAvgPool2d(1) and Flatten are two layers, as in PyTorch, so
    // the Linear layer is `8.weight` in both.
    matches_pytorch(TorchSequential::init(&Cpu, 0).unwrap(), "sequential", 1e-5);
}

#[test]
fn running_statistics_are_saved_and_loaded() {
    let mut net = TorchResNet::init(&Cpu, 0).unwrap();
    net.load(fixture("torch_resnet.safetensors")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resnet.safetensors");
    net.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let ours = SafeTensors::deserialize(&bytes).unwrap();
    let theirs_bytes = std::fs::read(fixture("torch_resnet.safetensors")).unwrap();
    let theirs = SafeTensors::deserialize(&theirs_bytes).unwrap();
    // Every tensor PyTorch saved, except its int64 batch counters, comes
    // back with the same values.
    let mut checked = 0;
    for name in theirs.names() {
        if name.ends_with("num_batches_tracked") {
            assert!(ours.tensor(name).is_err());
            continue;
        }
        assert_eq!(tensor(&ours, name), tensor(&theirs, name), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 32);
    let mut fresh = TorchResNet::init(&Cpu, 1).unwrap();
    fresh.load(&path).unwrap();
    assert_eq!(
        tensor(&ours, "layer2.downsample.1.running_var"),
        fresh.layer2.shortcut._1.running_var.to_vec().unwrap()
    );
}

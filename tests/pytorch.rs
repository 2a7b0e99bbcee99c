//! Weights saved by PyTorch load into the equivalent `network!` and give
//! PyTorch's outputs. Fixtures come from `scripts/make_torch_fixtures.py`.

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
    let mut net = TorchMlp::init(&Cpu, 0).unwrap();
    net.load(fixture("torch_mlp.safetensors")).unwrap();

    let bytes = std::fs::read(fixture("torch_mlp_io.safetensors")).unwrap();
    let io = SafeTensors::deserialize(&bytes).unwrap();
    let x = Tensor::<Cpu, Rank1<784>>::from_vec(&Cpu, tensor(&io, "input")).unwrap();
    let want = tensor(&io, "output");
    let got = net.forward(&x).unwrap().to_vec().unwrap();
    assert_eq!(got.len(), want.len());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "largest difference from PyTorch: {worst}");
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

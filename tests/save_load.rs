//! Save/load round trips, and every kind of bad weights file: each gives a
//! clear error and leaves the network exactly as it was.

use safetensors::{tensor::TensorView, Dtype};
use staticnn::prelude::*;
use std::path::Path;

network! {
    struct Net: [6] { fc1: Dense(5), Relu, Dropout(0.2), out: Dense(3) }
    struct Other: [6] { fc1: Dense(5), Relu, Dropout(0.2), out: Dense(4) }
    struct Normed: [6] { fc1: Dense(3), bn: BatchNorm, Relu }
}

fn weights(net: &Net) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    net.visit_params("", &mut |_, p| {
        out.push(p.to_vec()?);
        Ok(())
    })
    .unwrap();
    out
}

fn input() -> Tensor<Cpu, Rank1<6>> {
    Tensor::from_vec(&Cpu, (0..24).map(|i| (i as f32 * 0.37).sin()).collect()).unwrap()
}

/// Write a safetensors file from `(name, dtype, shape, bytes)`.
fn write(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) {
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

fn f32_bytes(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| (i as f32).to_le_bytes()).collect()
}

/// The tensors of a valid file for `Net`.
fn valid() -> Vec<(&'static str, Dtype, Vec<usize>, Vec<u8>)> {
    vec![
        ("fc1.weight", Dtype::F32, vec![5, 6], f32_bytes(30)),
        ("fc1.bias", Dtype::F32, vec![5], f32_bytes(5)),
        ("out.weight", Dtype::F32, vec![3, 5], f32_bytes(15)),
        ("out.bias", Dtype::F32, vec![3], f32_bytes(3)),
    ]
}

#[test]
fn round_trip_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.safetensors");
    let a = Net::init(&Cpu, 1).unwrap();
    a.save(&path).unwrap();
    let mut b = Net::init(&Cpu, 2).unwrap();
    assert_ne!(weights(&a), weights(&b));
    b.load(&path).unwrap();
    assert_eq!(weights(&a), weights(&b));
    assert_eq!(
        a.forward(&input()).unwrap().to_vec().unwrap(),
        b.forward(&input()).unwrap().to_vec().unwrap()
    );
    // Nothing but the file itself is left behind.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);
}

#[test]
fn a_valid_handmade_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    write(&path, &valid());
    let mut net = Net::init(&Cpu, 0).unwrap();
    net.load(&path).unwrap();
    assert_eq!(
        net.out.bias.as_ref().unwrap().to_vec().unwrap(),
        vec![0.0, 1.0, 2.0]
    );
}

/// Load `path` into a fresh network, expect an error containing every
/// fragment, and check the network was not touched.
fn expect_error(path: &Path, fragments: &[&str]) {
    let mut net = Net::init(&Cpu, 9).unwrap();
    let before = weights(&net);
    let err = net
        .load(path)
        .expect_err("loading a bad file must fail")
        .to_string();
    for f in fragments {
        assert!(err.contains(f), "error `{err}` does not mention `{f}`");
    }
    assert_eq!(weights(&net), before, "a failed load changed the network");
}

#[test]
fn missing_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut t = valid();
    t.retain(|(n, ..)| *n != "out.bias");
    write(&path, &t);
    expect_error(&path, &["`out.bias`", "missing", "[3]"]);
}

#[test]
fn extra_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut t = valid();
    t.push(("fc2.weight", Dtype::F32, vec![2, 2], f32_bytes(4)));
    write(&path, &t);
    expect_error(&path, &["fc2.weight", "does not"]);
}

#[test]
fn wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut t = valid();
    // Transposed weight: [in, out] instead of PyTorch's [out, in].
    t[0] = ("fc1.weight", Dtype::F32, vec![6, 5], f32_bytes(30));
    write(&path, &t);
    expect_error(&path, &["`fc1.weight`", "[6, 5]", "[5, 6]"]);

    // A network of a different shape saved its weights there.
    let other = Other::init(&Cpu, 0).unwrap();
    other.save(&path).unwrap();
    expect_error(&path, &["`out.weight`", "[4, 5]", "[3, 5]"]);
}

#[test]
fn wrong_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut t = valid();
    t[1] = ("fc1.bias", Dtype::F64, vec![5], vec![0u8; 40]);
    write(&path, &t);
    expect_error(&path, &["`fc1.bias`", "F64", "F32"]);
}

#[test]
fn non_finite_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut t = valid();
    let mut bias: Vec<u8> = f32_bytes(3);
    bias[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    t[3] = ("out.bias", Dtype::F32, vec![3], bias);
    write(&path, &t);
    expect_error(&path, &["`out.bias`", "NaN", "index 1", "finite"]);
}

#[test]
fn negative_running_variance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut var: Vec<u8> = f32_bytes(3);
    var[8..12].copy_from_slice(&(-0.5f32).to_le_bytes());
    let mut tensors = vec![("fc1.weight", Dtype::F32, vec![3, 6], f32_bytes(18))];
    for name in ["fc1.bias", "bn.weight", "bn.bias", "bn.running_mean"] {
        tensors.push((name, Dtype::F32, vec![3], f32_bytes(3)));
    }
    tensors.push(("bn.running_var", Dtype::F32, vec![3], var));
    write(&path, &tensors);
    let mut net = Normed::init(&Cpu, 0).unwrap();
    let before = net.bn.running_var.to_vec().unwrap();
    let err = net.load(&path).unwrap_err().to_string();
    for f in [
        "`bn.running_var`",
        "-0.5",
        "index 2",
        "variance",
        "negative",
    ] {
        assert!(err.contains(f), "error `{err}` does not mention `{f}`");
    }
    assert_eq!(net.bn.running_var.to_vec().unwrap(), before);
    assert_eq!(net.bn.running_mean.to_vec().unwrap(), vec![0.0; 3]);

    // The same file with the variance made valid loads.
    let mut fixed = tensors.clone();
    fixed[5].3 = f32_bytes(3);
    write(&path, &fixed);
    net.load(&path).unwrap();
    assert_eq!(net.bn.running_var.to_vec().unwrap(), vec![0.0, 1.0, 2.0]);
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    Net::init(&Cpu, 0).unwrap().save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for cut in [bytes.len() - 1, bytes.len() / 2, 20, 7, 0] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        expect_error(&path, &["not a valid safetensors file"]);
    }
}

#[test]
fn garbage_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    std::fs::write(&path, b"this is not a weights file at all, just some text").unwrap();
    expect_error(&path, &["not a valid safetensors file"]);
    // A header length far beyond the file.
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, &bytes).unwrap();
    expect_error(&path, &["not a valid safetensors file"]);
    expect_error(
        &dir.path().join("absent.safetensors"),
        &["absent.safetensors"],
    );
}

#[test]
fn a_failed_save_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let a = Net::init(&Cpu, 1).unwrap();
    a.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();

    // Saving into a directory that does not exist fails cleanly.
    let err = a
        .save(dir.path().join("no/such/dir/w.safetensors"))
        .unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");

    // Make the save of a different network fail at the very path that
    // holds the old weights: a directory squats on the temporary file's
    // name, so writing the new file fails. The old file must be intact.
    let tmp = dir.path().join(".w.safetensors.tmp");
    std::fs::create_dir(&tmp).unwrap();
    let b = Net::init(&Cpu, 2).unwrap();
    assert!(b.save(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Once the obstacle is gone, the save replaces the file whole.
    std::fs::remove_dir(&tmp).unwrap();
    b.save(&path).unwrap();
    assert_ne!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_stale_temporary_file_from_a_killed_save_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    // What a save killed between write and rename leaves behind.
    std::fs::write(dir.path().join(".w.safetensors.tmp"), b"half a file").unwrap();
    let a = Net::init(&Cpu, 1).unwrap();
    for _ in 0..3 {
        a.save(&path).unwrap();
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["w.safetensors"]);
    let mut b = Net::init(&Cpu, 2).unwrap();
    b.load(&path).unwrap();
    assert_eq!(weights(&a), weights(&b));
}

#[test]
fn non_finite_weights_are_not_saved_and_the_old_file_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let mut net = Net::init(&Cpu, 1).unwrap();
    net.save(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut w = net.out.weight.to_vec().unwrap();
    w[4] = f32::NAN;
    net.out.weight.set(&w).unwrap();
    let err = net.save(&path).unwrap_err().to_string();
    assert!(
        err.contains("w.safetensors: tensor `out.weight` holds NaN at index 4"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(staticnn::io::to_bytes(&net).is_err());
}

//! The GPU against the CPU: every layer's forward and backward passes,
//! every loss, every optimiser, whole networks trained for a few steps,
//! moving networks and batches between devices, save/load of GPU networks,
//! and buffer reuse after warm-up.
//!
//! Each test needs a GPU and says so, then passes, where there is none
//! (`Cuda::new` fails with the reason), unless `STATICNN_REQUIRE_GPU` is
//! set. CI runs them on the CUDA emulator (`tools/cuda-emulator`), which
//! executes the kernels on the CPU; the GPU bundle (`scripts/gpu-bundle.sh`)
//! runs each in its own process on a GPU.
//! The check that every kernel compiles, which needs only NVRTC, is
//! `backend::cuda::tests` in the runtime.
//!
//! Tolerance: a relative error of 1e-4, measured against the larger of the
//! value and 1% of the largest value of the output, so that values which
//! cancel to nearly zero (a gradient summed over a batch) are compared at
//! the output's scale rather than their own.
#![cfg(feature = "cuda")]

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;
#[path = "../benches/workloads/nets.rs"]
mod nets;

use common::{LeNet, Mlp, ResNet};
use staticnn::layers::ParamVisitor;
use staticnn::ops::gemm::Product;
use staticnn::ops::loss::{LossKind, LossOp};
use staticnn::prelude::*;
use staticnn::train::{train_step, StepBuffers};
use staticnn::{Cuda, Rng};
use std::sync::{Mutex, MutexGuard};

const TOLERANCE: f32 = 1e-4;

/// Whether `dev` is the CUDA emulator (tools/cuda-emulator), which names
/// itself so, or a real GPU.
fn is_emulator(dev: &Cuda) -> bool {
    dev.name().contains("emulator")
}

fn describe(dev: &Cuda) -> String {
    let what = if is_emulator(dev) {
        "the CUDA emulator: kernels run on the CPU"
    } else {
        "a GPU"
    };
    format!(
        "{} ({what}), kernels built for {}",
        dev.name(),
        dev.kernel_target()
    )
}

/// What the GPU bundle's runner prints first: the device, what its
/// kernels are compiled to, and the driver, cuBLAS and NVRTC in use (path
/// and version).
#[test]
fn device_and_libraries() {
    for line in Cuda::libraries().lines() {
        println!("{line}");
    }
    let Some((gpu, _one)) = gpu() else { return };
    println!("GPU: {}", gpu.name());
    println!("kernels: {}", gpu.kernel_target());
    println!("emulated: {}", if is_emulator(&gpu) { "yes" } else { "no" });
    // On an H100/H200 (and the emulator, which says it is one) the kernels
    // are machine code for sm_90, not PTX for the driver to compile.
    if is_emulator(&gpu) || gpu.name().contains("H100") || gpu.name().contains("H200") {
        assert_eq!(gpu.kernel_target(), "sm_90 (CUBIN)");
    }
    // A kernel runs: a sum on the device matches the host's.
    let x = Tensor::<Cuda, Rank1<4>>::from_slice(&gpu, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(x.to_vec().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
}

/// A buffer dropped on a thread that never used the device is freed all
/// the same: the buffer binds its context before cudarc frees it (the
/// emulator refuses a free with no current context, as the driver does,
/// and the context reports the failure at the next synchronize).
#[test]
fn a_buffer_dropped_on_another_thread_is_freed() {
    let Some((gpu, _one)) = gpu() else { return };
    let x = Tensor::<Cuda, Rank1<1000>>::zeros(&gpu, 1).unwrap();
    std::thread::spawn(move || drop(x)).join().unwrap();
    gpu.synchronize().unwrap();
}

/// The first GPU, or `None` (and the reason, printed) where there is none.
/// `STATICNN_REQUIRE_GPU=1` (set by the GPU bundle's runner) turns a missing GPU
/// into a failure, so a GPU run cannot pass by skipping.
///
/// Tests hold the returned guard while they run: they share the device
/// (`Cuda::new(0)` returns the same one), and the test of buffer reuse
/// counts its allocations.
fn gpu() -> Option<(Cuda, MutexGuard<'static, ()>)> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    static SAID: std::sync::Once = std::sync::Once::new();
    match Cuda::new(0) {
        Ok(dev) => {
            SAID.call_once(|| eprintln!("running on {}", describe(&dev)));
            Some((dev, ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())))
        }
        Err(e) if std::env::var_os("STATICNN_REQUIRE_GPU").is_some() => {
            panic!("STATICNN_REQUIRE_GPU is set, but there is no usable GPU: {e}")
        }
        Err(e) => {
            eprintln!("skipping: no usable GPU ({e})");
            None
        }
    }
}

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal()).collect()
}

fn assert_close(what: &str, cpu: &[f32], gpu: &[f32], tolerance: f32) {
    assert_close_or_within(what, cpu, gpu, tolerance, 0.0);
}

/// As `assert_close`, also passing values that differ by at most `slack`.
fn assert_close_or_within(what: &str, cpu: &[f32], gpu: &[f32], tolerance: f32, slack: f32) {
    assert_eq!(cpu.len(), gpu.len(), "{what}: lengths differ");
    let scale = cpu.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let floor = (scale * 1e-2).max(1e-30);
    for (i, (a, b)) in cpu.iter().zip(gpu).enumerate() {
        let err = (a - b).abs() / a.abs().max(floor);
        assert!(
            err <= tolerance || (a - b).abs() <= slack || (a.is_nan() && b.is_nan()),
            "{what}[{i}]: cpu {a}, gpu {b}: relative error {err} > {tolerance}"
        );
    }
}

fn params<B: Backend, M: Layer<B>>(net: &M) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    let f: &mut ParamVisitor<'_, B> = &mut |name, p| {
        out.push((name.to_string(), p.to_vec()?));
        Ok(())
    };
    net.visit_params("", f).unwrap();
    out
}

fn assert_same_params<M: Layer<Cpu>, N: Layer<Cuda>>(
    what: &str,
    cpu: &M,
    gpu: &N,
    tol: f32,
    slack: f32,
) {
    let (a, b) = (params(cpu), params(gpu));
    assert_eq!(a.len(), b.len());
    for ((name, x), (gname, y)) in a.iter().zip(&b) {
        assert_eq!(name, gname);
        assert_close_or_within(&format!("{what}: {name}"), x, y, tol, slack);
    }
}

/// What one training forward and backward pass produced.
struct Pass {
    y: Vec<f32>,
    dx: Vec<f32>,
    grads: Vec<Vec<f32>>,
    inferred: Vec<f32>,
}

fn pass<B: Backend, M: Model<B>>(net: &mut M, x: &[f32], dy: &[f32]) -> Pass {
    let dev = net.device().clone();
    let x = Tensor::<B, M::Input>::from_slice(&dev, x).unwrap();
    let dy = Tensor::<B, M::Output>::from_slice(&dev, dy).unwrap();
    let mut state = M::State::default();
    let mut ctx = TrainCtx::new(11);
    let y = net
        .forward_train(&x, &mut state, &mut ctx)
        .unwrap()
        .to_vec()
        .unwrap();
    let mut grads = net.zero_grads(&dev).unwrap();
    let dx = net
        .backward(&x, &dy, &mut state, &mut grads)
        .unwrap()
        .to_vec()
        .unwrap();
    let mut g = Vec::new();
    net.visit_grads(&grads, &mut |_, grad| {
        g.push(grad.to_vec()?);
        Ok(())
    })
    .unwrap();
    let inferred = net.forward(&x).unwrap().to_vec().unwrap();
    Pass {
        y,
        dx,
        grads: g,
        inferred,
    }
}

/// The network `$net` made on the CPU and copied to the GPU gives the same
/// training output, input gradient, parameter gradients, updated running
/// statistics and inference output on both, for a batch of `$batch`.
macro_rules! same_on_both {
    ($net:ident, $batch:expr) => {{
        let Some((gpu, _one)) = gpu() else { return };
        let mut cpu_net = $net::<Cpu>::init(&Cpu, 5).unwrap();
        let mut gpu_net = cpu_net.to_device(&gpu).unwrap();
        let inputs = $batch * <<$net as Layer<Cpu>>::Input as Shape>::SIZE;
        let outputs = $batch * <<$net as Layer<Cpu>>::Output as Shape>::SIZE;
        let (x, dy) = (random(inputs, 1), random(outputs, 2));
        let (a, b) = (pass(&mut cpu_net, &x, &dy), pass(&mut gpu_net, &x, &dy));
        let what = stringify!($net);
        assert_close(&format!("{what} training output"), &a.y, &b.y, TOLERANCE);
        assert_close(&format!("{what} input gradient"), &a.dx, &b.dx, TOLERANCE);
        assert_eq!(a.grads.len(), b.grads.len());
        for (i, (ga, gb)) in a.grads.iter().zip(&b.grads).enumerate() {
            assert_close(&format!("{what} gradient {i}"), ga, gb, TOLERANCE);
        }
        assert_close(
            &format!("{what} inference"),
            &a.inferred,
            &b.inferred,
            TOLERANCE,
        );
        // BatchNorm's running statistics moved the same way.
        assert_same_params(what, &cpu_net, &gpu_net, TOLERANCE, 0.0);
    }};
}

network! {
    /// Every dense-side layer: activations, dropout, 1-d batch norm,
    /// softmax.
    struct DenseLayers: [24] {
        fc1: Dense(32), Relu,
        fc2: Dense(32), Sigmoid,
        fc3: Dense(32, bias = false), Tanh,
        bn: BatchNorm, LeakyRelu(0.1),
        Dropout(0.3),
        fc4: Dense(16), Identity,
        fc5: Dense(8), Softmax,
    }

    /// Every image-side layer: strided, padded and unpadded convolutions,
    /// overlapping and tiling max pools, padded average pooling, 2-d batch
    /// norm, residual blocks with and without a projection, global
    /// average pooling.
    struct ConvLayers: [3, 21, 21] {
        conv1: Conv2d(8, kernel = 3, padding = 1), Relu,
        MaxPool2d(3, stride = 2, padding = 1),
        conv2: Conv2d(8, kernel = 3, stride = 2, padding = 1, bias = false), bn: BatchNorm, Relu,
        block: Residual {
            conv: Conv2d(8, kernel = 3, padding = 1), Relu,
        },
        AvgPool2d(3, stride = 1, padding = 1),
        down: Residual {
            conv: Conv2d(12, kernel = 3, stride = 2, padding = 1),
        } + proj: { Conv2d(12, kernel = 1, stride = 2) },
        conv3: Conv2d(12, kernel = 2), Relu,
        MaxPool2d(2),
        Flatten,
        fc: Dense(5),
    }

    /// Global average pooling, and a 5x5 convolution on one channel (as
    /// LeNet's first).
    struct GlobalPool: [1, 12, 12] {
        conv: Conv2d(4, kernel = 5), Tanh,
        AvgPool2d(2),
        GlobalAvgPool,
        fc: Dense(3),
    }
}

/// Every layer's backward pass gives the same bits on every run: the GPU
/// kernels that produce gradients are gathers and fixed-order tree sums,
/// not float atomics whose order changes from run to run (the emulator
/// runs threads and blocks in a different random order at every launch,
/// as a GPU may). Only the loss value, summed with one atomic per block,
/// is allowed to vary.
#[test]
fn gradients_are_the_same_on_every_run() {
    let Some((gpu, _one)) = gpu() else { return };
    macro_rules! twice {
        ($net:ident, $batch:expr) => {{
            let mut net = $net::<Cuda>::init(&gpu, 5).unwrap();
            let inputs = $batch * <<$net as Layer<Cpu>>::Input as Shape>::SIZE;
            let outputs = $batch * <<$net as Layer<Cpu>>::Output as Shape>::SIZE;
            let (x, dy) = (random(inputs, 1), random(outputs, 2));
            let (a, b) = (pass(&mut net, &x, &dy), pass(&mut net, &x, &dy));
            let what = stringify!($net);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert!(
                bits(&a.y) == bits(&b.y),
                "{what}: training outputs differ between runs"
            );
            assert!(
                bits(&a.dx) == bits(&b.dx),
                "{what}: input gradients differ between runs"
            );
            for (i, (ga, gb)) in a.grads.iter().zip(&b.grads).enumerate() {
                assert!(
                    bits(ga) == bits(gb),
                    "{what}: gradient {i} differs between runs"
                );
            }
        }};
    }
    twice!(ConvLayers, 6);
    twice!(GlobalPool, 4);
    twice!(LeNet, 8);
    twice!(ResNet, 4);
    twice!(DenseLayers, 9);
}

#[test]
fn dense_layers_match_the_cpu() {
    same_on_both!(DenseLayers, 9);
}

#[test]
fn conv_layers_match_the_cpu() {
    same_on_both!(ConvLayers, 6);
}

#[test]
fn pooling_layers_match_the_cpu() {
    same_on_both!(GlobalPool, 4);
}

#[test]
fn example_networks_match_the_cpu() {
    same_on_both!(Mlp, 16);
    same_on_both!(LeNet, 8);
    same_on_both!(ResNet, 4);
}

#[test]
fn step_infers_on_the_gpu() {
    network! {
        struct Gate: [2] { fc: Dense(1), Step }
    }
    let Some((gpu, _one)) = gpu() else { return };
    let cpu_net = Gate::<Cpu>::init(&Cpu, 1).unwrap();
    let gpu_net = cpu_net.to_device(&gpu).unwrap();
    let x = random(2 * 10, 3);
    let a = cpu_net
        .forward(&Tensor::from_slice(&Cpu, &x).unwrap())
        .unwrap();
    let b = gpu_net
        .forward(&Tensor::from_slice(&gpu, &x).unwrap())
        .unwrap();
    assert_eq!(a.to_vec().unwrap(), b.to_vec().unwrap());
}

/// The matrix product for every pair of transposes (the layers use three),
/// with alpha and beta, on sizes that are not multiples of anything.
#[test]
fn products_match_the_cpu() {
    use staticnn::ops::gemm::GemmOp;
    let Some((gpu, _one)) = gpu() else { return };
    let (m, n, k) = (37, 23, 51);
    let (a, b, c) = (random(m * k, 20), random(k * n, 21), random(m * n, 22));
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        for (alpha, beta) in [(1.0, 0.0), (0.5, 2.0)] {
            let p = Product::new(m, n, k)
                .transpose_a(ta)
                .transpose_b(tb)
                .alpha(alpha)
                .beta(beta);
            let mut on_cpu = c.clone();
            Cpu.gemm(p, &a, &b, &mut on_cpu).unwrap();
            let (ga, gb) = (gpu.upload(&a).unwrap(), gpu.upload(&b).unwrap());
            let mut gc = gpu.upload(&c).unwrap();
            gpu.gemm(p, &ga, &gb, &mut gc).unwrap();
            let what = format!("gemm trans ({ta}, {tb}) alpha {alpha} beta {beta}");
            assert_close(&what, &on_cpu, &gpu.read(&gc).unwrap(), TOLERANCE);
        }
    }
}

/// Every loss's value, gradient and hit count, on both devices; the second
/// size has more rows than the launch has warps, so that warps take several
/// rows each.
#[test]
fn losses_match_the_cpu() {
    let Some((gpu, _one)) = gpu() else { return };
    for (rows, cols) in [(37, 11), (8 * 1024 + 37, 3)] {
        losses_on(&gpu, rows, cols);
    }
}

fn losses_on(gpu: &Cuda, rows: usize, cols: usize) {
    let logits = random(rows * cols, 4);
    let probs: Vec<f32> = logits.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let binary: Vec<f32> = random(rows * cols, 5)
        .iter()
        .map(|v| (*v > 0.0) as u8 as f32)
        .collect();
    let classes: Vec<f32> = (0..rows).map(|i| (i * 7 % cols) as f32).collect();
    let cases = [
        (LossKind::Mse, &logits, random(rows * cols, 6)),
        (LossKind::BinaryCrossEntropy, &probs, binary),
        (LossKind::SoftmaxCrossEntropy, &logits, classes),
    ];
    for (kind, pred, target) in cases {
        let on_cpu = |p: &[f32], t: &[f32]| {
            let (mut g, mut sum, mut hits) = (vec![0.0; p.len()], vec![0.0], vec![0.0]);
            Cpu.loss(
                kind,
                rows,
                cols,
                &p.to_vec(),
                &t.to_vec(),
                Some(&mut g),
                &mut sum,
            )
            .unwrap();
            Cpu.count_correct(kind, rows, cols, &p.to_vec(), &t.to_vec(), &mut hits)
                .unwrap();
            (g, sum[0], hits[0])
        };
        let on_gpu = |p: &[f32], t: &[f32]| {
            let (pb, tb) = (gpu.upload(p).unwrap(), gpu.upload(t).unwrap());
            let (mut g, mut sum, mut hits) = (
                gpu.zeros(p.len()).unwrap(),
                gpu.zeros(1).unwrap(),
                gpu.zeros(1).unwrap(),
            );
            gpu.loss(kind, rows, cols, &pb, &tb, Some(&mut g), &mut sum)
                .unwrap();
            gpu.count_correct(kind, rows, cols, &pb, &tb, &mut hits)
                .unwrap();
            let read = |b| gpu.read(b).unwrap().into_owned();
            (read(&g), read(&sum)[0], read(&hits)[0])
        };
        let (a, b) = (on_cpu(pred, &target), on_gpu(pred, &target));
        let what = format!("{kind:?} ({rows} rows)");
        assert_close(&format!("{what} gradient"), &a.0, &b.0, TOLERANCE);
        assert_close(&format!("{what} loss"), &[a.1], &[b.1], TOLERANCE);
        assert_close(&format!("{what} hits"), &[a.2], &[b.2], TOLERANCE);
    }
}

/// Train `net` for `steps` steps of `opt` on a fixed batch.
fn train<B, M, O>(net: &mut M, opt: &mut O, steps: usize) -> Vec<f32>
where
    B: Backend,
    M: Model<B, Output = Rank1<10>> + TrainsWith<B, SoftmaxCrossEntropy>,
    O: Optimizer<B>,
{
    let dev = net.device().clone();
    let batch = 32;
    let x = random(batch * <M::Input as Shape>::SIZE, 8);
    let labels: Vec<f32> = (0..batch).map(|i| (i % 10) as f32).collect();
    let x = Tensor::<B, M::Input>::from_slice(&dev, &x).unwrap();
    let y = Tensor::<B, ClassIndex>::from_slice(&dev, &labels).unwrap();
    let mut buffers = StepBuffers::new(net, &dev).unwrap();
    let mut ctx = TrainCtx::new(3);
    (0..steps)
        .map(|_| {
            train_step(
                net,
                opt,
                &SoftmaxCrossEntropy,
                &x,
                &y,
                &mut buffers,
                &mut ctx,
            )
            .unwrap()
        })
        .collect()
}

/// Every optimiser, five steps on both devices (the MLP has dropout, whose
/// masks the two devices draw alike): the losses and the weights agree.
#[test]
fn optimisers_train_alike() {
    let Some((gpu, _one)) = gpu() else { return };
    macro_rules! both {
        ($what:expr, $opt:expr) => {{
            let mut cpu_net = Mlp::<Cpu>::init(&Cpu, 9).unwrap();
            let mut gpu_net = cpu_net.to_device(&gpu).unwrap();
            let a = train(&mut cpu_net, &mut $opt, 5);
            let b = train(&mut gpu_net, &mut $opt, 5);
            assert_close(concat!($what, " losses"), &a, &b, 1e-3);
            // Adam and RMSProp divide by the root of a running mean of
            // squared gradients: where a gradient is near zero, a rounding
            // difference in it moves the step by a visible fraction of the
            // learning rate (1e-3). A hundredth of a step in five is allowed.
            assert_same_params($what, &cpu_net, &gpu_net, 1e-3, 5e-5);
        }};
    }
    both!("sgd", Sgd::new(0.05).weight_decay(1e-3));
    both!("momentum", Sgd::new(0.05).momentum(0.9));
    both!("nesterov", Sgd::new(0.05).momentum(0.9).nesterov(true));
    both!("adam", Adam::new(1e-3).weight_decay(1e-3));
    both!("adamw", AdamW::new(1e-3));
    both!("rmsprop", RmsProp::new(1e-3));
    both!("adagrad", AdaGrad::new(1e-2));
}

/// LeNet trained for a few steps on each device ends with the same weights
/// (within a looser tolerance: five steps compound the rounding of each).
#[test]
fn lenet_trains_alike() {
    let Some((gpu, _one)) = gpu() else { return };
    let mut cpu_net = LeNet::<Cpu>::init(&Cpu, 4).unwrap();
    let mut gpu_net = cpu_net.to_device(&gpu).unwrap();
    let a = train(&mut cpu_net, &mut Adam::new(1e-3), 5);
    let b = train(&mut gpu_net, &mut Adam::new(1e-3), 5);
    assert_close("LeNet losses", &a, &b, 1e-3);
    assert!(a.last() < a.first(), "the loss fell: {a:?}");
    assert_same_params("LeNet", &cpu_net, &gpu_net, 1e-3, 0.0);
}

/// `fit` and `evaluate` on the GPU: the loss falls and the accuracy is
/// read back once per epoch.
#[test]
fn fit_runs_on_the_gpu() {
    let Some((gpu, _one)) = gpu() else { return };
    let (train, val) = common::bundled::<Rank1<784>>()
        .unwrap()
        .split(0.2, 1)
        .unwrap();
    let mut net = Mlp::<Cuda>::init(&gpu, 1).unwrap();
    let cfg = FitConfig::new(3, 64).verbose(false);
    let history = fit(
        &mut net,
        &mut Adam::new(2e-3),
        &SoftmaxCrossEntropy,
        &train,
        Some(&val),
        &cfg,
    )
    .unwrap();
    let losses: Vec<f32> = history.epochs.iter().map(|e| e.train_loss).collect();
    assert!(losses[2] < losses[0], "{losses:?}");
    let acc = evaluate(&net, &SoftmaxCrossEntropy, &val, 256)
        .unwrap()
        .accuracy
        .unwrap();
    assert!(acc > 0.85, "validation accuracy {acc}");
}

#[test]
fn networks_and_batches_move_between_devices() {
    let Some((gpu, _one)) = gpu() else { return };
    let x = random(3 * 784, 12);
    let cpu_x = Tensor::<Cpu, Rank1<784>>::from_slice(&Cpu, &x).unwrap();
    let gpu_x = cpu_x.to_device(&gpu).unwrap();
    assert_eq!(gpu_x.to_vec().unwrap(), x);
    assert_eq!(gpu_x.to_device(&Cpu).unwrap().as_slice(), &x[..]);

    assert_eq!(
        gpu,
        Cuda::new(0).unwrap(),
        "one device per GPU, however often made"
    );
    let cpu_net = Mlp::<Cpu>::init(&Cpu, 3).unwrap();
    let back = cpu_net.to_device(&gpu).unwrap().to_device(&Cpu).unwrap();
    assert_eq!(
        params(&cpu_net),
        params(&back),
        "a round trip changes nothing"
    );
}

/// A GPU network saves the same safetensors file as the CPU, and loads
/// files saved on either device; a bad file leaves it unchanged.
#[test]
fn gpu_networks_save_and_load() {
    let Some((gpu, _one)) = gpu() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cpu_file, gpu_file) = (dir.path().join("cpu.st"), dir.path().join("gpu.st"));
    let cpu_net = LeNet::<Cpu>::init(&Cpu, 6).unwrap();
    let gpu_net = cpu_net.to_device(&gpu).unwrap();
    cpu_net.save(&cpu_file).unwrap();
    gpu_net.save(&gpu_file).unwrap();
    assert_eq!(
        std::fs::read(&cpu_file).unwrap(),
        std::fs::read(&gpu_file).unwrap(),
        "the same bytes from either device"
    );

    let mut loaded = LeNet::<Cuda>::init(&gpu, 99).unwrap();
    loaded.load(&cpu_file).unwrap();
    assert_eq!(params(&cpu_net), params(&loaded));

    let before = params(&loaded);
    std::fs::write(&gpu_file, b"not a safetensors file").unwrap();
    assert!(loaded.load(&gpu_file).is_err());
    assert_eq!(before, params(&loaded), "a failed load changes nothing");
}

/// After the first step, training steps allocate nothing: no device
/// buffer, and nothing on the host (the loss is left on the device).
#[test]
fn training_steps_reuse_their_buffers() {
    use counting::{allocations, exclusive};
    let Some((gpu, _one)) = gpu() else { return };
    let _one = exclusive();
    let net = LeNet::<Cpu>::init(&Cpu, 2)
        .unwrap()
        .to_device(&gpu)
        .unwrap();
    let mut trainer = nets::Trainer::on(&gpu, net, 64);
    assert!(trainer.step().is_finite());
    let device_before = gpu.allocations();
    let host = allocations(|| {
        for _ in 0..5 {
            trainer.step_deferred();
        }
    });
    assert!(trainer.step().is_finite());
    assert_eq!(
        gpu.allocations(),
        device_before,
        "device allocations in steps 2.."
    );
    assert_eq!(host, 0, "host allocations in steps 2..");
}

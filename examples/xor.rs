//! Logic gates: single perceptrons learn AND, OR and NAND with Rosenblatt's
//! rule; XOR, which no single perceptron can represent, takes a hidden
//! layer trained by backpropagation.
//!
//! ```text
//! cargo run --release --example xor
//! ```

use staticnn::prelude::*;

network! {
    /// Rosenblatt's perceptron: a weighted sum and a hard threshold.
    struct Perceptron: [2] { unit: Dense(1), Step }

    /// The smallest network that learns XOR: two inputs, a hidden layer,
    /// one probability out.
    struct XorNet: [2] { hidden: Dense(4), Tanh, out: Dense(1), Sigmoid }
}

const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];

fn inputs() -> Result<Tensor<Cpu, Rank1<2>>> {
    Tensor::from_vec(&Cpu, INPUTS.concat())
}

/// Train a perceptron on a truth table with the perceptron learning rule:
/// `w += lr * (target - output) * x`, `b += lr * (target - output)`.
/// Step has no gradient, so this is the one place we update weights by
/// hand, which also shows how to reach a layer's parameters.
fn train_perceptron(targets: [f32; 4]) -> Result<(Perceptron, usize)> {
    let mut net = Perceptron::init(&Cpu, 1)?;
    let lr = 0.1;
    for epoch in 1..=100 {
        let mut mistakes = 0;
        for (x, t) in INPUTS.iter().zip(targets) {
            let y = net.forward(&Tensor::from_slice(&Cpu, x)?)?.as_slice()[0];
            let err = t - y;
            if err != 0.0 {
                mistakes += 1;
                let mut w = net.unit.weight.to_vec()?;
                w[0] += lr * err * x[0];
                w[1] += lr * err * x[1];
                net.unit.weight.set(&w)?;
                if let Some(b) = &mut net.unit.bias {
                    let v = b.to_vec()?[0] + lr * err;
                    b.set(&[v])?;
                }
            }
        }
        if mistakes == 0 {
            return Ok((net, epoch));
        }
    }
    Ok((net, 100))
}

fn print_table(name: &str, outputs: &[f32], targets: [f32; 4]) {
    println!("{name}:  x1 x2 | out  (want)");
    for ((x, y), t) in INPUTS.iter().zip(outputs).zip(targets) {
        println!("       {}  {}  | {y:.3} ({t})", x[0], x[1]);
    }
}

/// Perceptrons learn AND, OR and NAND; an MLP learns XOR.
#[derive(clap::Parser)]
#[command(about)]
struct Cli {}

fn main() -> std::process::ExitCode {
    <Cli as clap::Parser>::parse();
    match learn_gates() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn learn_gates() -> Result<()> {
    let gates = [
        ("AND", [0.0, 0.0, 0.0, 1.0]),
        ("OR", [0.0, 1.0, 1.0, 1.0]),
        ("NAND", [1.0, 1.0, 1.0, 0.0]),
    ];
    for (name, targets) in gates {
        let (net, epochs) = train_perceptron(targets)?;
        let out = net.forward(&inputs()?)?;
        print_table(
            &format!("{name} perceptron ({epochs} epochs)"),
            out.as_slice(),
            targets,
        );
        println!();
    }

    // XOR needs a hidden layer: train it with binary cross-entropy.
    let targets = [0.0, 1.0, 1.0, 0.0];
    let data = Dataset::<Rank1<2>, Rank1<1>>::new(INPUTS.concat(), targets.to_vec())?;
    let mut net = XorNet::init(&Cpu, 3)?;
    println!("{}\n", net.summary());
    let mut opt = Adam::new(0.05);
    let history = fit(
        &mut net,
        &mut opt,
        &BinaryCrossEntropy,
        &data,
        None,
        &FitConfig::new(500, 4).verbose(false),
    )?;
    let out = net.forward(&inputs()?)?;
    let last = history.last().map(|e| e.train_loss).unwrap_or(f32::NAN);
    print_table(
        &format!("XOR MLP (500 epochs, loss {last:.4})"),
        out.as_slice(),
        targets,
    );
    let correct = out
        .as_slice()
        .iter()
        .zip(targets)
        .filter(|(y, t)| (**y > 0.5) == (*t > 0.5))
        .count();
    println!("XOR accuracy: {correct}/4");
    Ok(())
}

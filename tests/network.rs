//! What `network!` generates: names, shapes, counts, summary, init.

use staticnn::prelude::*;

const HIDDEN: usize = 32;

network! {
    /// A classifier with every kind of layer name.
    #[derive(Debug)]
    pub struct Mixed: [20] {
        Dense(HIDDEN), Relu,
        Dropout(0.1),
        mid: Dense(16, init = glorot_normal), LeakyRelu(0.2),
        Dense(8, bias = false), Tanh,
        head: Dense(3), Softmax,
    }

    struct Tiny: [2] { Dense(1), Sigmoid }

    struct Image: [1, 4, 4] { Flatten, fc: Dense(2) }

    struct Activations: [3] { Relu, Sigmoid, Identity }
}

fn names<M: Layer<Cpu>>(m: &M) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    m.visit_params("", &mut |name, p| {
        out.push((name.to_string(), p.dims().to_vec()));
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn pytorch_names_and_layouts() {
    let net = Mixed::init(&Cpu, 1).unwrap();
    let expected: Vec<(String, Vec<usize>)> = [
        ("0.weight", vec![32, 20]),
        ("0.bias", vec![32]),
        ("mid.weight", vec![16, 32]),
        ("mid.bias", vec![16]),
        ("5.weight", vec![8, 16]),
        ("head.weight", vec![3, 8]),
        ("head.bias", vec![3]),
    ]
    .into_iter()
    .map(|(n, d)| (n.to_string(), d))
    .collect();
    assert_eq!(names(&net), expected);
}

#[test]
fn constants_and_counts() {
    assert_eq!(Mixed::<Cpu>::INPUT_SHAPE, &[20]);
    assert_eq!(Mixed::<Cpu>::OUTPUT_SHAPE, &[3]);
    let count = 20 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8 * 3 + 3;
    assert_eq!(Mixed::<Cpu>::NUM_PARAMS, count);
    assert_eq!(Mixed::init(&Cpu, 0).unwrap().num_params(), count);
    assert_eq!(Image::<Cpu>::INPUT_SHAPE, &[1, 4, 4]);
    assert_eq!(Activations::<Cpu>::NUM_PARAMS, 0);
}

#[test]
fn summary_lists_every_layer() {
    let net = Mixed::init(&Cpu, 1).unwrap();
    let s = net.summary();
    assert_eq!(s.rows.len(), 9);
    assert_eq!(s.rows[0].name, "0");
    assert_eq!(s.rows[0].layer, "Dense(HIDDEN)");
    assert_eq!(s.rows[0].output, vec![32]);
    assert_eq!(s.rows[4].layer, "LeakyRelu(0.2)");
    assert_eq!(s.rows[5].layer, "Dense(8, bias = false)");
    assert_eq!(s.total_params(), Mixed::<Cpu>::NUM_PARAMS);
    let text = s.to_string();
    assert!(text.contains("mid (Dense(16))"), "{text}");
    assert!(text.contains("Total params: 1,355"), "{text}");
    let img = Image::init(&Cpu, 0).unwrap().summary();
    assert_eq!(img.rows[0].output, vec![16]);
}

#[test]
fn init_is_seeded_and_follows_the_activation() {
    let a = Mixed::init(&Cpu, 5).unwrap();
    let b = Mixed::init(&Cpu, 5).unwrap();
    let c = Mixed::init(&Cpu, 6).unwrap();
    let w = |m: &Mixed| m._0.weight.to_vec().unwrap();
    assert_eq!(w(&a), w(&b));
    assert_ne!(w(&a), w(&c));
    // layer0 feeds a ReLU (through nothing else): He normal, std sqrt(2/20).
    let v = w(&a);
    let std = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
    assert!((std - (2.0f32 / 20.0).sqrt()).abs() < 0.05, "{std}");
    // head feeds a Softmax: Glorot uniform, bounded by sqrt(6/(8+3)).
    let bound = (6.0f32 / 11.0).sqrt();
    assert!(a
        .head
        .weight
        .to_vec()
        .unwrap()
        .iter()
        .all(|x| x.abs() <= bound));
    assert!(a
        .head
        .bias
        .as_ref()
        .unwrap()
        .to_vec()
        .unwrap()
        .iter()
        .all(|&x| x == 0.0));
    assert!(a._5.bias.is_none());
}

#[test]
fn forward_shapes_and_probabilities() {
    let net = Mixed::init(&Cpu, 2).unwrap();
    let x = Tensor::<Cpu, Rank1<20>>::from_vec(&Cpu, (0..60).map(|v| v as f32 / 60.0).collect())
        .unwrap();
    let y = net.forward(&x).unwrap();
    assert_eq!(y.batch(), 3);
    for i in 0..3 {
        let s: f32 = y.sample(i).iter().sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
    // Inference is deterministic (dropout off).
    assert_eq!(
        net.forward(&x).unwrap().to_vec().unwrap(),
        y.to_vec().unwrap()
    );
    let classes = net.predict_classes(&x).unwrap();
    assert_eq!(classes.len(), 3);
    for (i, &c) in classes.iter().enumerate() {
        let row = y.sample(i);
        assert!(
            row.iter().all(|&v| v <= row[c]),
            "{c} is not the largest of {row:?}"
        );
    }
    let img = Image::init(&Cpu, 0).unwrap();
    let x = Tensor::<Cpu, Rank3<1, 4, 4>>::zeros(&Cpu, 2).unwrap();
    assert_eq!(img.forward(&x).unwrap().batch(), 2);
}

#[test]
fn layers_move_between_networks() {
    let a = Mixed::init(&Cpu, 1).unwrap();
    let mut b = Mixed::init(&Cpu, 2).unwrap();
    b.mid.copy_from(&a.mid).unwrap();
    assert_eq!(
        a.mid.weight.to_vec().unwrap(),
        b.mid.weight.to_vec().unwrap()
    );
    assert_ne!(
        a.head.weight.to_vec().unwrap(),
        b.head.weight.to_vec().unwrap()
    );
    let c = a.to_device(&Cpu).unwrap();
    assert_eq!(
        a.head.weight.to_vec().unwrap(),
        c.head.weight.to_vec().unwrap()
    );
}

#[test]
fn a_perceptron_is_a_network() {
    let net = Tiny::init(&Cpu, 0).unwrap();
    let x = Tensor::<Cpu, Rank1<2>>::from_vec(&Cpu, vec![0.0, 1.0]).unwrap();
    let y = net.forward(&x).unwrap();
    assert!(y.as_slice()[0] > 0.0 && y.as_slice()[0] < 1.0);
    let mixed = Mixed::init(&Cpu, 0).unwrap();
    assert!(format!("{mixed:?}").contains("Dense"));
}

network! {
    struct Wide: [6] { fc1: Dense(5), Relu, fc2: Dense(3) }
    struct Piece: [6] { enc: Dense(5), Tanh }
    struct Outer: [6] { inner: Wide, out: Dense(2) }
}

#[test]
fn trained_layers_move_between_networks() {
    let mut wide = Wide::init(&Cpu, 1).unwrap();
    let piece = Piece::init(&Cpu, 2).unwrap();
    wide.fc1.copy_weights_from(&piece.enc).unwrap();
    assert_eq!(
        wide.fc1.weight.to_vec().unwrap(),
        piece.enc.weight.to_vec().unwrap()
    );
    // Whole nested networks move the same way.
    let mut outer = Outer::init(&Cpu, 3).unwrap();
    outer.inner.copy_weights_from(&wide).unwrap();
    let x = Tensor::<Cpu, Rank1<6>>::from_vec(&Cpu, (0..12).map(|v| v as f32 / 10.0).collect())
        .unwrap();
    assert_eq!(
        outer.inner.forward(&x).unwrap().to_vec().unwrap(),
        wide.forward(&x).unwrap().to_vec().unwrap()
    );
}

//! Data preparation as a scikit-learn user does it, on scikit-learn's own
//! wine and iris files (`tests/fixtures/sklearn`): the label column by
//! position or name, a stratified split, a standardiser fitted on the
//! training split and saved with the weights, and batched predictions.

use staticnn::data::csv::{self, CsvOptions, TargetColumns};
use staticnn::prelude::*;
use std::path::PathBuf;

network! {
    struct WineNet: [13] { Dense(32), Relu, Dense(3) }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sklearn")
        .join(name)
}

/// scikit-learn's `load_wine`: the first line is counts and class names.
fn wine() -> Dataset<Rank1<13>, ClassIndex> {
    let opts = CsvOptions {
        header: true,
        classes: Some(3),
        ..CsvOptions::default()
    };
    csv::load(fixture("wine_data.csv"), opts).unwrap()
}

fn train(
    train: &Dataset<Rank1<13>, ClassIndex>,
    val: &Dataset<Rank1<13>, ClassIndex>,
) -> (WineNet, History) {
    let mut net = WineNet::init(&Cpu, 1).unwrap();
    let cfg = FitConfig::new(60, 16).seed(2).verbose(false);
    let history = fit(
        &mut net,
        &mut Adam::new(1e-2),
        &SoftmaxCrossEntropy,
        train,
        Some(val),
        &cfg,
    )
    .unwrap();
    (net, history)
}

#[test]
fn wine_needs_the_standardiser_and_fit_says_so() {
    let data = wine();
    assert_eq!(data.len(), 178);
    // train_test_split(test_size=0.25, stratify=y): 45 held out, the
    // classes (59, 71, 48) in proportion: 15, 18, 12.
    let (train_raw, val_raw) = data.split_stratified(0.25, 0).unwrap();
    assert_eq!((train_raw.len(), val_raw.len()), (133, 45));
    let count = |d: &Dataset<Rank1<13>, ClassIndex>, c: f32| {
        d.targets().iter().filter(|&&t| t == c).count()
    };
    assert_eq!(
        (
            count(&val_raw, 0.0),
            count(&val_raw, 1.0),
            count(&val_raw, 2.0)
        ),
        (15, 18, 12)
    );

    // Raw features (proline runs to 1,680): fit warns.
    let (_, raw) = train(&train_raw, &val_raw);
    assert_eq!(raw.warnings.len(), 1, "{:?}", raw.warnings);
    assert!(
        raw.warnings[0].contains("far from unit scale"),
        "{:?}",
        raw.warnings
    );

    // Standardised with the training split's statistics: no warning, and
    // the accuracy of scikit-learn's MLPClassifier on this split (about
    // 0.98).
    let scaler = Standardizer::fit(&train_raw).unwrap();
    let (train_std, val_std) = (
        scaler.transform(&train_raw).unwrap(),
        scaler.transform(&val_raw).unwrap(),
    );
    let (net, history) = train(&train_std, &val_std);
    assert!(history.warnings.is_empty(), "{:?}", history.warnings);
    let acc = history.last().unwrap().val_accuracy.unwrap();
    let raw_acc = raw.last().unwrap().val_accuracy.unwrap();
    println!("wine validation accuracy: {raw_acc:.3} raw, {acc:.3} standardised");
    assert!(acc >= 0.93, "validation accuracy {acc}");

    // Saved with the weights, the standardiser comes back, and a predictor
    // given raw features answers as the network does on standardised ones.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wine.safetensors");
    net.save_with_standardizer(&scaler, &path).unwrap();
    let loaded = Standardizer::load(&path).unwrap().expect("a standardiser");
    assert_eq!(loaded, scaler);
    let mut reloaded = WineNet::init(&Cpu, 9).unwrap();
    reloaded.load(&path).unwrap();
    let expected = predict_classes(&net, &Cpu, val_std.inputs(), 7).unwrap();
    let mut predictor = Predictor::new(&reloaded)
        .unwrap()
        .with_standardizer(loaded)
        .unwrap();
    for (i, &class) in expected.iter().enumerate() {
        let (raw_x, _) = val_raw.get(i).unwrap();
        assert_eq!(predictor.predict_class(raw_x).unwrap(), class, "sample {i}");
    }
    // A file saved without one has none.
    net.save(&path).unwrap();
    assert_eq!(Standardizer::load(&path).unwrap(), None);
}

#[test]
fn a_standardiser_of_the_wrong_size_is_refused() {
    let net = WineNet::init(&Cpu, 0).unwrap();
    let four = Standardizer::from_parts(vec![0.0; 4], vec![1.0; 4]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let err = net
        .save_with_standardizer(&four, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fitted on samples of 4 values; this network takes 13"),
        "{err}"
    );
    assert!(!path.exists(), "nothing is written");
    let err = Predictor::new(&net)
        .unwrap()
        .with_standardizer(four)
        .err()
        .unwrap();
    assert!(err.to_string().contains("this network takes 13"), "{err}");
}

#[test]
fn a_corrupt_standardiser_in_a_file_is_an_error_naming_it() {
    // A file whose metadata claims a standardiser with a zero deviation.
    let net = WineNet::init(&Cpu, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    net.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .names()
        .into_iter()
        .map(|n| (n.to_string(), file.tensor(n).unwrap()))
        .collect();
    let meta = std::collections::HashMap::from([(
        "staticnn.standardizer".to_string(),
        r#"{"mean":[0,0,0,0,0,0,0,0,0,0,0,0,0],"std":[1,1,1,1,1,1,0,1,1,1,1,1,1]}"#.to_string(),
    )]);
    safetensors::serialize_to_file(tensors, Some(meta), &path).unwrap();
    let err = Standardizer::load(&path).unwrap_err().to_string();
    assert!(err.contains("the deviation of feature 6 is 0"), "{err}");
    assert!(err.contains("w.safetensors"), "{err}");
    // The weights themselves still load.
    WineNet::init(&Cpu, 1).unwrap().load(&path).unwrap();
}

#[test]
fn the_label_column_by_index_or_by_name() {
    // Iris with real column names in place of scikit-learn's count line.
    let text = std::fs::read_to_string(fixture("iris.csv")).unwrap();
    let body = text.split_once('\n').unwrap().1;
    let named = format!(
        "species,sepal_length,sepal_width,petal_length,petal_width\n{}",
        {
            // The label moved to the front, so that it is not simply last.
            body.lines()
                .map(|l| {
                    let (x, y) = l.rsplit_once(',').unwrap();
                    format!("{y},{x}\n")
                })
                .collect::<String>()
        }
    );
    let last = csv::load::<Rank1<4>, ClassIndex>(
        fixture("iris.csv"),
        CsvOptions {
            header: true,
            classes: Some(3),
            ..CsvOptions::default()
        },
    )
    .unwrap();
    for targets in [
        TargetColumns::Named("species".into()),
        TargetColumns::Index(0),
    ] {
        let opts = CsvOptions {
            targets,
            header: true,
            classes: Some(3),
            ..CsvOptions::default()
        };
        let d =
            csv::from_bytes::<Rank1<4>, ClassIndex>(named.as_bytes(), "iris.csv", opts).unwrap();
        assert_eq!(d.inputs(), last.inputs());
        assert_eq!(d.targets(), last.targets());
    }
}

#[test]
fn batched_predictions_match_one_at_a_time() {
    let data = wine();
    let scaler = Standardizer::fit(&data).unwrap();
    let data = scaler.transform(&data).unwrap();
    let net = WineNet::init(&Cpu, 3).unwrap();
    let outputs = predict(&net, &Cpu, data.inputs(), 50).unwrap();
    assert_eq!(outputs.len(), 178 * 3);
    let classes = predict_classes(&net, &Cpu, data.inputs(), 64).unwrap();
    let mut one = Predictor::new(&net).unwrap();
    for i in 0..data.len() {
        let (x, _) = data.get(i).unwrap();
        let y = one.predict(x).unwrap().to_vec();
        for (a, b) in y.iter().zip(&outputs[i * 3..i * 3 + 3]) {
            assert!((a - b).abs() < 1e-5, "sample {i}: {y:?}");
        }
        assert_eq!(one.predict_class(x).unwrap(), classes[i]);
    }
    assert!(predict(&net, &Cpu, data.inputs(), 0).is_err());
    let err = predict(&net, &Cpu, &data.inputs()[..20], 8)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("20 values are not whole samples of shape [13]"),
        "{err}"
    );
}

//! PNG plots: training curves from a [`History`], and 2-D embeddings (an
//! autoencoder's codes) coloured by class. Drawn with plotters and a
//! bundled DejaVu Sans, so nothing needs to be installed.
//!
//! Behind the default feature `plot`.

use crate::train::History;
use crate::{Error, Result};
use plotters::coord::types::RangedCoordf32;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Ten colours that stay apart (Tableau 10), one per digit class.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut ok = true;
    ONCE.call_once(|| {
        ok = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok();
    });
    if ok {
        Ok(())
    } else {
        Err(Error::config("plot font", "the bundled font did not load"))
    }
}

fn plot_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |why| Error::BadData {
        path: path.display().to_string(),
        why: format!("cannot draw the plot: {why}"),
    }
}

/// Draw on a `width x height` PNG at `path`, then write it.
fn png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), String>,
) -> Result<()> {
    register_font()?;
    let err = plot_err(path);
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    draw(&root).map_err(&err)?;
    root.present().map_err(|e| err(e.to_string()))
}

/// The range of `values`, widened by 5% on each side (and to a unit
/// around a single value).
fn span(values: impl Iterator<Item = f32>) -> Range<f32> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    lo - pad..hi + pad
}

type Series<'a> = (&'a str, RGBColor, Vec<(f32, f32)>);

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf32, RangedCoordf32>>;

/// Axes over `xs` by `ys` with a caption of `title_size` points and a light
/// grid; `labels` names the axes (`None` leaves them bare).
fn axes<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    (title, title_size): (&str, u32),
    (xs, ys): (Range<f32>, Range<f32>),
    labels: Option<(&str, &str)>,
) -> std::result::Result<Chart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, title_size))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(xs, ys)
        .map_err(|e| e.to_string())?;
    let mut mesh = chart.configure_mesh();
    mesh.label_style((FAMILY, 14));
    if let Some((x, y)) = labels {
        // Epochs are whole numbers.
        mesh.x_desc(x)
            .y_desc(y)
            .x_label_formatter(&|x| format!("{x:.0}"));
    }
    mesh.draw().map_err(|e| e.to_string())?;
    Ok(chart)
}

/// The legend of the labelled series, in a framed box at `position`.
fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    position: SeriesLabelPosition,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FAMILY, 15))
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// One panel of curves against the epoch.
fn curves(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> std::result::Result<(), String> {
    let xs = span(series.iter().flat_map(|s| s.2.iter().map(|p| p.0)));
    let ys = span(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)));
    let mut chart = axes(area, (title, 22), (xs, ys), Some(("epoch", y_label)))?;
    for (name, colour, points) in series.iter().filter(|s| !s.2.is_empty()) {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| e.to_string())?;
    }
    // Curves start and end at the corners; the middle right is clearest.
    legend(&mut chart, SeriesLabelPosition::MiddleRight)
}

/// Training and validation loss per epoch (left) and accuracy (right, when
/// the loss has one), as a PNG.
pub fn training_curves(history: &History, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if history.epochs.is_empty() {
        return Err(Error::config(
            "training curves",
            "the history has no epochs",
        ));
    }
    let pick = |f: fn(&crate::train::EpochStats) -> Option<f32>| -> Vec<(f32, f32)> {
        history
            .epochs
            .iter()
            .filter_map(|e| f(e).map(|v| (e.epoch as f32, v)))
            .collect()
    };
    let loss = [
        ("training", PALETTE[0], pick(|e| Some(e.train_loss))),
        ("validation", PALETTE[1], pick(|e| e.val_loss)),
    ];
    let accuracy = [
        ("training", PALETTE[0], pick(|e| e.train_accuracy)),
        ("validation", PALETTE[1], pick(|e| e.val_accuracy)),
    ];
    let with_accuracy = !accuracy[0].2.is_empty();
    let width = if with_accuracy { 1200 } else { 640 };
    png(path, (width, 480), |root| {
        if with_accuracy {
            let (left, right) = root.split_horizontally(width / 2);
            curves(&left, "Loss", "loss", &loss)?;
            curves(&right, "Accuracy", "accuracy", &accuracy)
        } else {
            curves(root, "Loss", "loss", &loss)
        }
    })
}

/// A scatter plot of 2-D points coloured by class (`labels[i] < 10`), with
/// a legend, as a PNG.
pub fn scatter_2d(
    points: &[[f32; 2]],
    labels: &[usize],
    title: &str,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    if points.len() != labels.len() || points.is_empty() {
        return Err(Error::config(
            "scatter plot",
            format!("{} points but {} labels", points.len(), labels.len()),
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= PALETTE.len()) {
        return Err(Error::config(
            "scatter plot",
            format!(
                "label {bad} has no colour; labels must be below {}",
                PALETTE.len()
            ),
        ));
    }
    if let Some(i) = points
        .iter()
        .position(|p| !p[0].is_finite() || !p[1].is_finite())
    {
        return Err(Error::config(
            "scatter plot",
            format!(
                "point {i} is {:?}; every coordinate must be finite (a diverged model?)",
                points[i]
            ),
        ));
    }
    let xs = span(points.iter().map(|p| p[0]));
    let ys = span(points.iter().map(|p| p[1]));
    png(path, (900, 800), |root| {
        let mut chart = axes(root, (title, 24), (xs, ys), None)?;
        for (class, colour) in PALETTE.iter().enumerate() {
            let colour = *colour;
            let mine = points
                .iter()
                .zip(labels)
                .filter(|(_, &l)| l == class)
                .map(|(p, _)| Circle::new((p[0], p[1]), 2, colour.mix(0.7).filled()));
            chart
                .draw_series(mine)
                .map_err(|e| e.to_string())?
                .label(class.to_string())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

impl History {
    /// [`training_curves`] of this history.
    pub fn save_plot(&self, path: impl AsRef<Path>) -> Result<()> {
        training_curves(self, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochStats;

    fn history() -> History {
        History {
            epochs: (1..=5)
                .map(|e| EpochStats {
                    epoch: e,
                    train_loss: 1.0 / e as f32,
                    train_accuracy: Some(0.5 + 0.08 * e as f32),
                    val_loss: Some(1.2 / e as f32),
                    val_accuracy: Some(0.45 + 0.08 * e as f32),
                    lr: 0.1,
                    seconds: 0.1,
                })
                .collect(),
            best_epoch: Some(5),
            stopped_early: false,
            warnings: Vec::new(),
        }
    }

    /// The PNG's size from its header, and whether it is mostly white.
    fn png_info(path: &Path) -> (u32, u32) {
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let be =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        (be(16), be(20))
    }

    #[test]
    fn curves_and_scatter_write_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let curves = dir.path().join("curves.png");
        history().save_plot(&curves).unwrap();
        assert_eq!(png_info(&curves), (1200, 480));
        let scatter = dir.path().join("codes.png");
        let points: Vec<[f32; 2]> = (0..50).map(|i| [i as f32, (i % 10) as f32]).collect();
        let labels: Vec<usize> = (0..50).map(|i| i % 10).collect();
        scatter_2d(&points, &labels, "codes", &scatter).unwrap();
        assert_eq!(png_info(&scatter), (900, 800));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(History::default()
            .save_plot(dir.path().join("a.png"))
            .is_err());
        assert!(scatter_2d(&[[0.0, 0.0]], &[10], "x", dir.path().join("b.png")).is_err());
        assert!(scatter_2d(&[[0.0, 0.0]], &[], "x", dir.path().join("c.png")).is_err());
        let nan = scatter_2d(&[[0.0, f32::NAN]], &[1], "x", dir.path().join("e.png"));
        assert!(nan.unwrap_err().to_string().contains("finite"));
        assert!(!dir.path().join("e.png").exists());
        let err = history()
            .save_plot(dir.path().join("no/such/dir/d.png"))
            .unwrap_err();
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }
}

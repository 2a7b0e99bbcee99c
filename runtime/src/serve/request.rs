//! The body of `POST /predict`, parsed and checked before anything is
//! queued: the JSON's shape, every sample's length, every value finite and
//! in range, and the number of samples bounded.

use serde::Deserialize;

mod fast;

/// A refused request: the HTTP status and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 400 (not the expected JSON), 413 (too many samples) or 422 (a
    /// sample of the wrong size, or a value out of range).
    pub status: u16,
    /// What was wrong and what was expected.
    pub message: String,
}

impl Reject {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Reject {
            status,
            message: message.into(),
        }
    }
}

/// What a request body may hold, checked by [`parse_predict`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expect {
    /// Values in one input sample (`Input::SIZE`).
    pub size: usize,
    /// The most samples one request may carry.
    pub max_samples: usize,
    /// The range every value must lie in, when there is one (`[0, 1]` for
    /// the digit classifier's pixels).
    pub range: Option<(f32, f32)>,
}

/// A checked request: `samples` inputs of `size` values each, one after
/// the other.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// The values, sample after sample.
    pub values: Vec<f32>,
    /// How many samples.
    pub samples: usize,
    /// Whether the client sent a batch (`inputs`), so the answer is a list.
    pub batch: bool,
}

/// One sample as `{"input": [...]}` (or `{"pixels": [...]}`, the digit
/// classifier's name), or a batch as `{"inputs": [[...], ...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(alias = "pixels")]
    input: Option<Vec<f32>>,
    inputs: Option<Vec<Vec<f32>>>,
}

/// Parse and check a `POST /predict` body.
///
/// The common forms are read by a fast path; every other body, and every
/// body that fails a check, goes through [`parse_predict_serde`], so the
/// answers and messages are serde_json's.
pub fn parse_predict(body: &[u8], expect: &Expect) -> Result<Samples, Reject> {
    match fast::parse(body, expect) {
        Some(samples) => Ok(samples),
        None => parse_predict_serde(body, expect),
    }
}

/// [`parse_predict`] through serde_json alone: the reference its fast path
/// is checked against (the `request_body` fuzz target compares them).
pub fn parse_predict_serde(body: &[u8], expect: &Expect) -> Result<Samples, Reject> {
    let usage = format!(
        "send {{\"input\": [{} numbers]}} or {{\"inputs\": [[{} numbers], ...]}}",
        expect.size, expect.size
    );
    let parsed: Body = serde_json::from_slice(body).map_err(|e| {
        Reject::new(
            400,
            format!("the body is not the expected JSON ({e}); {usage}"),
        )
    })?;
    let (rows, batch) = match (parsed.input, parsed.inputs) {
        (Some(one), None) => (vec![one], false),
        (None, Some(many)) => (many, true),
        _ => {
            return Err(Reject::new(
                400,
                format!("expected exactly one of `input` (or `pixels`) and `inputs`; {usage}"),
            ))
        }
    };
    if rows.is_empty() {
        return Err(Reject::new(422, format!("`inputs` is empty; {usage}")));
    }
    if rows.len() > expect.max_samples {
        return Err(Reject::new(
            413,
            format!(
                "{} samples in one request; at most {} are accepted, send the rest in another",
                rows.len(),
                expect.max_samples
            ),
        ));
    }
    let mut values = Vec::with_capacity(if batch { rows.len() * expect.size } else { 0 });
    for (s, row) in rows.iter().enumerate() {
        let which = if batch {
            format!("sample {s}")
        } else {
            "the sample".to_string()
        };
        if row.len() != expect.size {
            return Err(Reject::new(
                422,
                format!(
                    "{which} has {} values; the network's input has {}",
                    row.len(),
                    expect.size
                ),
            ));
        }
        for (i, &v) in row.iter().enumerate() {
            // JSON numbers beyond f32's range arrive as infinities.
            if !v.is_finite() {
                return Err(Reject::new(
                    422,
                    format!("value {i} of {which} is too large for a 32-bit float"),
                ));
            }
            if let Some((lo, hi)) = expect.range {
                if !(lo..=hi).contains(&v) {
                    return Err(Reject::new(
                        422,
                        format!("value {i} of {which} is {v}; values must be in [{lo}, {hi}]"),
                    ));
                }
            }
        }
        if batch {
            values.extend_from_slice(row);
        }
    }
    let samples = rows.len();
    // One sample is already laid out as the queue wants it.
    if !batch {
        values = rows.into_iter().next().unwrap_or_default();
    }
    Ok(Samples {
        values,
        samples,
        batch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: Expect = Expect {
        size: 3,
        max_samples: 2,
        range: Some((0.0, 1.0)),
    };

    #[test]
    fn one_sample_and_a_batch() {
        let one = parse_predict(br#"{"pixels": [0, 0.5, 1]}"#, &E).unwrap();
        assert_eq!(
            (one.values, one.samples, one.batch),
            (vec![0.0, 0.5, 1.0], 1, false)
        );
        let two = parse_predict(br#"{"inputs": [[0,0,0],[1,1,1]]}"#, &E).unwrap();
        assert_eq!((two.samples, two.batch), (2, true));
    }

    #[test]
    fn every_malformed_body_is_a_clear_refusal() {
        for (body, status, fragment) in [
            (&b"not json"[..], 400, "not the expected JSON"),
            (
                br#"{"input": [0,0,0], "inputs": [[0,0,0]]}"#,
                400,
                "exactly one",
            ),
            (br#"{}"#, 400, "exactly one"),
            (br#"{"input": [0,0,0], "x": 1}"#, 400, "unknown field"),
            (br#"{"input": ["a",0,0]}"#, 400, "invalid type"),
            (
                br#"{"input": [0,0]}"#,
                422,
                "the sample has 2 values; the network's input has 3",
            ),
            (br#"{"inputs": []}"#, 422, "empty"),
            (
                br#"{"inputs": [[0,0,0],[0,0,0],[0,0,0]]}"#,
                413,
                "at most 2",
            ),
            (
                br#"{"inputs": [[0,0,0],[0,2,0]]}"#,
                422,
                "value 1 of sample 1 is 2",
            ),
            (br#"{"input": [0,1e39,0]}"#, 422, "too large"),
            (br#"{"input": [0,0,-0.5]}"#, 422, "must be in [0, 1]"),
        ] {
            let r = parse_predict(body, &E).unwrap_err();
            assert_eq!(
                r.status,
                status,
                "{}: {}",
                String::from_utf8_lossy(body),
                r.message
            );
            assert!(r.message.contains(fragment), "{}", r.message);
        }
    }
}

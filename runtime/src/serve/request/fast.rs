//! The common `POST /predict` body, `{"pixels": [numbers]}` (or `input`,
//! or `inputs` holding rows), read in one pass without serde.
//!
//! Why by hand: serving a small network, serde_json's generic sequence
//! machinery and its decimal parser were a fifth of all the CPU the server
//! and its clients used (`perf` on `examples/loadtest`); this reads the
//! same bodies several times faster.
//!
//! It is a fast path, not a second parser to trust: anything it does not
//! expect (an escape in a key, a duplicate or unknown key, `null`, a row of
//! the wrong length, a value out of range or beyond `f32`) gives `None`,
//! and the caller parses the body with serde_json, whose answer and error
//! message are the reference. The `request_body` fuzz target checks that
//! whenever this answers, serde_json accepts the body with the same
//! values. It allocates no more than the samples it returns.

use super::{Expect, Samples};

/// Read `body` if it is one of the common forms and every check passes.
pub(super) fn parse(body: &[u8], expect: &Expect) -> Option<Samples> {
    let mut c = Cursor { b: body, i: 0 };
    c.eat(b'{')?;
    let key = c.key()?;
    c.eat(b':')?;
    let (values, samples, batch) = match key {
        b"input" | b"pixels" => {
            let mut values = Vec::with_capacity(expect.size);
            c.row(&mut values, expect.size)?;
            (values, 1, false)
        }
        b"inputs" => {
            c.eat(b'[')?;
            let mut values = Vec::new();
            let mut rows = 0;
            loop {
                if rows == expect.max_samples {
                    return None;
                }
                values.reserve(expect.size);
                c.row(&mut values, expect.size)?;
                rows += 1;
                if c.eat(b']').is_some() {
                    break;
                }
                c.eat(b',')?;
            }
            (values, rows, true)
        }
        _ => return None,
    };
    c.eat(b'}')?;
    c.skip_space();
    if c.i != body.len() {
        return None;
    }
    if let Some((lo, hi)) = expect.range {
        if !values.iter().all(|v| (lo..=hi).contains(v)) {
            return None;
        }
    }
    Some(Samples {
        values,
        samples,
        batch,
    })
}

/// Powers of ten that `f64` holds exactly.
const EXACT: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Skip whitespace, then take `c` if it comes next.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.skip_space();
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// A key without escapes or control characters.
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let key = &self.b[start..self.i];
        self.i += 1;
        Some(key)
    }

    /// Take a run of digits into `value` (`overflow` set when it no longer
    /// fits in a u64); how many there were.
    fn digits(&mut self, value: &mut u64, overflow: &mut bool) -> usize {
        let rest = &self.b[self.i..];
        let n = rest
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        for &d in &rest[..n] {
            match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => *value = v,
                None => *overflow = true,
            }
        }
        self.i += n;
        n
    }

    /// `[n, n, ...]` of exactly `size` numbers, appended to `out`.
    fn row(&mut self, out: &mut Vec<f32>, size: usize) -> Option<()> {
        self.eat(b'[')?;
        let mut n = 0;
        loop {
            if n == size {
                return None;
            }
            out.push(self.number()?);
            n += 1;
            if self.eat(b']').is_some() {
                break;
            }
            self.eat(b',')?;
        }
        (n == size).then_some(())
    }

    /// A number in JSON's grammar, as `f32` (through `f64`, as serde_json
    /// reads an `f32`), if it is finite.
    fn number(&mut self) -> Option<f32> {
        self.skip_space();
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        // Significant digits, while they fit in a u64; past that the token
        // goes to the standard library's parser.
        let mut mantissa: u64 = 0;
        let mut overflow = false;
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits(&mut mantissa, &mut overflow);
            }
            _ => return None,
        }
        let mut scale: i64 = 0;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let n = self.digits(&mut mantissa, &mut overflow);
            if n == 0 {
                return None;
            }
            scale = -(n as i64);
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let sign = match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    -1
                }
                Some(b'+') => {
                    self.i += 1;
                    1
                }
                _ => 1,
            };
            let mut e = 0;
            if self.digits(&mut e, &mut overflow) == 0 {
                return None;
            }
            scale += sign * e.min(1 << 20) as i64;
        }
        let exact = mantissa < 1 << 53 && scale.unsigned_abs() < EXACT.len() as u64;
        let value = if !overflow && exact {
            // Both factors are exact in f64, so one operation rounds once:
            // the correctly rounded value.
            let m = mantissa as f64;
            let v = if scale >= 0 {
                m * EXACT[scale as usize]
            } else {
                m / EXACT[(-scale) as usize]
            };
            if negative {
                -v
            } else {
                v
            }
        } else {
            // The token is ASCII digits, signs, `.` and `e`.
            std::str::from_utf8(&self.b[start..self.i])
                .ok()?
                .parse::<f64>()
                .ok()?
        };
        let value = value as f32;
        value.is_finite().then_some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_predict_serde;
    use super::*;

    const E: Expect = Expect {
        size: 3,
        max_samples: 2,
        range: Some((0.0, 1.0)),
    };

    fn agree(body: &str) -> bool {
        let fast = parse(body.as_bytes(), &E);
        let reference = parse_predict_serde(body.as_bytes(), &E);
        if let Some(f) = &fast {
            let r = reference.unwrap_or_else(|e| panic!("{body}: fast path took it, serde: {e:?}"));
            assert_eq!((f.samples, f.batch), (r.samples, r.batch), "{body}");
            for (a, b) in f.values.iter().zip(&r.values) {
                assert!(
                    (a - b).abs() <= 1e-7 * a.abs().max(1.0),
                    "{body}: {a} vs {b}"
                );
            }
        }
        fast.is_some()
    }

    #[test]
    fn takes_the_common_forms_with_serde_jsons_values() {
        for body in [
            r#"{"pixels": [0, 0.5, 1]}"#,
            r#"{"input":[0.0,0.003921569,1.0]}"#,
            " {\n\t\"pixels\" : [ 0 , 1e-3 , 25E-2 ] } \r\n",
            r#"{"input": [1.0e0, 0.1, 0.30000000000000004]}"#,
            r#"{"inputs": [[0,0,0],[1,1,1]]}"#,
            r#"{"input": [0.12345678901234567890123, 1e-400, 0.0000000000000000000000001]}"#,
            r#"{"input": [-0, -0.0, 0e5]}"#,
        ] {
            assert!(agree(body), "the fast path refused {body}");
        }
    }

    #[test]
    fn leaves_everything_else_to_serde() {
        for body in [
            r#"{"input": [0, 0]}"#,
            r#"{"input": [0, 0, 0, 0]}"#,
            r#"{"input": [0, 2, 0]}"#,
            r#"{"input": [0, 1e39, 0]}"#,
            r#"{"input": [0, 1e400, 0]}"#,
            r#"{"input": [0, -0.5, 0]}"#,
            r#"{"input": [01, 0, 0]}"#,
            r#"{"input": [1., 0, 0]}"#,
            r#"{"input": [.5, 0, 0]}"#,
            r#"{"input": [1e, 0, 0]}"#,
            r#"{"input": [+1, 0, 0]}"#,
            r#"{"input": [0, 0, 0,]}"#,
            r#"{"input": [0, 0, 0]"#,
            r#"{"input": [0, 0, 0]} x"#,
            r#"{"input": [0, 0, 0], "x": 1}"#,
            r#"{"in\u0070ut": [0, 0, 0]}"#,
            r#"{"input": null}"#,
            r#"{"inputs": []}"#,
            r#"{"inputs": [[0,0,0],[0,0,0],[0,0,0]]}"#,
            r#"{"output": [0, 0, 0]}"#,
            "{\"input\": [0,\u{a0}0, 0]}",
            "",
        ] {
            assert!(!agree(body), "the fast path took {body}");
        }
    }

    #[test]
    fn agrees_with_serde_on_many_numbers() {
        // A deterministic sweep over magnitudes and digit counts.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = (state % 12) as usize + 1;
            let exp = (state >> 8) % 30;
            let mantissa = (state >> 16) % 10u64.pow(digits as u32);
            let n = format!("{mantissa}e-{exp}");
            let m = format!("0.{mantissa:0>digits$}");
            let body = format!("{{\"input\": [{n}, {m}, 1]}}");
            let fast = parse(body.as_bytes(), &E);
            if let Ok(r) = parse_predict_serde(body.as_bytes(), &E) {
                let f = fast.unwrap_or_else(|| panic!("refused {body}"));
                assert_eq!(f.values, r.values, "{body}");
            }
        }
    }
}

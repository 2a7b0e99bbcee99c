//! The `serve` example's HTTP endpoint, on a loopback port: good requests
//! (1,000 one after another and 1,000 from 8 concurrent clients) and bad
//! ones (each a 4xx with a message), after which it still serves.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "../examples/serve/server.rs"]
mod server;

use staticnn::prelude::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// One HTTP/1.1 request on a fresh connection: (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body and close.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

fn pixels_json(pixels: &[f32]) -> Vec<u8> {
    serde_json::json!({ "pixels": pixels })
        .to_string()
        .into_bytes()
}

#[test]
fn serves_good_requests_rejects_bad_ones_and_keeps_serving() {
    let (net, val) = common::quick_mlp(3).unwrap();
    let net = Arc::new(net);
    let running = server::start(Arc::clone(&net), "127.0.0.1:0", 4).unwrap();
    let addr = running.addr;

    let (status, body) = http(addr, "GET", "/health", b"");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    // 1,000 sequential predictions agree with the network run locally.
    let mut local = Predictor::new(&*net).unwrap();
    let mut correct = 0;
    for i in 0..1000 {
        let (x, y) = val.get(i % val.len()).unwrap();
        let (status, body) = http(addr, "POST", "/predict", &pixels_json(x));
        assert_eq!(status, 200, "request {i}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        let class = answer["class"].as_u64().unwrap() as usize;
        assert_eq!(class, local.predict_class(x).unwrap(), "request {i}");
        let p: Vec<f64> = answer["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(p.len(), 10);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        correct += (class == y[0] as usize) as usize;
    }
    assert!(correct > 800, "{correct} of 1000 correct");

    // 1,000 more from 8 clients at once.
    let inputs: Arc<Vec<Vec<f32>>> = Arc::new(
        (0..val.len())
            .map(|i| val.get(i).unwrap().0.to_vec())
            .collect(),
    );
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let inputs = Arc::clone(&inputs);
            std::thread::spawn(move || {
                let mut ok = 0;
                for k in 0..125 {
                    let x = &inputs[(c * 125 + k) % inputs.len()];
                    let (status, _) = http(addr, "POST", "/predict", &pixels_json(x));
                    ok += (status == 200) as usize;
                }
                ok
            })
        })
        .collect();
    let ok: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(ok, 1000);

    // Bad requests: a 4xx each, with a message naming the problem.
    let long = pixels_json(&[0.5; 785]);
    let short = pixels_json(&[0.5; 10]);
    let mut words = String::from("{\"pixels\": [\"a\"");
    words.push_str(&",0".repeat(783));
    words.push_str("]}");
    let huge = vec![b' '; server::MAX_BODY + 10];
    let out_of_range = serde_json::json!({ "pixels": vec![255.0; 784] }).to_string();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("POST", "/predict", long, 422, "785 values"),
        ("POST", "/predict", short, 422, "10 values"),
        ("POST", "/predict", words.into_bytes(), 400, "not a number"),
        (
            "POST",
            "/predict",
            b"{\"pixels\": [0.1, 0.2".to_vec(),
            400,
            "not valid JSON",
        ),
        (
            "POST",
            "/predict",
            b"[1, 2, 3]".to_vec(),
            400,
            "field `pixels`",
        ),
        (
            "POST",
            "/predict",
            b"{\"pixels\": 3}".to_vec(),
            400,
            "array of 784",
        ),
        (
            "POST",
            "/predict",
            out_of_range.into_bytes(),
            422,
            "divide 0-255",
        ),
        ("POST", "/predict", huge, 413, "larger than"),
        ("GET", "/predict", Vec::new(), 405, "POST /predict"),
        ("GET", "/nowhere", Vec::new(), 404, "no such endpoint"),
    ];
    for (method, path, body, want, says) in cases {
        let (status, text) = http(addr, method, path, &body);
        assert_eq!(status, want, "{method} {path}: {text}");
        assert!(text.contains(says), "{method} {path}: {text}");
    }
    // Garbage that is not HTTP at all.
    {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(b"\x00\x01 not http at all\r\n\r\n");
    }

    // Still healthy, still right.
    let (status, _) = http(addr, "GET", "/health", b"");
    assert_eq!(status, 200);
    let (status, _) = http(
        addr,
        "POST",
        "/predict",
        &pixels_json(val.get(0).unwrap().0),
    );
    assert_eq!(status, 200);
    running.stop();
}

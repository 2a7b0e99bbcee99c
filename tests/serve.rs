//! `staticnn::serve` on loopback ports: the API (predictions agree with
//! the network run locally, one sample and batches, images, model info,
//! metrics, tokens), and every attack the server must withstand while it
//! keeps answering others: a huge announced body, bodies and headers sent
//! a byte at a time, hundreds of idle connections, HTTP/2 request lines,
//! a full queue.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "../examples/common/http.rs"]
mod http;

use common::Mlp;
use staticnn::prelude::*;
use staticnn::serve::{self, Running, ServeConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One network and held-out set for every test in this binary.
fn trained() -> &'static (Arc<Mlp>, Dataset<Rank1<784>, ClassIndex>) {
    static NET: OnceLock<(Arc<Mlp>, Dataset<Rank1<784>, ClassIndex>)> = OnceLock::new();
    NET.get_or_init(|| {
        let (net, val) = common::quick_mlp(2).unwrap();
        (Arc::new(net), val)
    })
}

fn start(tune: impl FnOnce(&mut ServeConfig)) -> Running {
    let mut config = ServeConfig {
        addr: "127.0.0.1:0".into(),
        workers: 2,
        input_range: Some((0.0, 1.0)),
        log: None,
        ..ServeConfig::default()
    };
    tune(&mut config);
    serve::spawn_shared(Arc::clone(&trained().0), config).unwrap()
}

fn pixels_json(pixels: &[f32]) -> Vec<u8> {
    serde_json::json!({ "pixels": pixels })
        .to_string()
        .into_bytes()
}

fn post(addr: SocketAddr, path: &str, body: &[u8]) -> http::Answer {
    http::Conn::open(addr)
        .unwrap()
        .request("POST", path, &[("Content-Type", "application/json")], body)
        .unwrap()
}

fn get(addr: SocketAddr, path: &str) -> http::Answer {
    http::Conn::open(addr)
        .unwrap()
        .request("GET", path, &[], b"")
        .unwrap()
}

fn json(a: &http::Answer) -> serde_json::Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body))
}

/// The server still answers a prediction correctly and quickly.
fn still_serving(addr: SocketAddr) {
    let (net, val) = trained();
    let x = val.get(0).unwrap().0;
    let t = Instant::now();
    let a = post(addr, "/predict", &pixels_json(x));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    let class = json(&a)["class"].as_u64().unwrap() as usize;
    assert_eq!(
        class,
        Predictor::new(&**net).unwrap().predict_class(x).unwrap()
    );
}

#[test]
fn predictions_agree_with_the_network_one_at_a_time_and_concurrently() {
    predictions_agree(2);
}

/// The same, with forward passes run inline on the connection threads.
#[test]
fn inline_passes_agree_with_the_network_too() {
    predictions_agree(0);
}

fn predictions_agree(workers: usize) {
    let running = start(|c| c.workers = workers);
    let addr = running.addr();
    let (net, val) = trained();
    let mut local = Predictor::new(&**net).unwrap();
    // 1,000 on one keep-alive connection.
    let mut conn = http::Conn::open(addr).unwrap();
    let mut correct = 0;
    for i in 0..1000 {
        let (x, y) = val.get(i % val.len()).unwrap();
        let a = conn
            .request("POST", "/predict", &[], &pixels_json(x))
            .unwrap();
        assert_eq!(a.status, 200, "request {i}: {}", a.body);
        let answer = json(&a);
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

    // 2,000 from 16 clients at once, batched by the server: each answer
    // is still its own sample's.
    let wrong: usize = std::thread::scope(|s| {
        (0..16)
            .map(|c| {
                s.spawn(move || {
                    let mut local = Predictor::new(&**net).unwrap();
                    let mut conn = http::Conn::open(addr).unwrap();
                    (0..125)
                        .filter(|k| {
                            let x = val.get((c * 125 + k) % val.len()).unwrap().0;
                            let a = conn
                                .request("POST", "/predict", &[], &pixels_json(x))
                                .unwrap();
                            a.status != 200
                                || json(&a)["class"].as_u64()
                                    != Some(local.predict_class(x).unwrap() as u64)
                        })
                        .count()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum()
    });
    assert_eq!(wrong, 0);

    // A batch in one request.
    let xs: Vec<Vec<f32>> = (0..5).map(|i| val.get(i).unwrap().0.to_vec()).collect();
    let a = post(
        addr,
        "/predict",
        serde_json::json!({ "inputs": xs }).to_string().as_bytes(),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let predictions = json(&a)["predictions"].as_array().unwrap().clone();
    assert_eq!(predictions.len(), 5);
    for (x, p) in xs.iter().zip(&predictions) {
        assert_eq!(
            p["class"].as_u64().unwrap() as usize,
            local.predict_class(x).unwrap()
        );
    }

    // The batches the server formed are counted.
    let m = get(addr, "/metrics");
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .contains("openmetrics-text"));
    assert!(
        m.body
            .contains("staticnn_http_requests_total{route=\"/predict\",status=\"200\"} 3001"),
        "{}",
        m.body
    );
    assert!(m.body.contains("staticnn_batch_size_count"), "{}", m.body);
    assert!(
        m.body
            .contains("staticnn_http_request_duration_seconds_bucket"),
        "{}",
        m.body
    );
    running.shutdown().unwrap();
}

#[test]
fn model_health_page_and_images() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.safetensors");
    trained().0.save(&weights).unwrap();
    let running = start(|c| c.weights = Some(weights.clone()));
    let addr = running.addr();
    let h = get(addr, "/health");
    assert_eq!((h.status, json(&h)["status"].as_str()), (200, Some("ok")));
    let m = json(&get(addr, "/model"));
    assert_eq!(m["input"], serde_json::json!([784]));
    assert_eq!(m["classes"], 10);
    assert_eq!(m["parameters"], Mlp::<Cpu>::NUM_PARAMS);
    assert_eq!(m["weights"]["file"], weights.display().to_string());
    let sha = m["weights"]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    assert!(sha.chars().all(|c| c.is_ascii_hexdigit()));
    let page = get(addr, "/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<canvas id=\"pad\""));

    // A digit as a PNG: dark ink on white, three times MNIST's size.
    let (net, val) = trained();
    let digit = val.get(3).unwrap().0;
    let side = 84;
    let grey: Vec<u8> = (0..side * side)
        .map(|i| (255.0 * (1.0 - digit[(i / side / 3) * 28 + (i % side) / 3])).round() as u8)
        .collect();
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&grey).unwrap();
    }
    let a = post(addr, "/predict/image", &png_bytes);
    assert_eq!(a.status, 200, "{}", a.body);
    let prepared =
        staticnn::images::mnist_like(&staticnn::images::decode(&png_bytes).unwrap()).unwrap();
    let expected = Predictor::new(&**net)
        .unwrap()
        .predict_class(&prepared)
        .unwrap();
    assert_eq!(json(&a)["class"].as_u64().unwrap() as usize, expected);
    let a = post(addr, "/predict/image", b"\x89PNG\r\n\x1a\nbroken");
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(json(&a)["error"]
        .as_str()
        .unwrap()
        .contains("not a usable image"));
}

#[test]
fn a_standardiser_is_applied_to_every_request() {
    // Any standardiser will do: the answers must be the network's on the
    // standardised values, not on the values as sent.
    let (net, val) = trained();
    let scaler = Standardizer::fit(val).unwrap();
    let running = start(|c| c.standardizer = Some(scaler.clone()));
    let addr = running.addr();
    assert_eq!(json(&get(addr, "/model"))["standardized"], true);
    let mut predictor = Predictor::new(&**net)
        .unwrap()
        .with_standardizer(scaler)
        .unwrap();
    let mut plain = Predictor::new(&**net).unwrap();
    let mut differs = false;
    for i in 0..20 {
        let x = val.get(i).unwrap().0;
        let a = post(addr, "/predict", &pixels_json(x));
        assert_eq!(a.status, 200, "{}", a.body);
        let class = json(&a)["class"].as_u64().unwrap() as usize;
        assert_eq!(class, predictor.predict_class(x).unwrap(), "sample {i}");
        differs |= class != plain.predict_class(x).unwrap();
    }
    assert!(
        differs,
        "the standardiser changed no answer: the test proves nothing"
    );
    // One fitted on other samples cannot start a server.
    let config = ServeConfig {
        addr: "127.0.0.1:0".into(),
        standardizer: Some(Standardizer::from_parts(vec![0.0; 3], vec![1.0; 3]).unwrap()),
        log: None,
        ..ServeConfig::default()
    };
    let err = serve::spawn_shared(Arc::clone(net), config)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("this network takes 784"), "{err}");
}

#[test]
fn bad_requests_get_a_status_and_a_message() {
    let running = start(|_| {});
    let addr = running.addr();
    let mut words = String::from("{\"pixels\": [\"a\"");
    words.push_str(&",0".repeat(783));
    words.push_str("]}");
    let too_many = serde_json::json!({ "inputs": vec![vec![0.0; 784]; 257] }).to_string();
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "POST",
            "/predict",
            pixels_json(&[0.5; 785]),
            422,
            "785 values",
        ),
        (
            "POST",
            "/predict",
            pixels_json(&[0.5; 10]),
            422,
            "10 values",
        ),
        ("POST", "/predict", words.into_bytes(), 400, "invalid type"),
        (
            "POST",
            "/predict",
            b"{\"pixels\": [0.1, 0.2".to_vec(),
            400,
            "not the expected JSON",
        ),
        (
            "POST",
            "/predict",
            b"[1, 2, 3]".to_vec(),
            400,
            "not the expected JSON",
        ),
        (
            "POST",
            "/predict",
            b"{\"pixels\": 3}".to_vec(),
            400,
            "not the expected JSON",
        ),
        (
            "POST",
            "/predict",
            pixels_json(&[255.0; 784]),
            422,
            "must be in [0, 1]",
        ),
        (
            "POST",
            "/predict",
            too_many.into_bytes(),
            413,
            "at most 256",
        ),
        ("POST", "/predict", vec![b' '; 5 << 20], 413, "larger than"),
        ("GET", "/predict", Vec::new(), 405, "/predict takes POST"),
        ("DELETE", "/health", Vec::new(), 405, "method not allowed"),
        ("GET", "/nowhere", Vec::new(), 404, "no such endpoint"),
    ];
    for (method, path, body, want, says) in cases {
        let mut conn = http::Conn::open(addr).unwrap();
        let a = conn.request(method, path, &[], &body);
        let a = a.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(a.status, want, "{method} {path}: {}", a.body);
        let message = json(&a)["error"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{method} {path}: {message}");
    }
    // Not HTTP at all.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"\x00\x01 not http at all\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        String::from_utf8_lossy(&out).starts_with("HTTP/1.1 400"),
        "{out:?}"
    );
    still_serving(addr);
}

/// Everything the client gets back on a raw connection until it closes
/// or `within` passes.
fn read_all(s: &mut TcpStream, within: Duration) -> String {
    s.set_read_timeout(Some(within)).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_huge_announced_body_is_refused_unread() {
    let running = start(|_| {});
    let addr = running.addr();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}")
            .unwrap();
        let answer = read_all(&mut s, Duration::from_secs(5));
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
    // A body announced as chunked that grows past the bound.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 1 << 20, " ".repeat(1 << 20));
    for _ in 0..8 {
        if s.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let answer = read_all(&mut s, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    still_serving(addr);
}

#[test]
fn bodies_and_headers_sent_a_byte_at_a_time_do_not_block_others() {
    let running = start(|c| {
        c.request_timeout = Duration::from_millis(800);
        c.header_timeout = Duration::from_millis(800);
    });
    let addr = running.addr();
    let trickle = |head: &'static [u8], then: &'static [u8]| {
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(head).unwrap();
            let started = Instant::now();
            for &b in then.iter().cycle() {
                if s.write_all(&[b]).is_err() || started.elapsed() > Duration::from_secs(10) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (
                started.elapsed(),
                read_all(&mut s, Duration::from_millis(100)),
            )
        })
    };
    // Slow bodies on as many connections as there are workers, and more;
    // slow headers too.
    let slow: Vec<_> = (0..4)
        .map(|_| {
            trickle(
                b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
                b"0",
            )
        })
        .chain((0..2).map(|_| trickle(b"POST /predict HTTP/1.1\r\n", b"X-Slow: aaaa\r\n")))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..50 {
        still_serving(addr);
    }
    for t in slow {
        let (took, answer) = t.join().unwrap();
        // Cut off by the timeouts, long before the 10 s the client tries.
        assert!(
            took < Duration::from_secs(4),
            "a slow client lasted {took:?}: {answer}"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }
    still_serving(addr);
}

/// Threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .filter(|name| name.starts_with(prefix))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn hundreds_of_idle_connections_cost_no_threads_and_are_closed() {
    let running = start(|c| c.idle_timeout = Duration::from_millis(700));
    let addr = running.addr();
    still_serving(addr);
    let before = threads_named("staticnn-");
    let mut idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    still_serving(addr);
    // Other tests start servers of their own; these connections add none.
    assert!(
        threads_named("staticnn-") <= before + 16,
        "{before} -> {}",
        threads_named("staticnn-")
    );
    // All closed by the server once idle too long.
    std::thread::sleep(Duration::from_millis(1500));
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut b = [0u8; 64];
        assert!(
            matches!(s.read(&mut b), Ok(0)),
            "an idle connection is still open"
        );
    }
    still_serving(addr);
}

#[test]
fn connections_beyond_the_limit_wait_and_the_rest_are_served() {
    let running = start(|c| {
        c.max_connections = 8;
        c.idle_timeout = Duration::from_millis(500);
    });
    let addr = running.addr();
    let _hogs: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    // Served once the idle hogs are closed, well within the client's wait.
    let t = Instant::now();
    let mut conn = http::Conn::open(addr).unwrap();
    let a = conn.request("GET", "/health", &[], b"").unwrap();
    assert_eq!(a.status, 200);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn http2_request_lines_get_an_answer() {
    let running = start(|_| {});
    let addr = running.addr();
    // HTTP/2's preface opens an HTTP/2 connection: the server's first
    // frame is its SETTINGS (type 4).
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    let answer = read_all(&mut s, Duration::from_secs(2)).into_bytes();
    assert!(answer.len() >= 9 && answer[3] == 4, "{answer:?}");
    // An HTTP/1 request line naming another version is refused.
    for line in [
        &b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n"[..],
        b"GET /health HTTP/9.9\r\n\r\n",
        b"GET /health\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(line).unwrap();
        let answer = read_all(&mut s, Duration::from_secs(3));
        let status: u16 = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        assert!(
            (400..=505).contains(&status),
            "{:?}: {answer:?}",
            String::from_utf8_lossy(line)
        );
    }
    still_serving(addr);
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    // One worker that waits a second for each batch to fill, and room for
    // two samples: the third request finds the queue full.
    let running = start(|c| {
        c.workers = 1;
        c.max_batch = 100;
        c.max_wait = Duration::from_millis(1000);
        c.queue = 2;
        c.max_request_samples = 1;
    });
    let addr = running.addr();
    let x = trained().1.get(0).unwrap().0.to_vec();
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let body = pixels_json(&x);
            let t = std::thread::spawn(move || post(addr, "/predict", &body).status);
            std::thread::sleep(Duration::from_millis(150));
            t
        })
        .collect();
    let a = post(addr, "/predict", &pixels_json(&x));
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.header("retry-after"), Some("1"));
    assert!(json(&a)["error"]
        .as_str()
        .unwrap()
        .contains("queue is full"));
    for t in waiting {
        assert_eq!(t.join().unwrap(), 200);
    }
    // Answered, the samples leave the queue.
    still_serving(addr);
    let m = get(addr, "/metrics").body;
    assert!(m.contains("staticnn_queue_full_total 1"), "{m}");
}

#[test]
fn a_token_is_required_and_never_logged() {
    let token = "s3cret-token-b9f1";
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    let running = start(|c| {
        c.token = Some(token.to_string());
        c.log = Some(Arc::new(move |l| sink.lock().unwrap().push(l.to_string())));
    });
    let config_debug = format!(
        "{:?}",
        ServeConfig {
            token: Some(token.into()),
            ..ServeConfig::default()
        }
    );
    assert!(!config_debug.contains(token), "{config_debug}");
    let addr = running.addr();
    let body = pixels_json(trained().1.get(0).unwrap().0);
    let bearer = format!("Bearer {token}");
    let wrong = format!("Bearer {token}x");
    for (headers, path, want) in [
        (vec![], "/predict", 401),
        (vec![("Authorization", wrong.as_str())], "/predict", 401),
        (vec![("Authorization", token)], "/predict", 401),
        (vec![("Authorization", bearer.as_str())], "/predict", 200),
    ] {
        let a = http::Conn::open(addr)
            .unwrap()
            .request("POST", path, &headers, &body)
            .unwrap();
        assert_eq!(a.status, want, "{headers:?}: {}", a.body);
        if want == 401 {
            assert_eq!(a.header("www-authenticate"), Some("Bearer"));
        }
    }
    for path in ["/model", "/metrics"] {
        assert_eq!(get(addr, path).status, 401, "{path}");
        let a = http::Conn::open(addr)
            .unwrap()
            .request("GET", path, &[("Authorization", &bearer)], b"")
            .unwrap();
        assert_eq!(a.status, 200, "{path}");
    }
    assert_eq!(get(addr, "/health").status, 200);
    assert_eq!(get(addr, "/").status, 200);
    running.shutdown().unwrap();
    let lines = lines.lock().unwrap();
    assert!(lines.len() >= 9, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("POST /predict 401")),
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.contains("s3cret")), "{lines:?}");
}

#[test]
fn shutdown_finishes_requests_in_flight() {
    let running = start(|c| {
        c.workers = 1;
        c.max_batch = 100;
        c.max_wait = Duration::from_millis(400);
    });
    let addr = running.addr();
    let body = pixels_json(trained().1.get(0).unwrap().0);
    let in_flight = std::thread::spawn(move || post(addr, "/predict", &body).status);
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    running.shutdown().unwrap();
    assert_eq!(in_flight.join().unwrap(), 200);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err());

    // `run_until` returns once its future resolves.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(|| {
        let config = ServeConfig {
            addr: "127.0.0.1:0".into(),
            log: None,
            ..ServeConfig::default()
        };
        serve::run_until(Mlp::init(&Cpu, 0).unwrap(), config, async {
            let _ = rx.await;
        })
    });
    std::thread::sleep(Duration::from_millis(200));
    tx.send(()).unwrap();
    server.join().unwrap().unwrap();
    // A busy port is an error, not a panic.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = ServeConfig {
        addr: taken.local_addr().unwrap().to_string(),
        ..ServeConfig::default()
    };
    let err = serve::spawn(Mlp::init(&Cpu, 0).unwrap(), config)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cannot listen on"), "{err}");
}

/// The process's resident memory in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn memory_stays_bounded_under_attack() {
    let running = start(|c| c.idle_timeout = Duration::from_millis(300));
    let addr = running.addr();
    still_serving(addr);
    let before = resident();
    let junk = vec![b'['; 4 << 20];
    for round in 0..4 {
        // Claimed gigabytes, megabytes of junk JSON nested deep, and idle
        // sockets, all at once from several threads.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let mut c = TcpStream::connect(addr).unwrap();
                        let _ = c.write_all(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
                        let _ = read_all(&mut c, Duration::from_secs(2));
                    }
                });
                s.spawn(|| {
                    for _ in 0..5 {
                        let a = post(addr, "/predict", &junk);
                        assert_eq!(a.status, 400, "{}", a.body);
                    }
                });
            }
            let idle: Vec<_> = (0..200)
                .map(|_| TcpStream::connect(addr).unwrap())
                .collect();
            still_serving(addr);
            drop(idle);
        });
        let grown = resident().saturating_sub(before);
        assert!(
            grown < 150 << 20,
            "round {round}: resident memory grew by {} MiB",
            grown >> 20
        );
    }
    still_serving(addr);
}

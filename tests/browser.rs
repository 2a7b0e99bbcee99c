//! The drawing page at `GET /`, in a real browser: headless Chromium,
//! driven over the DevTools protocol, draws a stroke on the canvas with
//! the mouse, and the test reads the prediction and the bars from the
//! page and checks them against the network run here on the same drawing.
//!
//! Needs Chromium (`apt-get install chromium`; `STATICNN_CHROMIUM` names
//! another binary). Without one the test says so and passes, unless
//! `STATICNN_REQUIRE_BROWSER=1` (CI sets it), when a missing browser fails.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "../examples/common/http.rs"]
mod http;

use base64::Engine;
use serde_json::{json, Value};
use staticnn::prelude::*;
use staticnn::serve::{self, ServeConfig};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};

fn chromium() -> Option<String> {
    if let Ok(path) = std::env::var("STATICNN_CHROMIUM") {
        return Some(path);
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .into_iter()
    .find(|name| std::env::split_paths(&path).any(|d| d.join(name).is_file()))
    .map(str::to_string)
}

/// Kills the browser however the test ends.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A DevTools session with one page.
struct Page {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Page {
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({ "id": id, "method": method, "params": params });
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let reply = self.ws.read().unwrap();
            let Ok(text) = reply.to_text() else { continue };
            let v: Value = serde_json::from_str(text).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluate a JavaScript expression and return its value.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    fn mouse(&mut self, kind: &str, (x, y): (f64, f64)) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1 }),
        );
    }

    /// Poll `expression` until it is truthy.
    fn wait_for(&mut self, expression: &str, within: Duration) -> Value {
        let started = Instant::now();
        loop {
            let v = self.eval(expression);
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            assert!(
                started.elapsed() < within,
                "timed out waiting for {expression}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn a_digit_drawn_with_the_mouse_is_classified_on_the_page() {
    let Some(binary) = chromium() else {
        assert!(
            std::env::var_os("STATICNN_REQUIRE_BROWSER").is_none(),
            "STATICNN_REQUIRE_BROWSER is set but no Chromium was found"
        );
        eprintln!("skipped: no Chromium on PATH (apt-get install chromium)");
        return;
    };
    let (net, _) = common::quick_mlp(3).unwrap();
    let net = std::sync::Arc::new(net);
    let config = ServeConfig {
        addr: "127.0.0.1:0".into(),
        log: None,
        ..ServeConfig::default()
    };
    let running = serve::spawn_shared(std::sync::Arc::clone(&net), config).unwrap();
    let url = format!("http://{}/", running.addr());

    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(&binary)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--window-size=800,600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let stderr = child.stderr.take().unwrap();
    let _browser = Browser(child);
    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
    let mut port = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
            port = rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
            break;
        }
    }
    let port = port.expect("Chromium printed no DevTools address");
    let devtools = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let ws_url = loop {
        let list =
            http::Conn::open(devtools).and_then(|mut c| c.request("GET", "/json/list", &[], b""));
        if let Ok(a) = list {
            let pages: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
            let found = pages.as_array().into_iter().flatten().find(|p| {
                p["type"] == "page" && p["url"].as_str().is_some_and(|u| u.starts_with(&url))
            });
            if let Some(p) = found {
                // The URL names the host our request named; use the port.
                let path = p["webSocketDebuggerUrl"].as_str().unwrap();
                let path = &path[path.find("/devtools/").unwrap()..];
                break format!("ws://127.0.0.1:{port}{path}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the page never opened"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let (ws, _) = tungstenite::connect(ws_url.as_str()).unwrap();
    let mut page = Page { ws, next_id: 0 };
    page.wait_for(
        "document.readyState === 'complete' && !!document.getElementById('pad')",
        Duration::from_secs(20),
    );
    let rect = page.eval("(() => { const r = document.getElementById('pad').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()");
    let r: Vec<f64> = rect
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let at = |u: f64, v: f64| (r[0] + u * r[2], r[1] + v * r[3]);

    // A "7": a bar across the top, then a stroke down to the lower left.
    let stroke: Vec<(f64, f64)> = (0..=20)
        .map(|i| at(0.25 + 0.5 * i as f64 / 20.0, 0.2))
        .chain((1..=30).map(|i| {
            let t = i as f64 / 30.0;
            at(0.75 - 0.3 * t, 0.2 + 0.6 * t)
        }))
        .collect();
    page.mouse("mousePressed", stroke[0]);
    for &p in &stroke[1..] {
        page.mouse("mouseMoved", p);
    }
    page.mouse("mouseReleased", stroke[stroke.len() - 1]);

    let class = page.wait_for(
        "document.getElementById('answer').dataset.class",
        Duration::from_secs(10),
    );
    let class: usize = class.as_str().unwrap().parse().unwrap();
    let shown = page.eval("document.getElementById('answer').textContent");
    assert_eq!(shown, class.to_string());
    let bars = page.eval(
        "[...document.querySelectorAll('#bars .bar .p')].map(e => parseFloat(e.textContent))",
    );
    let p: Vec<f64> = bars
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(p.len(), 10, "{bars}");
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 0.02, "{p:?}");
    let top = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    assert!(
        (p[top] - p[class]).abs() < 1e-3,
        "bar {top} is highest but the answer is {class}"
    );

    // The same drawing, prepared and classified here, gives the same class.
    let data_url = page.eval("document.getElementById('pad').toDataURL('image/png')");
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            data_url
                .as_str()
                .unwrap()
                .trim_start_matches("data:image/png;base64,"),
        )
        .unwrap();
    let drawn = staticnn::images::decode(&png).unwrap();
    let ink = drawn.pixels.iter().filter(|&&v| v < 0.5).count();
    assert!(
        ink > 500,
        "only {ink} dark pixels: the stroke was not drawn"
    );
    let prepared = staticnn::images::mnist_like(&drawn).unwrap();
    let expected = Predictor::new(&*net)
        .unwrap()
        .predict_class(&prepared)
        .unwrap();
    assert_eq!(class, expected);
    println!("the page shows {class} for a drawn 7 (p = {:.3})", p[class]);
    running.shutdown().unwrap();
}

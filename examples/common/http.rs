//! A minimal HTTP/1.1 client over one keep-alive connection, for the load
//! test and the server's tests: it speaks exactly what they need and
//! nothing it sends is hidden behind a library.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An answer: status, headers (names lower-cased), body.
#[allow(dead_code)] // each user reads what it needs
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    #[allow(dead_code)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One connection, reused for request after request.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

impl Conn {
    pub fn open(addr: SocketAddr) -> Result<Conn, Failure> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(stream),
        })
    }

    /// Send a request (with `extra` header lines) and read the answer.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, Failure> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        // One write for head and body: one segment on the wire, so the
        // server reads a whole request at once (the load test measures the
        // server, not a client that splits its requests).
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        // A server may answer (413, say) and close before reading a large
        // body: the answer is what matters.
        let sent = self.reader.get_mut().write_all(&request);
        match self.read_answer() {
            Err(e) if sent.is_err() => Err(e),
            answer => answer,
        }
    }

    /// Read one answer from the connection.
    pub fn read_answer(&mut self) -> Result<Answer, Failure> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("the server closed the connection".into());
        }
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP status line: {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((n, v)) = l.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// The raw stream, for tests that misbehave on purpose.
    #[allow(dead_code)]
    pub fn stream(&mut self) -> &mut TcpStream {
        self.reader.get_mut()
    }
}

//! Accepting connections and serving each as a task, within bounds: at
//! most `max_connections` at once, headers within `header_timeout`, no
//! more than `idle_timeout` without a byte from the client, and a graceful
//! close on shutdown.

use super::server::serve_error;
use super::ServeConfig;
use crate::Result;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};

/// The largest request head (request line and headers) accepted.
const MAX_HEAD_BYTES: usize = 16 << 10;

/// Requests one HTTP/2 connection may have in flight at once.
const MAX_STREAMS: u32 = 32;

/// A stream that records when the client last sent a byte.
struct Tracked {
    stream: TcpStream,
    since: Instant,
    /// Milliseconds after `since` of the last read that returned data.
    last_read: Arc<AtomicU64>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = self.since.elapsed().as_millis() as u64;
            self.last_read.store(now, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accept until `shutdown`, then close every connection gracefully,
/// waiting at most the grace period for requests in flight.
pub(crate) async fn accept_loop(
    listener: std::net::TcpListener,
    router: axum::Router,
    config: &ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| serve_error(format!("cannot listen: {e}")))?;
    let max = config.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(max));
    let (closing, _) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let service = TowerToHyperService::new(router);
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, say: back off and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let last_read = Arc::new(AtomicU64::new(0));
        let io = Tracked {
            stream,
            since: Instant::now(),
            last_read: Arc::clone(&last_read),
        };
        let service = service.clone();
        let mut closing = closing.subscribe();
        let (header_timeout, idle, grace) = (
            config.header_timeout,
            config.idle_timeout.max(Duration::from_millis(10)),
            config.shutdown_grace,
        );
        tokio::spawn(async move {
            let _permit = permit;
            let since = Instant::now();
            // HTTP/1.1, and HTTP/2 for clients that open with its preface.
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(MAX_HEAD_BYTES)
                .max_headers(64);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(MAX_STREAMS)
                .max_header_list_size(MAX_HEAD_BYTES as u32);
            // No keep-alive pings: a client's answers to them would count
            // as activity and keep an idle HTTP/2 connection open forever.
            let conn = builder.serve_connection(TokioIo::new(io), service);
            let mut conn = std::pin::pin!(conn);
            let mut tick = tokio::time::interval((idle / 4).min(Duration::from_secs(1)));
            let mut closed_at: Option<Instant> = None;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = tick.tick() => match closed_at {
                        None => {
                            let last = Duration::from_millis(last_read.load(Ordering::Relaxed));
                            if since.elapsed().saturating_sub(last) > idle {
                                conn.as_mut().graceful_shutdown();
                                closed_at = Some(Instant::now());
                            }
                        }
                        // A client that does not let a graceful close
                        // finish is cut off.
                        Some(at) if at.elapsed() > grace => break,
                        Some(_) => {}
                    },
                    _ = closing.changed(), if closed_at.is_none() => {
                        conn.as_mut().graceful_shutdown();
                        closed_at = Some(Instant::now());
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a permit until it ends.
    let _ = tokio::time::timeout(
        config.shutdown_grace + Duration::from_millis(500),
        permits.acquire_many(max as u32),
    )
    .await;
    Ok(())
}

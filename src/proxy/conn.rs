//! An accepted client connection as Pingora sees it: the TCP stream behind a small write
//! buffer, so a response's header and body leave in one `send` rather than two (Pingora's own
//! listener buffers the same way; its HTTP code flushes at the end of every response and after
//! every streamed body chunk), and a header clock: each request header must arrive whole
//! within `general_settings.client_header_timeout` of its first byte (slowloris).
//!
//! Pingora's own read timeout applies to each read, so a client trickling a byte a minute
//! would hold a connection for ever; the clock bounds the whole header instead. The proxy
//! tells the connection where it is through [`header_received`] and [`request_finished`].
//! HTTP/1 only: h2c is not enabled, and an HTTP/2 session cannot reach its `Conn` to stop
//! the clock, so enabling h2c needs the clock switched off for HTTP/2 connections.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::protocols::raw_connect::ProxyDigest;
use pingora_core::protocols::IO;
use pingora_core::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl,
    TimingDigest, UniqueID, UniqueIDType,
};
use pingora_proxy::Session;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter, ReadBuf};
use tokio::time::Sleep;

/// Bytes a response may gather before it is sent: a typical JSON answer with its header fits.
const WRITE_BUFFER: usize = 4096;

/// What a client that let the header clock run out is told before the connection closes.
const HEADER_TIMEOUT_RESPONSE: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// Where a connection is between requests, as far as the header clock is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// A request header is being read: the clock runs (from accept, or from its first byte).
    Header = 0,
    /// The header was read; the request is being served (bodies are not on the clock).
    Serving = 1,
    /// A request finished; the clock starts again with the next byte.
    Idle = 2,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Header,
            1 => Phase::Serving,
            _ => Phase::Idle,
        }
    }
}

#[derive(Debug)]
pub struct Conn {
    inner: BufWriter<L4Stream>,
    /// Set by the proxy through a shared reference ([`header_received`], [`request_finished`]).
    phase: AtomicU8,
    header_timeout: Duration,
    /// When the current header must be complete, while `phase` is [`Phase::Header`].
    deadline: Pin<Box<Sleep>>,
    timed_out: bool,
}

impl Conn {
    pub fn new(tcp: tokio::net::TcpStream, header_timeout: Duration) -> Conn {
        Conn {
            inner: BufWriter::with_capacity(WRITE_BUFFER, L4Stream::from(tcp)),
            phase: AtomicU8::new(Phase::Header as u8),
            header_timeout,
            deadline: Box::pin(tokio::time::sleep_until(deadline_after(header_timeout))),
            timed_out: false,
        }
    }

    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    /// The header clock ran out: answer 408 if the socket takes it now, then fail the read.
    fn header_timed_out(&mut self, cx: &mut Context<'_>) -> io::Error {
        if !self.timed_out {
            self.timed_out = true;
            log::debug!(
                "client sent no complete request header within {:?}; closing",
                self.header_timeout
            );
            let mut inner = Pin::new(&mut self.inner);
            if let Poll::Ready(Ok(_)) = inner.as_mut().poll_write(cx, HEADER_TIMEOUT_RESPONSE) {
                let _flushed = inner.poll_flush(cx);
            }
        }
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "request header not complete within {:?}",
                self.header_timeout
            ),
        )
    }
}

/// `timeout` from now, or a day from now if that cannot be represented.
fn deadline_after(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// The connection under a session, when it is one of ours (HTTP/1).
fn conn_of(session: &Session) -> Option<&Conn> {
    let stream: &dyn IO = &**session.as_downstream().stream()?;
    stream.as_any().downcast_ref::<Conn>()
}

/// The proxy has a whole request header: stop its clock.
pub fn header_received(session: &Session) {
    if let Some(conn) = conn_of(session) {
        conn.set_phase(Phase::Serving);
    }
}

/// A request is done: the next header gets its own clock from its first byte. A request
/// whose body was left unread ends the connection instead (Pingora would drain the body,
/// and those bytes are not a header).
pub fn request_finished(session: &mut Session) {
    if conn_of(session).is_none() {
        return;
    }
    if !session.is_body_done() {
        session.set_keepalive(None);
    }
    if let Some(conn) = conn_of(session) {
        conn.set_phase(Phase::Idle);
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.phase() {
            Phase::Serving => Pin::new(&mut this.inner).poll_read(cx, buf),
            Phase::Header => {
                if this.timed_out || this.deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(this.header_timed_out(cx)));
                }
                Pin::new(&mut this.inner).poll_read(cx, buf)
            }
            Phase::Idle => {
                let before = buf.filled().len();
                let read = Pin::new(&mut this.inner).poll_read(cx, buf);
                if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
                    // The next request has begun.
                    let at = deadline_after(this.header_timeout);
                    this.deadline.as_mut().reset(at);
                    this.set_phase(Phase::Header);
                }
                read
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Drop for Conn {
    /// Whatever is still buffered goes out if the socket takes it now (as Pingora's stream does).
    fn drop(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        let _ = Pin::new(&mut self.inner).poll_flush(&mut cx);
    }
}

#[async_trait]
impl Shutdown for Conn {
    async fn shutdown(&mut self) {
        if let Err(e) = AsyncWriteExt::shutdown(&mut self.inner).await {
            log::debug!("shutting down a client connection: {e}");
        }
    }
}

impl UniqueID for Conn {
    fn id(&self) -> UniqueIDType {
        self.inner.get_ref().id()
    }
}

impl Ssl for Conn {}

#[async_trait]
impl Peek for Conn {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.get_mut().try_peek(buf).await
    }
}

impl GetTimingDigest for Conn {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_ref().get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_ref().get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_ref().get_write_pending_time()
    }
}

impl GetProxyDigest for Conn {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_ref().get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.get_mut().set_proxy_digest(digest);
    }
}

impl GetSocketDigest for Conn {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_ref().get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.get_mut().set_socket_digest(digest);
    }
}

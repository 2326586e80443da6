//! Transport: where a deployment lives ([`Address`]), its peer (prebuilt, a replica, or
//! resolved now), and moving one request to it over Pingora's connector. Every route that
//! calls a provider (the exchange, pass-through, health probes) shares it; it knows no
//! provider, route or wire format, and sends only for a request that shows a [`Cleared`].

mod deadline;
pub mod replicas;

use std::borrow::Cow;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora_core::connectors::http::Connector;
use pingora_core::protocols::http::client::HttpSession;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;

use crate::core::cleared::Cleared;

pub(crate) use deadline::{deadline_after, guarded};
pub use replicas::ReplicaPool;

/// Where one deployment lives.
pub struct Address {
    /// `None` when the host did not resolve at build time; resolved per request then.
    pub peer: Option<HttpPeer>,
    /// Several `api_base`s: replicas chosen per request by `pingora-load-balancing`.
    pub replicas: Option<ReplicaPool>,
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Address {
    /// The peer for one request: a replica, the prebuilt one, or looked up now when DNS
    /// failed at load.
    pub async fn peer(&self) -> Result<Cow<'_, HttpPeer>, String> {
        if let Some(pool) = &self.replicas {
            return Ok(Cow::Borrowed(pool.pick()));
        }
        if let Some(p) = &self.peer {
            return Ok(Cow::Borrowed(p));
        }
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?;
        let addr = addrs
            .next()
            .ok_or_else(|| format!("no address for {}", self.host))?;
        Ok(Cow::Owned(crate::core::net::make_peer(
            addr, self.tls, &self.host,
        )))
    }
}

/// An upstream connection (pooled when one is idle), for an admitted request only.
pub(crate) async fn connect(
    _cleared: &Cleared,
    connector: &Connector,
    peer: &HttpPeer,
) -> pingora_error::Result<(HttpSession, bool)> {
    connector.get_http_session(peer).await
}

/// Send the request and read the response header; `Err` on transport failure, with whether
/// the connection came from the pool.
pub(crate) async fn send(
    cleared: &Cleared,
    connector: &Connector,
    peer: &HttpPeer,
    head: pingora_error::Result<RequestHeader>,
    body: &Bytes,
) -> Result<(HttpSession, bool), (pingora_error::BError, bool)> {
    let (mut up, reused) = connect(cleared, connector, peer)
        .await
        .map_err(|e| (e, false))?;
    up.set_write_timeout(Some(Duration::from_secs(30)));
    let result: pingora_error::Result<()> = async {
        up.write_request_header(Box::new(head?)).await?;
        up.write_request_body(body.clone(), true).await?;
        up.finish_request_body().await?;
        loop {
            up.read_response_header().await?;
            let informational = up
                .response_header()
                .is_some_and(|h| h.status.is_informational() && h.status != 101);
            if !(informational && matches!(up, HttpSession::H1(_))) {
                return Ok(());
            }
        }
    }
    .await;
    match result {
        Ok(()) => Ok((up, reused)),
        Err(e) => Err((e, reused)),
    }
}

/// Read a whole body up to `limit` bytes; `false` when it was cut there.
pub(crate) async fn read_body(
    up: &mut HttpSession,
    limit: usize,
) -> pingora_error::Result<(Bytes, bool)> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = up.read_response_body().await? {
        if buf.len() + chunk.len() > limit {
            let room = limit - buf.len();
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf.freeze(), false));
        }
        if buf.is_empty() && up.response_done() {
            return Ok((chunk, true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((buf.freeze(), true))
}

//! The one way a peer is built for an upstream address (deployments, replicas, the Google
//! token endpoint): connection timeouts, and HTTP/2 over TLS.

use std::net::SocketAddr;
use std::time::Duration;

use pingora_core::upstreams::peer::HttpPeer;

/// Build the peer for an address: HTTP/2 with multiplexing over TLS, HTTP/1 in clear.
pub fn make_peer(addr: SocketAddr, tls: bool, host: &str) -> HttpPeer {
    let mut peer = HttpPeer::new(addr, tls, host.to_string());
    let o = &mut peer.options;
    o.connection_timeout = Some(Duration::from_secs(10));
    o.total_connection_timeout = Some(Duration::from_secs(15));
    o.idle_timeout = Some(Duration::from_secs(30));
    if tls {
        o.set_http_version(2, 1);
        o.max_h2_streams = 100;
        o.h2_ping_interval = Some(Duration::from_secs(30));
    }
    peer
}

//! Self-hosted replica pools: one deployment, several `api_base`s (a vLLM fleet), balanced by
//! `pingora-load-balancing` (round robin over replicas that pass an HTTP health check).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use pingora_core::upstreams::peer::HttpPeer;
use pingora_load_balancing::health_check::HttpHealthCheck;
use pingora_load_balancing::selection::RoundRobin;
use pingora_load_balancing::LoadBalancer;

/// How often replica health is probed (`GET /health`, which vLLM and most servers expose).
pub const CHECK_EVERY: Duration = Duration::from_secs(5);

pub struct ReplicaPool {
    lb: LoadBalancer<RoundRobin>,
    peers: HashMap<SocketAddr, HttpPeer>,
    /// Replica order as configured, for when none is healthy.
    first: HttpPeer,
}

impl ReplicaPool {
    /// Build from resolved replica addresses (all with the same scheme and path).
    pub fn new(addrs: &[SocketAddr], tls: bool, host: &str) -> std::io::Result<ReplicaPool> {
        let mut lb = LoadBalancer::<RoundRobin>::try_from_iter(addrs.iter().copied())?;
        let mut hc = HttpHealthCheck::new(host, tls);
        hc.req.set_uri(http::Uri::from_static("/health"));
        // Any HTTP answer below 500 means the server is up (not every server has /health).
        hc.validator = Some(Box::new(|h: &pingora_http::ResponseHeader| {
            if h.status.as_u16() < 500 {
                Ok(())
            } else {
                pingora_error::Error::e_explain(
                    pingora_error::ErrorType::HTTPStatus(h.status.as_u16()),
                    "replica unhealthy",
                )
            }
        }));
        hc.consecutive_failure = 1;
        hc.consecutive_success = 1;
        lb.set_health_check(Box::new(hc));
        let peers: HashMap<SocketAddr, HttpPeer> = addrs
            .iter()
            .map(|a| (*a, crate::core::net::make_peer(*a, tls, host)))
            .collect();
        let first = crate::core::net::make_peer(addrs[0], tls, host);
        Ok(ReplicaPool { lb, peers, first })
    }

    /// The next healthy replica (round robin); the first one when none passes its check.
    pub fn pick(&self) -> &HttpPeer {
        self.lb
            .select(b"", 64)
            .and_then(|b| b.addr.as_inet().copied())
            .and_then(|a| self.peers.get(&a))
            .unwrap_or(&self.first)
    }

    /// Probe every replica once.
    pub async fn check(&self) {
        self.lb.backends().run_health_check(true).await;
    }
}

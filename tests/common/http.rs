//! An HTTP/1.1 server on loopback for sinks' receivers (webhooks, collectors, S3): every
//! request, read whole, is answered by the test's handler.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;

pub type Response = hyper::Response<Full<Bytes>>;

/// A response with `status` and an empty body.
pub fn status(code: u16) -> Response {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap();
    r
}

/// Serve `handle(request head, body)` on a free loopback port until the test ends.
pub async fn serve<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(http::request::Parts, Bytes) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let handle = handle.clone();
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let handle = handle.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    Ok::<_, Infallible>(handle(parts, body).await)
                }
            });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(tcp);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    addr
}

/// One request a [`Recorder`] received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// An endpoint that records every request and answers 200 (or, `hang`ing, never answers).
pub struct Recorder {
    pub addr: SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>,
}

impl Recorder {
    pub async fn start(hang: bool) -> Recorder {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = seen.clone();
        let addr = serve(move |parts: http::request::Parts, body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(Recorded {
                    headers: parts.headers,
                    body,
                });
                if hang {
                    std::future::pending::<()>().await;
                }
                status(200)
            }
        })
        .await;
        Recorder { addr, seen }
    }

    /// What it received so far, in order.
    pub fn received(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

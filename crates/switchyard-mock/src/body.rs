//! The mock's response body: a whole buffer, or stream events written one frame each and ended
//! cleanly, by an abort, or never (a stall).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// How an event body ends once its events are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// A normal end of body.
    Clean,
    /// A body error, which makes hyper abort the connection (no final chunk on HTTP/1, RST_STREAM on h2).
    Abort,
    /// No end at all: the body stays open and silent until the client goes away.
    Stall,
}

/// Where an event body is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Events,
    /// Events are written; one pending poll lets hyper flush them before the abort.
    Flushing,
    Done,
}

/// A response body the mock writes.
pub(super) enum MockBody {
    Full(Option<Bytes>),
    Events(Box<EventBody>),
}

/// Stream events written one frame each, paced by `delay`.
pub(super) struct EventBody {
    events: VecDeque<Bytes>,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    ending: Ending,
    phase: Phase,
}

impl MockBody {
    /// A body that is one buffer (sent with `content-length`).
    pub(super) fn full(bytes: Bytes) -> MockBody {
        MockBody::Full(Some(bytes))
    }

    /// A chunked body of `events`, paced by `delay`, ending as `ending` says.
    pub(super) fn events(events: Vec<Bytes>, delay: Duration, ending: Ending) -> MockBody {
        MockBody::Events(Box::new(EventBody {
            events: events.into(),
            delay,
            sleep: None,
            ending,
            phase: Phase::Events,
        }))
    }
}

impl EventBody {
    fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        match self.phase {
            Phase::Events => match self.events.pop_front() {
                Some(event) => {
                    let more = !self.events.is_empty() || self.ending != Ending::Clean;
                    if more && !self.delay.is_zero() {
                        self.sleep = Some(Box::pin(tokio::time::sleep(self.delay)));
                    }
                    Poll::Ready(Some(Ok(Frame::data(event))))
                }
                None if self.ending == Ending::Clean => {
                    self.phase = Phase::Done;
                    Poll::Ready(None)
                }
                // Never woken: the connection task drops the body when the peer leaves.
                None if self.ending == Ending::Stall => Poll::Pending,
                None => {
                    self.phase = Phase::Flushing;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            },
            Phase::Flushing => {
                self.phase = Phase::Done;
                Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "mock upstream: scripted connection cut",
                ))))
            }
            Phase::Done => Poll::Ready(None),
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            MockBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Events(body) => body.poll_event(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            MockBody::Full(bytes) => bytes.is_none(),
            MockBody::Events(body) => body.phase == Phase::Done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            MockBody::Events(_) => SizeHint::default(),
        }
    }
}

//! Server-sent events: a framer that is correct at every chunk boundary and refuses events over
//! [`MAX_EVENT_BYTES`], and event helpers.

use std::sync::LazyLock;

use bytes::{Bytes, BytesMut};
use memchr::memmem;
use serde::Deserialize;

use crate::core::chat::Usage;
use crate::core::error::{ApiError, ErrorKind};

/// The key of the usage object, as it appears in a payload.
const USAGE_KEY: &[u8] = b"\"usage\"";

/// The byte patterns searched for in every event, each searcher built once: building one
/// (`memmem::find` does it on every call) costs more than searching a short event.
pub struct Finders {
    blank_lf: memmem::Finder<'static>,
    blank_crlf: memmem::Finder<'static>,
    usage: memmem::Finder<'static>,
    usage_rev: memmem::FinderRev<'static>,
    error_member: memmem::Finder<'static>,
    finish_error: memmem::Finder<'static>,
    /// `data:`, the field that starts an event's payload.
    pub data: memmem::Finder<'static>,
}

/// The shared [`Finders`].
pub fn finders() -> &'static Finders {
    static FINDERS: LazyLock<Finders> = LazyLock::new(|| Finders {
        blank_lf: memmem::Finder::new(b"\n\n"),
        blank_crlf: memmem::Finder::new(b"\r\n\r\n"),
        usage: memmem::Finder::new(USAGE_KEY),
        usage_rev: memmem::FinderRev::new(USAGE_KEY),
        error_member: memmem::Finder::new(b",\"error\":{"),
        finish_error: memmem::Finder::new(b"\"finish_reason\":\"error\""),
        data: memmem::Finder::new(b"data:"),
    });
    &FINDERS
}

/// The longest event, NDJSON line or event-stream message a stream decoder holds while it
/// waits for the end: 16 MiB, the largest message AWS's event stream allows and well above
/// any single event providers send (inline base64 images included). A longer one fails the
/// stream (an in-band error event after commit) instead of growing memory without bound.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// An event longer than the framer's limit: the stream cannot go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Oversized {
    pub limit: usize,
}

impl Oversized {
    /// The error the client sees (502, like other broken upstream streams).
    pub fn to_error(self, what: &str) -> ApiError {
        ApiError::new(
            502,
            ErrorKind::ApiError,
            format!(
                "the upstream sent {what} longer than {} bytes; the stream was stopped",
                self.limit
            ),
        )
    }
}

/// Splits a byte stream into SSE events (terminated by a blank line, `\n\n` or `\r\n\r\n`).
///
/// An event longer than the limit ([`MAX_EVENT_BYTES`] by default), whole or still
/// unterminated, makes [`SseFramer::feed`] fail once; the framer then discards everything.
/// The failure does not depend on where the chunks are cut.
pub struct SseFramer {
    buf: BytesMut,
    scanned: usize,
    limit: usize,
    failed: bool,
}

impl Default for SseFramer {
    fn default() -> Self {
        SseFramer::with_limit(MAX_EVENT_BYTES)
    }
}

impl SseFramer {
    /// A framer that refuses events longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> SseFramer {
        SseFramer {
            buf: BytesMut::new(),
            scanned: 0,
            limit,
            failed: false,
        }
    }

    /// Feed one chunk; `f` receives each complete event without its terminator. `Err` once,
    /// when an event is over the limit (events before it were delivered).
    pub fn feed(&mut self, chunk: &[u8], mut f: impl FnMut(Bytes)) -> Result<(), Oversized> {
        if self.failed {
            return Ok(());
        }
        self.buf.extend_from_slice(chunk);
        loop {
            let from = self.scanned.saturating_sub(3);
            let hay = &self.buf[from..];
            let lf = finders().blank_lf.find(hay).map(|p| (p, 2));
            let crlf = finders().blank_crlf.find(hay).map(|p| (p, 4));
            let Some((p, len)) = [lf, crlf].into_iter().flatten().min_by_key(|x| x.0) else {
                self.scanned = self.buf.len();
                // Up to 3 bytes may be the start of the terminator: only past them is the
                // event itself known to be too long.
                if self.buf.len() > self.limit.saturating_add(3) {
                    return Err(self.fail());
                }
                return Ok(());
            };
            if from + p > self.limit {
                return Err(self.fail());
            }
            let event = self.buf.split_to(from + p + len).freeze();
            self.scanned = 0;
            f(event.slice(..from + p));
        }
    }

    fn fail(&mut self) -> Oversized {
        self.failed = true;
        self.buf = BytesMut::new();
        self.scanned = 0;
        Oversized { limit: self.limit }
    }

    /// Bytes of an unterminated trailing event.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}

/// The `data` of an event: `data:` lines joined with `\n`; `None` for comments and
/// events without data.
/// The usual single `data:` line is returned as a slice of `event` (no copy); several lines
/// are joined into a new buffer.
pub fn data(event: &Bytes) -> Option<Bytes> {
    let mut out: Option<Vec<u8>> = None;
    let mut single: Option<&[u8]> = None;
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"data:") else {
            continue;
        };
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        match (&mut out, single) {
            (None, None) => single = Some(rest),
            (None, Some(first)) => {
                let mut v = first.to_vec();
                v.push(b'\n');
                v.extend_from_slice(rest);
                out = Some(v);
            }
            (Some(v), _) => {
                v.push(b'\n');
                v.extend_from_slice(rest);
            }
        }
    }
    match (out, single) {
        (Some(v), _) => Some(Bytes::from(v)),
        (None, Some(s)) => Some(event.slice_ref(s)),
        (None, None) => None,
    }
}

/// The object a `"usage"` key found at `at` opens (`"usage": {...`, from the `{`), if the key
/// has one for its value (not `null`, not a string).
fn usage_object_at(payload: &[u8], at: usize) -> Option<&[u8]> {
    let rest = payload[at + USAGE_KEY.len()..].trim_ascii_start();
    let value = rest.strip_prefix(b":")?.trim_ascii_start();
    value.starts_with(b"{").then_some(value)
}

/// Whether the payload has a non-null top-level-looking `"usage": {` member.
fn has_usage_object(payload: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = finders().usage.find(&payload[from..]) {
        if usage_object_at(payload, from + p).is_some() {
            return true;
        }
        from += p + USAGE_KEY.len();
    }
    false
}

/// What one OpenAI-format chunk means to the gateway.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkKind {
    Done,
    Error,
    /// A chunk with `choices: []` and a usage object: the `include_usage` trailer.
    UsageOnly(Usage),
    /// Any other chunk; `Some` when it also carries usage.
    Content(Option<Usage>),
}

#[derive(Deserialize)]
struct UsageChunk {
    #[serde(default)]
    choices: Option<Vec<serde::de::IgnoredAny>>,
    usage: Option<UsageIn>,
}

/// OpenAI's `usage` object as it comes over the wire.
#[derive(Clone, Copy, Default, Deserialize)]
pub struct UsageIn {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    /// `cached_tokens`: prompt tokens read from the provider's cache.
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    /// Prompt tokens written to the provider's cache (Anthropic, as LiteLLM reports it).
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

/// OpenAI's `usage.prompt_tokens_details`.
#[derive(Clone, Copy, Default, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<UsageIn> for Usage {
    fn from(u: UsageIn) -> Usage {
        Usage {
            prompt: u.prompt_tokens,
            completion: u.completion_tokens,
            cache_read: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write: u.cache_creation_input_tokens.unwrap_or(0),
            reasoning: 0,
            reported_total: Some(u.total_tokens),
        }
    }
}

/// Classify an OpenAI chat/completions stream payload, parsing only the rare chunks that
/// carry usage or an error.
pub fn classify(payload: &[u8]) -> ChunkKind {
    if payload == b"[DONE]" {
        return ChunkKind::Done;
    }
    if payload.starts_with(b"{\"error\"") || is_error_object(payload) {
        return ChunkKind::Error;
    }
    if !has_usage_object(payload) {
        return ChunkKind::Content(None);
    }
    match serde_json::from_slice::<UsageChunk>(payload) {
        Ok(UsageChunk {
            choices,
            usage: Some(u),
        }) if choices.as_ref().is_none_or(Vec::is_empty) => ChunkKind::UsageOnly(u.into()),
        Ok(UsageChunk { usage, .. }) => ChunkKind::Content(usage.map(Usage::from)),
        Err(_) => ChunkKind::Content(None),
    }
}

fn is_error_object(payload: &[u8]) -> bool {
    // `{ "error": ...` with whitespace; cheap check before any parse.
    let p = payload.trim_ascii_start();
    if p.starts_with(b"{") && p[1..].trim_ascii_start().starts_with(b"\"error\"") {
        return true;
    }
    // An `error` member after others (OpenRouter: `{"id":..,"error":{..},"choices":[..
    // "finish_reason":"error"}]}`). Quotes inside strings are escaped, so these patterns only
    // match real keys.
    finders().error_member.find(payload).is_some() || finders().finish_error.find(payload).is_some()
}

/// Usage from a non-stream response body, if present. Reads only the `usage` object: the
/// last `"usage": {` in the body, where every OpenAI-compatible server puts the top-level one
/// (inside a JSON string the quotes would be escaped, so text cannot fake it). Bodies where
/// that object does not parse fall back to reading the whole body.
pub fn usage_in_body(body: &[u8]) -> Option<Usage> {
    #[derive(Deserialize)]
    struct WithUsage {
        usage: Option<UsageIn>,
    }
    let mut end = body.len();
    while let Some(p) = finders().usage_rev.rfind(&body[..end]) {
        if let Some(object) = usage_object_at(body, p) {
            let mut de = serde_json::Deserializer::from_slice(object);
            return match UsageIn::deserialize(&mut de) {
                Ok(u) => Some(u.into()),
                Err(_) => serde_json::from_slice::<WithUsage>(body)
                    .ok()?
                    .usage
                    .map(Usage::from),
            };
        }
        end = p;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STREAM: &[u8] = b"data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"He\"}}]}\n\n: keep-alive\n\ndata: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"llo\\n\\n\"}}]}\r\n\r\nevent: x\ndata: a\ndata: b\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n";

    fn frame_all(chunks: &[&[u8]]) -> Vec<Bytes> {
        let mut f = SseFramer::default();
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, |e| out.push(e)).unwrap();
        }
        assert!(f.pending().is_empty());
        out
    }

    #[test]
    fn usage_in_body_reads_the_top_level_usage_object() {
        let body = br#"{"id":"c1","choices":[{"message":{"content":"my \"usage\": {\"total_tokens\": 9}"}}],"usage": {
            "prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
            "prompt_tokens_details": {"cached_tokens": 1}}}"#;
        let u = usage_in_body(body).expect("usage");
        assert_eq!((u.prompt, u.completion, u.total()), (3, 2, 5));
        assert_eq!(u.cache_read, 1);
        assert_eq!(usage_in_body(br#"{"choices":[],"usage":null}"#), None);
        assert_eq!(usage_in_body(br#"{"content":"say \"usage\":{}"}"#), None);
        // A usage object that does not parse where it starts: the whole body decides.
        assert_eq!(usage_in_body(br#"{"usage":{"total_tokens":"x"}}"#), None);
    }

    #[test]
    fn error_members_anywhere_are_errors() {
        let openrouter = br#"{"id":"gen-1","object":"chat.completion.chunk","error":{"code":502,"message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}"#;
        assert_eq!(classify(openrouter), ChunkKind::Error);
        let text =
            br#"{"choices":[{"delta":{"content":"say \"error\":{ here"},"finish_reason":null}]}"#;
        assert_eq!(classify(text), ChunkKind::Content(None));
    }

    #[test]
    fn frames_and_classifies() {
        let events = frame_all(&[STREAM]);
        assert_eq!(events.len(), 6);
        assert_eq!(data(&events[1]), None);
        assert_eq!(data(&events[3]).unwrap().as_ref(), b"a\nb");
        assert_eq!(
            classify(&data(&events[0]).unwrap()),
            ChunkKind::Content(None)
        );
        assert_eq!(
            classify(&data(&events[4]).unwrap()),
            ChunkKind::UsageOnly(Usage {
                prompt: 3,
                completion: 2,
                reported_total: Some(5),
                ..Usage::default()
            })
        );
        assert_eq!(classify(b"[DONE]"), ChunkKind::Done);
        assert_eq!(
            classify(br#"{ "error": {"message":"x"}}"#),
            ChunkKind::Error
        );
        assert_eq!(
            classify(br#"{"choices":[{"delta":{}}],"usage":null}"#),
            ChunkKind::Content(None)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let mut f = SseFramer::default();
            let fed = f.feed(&raw, |e| {
                if let Some(d) = data(&e) {
                    let _kind = classify(&d);
                }
            });
            prop_assert!(fed.is_ok());
        }

        #[test]
        fn any_split_gives_the_same_events(cuts in proptest::collection::btree_set(1..STREAM.len(), 0..12)) {
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts { chunks.push(&STREAM[at..c]); at = c; }
            chunks.push(&STREAM[at..]);
            prop_assert_eq!(frame_all(&chunks), frame_all(&[STREAM]));
        }
    }

    #[test]
    fn every_single_split_point() {
        let whole = frame_all(&[STREAM]);
        for i in 1..STREAM.len() {
            assert_eq!(
                frame_all(&[&STREAM[..i], &STREAM[i..]]),
                whole,
                "split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(frame_all(&bytes), whole);
    }
}

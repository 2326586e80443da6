//! The one harness for stream decoders' unit tests: feed chunks and collect the events as
//! their `Debug` text, check that every split point of a body decodes the same, and blank
//! out generated ids so expectations can be written down.

use super::chat::{Event, StreamDecoder};

/// Feed `chunks` in order, then close; every event as its `Debug` text.
pub fn events(decoder: &mut dyn StreamDecoder, chunks: &[&[u8]]) -> Vec<String> {
    let mut out = Vec::new();
    let mut emit = |e: Event<'_>| out.push(format!("{e:?}"));
    for c in chunks {
        decoder.feed(c, &mut emit);
    }
    decoder.finish(&mut emit);
    out
}

/// [`events`] with generated ids blanked by [`normalize`].
pub fn normalized(decoder: &mut dyn StreamDecoder, chunks: &[&[u8]]) -> Vec<String> {
    events(decoder, chunks)
        .iter()
        .map(|e| normalize(e))
        .collect()
}

/// Decode `body` whole, split at every byte and byte by byte with fresh decoders from `new`,
/// assert that all agree, and return the (normalized) events.
pub fn same_at_every_split(new: impl Fn() -> Box<dyn StreamDecoder>, body: &[u8]) -> Vec<String> {
    let whole = normalized(&mut *new(), &[body]);
    for i in 1..body.len() {
        let split = normalized(&mut *new(), &[&body[..i], &body[i..]]);
        assert_eq!(split, whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(normalized(&mut *new(), &bytes), whole, "byte by byte");
    whole
}

/// Generated ids are random: `chatcmpl-<uuid>` becomes `chatcmpl-*` and `call_` + 24 hex
/// digits `call_*`.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let next = [("chatcmpl-", 36), ("call_", 24)]
            .into_iter()
            .filter_map(|(prefix, len)| rest.find(prefix).map(|at| (at, prefix, len)))
            .min_by_key(|(at, _, _)| *at);
        let Some((at, prefix, len)) = next else {
            break;
        };
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let generated = rest
            .bytes()
            .take(len)
            .filter(|b| b.is_ascii_hexdigit() || *b == b'-')
            .count()
            == len;
        if generated {
            out.push('*');
            rest = &rest[len..];
        }
    }
    out.push_str(rest);
    out
}

//! `application/vnd.amazon.eventstream`: the binary framing of Bedrock's streamed responses,
//! decoded incrementally from chunks of any size, and encoded for tests and mock servers.
//!
//! A message, all integers big-endian:
//! `u32 total_len | u32 headers_len | u32 crc32(first 8 bytes) | headers | payload |
//! u32 crc32(everything before)`; a header is `u8 name_len | name | u8 type | value`.
//! CRCs are CRC-32 (IEEE). A CRC mismatch or an impossible length poisons the decoder: the
//! stream cannot be resynchronised.

use bytes::{Buf, Bytes, BytesMut};

/// Prelude (12 bytes) plus the trailing message CRC (4 bytes).
const OVERHEAD: usize = 16;
const PRELUDE: usize = 12;
/// The largest message AWS sends (16 MiB), and the largest headers section (128 KiB).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 128 * 1024;

/// The `:message-type` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageType {
    Event,
    /// A modelled service exception (`:exception-type` names it).
    Exception,
    /// A protocol error (`:error-code`, `:error-message`).
    Error,
    Other(String),
}

/// One decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub message_type: MessageType,
    /// `:event-type`, e.g. `contentBlockDelta`.
    pub event_type: Option<String>,
    /// `:exception-type`, e.g. `throttlingException`.
    pub exception_type: Option<String>,
    /// `:error-code` of an `error` message.
    pub error_code: Option<String>,
    /// `:error-message` of an `error` message.
    pub error_message: Option<String>,
    pub payload: Bytes,
}

/// Why the byte stream is not a valid event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    PreludeCrc { expected: u32, actual: u32 },
    MessageCrc { expected: u32, actual: u32 },
    Length { total: u32, headers: u32 },
    Header(&'static str),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::PreludeCrc { expected, actual } => {
                write!(
                    f,
                    "prelude CRC mismatch (frame says {expected:#010x}, computed {actual:#010x})"
                )
            }
            FrameError::MessageCrc { expected, actual } => {
                write!(
                    f,
                    "message CRC mismatch (frame says {expected:#010x}, computed {actual:#010x})"
                )
            }
            FrameError::Length { total, headers } => {
                write!(
                    f,
                    "impossible frame length (total {total}, headers {headers})"
                )
            }
            FrameError::Header(what) => write!(f, "malformed header: {what}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Incremental decoder: [`Decoder::feed`] bytes, then take frames with [`Decoder::next_frame`]
/// until it answers `Ok(None)`.
#[derive(Default)]
pub struct Decoder {
    buf: BytesMut,
    poisoned: bool,
}

impl Decoder {
    pub fn feed(&mut self, chunk: &[u8]) {
        if !self.poisoned {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// Bytes received that do not yet form a whole message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, `Ok(None)` when more bytes are needed. After an error every
    /// later call answers `Ok(None)` and fed bytes are discarded.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.poisoned || self.buf.len() < PRELUDE {
            return Ok(None);
        }
        let result = self.take();
        if result.is_err() {
            self.poisoned = true;
            self.buf.clear();
        }
        result
    }

    fn take(&mut self) -> Result<Option<Frame>, FrameError> {
        let total = be32(&self.buf[0..4]);
        let headers_len = be32(&self.buf[4..8]);
        let expected = be32(&self.buf[8..12]);
        let actual = crc32fast::hash(&self.buf[0..8]);
        if expected != actual {
            return Err(FrameError::PreludeCrc { expected, actual });
        }
        let (t, h) = (total as usize, headers_len as usize);
        if !(OVERHEAD..=MAX_MESSAGE).contains(&t) || h > MAX_HEADERS || h > t - OVERHEAD {
            return Err(FrameError::Length {
                total,
                headers: headers_len,
            });
        }
        if self.buf.len() < t {
            self.buf.reserve(t - self.buf.len());
            return Ok(None);
        }
        let mut msg = self.buf.split_to(t).freeze();
        let expected = be32(&msg[t - 4..]);
        let actual = crc32fast::hash(&msg[..t - 4]);
        if expected != actual {
            return Err(FrameError::MessageCrc { expected, actual });
        }
        msg.truncate(t - 4);
        msg.advance(PRELUDE);
        let headers = msg.split_to(h);
        let mut frame = Frame {
            message_type: MessageType::Event,
            event_type: None,
            exception_type: None,
            error_code: None,
            error_message: None,
            payload: msg,
        };
        read_headers(&headers, &mut frame)?;
        Ok(Some(frame))
    }
}

fn be32(b: &[u8]) -> u32 {
    b.try_into().map_or(0, u32::from_be_bytes)
}

/// Take `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
    if rest.len() < n {
        return Err(FrameError::Header(what));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn read_headers(mut rest: &[u8], frame: &mut Frame) -> Result<(), FrameError> {
    while !rest.is_empty() {
        let name_len = take(&mut rest, 1, "truncated name length")?[0];
        let name = take(&mut rest, usize::from(name_len), "truncated name")?;
        let kind = take(&mut rest, 1, "truncated value type")?[0];
        let fixed = match kind {
            0 | 1 => 0, // bool true / false: no value
            2 => 1,     // byte
            3 => 2,     // i16
            4 => 4,     // i32
            5 | 8 => 8, // i64, timestamp (ms)
            9 => 16,    // uuid
            6 | 7 => {
                // bytes / string: u16 length, then the value
                let len = take(&mut rest, 2, "truncated value length")?;
                usize::from(u16::from_be_bytes([len[0], len[1]]))
            }
            _ => return Err(FrameError::Header("unknown value type")),
        };
        let value = take(&mut rest, fixed, "truncated value")?;
        if kind != 7 {
            continue;
        }
        let value = std::str::from_utf8(value)
            .map_err(|_| FrameError::Header("string value is not UTF-8"))?;
        match name {
            b":message-type" => {
                frame.message_type = match value {
                    "event" => MessageType::Event,
                    "exception" => MessageType::Exception,
                    "error" => MessageType::Error,
                    other => MessageType::Other(other.to_string()),
                }
            }
            b":event-type" => frame.event_type = Some(value.to_string()),
            b":exception-type" => frame.exception_type = Some(value.to_string()),
            b":error-code" => frame.error_code = Some(value.to_string()),
            b":error-message" => frame.error_message = Some(value.to_string()),
            _ => {}
        }
    }
    Ok(())
}

/// One message with string (type 7) headers, CRCs included.
pub fn encode_frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(usize::from(u16::MAX))];
        h.push(name.len() as u8);
        h.extend_from_slice(name);
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value);
    }
    encode_raw(&h, payload)
}

/// One message from an already-encoded headers section.
pub fn encode_raw(headers: &[u8], payload: &[u8]) -> Vec<u8> {
    let total = OVERHEAD + headers.len() + payload.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(headers);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode_frame(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        )
    }

    fn drain(d: &mut Decoder) -> Vec<Result<Frame, FrameError>> {
        let mut out = Vec::new();
        loop {
            match d.next_frame() {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => return out,
                Err(e) => out.push(Err(e)),
            }
        }
    }

    #[test]
    fn matches_the_python_recipe() {
        // prelude = pack(">II", 16+len(h)+len(p), len(h)); crc32 of the prelude; ...
        let f = encode_frame(&[(":event-type", "x")], b"{}");
        let h_len = 1 + 11 + 1 + 2 + 1;
        assert_eq!(f.len(), 16 + h_len + 2);
        assert_eq!(be32(&f[0..4]) as usize, f.len());
        assert_eq!(be32(&f[4..8]) as usize, h_len);
        assert_eq!(be32(&f[8..12]), crc32fast::hash(&f[0..8]));
        assert_eq!(be32(&f[f.len() - 4..]), crc32fast::hash(&f[..f.len() - 4]));
    }

    #[test]
    fn decodes_at_every_split() {
        let mut stream = event("messageStart", r#"{"role":"assistant"}"#);
        stream.extend(event("contentBlockDelta", r#"{"delta":{"text":"Hi"}}"#));
        stream.extend(encode_frame(
            &[
                (":exception-type", "throttlingException"),
                (":message-type", "exception"),
            ],
            br#"{"message":"slow"}"#,
        ));
        let mut whole = Decoder::default();
        whole.feed(&stream);
        let expected = drain(&mut whole);
        assert_eq!(expected.len(), 3);
        let first = expected[0].as_ref().unwrap();
        assert_eq!(first.message_type, MessageType::Event);
        assert_eq!(first.event_type.as_deref(), Some("messageStart"));
        assert_eq!(&first.payload[..], br#"{"role":"assistant"}"#);
        let third = expected[2].as_ref().unwrap();
        assert_eq!(third.message_type, MessageType::Exception);
        assert_eq!(third.exception_type.as_deref(), Some("throttlingException"));
        for cut in 0..=stream.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            d.feed(&stream[..cut]);
            got.extend(drain(&mut d));
            d.feed(&stream[cut..]);
            got.extend(drain(&mut d));
            assert_eq!(got, expected, "cut at {cut}");
            assert_eq!(d.pending(), 0);
        }
        // One byte at a time.
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &stream {
            d.feed(std::slice::from_ref(b));
            got.extend(drain(&mut d));
        }
        assert_eq!(got, expected);
    }

    #[test]
    fn skips_every_header_type() {
        let mut h = Vec::new();
        let mut header = |name: &str, kind: u8, value: &[u8]| {
            h.push(name.len() as u8);
            h.extend_from_slice(name.as_bytes());
            h.push(kind);
            h.extend_from_slice(value);
        };
        header("t", 0, &[]);
        header("f", 1, &[]);
        header("b", 2, &[0x7f]);
        header("s", 3, &[0, 1]);
        header("i", 4, &[0, 0, 0, 1]);
        header("l", 5, &[0; 8]);
        header("y", 6, &[0, 3, 1, 2, 3]);
        header("ts", 8, &[0; 8]);
        header("u", 9, &[0xab; 16]);
        header(
            ":event-type",
            7,
            &[0, 8, b'm', b'e', b't', b'a', b'd', b'a', b't', b'a'],
        );
        let mut d = Decoder::default();
        d.feed(&encode_raw(&h, b"{}"));
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(f.event_type.as_deref(), Some("metadata"));
        assert_eq!(&f.payload[..], b"{}");

        let mut d = Decoder::default();
        d.feed(&encode_raw(&[1, b'x', 10], b""));
        assert_eq!(
            d.next_frame(),
            Err(FrameError::Header("unknown value type"))
        );
        let mut d = Decoder::default();
        d.feed(&encode_raw(&[1, b'x', 7, 0, 9, b'a'], b""));
        assert_eq!(d.next_frame(), Err(FrameError::Header("truncated value")));
    }

    #[test]
    fn detects_corruption_and_absurd_lengths() {
        let good = event("contentBlockDelta", r#"{"delta":{"text":"Hi"}}"#);

        let mut bad = good.clone();
        let at = bad.len() - 6;
        bad[at] ^= 1;
        let mut d = Decoder::default();
        d.feed(&bad);
        assert!(matches!(d.next_frame(), Err(FrameError::MessageCrc { .. })));
        // Poisoned: nothing more comes out, even from good bytes.
        d.feed(&good);
        assert_eq!(d.next_frame(), Ok(None));

        let mut bad = good.clone();
        bad[2] ^= 1;
        let mut d = Decoder::default();
        d.feed(&bad);
        assert!(matches!(d.next_frame(), Err(FrameError::PreludeCrc { .. })));

        // A valid prelude announcing 1 GiB is refused before any of it is buffered.
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&(1u32 << 30).to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let mut d = Decoder::default();
        d.feed(&prelude);
        assert!(matches!(d.next_frame(), Err(FrameError::Length { .. })));

        // Headers longer than the message.
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&20u32.to_be_bytes());
        prelude.extend_from_slice(&8u32.to_be_bytes());
        let crc = crc32fast::hash(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let mut d = Decoder::default();
        d.feed(&prelude);
        assert!(matches!(d.next_frame(), Err(FrameError::Length { .. })));
    }
}

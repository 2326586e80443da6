//! JSON written by hand into a buffer: numbers and string literals, for the encoders that
//! render responses and events without building a tree.

use bytes::{BufMut, BytesMut};

/// Append a decimal number without allocating.
pub fn push_u64(out: &mut BytesMut, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Append `s` as a JSON string literal.
pub fn json_into(out: &mut BytesMut, s: &str) {
    if let Err(e) = serde_json::to_writer(out.writer(), s) {
        log::debug!("json string: {e}");
    }
}

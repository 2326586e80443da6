//! Protobuf's wire format, for the few field kinds a span uses (OTLP/HTTP's body written
//! straight from the spans; `opentelemetry-proto`'s field numbers).

use super::{status_code, SpanView, Val};

pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A length-delimited field's bytes: its tag, its length, then `len` bytes.
pub fn field_len(_field: u32, len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// The tag and length of a length-delimited field (fields below 16).
pub fn head(out: &mut Vec<u8>, field: u32, len: usize) {
    out.push(((field << 3) | 2) as u8);
    varint(out, len as u64);
}

pub fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    head(out, field, b.len());
    out.extend_from_slice(b);
}

fn any_len(v: Val<'_>) -> usize {
    match v {
        Val::Str(s) => field_len(1, s.len()),
        Val::Bool(_) => 2,
        Val::Int(i) => 1 + varint_len(i as u64),
        Val::F64(_) => 9,
    }
}

/// A `KeyValue` as field `field`: key = 1, value = 2 (`AnyValue`: string 1, bool 2,
/// int64 3, double 4).
pub fn kv(out: &mut Vec<u8>, field: u32, key: &str, v: Val<'_>) {
    let value = any_len(v);
    head(out, field, field_len(1, key.len()) + field_len(2, value));
    bytes(out, 1, key.as_bytes());
    head(out, 2, value);
    match v {
        Val::Str(s) => bytes(out, 1, s.as_bytes()),
        Val::Bool(b) => out.extend_from_slice(&[2 << 3, u8::from(b)]),
        Val::Int(i) => {
            out.push(3 << 3);
            varint(out, i as u64);
        }
        Val::F64(d) => {
            out.push((4 << 3) | 1);
            out.extend_from_slice(&d.to_le_bytes());
        }
    }
}

/// A `Span`'s fields (trace_id 1, span_id 2, parent 4, name 5, kind 6, start 7, end 8,
/// attributes 9, status 15).
pub fn span(out: &mut Vec<u8>, v: &SpanView<'_>) {
    bytes(out, 1, v.trace_id);
    bytes(out, 2, &v.span_id);
    if let Some(p) = &v.parent {
        bytes(out, 4, p);
    }
    bytes(out, 5, v.name.as_bytes());
    out.push(6 << 3);
    varint(out, v.kind as u64);
    out.push((7 << 3) | 1);
    out.extend_from_slice(&v.start.to_le_bytes());
    out.push((8 << 3) | 1);
    out.extend_from_slice(&v.end.to_le_bytes());
    for (k, a) in &v.attrs {
        kv(out, 9, k, *a);
    }
    // Status { message = 2, code = 3 }
    let code = status_code(v.failed) as u64;
    let len = if v.message.is_empty() {
        0
    } else {
        field_len(2, v.message.len())
    } + 1
        + varint_len(code);
    out.push((15 << 3) | 2);
    varint(out, len as u64);
    if !v.message.is_empty() {
        bytes(out, 2, v.message.as_bytes());
    }
    out.push(3 << 3);
    varint(out, code);
}

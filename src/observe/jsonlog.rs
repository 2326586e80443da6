//! JSON logs: application log lines as JSON objects (`--log-format json`, `JSON_LOGS=true`, or
//! `litellm_settings.json_logs` once the config is read), and the access log, one JSON line per
//! request on stdout with the fields of the logging [`Payload`](super::Payload).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::hub::{Inbox, SENT};
use super::Payload;
use crate::core::clock::{civil, now_ms};

/// Whether application logs are written as JSON; read per log line.
static JSON: AtomicBool = AtomicBool::new(false);

/// Switch application logs to JSON lines (or back).
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// `JSON_LOGS` as LiteLLM reads it (`true`/`True`/`1`).
pub fn json_from_env() -> bool {
    std::env::var("JSON_LOGS").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "True" | "TRUE"))
}

/// The `env_logger` format: its default layout as text, or one JSON object per line.
pub fn format(
    buf: &mut env_logger::fmt::Formatter,
    record: &log::Record<'_>,
) -> std::io::Result<()> {
    let ts = iso_ms(now_ms());
    if JSON.load(Ordering::Relaxed) {
        #[derive(Serialize)]
        struct Line<'a> {
            timestamp: &'a str,
            level: &'a str,
            logger: &'a str,
            message: String,
        }
        let line = Line {
            timestamp: &ts,
            level: record.level().as_str(),
            logger: record.target(),
            message: record.args().to_string(),
        };
        let text = serde_json::to_string(&line).unwrap_or_default();
        writeln!(buf, "{text}")
    } else {
        writeln!(
            buf,
            "[{ts} {:<5} {}] {}",
            record.level(),
            record.target(),
            record.args()
        )
    }
}

/// The fields an access line puts before the payload's own.
#[derive(Serialize)]
struct Access<'a> {
    timestamp: String,
    level: &'static str,
    logger: &'static str,
    message: &'a str,
}

/// The access-log sink: lines to stdout, flushed whenever the queue is momentarily empty.
pub(super) async fn access_log(mut inbox: Inbox) {
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let sent = SENT.with_label_values(&["json_logs"]);
    while let Some(first) = inbox.next().await {
        let mut n = u64::from(write_line(&mut out, &first));
        for p in inbox.rest() {
            n += u64::from(write_line(&mut out, &p));
        }
        sent.inc_by(n);
        if let Err(e) = out.flush() {
            log::debug!("access log: {e}");
        }
    }
    for p in inbox.rest() {
        sent.inc_by(u64::from(write_line(&mut out, &p)));
    }
    let _ = out.flush();
}

/// Write one access line: the payload's JSON with a timestamp, level, logger and message
/// first, as the application lines carry them; whether it was written.
fn write_line(out: &mut impl Write, p: &Payload) -> bool {
    let message = format!(
        "{} {} {}",
        p.call_type, p.hidden_params.requested_model, p.status_code
    );
    let head = Access {
        timestamp: iso_ms((p.end_time * 1000.0) as i64),
        level: "INFO",
        logger: "switchyard.access",
        message: &message,
    };
    let mut line = match serde_json::to_vec(&head) {
        Ok(v) => v,
        Err(e) => {
            log::debug!("access log: {e}");
            return false;
        }
    };
    // `{...head}` + `,` + the payload's members (its JSON without the opening brace).
    let json = p.json();
    line.pop();
    if json.len() > 2 {
        line.push(b',');
        line.extend_from_slice(&json[1..]);
    } else {
        line.push(b'}');
    }
    line.push(b'\n');
    out.write_all(&line).is_ok()
}

/// Unix milliseconds as `2026-12-07T22:05:23.123Z`.
pub fn iso_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_795_322_600_123), "2026-11-22T04:43:20.123Z");
    }

    #[test]
    fn an_access_line_is_the_payload_with_a_timestamp() {
        let mut p = Payload {
            id: "call-1".into(),
            call_type: "acompletion",
            status: "success",
            status_code: 200,
            end_time: 1_795_322_600.5,
            ..Payload::default()
        };
        p.hidden_params.requested_model = "gpt".into();
        let mut out = Vec::new();
        write_line(&mut out, &p);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["timestamp"], "2026-11-22T04:43:20.500Z");
        assert_eq!(v["message"], "acompletion gpt 200");
        assert_eq!(v["id"], "call-1");
        assert_eq!(v["status"], "success");
        assert!(out.ends_with(b"\n") && out.iter().filter(|b| **b == b'\n').count() == 1);
    }
}

//! Budget periods on the calendar (`budget_duration`), and the few date conversions the
//! management API needs, without a date crate.
//!
//! Every period is a pure function of the clock, so replicas agree without coordination:
//! `1d` resets at midnight, `7d`/`1w` on Monday at midnight, `30d`/`1mo` on the 1st of the
//! month, `Nmo` every N months counted from January 1970; any other length (`30s`, `5m`,
//! `12h`, `2d`) is a multiple of that length since the Unix epoch. All in the configured
//! timezone (`litellm_settings.timezone`: `UTC` or a fixed offset such as `+05:30`).

use crate::core::clock::{civil, days_from_civil};

/// How a `budget_duration` divides time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// A fixed number of seconds, aligned to the epoch (days: to local midnight).
    Every(i64),
    /// Monday midnight to Monday midnight.
    Week,
    /// The 1st of the month, every `n` months.
    Months(i64),
}

const DAY: i64 = 86_400;

impl Period {
    /// LiteLLM's duration strings: `Ns`, `Nm`, `Nh`, `Nd`, `Nw`, `Nmo`.
    pub fn parse(s: &str) -> Result<Period, String> {
        let s = s.trim();
        let bad =
            || format!("\"{s}\" is not a duration: use a number and s, m, h, d, w or mo (\"30d\")");
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = s.split_at(split);
        let n: i64 = n.parse().map_err(|_| bad())?;
        if n <= 0 || n > 100_000 {
            return Err(bad());
        }
        Ok(match unit {
            "s" => Period::Every(n),
            "m" => Period::Every(n * 60),
            "h" => Period::Every(n * 3600),
            "d" if n == 7 => Period::Week,
            "d" if n == 30 => Period::Months(1),
            "d" => Period::Every(n * DAY),
            "w" if n == 1 => Period::Week,
            "w" => Period::Every(n * 7 * DAY),
            "mo" => Period::Months(n),
            _ => return Err(bad()),
        })
    }

    /// The period holding `now` (unix seconds): `(start, end)`, end exclusive.
    pub fn bounds(self, now: i64, tz_offset: i64) -> (i64, i64) {
        let local = now + tz_offset;
        let (start, end) = match self {
            Period::Every(len) => {
                let start = local.div_euclid(len) * len;
                (start, start + len)
            }
            Period::Week => {
                // 1970-01-01 was a Thursday: Monday midnights are 4 days off the epoch.
                let start = (local - 4 * DAY).div_euclid(7 * DAY) * 7 * DAY + 4 * DAY;
                (start, start + 7 * DAY)
            }
            Period::Months(n) => {
                let (y, m, _) = civil(local.div_euclid(DAY));
                let index = (y * 12 + (m - 1)).div_euclid(n) * n;
                let first = |i: i64| days_from_civil(i.div_euclid(12), i.rem_euclid(12) + 1, 1);
                (first(index) * DAY, first(index + n) * DAY)
            }
        };
        (start - tz_offset, end - tz_offset)
    }
}

/// `UTC`, `Etc/UTC`, `Z` or a fixed offset (`+05:30`, `-0800`) to seconds east of UTC.
pub fn parse_timezone(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if matches!(t, "UTC" | "Etc/UTC" | "utc" | "Z" | "GMT") {
        return Ok(0);
    }
    let bad = || {
        format!("\"{s}\": use UTC or a fixed offset like +05:30 (IANA zone names are not supported yet)")
    };
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: i64 = digits[..2].parse().map_err(|_| bad())?;
    let m: i64 = digits[2..].parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// Unix seconds as LiteLLM prints datetimes: `2026-11-22T08:00:00+00:00`.
pub fn iso(secs: i64) -> String {
    let (y, mo, d) = civil(secs.div_euclid(DAY));
    let t = secs.rem_euclid(DAY);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// `YYYY-MM-DD`, optionally followed by `THH:MM[:SS]` and `Z`/`+00:00`, to unix seconds (UTC).
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b).and_then(|v| v.parse::<i64>().ok());
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5) != Some("-") || s.get(7..8) != Some("-") || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * DAY;
    if s.len() > 10 {
        if !matches!(s.get(10..11), Some("T" | " ")) {
            return None;
        }
        secs += num(11, 13)? * 3600 + num(14, 16)? * 60 + num(17, 19).unwrap_or(0);
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_322_600; // 2026-11-22T04:43:20Z, a Sunday

    #[test]
    fn durations_parse_as_litellm_writes_them() {
        assert_eq!(Period::parse("30s"), Ok(Period::Every(30)));
        assert_eq!(Period::parse("5m"), Ok(Period::Every(300)));
        assert_eq!(Period::parse("1d"), Ok(Period::Every(DAY)));
        assert_eq!(Period::parse("7d"), Ok(Period::Week));
        assert_eq!(Period::parse("30d"), Ok(Period::Months(1)));
        assert_eq!(Period::parse("2mo"), Ok(Period::Months(2)));
        for bad in ["", "d", "0d", "-1d", "3x", "1.5d"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calendar_boundaries() {
        assert_eq!(iso(T), "2026-11-22T04:43:20+00:00");
        let (s, e) = Period::parse("1d").unwrap().bounds(T, 0);
        assert_eq!(
            (iso(s).as_str(), iso(e).as_str()),
            ("2026-11-22T00:00:00+00:00", "2026-11-23T00:00:00+00:00")
        );
        let (s, e) = Period::Week.bounds(T, 0);
        assert_eq!(
            (iso(s).as_str(), iso(e).as_str()),
            ("2026-11-16T00:00:00+00:00", "2026-11-23T00:00:00+00:00")
        );
        let (s, e) = Period::Months(1).bounds(T, 0);
        assert_eq!(
            (iso(s).as_str(), iso(e).as_str()),
            ("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00")
        );
        // New York midnight is 05:00 UTC.
        let (s, _) = Period::parse("1d").unwrap().bounds(T, -5 * 3600);
        assert_eq!(iso(s), "2026-11-21T05:00:00+00:00");
        let (s, e) = Period::Months(1).bounds(days_from_civil(2026, 12, 31) * DAY, 0);
        assert_eq!(
            (iso(s).as_str(), iso(e).as_str()),
            ("2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")
        );
    }

    #[test]
    fn timezones_and_dates() {
        assert_eq!(parse_timezone("UTC"), Ok(0));
        assert_eq!(parse_timezone("+05:30"), Ok(19_800));
        assert_eq!(parse_timezone("-0800"), Ok(-28_800));
        assert!(parse_timezone("US/Eastern").is_err());
        assert_eq!(
            parse_date("2026-11-22"),
            Some(days_from_civil(2026, 11, 22) * DAY)
        );
        assert_eq!(parse_date("2026-11-22T04:43:20Z"), Some(T));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
        for d in [-1000, 0, 59, 60, 365, 20_000, 200_000] {
            let (y, m, dd) = civil(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}

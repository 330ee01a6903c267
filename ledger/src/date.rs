//! Calendar dates (ISO 8601 `YYYY-MM-DD`, UTC) and their relation to block times.
//!
//! Rules that depend on time (credit expiry, presentation period) compare dates with the
//! block's timestamp, never with a local clock.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// A calendar date, stored as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// A string that is not an ISO 8601 calendar date.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a date in the form YYYY-MM-DD")]
pub struct DateError(String);

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, DateError> {
        let err = || DateError(s.to_string());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        let (y, m, d) = (i64::from(num(0..4)?), num(5..7)?, num(8..10)?);
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return Err(err());
        }
        Ok(Date(days_from_civil(y, m, d) as i32))
    }

    /// The date `days` after this one.
    pub fn plus_days(self, days: u32) -> Date {
        Date(self.0.saturating_add(days.min(i32::MAX as u32) as i32))
    }

    /// The first millisecond after this day ends (UTC): a deadline "on" this date is met by any
    /// block time strictly below it.
    pub fn end_ms(self) -> u64 {
        let next = i64::from(self.0) + 1;
        if next <= 0 {
            0
        } else {
            (next as u64).saturating_mul(DAY_MS)
        }
    }

    /// The date of a millisecond timestamp (UTC).
    pub fn of_ms(ms: u64) -> Date {
        Date((ms / DAY_MS).min(i32::MAX as u64) as i32)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(i64::from(self.0));
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i32(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Date::parse(&s).map_err(serde::de::Error::custom)
        } else {
            Ok(Date(i32::deserialize(d)?))
        }
    }
}

/// Formats a millisecond timestamp as ISO 8601 UTC (`2026-11-22T04:06:21.123Z`).
pub fn format_ms(ms: u64) -> String {
    let day = Date::of_ms(ms);
    let rem = ms % DAY_MS;
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{day}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// Parses an ISO 8601 date-time in UTC or with an offset (`2026-11-22T04:06:21Z`,
/// `2026-11-22T04:06:21.5+08:00`, `2026-11-22T04:06`), or a date (midnight UTC), into
/// milliseconds since the Unix epoch.
pub fn parse_datetime_ms(s: &str) -> Result<u64, DateError> {
    let err = || DateError(s.to_string());
    let (date, rest) = match s.split_once(['T', ' ']) {
        Some((d, r)) => (d, Some(r)),
        None => (s, None),
    };
    let day = i64::from(Date::parse(date).map_err(|_| err())?.0);
    let mut ms = day * DAY_MS as i64;
    if let Some(rest) = rest {
        let (clock, offset_min) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
            (c, 0i64)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (c, o) = rest.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':').unwrap_or((&o[1..], "0"));
            let oh: i64 = oh.parse().map_err(|_| err())?;
            let om: i64 = om.parse().map_err(|_| err())?;
            if oh > 23 || om > 59 {
                return Err(err());
            }
            (c, sign * (oh * 60 + om))
        } else {
            (rest, 0)
        };
        let mut parts = clock.split(':');
        let h: i64 = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let m: i64 = parts.next().ok_or_else(err)?.parse().map_err(|_| err())?;
        let sec: f64 = match parts.next() {
            Some(x) => x.parse().map_err(|_| err())?,
            None => 0.0,
        };
        if parts.next().is_some() || h > 23 || m > 59 || !(0.0..60.0).contains(&sec) {
            return Err(err());
        }
        ms += (h * 3600 + m * 60 - offset_min * 60) * 1000 + (sec * 1000.0).round() as i64;
    }
    u64::try_from(ms).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_and_arithmetic() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-22", "2024-12-31"] {
            assert_eq!(Date::parse(s).expect(s).to_string(), s);
        }
        for s in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "20261122",
            "2026-11-00",
            "abcd-ef-gh",
        ] {
            assert!(Date::parse(s).is_err(), "{s}");
        }
        let d = Date::parse("2026-02-27").expect("date");
        assert_eq!(d.plus_days(2).to_string(), "2026-03-01");
        assert_eq!(Date::parse("1970-01-02").expect("d").end_ms(), 2 * DAY_MS);
        assert_eq!(
            Date::of_ms(DAY_MS * 365 + 5),
            Date::parse("1971-01-01").expect("d")
        );
        assert_eq!(format_ms(DAY_MS + 3_723_004), "1970-01-02T01:02:03.004Z");
        assert_eq!(parse_datetime_ms("1970-01-02"), Ok(DAY_MS));
        assert_eq!(
            parse_datetime_ms("1970-01-02T01:02:03.004Z"),
            Ok(DAY_MS + 3_723_004)
        );
        assert_eq!(
            parse_datetime_ms("1970-01-02T03:02+02:00"),
            Ok(DAY_MS + 3_720_000)
        );
        assert_eq!(parse_datetime_ms("1970-01-01T23:00-01:00"), Ok(DAY_MS));
        for bad in [
            "1970-01-02T25:00Z",
            "yesterday",
            "1970-01-02T01",
            "1969-12-31",
        ] {
            assert!(parse_datetime_ms(bad).is_err(), "{bad}");
        }
    }
}

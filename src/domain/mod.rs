//! Pure rules with no I/O: plans and seats, roles, email addresses, tokens, audit actions.
//! Unit-tested beside the code, without a database.

pub mod audit;
pub mod csv;
pub mod email;
pub mod ids;
pub mod plan;
pub mod role;
pub mod slug;
pub mod token;

use chrono::{NaiveDateTime, Timelike};

/// 1234567 → "1,234,567".
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The current UTC time at microsecond precision: what both databases keep, so a value written
/// and read back compares (and hashes) equal.
pub fn now() -> NaiveDateTime {
    truncate_micros(chrono::Utc::now().naive_utc())
}

pub fn truncate_micros(t: NaiveDateTime) -> NaiveDateTime {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.with_nanosecond(micros).unwrap_or(t)
}

/// "just now", "3 min ago", "5 hours ago", "3 days ago", "2 months ago".
pub fn relative_time(then: NaiveDateTime, now: NaiveDateTime) -> String {
    let secs = (now - then).num_seconds();
    if secs < 0 {
        return "just now".into();
    }
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3_599 => (secs / 60, "min"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        2_592_000..=31_535_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    if unit == "min" {
        format!("{n} min ago")
    } else if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_234), "1,234");
        assert_eq!(format_count(25_000_000), "25,000,000");
        assert_eq!(format_count(-1_000), "-1,000");
    }

    #[test]
    fn relative_times() {
        let now = now();
        assert_eq!(relative_time(now, now), "just now");
        assert_eq!(relative_time(now - Duration::minutes(3), now), "3 min ago");
        assert_eq!(relative_time(now - Duration::hours(1), now), "1 hour ago");
        assert_eq!(relative_time(now - Duration::days(3), now), "3 days ago");
        assert_eq!(relative_time(now - Duration::days(45), now), "1 month ago");
    }
}

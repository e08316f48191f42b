//! Unix times (f64 seconds) and their ISO 8601 UTC form for CSV and status output.

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `2026-12-04T20:21:07Z` (whole seconds, UTC).
pub fn iso(t: f64) -> String {
    let secs = t.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_matches_known_dates() {
        // `date -u -d @0`, `date -u -d @951782400` (a leap day), `date -u -d @1796415667`.
        assert_eq!(super::iso(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso(951_782_400.5), "2000-02-29T00:00:00Z");
        assert_eq!(super::iso(1_796_415_667.0), "2026-12-04T20:21:07Z");
    }
}

//! Civil (wall clock) calendar arithmetic on plain integers.
//!
//! A civil time is held as "local seconds": the seconds since
//! 1970-01-01T00:00:00 on the wall clock of some zone, so that an instant
//! is `local - offset`. The date conversions are the well-known
//! days-from-civil algorithms (proleptic Gregorian calendar); they are
//! exact for every year jiff supports (-9999..=9999) and need no allocation,
//! which keeps the search for the next fire cheap.

/// Seconds in a civil day (civil days never have leap seconds here).
pub(crate) const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a civil date (the inverse of
/// [`civil_from_days`]; the search only needs that direction).
#[cfg(test)]
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month 1-12, day 1-31) of a day number.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The weekday of a day number, 0 for Sunday to 6 for Saturday
/// (1970-01-01 was a Thursday).
pub(crate) fn weekday_from_days(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

/// Whether a year of the proleptic Gregorian calendar is a leap year.
pub(crate) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days in a month.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_over_four_centuries() {
        let start = days_from_civil(1900, 1, 1);
        let mut expected = (1900, 1, 1);
        for days in start..start + 146_097 {
            assert_eq!(civil_from_days(days), expected);
            assert_eq!(days_from_civil(expected.0, expected.1, expected.2), days);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(weekday_from_days(0), 4);
        // 2026-03-29 is a Sunday.
        assert_eq!(weekday_from_days(days_from_civil(2026, 3, 29)), 0);
        assert_eq!(civil_from_days(days_from_civil(-9999, 1, 1)), (-9999, 1, 1));
        assert_eq!(
            civil_from_days(days_from_civil(9999, 12, 31)),
            (9999, 12, 31)
        );
        assert!(is_leap(2000) && !is_leap(2100) && is_leap(2024));
    }
}

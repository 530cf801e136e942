//! Calendar schedules (SPEC §14): cron fields, time zones and daylight
//! saving, one-off times.
//!
//! Expected fires are drawn by hand as UTC instants, with the wall clock
//! time they stand for in a comment.

use std::str::FromStr;

use synchronik_core::{AtSchedule, CronSchedule, ScheduleError};

/// Unix ms of an RFC 3339 instant.
fn ms(s: &str) -> f64 {
    jiff::Timestamp::from_str(s).unwrap().as_millisecond() as f64
}

/// RFC 3339 (UTC) of Unix ms, for readable failures.
fn iso(ms: f64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .unwrap()
        .to_string()
}

fn cron(expr: &str, tz: &str) -> CronSchedule {
    CronSchedule::parse(expr, Some(tz)).unwrap_or_else(|e| panic!("{expr} in {tz}: {e}"))
}

/// The next `n` fires after `after`, as UTC strings.
fn fires(expr: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
    cron(expr, tz)
        .next_n(ms(after), n)
        .into_iter()
        .map(iso)
        .collect()
}

fn refused(expr: &str) -> String {
    CronSchedule::parse(expr, Some("UTC"))
        .unwrap_err()
        .to_string()
}

// ---------------------------------------------------------------------------
// Daylight saving
// ---------------------------------------------------------------------------

/// Berlin, spring 2026: at 01:00Z on Sunday 29 March the clock jumps from
/// 02:00 CET (+01) to 03:00 CEST (+02).
///
/// ```text
/// local  28th 02:30 CET | 29th 02:00──gap──03:00 CEST | 30th 02:30 CEST
/// UTC        01:30Z     |      01:00Z (fires once)     |      00:30Z
/// ```
#[test]
fn berlin_fixed_time_in_the_spring_gap_fires_once_after_it() {
    assert_eq!(
        fires("0 30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 3),
        [
            "2026-03-28T01:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
}

/// Berlin, autumn 2026: at 01:00Z on Sunday 25 October the clock goes back
/// from 03:00 CEST (+02) to 02:00 CET (+01); 02:30 happens twice and the
/// fixed time fires at the first one only.
///
/// ```text
/// local  24th 02:30 CEST | 25th 02:30 CEST, 02:30 CET | 26th 02:30 CET
/// UTC        00:30Z      |      00:30Z     (01:30Z no)  |     01:30Z
/// ```
#[test]
fn berlin_fixed_time_in_the_autumn_overlap_fires_at_its_first_occurrence() {
    assert_eq!(
        fires("0 30 2 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", 3),
        [
            "2026-10-24T00:30:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:30:00Z"
        ]
    );
    // From inside the overlap's second pass, the next fire is the next day.
    assert_eq!(
        fires("0 30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", 1),
        ["2026-10-26T01:30:00Z"]
    );
}

/// A list of fixed times is fixed too (SPEC §14: no wildcard, step or
/// range); croner calls it an interval job, so this is where the module
/// follows the SPEC rather than croner.
#[test]
fn berlin_a_list_of_fixed_times_is_a_fixed_time() {
    // 02:00 and 02:30 both fall in the gap: one fire, at 03:00 CEST.
    assert_eq!(
        fires("0 0,30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3),
        [
            "2026-03-29T01:00:00Z",
            "2026-03-30T00:00:00Z",
            "2026-03-30T00:30:00Z"
        ]
    );
    // In the overlap each fires once, in the first pass (+02).
    assert_eq!(
        fires("0 0,30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 3),
        [
            "2026-10-25T00:00:00Z",
            "2026-10-25T00:30:00Z",
            "2026-10-26T01:00:00Z"
        ]
    );
}

/// A one-value range is a range: it follows real time.
#[test]
fn berlin_a_range_follows_real_time() {
    // 02:30 does not exist on 29 March: skipped.
    assert_eq!(
        fires("0 30 2-2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 1),
        ["2026-03-30T00:30:00Z"]
    );
    // 02:30 happens twice on 25 October: both.
    assert_eq!(
        fires("0 30 2-2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 3),
        [
            "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00Z",
            "2026-10-26T01:30:00Z"
        ]
    );
}

/// New York, spring 2026: at 07:00Z on 8 March 02:00 EST (-05) becomes
/// 03:00 EDT (-04). Every 30 minutes follows real time: 02:00 and 02:30 do
/// not exist and are skipped.
///
/// ```text
/// local  01:00 EST  01:30 EST  [02:00 02:30 gap]  03:00 EDT  03:30 EDT
/// UTC    06:00Z     06:30Z                        07:00Z     07:30Z
/// ```
#[test]
fn new_york_every_30_minutes_skips_the_spring_gap() {
    assert_eq!(
        fires(
            "*/30 * * * *",
            "America/New_York",
            "2026-03-08T05:45:00Z",
            4
        ),
        [
            "2026-03-08T06:00:00Z",
            "2026-03-08T06:30:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:30:00Z"
        ]
    );
}

/// New York, autumn 2026: at 06:00Z on 1 November 02:00 EDT (-04) becomes
/// 01:00 EST (-05). The repeated hour fires in both passes.
///
/// ```text
/// local  01:00 EDT  01:30 EDT  01:00 EST  01:30 EST  02:00 EST
/// UTC    05:00Z     05:30Z     06:00Z     06:30Z     07:00Z
/// ```
#[test]
fn new_york_every_30_minutes_fires_twice_in_the_autumn_overlap() {
    assert_eq!(
        fires(
            "*/30 * * * *",
            "America/New_York",
            "2026-11-01T04:45:00Z",
            5
        ),
        [
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T07:00:00Z"
        ]
    );
    // Resuming from each returned fire walks the same sequence.
    let s = cron("*/30 * * * *", "America/New_York");
    let mut t = ms("2026-11-01T04:45:00Z");
    let mut seen = Vec::new();
    for _ in 0..5 {
        t = s.next_after(t).unwrap();
        seen.push(iso(t));
    }
    assert_eq!(seen[2], "2026-11-01T06:00:00Z");
}

/// Lord Howe moves by 30 minutes: +10:30 in winter, +11 in summer.
///
/// ```text
/// 2026-04-05: 02:00 +11 → 01:30 +10:30 at 15:00Z on the 4th
///   */15: 01:30 +11 (14:30Z) 01:45 +11 (14:45Z) 01:30 +10:30 (15:00Z)
///         01:45 +10:30 (15:15Z) 02:00 +10:30 (15:30Z)
///   01:45 fixed: 14:45Z only
/// 2026-10-04: 02:00 +10:30 → 02:30 +11 at 15:30Z on the 3rd
///   02:15 fixed: 15:45Z on the 2nd (+10:30), 15:30Z on the 3rd (gap),
///                15:15Z on the 4th (+11)
/// ```
#[test]
fn lord_howe_half_hour_transitions() {
    let tz = "Australia/Lord_Howe";
    assert_eq!(
        fires("*/15 * * * *", tz, "2026-04-04T14:20:00Z", 5),
        [
            "2026-04-04T14:30:00Z",
            "2026-04-04T14:45:00Z",
            "2026-04-04T15:00:00Z",
            "2026-04-04T15:15:00Z",
            "2026-04-04T15:30:00Z"
        ]
    );
    assert_eq!(
        fires("45 1 * * *", tz, "2026-04-04T12:00:00Z", 2),
        ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
    );
    assert_eq!(
        fires("15 2 * * *", tz, "2026-10-02T12:00:00Z", 3),
        [
            "2026-10-02T15:45:00Z",
            "2026-10-03T15:30:00Z",
            "2026-10-04T15:15:00Z"
        ]
    );
}

/// Kolkata is +05:30 all year: local hours fall on the half hour in UTC.
#[test]
fn kolkata_half_hour_offset_without_daylight_saving() {
    assert_eq!(
        fires("0 9 * * *", "Asia/Kolkata", "2026-03-28T00:00:00Z", 2),
        ["2026-03-28T03:30:00Z", "2026-03-29T03:30:00Z"]
    );
    assert_eq!(
        fires("@hourly", "Asia/Kolkata", "2026-07-01T00:00:00Z", 2),
        ["2026-07-01T00:30:00Z", "2026-07-01T01:30:00Z"]
    );
}

/// Chatham is +12:45 in winter and +13:45 in summer; on 27 September 2026
/// 02:45 +12:45 (14:00Z on the 26th) becomes 03:45 +13:45.
#[test]
fn chatham_quarter_hour_offsets() {
    let tz = "Pacific/Chatham";
    assert_eq!(
        fires("0 12 * * *", tz, "2026-01-14T00:00:00Z", 1),
        ["2026-01-14T22:15:00Z"] // 12:00 +13:45 on the 15th
    );
    assert_eq!(
        fires("0 12 * * *", tz, "2026-07-14T00:00:00Z", 1),
        ["2026-07-14T23:15:00Z"] // 12:00 +12:45 on the 15th
    );
    // 03:00 falls in the gap on the 27th: it fires at 03:45 +13:45.
    assert_eq!(
        fires("0 3 * * *", tz, "2026-09-25T00:00:00Z", 3),
        [
            "2026-09-25T14:15:00Z", // 03:00 +12:45 on the 26th
            "2026-09-26T14:00:00Z", // the transition
            "2026-09-27T13:15:00Z"  // 03:00 +13:45 on the 28th
        ]
    );
}

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

#[test]
fn five_and_six_fields() {
    // 5 fields: minute first, seconds 0.
    assert_eq!(
        fires("5 * * * *", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2026-01-01T00:05:00Z", "2026-01-01T01:05:00Z"]
    );
    // 6 fields: seconds first.
    assert_eq!(
        fires("*/20 * * * * *", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-01T00:00:20Z",
            "2026-01-01T00:00:40Z",
            "2026-01-01T00:01:00Z"
        ]
    );
}

#[test]
fn lists_ranges_and_steps() {
    assert_eq!(
        fires("0 10-20/5 8,17 * * *", "UTC", "2026-01-01T00:00:00Z", 7),
        [
            "2026-01-01T08:10:00Z",
            "2026-01-01T08:15:00Z",
            "2026-01-01T08:20:00Z",
            "2026-01-01T17:10:00Z",
            "2026-01-01T17:15:00Z",
            "2026-01-01T17:20:00Z",
            "2026-01-02T08:10:00Z"
        ]
    );
}

#[test]
fn names_of_days_and_months() {
    // Weekdays of January and July at noon; 2026-01-01 is a Thursday.
    assert_eq!(
        fires("0 12 * JAN,jul MON-FRI", "UTC", "2026-01-01T13:00:00Z", 2),
        ["2026-01-02T12:00:00Z", "2026-01-05T12:00:00Z"]
    );
    assert_eq!(
        fires("0 12 * JAN,JUL MON-FRI", "UTC", "2026-01-31T00:00:00Z", 1),
        ["2026-07-01T12:00:00Z"]
    );
    // 7 is Sunday, as 0 and SUN are.
    assert_eq!(
        fires("0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-01-04T00:00:00Z"]
    );
}

#[test]
fn last_day_nearest_weekday_and_nth_weekday() {
    // L: the last day of the month.
    assert_eq!(
        fires("0 0 L * *", "UTC", "2026-02-01T00:00:00Z", 2),
        ["2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z"]
    );
    // LW: the last weekday. 28 Feb 2026 is a Saturday, 31 May a Sunday.
    assert_eq!(
        fires("0 0 LW 2,5 *", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2026-02-27T00:00:00Z", "2026-05-29T00:00:00Z"]
    );
    // 15W: 15 Aug 2026 is a Saturday (→ Fri 14th), 15 Nov a Sunday (→ Mon 16th).
    assert_eq!(
        fires("0 0 15W 8,11 *", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2026-08-14T00:00:00Z", "2026-11-16T00:00:00Z"]
    );
    // 1W does not leave the month: 1 Aug 2026 is a Saturday (→ Mon 3rd).
    assert_eq!(
        fires("0 0 1W 8 *", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-08-03T00:00:00Z"]
    );
    // #: the second Friday; 5L and FRI#L: the last Friday (January 2026).
    assert_eq!(
        fires("0 0 * 1 5#2", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-01-09T00:00:00Z"]
    );
    assert_eq!(
        fires("0 0 * 1 5L", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-01-30T00:00:00Z"]
    );
    assert_eq!(
        fires("0 0 * 1 FRI#L", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-01-30T00:00:00Z"]
    );
}

#[test]
fn question_mark_is_any_day() {
    // Mondays; 2026-01-05 is the first Monday of 2026.
    assert_eq!(
        fires("0 0 ? * MON", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"]
    );
    assert_eq!(
        fires("0 0 1 * ?", "UTC", "2026-01-01T00:00:00Z", 1),
        ["2026-02-01T00:00:00Z"]
    );
}

/// Day-of-month and day-of-week combine with OR (Vixie): the 13th and
/// every Friday. April 2026: Fridays 3, 10, 17, 24; the 13th is a Monday.
#[test]
fn day_of_month_or_day_of_week() {
    assert_eq!(
        fires("0 0 13 * FRI", "UTC", "2026-04-01T00:00:00Z", 5),
        [
            "2026-04-03T00:00:00Z",
            "2026-04-10T00:00:00Z",
            "2026-04-13T00:00:00Z",
            "2026-04-17T00:00:00Z",
            "2026-04-24T00:00:00Z"
        ]
    );
}

#[test]
fn nicknames() {
    let after = "2026-05-15T10:20:30Z"; // a Friday
    assert_eq!(fires("@yearly", "UTC", after, 1), ["2027-01-01T00:00:00Z"]);
    assert_eq!(
        fires("@annually", "UTC", after, 1),
        ["2027-01-01T00:00:00Z"]
    );
    assert_eq!(fires("@monthly", "UTC", after, 1), ["2026-06-01T00:00:00Z"]);
    assert_eq!(fires("@weekly", "UTC", after, 1), ["2026-05-17T00:00:00Z"]);
    assert_eq!(fires("@daily", "UTC", after, 1), ["2026-05-16T00:00:00Z"]);
    assert_eq!(fires("@HOURLY", "UTC", after, 1), ["2026-05-15T11:00:00Z"]);
    // In a zone: midnight in Berlin.
    assert_eq!(
        fires("@daily", "Europe/Berlin", after, 1),
        ["2026-05-15T22:00:00Z"]
    );
}

#[test]
fn next_after_is_strictly_after() {
    let s = cron("* * * * * *", "UTC");
    let t = ms("2026-01-01T00:00:00Z");
    assert_eq!(s.next_after(t), Some(t + 1000.0));
    assert_eq!(s.next_after(t - 0.5), Some(t));
    assert_eq!(s.next_after(t + 999.999), Some(t + 1000.0));
    assert_eq!(s.next_after(f64::NAN), None);
    assert_eq!(s.next_after(f64::INFINITY), None);
    // The engine's manual clock starts at 0 (1970).
    assert_eq!(
        cron("@yearly", "UTC").next_after(0.0),
        Some(ms("1971-01-01T00:00:00Z"))
    );
    // Nothing after year 9999.
    assert_eq!(
        cron("@yearly", "UTC").next_after(ms("9999-06-01T00:00:00Z")),
        None
    );
}

#[test]
fn feb_29_fires_in_leap_years_only() {
    assert_eq!(
        fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2028-02-29T00:00:00Z",
            "2032-02-29T00:00:00Z",
            "2036-02-29T00:00:00Z"
        ]
    );
    // 2100 is not a leap year.
    assert_eq!(
        fires("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1),
        ["2104-02-29T00:00:00Z"]
    );
}

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

#[test]
fn expressions_that_never_fire_are_refused_naming_the_field() {
    assert_eq!(
        refused("0 0 30 2 *"),
        r#"schedule.cron: day-of-month 30 never occurs in February (got "0 0 30 2 *")"#
    );
    assert_eq!(
        refused("0 0 31 4 *"),
        r#"schedule.cron: day-of-month 31 never occurs in April (got "0 0 31 4 *")"#
    );
    assert_eq!(
        refused("0 0 31 2,4,6 *"),
        r#"schedule.cron: day-of-month 31 never occurs in February, April or June (got "0 0 31 2,4,6 *")"#
    );
    assert!(matches!(
        CronSchedule::parse("0 0 30 2 *", None),
        Err(ScheduleError::NeverFires {
            field: "day-of-month",
            ..
        })
    ));
    // The 30th of February on a Monday (AND with +): both fields.
    assert!(matches!(
        CronSchedule::parse("0 0 30 2 +MON", Some("UTC")),
        Err(ScheduleError::NeverFires {
            field: "day-of-month and day-of-week",
            ..
        })
    ));
    // A bare L in the day-of-week field names no day (croner reads L there
    // only after a weekday, as in 5L).
    assert_eq!(
        refused("0 0 * * L"),
        r#"schedule.cron: day-of-week L never occurs in any month (got "0 0 * * L")"#
    );
    // Accepted: they do happen.
    for expr in ["0 0 29 2 *", "0 0 31 * *", "0 0 29 2 +MON", "0 0 * 2 MON#5"] {
        assert!(CronSchedule::parse(expr, Some("UTC")).is_ok(), "{expr}");
    }
}

#[test]
fn malformed_expressions_are_refused_naming_the_field() {
    assert_eq!(
        refused(""),
        r#"schedule.cron: expected a cron expression such as "*/5 * * * *", got an empty string"#
    );
    assert!(refused("* * * *").contains("got 4 fields (got \"* * * *\")"));
    assert!(refused("0 0 0 1 1 * 2030").contains("got 7 fields"));
    assert!(refused("@fortnightly").starts_with("schedule.cron: unknown nickname \"@fortnightly\""));
    assert_eq!(
        refused("61 * * * *"),
        r#"schedule.cron: minute "61" is not valid: number out of bounds; expected 0-59, *, a list (1,2), a range (1-5) or a step (*/5, 10-30/5) (got "61 * * * *")"#
    );
    assert!(refused("0 0 25 * * *").starts_with(r#"schedule.cron: hour "25" is not valid"#));
    assert!(refused("0 0 32 * *").starts_with(r#"schedule.cron: day-of-month "32" is not valid"#));
    assert!(refused("0 0 * 13 *").starts_with(r#"schedule.cron: month "13" is not valid"#));
    assert!(refused("0 0 * * 8").starts_with(r#"schedule.cron: day-of-week "8" is not valid"#));
    assert!(
        refused("0 0 * * MON#6").starts_with(r#"schedule.cron: day-of-week "MON#6" is not valid"#)
    );
    assert!(refused("x * * * * *").starts_with(r#"schedule.cron: second "x" is not valid"#));
    assert_eq!(
        refused("? 0 * * *"),
        r#"schedule.cron: minute "?" is not valid: illegal character '?' in part '?'; expected 0-59, *, a list (1,2), a range (1-5) or a step (*/5, 10-30/5) (got "? 0 * * *")"#
    );
    assert!(refused("0 , * * *")
        .starts_with(r#"schedule.cron: hour "," is not valid: it names no value"#));
    assert!(matches!(
        CronSchedule::parse("*/0 * * * *", Some("UTC")),
        Err(ScheduleError::InvalidField {
            field: "minute",
            ..
        })
    ));
}

#[test]
fn unknown_time_zone_is_refused() {
    assert_eq!(
        CronSchedule::parse("0 0 * * *", Some("Mars/Base"))
            .unwrap_err()
            .to_string(),
        r#"schedule.timezone: unknown time zone "Mars/Base" (expected an IANA name such as "Europe/Berlin" or "UTC")"#
    );
    assert!(CronSchedule::parse("0 0 * * *", Some("")).is_err());
}

#[test]
fn the_default_zone_is_the_machines() {
    let s = CronSchedule::parse("0 0 * * *", None).unwrap();
    let system = jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC);
    assert_eq!(s.time_zone(), &system);
}

// ---------------------------------------------------------------------------
// The bundled zone database
// ---------------------------------------------------------------------------

/// Zone lookups in a child process whose `TZDIR` is an empty directory:
/// with a system database they would fail there. The test runs itself in
/// that child (told apart by `SYNCHRONIK_TZ_CHILD`).
#[test]
fn the_zone_database_is_bundled() {
    if std::env::var_os("SYNCHRONIK_TZ_CHILD").is_some() {
        zone_lookups_with_an_empty_tzdir();
        return;
    }
    let empty = std::env::temp_dir().join(format!("synchronik-empty-tzdir-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_zone_database_is_bundled", "--nocapture"])
        .env("TZDIR", &empty)
        .env("SYNCHRONIK_TZ_CHILD", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&empty);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 passed"), "{text}");
}

/// What the child of [`the_zone_database_is_bundled`] checks.
fn zone_lookups_with_an_empty_tzdir() {
    assert!(std::fs::read_dir(std::env::var_os("TZDIR").unwrap())
        .unwrap()
        .next()
        .is_none());
    for tz in [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Asia/Kolkata",
        "UTC",
    ] {
        CronSchedule::parse("0 0 * * *", Some(tz)).unwrap();
    }
    assert_eq!(
        fires("0 30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 1),
        ["2026-03-29T01:00:00Z"]
    );
}

// ---------------------------------------------------------------------------
// Against croner's own zoned search
// ---------------------------------------------------------------------------

/// Where the SPEC and croner agree on what a fixed time is (single values,
/// or a wildcard or step), the fires here equal those of croner's own
/// search with jiff zones, around every transition of 2026-2027 in zones
/// with unusual rules.
#[test]
fn agrees_with_croners_zoned_search() {
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Asia/Kolkata",
        "America/Santiago",
        "America/Havana",
        "Asia/Tehran",
        "Africa/Casablanca",
        "UTC",
    ];
    let patterns = [
        "0 30 2 * * *",
        "0 0 0 * * *",
        "0 0 1 * * *",
        "0 15 3 * * *",
        "0 */30 * * * *",
        "0 */15 1-3 * * *",
        "0 0 * * * *",
        "30 45 1 * * SUN",
        "0 0 12 L * *",
        "0 30 0 1W * *",
        "0 0 2 * * 0#1",
        "0 59 23 * * *",
    ];
    for tz_name in zones {
        let tz = jiff::tz::TimeZone::get(tz_name).unwrap();
        let start = jiff::Timestamp::from_str("2026-01-01T00:00:00Z").unwrap();
        // Before, at and just after each transition, and inside the hour
        // that follows it (a fall-back's second pass).
        let mut origins = vec![start];
        for t in tz.following(start).take(4) {
            for secs in [-26 * 3600, -3601, -1, 0, 1, 1800, 3599] {
                origins.push(t.timestamp() + jiff::SignedDuration::from_secs(secs));
            }
        }
        for pattern in patterns {
            let ours = CronSchedule::parse(pattern, Some(tz_name)).unwrap();
            let theirs = croner::Cron::from_str(pattern).unwrap();
            for origin in &origins {
                let mut z = origin.to_zoned(tz.clone());
                let mut t = origin.as_millisecond() as f64;
                for i in 0..40 {
                    let next = theirs.find_next_occurrence(&z, false).unwrap();
                    let ours_next = ours.next_after(t).unwrap();
                    assert_eq!(
                        iso(ours_next),
                        next.timestamp().to_string(),
                        "{pattern} in {tz_name}, fire {i} after {z}"
                    );
                    t = ours_next;
                    z = next;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// One-off times and size
// ---------------------------------------------------------------------------

#[test]
fn one_off_times() {
    let a = AtSchedule::new([3000.0, 1000.0, 2000.0, 1000.0]).unwrap();
    assert_eq!(a.times(), [1000.0, 2000.0, 3000.0]);
    assert_eq!(a.next_after(0.0), Some(1000.0));
    assert_eq!(a.next_after(1000.0), Some(2000.0));
    assert_eq!(a.next_after(3000.0), None);
    assert_eq!(a.next_n(999.0, 5), [1000.0, 2000.0, 3000.0]);
    assert_eq!(
        AtSchedule::new([1.0, f64::NAN]).unwrap_err().to_string(),
        "schedule.at: expected finite times (ms since the Unix epoch), got NaN at index 1"
    );
}

/// An engine holds one schedule per unit (100,000 of them must cost at most
/// twice as much as interval workers): a schedule is a small value with no
/// heap of its own (the zone is a shared reference, and so is the table of
/// its days).
#[test]
fn a_schedule_is_small() {
    let size = std::mem::size_of::<CronSchedule>();
    assert!(size <= 40, "{size} bytes");

    // Schedules in one zone share it: a clone of the zone is a reference.
    let a = CronSchedule::parse("0 0 * * MON-FRI", Some("Europe/Berlin")).unwrap();
    let b = CronSchedule::parse("0 30 2 * * *", Some("Europe/Berlin")).unwrap();
    assert_eq!(a.time_zone(), b.time_zone());
    assert_eq!(
        std::mem::size_of_val(a.time_zone()),
        std::mem::size_of::<usize>()
    );
}

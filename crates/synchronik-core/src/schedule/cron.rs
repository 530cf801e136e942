//! Cron expressions in a time zone: parsing, validation and next fires.
//!
//! Parsing and the meaning of each field (names, ranges, steps, lists, `L`,
//! `W`, `#`, `?`, nicknames, Vixie's day-of-month OR day-of-week) come from
//! the `croner` crate. Its parsed pattern holds about 5 KB (a year table up
//! to 5000), too much for 100,000 schedules, so [`CronSchedule`] keeps
//! only what the search needs, read from croner's own matchers:
//!
//! * one bit per allowed second, minute, hour and month;
//! * which days of a month match, for each of the 28 shapes a month can
//!   have (28 to 31 days, starting on any of the 7 weekdays). `L`, `W`, `#`
//!   and the OR of the two day fields only depend on that shape, so the
//!   table answers them exactly, and it also tells at once whether an
//!   expression can ever fire: every shape occurs in every 400-year cycle.
//!
//! Time zones come from jiff with its bundled copy of the IANA database, so
//! nothing is read from `/usr/share/zoneinfo`.
//!
//! # Daylight saving (SPEC §14)
//!
//! The offset of a zone is constant between two transitions: a *segment*.
//! Within a segment wall clock times and instants map one to one, so the
//! next fire is found segment after segment, in real time order:
//!
//! * a schedule that follows real time (a wildcard, step or range in the
//!   seconds, minutes or hours field) fires at every instant whose wall
//!   clock time matches. Times inside a spring-forward gap belong to no
//!   segment and are skipped; times repeated by a fall-back belong to two
//!   segments and fire in both passes;
//! * a *fixed* time of day (only single values or lists there) fires once
//!   per wall clock time: in a fall-back, at the first occurrence only; in a
//!   spring-forward gap, once, at the transition (the first valid instant
//!   after the gap: 02:30 in a 02:00→03:00 gap fires at 03:00).
//!
//! croner applies the same rules, but calls a time fixed only when each of
//! those fields holds a single value; the SPEC counts lists as fixed too
//! (`0 0,30 2 * * *` fires once at 03:00 on a spring-forward day in Berlin)
//! and a one-value range such as `2-2` as not fixed. Doing the walk here
//! follows the SPEC in both cases.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use croner::{Cron, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::civil::{civil_from_days, days_in_month, weekday_from_days, DAY};
use super::error::ScheduleError;

/// The fields of a 6-field expression, in order.
const FIELD_NAMES: [&str; 6] = [
    "second",
    "minute",
    "hour",
    "day-of-month",
    "month",
    "day-of-week",
];

/// What each field accepts, for error messages.
const FIELD_EXPECTED: [&str; 6] = [
    "0-59, *, a list (1,2), a range (1-5) or a step (*/5, 10-30/5)",
    "0-59, *, a list (1,2), a range (1-5) or a step (*/5, 10-30/5)",
    "0-23, *, a list (1,2), a range (1-5) or a step (*/2, 8-18/2)",
    "1-31, *, ?, L (last day), LW (last weekday), 15W (weekday nearest the 15th), a list, a range or a step",
    "1-12 or JAN-DEC, *, a list, a range or a step",
    "0-7 or SUN-SAT (0 and 7 are Sunday), *, ?, 5#2 (second Friday), 5L (last Friday), a list, a range or a step",
];

/// A field that fits every value, used to try one field at a time.
const NEUTRAL_FIELDS: [&str; 6] = ["0", "0", "0", "*", "*", "*"];

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// How far ahead a search looks: a whole 400-year Gregorian cycle (every
/// month shape occurs in it) and a year to spare.
const HORIZON_YEARS: i64 = 401;

/// The last second jiff can represent (9999-12-31T23:59:59Z).
fn max_second() -> i64 {
    Timestamp::MAX.as_second()
}

/// The first second jiff can represent.
fn min_second() -> i64 {
    Timestamp::MIN.as_second()
}

/// Looks up a time zone for a schedule: the IANA zone of that name from the
/// bundled database, or, without a name, the machine's zone (UTC when it
/// cannot be determined).
///
/// Zones from the database are shared: every schedule in the same zone
/// holds a reference to one copy.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, ScheduleError> {
    match name {
        Some(name) => TimeZone::get(name).map_err(|_| ScheduleError::UnknownTimeZone {
            name: name.to_string(),
        }),
        None => Ok(TimeZone::try_system().unwrap_or(TimeZone::UTC)),
    }
}

/// A cron schedule in a time zone: an expression that has been parsed and
/// checked to fire at least once, and the zone its wall clock times are in.
///
/// Small and free of heap allocations of its own (the zone is shared, and
/// so is the table of its days with every schedule of the same day fields),
/// so that an engine can hold one per scheduled unit. Fire times are whole
/// seconds, given as Unix milliseconds like the engine's
/// [`Clock::wall_ms`](crate::Clock::wall_ms).
#[derive(Debug, Clone, PartialEq)]
pub struct CronSchedule {
    zone: TimeZone,
    /// Bit `s` for each allowed second.
    seconds: u64,
    /// Bit `m` for each allowed minute.
    minutes: u64,
    /// Bit `h` for each allowed hour.
    hours: u32,
    /// Bit `m` (1-12) for each allowed month.
    months: u16,
    /// A fixed time of day, in the SPEC's sense (see the module docs).
    fixed: bool,
    /// Which days of a month match, by the month's shape: shared by the
    /// schedules of the same day fields (112 bytes each where they were
    /// copied).
    days: Arc<DayTable>,
}

/// `[len - 28][w]`: bit `d - 1` for each matching day `d` of a month of
/// `len` days whose first day is weekday `w` (0 = Sunday).
type DayTable = [[u32; 7]; 4];

impl CronSchedule {
    /// Parses a cron expression in a time zone: an IANA name, or `None` for
    /// the machine's zone (UTC when it cannot be determined).
    ///
    /// The expression has 5 fields (minute hour day-of-month month
    /// day-of-week), 6 with seconds first, or is one of the nicknames
    /// `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`, `@hourly`.
    ///
    /// Refuses, naming the field and what was given: an expression that
    /// cannot be read, one that can never fire (`0 0 30 2 *`), and an
    /// unknown zone.
    pub fn parse(expr: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let zone = time_zone(timezone)?;
        Self::parse_in(expr, zone)
    }

    /// Parses a cron expression in a zone already looked up (see
    /// [`time_zone`]), so that many schedules can share one lookup.
    pub fn parse_in(expr: &str, zone: TimeZone) -> Result<Self, ScheduleError> {
        let fields = split_fields(expr)?;
        // A year field of one value: the search below never asks croner
        // about years, and filling croner's table of years 1-5000 for `*`
        // was most of the cost of a parse.
        let cron = Cron::from_str(&format!("{} 2000", fields.join(" ")))
            .map_err(|err| blame_field(expr, &fields, err))?;
        let pattern = &cron.pattern;

        let mut seconds = 0u64;
        let mut minutes = 0u64;
        for v in 0..60u32 {
            if pattern.second_match(v).unwrap_or(false) {
                seconds |= 1 << v;
            }
            if pattern.minute_match(v).unwrap_or(false) {
                minutes |= 1 << v;
            }
        }
        let mut hours = 0u32;
        for v in 0..24u32 {
            if pattern.hour_match(v).unwrap_or(false) {
                hours |= 1 << v;
            }
        }
        let mut months = 0u16;
        for v in 1..=12u32 {
            if pattern.month_match(v).unwrap_or(false) {
                months |= 1 << v;
            }
        }
        let days = day_table(pattern, &fields[3], &fields[5]);

        for (index, empty) in [seconds == 0, minutes == 0, hours == 0]
            .into_iter()
            .enumerate()
            .chain([(4, months == 0)])
        {
            if empty {
                return Err(ScheduleError::InvalidField {
                    field: FIELD_NAMES[index],
                    value: fields[index].clone(),
                    reason: "it names no value".to_string(),
                    expected: FIELD_EXPECTED[index],
                    expr: expr.to_string(),
                });
            }
        }

        let fixed = fields[..3].iter().all(|f| !f.contains(['*', '/', '-']));
        let schedule = CronSchedule {
            zone,
            seconds,
            minutes,
            hours,
            months,
            fixed,
            days,
        };
        if !schedule.ever_fires() {
            let field = match (pattern.is_dom_wildcard(), pattern.is_dow_wildcard()) {
                (false, true) => "day-of-month",
                (true, false) => "day-of-week",
                _ => "day-of-month and day-of-week",
            };
            let what = match field {
                "day-of-month" => format!("day-of-month {} never occurs", fields[3]),
                "day-of-week" => format!("day-of-week {} never occurs", fields[5]),
                _ => format!(
                    "day-of-month {} and day-of-week {} never match a day",
                    fields[3], fields[5]
                ),
            };
            return Err(ScheduleError::NeverFires {
                field,
                message: format!("{what} in {}", month_list(months)),
                expr: expr.to_string(),
            });
        }
        Ok(schedule)
    }

    /// The zone the expression's wall clock times are in.
    pub fn time_zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Whether the expression names a fixed time of day (no wildcard, step
    /// or range in the seconds, minutes and hours fields), which decides
    /// how daylight saving transitions are handled (see the module docs).
    pub fn is_fixed_time(&self) -> bool {
        self.fixed
    }

    /// The first fire strictly after `after_ms` (Unix milliseconds), or
    /// `None` if there is none before the end of year 9999 (or `after_ms`
    /// is NaN).
    pub fn next_after(&self, after_ms: f64) -> Option<f64> {
        let start = first_second_after(after_ms)?;
        self.next_from(start).map(|s| s as f64 * 1000.0)
    }

    /// The next `n` fires strictly after `after_ms`, in order (fewer near
    /// the end of year 9999).
    pub fn next_n(&self, after_ms: f64, n: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(n.min(1024));
        let mut after = after_ms;
        while out.len() < n {
            match self.next_after(after) {
                Some(next) => {
                    out.push(next);
                    after = next;
                }
                None => break,
            }
        }
        out
    }

    /// Whether some month that the expression allows has a matching day.
    /// Every shape of a month occurs in every 400-year cycle, so this is
    /// exact.
    fn ever_fires(&self) -> bool {
        (1..=12u32).any(|month| {
            let lengths: &[u32] = match month {
                2 => &[28, 29],
                4 | 6 | 9 | 11 => &[30],
                _ => &[31],
            };
            self.months & (1 << month) != 0
                && lengths
                    .iter()
                    .any(|&len| self.days[(len - 28) as usize].iter().any(|&m| m != 0))
        })
    }

    /// The first fire at or after the Unix second `start`.
    ///
    /// Walks the zone's segments (spans of constant offset) in order; see
    /// the module docs for the rules.
    fn next_from(&self, start: i64) -> Option<i64> {
        let limit = start
            .saturating_add(HORIZON_YEARS * 366 * DAY)
            .min(max_second());
        let mut lo = start;
        let ts = Timestamp::from_second(lo).ok()?;
        // The transition that began the segment holding `lo`, if any.
        let mut segment_start = self
            .zone
            .preceding(
                ts.checked_add(jiff::SignedDuration::from_secs(1))
                    .unwrap_or(ts),
            )
            .next()
            .map(|t| t.timestamp().as_second());
        while lo <= limit {
            let ts = Timestamp::from_second(lo).ok()?;
            let offset = i64::from(self.zone.to_offset(ts).seconds());
            let segment_end = self
                .zone
                .following(ts)
                .next()
                .map(|t| t.timestamp().as_second());
            let mut civil_lo = lo + offset;
            if let (true, Some(a)) = (self.fixed, segment_start) {
                let before = i64::from(
                    self.zone
                        .to_offset(Timestamp::from_second(a - 1).ok()?)
                        .seconds(),
                );
                if before < offset && a >= lo {
                    // A spring-forward gap just before this segment: a fixed
                    // time inside it fires once, at the transition.
                    if self.next_civil(a + before, Some(a + offset)).is_some() {
                        return Some(a);
                    }
                } else if before > offset {
                    // A fall-back: the wall clock times repeated at the start
                    // of this segment already fired in the first pass.
                    civil_lo = civil_lo.max(a + before);
                }
            }
            if let Some(c) = self.next_civil(civil_lo, segment_end.map(|b| b + offset)) {
                return Some(c - offset);
            }
            let b = segment_end?;
            segment_start = Some(b);
            lo = b;
        }
        None
    }

    /// The first matching wall clock time at or after `from` and before
    /// `until` (local seconds; see [`super::civil`]), looking at most
    /// [`HORIZON_YEARS`] ahead and not past year 9999.
    fn next_civil(&self, from: i64, until: Option<i64>) -> Option<i64> {
        if until.is_some_and(|u| u <= from) {
            return None;
        }
        let last_day = until.map(|u| (u - 1).div_euclid(DAY));
        let mut day = from.div_euclid(DAY);
        let mut time = from.rem_euclid(DAY) as u32;
        let (mut year, mut month, mut dom) = civil_from_days(day);
        let last_year = (year + HORIZON_YEARS).min(9999);
        loop {
            let len = days_in_month(year, month);
            let first = day - i64::from(dom - 1);
            if self.months & (1 << month) != 0 {
                let shape = self.days[(len - 28) as usize][weekday_from_days(first) as usize];
                // Days from `dom` on.
                let mut mask = shape & (u32::MAX << (dom - 1));
                while mask != 0 {
                    let d = mask.trailing_zeros() + 1;
                    let n = first + i64::from(d - 1);
                    if last_day.is_some_and(|last| n > last) {
                        return None;
                    }
                    let from_time = if d == dom { time } else { 0 };
                    if let Some(t) = self.next_time_of_day(from_time) {
                        let c = n * DAY + i64::from(t);
                        return match until {
                            Some(u) if c >= u => None,
                            _ => Some(c),
                        };
                    }
                    mask &= mask - 1;
                }
            }
            day = first + i64::from(len);
            (month, year) = if month == 12 {
                (1, year + 1)
            } else {
                (month + 1, year)
            };
            dom = 1;
            time = 0;
            if year > last_year || last_day.is_some_and(|last| day > last) {
                return None;
            }
        }
    }

    /// The first matching time of day at or after `from` (seconds since
    /// midnight), if any is left that day.
    fn next_time_of_day(&self, from: u32) -> Option<u32> {
        let (h0, m0, s0) = (from / 3600, from / 60 % 60, from % 60);
        let mut hours = self.hours & (u32::MAX << h0);
        while hours != 0 {
            let h = hours.trailing_zeros();
            let mut minutes = self.minutes & (u64::MAX << if h == h0 { m0 } else { 0 });
            while minutes != 0 {
                let m = minutes.trailing_zeros();
                let from_second = if h == h0 && m == m0 { s0 } else { 0 };
                let seconds = self.seconds & (u64::MAX << from_second);
                if seconds != 0 {
                    return Some(h * 3600 + m * 60 + seconds.trailing_zeros());
                }
                minutes &= minutes - 1;
            }
            hours &= hours - 1;
        }
        None
    }
}

/// Which days match, per month shape (see [`CronSchedule::days`]), for the
/// day-of-month and day-of-week fields of `pattern`.
///
/// Asking croner about the 868 days of the 28 shapes is most of the cost of
/// a parse, and the same pairs of day fields come back again and again
/// (`*`, `1`, `MON-FRI`…), so tables are kept by those two fields, and
/// the schedules that have the same pair share one.
fn day_table(pattern: &croner::CronPattern, dom: &str, dow: &str) -> Arc<DayTable> {
    /// Beyond this many different pairs the cache starts over.
    const CACHE_LIMIT: usize = 4096;
    /// The tables made, by (day-of-month, day-of-week) field.
    type Tables = HashMap<(String, String), Arc<DayTable>>;
    static CACHE: LazyLock<Mutex<Tables>> = LazyLock::new(Default::default);

    let key = (dom.to_ascii_uppercase(), dow.to_ascii_uppercase());
    if let Some(table) = CACHE.lock().get(&key) {
        return Arc::clone(table);
    }
    // A month of each length; croner's day matcher only uses them to learn
    // the month's length, and is given the weekday of each day.
    const SAMPLE_MONTHS: [(i32, u32); 4] = [(2026, 2), (2024, 2), (2026, 4), (2026, 1)];
    let mut days = [[0u32; 7]; 4];
    for (shape, &(year, month)) in days.iter_mut().zip(SAMPLE_MONTHS.iter()) {
        let len = days_in_month(i64::from(year), month);
        for (first_weekday, mask) in (0u32..).zip(shape.iter_mut()) {
            for day in 1..=len {
                let weekday = Weekday::from_days_from_sunday(first_weekday + day - 1);
                if pattern
                    .day_match(year, month, day, weekday)
                    .unwrap_or(false)
                {
                    *mask |= 1 << (day - 1);
                }
            }
        }
    }
    let mut cache = CACHE.lock();
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    let days = Arc::new(days);
    cache.insert(key, Arc::clone(&days));
    days
}

/// The first whole Unix second whose instant is strictly after `after_ms`,
/// or `None` for NaN and times past what jiff can represent.
fn first_second_after(after_ms: f64) -> Option<i64> {
    if after_ms.is_nan() {
        return None;
    }
    let s = (after_ms / 1000.0).floor();
    if s >= max_second() as f64 {
        return None;
    }
    if s < min_second() as f64 {
        return Some(min_second());
    }
    // The division may round up to the next whole second; settle on the
    // last second at or before `after_ms` exactly.
    let mut s = s as i64;
    while s as f64 * 1000.0 > after_ms {
        s -= 1;
    }
    while (s + 1) as f64 * 1000.0 <= after_ms {
        s += 1;
    }
    Some(s + 1)
}

/// Splits an expression into 6 fields (seconds first), expanding nicknames
/// and giving 5-field expressions a seconds field of `0`.
fn split_fields(expr: &str) -> Result<Vec<String>, ScheduleError> {
    let trimmed = expr.trim();
    if trimmed.is_empty() {
        return Err(ScheduleError::EmptyCron);
    }
    let text = if trimmed.starts_with('@') {
        match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => {
                return Err(ScheduleError::UnknownNickname {
                    expr: expr.to_string(),
                })
            }
        }
    } else {
        trimmed
    };
    let mut fields: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    match fields.len() {
        5 => fields.insert(0, "0".to_string()),
        6 => {}
        count => {
            return Err(ScheduleError::FieldCount {
                expr: expr.to_string(),
                count,
            })
        }
    }
    Ok(fields)
}

/// Turns croner's error for the whole expression into one that names the
/// field at fault, found by parsing each field alone among neutral ones.
fn blame_field(expr: &str, fields: &[String], whole: croner::errors::CronError) -> ScheduleError {
    for (index, field) in fields.iter().enumerate() {
        let mut trial: Vec<&str> = NEUTRAL_FIELDS.to_vec();
        trial[index] = field;
        if let Err(err) = Cron::from_str(&trial.join(" ")) {
            return ScheduleError::InvalidField {
                field: FIELD_NAMES[index],
                value: field.clone(),
                reason: croner_reason(&err),
                expected: FIELD_EXPECTED[index],
                expr: expr.to_string(),
            };
        }
    }
    ScheduleError::Invalid {
        reason: croner_reason(&whole),
        expr: expr.to_string(),
    }
}

/// croner's explanation, without its category prefix or final period, in
/// lower case to read as part of a sentence.
fn croner_reason(err: &croner::errors::CronError) -> String {
    use croner::errors::CronError as E;
    let text = match err {
        E::IllegalCharacters(msg) => msg.replace("CronPattern contains ", ""),
        E::InvalidPattern(msg) | E::ComponentError(msg) => msg.clone(),
        other => other.to_string(),
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "February", "February or April", "January, March or May", "any month".
fn month_list(months: u16) -> String {
    let names: Vec<&str> = (1..=12)
        .filter(|m| months & (1 << m) != 0)
        .map(|m| MONTH_NAMES[m - 1])
        .collect();
    match names.as_slice() {
        [] => "no month".to_string(),
        [one] => (*one).to_string(),
        _ if names.len() == 12 => "any month".to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schedules of the same day fields hold one table between them; other
    /// day fields get a table of their own.
    #[test]
    fn schedules_of_the_same_day_fields_share_their_table() {
        let a = CronSchedule::parse("0 */5 * * *", Some("UTC")).unwrap();
        let b = CronSchedule::parse("15 3 * * *", Some("Asia/Tokyo")).unwrap();
        let c = CronSchedule::parse("0 0 * * mon-fri", Some("UTC")).unwrap();
        let d = CronSchedule::parse("0 12 * * MON-FRI", Some("UTC")).unwrap();
        assert!(Arc::ptr_eq(&a.days, &b.days));
        assert!(Arc::ptr_eq(&c.days, &d.days));
        assert!(!Arc::ptr_eq(&a.days, &c.days));
        // What they share still tells the days apart: 2026-12-05 is a Saturday.
        let saturday = 1_796_428_800_000.0;
        assert_eq!(a.next_after(saturday - 1.0), Some(saturday));
        assert_eq!(
            c.next_after(saturday - 1.0),
            Some(saturday + 2.0 * DAY as f64 * 1000.0)
        );
    }
}

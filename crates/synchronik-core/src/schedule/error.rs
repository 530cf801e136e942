//! Why a schedule was refused.

/// A schedule that cannot be used, with the field it is about and what was
/// given. The messages start with the option's path (`schedule.cron`,
/// `schedule.timezone`, `schedule.at`) so that they can be shown as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression is empty or blank.
    #[error(
        "schedule.cron: expected a cron expression such as \"*/5 * * * *\", got an empty string"
    )]
    EmptyCron,

    /// The expression has neither 5 nor 6 fields.
    #[error(
        "schedule.cron: expected 5 fields (minute hour day-of-month month day-of-week), 6 with \
         seconds first, or a nickname such as @daily; got {count} field{plural} (got \"{expr}\")",
        plural = if *.count == 1 { "" } else { "s" }
    )]
    FieldCount {
        /// The expression as given.
        expr: String,
        /// How many whitespace-separated fields it has.
        count: usize,
    },

    /// An `@` nickname that is not one of the known ones.
    #[error(
        "schedule.cron: unknown nickname \"{expr}\" (expected @yearly, @annually, @monthly, \
         @weekly, @daily or @hourly)"
    )]
    UnknownNickname {
        /// The expression as given.
        expr: String,
    },

    /// One field of the expression cannot be read.
    #[error("schedule.cron: {field} \"{value}\" is not valid: {reason}; expected {expected} (got \"{expr}\")")]
    InvalidField {
        /// The field's name: `second`, `minute`, `hour`, `day-of-month`,
        /// `month` or `day-of-week`.
        field: &'static str,
        /// The field as given.
        value: String,
        /// What is wrong with it.
        reason: String,
        /// What the field accepts.
        expected: &'static str,
        /// The expression as given.
        expr: String,
    },

    /// The expression cannot be read, and no single field is to blame.
    #[error("schedule.cron: {reason} (got \"{expr}\")")]
    Invalid {
        /// What is wrong.
        reason: String,
        /// The expression as given.
        expr: String,
    },

    /// The expression is well formed but names no day that ever exists,
    /// such as the 30th of February.
    #[error("schedule.cron: {message} (got \"{expr}\")")]
    NeverFires {
        /// The field to blame: `day-of-month`, `day-of-week` or both
        /// (`day-of-month and day-of-week`).
        field: &'static str,
        /// What never happens, e.g. `day-of-month 30 never occurs in February`.
        message: String,
        /// The expression as given.
        expr: String,
    },

    /// The time zone is not in the bundled IANA database.
    #[error(
        "schedule.timezone: unknown time zone \"{name}\" (expected an IANA name such as \
         \"Europe/Berlin\" or \"UTC\")"
    )]
    UnknownTimeZone {
        /// The name as given.
        name: String,
    },

    /// A one-off time that is not a finite number of milliseconds.
    #[error("schedule.at: expected finite times (ms since the Unix epoch), got {value} at index {index}")]
    InvalidAt {
        /// Where in the list it is.
        index: usize,
        /// The value as given, formatted.
        value: String,
    },
}

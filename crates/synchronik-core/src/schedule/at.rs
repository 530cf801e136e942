//! One-off times (`schedule: { at: [...] }`).

use super::error::ScheduleError;

/// A list of one-off fire times, in Unix milliseconds, sorted and without
/// duplicates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AtSchedule {
    times: Box<[f64]>,
}

impl AtSchedule {
    /// Makes a schedule from fire times in Unix milliseconds, in any order.
    /// Refuses a time that is not finite (NaN, infinite), naming its index.
    pub fn new(times: impl IntoIterator<Item = f64>) -> Result<Self, ScheduleError> {
        let mut list = Vec::new();
        for (index, t) in times.into_iter().enumerate() {
            if !t.is_finite() {
                return Err(ScheduleError::InvalidAt {
                    index,
                    value: t.to_string(),
                });
            }
            // -0.0 and 0.0 are the same time.
            list.push(t + 0.0);
        }
        list.sort_by(f64::total_cmp);
        list.dedup();
        Ok(Self {
            times: list.into_boxed_slice(),
        })
    }

    /// Every fire time, in order.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// The first fire strictly after `after_ms`, if any is left.
    pub fn next_after(&self, after_ms: f64) -> Option<f64> {
        if after_ms.is_nan() {
            return None;
        }
        let i = self.times.partition_point(|&t| t <= after_ms);
        self.times.get(i).copied()
    }

    /// The next `n` fires strictly after `after_ms`, in order.
    pub fn next_n(&self, after_ms: f64, n: usize) -> Vec<f64> {
        if after_ms.is_nan() {
            return Vec::new();
        }
        let i = self.times.partition_point(|&t| t <= after_ms);
        self.times[i..].iter().take(n).copied().collect()
    }
}

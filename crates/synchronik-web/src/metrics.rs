//! The Prometheus text (format 0.0.4) of the engine's counters, encoded by
//! `prometheus-client` from a [`MetricsSnapshot`]. Each call builds its own
//! registry around one snapshot: there is no process-wide state, so several
//! engines in one process never mix their numbers.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use synchronik_core::observe::{
    HistogramSnapshot, MetricsSnapshot, RunOutcome, DURATION_BUCKETS, LAG_BUCKETS,
};
use synchronik_core::{Status, TaskStatus, UnitKind};

use crate::Host;

/// The `Content-Type` of what [`render_metrics`] returns.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The engine's metrics in the Prometheus text format.
pub fn render_metrics(host: &dyn Host) -> String {
    let snapshot = host.runtime().with(|e| e.metrics_snapshot());
    let collector = Snapshot {
        blocked_seconds: host.event_loop().blocked_seconds_total,
        unit_labels: host.unit_labels(),
        snapshot,
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would leave what
    // was written so far, which is still valid text.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

#[derive(Debug)]
struct Snapshot {
    snapshot: MetricsSnapshot,
    blocked_seconds: f64,
    unit_labels: bool,
}

type Fmt = Result<(), std::fmt::Error>;

fn kinds() -> impl Iterator<Item = UnitKind> {
    UnitKind::ALL.iter().copied()
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Fmt {
        let s = &self.snapshot;

        // Counter names get their `_total` from the encoder.
        let mut runs = encoder.encode_descriptor(
            "synchronik_runs",
            "Runs that ended, by kind of unit and outcome.",
            None,
            MetricType::Counter,
        )?;
        if self.unit_labels {
            for u in &s.unit_runs {
                for o in RunOutcome::ALL {
                    let labels = [
                        ("kind", u.kind.as_str()),
                        ("outcome", o.as_str()),
                        ("unit", u.unit.as_str()),
                    ];
                    ConstCounter::new(u.runs[o as usize])
                        .encode(runs.encode_family(&labels.as_slice())?)?;
                }
            }
        } else {
            for k in kinds() {
                for o in RunOutcome::ALL {
                    let labels = [("kind", k.as_str()), ("outcome", o.as_str())];
                    ConstCounter::new(s.runs[k as usize][o as usize])
                        .encode(runs.encode_family(&labels.as_slice())?)?;
                }
            }
        }

        let mut duration = encoder.encode_descriptor(
            "synchronik_run_duration_seconds",
            "How long runs that completed or failed took.",
            None,
            MetricType::Histogram,
        )?;
        for k in kinds() {
            let labels = [("kind", k.as_str())];
            histogram(
                &mut duration.encode_family(&labels.as_slice())?,
                &s.duration[k as usize],
                &DURATION_BUCKETS,
            )?;
        }

        ConstCounter::new(s.retries).encode(encoder.encode_descriptor(
            "synchronik_retries",
            "Attempts made after a failed one.",
            None,
            MetricType::Counter,
        )?)?;

        let mut units = encoder.encode_descriptor(
            "synchronik_units",
            "Units by status.",
            None,
            MetricType::Gauge,
        )?;
        for st in Status::ALL {
            let labels = [("status", st.as_str())];
            ConstGauge::new(s.units[*st as usize] as i64)
                .encode(units.encode_family(&labels.as_slice())?)?;
        }

        // What is there now (a gauge) and what ended (a counter) apart:
        // a sum over one family must mean something.
        let mut pools = encoder.encode_descriptor(
            "synchronik_pool_tasks",
            "Tasks of each worker pool now, by status: waiting (idle, paused, waiting-handler, scheduled for a later time) or running.",
            None,
            MetricType::Gauge,
        )?;
        for p in &s.pools {
            for (st, n) in p.counts.iter().filter(|(st, _)| !finished(*st)) {
                let labels = [("pool", p.pool.as_str()), ("status", st.as_str())];
                ConstGauge::new(*n as i64).encode(pools.encode_family(&labels.as_slice())?)?;
            }
        }
        let mut finished_tasks = encoder.encode_descriptor(
            "synchronik_pool_tasks_finished",
            "Tasks of each worker pool that ended, by outcome: completed, error or cancelled.",
            None,
            MetricType::Counter,
        )?;
        for p in &s.pools {
            for (st, n) in p.counts.iter().filter(|(st, _)| finished(*st)) {
                let labels = [("pool", p.pool.as_str()), ("outcome", st.as_str())];
                ConstCounter::new(*n).encode(finished_tasks.encode_family(&labels.as_slice())?)?;
            }
        }

        histogram(
            &mut encoder.encode_descriptor(
                "synchronik_schedule_lag_seconds",
                "How late scheduled fires came.",
                None,
                MetricType::Histogram,
            )?,
            &s.schedule_lag,
            &LAG_BUCKETS,
        )?;

        ConstCounter::new(self.blocked_seconds).encode(encoder.encode_descriptor(
            "synchronik_event_loop_blocked_seconds",
            "Seconds the JavaScript event loop was blocked (late by 10 ms or more).",
            None,
            MetricType::Counter,
        )?)?;

        ConstGauge::new(s.store_pending_writes as i64).encode(encoder.encode_descriptor(
            "synchronik_store_pending_writes",
            "Writes sent to the durable store and not committed yet.",
            None,
            MetricType::Gauge,
        )?)
    }
}

/// Whether a task of this status has ended (counted in all, not now).
fn finished(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Completed | TaskStatus::Error | TaskStatus::Cancelled
    )
}

/// A histogram from per-bucket counts over `bounds` (the last count, if
/// any, is `+Inf`'s); the encoder makes them cumulative.
fn histogram(
    encoder: &mut prometheus_client::encoding::MetricEncoder,
    h: &HistogramSnapshot,
    bounds: &[f64],
) -> Fmt {
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(h.buckets.iter().copied().chain(std::iter::repeat(0)))
        .collect();
    encoder.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)
}

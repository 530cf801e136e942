//! The read-only views a dashboard shows (see [`crate::observe`]): pages of
//! units, a unit's detail, processes with their workers, pools with their
//! queues in dispatch order, and the schedule — each a copy made in one
//! step — and the one action a dashboard adds, a run nobody awaits.
//!
//! A view reads the engine's own structures without changing them, and
//! costs one pass over what it shows: a page of units reads the registry
//! once however many units there are, and allocates for the items it
//! returns only.

use super::pool::TaskInfo;
use super::Engine;
use crate::clock::{nanos_to_ms, Nanos};
use crate::error::EngineError;
use crate::ids::IdMap;
use crate::observe::{
    PoolView, ProcessView, ProcessWorker, ScheduleView, TaskView, UnitDetail, UnitPage, UnitQuery,
    UnitSummary,
};
use crate::registry::{Unit, UnitBody};
use crate::unit::{ProcessConfig, Slot};

/// Whether `id` contains `needle`, ignoring case; `needle` is lower case
/// already. Allocates nothing (it runs for every unit of a page's query).
fn contains_folded(id: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if id.is_ascii() && needle.is_ascii() {
        return id
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
    }
    id.char_indices().any(|(i, _)| {
        let mut folded = id[i..].chars().flat_map(char::to_lowercase);
        needle.chars().all(|c| folded.next() == Some(c))
    })
}

impl Engine {
    /// The id of the unit in `slot`.
    pub fn unit_id_of(&self, slot: Slot) -> Option<&str> {
        self.registry.get(slot).map(|u| u.id.as_str())
    }

    /// A page of units in registration order: those that match the query's
    /// status, kind and text, after the unit its cursor names (a cursor
    /// whose unit was released since still finds its place while the slot
    /// names no other unit; one the engine cannot place starts from the
    /// first unit). `total` counts every unit that matches, on any page.
    pub fn unit_page(&self, q: &UnitQuery) -> UnitPage {
        let needle = q.text.as_deref().map(str::to_lowercase);
        let from = q.after.and_then(|slot| self.registry.place_of(slot));
        let mut items = Vec::new();
        let mut more = false;
        let mut total = 0;
        for (place, slot) in self.registry.ordered_places() {
            let Some(u) = self.registry.get(slot) else {
                continue;
            };
            let matches = q.status.is_none_or(|s| u.status == s)
                && q.kind.is_none_or(|k| u.kind() == k)
                && needle.as_deref().is_none_or(|n| contains_folded(&u.id, n));
            if !matches {
                continue;
            }
            total += 1;
            if from.is_some_and(|after| place <= after) {
                continue;
            }
            if items.len() < q.limit {
                items.push(self.summary(slot, u));
            } else {
                more = true;
            }
        }
        self.fill_running_since(&mut items);
        let next = if more {
            items.last().map(|s| s.slot)
        } else {
            None
        };
        UnitPage { items, next, total }
    }

    /// A unit's detail: its summary, settings, last execution times and,
    /// for a process, its workers' ids in order.
    pub fn unit_detail(&self, id: &str) -> Option<UnitDetail> {
        let slot = self.registry.slot_of(id)?;
        let u = self.registry.get(slot)?;
        let mut summary = [self.summary(slot, u)];
        self.fill_running_since(&mut summary);
        let [summary] = summary;
        let (worker, process, workers) = match &u.body {
            UnitBody::Worker(c) => (Some(c.clone()), None, Vec::new()),
            UnitBody::Process { config, workers } => (
                None,
                Some(ProcessConfig::clone(config)),
                workers
                    .iter()
                    .filter_map(|w| self.unit_id_of(*w).map(str::to_owned))
                    .collect(),
            ),
        };
        Some(UnitDetail {
            summary,
            worker,
            process,
            execution_times_ms: u.meta().execution_times_ms().iter().copied().collect(),
            workers,
        })
    }

    /// Every process in registration order, with its workers (the list
    /// shows their number).
    pub fn process_views(&self) -> Vec<ProcessView> {
        self.registry
            .ordered()
            .filter_map(|slot| self.process_view_of(slot))
            .collect()
    }

    /// The process called `id`, with its workers' live statuses and
    /// dependencies; `None` when no process has that id.
    pub fn process_view(&self, id: &str) -> Option<ProcessView> {
        self.process_view_of(self.registry.slot_of(id)?)
    }

    fn process_view_of(&self, slot: Slot) -> Option<ProcessView> {
        let u = self.registry.get(slot)?;
        let UnitBody::Process { config, workers } = &u.body else {
            return None;
        };
        let list = workers
            .iter()
            .filter_map(|w| {
                let wu = self.registry.get(*w)?;
                Some(ProcessWorker {
                    id: wu.id.to_string(),
                    status: wu.status,
                    enabled: wu.enabled,
                    depends_on: wu
                        .worker()
                        .map_or_else(Vec::new, |c| c.depends_on().to_vec()),
                })
            })
            .collect();
        Some(ProcessView {
            id: u.id.to_string(),
            status: u.status,
            enabled: u.enabled,
            run_mode: config.run_mode,
            config: ProcessConfig::clone(config),
            graph: self.is_graph(workers),
            workers: list,
        })
    }

    /// Every pool: its first `queue_limit` waiting tasks in the order they
    /// would start (see the pools' `queue_in_dispatch_order`), and its
    /// running tasks with their workers and start times.
    pub fn pool_views(&self, queue_limit: usize) -> Vec<PoolView> {
        // Start times of the tasks running, from their runs, in one pass.
        let started: IdMap<u64, Nanos> = self
            .runs
            .iter()
            .filter_map(|r| match r.owner {
                super::types::Owner::Task(task) => Some((task, r.started)),
                _ => None,
            })
            .collect();
        self.pools
            .ids()
            .map(|pool| {
                let queue: Vec<TaskView> = self
                    .pools
                    .queue_in_dispatch_order(pool, queue_limit)
                    .into_iter()
                    .map(|t| self.task_view(t, None, None))
                    .collect();
                let running: Vec<TaskView> = self
                    .pools
                    .running(pool)
                    .into_iter()
                    .map(|(worker, t)| {
                        let at = started.get(&t.id).map(|n| nanos_to_ms(*n));
                        self.task_view(t, Some(worker), at)
                    })
                    .collect();
                let (done, completed, failed, cancelled) = self.pool_done(pool);
                PoolView {
                    name: self.pools.name(pool).unwrap_or_default().to_owned(),
                    size: self.pools.size(pool),
                    busy: running.len(),
                    queue,
                    queued: self.pools.queue_len(pool),
                    scheduled: self.pools.delayed_count(pool),
                    running,
                    done,
                    completed,
                    failed,
                    cancelled,
                }
            })
            .collect()
    }

    fn task_view(
        &self,
        t: TaskInfo<'_>,
        worker: Option<Slot>,
        started_ms: Option<f64>,
    ) -> TaskView {
        TaskView {
            id: t.id,
            name: t.name.map(str::to_owned),
            priority: t.priority,
            status: t.status,
            worker: worker.and_then(|w| self.unit_id_of(w)).map(str::to_owned),
            started_ms,
            durable: self.store.as_ref().is_some_and(|s| s.holds_task(t.id)),
        }
    }

    /// The units with a scheduled next fire (interval and calendar
    /// schedules), soonest first
    /// (ties in registration order).
    pub fn schedule_views(&self) -> Vec<ScheduleView> {
        let mut fires: Vec<(Nanos, u64, Slot)> = self
            .sched
            .next_fires()
            .chain(
                self.calendar_slots()
                    .into_iter()
                    .filter_map(|s| Some((s, self.calendar_next_fire(s)?))),
            )
            .map(|(slot, at)| (at, self.registry.place_of(slot).unwrap_or(u64::MAX), slot))
            .collect();
        fires.sort_unstable();
        fires
            .into_iter()
            .filter_map(|(at, _, slot)| {
                let u = self.registry.get(slot)?;
                Some(ScheduleView {
                    unit: u.id.to_string(),
                    // A calendar schedule has no period: NaN (null in JSON).
                    every_ms: u.worker().and_then(|c| c.interval_ms()).unwrap_or(f64::NAN),
                    next_ms: nanos_to_ms(at),
                })
            })
            .collect()
    }

    /// Runs the unit called `id` now, as `runUnitById` does (a worker that
    /// is running joins or queues by its overlap rule; a paused or disabled
    /// worker does not run), for a caller that does not wait for the end:
    /// the run is announced by its unit's events alone, and the end of its
    /// request by a [`crate::Event::Done`] whose ticket no host awaits.
    pub fn run_detached(&mut self, id: &str) -> Result<(), EngineError> {
        let slot = self
            .registry
            .slot_of(id)
            .ok_or_else(|| EngineError::UnknownUnit { id: id.to_owned() })?;
        self.run_slot(slot, None);
        Ok(())
    }

    /// A unit's summary, without `running_since_ms` (see
    /// [`Engine::fill_running_since`]).
    fn summary(&self, slot: Slot, u: &Unit) -> UnitSummary {
        UnitSummary {
            slot,
            id: u.id.to_string(),
            kind: u.kind(),
            status: u.status,
            enabled: u.enabled,
            process: self.parent_process(slot).map(str::to_owned),
            pool_worker: self.pools.pool_of(slot).is_some(),
            run_count: u.meta().run_count,
            last_duration_ms: u.meta().last_duration_ms(),
            average_ms: u.meta().average_ms(),
            running_since_ms: None,
            last_error: self.last_error(slot),
            next_fire_ms: self
                .sched
                .next_fire(slot)
                .or_else(|| self.calendar_next_fire(slot))
                .map(nanos_to_ms),
        }
    }

    /// The id of the process a worker belongs to: the last one that listed
    /// it, while it still does.
    fn parent_process(&self, slot: Slot) -> Option<&str> {
        let parent = self.registry.get(self.registry.parent_of(slot)?)?;
        match &parent.body {
            UnitBody::Process { workers, .. } if workers.contains(&slot) => Some(&parent.id),
            _ => None,
        }
    }

    /// Sets `running_since_ms` of the summaries whose units have runs in
    /// flight: the start of the oldest. One pass over the runs in flight,
    /// whatever the number of summaries.
    fn fill_running_since(&self, items: &mut [UnitSummary]) {
        let mut wanted: IdMap<Slot, usize> = IdMap::default();
        for (i, s) in items.iter().enumerate() {
            if self.registry.get(s.slot).is_some_and(|u| u.active_runs > 0) {
                wanted.insert(s.slot, i);
            }
        }
        if wanted.is_empty() {
            return;
        }
        let mut oldest = |slot: Slot, started: Nanos| {
            if let Some(i) = wanted.get(&slot) {
                let ms = nanos_to_ms(started);
                let since = &mut items[*i].running_since_ms;
                *since = Some(since.map_or(ms, |s| s.min(ms)));
            }
        };
        for r in self.runs.iter() {
            oldest(r.slot, r.started);
        }
        for p in self.processes.values() {
            oldest(p.slot, p.started);
        }
    }
}

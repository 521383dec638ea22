//! `beacon bench report`: a database as a year of running leaves it for 100 channels (a
//! year of state intervals, the last 90 days of raw 1-minute observations), then the time
//! to build one month's report and all twelve.

use crate::domain::{
    Channel, Config, HttpTarget, Observation, Outcome, ProbeKey, ProbeSpec, ProbeTarget, Schedule,
    State, Thresholds, Timestamp, Transition,
};
use crate::sla::ProbeMachine;
use crate::store::{Database, ImportBatch, ProbeRecompute, Store};
use std::time::{Duration, Instant};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// What the report benchmark measured.
#[derive(Debug)]
pub struct ReportFigures {
    pub channels: usize,
    pub transitions: usize,
    pub observations: usize,
    pub fill: Duration,
    pub one_month: Duration,
    pub twelve_months: Duration,
    /// The file's size (SQLite only).
    pub database_mib: Option<f64>,
    pub engine: &'static str,
}

impl std::fmt::Display for ReportFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "channels                 {}", self.channels)?;
        writeln!(f, "state transitions        {} (a year)", self.transitions)?;
        writeln!(
            f,
            "raw observations         {} (last 90 days, 1-minute)",
            self.observations
        )?;
        writeln!(f, "engine                   {}", self.engine)?;
        let size = self
            .database_mib
            .map_or_else(|| "n/a".to_owned(), |mib| format!("{mib:.1} MiB"));
        writeln!(
            f,
            "database size            {size} (filled in {:.1} s)",
            self.fill.as_secs_f64()
        )?;
        writeln!(
            f,
            "observations written     {:.0}/s (imported, one transaction per channel)",
            self.observations as f64 / self.fill.as_secs_f64().max(1e-9)
        )?;
        writeln!(
            f,
            "one month's report       {:.3} s",
            self.one_month.as_secs_f64()
        )?;
        write!(
            f,
            "all twelve months        {:.3} s",
            self.twelve_months.as_secs_f64()
        )
    }
}

/// Runs on a temporary SQLite file, or on `database` (which must be empty: a PostgreSQL
/// database made for the benchmark).
pub async fn report(channels: usize, database: Option<Database>) -> anyhow::Result<ReportFigures> {
    if let Some(database) = database {
        return run(&database, channels).await;
    }
    let dir = std::env::temp_dir().join(format!("beacon-bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = Database::Sqlite(dir.join("bench.db"));
    let result = run(&db, channels).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(db: &Database, count: usize) -> anyhow::Result<ReportFigures> {
    // A year ending at the start of 2026-12, so all of 2026-01 .. 2026-11 are whole.
    let end = Timestamp::parse("2026-12-01T00:00:00Z").unwrap_or(Timestamp(0));
    let start = end.plus_ms(-365 * DAY);
    let config = config(count);
    let store = Store::connect(db)?;
    store
        .sync_config(
            &config,
            crate::domain::Clock::now(&crate::domain::SystemClock),
        )
        .await?;
    let started = Instant::now();
    let mut transitions = 0;
    let mut observations = 0;
    for (i, channel) in config.channels.iter().enumerate() {
        let (t, o) = import_history(
            &store,
            channel,
            i as u64,
            start,
            end.plus_ms(-90 * DAY),
            end,
        )
        .await?;
        transitions += t;
        observations += o;
    }
    let fill = started.elapsed();

    let now = end;
    let one = Instant::now();
    crate::report::build(&store, &config, "2026-11", now).await?;
    let one_month = one.elapsed();
    let all = Instant::now();
    for month in 1..=12 {
        let label = if month == 12 {
            "2025-12".to_owned()
        } else {
            format!("2026-{month:02}")
        };
        crate::report::build(&store, &config, &label, now).await?;
    }
    let twelve_months = all.elapsed();
    store.close().await?;
    let database_mib = match db {
        Database::Sqlite(path) => std::fs::metadata(path)
            .map(|m| m.len() as f64 / 1024.0 / 1024.0)
            .ok(),
        Database::Postgres(_) => None,
    };
    Ok(ReportFigures {
        channels: count,
        transitions,
        observations,
        fill,
        one_month,
        twelve_months,
        database_mib,
        engine: if db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
    })
}

/// Imports synthetic history for `channel`'s `http` probe as a running Beacon would have
/// left it: state intervals from `from` to `end` (seeded by `seed`), raw 1-minute
/// observations from `raw_from`, and the state machine's checkpoint. Returns the numbers of
/// transitions and observations written.
pub(super) async fn import_history(
    store: &Store,
    channel: &Channel,
    seed: u64,
    from: Timestamp,
    raw_from: Timestamp,
    end: Timestamp,
) -> anyhow::Result<(usize, usize)> {
    let timeline = year_of_states(seed, from, end);
    let observations = raw_minutes(channel, &timeline, raw_from, end);
    let mut machine = ProbeMachine::new();
    if let Some(last) = observations.last() {
        machine.observe(last.into());
    }
    let counts = (timeline.len(), observations.len());
    store
        .import(ImportBatch {
            observations,
            probes: vec![ProbeRecompute {
                probe: ProbeKey {
                    channel: channel.id.clone(),
                    probe: "http".into(),
                },
                from,
                transitions: timeline.clone(),
                checkpoint: serde_json::to_string(&machine)?,
                checkpoint_at: end.plus_ms(-MINUTE),
                coverage_end: machine.coverage_end(),
                locations: Vec::new(),
            }],
            channels: vec![(channel.id.clone(), from, timeline)],
        })
        .await?;
    Ok(counts)
}

/// Up, with an outage of 1 to 30 minutes every 1 to 5 days and degraded spells between.
pub(super) fn year_of_states(seed: u64, start: Timestamp, end: Timestamp) -> Vec<Transition> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut out = vec![Transition {
        at: start,
        state: State::Up,
    }];
    let mut t = start;
    loop {
        t = t.plus_ms((1 + next(5) as i64) * DAY + next(DAY as u64) as i64);
        if t >= end {
            break;
        }
        let bad = if next(4) == 0 {
            State::Degraded
        } else {
            State::Down
        };
        out.push(Transition { at: t, state: bad });
        t = t.plus_ms((1 + next(30) as i64) * MINUTE);
        out.push(Transition {
            at: t,
            state: State::Up,
        });
    }
    out
}

/// One observation a minute over `[from, to)`, matching the timeline.
pub(super) fn raw_minutes(
    channel: &Channel,
    timeline: &[Transition],
    from: Timestamp,
    to: Timestamp,
) -> Vec<Observation> {
    let mut out = Vec::with_capacity(((to.millis() - from.millis()) / MINUTE) as usize);
    let mut t = from;
    while t < to {
        let outcome = match crate::sla::state_at(timeline, t) {
            State::Down => Outcome::Down,
            State::Degraded => Outcome::Degraded,
            _ => Outcome::Up,
        };
        out.push(Observation {
            probe: ProbeKey {
                channel: channel.id.clone(),
                probe: "http".into(),
            },
            at: t,
            outcome,
            status_code: Some(if outcome == Outcome::Down { 503 } else { 200 }),
            response_ms: Some(120),
            reason: (outcome == Outcome::Down).then(|| "HTTP 503".to_owned()),
            location: "bench".into(),
            interval_ms: MINUTE as u64,
            lateness_ms: 0,
            thresholds: Thresholds {
                failure: 1,
                success: 1,
            },
        });
        t = t.plus_ms(MINUTE);
    }
    out
}

pub(super) fn config(count: usize) -> Config {
    super::bench::with_channels(
        (0..count)
            .map(|i| Channel {
                id: format!("channel-{i:03}"),
                name: format!("Channel {i}"),
                group: "Bench".into(),
                in_commitment: true,
                probes: vec![ProbeSpec {
                    name: "http".into(),
                    target: ProbeTarget::Http(HttpTarget {
                        url: format!("http://127.0.0.1:9/{i}"),
                        method: "GET".into(),
                        headers: vec![],
                        body: None,
                        follow_redirects: true,
                        insecure: false,
                        max_body_bytes: 1024,
                    }),
                    schedule: Schedule::Every(Duration::from_secs(60)),
                    timeout: Duration::from_secs(10),
                    thresholds: Thresholds {
                        failure: 1,
                        success: 1,
                    },
                    conditions: vec![],
                    degraded_if: vec![],
                    locations: vec!["bench".into()],
                    quorum: 1,
                }],
            })
            .collect(),
    )
}

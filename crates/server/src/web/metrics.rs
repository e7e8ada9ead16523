//! `GET /metrics` in the Prometheus text exposition format (0.0.4), computed from the store on
//! each scrape: runs per state, the queue length, ended runs per outcome, and the durations of
//! finished runs per recipe and mode (a summary without quantiles, and the latest one as a gauge);
//! the latest sweep; the latest disk figures (use by kind, free space, the floor); and the alerts
//! raised per kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::WebError;
use super::{db, WebState};
use crate::store::RunState;

/// The outcomes always reported, zero or not.
const OUTCOMES: [&str; 3] = ["pass", "fail", "error"];

/// A label value escaped as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn seconds(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<WebState>) -> Result<Response, WebError> {
    let (states, outcomes, durations) =
        db(&state, |s| Ok((s.count_by_state()?, s.count_by_outcome()?, s.duration_stats()?))).await?;
    let mut out = String::new();
    let w = &mut out;

    let _ = writeln!(w, "# HELP ccci_runs Runs in the store, by state.\n# TYPE ccci_runs gauge");
    for (st, n) in &states {
        let _ = writeln!(w, "ccci_runs{{state=\"{}\"}} {n}", st.as_str());
    }
    let queued = states.iter().find(|(s, _)| *s == RunState::Queued).map(|(_, n)| *n).unwrap_or(0);
    let _ = writeln!(w, "# HELP ccci_queue_length Runs waiting to start.\n# TYPE ccci_queue_length gauge");
    let _ = writeln!(w, "ccci_queue_length {queued}");

    let mut by_outcome: BTreeMap<String, u64> = OUTCOMES.iter().map(|o| (o.to_string(), 0)).collect();
    by_outcome.extend(outcomes);
    let _ = writeln!(
        w,
        "# HELP ccci_runs_finished_total Runs that ended (finished, or error when the CI could not finish \
         them), by outcome.\n# TYPE ccci_runs_finished_total counter"
    );
    for (o, n) in &by_outcome {
        let _ = writeln!(w, "ccci_runs_finished_total{{outcome=\"{}\"}} {n}", label(o));
    }

    let _ = writeln!(
        w,
        "# HELP ccci_run_duration_seconds Wall time of finished runs, started to finished, by recipe and mode.\n\
         # TYPE ccci_run_duration_seconds summary"
    );
    for d in &durations {
        let labels = format!("recipe=\"{}\",mode=\"{}\"", label(&d.recipe), label(&d.mode));
        let _ = writeln!(w, "ccci_run_duration_seconds_sum{{{labels}}} {}", seconds(d.sum_ms));
        let _ = writeln!(w, "ccci_run_duration_seconds_count{{{labels}}} {}", d.count);
    }
    let _ = writeln!(
        w,
        "# HELP ccci_run_last_duration_seconds Wall time of the latest finished run, by recipe and mode.\n\
         # TYPE ccci_run_last_duration_seconds gauge"
    );
    for d in &durations {
        let labels = format!("recipe=\"{}\",mode=\"{}\"", label(&d.recipe), label(&d.mode));
        let _ = writeln!(w, "ccci_run_last_duration_seconds{{{labels}}} {}", seconds(d.last_ms));
    }
    let last_sweep = db(&state, |s| s.list_sweeps(1)).await?.into_iter().next();
    if let Some(sweep) = last_sweep {
        let _ = writeln!(
            w,
            "# HELP ccci_sweep_last_started_seconds When the latest sweep started (Unix time), by its state.\n\
             # TYPE ccci_sweep_last_started_seconds gauge\n\
             ccci_sweep_last_started_seconds{{state=\"{}\"}} {}",
            sweep.state.as_str(),
            seconds(sweep.started_at)
        );
    }
    if let Some(disk) = state.disk.latest() {
        let _ = writeln!(
            w,
            "# HELP ccci_disk_bytes Disk use by kind (images, containers, volumes, build cache as Docker reports \
             them; snapshots and runs under the data dir).\n# TYPE ccci_disk_bytes gauge"
        );
        for k in &disk.kinds {
            let _ = writeln!(w, "ccci_disk_bytes{{kind=\"{}\"}} {}", label(k.kind), k.bytes);
        }
        let _ = writeln!(
            w,
            "# HELP ccci_disk_free_bytes Free space where runs need it.\n# TYPE ccci_disk_free_bytes gauge"
        );
        for f in disk.free.iter().filter_map(|f| f.free_bytes.map(|b| (f, b))) {
            let _ = writeln!(
                w,
                "ccci_disk_free_bytes{{place=\"{}\",path=\"{}\"}} {}",
                label(f.0.place),
                label(&f.0.path),
                f.1
            );
        }
        let _ = writeln!(
            w,
            "# HELP ccci_disk_floor_bytes Runs wait while free space is below this.\n# TYPE ccci_disk_floor_bytes gauge\n\
             ccci_disk_floor_bytes {}",
            disk.floor_bytes
        );
    }
    let store = alerts::AlertStore::new(&state.data_dir);
    let alerts = tokio::task::spawn_blocking(move || store.counts()).await.map_err(WebError::internal)?;
    let _ = writeln!(
        w,
        "# HELP ccci_alerts_total Alerts raised (recorded under the data dir), by kind.\n# TYPE ccci_alerts_total counter"
    );
    for (kind, n) in &alerts {
        let _ = writeln!(w, "ccci_alerts_total{{kind=\"{}\"}} {n}", kind.name());
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response())
}

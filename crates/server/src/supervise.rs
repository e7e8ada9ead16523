//! The server's long-lived tasks (poller, workers, HTTP listener), watched together: none ends on
//! its own, so the first that does (returns, or panics) is reported with its name, and the caller
//! stops the whole server: a supervisor restarting it beats a server running half-alive, its
//! queue unserved or its pull requests unpolled.

use std::fmt;
use std::future::Future;

use futures_util::future::select_all;
use tokio::task::JoinHandle;

/// A named task; its output says why it ended.
pub struct Task {
    name: &'static str,
    handle: JoinHandle<String>,
}

impl Task {
    /// Spawns `work` as the task `name` ("the poller").
    pub fn spawn(name: &'static str, work: impl Future<Output = String> + Send + 'static) -> Task {
        Task { name, handle: tokio::spawn(work) }
    }
}

/// How the first task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEnded {
    pub task: &'static str,
    pub why: String,
}

impl fmt::Display for TaskEnded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} stopped: {}", self.task, self.why)
    }
}

/// Waits for the first of `tasks` to end and says which and why; the others are aborted.
pub async fn first_to_end(tasks: Vec<Task>) -> TaskEnded {
    if tasks.is_empty() {
        return TaskEnded { task: "the server", why: "it has no tasks".into() };
    }
    let names: Vec<&'static str> = tasks.iter().map(|t| t.name).collect();
    let (ended, index, rest) = select_all(tasks.into_iter().map(|t| t.handle)).await;
    for other in rest {
        other.abort();
    }
    let why = match ended {
        Ok(why) => why,
        Err(e) if e.is_panic() => format!("it panicked: {}", panic_message(e.into_panic())),
        Err(e) => format!("it was cancelled: {e}"),
    };
    TaskEnded { task: names[index], why }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_else(|| "(no message)".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_named_and_the_others_stop() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let forever = Task::spawn("the workers", async move {
            let _keep = tx;
            std::future::pending::<String>().await
        });
        let dies = Task::spawn("the poller", async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            panic!("forge answered nonsense")
        });
        let ended = first_to_end(vec![forever, dies]).await;
        assert_eq!(ended.task, "the poller");
        assert!(ended.why.contains("panicked: forge answered nonsense"), "{ended}");
        assert!(rx.await.is_err(), "the other task was aborted (its sender dropped)");
    }

    #[tokio::test]
    async fn a_task_that_returns_says_why() {
        let ended = first_to_end(vec![Task::spawn("the HTTP listener", async { "accept failed".to_string() })]).await;
        assert_eq!(ended.to_string(), "the HTTP listener stopped: accept failed");
    }
}

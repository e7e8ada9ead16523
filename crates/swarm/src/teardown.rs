//! D5: undeploy a run's stack and prove nothing of it remains. Services first (like
//! `docker stack rm`), then wait — on events — until swarm has removed their containers, then
//! networks, configs, secrets and volumes (volumes only once no container uses them), then a
//! residual check over everything labelled with the run. Containers and volumes are looked for on
//! every node engine; a node whose engine does not answer is left out and reported
//! ([`Error::NodesUnreachable`]) once the rest is done, for the janitor to finish when it is back.
//!
//! Two modes ([`TeardownMode`]): **graceful** lets every container stop as `docker stack rm`
//! does (SIGTERM, then SIGKILL after its stop grace period), for anything whose data matters;
//! **throwaway** SIGKILLs the run's containers first, for a run whose data is discarded anyway (a
//! shell as PID 1 ignores SIGTERM, and each such container would otherwise cost its whole grace
//! period). The caller decides: never throwaway for a warm canonical or before a backup.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::{Error, Leftover, Result};
use crate::labels::{filter_run, filter_stack, RUN, STACK_NAMESPACE};
use crate::objects::{Kind, Object, Removal};
use crate::Swarm;

/// What a teardown did.
#[derive(Debug, Clone)]
pub struct TornDown {
    /// Wall time of the whole teardown.
    pub elapsed: Duration,
    /// Objects removed, as `kind name`.
    pub removed: Vec<Leftover>,
}

/// Label of task containers naming their service id.
const SWARM_SERVICE_ID: &str = "com.docker.swarm.service.id";

/// How a teardown stops the run's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TeardownMode {
    /// As `docker stack rm`: each container gets SIGTERM and its stop grace period.
    #[default]
    Graceful,
    /// SIGKILL every container of the run at once; only for data that is thrown away.
    Throwaway,
}

impl Swarm {
    /// Remove the stack `stack` of run `run_id` and everything labelled with the run, then run the
    /// residual check. Objects are selected by `cc-ci.run=<run_id>` or
    /// `com.docker.stack.namespace=<stack>` (what `docker stack rm` would remove). Errors:
    /// [`Error::TeardownTimeout`] if containers are still there at `timeout`,
    /// [`Error::Residual`] if anything of the run remains.
    pub async fn teardown(&self, stack: &str, run_id: &str, timeout: Duration) -> Result<TornDown> {
        self.teardown_as(stack, run_id, timeout, TeardownMode::Graceful).await
    }

    /// [`Swarm::teardown`] in the given mode ([`TeardownMode::Throwaway`] kills the containers
    /// instead of waiting for them to stop).
    pub async fn teardown_as(
        &self,
        stack: &str,
        run_id: &str,
        timeout: Duration,
        mode: TeardownMode,
    ) -> Result<TornDown> {
        let start = Instant::now();
        let selectors = vec![filter_run(run_id), filter_stack(stack)];
        let (run, st) = (run_id.to_string(), stack.to_string());
        let (reachable, lost) = self.reachable().await;
        let removed = reachable
            .reap(
                &selectors,
                &move |o: &Object| o.labels.get(RUN) == Some(&run) || o.labels.get(STACK_NAMESPACE) == Some(&st),
                stack,
                timeout,
                mode,
            )
            .await?;
        reachable.leftovers(run_id, Some(stack)).await?;
        unreachable(format!("run {run_id}: teardown"), lost)?;
        Ok(TornDown { elapsed: start.elapsed(), removed })
    }

    /// Everything still labelled `cc-ci.run=<run_id>` (or, if given, with the stack's namespace
    /// label), on every node: [`Error::Residual`] naming each leftover, [`Error::NodesUnreachable`]
    /// when a node could not be checked, or `Ok(())` when nothing remains.
    pub async fn residual_check(&self, run_id: &str, stack: Option<&str>) -> Result<()> {
        let (reachable, lost) = self.reachable().await;
        reachable.leftovers(run_id, stack).await?;
        unreachable(format!("run {run_id}: residual check"), lost)
    }

    /// [`Error::Residual`] naming what of the run is left on the engines of this connection.
    async fn leftovers(&self, run_id: &str, stack: Option<&str>) -> Result<()> {
        let mut selectors = vec![filter_run(run_id)];
        if let Some(stack) = stack {
            selectors.push(filter_stack(stack));
        }
        let mut leftovers = Vec::new();
        for kind in Kind::ALL {
            leftovers.extend(self.list_any(kind, &selectors).await?.iter().map(Object::leftover));
        }
        if leftovers.is_empty() {
            Ok(())
        } else {
            Err(Error::Residual { run_id: run_id.to_string(), leftovers })
        }
    }

    /// Remove every object that matches one of the engine `selectors` and `ours` says is ours,
    /// in order: (throwaway: kill the containers) → services → (wait for swarm to remove their
    /// containers, killing any that still run in throwaway mode) → remaining containers →
    /// networks, configs, secrets, volumes (retried on events while the engine says "in use").
    pub(crate) async fn reap(
        &self,
        selectors: &[HashMap<String, Vec<String>>],
        ours: &(dyn Fn(&Object) -> bool + Sync),
        what: &str,
        timeout: Duration,
        mode: TeardownMode,
    ) -> Result<Vec<Leftover>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let removed = std::sync::Mutex::new(Vec::new());
        let list = |kind| async move {
            Ok::<_, Error>(self.list_any(kind, selectors).await?.into_iter().filter(|o| ours(o)).collect::<Vec<_>>())
        };

        let throwaway = mode == TeardownMode::Throwaway;
        if throwaway {
            // Before the services go, so no SIGTERM reaches them first.
            self.kill_containers(&list(Kind::Container).await?).await?;
        }
        let mut removed_services = std::collections::HashSet::new();
        for service in list(Kind::Service).await? {
            if let Removal::Done = self.remove_object(&service).await? {
                removed.lock().expect("not poisoned").push(service.leftover());
                removed_services.insert(service.id.clone());
            }
        }
        // Swarm removes the task containers of deleted services itself; wait for that, and for
        // the tasks themselves: a task still being prepared when its service went (no container
        // yet) makes the node create its networks a moment later, after we removed them.
        let removed_services = &removed_services;
        let removed_ref = &removed;
        let remaining = self
            .wait_until_none(deadline, || async move {
                let containers: Vec<Object> = list(Kind::Container)
                    .await?
                    .into_iter()
                    .filter(|c| c.labels.contains_key(SWARM_SERVICE_ID))
                    .collect();
                if throwaway {
                    // A replacement task swarm started between the kill and the service removal.
                    self.kill_containers(&containers).await?;
                }
                // A task container that has stopped is removed now rather than when swarm's task
                // reaper gets to it (seconds later): its volumes are free at once.
                let mut remaining = Vec::new();
                for c in containers {
                    if c.has_stopped() && matches!(self.remove_object(&c).await?, Removal::Done) {
                        removed_ref.lock().expect("not poisoned").push(c.leftover());
                    } else {
                        remaining.push(c.name);
                    }
                }
                if !removed_services.is_empty() {
                    let tasks = self
                        .docker
                        .list_tasks(None::<bollard::query_parameters::ListTasksOptions>)
                        .await
                        .map_err(Error::docker("listing tasks"))?;
                    // Only tasks that may still start something count: one being prepared when its
                    // service went would make the node create its networks after we removed them.
                    // A task on a node whose engine does not answer starts nothing we could wait for.
                    let reached = |node: &Option<String>| {
                        node.as_deref().is_none_or(|n| n.is_empty() || self.node_engines().iter().any(|e| e.id == n))
                    };
                    remaining.extend(
                        tasks
                            .into_iter()
                            .filter(|t| t.service_id.as_ref().is_some_and(|s| removed_services.contains(s)))
                            .filter(|t| reached(&t.node_id))
                            .map(|t| format!("task {}", t.id.unwrap_or_default())),
                    );
                }
                Ok(remaining)
            })
            .await?;
        if !remaining.is_empty() {
            return Err(Error::TeardownTimeout { stack: what.to_string(), after: timeout, remaining });
        }
        // Containers that are not swarm tasks (helpers) or that swarm left behind.
        for c in list(Kind::Container).await? {
            if let Removal::Done = self.remove_object(&c).await? {
                removed.lock().expect("not poisoned").push(c.leftover());
            }
        }
        // The rest; the engine may call a network or volume busy for a moment after its last
        // container went away, and a node may still list an overlay network for a moment after
        // the swarm removed it, so repeat on events until a look finds nothing (or the deadline).
        let reported = std::sync::Mutex::new(std::collections::HashSet::new());
        let leftovers = self
            .wait_until_none(deadline, || {
                let (removed, reported) = (&removed, &reported);
                async move {
                    let mut still_listed = Vec::new();
                    for kind in [Kind::Network, Kind::Config, Kind::Secret, Kind::Volume] {
                        for o in list(kind).await? {
                            match self.remove_object(&o).await? {
                                Removal::Done => {
                                    if reported.lock().expect("not poisoned").insert(o.id.clone()) {
                                        removed.lock().expect("not poisoned").push(o.leftover());
                                    }
                                    still_listed.push(format!("{} (removed, still listed)", o.leftover()));
                                }
                                Removal::Busy(why) => still_listed.push(format!("{} ({why})", o.leftover())),
                            }
                        }
                    }
                    Ok(still_listed)
                }
            })
            .await?;
        if !leftovers.is_empty() {
            return Err(Error::TeardownTimeout { stack: what.to_string(), after: timeout, remaining: leftovers });
        }
        Ok(removed.into_inner().expect("not poisoned"))
    }

    /// SIGKILL each container (one already stopped or gone is fine).
    async fn kill_containers(&self, containers: &[Object]) -> Result<()> {
        for c in containers {
            let options = bollard::query_parameters::KillContainerOptions { signal: "SIGKILL".into() };
            let docker = c.node.as_ref().map_or(&self.docker, |n| &n.docker);
            match docker.kill_container(&c.id, Some(options)).await {
                Ok(()) => {}
                // 404: gone; 409: not running.
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404 | 409, .. }) => {}
                Err(e) => return Err(crate::Error::docker(format!("killing {}", c.leftover()))(e)),
            }
        }
        Ok(())
    }
}

/// [`Error::NodesUnreachable`] for `what` when some nodes could not be reached.
pub(crate) fn unreachable(what: String, lost: Vec<String>) -> Result<()> {
    if lost.is_empty() {
        Ok(())
    } else {
        Err(Error::NodesUnreachable { what, nodes: lost })
    }
}

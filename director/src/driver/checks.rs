//! Probes on lvs-healthcheck's runner, on a thread and runtime of their
//! own (`Runner::spawn_thread`, as keepalived keeps its checkers apart from
//! VRRP): a burst of probe work never delays an advert. The core names
//! probes by [`ProbeKey`]; the runner by `MemberId`; the map between them
//! lives in one small task that translates requests and events.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use lvs_healthcheck::runner::{AsyncChecker, Command as RunnerCommand, Runner};
use lvs_healthcheck::{EngineConfig, Event, FailOpen, MemberId, ServiceId};
use lvs_ipvs::ServiceKey;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use crate::command::ProbeKey;
use crate::config::{Check, Probe};
use crate::director::CheckEvent;

/// A request from the event loop.
pub(crate) enum Request {
    Add {
        probe: ProbeKey,
        service: ServiceKey,
        spec: Arc<Probe>,
    },
    /// A tracked script (`vrrp_script`), on a service id of its own so
    /// the engine's per-service logic never mixes it with real servers.
    AddScript {
        probe: ProbeKey,
        name: String,
        spec: Arc<Probe>,
    },
    Remove(ProbeKey),
}

/// The checker that runs a configured check.
pub(crate) fn checker(check: &Check) -> Arc<dyn AsyncChecker> {
    match check {
        Check::Tcp(c) => Arc::new(c.clone()),
        Check::TcpHalfOpen(c) => Arc::new(c.clone()),
        Check::Udp(c) => Arc::new(c.clone()),
        Check::Dns(c) => Arc::new(c.clone()),
        Check::Http(c) => Arc::new(c.clone()),
        Check::Exec(c) => Arc::new(c.clone()),
        Check::Smtp(c) => Arc::new(c.clone()),
        Check::Ping(c) => Arc::new(c.clone()),
    }
}

/// A stable id per virtual server for the engine's per-service logic
/// (all-down suspicion, fail-open).
fn service_id(key: &ServiceKey) -> ServiceId {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    ServiceId(h.finish())
}

/// A tracked script's check under an identity of its own: the runner shares
/// one probe between equal identities and a member joining a decided probe
/// gets no event, so an instance waiting for the script's first result
/// would wait forever behind a twin script (or a MISC_CHECK) with the same argv.
#[derive(Debug)]
struct ScriptCheck {
    name: String,
    inner: Arc<dyn AsyncChecker>,
}

impl AsyncChecker for ScriptCheck {
    fn identity(&self) -> String {
        format!("vrrp_script {}: {}", self.name, self.inner.identity())
    }

    fn check(&self, deadline: std::time::Instant) -> lvs_healthcheck::runner::ProbeFuture<'_> {
        self.inner.check(deadline)
    }
}

fn script_service_id(name: &str) -> ServiceId {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ("vrrp_script", name).hash(&mut h);
    ServiceId(h.finish())
}

/// Starts the probe thread (in the caller's network namespace); verdicts
/// come back on `verdicts`. Must be called inside a tokio runtime (the
/// translating task runs there).
pub(crate) fn start(
    verdicts: mpsc::UnboundedSender<(ProbeKey, CheckEvent)>,
) -> std::io::Result<mpsc::UnboundedSender<Request>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let engine = EngineConfig::default()
        .with_fail_open(FailOpen::Report)
        .with_max_in_flight(in_flight_budget());
    let runner = Runner::new(engine).spawn_thread(None)?;
    tokio::spawn(serve(rx, runner.commands, runner.events, verdicts));
    Ok(tx)
}

/// Probes in flight at once: what the open-file limit allows, less a
/// reserve for the director's own sockets, and never under the engine's
/// default. keepalived runs every check at once; with the default of 1,024,
/// 4,000 unreachable real servers waited for four connect timeouts in turn.
fn in_flight_budget() -> usize {
    const RESERVE: u64 = 256;
    let default = EngineConfig::default().max_in_flight;
    let allowed = lvs_sys::nofile_limit()
        .unwrap_or(1 << 20)
        .saturating_sub(RESERVE);
    usize::try_from(allowed).unwrap_or(usize::MAX).max(default)
}

async fn serve(
    mut requests: mpsc::UnboundedReceiver<Request>,
    commands: mpsc::UnboundedSender<RunnerCommand>,
    mut events: mpsc::UnboundedReceiver<Event>,
    verdicts: mpsc::UnboundedSender<(ProbeKey, CheckEvent)>,
) {
    let mut by_member: HashMap<MemberId, ProbeKey> = HashMap::new();
    let mut by_probe: HashMap<ProbeKey, MemberId> = HashMap::new();
    // Services that are tracked scripts: "every real server down" does not apply.
    let mut script_services: std::collections::HashSet<ServiceId> = Default::default();
    loop {
        tokio::select! {
            req = requests.recv() => match req {
                Some(req @ (Request::Add { .. } | Request::AddScript { .. })) => {
                    let (probe, service, spec, check) = match req {
                        Request::Add { probe, service, spec } => {
                            let check = checker(&spec.check);
                            (probe, service_id(&service), spec, check)
                        }
                        Request::AddScript { probe, name, spec } => {
                            let id = script_service_id(&name);
                            script_services.insert(id);
                            let inner = checker(&spec.check);
                            let check: Arc<dyn AsyncChecker> = Arc::new(ScriptCheck { name, inner });
                            (probe, id, spec, check)
                        }
                        Request::Remove(_) => continue,
                    };
                    let (reply, rx) = oneshot::channel();
                    let _ = commands.send(RunnerCommand::Add {
                        service,
                        checker: check,
                        policy: spec.policy.clone(),
                        reply,
                    });
                    // The runner answers at once; its events for this member
                    // are read only after the map knows it.
                    match rx.await {
                        Ok(Ok(id)) => {
                            debug!(check = %spec.description, "health check added");
                            by_member.insert(id, probe);
                            by_probe.insert(probe, id);
                        }
                        Ok(Err(e)) => error!(check = %spec.description, error = %e, "health check refused"),
                        Err(_) => break,
                    }
                }
                Some(Request::Remove(probe)) => {
                    if let Some(id) = by_probe.remove(&probe) {
                        by_member.remove(&id);
                        let _ = commands.send(RunnerCommand::Remove(id));
                    }
                }
                None => break,
            },
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                let (member, event) = match ev {
                    Event::Transition(t) => (t.member, CheckEvent::Pool {
                        in_pool: t.in_pool,
                        reason: t.reason,
                    }),
                    Event::Pool { member, in_pool, .. } => (member, CheckEvent::Pool { in_pool, reason: None }),
                    Event::Weight { member, weight, .. } => (member, CheckEvent::Weight(u32::from(weight))),
                    Event::Checked { member, .. } => (member, CheckEvent::Checked),
                    Event::AllDown { service, .. } => {
                        if script_services.contains(&service) {
                            continue;
                        }
                        tracing::warn!(service = service.0, "every real server of a virtual server is down");
                        continue;
                    }
                    other => {
                        debug!(event = ?other, "health event");
                        continue;
                    }
                };
                if let Some(probe) = by_member.get(&member)
                    && verdicts.send((*probe, event)).is_err()
                {
                    break;
                }
            }
        }
    }
    // The runner's thread ends with it.
    let _ = commands.send(RunnerCommand::Shutdown);
}

//! [`AsyncIpvsHandle`]: the blocking handle behind tokio's blocking pool.
//!
//! IPVS requests are short kernel calls on a socket nobody else reads, so
//! this wrapper moves the [`IpvsHandle`] onto `spawn_blocking` for each call
//! instead of re-implementing the protocol on an async socket. Calls on one
//! handle are serialised by a mutex; open several handles for parallelism.

use crate::reconcile::{ReconcileReport, Removal};
use crate::{
    DestinationEntry, Error, Info, IpvsHandle, Op, ServiceEntry, ServiceKey, SyncDaemon, Timeouts,
    VirtualServer, VirtualServerEntry,
};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::{Arc, Mutex};

/// An async IPVS handle (feature `tokio`).
#[derive(Debug, Clone)]
pub struct AsyncIpvsHandle {
    inner: Arc<Mutex<IpvsHandle>>,
}

impl AsyncIpvsHandle {
    /// Opens a handle in the caller's network namespace.
    pub async fn open() -> Result<Self, Error> {
        let h = blocking(IpvsHandle::open).await?;
        Ok(AsyncIpvsHandle {
            inner: Arc::new(Mutex::new(h)),
        })
    }

    /// Opens a handle inside the network namespace `netns` (see
    /// [`IpvsHandle::open_in_netns`]).
    pub async fn open_in_netns(netns: BorrowedFd<'_>) -> Result<Self, Error> {
        let netns = netns.try_clone_to_owned().map_err(Error::Netns)?;
        let h = blocking(move || IpvsHandle::open_in_netns(netns.as_fd())).await?;
        Ok(AsyncIpvsHandle {
            inner: Arc::new(Mutex::new(h)),
        })
    }

    /// Runs `f` on the blocking handle, on tokio's blocking pool.
    pub async fn with<R, F>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce(&mut IpvsHandle) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.inner.clone();
        blocking(move || {
            // A panic in an earlier call leaves the socket usable.
            let mut h = inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut h)
        })
        .await
    }

    /// See [`IpvsHandle::run`].
    pub async fn run(&self, op: Op) -> Result<(), Error> {
        self.with(move |h| h.run(&op)).await
    }
    /// See [`IpvsHandle::apply`].
    pub async fn apply(&self, ops: Vec<Op>) -> Result<Vec<Result<(), Error>>, Error> {
        self.with(move |h| h.apply(&ops)).await
    }
    /// See [`IpvsHandle::reconcile`].
    pub async fn reconcile(
        &self,
        desired: Vec<VirtualServer>,
        removal: Removal,
    ) -> Result<ReconcileReport, Error> {
        self.with(move |h| h.reconcile(&desired, removal)).await
    }
    /// See [`IpvsHandle::services`].
    pub async fn services(&self) -> Result<Vec<ServiceEntry>, Error> {
        self.with(|h| h.services()).await
    }
    /// See [`IpvsHandle::destinations`].
    pub async fn destinations(&self, key: ServiceKey) -> Result<Vec<DestinationEntry>, Error> {
        self.with(move |h| h.destinations(&key)).await
    }
    /// See [`IpvsHandle::table`].
    pub async fn table(&self) -> Result<Vec<VirtualServerEntry>, Error> {
        self.with(|h| h.table()).await
    }
    /// See [`IpvsHandle::daemons`].
    pub async fn daemons(&self) -> Result<Vec<SyncDaemon>, Error> {
        self.with(|h| h.daemons()).await
    }
    /// See [`IpvsHandle::timeouts`].
    pub async fn timeouts(&self) -> Result<Timeouts, Error> {
        self.with(|h| h.timeouts()).await
    }
    /// See [`IpvsHandle::info`].
    pub async fn info(&self) -> Result<Info, Error> {
        self.with(|h| h.info()).await
    }
    /// See [`IpvsHandle::write_requests`].
    pub async fn write_requests(&self) -> u64 {
        self.with(|h| Ok(h.write_requests())).await.unwrap_or(0)
    }
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, Error> + Send + 'static,
) -> Result<R, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io(std::io::Error::other(format!("blocking task failed: {e}"))))?
}

//! Running one request in a fresh instance of a pre-instantiated component.
//!
//! The guest's `handle` runs on its own task; this side waits for the response head on the
//! `response-outparam`, then reads the streamed body (capped) while the guest still runs. The
//! request's wall-clock limit covers instantiation, the head and the whole body.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::Full;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wasmtime::Store;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::WasiHttpView;

use super::body::{collect, Collected};
use super::{ComponentModule, ComponentState};
use crate::instance::{classify, preopen_volumes, set_deadline, MAX_STDERR};
use crate::outcome::{Outcome, Timings};
use crate::Limits;

type Head = Result<Response<HyperOutgoingBody>, ErrorCode>;

/// How the guest's `handle` call ended.
enum GuestEnd {
    /// It returned.
    Returned,
    /// It trapped, timed out, found no free slot, or could not start.
    Stopped(Outcome),
}

impl ComponentModule {
    /// Runs the component once for `request`, which arrived on `local`.
    pub(crate) async fn run(
        &self,
        limits: &Limits,
        request: Request<Bytes>,
        local: SocketAddr,
    ) -> (Outcome, Timings, Bytes) {
        let stderr = MemoryOutputPipe::new(MAX_STDERR);
        let started = Instant::now();
        let instantiated = Arc::new(AtomicU64::new(0));
        let outcome = match self.start(request, local, limits, &stderr, started, &instantiated) {
            Ok((task, head)) => wait(task, head, limits, started + limits.request_timeout).await,
            Err(detail) => Outcome::Failed(detail),
        };
        let instantiate = Duration::from_nanos(instantiated.load(Ordering::Relaxed));
        let timings = Timings {
            instantiate,
            run: started.elapsed().saturating_sub(instantiate),
        };
        (outcome, timings, stderr.contents())
    }

    /// Sets up the store and the request, and spawns the guest's `handle` call.
    fn start(
        &self,
        request: Request<Bytes>,
        local: SocketAddr,
        limits: &Limits,
        stderr: &MemoryOutputPipe,
        started: Instant,
        instantiated: &Arc<AtomicU64>,
    ) -> Result<(Task, oneshot::Receiver<Head>), String> {
        let env: Vec<(&String, &String)> = self.config.environment.iter().collect();
        let mut builder = WasiCtxBuilder::new();
        builder.envs(&env).stderr(stderr.clone());
        preopen_volumes(&mut builder, &self.config)?;
        let state = ComponentState::new(builder.build(), self.policy.clone());
        let mut store = Store::new(self.pre.engine(), state);
        set_deadline(&mut store, started + limits.request_timeout);
        let (tx, rx) = oneshot::channel();
        let mut http = store.data_mut().http();
        let req = http
            .new_incoming_request(Scheme::Http, incoming(request, local)?)
            .map_err(|e| format!("cannot pass the request to the component: {e}"))?;
        let out = http
            .new_response_outparam(tx)
            .map_err(|e| format!("cannot pass the response-outparam to the component: {e}"))?;
        let task = tokio::spawn(call(
            self.pre.clone(),
            store,
            req,
            out,
            started,
            instantiated.clone(),
        ));
        Ok((Task(task), rx))
    }
}

/// The request as the guest sees it: the client's path and query, the authority from `Host`
/// (or the address it arrived on), scheme `http`.
fn incoming(request: Request<Bytes>, local: SocketAddr) -> Result<Request<Full<Bytes>>, String> {
    let (mut parts, body) = request.into_parts();
    let authority = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<http::uri::Authority>().ok())
        .map(|a| a.to_string())
        .unwrap_or_else(|| local.to_string());
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    parts.uri = Uri::builder()
        .scheme("http")
        .authority(authority)
        .path_and_query(path)
        .build()
        .map_err(|e| format!("cannot form the request URI: {e}"))?;
    Ok(Request::from_parts(parts, Full::new(body)))
}

/// Instantiates the component and calls its `handle`.
async fn call(
    pre: ProxyPre<ComponentState>,
    mut store: Store<ComponentState>,
    req: wasmtime::component::Resource<HostIncomingRequest>,
    out: wasmtime::component::Resource<HostResponseOutparam>,
    started: Instant,
    instantiated: Arc<AtomicU64>,
) -> GuestEnd {
    let proxy = match pre.instantiate_async(&mut store).await {
        Ok(p) => p,
        Err(e) => return ended(e),
    };
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    instantiated.store(nanos, Ordering::Relaxed);
    match proxy
        .wasi_http_incoming_handler()
        .call_handle(&mut store, req, out)
        .await
    {
        Ok(()) => GuestEnd::Returned,
        Err(e) => ended(e),
    }
}

fn ended(e: wasmtime::Error) -> GuestEnd {
    match classify(e) {
        Outcome::Finished(_) => GuestEnd::Returned,
        other => GuestEnd::Stopped(other),
    }
}

/// The guest's task; aborted (and its store and instance slot freed) when dropped.
struct Task(JoinHandle<GuestEnd>);

impl Task {
    /// Waits for the guest to end, until `deadline`.
    async fn end(&mut self, deadline: Instant) -> GuestEnd {
        match tokio::time::timeout_at(deadline.into(), &mut self.0).await {
            Err(_) => GuestEnd::Stopped(Outcome::TimedOut),
            Ok(Ok(end)) => end,
            Ok(Err(e)) => {
                GuestEnd::Stopped(Outcome::Failed(format!("the guest's task failed: {e}")))
            }
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Waits for the response head, then for its body and the guest's end.
async fn wait(
    mut task: Task,
    head: oneshot::Receiver<Head>,
    limits: &Limits,
    deadline: Instant,
) -> Outcome {
    let head = match tokio::time::timeout_at(deadline.into(), head).await {
        Err(_) => return Outcome::TimedOut,
        // The outparam was dropped unset: the guest ended (or never started).
        Ok(Err(_)) => {
            return match task.end(deadline).await {
                GuestEnd::Returned => Outcome::Invalid(
                    "the handler returned without setting a response (response-outparam.set)"
                        .to_string(),
                ),
                GuestEnd::Stopped(outcome) => outcome,
            }
        }
        Ok(Ok(head)) => head,
    };
    let response = match head {
        Ok(response) => response,
        Err(code) => {
            if let GuestEnd::Stopped(outcome) = task.end(deadline).await {
                return outcome;
            }
            return Outcome::Invalid(format!("the handler answered with error {code:?}"));
        }
    };
    let (parts, body) = response.into_parts();
    let max = limits.max_response_bytes;
    match collect(body, max, deadline).await {
        Collected::Done(bytes) => {
            if let GuestEnd::Stopped(_) = task.end(deadline).await {
                tracing::warn!(
                    "the handler trapped or ran out of time after its response was complete; the response is sent"
                );
            }
            Outcome::Responded(Response::from_parts(parts, bytes))
        }
        Collected::TooLarge => Outcome::Invalid(format!(
            "the handler's response body is larger than the limit of {max} bytes; raise max_response_mib in [limits]"
        )),
        Collected::TimedOut => Outcome::TimedOut,
        Collected::Failed(e) => match task.end(deadline).await {
            GuestEnd::Stopped(outcome) => outcome,
            GuestEnd::Returned => {
                Outcome::Invalid(format!("the handler's response body failed: {e}"))
            }
        },
    }
}

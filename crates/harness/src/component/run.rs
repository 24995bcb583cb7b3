//! Running one request in a fresh instance of a pre-instantiated component.
//!
//! The guest's `handle` runs on the request's own task until it sets its response head on the
//! `response-outparam` or returns (a guest that returns first never needs a task of its own);
//! one still running then moves to its own task, and the client gets a body that streams as
//! the guest writes it
//! ([`ResponseStream`]: capped at `max_response_bytes`, and cut if the guest fails). The
//! request body reaches the guest as it arrives. The request's wall-clock limit covers
//! instantiation, the head and the whole body.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Sleep;
use wasmtime::Store;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::WasiHttpView;

use super::{ComponentModule, ComponentState, OutboundHooks};
use crate::bodies::{RequestBody, RequestFaults};
use crate::catch_panic::CatchPanic;
use crate::harness::HEAD_GRACE;
use crate::hops::Admission;
use crate::instance::{classify, preopen_volumes, set_deadline, MAX_STDERR};
use crate::outcome::{log_guest_stderr, Outcome, RunClock, Timings};
use crate::{GuestLog, Limits};

type Head = Result<http::Response<HyperOutgoingBody>, ErrorCode>;

/// What a run starts from: the request, the address it arrived on, and the hop count its
/// outbound calls carry.
struct Arrival {
    request: Request<RequestBody>,
    local: SocketAddr,
    hops: u32,
}

/// How the guest's `handle` call ended.
enum GuestEnd {
    /// It returned.
    Returned,
    /// It trapped, timed out, found no free slot, or could not start.
    Stopped(Outcome),
}

impl ComponentModule {
    /// Runs the component once for `request`, which arrived on `local` for `route`; its
    /// outbound calls carry the admission's hop count, and the admission is held until the
    /// guest ends. The timings end at the response head.
    pub(crate) async fn run(
        &self,
        limits: &Limits,
        request: Request<RequestBody>,
        local: SocketAddr,
        route: Arc<str>,
        admission: Admission,
        faults: RequestFaults,
    ) -> (Outcome, Timings) {
        let stderr = GuestLog::new(MAX_STDERR);
        let clock = RunClock::start();
        let arrival = Arrival {
            request,
            local,
            hops: admission.outgoing_hops,
        };
        let end = RunEnd {
            stderr: stderr.clone(),
            route,
            request: faults,
            _admission: admission,
        };
        let deadline = clock.started() + limits.request_timeout;
        let outcome = match self.start(arrival, limits, &stderr, &clock) {
            Ok((task, head)) => wait(task, head, limits, deadline, end).await,
            Err(detail) => Outcome::Failed(detail),
        };
        (outcome, clock.timings())
    }

    /// Sets up the store and the request, and the guest's `handle` call (not started yet).
    fn start(
        &self,
        arrival: Arrival,
        limits: &Limits,
        stderr: &GuestLog,
        clock: &RunClock,
    ) -> Result<(Task, oneshot::Receiver<Head>), String> {
        let Arrival {
            request,
            local,
            hops,
        } = arrival;
        let env: Vec<(&String, &String)> = self.config.environment.iter().collect();
        let mut builder = WasiCtxBuilder::new();
        builder.envs(&env).stderr(stderr.clone());
        preopen_volumes(&mut builder, &self.config)?;
        let hooks = OutboundHooks::new(self.policy.clone(), self.client.clone(), hops);
        let state = ComponentState::new(builder.build(), hooks);
        let mut store = Store::new(self.pre.engine(), state);
        if let Some(cpu) = &self.guest_cpu {
            cpu.watch(&mut store);
        }
        set_deadline(&mut store, clock.started() + limits.request_timeout);
        let (tx, rx) = oneshot::channel();
        let mut http = store.data_mut().http();
        let req = http
            .new_incoming_request(Scheme::Http, incoming(request, local)?)
            .map_err(|e| format!("cannot pass the request to the component: {e}"))?;
        let out = http
            .new_response_outparam(tx)
            .map_err(|e| format!("cannot pass the response-outparam to the component: {e}"))?;
        let call = call(self.pre.clone(), store, req, out, clock.clone());
        // A panic in host code while the guest runs answers 500 (or cuts a body under way).
        let call = async move {
            CatchPanic(std::pin::pin!(call))
                .await
                .unwrap_or_else(|panic| {
                    let detail = crate::catch_panic::panicked(&panic);
                    tracing::error!("{detail}");
                    GuestEnd::Stopped(Outcome::Failed(detail))
                })
        };
        Ok((Task::Here(Box::pin(call)), rx))
    }
}

/// The request as the guest sees it: the client's path and query, the authority from `Host`
/// (or the address it arrived on), scheme `http`.
fn incoming(
    request: Request<RequestBody>,
    local: SocketAddr,
) -> Result<Request<RequestBody>, String> {
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
    Ok(Request::from_parts(parts, body))
}

/// Instantiates the component and calls its `handle`.
async fn call(
    pre: ProxyPre<ComponentState>,
    mut store: Store<ComponentState>,
    req: wasmtime::component::Resource<HostIncomingRequest>,
    out: wasmtime::component::Resource<HostResponseOutparam>,
    clock: RunClock,
) -> GuestEnd {
    let proxy = match pre.instantiate_async(&mut store).await {
        Ok(p) => p,
        Err(e) => return ended(e),
    };
    clock.instantiated();
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

/// The guest's `handle` call: polled on the request's own task until its response head, then,
/// if it is still running, on a task of its own while its body streams. Dropped, it stops (its
/// store and instance slot are freed).
enum Task {
    Here(Pin<Box<dyn Future<Output = GuestEnd> + Send>>),
    Spawned(Aborting),
}

/// A spawned guest call, aborted when dropped.
struct Aborting(JoinHandle<GuestEnd>);

impl Drop for Aborting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Task {
    /// The same call, running on a task of its own from now on.
    fn spawned(self) -> Self {
        match self {
            Task::Here(call) => Task::Spawned(Aborting(tokio::spawn(call))),
            spawned => spawned,
        }
    }

    /// Polls the call (here, or its task) until it ends.
    fn poll_end(&mut self, cx: &mut Context<'_>) -> Poll<GuestEnd> {
        match self {
            Task::Here(call) => call.as_mut().poll(cx),
            Task::Spawned(handle) => Pin::new(&mut handle.0).poll(cx).map(|joined| {
                joined.unwrap_or_else(|e| {
                    GuestEnd::Stopped(Outcome::Failed(format!("the guest's task failed: {e}")))
                })
            }),
        }
    }

    /// Waits for the guest to end, until `deadline`.
    async fn end(&mut self, deadline: Instant) -> GuestEnd {
        let ended = std::future::poll_fn(|cx| self.poll_end(cx));
        crate::deadline::within(deadline, ended)
            .await
            .unwrap_or(GuestEnd::Stopped(Outcome::TimedOut))
    }
}

/// What happened first while the guest ran here: it ended, or its response head was set (or
/// the outparam was dropped unset).
enum First {
    Ended(GuestEnd),
    Head(Result<Head, oneshot::error::RecvError>),
}

/// What is left to do when the guest has ended: log its stderr and give back its admission.
/// Done when dropped, so a cut or abandoned response still logs.
struct RunEnd {
    stderr: GuestLog,
    route: Arc<str>,
    /// What became of the request body: a body cut past its cap or deadline cuts the response
    /// too (the guest answered without all of its input).
    request: RequestFaults,
    _admission: Admission,
}

impl Drop for RunEnd {
    fn drop(&mut self) {
        log_guest_stderr(&self.route, &self.stderr.contents());
    }
}

/// Runs the guest until its response head; the outcome is the response with its body
/// streaming, or how the guest ended without one.
async fn wait(
    mut task: Task,
    mut head: oneshot::Receiver<Head>,
    limits: &Limits,
    deadline: Instant,
    end: RunEnd,
) -> Outcome {
    let first = crate::deadline::within(deadline, async {
        tokio::select! {
            biased;
            ended = std::future::poll_fn(|cx| task.poll_end(cx)) => First::Ended(ended),
            head = &mut head => First::Head(head),
        }
    })
    .await;
    let unset = |ended: GuestEnd| match ended {
        GuestEnd::Returned => Outcome::Invalid(
            "the handler returned without setting a response (response-outparam.set)".to_string(),
        ),
        GuestEnd::Stopped(outcome) => outcome,
    };
    let (head, ended) = match first {
        None => return Outcome::TimedOut,
        Some(First::Ended(ended)) => match head.try_recv() {
            Ok(head) => (head, Some(ended)),
            Err(_) => return unset(ended),
        },
        Some(First::Head(Ok(head))) => (head, None),
        // The outparam was dropped unset: the guest ended (or never started).
        Some(First::Head(Err(_))) => return unset(task.end(deadline).await),
    };
    let mut response = match head {
        Ok(response) => response,
        Err(code) => {
            let ended = match ended {
                Some(ended) => ended,
                None => task.end(deadline).await,
            };
            if let GuestEnd::Stopped(outcome) = ended {
                return outcome;
            }
            return Outcome::Invalid(format!("the handler answered with error {code:?}"));
        }
    };
    // A guest that stops soon after setting its response (a trap) still gets the answer for
    // how it stopped, as when no response was set. Meanwhile its body is taken as it comes
    // (up to `GRACE_BODY_BYTES`), so a guest that writes more than wasi:http's buffer holds
    // goes on writing; one that fills that much moves to its own task at once.
    let mut early = EarlyBody::default();
    let task = match ended {
        Some(GuestEnd::Stopped(outcome)) => return outcome,
        Some(GuestEnd::Returned) => None,
        None => {
            let grace = tokio::time::sleep(HEAD_GRACE);
            tokio::pin!(grace);
            loop {
                if early.bytes >= GRACE_BODY_BYTES {
                    break Some(task.spawned());
                }
                tokio::select! {
                    biased;
                    end = task.end(deadline) => match end {
                        GuestEnd::Stopped(outcome) => return outcome,
                        GuestEnd::Returned => break None,
                    },
                    frame = response.body_mut().frame(), if early.end.is_none() => early.take(frame),
                    () = &mut grace => break Some(task.spawned()),
                }
            }
        }
    };
    let (parts, body) = response.into_parts();
    let stream = ResponseStream {
        held: early.frames,
        inner: body,
        cap: limits.max_response_bytes,
        sent: 0,
        timeout: limits.request_timeout,
        deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
        task,
        end: Some(end),
        phase: match early.end {
            None => Phase::Streaming,
            Some(failure) => Phase::Ending(failure),
        },
    };
    Outcome::Streaming(http::Response::from_parts(parts, stream.boxed_unsync()))
}

/// Bytes of a component's response body taken while its head is held: past them, the guest
/// moves to its own task and the response goes out.
const GRACE_BODY_BYTES: usize = 64 << 10;

/// The start of a component's response body, taken while its head was held.
#[derive(Default)]
struct EarlyBody {
    frames: std::collections::VecDeque<Frame<Bytes>>,
    bytes: usize,
    /// Set once the body ended: with the failure that ended it, if any.
    end: Option<Option<String>>,
}

impl EarlyBody {
    fn take<E: std::fmt::Display>(&mut self, frame: Option<Result<Frame<Bytes>, E>>) {
        match frame {
            None => self.end = Some(None),
            Some(Err(e)) => {
                self.end = Some(Some(format!("the handler's response body failed: {e}")))
            }
            Some(Ok(frame)) => {
                self.bytes += frame.data_ref().map_or(0, Bytes::len);
                self.frames.push_back(frame);
            }
        }
    }
}

/// A component's response body on its way to the client: at most `cap` bytes, done by the
/// request's deadline. When the guest's body ends, the stream waits for the guest to return
/// (so its stderr is logged and a late trap is known) before it ends too; a body that failed,
/// passed the cap or the deadline is cut (the client sees it end early) with a log line.
struct ResponseStream {
    /// Frames taken while the head was held; they go out first.
    held: std::collections::VecDeque<Frame<Bytes>>,
    inner: HyperOutgoingBody,
    cap: usize,
    sent: usize,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    task: Option<Task>,
    end: Option<RunEnd>,
    phase: Phase,
}

enum Phase {
    /// Passing the guest's frames on.
    Streaming,
    /// The guest's body ended (with this failure, if any); waiting for the guest to return.
    Ending(Option<String>),
    /// Nothing more to send.
    Done,
}

impl ResponseStream {
    /// Counts a data frame against the cap: the frame to send, or the cut past the cap.
    fn deliver(&mut self, frame: Frame<Bytes>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(data) = frame.data_ref() {
            self.sent = self.sent.saturating_add(data.len());
            if self.sent > self.cap {
                let cap = self.cap;
                return self.cut(format!(
                    "the handler's response body is larger than the limit of {cap} bytes; raise max_response_mib in [limits]"
                ));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    /// Stops the guest, logs, and ends the body with an error.
    fn cut(&mut self, reason: String) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        self.task = None;
        tracing::warn!(route = %self.route(), "response cut after its headers were sent: {reason}");
        self.end = None;
        self.phase = Phase::Done;
        Poll::Ready(Some(Err(io::Error::other(reason))))
    }

    fn route(&self) -> Arc<str> {
        self.end
            .as_ref()
            .map(|e| e.route.clone())
            .unwrap_or_else(|| "".into())
    }
}

impl Body for ResponseStream {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(frame) = this.held.pop_front() {
            return this.deliver(frame);
        }
        loop {
            match &mut this.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::Streaming => match Pin::new(&mut this.inner).poll_frame(cx) {
                    Poll::Pending => {
                        if this.deadline.as_mut().poll(cx).is_ready() {
                            let t = this.timeout;
                            return this.cut(format!(
                                "the handler did not finish its response body within {t:?}; it was stopped"
                            ));
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(None) => this.phase = Phase::Ending(None),
                    Poll::Ready(Some(Err(e))) => {
                        this.phase =
                            Phase::Ending(Some(format!("the handler's response body failed: {e}")))
                    }
                    Poll::Ready(Some(Ok(frame))) => return this.deliver(frame),
                },
                Phase::Ending(failure) => {
                    let stopped = match this.task.as_mut() {
                        None => None,
                        Some(task) => match task.poll_end(cx) {
                            Poll::Ready(GuestEnd::Returned) => None,
                            Poll::Ready(GuestEnd::Stopped(outcome)) => Some(outcome.describe()),
                            Poll::Pending => {
                                if this.deadline.as_mut().poll(cx).is_ready() {
                                    Some(
                                        "the handler ran past request_timeout and was stopped"
                                            .into(),
                                    )
                                } else {
                                    return Poll::Pending;
                                }
                            }
                        },
                    };
                    let failure = failure.take().or_else(|| {
                        let fault = this.end.as_ref()?.request.get()?;
                        Some(format!("{fault}; the handler answered without all of it"))
                    });
                    match (failure, stopped) {
                        (None, None) => {}
                        (None, Some(why)) => tracing::warn!(
                            route = %this.route(),
                            "{why} after its response was complete; the response is sent"
                        ),
                        (Some(failure), why) => return this.cut(why.unwrap_or(failure)),
                    }
                    this.task = None;
                    this.end = None;
                    this.phase = Phase::Done;
                    return Poll::Ready(None);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    fn size_hint(&self) -> SizeHint {
        let held: u64 = (self.held.iter())
            .filter_map(Frame::data_ref)
            .map(|data| data.len() as u64)
            .sum();
        let rest = match self.phase {
            Phase::Streaming => self.inner.size_hint(),
            Phase::Ending(_) if held > 0 => SizeHint::with_exact(0),
            _ => return SizeHint::default(),
        };
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower().saturating_add(held));
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(held));
        }
        hint
    }
}

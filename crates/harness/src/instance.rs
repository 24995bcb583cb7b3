//! Running one request in a fresh instance of a pre-instantiated module.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::{Engine, InstancePre, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::outbound::{abi::HasOutbound, OutboundClient, OutboundPolicy, OutboundState};
use crate::ModuleConfig;

/// Largest stderr kept from one request for the log.
const MAX_STDERR: usize = 64 << 10;

/// A request's store data: WASI and the outbound handles.
pub struct RequestState {
    wasi: WasiP1Ctx,
    outbound: OutboundState,
}

impl RequestState {
    pub(crate) fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }
}

impl HasOutbound for RequestState {
    fn outbound(&mut self) -> &mut OutboundState {
        &mut self.outbound
    }
}

/// A module ready to serve: compiled, linked and pre-instantiated.
pub(crate) struct PreparedModule {
    pub(crate) config: ModuleConfig,
    pub(crate) pre: InstancePre<RequestState>,
    pub(crate) policy: Arc<OutboundPolicy>,
    pub(crate) entrypoint: String,
}

/// How a run ended.
pub(crate) enum Outcome {
    /// The module finished (returned or `proc_exit(0)`); this is what it wrote.
    Finished(Bytes),
    /// It exited with a non-zero code.
    Exited(i32),
    /// It trapped.
    Trapped(String),
    /// It ran past the wall-clock limit.
    TimedOut,
    /// No instance slot was free.
    Busy,
    /// It could not start.
    Failed(String),
}

/// Timings of one run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timings {
    pub(crate) instantiate: Duration,
    pub(crate) run: Duration,
}

/// Inputs of one run.
pub(crate) struct RunInput {
    pub(crate) env: Vec<(String, String)>,
    pub(crate) args: Vec<String>,
    pub(crate) stdin: Bytes,
}

impl PreparedModule {
    /// Runs the module once for a request.
    pub(crate) async fn run(
        &self,
        engine: &Engine,
        client: &OutboundClient,
        limits: &crate::Limits,
        input: RunInput,
    ) -> (Outcome, Timings, Bytes) {
        let stdout = MemoryOutputPipe::new(limits.max_response_bytes);
        let stderr = MemoryOutputPipe::new(MAX_STDERR);
        let mut builder = WasiCtxBuilder::new();
        builder
            .envs(&input.env)
            .args(&input.args)
            .stdin(MemoryInputPipe::new(input.stdin))
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        for (guest, host) in &self.config.volumes {
            if let Err(e) = builder.preopened_dir(host, guest, FsPerms::ReadWrite) {
                return (
                    Outcome::Failed(format!("cannot open volume {guest}: {e}")),
                    Timings::default(),
                    Bytes::new(),
                );
            }
        }
        let state = RequestState {
            wasi: builder.build_p1(),
            outbound: OutboundState::new(self.policy.clone(), client.clone()),
        };
        let mut store = Store::new(engine, state);
        let deadline = Instant::now() + limits.request_timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });

        let started = Instant::now();
        let mut timings = Timings::default();
        let outcome = tokio::time::timeout_at(deadline.into(), async {
            let instance = match self.pre.instantiate_async(&mut store).await {
                Ok(i) => i,
                Err(e)
                    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                        .is_some() =>
                {
                    return Outcome::Busy
                }
                Err(e) => return classify(e),
            };
            timings.instantiate = started.elapsed();
            let func = match instance.get_typed_func::<(), ()>(&mut store, &self.entrypoint) {
                Ok(f) => f,
                Err(e) => {
                    return Outcome::Failed(format!(
                        "the module exports no function `{}` taking and returning nothing: {e}",
                        self.entrypoint
                    ))
                }
            };
            match func.call_async(&mut store, ()).await {
                Ok(()) => Outcome::Finished(Bytes::new()),
                Err(e) => classify(e),
            }
        })
        .await
        .unwrap_or(Outcome::TimedOut);
        timings.run = started.elapsed().saturating_sub(timings.instantiate);
        drop(store);
        let outcome = match outcome {
            Outcome::Finished(_) => Outcome::Finished(stdout.contents()),
            other => other,
        };
        (outcome, timings, stderr.contents())
    }
}

fn classify(e: wasmtime::Error) -> Outcome {
    if let Some(exit) = e.downcast_ref::<I32Exit>() {
        return if exit.0 == 0 {
            Outcome::Finished(Bytes::new())
        } else {
            Outcome::Exited(exit.0)
        };
    }
    if let Some(Trap::Interrupt) = e.downcast_ref::<Trap>() {
        return Outcome::TimedOut;
    }
    if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return Outcome::Busy;
    }
    Outcome::Trapped(format!("{e:?}"))
}

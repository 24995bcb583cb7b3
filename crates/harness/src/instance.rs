//! Running one request in a fresh instance of a pre-instantiated WAGI module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wasmtime::{Engine, InstancePre, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::outbound::{abi::HasOutbound, OutboundClient, OutboundPolicy, OutboundState};
use crate::outcome::{Outcome, Timings};
use crate::{CgiRequest, ModuleConfig};

/// Largest stderr kept from one request for the log (both worlds).
pub(crate) const MAX_STDERR: usize = 64 << 10;

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

/// A WAGI module ready to serve: compiled, linked and pre-instantiated.
pub(crate) struct WagiModule {
    pub(crate) config: ModuleConfig,
    pub(crate) pre: InstancePre<RequestState>,
    pub(crate) policy: Arc<OutboundPolicy>,
    pub(crate) entrypoint: String,
}

/// Inputs of one run.
pub(crate) struct RunInput {
    pub(crate) env: Vec<(String, String)>,
    pub(crate) args: Vec<String>,
    pub(crate) stdin: Bytes,
}

impl WagiModule {
    /// The CGI inputs of a request: WAGI's environment then the module's own, argv, stdin.
    pub(crate) fn input(
        &self,
        parts: &http::request::Parts,
        body: Bytes,
        script_name: &str,
        path_info: &str,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> RunInput {
        let cgi = CgiRequest {
            parts,
            body_len: body.len(),
            script_name,
            path_info,
            matched_route: &self.config.route,
            peer,
            local,
        };
        let mut env = cgi.environment();
        for (k, v) in &self.config.environment {
            match env.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.clone(),
                None => env.push((k.clone(), v.clone())),
            }
        }
        let args = argv(
            &self.config,
            parts.uri.path(),
            script_name,
            parts.uri.query(),
        );
        RunInput {
            env,
            args,
            stdin: body,
        }
    }

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
        if let Err(detail) = preopen_volumes(&mut builder, &self.config) {
            return (Outcome::Failed(detail), Timings::default(), Bytes::new());
        }
        let state = RequestState {
            wasi: builder.build_p1(),
            outbound: OutboundState::new(self.policy.clone(), client.clone()),
        };
        let mut store = Store::new(engine, state);
        let deadline = Instant::now() + limits.request_timeout;
        set_deadline(&mut store, deadline);

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

/// Preopens the module's `volumes` read-write (both worlds).
pub(crate) fn preopen_volumes(
    builder: &mut WasiCtxBuilder,
    config: &ModuleConfig,
) -> Result<(), String> {
    for (guest, host) in &config.volumes {
        builder
            .preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(|e| format!("cannot open volume {guest}: {e}"))?;
    }
    Ok(())
}

/// Makes the guest yield to the executor at every epoch tick and stop (a trap) at `deadline`.
pub(crate) fn set_deadline<T>(store: &mut Store<T>, deadline: Instant) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(1)
        })
    });
}

/// How a run that returned `e` ended.
pub(crate) fn classify(e: wasmtime::Error) -> Outcome {
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

fn argv(config: &ModuleConfig, path: &str, script_name: &str, query: Option<&str>) -> Vec<String> {
    let items: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match &config.argv {
        None => std::iter::once(path.to_string()).chain(items).collect(),
        Some(template) => template
            .split_whitespace()
            .flat_map(|word| match word {
                "${ARGS}" => items.clone(),
                _ => vec![word.replace("${SCRIPT_NAME}", script_name)],
            })
            .collect(),
    }
}

//! Running one request in a fresh instance of a pre-instantiated WAGI module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wasmtime::{Engine, InstancePre, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::cgi_stream::{BodyStdin, CgiStdout};
use crate::guest_cpu::GuestCpu;
use crate::outbound::{abi::HasOutbound, OutboundClient, OutboundPolicy, OutboundState};
use crate::outcome::{Outcome, RunClock, Timings};
use crate::wagi_environ::PackedEnv;
use crate::{CgiRequest, GuestLog, ModuleConfig};

/// Largest stderr kept from one request for the log (both worlds).
pub(crate) const MAX_STDERR: usize = 64 << 10;

/// A request's store data: WASI, the CGI environment and the outbound handles.
pub struct RequestState {
    wasi: WasiP1Ctx,
    environ: PackedEnv,
    outbound: OutboundState,
}

impl RequestState {
    pub(crate) fn wasi(&mut self) -> &mut WasiP1Ctx {
        &mut self.wasi
    }

    /// The run's environment (read by `crate::wagi_environ`'s `environ_get`).
    pub(crate) fn environ(&self) -> &PackedEnv {
        &self.environ
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
    /// The module's outbound client (its connection pool).
    pub(crate) client: OutboundClient,
    pub(crate) entrypoint: String,
    /// The module's `environment`, packed once; it follows the CGI variables of each run and
    /// wins over a CGI variable of the same name.
    pub(crate) environment: PackedEnv,
    /// Where its guest CPU time is summed, when measured (`[dashboard] guest_cpu`).
    pub(crate) guest_cpu: Option<Arc<GuestCpu>>,
}

/// The CGI environment and argv of one run.
pub(crate) struct RunInput {
    pub(crate) env: PackedEnv,
    pub(crate) args: Vec<String>,
}

/// Where one run's stdin comes from and its stdout goes.
pub(crate) struct RunStdio {
    pub(crate) stdin: BodyStdin,
    pub(crate) stdout: CgiStdout,
}

impl WagiModule {
    /// The CGI inputs of a request whose body is `body_len` bytes long (unknown for a chunked
    /// body: `CONTENT_LENGTH` is then empty and the guest reads stdin to its end): WAGI's
    /// environment then the module's own, and argv.
    pub(crate) fn input(
        &self,
        parts: &http::request::Parts,
        body_len: Option<u64>,
        script_name: &str,
        path_info: &str,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> RunInput {
        let cgi = CgiRequest {
            parts,
            body_len: body_len.and_then(|n| usize::try_from(n).ok()).unwrap_or(0),
            script_name,
            path_info,
            matched_route: &self.config.route,
            peer,
            local,
        };
        let module_env = &self.environment;
        let mut env = PackedEnv::with_capacity(1024 + module_env.len_bytes());
        cgi.for_each_var(|name, value| {
            if module_env.contains(name) {
                return;
            }
            if name == "CONTENT_LENGTH" && body_len.is_none() {
                env.push(name, "");
            } else {
                env.push(name, value);
            }
        });
        env.extend(module_env);
        let args = argv(
            &self.config,
            parts.uri.path(),
            script_name,
            parts.uri.query(),
        );
        RunInput { env, args }
    }

    /// Runs the module once for a request; its outbound calls carry hop count `hops`. The
    /// outcome of a run that finished carries no output: it went to `stdio.stdout`.
    pub(crate) async fn run(
        &self,
        engine: &Engine,
        limits: &crate::Limits,
        input: RunInput,
        stdio: RunStdio,
        hops: u32,
        clock: &RunClock,
    ) -> (Outcome, Timings, Bytes) {
        let stderr = GuestLog::new(MAX_STDERR);
        let mut builder = WasiCtxBuilder::new();
        builder
            .args(&input.args)
            .stdin(stdio.stdin)
            .stdout(stdio.stdout)
            .stderr(stderr.clone());
        if let Err(detail) = preopen_volumes(&mut builder, &self.config) {
            return (Outcome::Failed(detail), Timings::default(), Bytes::new());
        }
        let state = RequestState {
            wasi: builder.build_p1(),
            environ: input.env,
            outbound: OutboundState::new(self.policy.clone(), self.client.clone(), hops),
        };
        let mut store = Store::new(engine, state);
        if let Some(cpu) = &self.guest_cpu {
            cpu.watch(&mut store);
        }
        let deadline = Instant::now() + limits.request_timeout;
        set_deadline(&mut store, deadline);

        let outcome = crate::deadline::within(deadline, async {
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
            clock.instantiated();
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
        let timings = clock.timings();
        drop(store);
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

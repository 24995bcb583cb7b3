//! `harness`: serve WAGI modules and `wasi:http` components from a `modules.toml` / `wagi.toml`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's allocator: a request allocates and frees many small objects on
/// two worker threads, where glibc's malloc/free/consolidate cost about 15% of the CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The log filter without `RUST_LOG`: our own lines from `info` up. wasmtime-wasi opens an
/// `info` span for every WASI preview-1 call a module makes (`#[instrument]`), and the
/// subscriber formats each span's fields when it opens, whether or not a line is ever logged
/// inside it: about a tenth of a hello request's CPU. Its warnings still show.
const DEFAULT_LOG_FILTER: &str = "info,wasmtime_wasi=warn";

#[derive(Parser)]
#[command(
    version,
    about = "Run WebAssembly HTTP handlers on wasmtime: WAGI modules (wasm32-wasip1) and wasi:http components (wasm32-wasip2)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the modules of a config file, and with --emulators the embedded Azure emulators
    /// (with --emulators alone, just the emulators, as Azurite does).
    Serve {
        /// The config file (WAGI's modules.toml format).
        #[arg(long, short, required_unless_present = "emulators")]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, short, default_value = "127.0.0.1:3000")]
        listen: std::net::SocketAddr,
        /// Also start the embedded Azure emulators (Blob 10000, Cosmos 8081, EventGrid 8082
        /// unless the config's [emulators] table says otherwise).
        #[arg(long)]
        emulators: bool,
        /// Keep the emulators' state in this folder (survives restarts) instead of memory.
        #[arg(long, requires = "emulators")]
        data_dir: Option<PathBuf>,
    },
    /// Check a config file and compile its modules, then exit.
    Check {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            emulators,
            data_dir,
        } => {
            // Catch SIGTERM and Ctrl-C before anything starts, so a signal during start-up
            // also ends in an orderly stop.
            let mut signals = Signals::new()?;
            let cfg = match &config {
                Some(path) => harness::HarnessConfig::from_file(path)?,
                None => harness::HarnessConfig::default(),
            };
            let emus: Option<emulator::Emulators> = if emulators {
                let mut emu_cfg = cfg.emulators.clone().unwrap_or_default();
                if data_dir.is_some() {
                    emu_cfg.data_dir = data_dir;
                }
                let emus = emulator::Emulators::start(emu_cfg).await?;
                print_emulators(&emus);
                Some(emus)
            } else {
                if cfg.emulators.is_some() {
                    eprintln!(
                        "harness: the config has an [emulators] table; add --emulators to start them"
                    );
                }
                None
            };
            let served: Result<(), Box<dyn std::error::Error>> = if config.is_none() {
                eprintln!("harness: serving the emulators only (no --config); Ctrl-C or SIGTERM stops them");
                let name = signals.next().await;
                eprintln!(
                    "harness: {name}: stopping the emulators (a second signal exits at once)"
                );
                exit_on_second_signal(signals);
                Ok(())
            } else {
                let inspector = emus.as_ref().map(emulator::Emulators::inspector);
                serve_modules(&cfg, listen, inspector, signals).await
            };
            // Also when the modules failed to start: the emulators' stores are closed cleanly.
            if let Some(emus) = emus {
                emus.shutdown().await;
                eprintln!("harness: emulators stopped and their stores closed");
            }
            served?;
            eprintln!("harness: stopped");
            Ok(())
        }
        Command::Check { config } => {
            let cfg = harness::HarnessConfig::from_file(&config)?;
            harness::Harness::from_config(&cfg)?;
            eprintln!("{}: OK, {} module(s)", config.display(), cfg.modules.len());
            Ok(())
        }
    }
}

/// Prints each emulator's address and connection string (the development keys are public).
fn print_emulators(emus: &emulator::Emulators) {
    for line in emus.connection_strings() {
        println!("emulator: {line}");
    }
}

/// Serves `cfg`'s modules on `listen` (with the emulators' contents on the dashboard) until a
/// signal, then drains the server within `[limits] shutdown_grace_secs`.
async fn serve_modules(
    cfg: &harness::HarnessConfig,
    listen: std::net::SocketAddr,
    emulators: Option<emulator::Inspector>,
    mut signals: Signals,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = harness::HarnessBuilder::from_config(cfg)?;
    if let Some(inspector) = emulators {
        builder = builder.emulators(inspector);
    }
    let h = builder.build()?;
    let server = h.serve(listen).await?;
    eprintln!(
        "harness: serving {} module(s) on {}",
        cfg.modules.len(),
        server.url()
    );
    let d = &cfg.dashboard;
    if d.enabled && (server.addr().ip().is_loopback() || d.allow_remote) {
        eprintln!(
            "harness: dashboard at {url}{}, Prometheus metrics at {url}{}",
            d.path,
            d.metrics_path,
            url = server.url()
        );
    }
    let name = signals.next().await;
    let grace = cfg.limits.shutdown_grace;
    eprintln!(
        "harness: {name}: no new connections; requests in flight have {grace:?} to finish (a second signal exits at once)"
    );
    exit_on_second_signal(signals);
    let cut = server.drain(grace).await;
    if cut > 0 {
        eprintln!("harness: {cut} connection(s) still busy after {grace:?} were cut (raise [limits] shutdown_grace_secs to wait longer)");
    }
    Ok(())
}

/// SIGTERM and SIGINT (Ctrl-C), caught instead of ending the process.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// After the first signal: a second one ends the process at once (status 128 + the signal's
/// number, as a shell reports a process killed by it).
fn exit_on_second_signal(mut signals: Signals) {
    tokio::spawn(async move {
        let name = signals.next().await;
        eprintln!("harness: {name} again: exiting now");
        std::process::exit(if name == "SIGINT" { 130 } else { 143 });
    });
}

#[cfg(test)]
mod tests {
    use super::DEFAULT_LOG_FILTER;
    use tracing::Level;

    #[test]
    fn the_default_filter_skips_wasi_call_spans_but_keeps_our_lines_and_wasi_warnings() {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER))
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // The span wasmtime-wasi opens for each preview-1 call (`#[instrument]`, info).
            assert!(!tracing::span_enabled!(target: "wasmtime_wasi::p1", Level::INFO));
            assert!(tracing::event_enabled!(target: "wasmtime_wasi::p1", Level::WARN));
            assert!(tracing::event_enabled!(target: "harness::server", Level::INFO));
            assert!(!tracing::event_enabled!(target: "harness::server", Level::DEBUG));
        });
    }
}

//! `harness`: serve WAGI modules and `wasi:http` components from a `modules.toml` / `wagi.toml`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
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
            let cfg = match &config {
                Some(path) => harness::HarnessConfig::from_file(path)?,
                None => harness::HarnessConfig::default(),
            };
            let emus = if emulators {
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
            if config.is_none() {
                eprintln!("harness: serving the emulators only (no --config); Ctrl-C stops them");
                let _ = tokio::signal::ctrl_c().await;
            } else {
                let h = harness::Harness::from_config(&cfg)?;
                let server = h.serve(listen).await?;
                eprintln!(
                    "harness: serving {} module(s) on {}",
                    cfg.modules.len(),
                    server.url()
                );
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = server.wait() => {}
                }
            }
            if let Some(emus) = emus {
                emus.shutdown().await;
            }
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

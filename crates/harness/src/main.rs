//! `harness`: serve WAGI modules from a `modules.toml` / `wagi.toml`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "Run wasm32-wasip1 HTTP handlers the way WAGI does, on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the modules of a config file.
    Serve {
        /// The config file (WAGI's modules.toml format).
        #[arg(long, short)]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, short, default_value = "127.0.0.1:3000")]
        listen: std::net::SocketAddr,
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
        .init();
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), harness::Error> {
    match cli.command {
        Command::Serve { config, listen } => {
            let cfg = harness::HarnessConfig::from_file(&config)?;
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

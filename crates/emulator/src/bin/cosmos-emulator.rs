//! Runs the Cosmos DB emulator in the foreground.
//!
//! `cosmos-emulator [ADDR] [DATA_DIR]` (defaults: `127.0.0.1:8081`, in memory). The first line
//! on stdout is `listening on http://<addr>`.

use std::io::Write as _;

use emulator::cosmos::{CosmosConfig, CosmosEmulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".to_string());
    let addr = addr.parse().map_err(|e| {
        format!("invalid listen address '{addr}': {e}; use for example 127.0.0.1:8081")
    })?;
    let config = CosmosConfig {
        data_dir: args.next().map(Into::into),
        ..CosmosConfig::default()
    };
    let emu = CosmosEmulator::start(config, addr).await?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", emu.url())?;
    out.flush()?;
    tokio::signal::ctrl_c().await?;
    emu.shutdown().await;
    Ok(())
}

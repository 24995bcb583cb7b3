//! `bench-blob-emulator [PORT]`: the embedded Blob Storage emulator alone, in memory, for
//! `cargo xtask bench` when `harness serve` cannot start the emulators itself.
//!
//! ```sh
//! bench-blob-emulator 10000 &
//! # the dev account devstoreaccount1 is served at http://127.0.0.1:10000/devstoreaccount1
//! ```

use std::io::Write;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 10000,
        Some(Ok(p)) => p,
        Some(Err(_)) => {
            eprintln!("bench-blob-emulator: the argument must be a port number such as 10000 (0 = any free port)");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut config = emulator::EmulatorsConfig::default();
    config.blob.port = port;
    config.blob.events = None;
    config.eventgrid.enabled = false;
    config.cosmos.enabled = false;
    let emulators = match emulator::Emulators::start(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("bench-blob-emulator: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let Some(blob) = emulators.blob() else {
        eprintln!("bench-blob-emulator: the Blob emulator did not start");
        return std::process::ExitCode::FAILURE;
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", blob.addr());
    let _ = stdout.flush();
    let _ = tokio::signal::ctrl_c().await;
    emulators.shutdown().await;
    std::process::ExitCode::SUCCESS
}

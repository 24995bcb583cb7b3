//! `bench-native [ADDR]`: answers every request with `hello, world`; the benchmark's ceiling.
//!
//! ```sh
//! bench-native 127.0.0.1:3001 &
//! curl http://127.0.0.1:3001/
//! ```

mod error;
mod server;

use std::io::Write;
use std::net::SocketAddr;

use error::Error;

/// Where the server listens when no address is given.
const DEFAULT_ADDR: &str = "127.0.0.1:3001";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-native: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDR.to_string());
    let addr: SocketAddr = text.parse().map_err(|_| Error::Address(text.clone()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| Error::Bind { addr, source })?;
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {local}");
    let _ = stdout.flush();
    server::serve(listener).await
}

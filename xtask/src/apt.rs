//! Installing Debian packages the tools need (`wrk`, `chromium`, `chromium-driver`) when they
//! are missing: `apt-get install`, after an `apt-get update` if the first try fails; through
//! `sudo` when not root.

use std::process::Command;

use crate::cmd::{exec, output};

/// Installs `packages` with apt-get.
pub fn install(packages: &[&str]) -> Result<(), String> {
    let apt = |args: &[&str]| {
        let mut cmd = if is_root() {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        exec(&mut cmd)
    };
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    if apt(&args).is_err() {
        apt(&["update", "-q"])?;
        apt(&args)?;
    }
    Ok(())
}

/// Makes sure `program` runs (`present` says whether it does), installing Debian's `package`
/// when it does not; `what` names it in the messages, `hint` says how to install it by hand.
pub fn ensure(
    what: &str,
    present: impl Fn() -> bool,
    package: &str,
    hint: &str,
) -> Result<(), String> {
    if present() {
        return Ok(());
    }
    eprintln!("{what} is missing; installing it from Debian's packages");
    install(&[package])?;
    if present() {
        Ok(())
    } else {
        Err(format!(
            "{what} is still missing; install it ({hint}) and run again"
        ))
    }
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

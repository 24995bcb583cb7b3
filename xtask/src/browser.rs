//! Debian's `chromium` and `chromium-driver` for the dashboard's browser test, installed with
//! apt-get when missing (the selenium package that drives them is in the interop venv).

use std::path::{Path, PathBuf};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The chromium and chromedriver binaries, installed first when missing.
pub fn chromium() -> Result<(PathBuf, PathBuf), String> {
    let (browser, driver) = (Path::new(CHROMIUM), Path::new(CHROMEDRIVER));
    if !(browser.is_file() && driver.is_file()) {
        eprintln!("chromium or chromium-driver is missing (the dashboard's browser test); installing them from Debian's packages");
        crate::apt::install(&["chromium", "chromium-driver", "fonts-dejavu-core"])?;
    }
    if browser.is_file() && driver.is_file() {
        Ok((browser.into(), driver.into()))
    } else {
        Err(format!(
            "{CHROMIUM} or {CHROMEDRIVER} is still missing; install Debian's chromium and chromium-driver and run again"
        ))
    }
}

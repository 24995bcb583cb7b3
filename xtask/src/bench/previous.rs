//! This run's figures beside the previous run's: every run writes its key figures to
//! `latest-<quick|full>.figures` (a line each: name, value, and which way is better), and the
//! next run of the same kind prints both with the change, marking what got worse by more than
//! [`NOTICE`].

use std::path::Path;

use super::Results;

/// A change in the bad direction beyond this fraction is marked.
pub const NOTICE: f64 = 0.10;

/// One figure of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    /// Throughput: more is better; time, CPU, bytes: less is better.
    pub higher_is_better: bool,
}

fn lower(name: String, value: f64) -> Figure {
    Figure {
        name,
        value,
        higher_is_better: false,
    }
}

/// The figures of `r` worth comparing between runs.
pub fn figures(r: &Results) -> Vec<Figure> {
    let mut f = Vec::new();
    for s in &r.sizes {
        f.push(lower(
            format!("{} module after wasm-opt (bytes)", s.sample),
            s.optimised as f64,
        ));
    }
    for s in &r.component_sizes {
        f.push(lower(
            format!("{} component after wasm-opt (bytes)", s.sample),
            s.optimised as f64,
        ));
    }
    for (name, i) in [
        ("hello", r.inst_hello),
        ("blob-write", r.inst_blob),
        ("hello (component)", r.inst_hello_component),
        ("blob-write (component)", r.inst_blob_component),
    ] {
        f.push(lower(format!("{name} instantiation p50 (µs)"), i.p50_us));
    }
    f.push(lower(
        "cold start, warm cache (ms)".into(),
        super::stats::median(r.warm_ms.clone()),
    ));
    for s in &r.scenarios {
        let at = format!("{} c={}", s.label(), s.concurrency);
        f.push(Figure {
            name: format!("{at} req/s"),
            value: s.harness.rps,
            higher_is_better: true,
        });
        f.push(lower(
            format!("{at} CPU per request (µs)"),
            s.harness.cpu_us,
        ));
    }
    for c in &r.cpu_split {
        f.push(lower(
            format!("blob-write {} guest CPU per request (µs)", c.world),
            c.guest_us,
        ));
        f.push(lower(
            format!("blob-write {} host CPU per request (µs)", c.world),
            c.host_us,
        ));
    }
    f.push(lower(
        "peak RSS after hello (KiB)".into(),
        r.rss_hello_kib as f64,
    ));
    f
}

/// The figures file's text.
pub fn render(figures: &[Figure]) -> String {
    figures
        .iter()
        .map(|f| {
            let way = if f.higher_is_better {
                "higher"
            } else {
                "lower"
            };
            format!("{}\t{}\t{way}\n", f.name, f.value)
        })
        .collect()
}

/// The figures of a file written by [`render`]; none when it is missing or unreadable
/// (a first run), and lines it cannot read are skipped.
pub fn read(path: &Path) -> Vec<Figure> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let name = cols.next()?.to_string();
            let value = cols.next()?.parse().ok()?;
            let higher_is_better = cols.next()? == "higher";
            Some(Figure {
                name,
                value,
                higher_is_better,
            })
        })
        .collect()
}

/// A Markdown table of every figure of `now` that `previous` also has: both values, the
/// change, and `worse` where it moved the bad way by more than [`NOTICE`].
pub fn compare(previous: &[Figure], now: &[Figure]) -> String {
    if previous.is_empty() {
        return "\n### Since the previous run\n\nNo previous run of this kind to compare with.\n"
            .into();
    }
    let mut o = String::from(
        "\n### Since the previous run (same kind of run; CPU and sizes are the steady figures, req/s moves with whatever else the machine does)\n\n| figure | previous | now | change | |\n|---|---:|---:|---:|---|\n",
    );
    for f in now {
        let Some(p) = previous.iter().find(|p| p.name == f.name) else {
            continue;
        };
        let change = if p.value != 0.0 {
            (f.value - p.value) / p.value
        } else if f.value != 0.0 {
            // From nothing to something: shown as a doubling, so it is marked.
            f.value.signum()
        } else {
            0.0
        };
        let worse = if f.higher_is_better {
            change < -NOTICE
        } else {
            change > NOTICE
        };
        o.push_str(&format!(
            "| {} | {} | {} | {:+.1}% | {} |\n",
            f.name,
            number(p.value),
            number(f.value),
            change * 100.0,
            if worse { "worse" } else { "" }
        ));
    }
    o
}

fn number(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(name: &str, value: f64, higher_is_better: bool) -> Figure {
        Figure {
            name: name.into(),
            value,
            higher_is_better,
        }
    }

    #[test]
    fn figures_survive_the_file_and_changes_are_marked_the_right_way() {
        let before = vec![
            fig("hello c=32 req/s", 20000.0, true),
            fig("hello instantiation p50 (µs)", 4.0, false),
            fig("blob-write component (bytes)", 700000.0, false),
            fig("gone", 1.0, false),
        ];
        let dir = std::env::temp_dir().join(format!("xtask-previous-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("latest-quick.figures");
        std::fs::write(&path, render(&before)).unwrap();
        let read_back = read(&path);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(read_back, before);

        let now = vec![
            fig("hello c=32 req/s", 15000.0, true),          // -25%: worse
            fig("hello instantiation p50 (µs)", 3.0, false), // -25%: better
            fig("blob-write component (bytes)", 720000.0, false), // +2.9%: within noise
            fig("new figure", 5.0, false),                   // nothing to compare
        ];
        let table = compare(&read_back, &now);
        assert!(
            table.contains("| hello c=32 req/s | 20000 | 15000 | -25.0% | worse |"),
            "{table}"
        );
        assert!(
            table.contains("| hello instantiation p50 (µs) | 4.00 | 3.00 | -25.0% |  |"),
            "{table}"
        );
        assert!(table.contains("| +2.9% |  |"), "{table}");
        assert!(!table.contains("new figure"), "{table}");
        assert!(compare(&[], &now).contains("No previous run"));
        let from_zero = compare(&[fig("faults", 0.0, false)], &[fig("faults", 2.0, false)]);
        assert!(from_zero.contains("| +100.0% | worse |"), "{from_zero}");
        assert!(read(Path::new("/nonexistent/x.figures")).is_empty());
    }
}

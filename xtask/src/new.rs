//! `cargo xtask new NAME --from SAMPLE [--path DIR] [--git URL]`: a standalone handler crate.
//!
//! A sample's Cargo.toml inherits from the workspace (`version.workspace = true`,
//! `{ workspace = true }`) and its size profile lives in the root Cargo.toml, so a copied sample
//! does not build on its own. This writes a crate that does: every inherited dependency resolved
//! from the root `[workspace.dependencies]` (`azure-wasi` by absolute path to this checkout, or
//! by `--git`), an empty `[workspace]` table, a size-optimised `[profile.release]`, the sample's
//! `src/main.rs`, a `wagi.toml` pointing at the crate's own module, and a README.
//!
//! The TOML files are read line by line (xtask has no dependencies): enough for the shapes the
//! samples and the root Cargo.toml use, and an error naming the line for anything else.

use std::path::{Path, PathBuf};

use crate::build::{P1, P2, SAMPLES};
use crate::cmd::root;

/// The facade crate, the one dependency given by path (or `--git`).
const FACADE: &str = "azure-wasi";

/// What `cargo xtask new` was asked for.
#[derive(Debug, PartialEq)]
pub struct Args {
    pub name: String,
    pub from: String,
    pub path: Option<PathBuf>,
    pub git: Option<String>,
}

/// Parses the arguments after `new`.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut name = None;
    let mut from = None;
    let mut path = None;
    let mut git = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match a.as_str() {
            "--from" => from = Some(value("--from")?),
            "--path" => path = Some(PathBuf::from(value("--path")?)),
            "--git" => git = Some(value("--git")?),
            flag if flag.starts_with('-') => return Err(format!("unknown argument {flag:?}")),
            _ if name.is_none() => name = Some(a.clone()),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    let name = name.ok_or("new needs a NAME: cargo xtask new NAME --from SAMPLE")?;
    let from =
        from.ok_or_else(|| format!("new needs --from SAMPLE, one of: {}", SAMPLES.join(", ")))?;
    check_name(&name)?;
    if !SAMPLES.contains(&from.as_str()) {
        return Err(format!(
            "unknown sample {from:?}; one of: {}",
            SAMPLES.join(", ")
        ));
    }
    Ok(Args {
        name,
        from,
        path,
        git,
    })
}

/// Cargo's rules for a package name that is also the binary's (and so the `.wasm` file's) name.
pub fn check_name(name: &str) -> Result<(), String> {
    const RESERVED: &[&str] = &[
        "alloc",
        "core",
        "proc-macro",
        "proc_macro",
        "std",
        "test",
        "self",
        "super",
        "crate",
        "Self",
        "as",
        "async",
        "await",
        "break",
        "const",
        "continue",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "static",
        "struct",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "macro",
        "override",
        "priv",
        "try",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "build",
        "deps",
        "examples",
        "incremental",
    ];
    let bad = |why: &str| Err(format!("{name:?} is not a valid crate name: {why}"));
    let Some(first) = name.chars().next() else {
        return bad("it is empty");
    };
    if name.len() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !first.is_ascii_alphabetic() {
        return bad("it must start with an ASCII letter");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return bad(&format!(
            "{c:?} is not allowed (ASCII letters, digits, - and _)"
        ));
    }
    if RESERVED.contains(&name) {
        return bad("it is a Rust keyword or a reserved name");
    }
    Ok(())
}

/// Runs `cargo xtask new`.
pub fn run(args: &[String]) -> Result<(), String> {
    let args = parse_args(args)?;
    let root = root();
    let root = root.canonicalize().unwrap_or(root);
    let dir = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let dir = if dir.is_absolute() {
        dir
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot read the current folder: {e}"))?
            .join(dir)
    };
    if dir.exists() {
        let non_empty = std::fs::read_dir(&dir)
            .map_err(|e| format!("{} exists and cannot be read: {e}", dir.display()))?
            .next()
            .is_some();
        if non_empty {
            return Err(format!(
                "{} exists and is not empty; not overwriting it (pick another --path)",
                dir.display()
            ));
        }
    }
    let sample = root.join("samples").join(&args.from);
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
    };
    let files = render(&Inputs {
        name: &args.name,
        sample: &args.from,
        root: &root,
        git: args.git.as_deref(),
        workspace_toml: &read(&root.join("Cargo.toml"))?,
        sample_toml: &read(&sample.join("Cargo.toml"))?,
        wagi_toml: &read(&sample.join("wagi.toml"))?,
        main_rs: &read(&sample.join("src/main.rs"))?,
        readme: &read(&sample.join("README.md")).unwrap_or_default(),
        cargo_config: &read(&root.join(".cargo/config.toml")).unwrap_or_default(),
        dir: &dir,
    })?;
    for sub in ["src", ".cargo"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| format!("cannot create {}: {e}", dir.join(sub).display()))?;
    }
    for (rel, text) in &files {
        let p = dir.join(rel);
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    }
    // The workspace's lock file pins the versions the samples are tested with (and lets the
    // first build work offline); cargo drops the entries the new crate does not use.
    let lock = root.join("Cargo.lock");
    if lock.is_file() {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .map_err(|e| format!("cannot copy {}: {e}", lock.display()))?;
    }
    println!(
        "created {} from samples/{} ({})\n\nnext:\n{}",
        dir.display(),
        args.from,
        files
            .iter()
            .map(|(f, _)| *f)
            .chain(lock.is_file().then_some("Cargo.lock"))
            .collect::<Vec<_>>()
            .join(", "),
        next_commands(
            &args.name,
            &dir,
            &root,
            &parse_wagi(&read(&sample.join("wagi.toml"))?)?
        )
    );
    Ok(())
}

/// The exact commands to build and run the new crate.
fn next_commands(name: &str, dir: &Path, root: &Path, wagi: &Wagi) -> String {
    let dir_s = shell_quote(&dir.display().to_string());
    let wagi_path = shell_quote(&dir.join("wagi.toml").display().to_string());
    let manifest = shell_quote(&root.join("Cargo.toml").display().to_string());
    let url = format!("http://127.0.0.1:3000{}", example_path(&wagi.route));
    format!(
        "  cd {dir_s}\n  rustup target add {P1} {P2}\n  cargo build --target {P1} --release   # WAGI module\n  cargo build --target {P2} --release   # wasi:http component\n  cargo run --manifest-path {manifest} -p harness -- serve --config {wagi_path} --emulators\n  curl {url}\n  # or the component on wasmtime serve (port 8080):\n  {}\n",
        wasmtime_serve(name, wagi),
    )
}

/// A path under `route` to try first (WAGI's `/...` suffix dropped).
fn example_path(route: &str) -> String {
    route.trim_end_matches("/...").to_string()
}

/// `wasmtime serve` with the module's settings as `--env`.
fn wasmtime_serve(name: &str, wagi: &Wagi) -> String {
    let mut s = String::from("wasmtime serve -Scli --addr 127.0.0.1:8080");
    for (k, v, _) in &wagi.environment {
        s.push_str(&format!(" --env {}", shell_quote(&format!("{k}={v}"))));
    }
    s.push_str(&format!(" target/{P2}/release/{name}.wasm"));
    s
}

/// Quotes `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=+,@%".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Everything `render` reads.
pub struct Inputs<'a> {
    pub name: &'a str,
    pub sample: &'a str,
    /// The checkout's root (absolute).
    pub root: &'a Path,
    pub git: Option<&'a str>,
    pub workspace_toml: &'a str,
    pub sample_toml: &'a str,
    pub wagi_toml: &'a str,
    pub main_rs: &'a str,
    pub readme: &'a str,
    /// The workspace's `.cargo/config.toml`, whose guest target settings the crate gets too.
    pub cargo_config: &'a str,
    /// Where the crate goes (absolute), for the README's commands.
    pub dir: &'a Path,
}

/// The files of the new crate, by path relative to its folder.
pub fn render(i: &Inputs) -> Result<Vec<(&'static str, String)>, String> {
    let workspace_deps = section_deps(i.workspace_toml, "workspace.dependencies")?;
    let sample_deps = section_deps(i.sample_toml, "dependencies")?;
    let description = section_values(i.sample_toml, "package")?
        .into_iter()
        .find_map(|(k, v)| match v {
            Value::Str(s) if k == "description" => Some(s),
            _ => None,
        });
    let mut deps = Vec::new();
    for (name, spec) in &sample_deps {
        deps.push((name.clone(), resolve(name, spec, &workspace_deps, i)?));
    }
    let lints = lints(i.workspace_toml, i.sample_toml)?;
    let wagi = parse_wagi(i.wagi_toml)?;
    let mut cargo = cargo_toml(i.name, i.sample, description.as_deref(), &deps);
    cargo.push_str(&lints);
    Ok(vec![
        ("Cargo.toml", cargo),
        ("src/main.rs", i.main_rs.to_string()),
        ("wagi.toml", wagi_toml(i.name, i.sample, &wagi)),
        ("README.md", readme(i, &wagi)),
        (".gitignore", "/target\n".to_string()),
        (".cargo/config.toml", guest_targets(i.cargo_config)),
    ])
}

/// The `[target.wasm32-*]` tables of the workspace's `.cargo/config.toml` (the guests' link
/// settings, such as their initial memory), so a crate made from a sample builds as it does.
fn guest_targets(cargo_config: &str) -> String {
    let mut out = String::from(
        "# The guest settings of azure-wasi's .cargo/config.toml (its README, \"Performance\").\n",
    );
    let mut keep = false;
    for line in cargo_config.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            keep = t.starts_with("[target.wasm32-");
            if keep {
                out.push('\n');
            }
        }
        if keep && !t.is_empty() && !t.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Parsing (line based: `key = value` lines in `[table]` sections, inline tables and arrays)

/// A TOML value of the shapes used here.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Array(Vec<Value>),
    Table(Vec<(String, Value)>),
}

impl Value {
    fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Table(t) => t.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn render(&self) -> String {
        match self {
            Value::Str(s) => quote(s),
            Value::Bool(b) => b.to_string(),
            Value::Int(n) => n.to_string(),
            Value::Array(a) => format!(
                "[{}]",
                a.iter().map(Value::render).collect::<Vec<_>>().join(", ")
            ),
            Value::Table(t) => format!(
                "{{ {} }}",
                t.iter()
                    .map(|(k, v)| format!("{k} = {}", v.render()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses one value from the start of `s`; returns it and the rest.
fn parse_value(s: &str) -> Result<(Value, &str), String> {
    let s = s.trim_start();
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, '"')) => {
            let mut out = String::new();
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    out.push(match c {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        c => c,
                    });
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    return Ok((Value::Str(out), &s[i + 1..]));
                } else {
                    out.push(c);
                }
            }
            Err(format!("unterminated string in {s:?}"))
        }
        Some((_, '\'')) => {
            let end = s[1..]
                .find('\'')
                .ok_or_else(|| format!("unterminated string in {s:?}"))?;
            Ok((Value::Str(s[1..1 + end].to_string()), &s[end + 2..]))
        }
        Some((_, '[')) => {
            let mut items = Vec::new();
            let mut rest = s[1..].trim_start();
            loop {
                if let Some(r) = rest.strip_prefix(']') {
                    return Ok((Value::Array(items), r));
                }
                let (v, r) = parse_value(rest)?;
                items.push(v);
                rest = r.trim_start();
                rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
                if rest.is_empty() {
                    return Err(format!(
                        "unterminated array in {s:?} (arrays must fit on one line)"
                    ));
                }
            }
        }
        Some((_, '{')) => {
            let mut entries = Vec::new();
            let mut rest = s[1..].trim_start();
            loop {
                if let Some(r) = rest.strip_prefix('}') {
                    return Ok((Value::Table(entries), r));
                }
                let eq = rest
                    .find('=')
                    .ok_or_else(|| format!("expected key = value in {s:?}"))?;
                let key = unquote_key(rest[..eq].trim());
                let (v, r) = parse_value(&rest[eq + 1..])?;
                entries.push((key, v));
                rest = r.trim_start();
                rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
                if rest.is_empty() {
                    return Err(format!("unterminated inline table in {s:?}"));
                }
            }
        }
        _ => {
            let end = s.find([',', ']', '}', '#']).unwrap_or(s.len());
            match s[..end].trim() {
                "true" => Ok((Value::Bool(true), &s[end..])),
                "false" => Ok((Value::Bool(false), &s[end..])),
                other => match other.parse() {
                    Ok(n) => Ok((Value::Int(n), &s[end..])),
                    Err(_) => Err(format!("unsupported value {other:?}")),
                },
            }
        }
    }
}

fn unquote_key(k: &str) -> String {
    k.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// A `key = value` line (comment or blank: `None`).
fn parse_line(line: &str) -> Result<Option<(String, Value)>, String> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let eq = t
        .find('=')
        .ok_or_else(|| format!("expected `key = value`, found {t:?}"))?;
    let key = unquote_key(t[..eq].trim());
    let (value, rest) = parse_value(&t[eq + 1..]).map_err(|e| format!("{e} (line {t:?})"))?;
    let rest = rest.trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(format!("unexpected {rest:?} after the value in {t:?}"));
    }
    Ok(Some((key, value)))
}

/// The header of a `[table]` or `[[array]]` line.
fn header(line: &str) -> Option<&str> {
    let t = line.trim();
    let t = t.split(" #").next().unwrap_or(t).trim();
    t.strip_prefix("[[")
        .and_then(|h| h.strip_suffix("]]"))
        .or_else(|| t.strip_prefix('[').and_then(|h| h.strip_suffix(']')))
        .map(str::trim)
}

/// The `key = value` entries of `[section]`, in order. Dotted keys (`version.workspace = true`)
/// are kept whole.
pub fn section_values(toml: &str, section: &str) -> Result<Vec<(String, Value)>, String> {
    let mut current = None;
    let mut out = Vec::new();
    for line in toml.lines() {
        if let Some(h) = header(line) {
            current = Some(h.to_string());
            continue;
        }
        if current.as_deref() == Some(section) {
            if let Some(kv) = parse_line(line)? {
                out.push(kv);
            }
        }
    }
    Ok(out)
}

/// A dependency table: `name = "1"` becomes `{ version = "1" }`.
pub fn section_deps(toml: &str, section: &str) -> Result<Vec<(String, Value)>, String> {
    Ok(section_values(toml, section)?
        .into_iter()
        .map(|(k, v)| match v {
            Value::Str(s) => (k, Value::Table(vec![("version".into(), Value::Str(s))])),
            v => (k, v),
        })
        .collect())
}

/// The one `[[module]]` of a sample's wagi.toml.
#[derive(Debug, PartialEq)]
pub struct Wagi {
    pub route: String,
    pub allowed_hosts: Option<Vec<String>>,
    /// Name, value and the comment lines just above it.
    pub environment: Vec<(String, String, Vec<String>)>,
}

/// Parses a wagi.toml with one `[[module]]` (its `environment` inline or as `[module.environment]`).
pub fn parse_wagi(toml: &str) -> Result<Wagi, String> {
    let mut modules = 0;
    let mut section = String::new();
    let mut route = None;
    let mut allowed_hosts = None;
    let mut environment = Vec::new();
    let mut comments = Vec::new();
    let strings = |v: &Value, what: &str| -> Result<Vec<String>, String> {
        match v {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Ok(s.clone()),
                    _ => Err(format!("{what}: expected strings")),
                })
                .collect(),
            _ => Err(format!("{what}: expected an array")),
        }
    };
    for line in toml.lines() {
        if let Some(h) = header(line) {
            if line.trim().starts_with("[[") && h == "module" {
                modules += 1;
            }
            section = h.to_string();
            comments.clear();
            continue;
        }
        let t = line.trim();
        if t.starts_with('#') {
            comments.push(t.to_string());
            continue;
        }
        let Some((k, v)) = parse_line(line)? else {
            continue;
        };
        match (section.as_str(), k.as_str(), v) {
            ("module", "route", Value::Str(s)) => route = Some(s),
            ("module", "allowed_hosts", v) => allowed_hosts = Some(strings(&v, "allowed_hosts")?),
            ("module", "environment", Value::Table(t)) => {
                for (k, v) in t {
                    match v {
                        Value::Str(s) => environment.push((k, s, Vec::new())),
                        _ => return Err(format!("environment.{k}: expected a string")),
                    }
                }
            }
            ("module", "module", _) => {}
            ("module.environment", k, Value::Str(s)) => {
                environment.push((k.to_string(), s, std::mem::take(&mut comments)))
            }
            (s, k, _) => return Err(format!("wagi.toml: unsupported {k:?} in [{s}]")),
        }
        comments.clear();
    }
    if modules != 1 {
        return Err(format!(
            "wagi.toml: expected exactly one [[module]], found {modules}"
        ));
    }
    Ok(Wagi {
        route: route.ok_or("wagi.toml: the [[module]] has no route")?,
        allowed_hosts,
        environment,
    })
}

// ---------------------------------------------------------------------------------------------
// Resolving and rendering

/// The sample's `[lints]`: `workspace = true` becomes a copy of the root `[workspace.lints.*]`
/// tables. Any other table in the sample's Cargo.toml is refused rather than dropped.
fn lints(workspace: &str, sample: &str) -> Result<String, String> {
    let mut inherits = false;
    for line in sample.lines() {
        if let Some(h) = header(line) {
            if !matches!(h, "package" | "dependencies" | "lints") {
                return Err(format!(
                    "the sample's Cargo.toml has a [{h}] table, which `new` does not carry over"
                ));
            }
        }
    }
    for (k, v) in section_values(sample, "lints")? {
        match (k.as_str(), v) {
            ("workspace", Value::Bool(b)) => inherits = b,
            (k, _) => {
                return Err(format!(
                    "[lints] {k}: only `workspace = true` is carried over"
                ))
            }
        }
    }
    if !inherits {
        return Ok(String::new());
    }
    let mut out = String::new();
    let mut current: Option<String> = None;
    for line in workspace.lines() {
        if let Some(h) = header(line) {
            current = h.strip_prefix("workspace.lints.").map(str::to_string);
            if let Some(tool) = &current {
                out.push_str(&format!("\n[lints.{tool}]\n"));
            }
            continue;
        }
        if current.is_some() {
            if let Some((k, v)) = parse_line(line)? {
                out.push_str(&format!("{k} = {}\n", v.render()));
            }
        }
    }
    Ok(out)
}

/// Resolves one dependency of the sample into a standalone one.
fn resolve(
    name: &str,
    spec: &Value,
    workspace: &[(String, Value)],
    i: &Inputs,
) -> Result<Value, String> {
    let Value::Table(entries) = spec else {
        return Err(format!("dependency {name}: unsupported {spec:?}"));
    };
    let inherits = spec.get("workspace") == Some(&Value::Bool(true));
    let base: Vec<(String, Value)> = if inherits {
        match workspace.iter().find(|(k, _)| k == name) {
            Some((_, Value::Table(t))) => t.clone(),
            _ => {
                return Err(format!(
                    "dependency {name}: not in the root [workspace.dependencies]"
                ))
            }
        }
    } else {
        Vec::new()
    };
    let own = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let from_base = |key: &str| base.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let pick = |key: &str| own(key).or_else(|| from_base(key));

    let mut out = Vec::new();
    // Where it comes from.
    if name == FACADE {
        match i.git {
            Some(url) => out.push(("git".into(), Value::Str(url.into()))),
            None => out.push((
                "path".into(),
                Value::Str(i.root.join("crates").join(FACADE).display().to_string()),
            )),
        }
    } else if let Some(v) = pick("version") {
        out.push(("version".into(), v.clone()));
    } else if pick("path").is_some() || pick("git").is_some() {
        return Err(format!(
            "dependency {name}: only {FACADE} may come from this checkout"
        ));
    } else {
        return Err(format!("dependency {name}: no version"));
    }
    // Default features: the member's word, else the workspace's; written out for the facade.
    let default_features = pick("default-features").or_else(|| pick("default_features"));
    match default_features {
        Some(v) => out.push(("default-features".into(), v.clone())),
        None if name == FACADE => out.push(("default-features".into(), Value::Bool(true))),
        None => {}
    }
    // Features: the workspace's and the member's together (as cargo does).
    let mut features: Vec<Value> = Vec::new();
    for v in [from_base("features"), own("features")]
        .into_iter()
        .flatten()
    {
        let Value::Array(a) = v else {
            return Err(format!("dependency {name}: features must be an array"));
        };
        for f in a {
            if !features.contains(f) {
                features.push(f.clone());
            }
        }
    }
    if !features.is_empty() || name == FACADE {
        out.push(("features".into(), Value::Array(features)));
    }
    if let Some(v) = own("optional") {
        out.push(("optional".into(), v.clone()));
    }
    Ok(Value::Table(out))
}

fn cargo_toml(
    name: &str,
    sample: &str,
    description: Option<&str>,
    deps: &[(String, Value)],
) -> String {
    let mut s = format!(
        "# Made by `cargo xtask new {name} --from {sample}`: a standalone crate (no workspace\n\
         # inheritance). Build: cargo build --target {P1} --release (a WAGI module) or\n\
         # cargo build --target {P2} --release (a wasi:http component).\n\
         [package]\nname = {}\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n",
        quote(name)
    );
    if let Some(d) = description {
        s.push_str(&format!("description = {}\n", quote(d)));
    }
    s.push_str("\n[dependencies]\n");
    for (k, v) in deps {
        s.push_str(&format!("{k} = {}\n", v.render()));
    }
    s.push_str(
        "\n# Its own workspace, so it never joins an enclosing one.\n[workspace]\n\n\
         # Small .wasm files from a plain --release build.\n[profile.release]\n\
         opt-level = \"z\"\nlto = true\ncodegen-units = 1\npanic = \"abort\"\nstrip = true\n",
    );
    s
}

fn wagi_toml(name: &str, sample: &str, w: &Wagi) -> String {
    let mut s = format!(
        "# WAGI / harness config for {name} (from samples/{sample}). Paths are relative to this file.\n\
         # Build first: cargo build --target {P1} --release\n\
         # (the module line may name target/{P2}/release/{name}.wasm, the component, instead)\n\
         [[module]]\nroute = {}\nmodule = {}\n",
        quote(&w.route),
        quote(&format!("target/{P1}/release/{name}.wasm")),
    );
    if let Some(hosts) = &w.allowed_hosts {
        let hosts = Value::Array(hosts.iter().cloned().map(Value::Str).collect());
        s.push_str(&format!("allowed_hosts = {}\n", hosts.render()));
    }
    if !w.environment.is_empty() {
        s.push_str("\n[module.environment]\n");
        for (k, v, comments) in &w.environment {
            for c in comments {
                s.push_str(c);
                s.push('\n');
            }
            s.push_str(&format!("{k} = {}\n", quote(v)));
        }
    }
    s
}

/// The sample README's text below its title and above its `## Build and run` section (which
/// is about the sample inside the checkout; the new README has its own), with the commands that
/// only work inside the checkout (`cargo xtask ...`, `cargo run -p harness ...`) left out and
/// empty code blocks dropped.
fn requests_from_readme(readme: &str, sample: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut fence_start = 0;
    let below_title = readme.lines().skip_while(|l| !l.starts_with("# ")).skip(1);
    for line in below_title.take_while(|l| l.trim() != "## Build and run") {
        let t = line.trim();
        if t.starts_with("```") {
            if in_fence && lines.len() == fence_start + 1 {
                lines.pop(); // empty block
            } else {
                lines.push(line.to_string());
            }
            if !in_fence {
                fence_start = lines.len() - 1;
            }
            in_fence = !in_fence;
            continue;
        }
        if in_fence && (t.starts_with("cargo xtask") || t.starts_with("cargo run -p harness")) {
            continue;
        }
        lines.push(line.replace(&format!("samples/{sample}/"), ""));
    }
    let text = lines.join("\n");
    text.trim().to_string()
}

fn readme(i: &Inputs, w: &Wagi) -> String {
    let name = i.name;
    let manifest = shell_quote(&i.root.join("Cargo.toml").display().to_string());
    let wagi = shell_quote(&i.dir.join("wagi.toml").display().to_string());
    let checkout = i.root.display();
    let requests = requests_from_readme(i.readme, i.sample);
    let source = match i.git {
        Some(url) => format!("`{FACADE}` from `{url}`"),
        None => format!("`{FACADE}` from the checkout at `{checkout}`"),
    };
    format!(
        "# {name}\n\n\
         A handler made by `cargo xtask new {name} --from {sample}` ({source}).\n\
         One source builds as a WAGI module and as a wasi:http component.\n\n\
         ## Build\n\n\
         ```sh\n\
         rustup target add {P1} {P2}\n\
         cargo build --target {P1} --release   # target/{P1}/release/{name}.wasm: a WAGI module\n\
         cargo build --target {P2} --release   # target/{P2}/release/{name}.wasm: a wasi:http component\n\
         ```\n\n\
         ## Run\n\n\
         The module (or the component: change `module` in `wagi.toml`) in the harness, with the\n\
         embedded Azure emulators, from the azure-wasi checkout (`{checkout}`):\n\n\
         ```sh\n\
         cargo run --manifest-path {manifest} -p harness -- serve --config {wagi} --emulators\n\
         curl http://127.0.0.1:3000{path}\n\
         ```\n\n\
         (in the checkout itself: `cargo run -p harness -- serve --config {wagi} --emulators`).\n\n\
         The component on `wasmtime serve` (48.x), settings as environment variables:\n\n\
         ```sh\n\
         {serve}\n\
         curl http://127.0.0.1:8080{path}\n\
         ```\n\n\
         ## Requests (from samples/{sample}/README.md)\n\n\
         {requests}\n\n\
         The examples use the harness's address (`127.0.0.1:3000`); on `wasmtime serve` use\n\
         `127.0.0.1:8080`. The settings and allowed hosts are in `wagi.toml`.\n",
        sample = i.sample,
        path = example_path(&w.route),
        serve = wasmtime_serve(name, w),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKSPACE: &str = r#"[workspace]
members = ["a"]

[workspace.package]
version = "0.1.0"

[workspace.dependencies]
# comment
serde = { version = "1", features = ["derive"] }
serde_json = "1"
azure-wasi = { path = "crates/azure-wasi", default-features = false }
wasmtime = { version = "48", default-features = false, features = ["cranelift", "std"] }

[profile.wasm-release]
opt-level = "z"
"#;

    const SAMPLE: &str = r#"[package]
name = "blob-write"
version.workspace = true
edition.workspace = true
description = "WAGI handler: POST /blob stores \"the body\"."

[dependencies]
azure-wasi = { workspace = true, features = ["json", "storage"] }
serde_json = { workspace = true }
serde = { workspace = true }
"#;

    const WAGI: &str = r#"# WAGI / harness config. Paths are relative to this file.
[[module]]
route = "/blob"
module = "../../target/wasm32-wasip1/wasm-release/blob-write.wasm"
allowed_hosts = ["http://127.0.0.1:10000", 'http://127.0.0.1:8082']

[module.environment]
STORAGE_ACCOUNT = "devstoreaccount1"
# The public key.
STORAGE_MASTER_KEY = "Eby8+/=="
"#;

    const README: &str = "# blob-write\n\nStores the body.\n\n```\nPOST /blob?container=<c>&blob=<b>\n```\n\n```sh\ncargo xtask build\ncargo run -p harness -- serve --config samples/blob-write/wagi.toml\ncurl -d x 'http://127.0.0.1:3000/blob'\n```\n\n```sh\ncargo xtask build\n```\nEdit `samples/blob-write/wagi.toml`.\n\n## Build and run\n\n```sh\ncargo build --target wasm32-wasip1 --release -p blob-write\n```\n";

    fn inputs<'a>(git: Option<&'a str>, sample_toml: &'a str) -> Inputs<'a> {
        Inputs {
            name: "my-app",
            sample: "blob-write",
            root: Path::new("/src/azure-wasi"),
            git,
            workspace_toml: WORKSPACE,
            sample_toml,
            wagi_toml: WAGI,
            main_rs: "fn main() {}\n",
            readme: README,
            cargo_config: "[alias]\nxtask = \"run\"\n\n# why\n[target.wasm32-wasip1]\nrustflags = [\"-C\", \"link-arg=--initial-heap=1048576\"]\n",
            dir: Path::new("/home/me/my-app"),
        }
    }

    fn file<'a>(files: &'a [(&str, String)], name: &str) -> &'a str {
        &files.iter().find(|(f, _)| *f == name).unwrap().1
    }

    #[test]
    fn parses_values() {
        let (v, rest) = parse_value(r#"{ a = "x\"y", b = false, c = ["1", '2'] } # c"#).unwrap();
        assert_eq!(rest.trim(), "# c");
        assert_eq!(v.get("a"), Some(&Value::Str("x\"y".into())));
        assert_eq!(v.get("b"), Some(&Value::Bool(false)));
        assert_eq!(
            v.get("c"),
            Some(&Value::Array(vec![
                Value::Str("1".into()),
                Value::Str("2".into())
            ]))
        );
        assert_eq!(v.render(), r#"{ a = "x\"y", b = false, c = ["1", "2"] }"#);
        assert!(parse_line("x = [\"a\",").is_err());
        assert_eq!(
            parse_line("x = -1").unwrap(),
            Some(("x".into(), Value::Int(-1)))
        );
        assert!(parse_line("x = 1.5").is_err());
        assert!(parse_line("x = \"a\" junk").is_err());
    }

    #[test]
    fn reads_sections_and_dependencies() {
        let deps = section_deps(WORKSPACE, "workspace.dependencies").unwrap();
        let names: Vec<&str> = deps.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["serde", "serde_json", "azure-wasi", "wasmtime"]);
        assert_eq!(
            deps[1].1,
            Value::Table(vec![("version".into(), Value::Str("1".into()))])
        );
        let package = section_values(SAMPLE, "package").unwrap();
        assert_eq!(package[1].0, "version.workspace");
    }

    #[test]
    fn parses_wagi_toml() {
        let w = parse_wagi(WAGI).unwrap();
        assert_eq!(w.route, "/blob");
        assert_eq!(
            w.allowed_hosts.as_deref(),
            Some(
                &[
                    "http://127.0.0.1:10000".to_string(),
                    "http://127.0.0.1:8082".into()
                ][..]
            )
        );
        assert_eq!(w.environment.len(), 2);
        assert_eq!(w.environment[1].0, "STORAGE_MASTER_KEY");
        assert_eq!(w.environment[1].2, ["# The public key."]);
        let inline = parse_wagi(
            "[[module]]\nroute = \"/x/...\"\nmodule = \"x.wasm\"\nenvironment = { A = \"1\" }\n",
        )
        .unwrap();
        assert_eq!(inline.allowed_hosts, None);
        assert_eq!(inline.environment, [("A".into(), "1".into(), vec![])]);
        assert!(parse_wagi("[[module]]\nroute = \"/a\"\n[[module]]\nroute = \"/b\"\n").is_err());
        assert!(parse_wagi("[[module]]\nmodule = \"a.wasm\"\n").is_err());
    }

    #[test]
    fn renders_a_standalone_cargo_toml() {
        let files = render(&inputs(None, SAMPLE)).unwrap();
        let toml = file(&files, "Cargo.toml");
        assert!(!toml.contains("workspace = true"), "{toml}");
        assert!(!toml.contains(".workspace"), "{toml}");
        assert!(toml.contains("\n[workspace]\n"), "{toml}");
        assert!(toml.contains("name = \"my-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"));
        assert!(toml.contains(r#"description = "WAGI handler: POST /blob stores \"the body\".""#));
        assert!(toml.contains(
            r#"azure-wasi = { path = "/src/azure-wasi/crates/azure-wasi", default-features = false, features = ["json", "storage"] }"#
        ), "{toml}");
        assert!(
            toml.contains("serde_json = { version = \"1\" }\n"),
            "{toml}"
        );
        assert!(
            toml.contains("serde = { version = \"1\", features = [\"derive\"] }\n"),
            "{toml}"
        );
        for line in [
            "[profile.release]",
            "opt-level = \"z\"",
            "lto = true",
            "codegen-units = 1",
            "panic = \"abort\"",
            "strip = true",
        ] {
            assert!(toml.contains(&format!("{line}\n")), "{line} in {toml}");
        }
        // Every [dependencies] line parses back.
        let deps = section_deps(toml, "dependencies").unwrap();
        assert_eq!(deps.len(), 3);
    }

    #[test]
    fn lints_are_copied_and_unknown_tables_refused() {
        let workspace = format!(
            "{WORKSPACE}\n[workspace.lints.rust]\nunused_must_use = \"deny\"\n\n\
             [workspace.lints.clippy]\ntodo = {{ level = \"deny\", priority = 1 }}\n\n[x]\ny = \"z\"\n"
        );
        let sample = format!("{SAMPLE}\n[lints]\nworkspace = true\n");
        let mut i = inputs(None, &sample);
        i.workspace_toml = &workspace;
        let files = render(&i).unwrap();
        let toml = file(&files, "Cargo.toml");
        assert!(
            toml.ends_with(
                "\n[lints.rust]\nunused_must_use = \"deny\"\n\n\
                 [lints.clippy]\ntodo = { level = \"deny\", priority = 1 }\n"
            ),
            "{toml}"
        );
        assert!(!toml.contains("workspace = true"), "{toml}");
        let sample = format!("{SAMPLE}\n[features]\nx = []\n");
        assert!(render(&inputs(None, &sample)).is_err());
    }

    #[test]
    fn git_and_explicit_default_features() {
        let sample = "[dependencies]\nazure-wasi = { workspace = true }\n";
        let files = render(&inputs(Some("https://example.invalid/azure-wasi"), sample)).unwrap();
        assert!(file(&files, "Cargo.toml").contains(
            r#"azure-wasi = { git = "https://example.invalid/azure-wasi", default-features = false, features = [] }"#
        ));
        let sample = "[dependencies]\nazure-wasi = { workspace = true, default-features = true }\n";
        let files = render(&inputs(None, sample)).unwrap();
        assert!(file(&files, "Cargo.toml").contains("default-features = true, features = []"));
        let sample = "[dependencies]\nemulator = { workspace = true }\n";
        assert!(render(&inputs(None, sample)).is_err());
        let sample =
            "[dependencies]\nwasmtime = { workspace = true, features = [\"std\", \"p1\"] }\n";
        let files = render(&inputs(None, sample)).unwrap();
        assert!(file(&files, "Cargo.toml").contains(
            r#"wasmtime = { version = "48", default-features = false, features = ["cranelift", "std", "p1"] }"#
        ));
    }

    #[test]
    fn renders_wagi_toml_and_readme() {
        let files = render(&inputs(None, SAMPLE)).unwrap();
        let wagi = file(&files, "wagi.toml");
        let parsed = parse_wagi(wagi).unwrap();
        assert_eq!(parsed, parse_wagi(WAGI).unwrap());
        assert!(wagi.contains("module = \"target/wasm32-wasip1/release/my-app.wasm\"\n"));
        assert_eq!(file(&files, "src/main.rs"), "fn main() {}\n");
        let readme = file(&files, "README.md");
        for s in [
            "cargo build --target wasm32-wasip1 --release",
            "cargo build --target wasm32-wasip2 --release",
            "cargo run --manifest-path /src/azure-wasi/Cargo.toml -p harness -- serve --config /home/me/my-app/wagi.toml --emulators",
            "wasmtime serve -Scli --addr 127.0.0.1:8080 --env STORAGE_ACCOUNT=devstoreaccount1 --env STORAGE_MASTER_KEY=Eby8+/== target/wasm32-wasip2/release/my-app.wasm",
            "POST /blob?container=<c>&blob=<b>",
            "curl -d x 'http://127.0.0.1:3000/blob'",
            "Edit `wagi.toml`.",
        ] {
            assert!(readme.contains(s), "{s:?} in {readme}");
        }
        assert!(!readme.contains("cargo xtask build"), "{readme}");
        let config = file(&files, ".cargo/config.toml");
        assert!(
            config.contains("\n[target.wasm32-wasip1]\nrustflags = [\"-C\", \"link-arg=--initial-heap=1048576\"]\n"),
            "{config}"
        );
        assert!(!config.contains("xtask"), "only the guest tables: {config}");
        assert!(
            !readme.contains("-p blob-write"),
            "the sample's own Build and run section is not copied: {readme}"
        );
        assert!(!readme.contains("```sh\n```"), "{readme}");
    }

    #[test]
    fn names_and_arguments() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_args(&args(&[
                "app", "--from", "hello", "--path", "/tmp/x", "--git", "u"
            ]))
            .unwrap(),
            Args {
                name: "app".into(),
                from: "hello".into(),
                path: Some("/tmp/x".into()),
                git: Some("u".into()),
            }
        );
        assert!(parse_args(&args(&["app"])).is_err());
        assert!(parse_args(&args(&["app", "--from", "nope"])).is_err());
        assert!(parse_args(&args(&["app", "--from"])).is_err());
        assert!(parse_args(&args(&["app", "--from", "hello", "--force"])).is_err());
        for ok in ["hello", "my-app", "a_b2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1app", "-app", "my app", "é", "test", "fn", "std"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(shell_quote("a=b/c+"), "a=b/c+");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    /// Every real sample renders (catches a sample the line parser cannot read).
    #[test]
    fn every_sample_renders() {
        let root = root();
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        let workspace_toml = read(root.join("Cargo.toml"));
        let cargo_config = read(root.join(".cargo/config.toml"));
        for sample in SAMPLES {
            let dir = root.join("samples").join(sample);
            let (sample_toml, wagi_toml, main_rs, readme) = (
                read(dir.join("Cargo.toml")),
                read(dir.join("wagi.toml")),
                read(dir.join("src/main.rs")),
                read(dir.join("README.md")),
            );
            let files = render(&Inputs {
                name: "x",
                sample,
                root: &root,
                git: None,
                workspace_toml: &workspace_toml,
                sample_toml: &sample_toml,
                wagi_toml: &wagi_toml,
                main_rs: &main_rs,
                readme: &readme,
                cargo_config: &cargo_config,
                dir: Path::new("/tmp/x"),
            })
            .unwrap_or_else(|e| panic!("{sample}: {e}"));
            let config = file(&files, ".cargo/config.toml");
            assert!(
                config.contains("[target.wasm32-wasip1]")
                    && config.contains("[target.wasm32-wasip2]"),
                "{sample}: the workspace's guest settings: {config}"
            );
            let toml = file(&files, "Cargo.toml");
            assert!(!toml.contains("workspace = true"), "{sample}: {toml}");
            assert!(toml.contains("azure-wasi = { path = "), "{sample}: {toml}");
            let sample_wagi = parse_wagi(&wagi_toml).unwrap();
            let wagi = parse_wagi(file(&files, "wagi.toml")).unwrap();
            assert_eq!(wagi, sample_wagi, "{sample}");
        }
    }
}

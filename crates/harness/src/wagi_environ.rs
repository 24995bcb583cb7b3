//! The environment of one WAGI run, packed as the guest reads it (`K=V\0` entries back to back)
//! and handed over by the harness's own `environ_sizes_get` and `environ_get`.
//!
//! wasmtime-wasi keeps the environment as a list of owned string pairs and copies the whole list
//! on each of those two calls; a CGI request sets some twenty variables plus one per header, so
//! that was two allocations per variable to build it and four more per variable to read it. Here
//! a run's environment is one buffer: the module's own `environment` is packed once, when the
//! module is prepared, and each request appends its CGI variables, then copies that part.

use wasmtime::{Caller, Extern, Linker};

use crate::instance::RequestState;

/// WASI's `errno::fault`: a pointer the guest gave leaves its memory.
const ERRNO_FAULT: i32 = 21;
/// WASI's `errno::success`.
const ERRNO_SUCCESS: i32 = 0;

/// Environment entries packed as `K=V\0`, with their count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackedEnv {
    bytes: Vec<u8>,
    count: u32,
}

impl PackedEnv {
    /// An empty environment with room for `bytes` bytes of entries.
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            count: 0,
        }
    }

    /// Packs a module's configured `environment`; a NUL in a name or value, or `=` in a name,
    /// cannot be passed to a guest and is an error naming the variable.
    pub(crate) fn from_config(
        vars: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let mut env = Self::with_capacity(vars.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (k, v) in vars {
            if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
                return Err(format!(
                    "environment variable {k:?}: a name must be non-empty without `=` or NUL, and a value without NUL"
                ));
            }
            env.push(k, v);
        }
        Ok(env)
    }

    /// Appends `name=value`. The caller guarantees neither holds a NUL (CGI values come from
    /// HTTP header values and URIs, which cannot, and a `%00` path is refused before a run).
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.bytes.reserve(name.len() + value.len() + 2);
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(b'=');
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(0);
        self.count += 1;
    }

    /// Appends every entry of `other`.
    pub(crate) fn extend(&mut self, other: &PackedEnv) {
        self.bytes.extend_from_slice(&other.bytes);
        self.count += other.count;
    }

    /// Bytes of the packed entries.
    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Whether an entry is named `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        let name = name.as_bytes();
        self.bytes
            .split(|b| *b == 0)
            .any(|entry| entry.starts_with(name) && entry.get(name.len()) == Some(&b'='))
    }

    /// The entries as `(name, value)`, in order.
    #[cfg(test)]
    fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.bytes
            .split(|b| *b == 0)
            .filter(|e| !e.is_empty())
            .map(|e| {
                let text = std::str::from_utf8(e).unwrap_or("");
                text.split_once('=').unwrap_or((text, ""))
            })
    }

    /// Writes the entries at `buf` and a pointer to each at `environ` (WASI's `environ_get`).
    fn write_to(&self, memory: &mut [u8], environ: i32, buf: i32) -> i32 {
        let (environ, buf) = (environ as u32 as usize, buf as u32 as usize);
        let pointers_end = (self.count as usize)
            .checked_mul(4)
            .and_then(|n| environ.checked_add(n));
        let buf_end = buf.checked_add(self.bytes.len());
        match (pointers_end, buf_end) {
            (Some(p), Some(b)) if p <= memory.len() && b <= memory.len() => {}
            _ => return ERRNO_FAULT,
        }
        memory[buf..buf + self.bytes.len()].copy_from_slice(&self.bytes);
        let mut at = environ;
        let mut entry_start = buf;
        for entry in self.bytes.split_inclusive(|b| *b == 0) {
            // `buf + len` fits in the 32-bit memory (checked above), so each start does too.
            memory[at..at + 4].copy_from_slice(&(entry_start as u32).to_le_bytes());
            at += 4;
            entry_start += entry.len();
        }
        ERRNO_SUCCESS
    }
}

/// Writes `value` as a little-endian `u32` at `ptr`, or `errno::fault`.
fn write_u32(memory: &mut [u8], ptr: i32, value: u32) -> i32 {
    let at = ptr as u32 as usize;
    match memory.get_mut(at..at.saturating_add(4)) {
        Some(slot) if slot.len() == 4 => {
            slot.copy_from_slice(&value.to_le_bytes());
            ERRNO_SUCCESS
        }
        _ => ERRNO_FAULT,
    }
}

fn memory_and_env<'a>(
    caller: &'a mut Caller<'_, RequestState>,
) -> Option<(&'a mut [u8], &'a PackedEnv)> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return None;
    };
    let (data, state) = memory.data_and_store_mut(caller);
    Some((data, state.environ()))
}

/// Replaces wasmtime-wasi's `environ_sizes_get` and `environ_get` in `linker` with ones that
/// read the run's [`PackedEnv`].
pub(crate) fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    const WASI: &str = "wasi_snapshot_preview1";
    linker.allow_shadowing(true);
    linker.func_wrap(
        WASI,
        "environ_sizes_get",
        |mut caller: Caller<'_, RequestState>, count_ptr: i32, size_ptr: i32| -> i32 {
            let Some((memory, env)) = memory_and_env(&mut caller) else {
                return ERRNO_FAULT;
            };
            let (count, size) = (env.count, env.bytes.len() as u32);
            match write_u32(memory, count_ptr, count) {
                ERRNO_SUCCESS => write_u32(memory, size_ptr, size),
                errno => errno,
            }
        },
    )?;
    linker.func_wrap(
        WASI,
        "environ_get",
        |mut caller: Caller<'_, RequestState>, environ: i32, buf: i32| -> i32 {
            match memory_and_env(&mut caller) {
                Some((memory, env)) => env.write_to(memory, environ, buf),
                None => ERRNO_FAULT,
            }
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> PackedEnv {
        let mut e = PackedEnv::default();
        for (k, v) in pairs {
            e.push(k, v);
        }
        e
    }

    #[test]
    fn entries_are_written_with_a_pointer_to_each() {
        let e = env(&[("A", "1"), ("EMPTY", ""), ("Q", "x=y")]);
        let mut memory = vec![0xAAu8; 64];
        assert_eq!(e.write_to(&mut memory, 0, 16), ERRNO_SUCCESS);
        let ptr =
            |i: usize| u32::from_le_bytes(memory[i * 4..i * 4 + 4].try_into().unwrap()) as usize;
        let text = |p: usize| {
            let end = memory[p..].iter().position(|b| *b == 0).unwrap();
            std::str::from_utf8(&memory[p..p + end])
                .unwrap()
                .to_string()
        };
        assert_eq!(
            [text(ptr(0)), text(ptr(1)), text(ptr(2))],
            ["A=1", "EMPTY=", "Q=x=y"]
        );
        assert_eq!(
            memory[12], 0xAA,
            "nothing is written past the three pointers"
        );
        let entries: Vec<_> = e.entries().collect();
        assert_eq!(entries, [("A", "1"), ("EMPTY", ""), ("Q", "x=y")]);
        assert!(e.contains("EMPTY") && !e.contains("B"));
        assert!(!e.contains("EMPT") && !e.contains("1"), "whole names only");
    }

    #[test]
    fn pointers_that_leave_memory_are_a_fault_and_nothing_is_written() {
        let e = env(&[("A", "1")]);
        let mut memory = vec![0u8; 16];
        assert_eq!(
            e.write_to(&mut memory, 0, 13),
            ERRNO_FAULT,
            "buffer past the end"
        );
        assert_eq!(
            e.write_to(&mut memory, 13, 0),
            ERRNO_FAULT,
            "pointer past the end"
        );
        assert_eq!(e.write_to(&mut memory, -1, 0), ERRNO_FAULT, "wraps around");
        assert_eq!(memory, [0u8; 16]);
        assert_eq!(write_u32(&mut memory, 13, 7), ERRNO_FAULT);
        assert_eq!(write_u32(&mut memory, 12, 7), ERRNO_SUCCESS);
    }

    #[test]
    fn a_configured_variable_that_cannot_be_passed_is_named() {
        let one = |k: &str, v: &str| std::collections::BTreeMap::from([(k.into(), v.into())]);
        let ok = PackedEnv::from_config(&one("A", "1")).unwrap();
        assert_eq!(ok, env(&[("A", "1")]));
        for (k, v) in [("", "1"), ("A=B", "1"), ("A\0", "1"), ("A", "x\0y")] {
            let err = PackedEnv::from_config(&one(k, v)).unwrap_err();
            assert!(err.contains(&format!("{k:?}")), "{err}");
        }
    }

    #[test]
    fn extending_keeps_order_and_count() {
        let mut a = env(&[("A", "1")]);
        a.extend(&env(&[("B", "2"), ("C", "3")]));
        assert_eq!(a.count, 3);
        assert_eq!(
            a.entries().map(|(k, _)| k).collect::<Vec<_>>(),
            ["A", "B", "C"]
        );
    }
}

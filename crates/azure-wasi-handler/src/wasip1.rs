//! The WASI preview 1 calls a WAGI module makes itself, where the standard library's way costs
//! more: reading the environment (one buffer instead of a copy per variable) and writing the
//! response to stdout (one host call per write, where std's line-buffered stdout holds back
//! whatever follows the last newline for a second call).

use std::io;

#[repr(C)]
struct Ciovec {
    buf: *const u8,
    len: usize,
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn environ_sizes_get(count: *mut usize, size: *mut usize) -> u16;
    fn environ_get(environ: *mut *mut u8, buf: *mut u8) -> u16;
    fn fd_write(fd: u32, iovs: *const Ciovec, iovs_len: usize, nwritten: *mut usize) -> u16;
}

/// The environment's entries (`NAME=value` and a NUL, back to back) and where each begins in
/// them (from the pointers `environ_get` writes, so the caller need not search for the NULs),
/// or `None` when the host refuses either call. The places are `None` when a pointer is not
/// into the entries.
pub(crate) fn environment_entries() -> Option<(Vec<u8>, Option<Vec<usize>>)> {
    let (mut count, mut size) = (0usize, 0usize);
    // SAFETY: both pointers are to live locals; the call writes one `usize` to each.
    if unsafe { environ_sizes_get(&mut count, &mut size) } != 0 {
        return None;
    }
    let mut pointers: Vec<*mut u8> = Vec::with_capacity(count);
    let mut bytes: Vec<u8> = Vec::with_capacity(size);
    // SAFETY: the host writes `count` pointers and `size` bytes of entries, the sizes it gave
    // above, and both vectors have that much room.
    if unsafe { environ_get(pointers.as_mut_ptr(), bytes.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: the call succeeded, so its `count` pointers and `size` bytes are written.
    unsafe {
        pointers.set_len(count);
        bytes.set_len(size);
    }
    // Only the addresses are compared: nothing is read through the pointers.
    let base = bytes.as_ptr() as usize;
    let starts = pointers
        .iter()
        .map(|&p| (p as usize).checked_sub(base).filter(|&at| at < size))
        .collect();
    Some((bytes, starts))
}

/// The module's stdout without a buffer: each `write` is one `fd_write` of the bytes given.
pub(crate) struct Stdout;

impl io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let iov = Ciovec {
            buf: buf.as_ptr(),
            len: buf.len(),
        };
        let mut written = 0usize;
        // SAFETY: `iov` describes `buf`, which outlives the call; `written` is a live local.
        match unsafe { fd_write(1, &iov, 1, &mut written) } {
            0 => Ok(written),
            errno => Err(io::Error::from_raw_os_error(i32::from(errno))),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

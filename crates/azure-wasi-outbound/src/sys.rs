//! Thin safe wrappers over [`crate::raw`]: they own pointer handling and return the host's
//! error code unchanged. On targets other than wasm32-wasip1 every call returns [`UNSUPPORTED`].

/// Pseudo error code used on targets that have no `wasi_experimental_http` host.
#[allow(dead_code)]
pub(crate) const UNSUPPORTED: i32 = -1;
/// Pseudo error code for a buffer longer than the 32-bit ABI can describe.
pub(crate) const TOO_LARGE: i32 = -2;

/// Result of one host call: the value or the host's raw error code.
pub(crate) type HostResult<T> = Result<T, i32>;

/// Result of a "fill this buffer" call: bytes written, or the error code together with the
/// `written` value the host left behind (some hosts report the size they need on code 4).
pub(crate) type FillResult = Result<usize, (i32, usize)>;

#[cfg(all(target_arch = "wasm32", target_env = "p1"))]
mod imp {
    use super::{FillResult, HostResult, TOO_LARGE};
    use crate::raw;

    fn ptr(bytes: &[u8]) -> i32 {
        bytes.as_ptr() as usize as i32
    }

    fn len(bytes: &[u8]) -> HostResult<i32> {
        i32::try_from(bytes.len()).map_err(|_| TOO_LARGE)
    }

    fn check(code: i32) -> HostResult<()> {
        if code == 0 {
            Ok(())
        } else {
            Err(code)
        }
    }

    pub(crate) fn req(
        url: &[u8],
        method: &[u8],
        headers: &[u8],
        body: &[u8],
    ) -> HostResult<(u16, u32)> {
        let mut status: u16 = 0;
        let mut handle: u32 = 0;
        // SAFETY: every pointer/length pair describes a live slice for the duration of the
        // call, and the two out-pointers point at properly aligned locals.
        let code = unsafe {
            raw::req(
                ptr(url),
                len(url)?,
                ptr(method),
                len(method)?,
                ptr(headers),
                len(headers)?,
                ptr(body),
                len(body)?,
                &mut status as *mut u16 as usize as i32,
                &mut handle as *mut u32 as usize as i32,
            )
        };
        check(code)?;
        Ok((u16::from_le(status), u32::from_le(handle)))
    }

    pub(crate) fn close(handle: u32) -> HostResult<()> {
        // SAFETY: no memory is shared with the host.
        check(unsafe { raw::close(handle as i32) })
    }

    /// Calls a "fill this buffer" function and returns the host's `written` value.
    fn fill(buf: &mut [u8], f: impl FnOnce(i32, i32, i32) -> i32) -> FillResult {
        let buf_len = i32::try_from(buf.len()).map_err(|_| (TOO_LARGE, 0))?;
        let mut written: u32 = 0;
        let code = f(
            buf.as_mut_ptr() as usize as i32,
            buf_len,
            &mut written as *mut u32 as usize as i32,
        );
        let written = u32::from_le(written) as usize;
        if code == 0 {
            Ok(written.min(buf.len()))
        } else {
            Err((code, written))
        }
    }

    pub(crate) fn headers_get_all(handle: u32, buf: &mut [u8]) -> FillResult {
        // SAFETY: `fill` passes a live, writable buffer and an aligned `written` slot.
        fill(buf, |p, l, w| unsafe {
            raw::headers_get_all(handle as i32, p, l, w)
        })
    }

    pub(crate) fn body_read(handle: u32, buf: &mut [u8]) -> FillResult {
        // SAFETY: `fill` passes a live, writable buffer and an aligned `written` slot.
        fill(buf, |p, l, w| unsafe {
            raw::body_read(handle as i32, p, l, w)
        })
    }
}

#[cfg(not(all(target_arch = "wasm32", target_env = "p1")))]
mod imp {
    use super::{FillResult, HostResult, UNSUPPORTED};

    pub(crate) fn req(_: &[u8], _: &[u8], _: &[u8], _: &[u8]) -> HostResult<(u16, u32)> {
        Err(UNSUPPORTED)
    }
    pub(crate) fn close(_: u32) -> HostResult<()> {
        Err(UNSUPPORTED)
    }
    pub(crate) fn headers_get_all(_: u32, _: &mut [u8]) -> FillResult {
        Err((UNSUPPORTED, 0))
    }
    pub(crate) fn body_read(_: u32, _: &mut [u8]) -> FillResult {
        Err((UNSUPPORTED, 0))
    }
}

pub(crate) use imp::*;

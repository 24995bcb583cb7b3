//! The error codes of the `wasi_experimental_http` ABI, exactly as the original host numbers them.

/// An ABI error code returned to the guest.
///
/// ```
/// use harness::outbound::Code;
/// assert_eq!(Code::DestinationNotAllowed as i32, 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Code {
    /// 0: success.
    Ok = 0,
    /// 1: the handle is not open.
    InvalidHandle = 1,
    /// 2: the module exports no `memory`.
    MemoryNotFound = 2,
    /// 3: a pointer or length points outside the module's memory.
    MemoryAccess = 3,
    /// 4: the guest's buffer is too small.
    BufferTooSmall = 4,
    /// 5: no such response header.
    HeaderNotFound = 5,
    /// 6: bytes that must be UTF-8 are not.
    Utf8 = 6,
    /// 7: the destination is not in `allowed_hosts`.
    DestinationNotAllowed = 7,
    /// 8: the method is not a valid upper-case HTTP method.
    InvalidMethod = 8,
    /// 9: the request headers are not `Name:value` lines.
    InvalidEncoding = 9,
    /// 10: the URL does not parse.
    InvalidUrl = 10,
    /// 11: connecting, TLS, a timeout or a body that is too large.
    RequestError = 11,
    /// 12: an internal error of the host.
    RuntimeError = 12,
    /// 13: too many response handles are open.
    TooManySessions = 13,
}

impl Code {
    /// The value returned across the ABI.
    ///
    /// ```
    /// assert_eq!(harness::outbound::Code::Ok.as_i32(), 0);
    /// ```
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// Result of a host function body: `Err` carries the code to return.
pub(crate) type AbiResult<T = ()> = Result<T, Code>;

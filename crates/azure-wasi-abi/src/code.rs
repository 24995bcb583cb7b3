//! The error codes of the ABI, numbered exactly as the original host numbers them.

/// A `wasi_experimental_http` result code: `0` is success, `1..=13` are errors.
///
/// ```
/// use azure_wasi_abi::Code;
/// assert_eq!(Code::DestinationNotAllowed.as_i32(), 7);
/// assert_eq!(Code::from_i32(13), Some(Code::TooManySessions));
/// assert_eq!(Code::from_i32(14), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// 4: the guest's buffer is too small (the host writes the size it needs).
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
    /// Every code, in numeric order.
    ///
    /// ```
    /// assert!(azure_wasi_abi::Code::ALL.iter().enumerate().all(|(i, c)| c.as_i32() == i as i32));
    /// ```
    pub const ALL: [Code; 14] = [
        Code::Ok,
        Code::InvalidHandle,
        Code::MemoryNotFound,
        Code::MemoryAccess,
        Code::BufferTooSmall,
        Code::HeaderNotFound,
        Code::Utf8,
        Code::DestinationNotAllowed,
        Code::InvalidMethod,
        Code::InvalidEncoding,
        Code::InvalidUrl,
        Code::RequestError,
        Code::RuntimeError,
        Code::TooManySessions,
    ];

    /// The value passed across the ABI.
    ///
    /// ```
    /// assert_eq!(azure_wasi_abi::Code::Ok.as_i32(), 0);
    /// ```
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code for a value received across the ABI; `None` for a number this ABI does not
    /// define.
    ///
    /// ```
    /// use azure_wasi_abi::Code;
    /// assert_eq!(Code::from_i32(9), Some(Code::InvalidEncoding));
    /// assert_eq!(Code::from_i32(-1), None);
    /// ```
    pub const fn from_i32(value: i32) -> Option<Code> {
        if value >= 0 && value < Self::ALL.len() as i32 {
            Some(Self::ALL[value as usize])
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for value in -3..20 {
            match Code::from_i32(value) {
                Some(code) => assert_eq!(code.as_i32(), value),
                None => assert!(!(0..=13).contains(&value), "{value}"),
            }
        }
        assert_eq!(Code::RequestError.as_i32(), 11);
        assert_eq!(Code::RuntimeError.as_i32(), 12);
    }
}

//! The raw imports of the `wasi_experimental_http` host module.
//!
//! Every parameter and result is an `i32`, exactly as the original deislabs host (WAGI 0.8)
//! declares them. Pointers are guest linear-memory offsets. Each function returns an error code
//! (`0` = success, see [`crate::Error::from_code`]).
//!
//! This module only exists on `wasm32-wasip1`. Prefer the safe API ([`crate::send`]).

#[link(wasm_import_module = "wasi_experimental_http")]
unsafe extern "C" {
    /// Sends a request; writes the status (u16 LE) at `status_code_ptr` and the response
    /// handle (u32 LE) at `res_handle_ptr`.
    #[allow(clippy::too_many_arguments)]
    pub fn req(
        url_ptr: i32,
        url_len: i32,
        method_ptr: i32,
        method_len: i32,
        headers_ptr: i32,
        headers_len: i32,
        body_ptr: i32,
        body_len: i32,
        status_code_ptr: i32,
        res_handle_ptr: i32,
    ) -> i32;

    /// Frees a response handle.
    pub fn close(handle: i32) -> i32;

    /// Copies the first value of header `name` into `value_ptr`, its length (u32 LE) at
    /// `written_ptr`.
    pub fn header_get(
        handle: i32,
        name_ptr: i32,
        name_len: i32,
        value_ptr: i32,
        value_len: i32,
        written_ptr: i32,
    ) -> i32;

    /// Writes every response header as `name:value\n` lines, then the length (u32 LE).
    pub fn headers_get_all(handle: i32, buf_ptr: i32, buf_len: i32, written_ptr: i32) -> i32;

    /// Reads up to `buf_len` body bytes; writes the count (u32 LE). `0` means end of body.
    pub fn body_read(handle: i32, buf_ptr: i32, buf_len: i32, written_ptr: i32) -> i32;
}

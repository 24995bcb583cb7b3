//! The raw imports of the `wasi_experimental_http` host module.
//!
//! Every parameter and result is an `i32`, exactly as the original deislabs host (WAGI 0.8)
//! declares them. Pointers are guest linear-memory offsets. Each function returns an error code
//! (`0` = success, see [`crate::Error::from_code`]).
//!
//! This module only exists on `target_arch = "wasm32"`. Prefer the safe API ([`crate::send`]).
//!
//! ```ignore
//! let code = unsafe { azure_wasi_outbound::raw::close(handle as i32) };
//! ```

#[link(wasm_import_module = "wasi_experimental_http")]
unsafe extern "C" {
    /// Sends a request; writes the status (u16 LE) at `status_code_ptr` and the response
    /// handle (u32 LE) at `res_handle_ptr`.
    ///
    /// ```ignore
    /// let code = unsafe { req(url_ptr, url_len, m_ptr, m_len, h_ptr, h_len, b_ptr, b_len, st_ptr, hd_ptr) };
    /// ```
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
    ///
    /// ```ignore
    /// let code = unsafe { close(handle) };
    /// ```
    pub fn close(handle: i32) -> i32;

    /// Copies the first value of header `name` into `value_ptr`, its length (u32 LE) at
    /// `written_ptr`.
    ///
    /// ```ignore
    /// let code = unsafe { header_get(handle, n_ptr, n_len, v_ptr, v_len, written_ptr) };
    /// ```
    pub fn header_get(
        handle: i32,
        name_ptr: i32,
        name_len: i32,
        value_ptr: i32,
        value_len: i32,
        written_ptr: i32,
    ) -> i32;

    /// Writes every response header as `name:value\n` lines, then the length (u32 LE).
    ///
    /// ```ignore
    /// let code = unsafe { headers_get_all(handle, buf_ptr, buf_len, written_ptr) };
    /// ```
    pub fn headers_get_all(handle: i32, buf_ptr: i32, buf_len: i32, written_ptr: i32) -> i32;

    /// Reads up to `buf_len` body bytes; writes the count (u32 LE). `0` means end of body.
    ///
    /// ```ignore
    /// let code = unsafe { body_read(handle, buf_ptr, buf_len, written_ptr) };
    /// ```
    pub fn body_read(handle: i32, buf_ptr: i32, buf_len: i32, written_ptr: i32) -> i32;
}

//! The five host functions of module `wasi_experimental_http`, registered on a linker.
//!
//! Every function validates all guest pointers before acting, and returns an ABI code instead
//! of trapping or panicking on anything the guest controls.

use bytes::Bytes;
use url::Url;
use wasmtime::{Caller, Linker};

use super::guest_memory::{check_writable, memory_of, read_bytes, write_bytes};
use super::state::OutboundState;
use super::{AbiResult, Code};
use azure_wasi_abi::{decode_request_headers, encode_response_headers, parse_method};

/// Access to the outbound state inside a store's data.
pub trait HasOutbound: Send + 'static {
    /// The request's outbound state.
    fn outbound(&mut self) -> &mut OutboundState;
}

const MODULE: &str = "wasi_experimental_http";

fn code(result: AbiResult) -> i32 {
    match result {
        Ok(()) => Code::Ok.as_i32(),
        Err(c) => c.as_i32(),
    }
}

/// Adds `req`, `close`, `header_get`, `headers_get_all` and `body_read` to `linker`.
pub fn add_to_linker<T: HasOutbound>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap_async(
        MODULE,
        "req",
        |mut caller: Caller<'_, T>,
         (
            url_ptr,
            url_len,
            method_ptr,
            method_len,
            headers_ptr,
            headers_len,
            body_ptr,
            body_len,
            status_ptr,
            handle_ptr,
        ): (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)| {
            Box::new(async move {
                code(
                    req(
                        &mut caller,
                        [
                            url_ptr,
                            url_len,
                            method_ptr,
                            method_len,
                            headers_ptr,
                            headers_len,
                            body_ptr,
                            body_len,
                        ],
                        status_ptr,
                        handle_ptr,
                    )
                    .await,
                )
            })
        },
    )?;
    linker.func_wrap(MODULE, "close", |mut caller: Caller<'_, T>, handle: i32| {
        code(caller.data_mut().outbound().close(handle))
    })?;
    linker.func_wrap(
        MODULE,
        "header_get",
        |mut caller: Caller<'_, T>,
         handle: i32,
         name_ptr: i32,
         name_len: i32,
         value_ptr: i32,
         value_len: i32,
         written_ptr: i32| {
            code(header_get(
                &mut caller,
                handle,
                (name_ptr, name_len),
                (value_ptr, value_len),
                written_ptr,
            ))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "headers_get_all",
        |mut caller: Caller<'_, T>, handle: i32, buf_ptr: i32, buf_len: i32, written_ptr: i32| {
            code(headers_get_all(
                &mut caller,
                handle,
                buf_ptr,
                buf_len,
                written_ptr,
            ))
        },
    )?;
    linker.func_wrap_async(
        MODULE,
        "body_read",
        |mut caller: Caller<'_, T>,
         (handle, buf_ptr, buf_len, written_ptr): (i32, i32, i32, i32)| {
            Box::new(async move {
                code(body_read(&mut caller, handle, buf_ptr, buf_len, written_ptr).await)
            })
        },
    )?;
    Ok(())
}

async fn req<T: HasOutbound>(
    caller: &mut Caller<'_, T>,
    args: [i32; 8],
    status_ptr: i32,
    handle_ptr: i32,
) -> AbiResult {
    let [url_ptr, url_len, method_ptr, method_len, headers_ptr, headers_len, body_ptr, body_len] =
        args;
    let mem = memory_of(caller)?;
    check_writable(caller, mem, status_ptr, 2)?;
    check_writable(caller, mem, handle_ptr, 4)?;
    let url = read_bytes(caller, mem, url_ptr, url_len)?;
    let method = read_bytes(caller, mem, method_ptr, method_len)?;
    let headers = read_bytes(caller, mem, headers_ptr, headers_len)?;
    let body = read_bytes(caller, mem, body_ptr, body_len)?;

    let url = String::from_utf8(url).map_err(|_| Code::Utf8)?;
    let url = Url::parse(&url).map_err(|_| Code::InvalidUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Code::InvalidUrl);
    }
    let method = parse_method(&method)?;
    let headers = decode_request_headers(&headers)?;

    let state = caller.data_mut().outbound();
    state.check_capacity()?;
    let client = state.client.clone();
    let hops = state.hops;
    let response = client
        .send(method, url, headers, Bytes::from(body), hops, &state.log)
        .await?;
    let status = response.status.as_u16();
    let handle = caller.data_mut().outbound().insert(response);
    write_bytes(caller, mem, status_ptr, &status.to_le_bytes())?;
    write_bytes(caller, mem, handle_ptr, &handle.to_le_bytes())?;
    Ok(())
}

fn header_get<T: HasOutbound>(
    caller: &mut Caller<'_, T>,
    handle: i32,
    (name_ptr, name_len): (i32, i32),
    (value_ptr, value_len): (i32, i32),
    written_ptr: i32,
) -> AbiResult {
    let mem = memory_of(caller)?;
    let name = read_bytes(caller, mem, name_ptr, name_len)?;
    let name = String::from_utf8(name).map_err(|_| Code::Utf8)?;
    check_writable(caller, mem, written_ptr, 4)?;
    let value = {
        let response = caller.data_mut().outbound().get(handle)?;
        response
            .headers
            .get(name.trim().to_ascii_lowercase().as_str())
            .ok_or(Code::HeaderNotFound)?
            .as_bytes()
            .to_vec()
    };
    write_sized(caller, mem, &value, value_ptr, value_len, written_ptr)
}

fn headers_get_all<T: HasOutbound>(
    caller: &mut Caller<'_, T>,
    handle: i32,
    buf_ptr: i32,
    buf_len: i32,
    written_ptr: i32,
) -> AbiResult {
    let mem = memory_of(caller)?;
    check_writable(caller, mem, written_ptr, 4)?;
    let text = encode_response_headers(&caller.data_mut().outbound().get(handle)?.headers);
    write_sized(caller, mem, &text, buf_ptr, buf_len, written_ptr)
}

/// Writes `bytes` into a guest buffer of `buf_len` and their length at `written_ptr`; when the
/// buffer is too small, writes the needed length and returns code 4 so the guest can grow it.
fn write_sized<T: HasOutbound>(
    caller: &mut Caller<'_, T>,
    mem: wasmtime::Memory,
    bytes: &[u8],
    buf_ptr: i32,
    buf_len: i32,
    written_ptr: i32,
) -> AbiResult {
    let len = u32::try_from(bytes.len()).map_err(|_| Code::RuntimeError)?;
    if bytes.len() > buf_len as u32 as usize {
        write_bytes(caller, mem, written_ptr, &len.to_le_bytes())?;
        return Err(Code::BufferTooSmall);
    }
    check_writable(caller, mem, buf_ptr, buf_len)?;
    write_bytes(caller, mem, buf_ptr, bytes)?;
    write_bytes(caller, mem, written_ptr, &len.to_le_bytes())
}

async fn body_read<T: HasOutbound>(
    caller: &mut Caller<'_, T>,
    handle: i32,
    buf_ptr: i32,
    buf_len: i32,
    written_ptr: i32,
) -> AbiResult {
    let mem = memory_of(caller)?;
    check_writable(caller, mem, buf_ptr, buf_len)?;
    check_writable(caller, mem, written_ptr, 4)?;
    let chunk = caller
        .data_mut()
        .outbound()
        .get_mut(handle)?
        .read(buf_len as u32 as usize)
        .await?;
    write_bytes(caller, mem, buf_ptr, &chunk)?;
    write_bytes(
        caller,
        mem,
        written_ptr,
        &(chunk.len() as u32).to_le_bytes(),
    )
}

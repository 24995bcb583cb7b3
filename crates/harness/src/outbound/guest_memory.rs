//! Bounds-checked access to the calling guest's linear memory.

use wasmtime::{Caller, Extern, Memory};

use super::{AbiResult, Code};

/// The guest's exported `memory`, or code 2.
pub(crate) fn memory_of<T>(caller: &mut Caller<'_, T>) -> AbiResult<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(Code::MemoryNotFound),
    }
}

/// The byte range `[ptr, ptr + len)` as usize indices, or code 3 when it leaves memory.
pub(crate) fn range(mem_len: usize, ptr: i32, len: i32) -> AbiResult<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let len = len as u32 as usize;
    let end = start.checked_add(len).ok_or(Code::MemoryAccess)?;
    if end > mem_len {
        return Err(Code::MemoryAccess);
    }
    Ok(start..end)
}

/// Copies `len` bytes at `ptr` out of guest memory.
pub(crate) fn read_bytes<T: 'static>(
    caller: &Caller<'_, T>,
    mem: Memory,
    ptr: i32,
    len: i32,
) -> AbiResult<Vec<u8>> {
    let data = mem.data(caller);
    let r = range(data.len(), ptr, len)?;
    Ok(data[r].to_vec())
}

/// Writes `bytes` at `ptr`.
pub(crate) fn write_bytes<T: 'static>(
    caller: &mut Caller<'_, T>,
    mem: Memory,
    ptr: i32,
    bytes: &[u8],
) -> AbiResult {
    let data = mem.data_mut(caller);
    let r = range(
        data.len(),
        ptr,
        i32::try_from(bytes.len()).map_err(|_| Code::MemoryAccess)?,
    )?;
    data[r].copy_from_slice(bytes);
    Ok(())
}

/// Checks that `len` bytes at `ptr` can be written, before doing work whose result goes there.
pub(crate) fn check_writable<T: 'static>(
    caller: &Caller<'_, T>,
    mem: Memory,
    ptr: i32,
    len: i32,
) -> AbiResult {
    range(mem.data_size(caller), ptr, len).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_overflow() {
        assert_eq!(range(10, 2, 3), Ok(2..5));
        assert_eq!(range(10, 10, 0), Ok(10..10));
        assert_eq!(range(10, 8, 3), Err(Code::MemoryAccess));
        assert_eq!(range(10, -1, 1), Err(Code::MemoryAccess));
        assert_eq!(range(usize::MAX, -1, -1), Ok(4294967295..8589934590));
        assert_eq!(range(10, 1, -1), Err(Code::MemoryAccess));
    }
}

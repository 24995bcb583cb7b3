//! Telling a core module from a component by the 8-byte preamble of the binary.

/// What a `.wasm` file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmKind {
    /// A core module (`\0asm` version 1): served as a WAGI (CGI) handler. Anything without a
    /// `\0asm` preamble is also treated as a module, so wasmtime compiles WAT text when its
    /// `wat` feature is on, and otherwise says why it cannot.
    Module,
    /// A component (`\0asm` version 0x0d, layer 1): served as a `wasi:http` handler.
    Component,
}

impl WasmKind {
    /// The kind of a file, from its preamble; the error names an unsupported binary version.
    ///
    /// ```
    /// use harness::WasmKind;
    /// assert_eq!(WasmKind::detect(b"\0asm\x01\0\0\0").unwrap(), WasmKind::Module);
    /// assert_eq!(WasmKind::detect(b"\0asm\x0d\0\x01\0").unwrap(), WasmKind::Component);
    /// assert_eq!(WasmKind::detect(b"(module)").unwrap(), WasmKind::Module);
    /// assert!(WasmKind::detect(b"\0asm\x02\0\0\0").is_err());
    /// ```
    pub fn detect(bytes: &[u8]) -> Result<Self, String> {
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Ok(Self::Module),
            Some([0, b'a', b's', b'm', 0x0d, 0, 1, 0]) => Ok(Self::Component),
            Some([0, b'a', b's', b'm', v0, v1, l0, l1]) => Err(format!(
                "is a WebAssembly binary of an unsupported version (version {}, layer {}); \
                 rebuild it for wasm32-wasip1 (a core module) or wasm32-wasip2 (a component)",
                u16::from_le_bytes([*v0, *v1]),
                u16::from_le_bytes([*l0, *l1])
            )),
            _ => Ok(Self::Module),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preambles() {
        assert_eq!(
            WasmKind::detect(b"\0asm\x01\0\0\0rest").unwrap(),
            WasmKind::Module
        );
        assert_eq!(
            WasmKind::detect(b"\0asm\x0d\0\x01\0rest").unwrap(),
            WasmKind::Component
        );
        assert!(WasmKind::detect(b"\0asm\x0e\0\x01\0")
            .unwrap_err()
            .contains("version 14, layer 1"));
        assert_eq!(WasmKind::detect(b"\0asm").unwrap(), WasmKind::Module);
        assert_eq!(WasmKind::detect(b"").unwrap(), WasmKind::Module);
    }
}

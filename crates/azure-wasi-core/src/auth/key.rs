//! HMAC-SHA256 signing with a base64 account key.

use azure_core::error::ErrorKind;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// A decoded account key that signs strings with HMAC-SHA256.
///
/// `Debug` never shows the key, so a `SigningKey` is safe inside logged structures.
///
/// ```
/// use azure_wasi_core::auth::SigningKey;
/// let key = SigningKey::from_base64("c2VjcmV0").unwrap();
/// let signature: String = key.sign("string-to-sign");
/// assert!(!signature.is_empty());
/// ```
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Decodes a base64 account key (as shown in the Azure portal).
    ///
    /// The error never contains the key itself.
    ///
    /// ```
    /// use azure_wasi_core::auth::SigningKey;
    /// assert!(SigningKey::from_base64("not base64!").is_err());
    /// ```
    pub fn from_base64(key: &str) -> azure_core::Result<Self> {
        let bytes = azure_core::base64::decode(key.trim()).map_err(|_| {
            azure_core::Error::with_message(
                ErrorKind::Credential,
                "the account key is not valid base64; copy the key again from the Azure portal \
                 (or use the emulator's documented key)",
            )
        })?;
        if bytes.is_empty() {
            return Err(azure_core::Error::with_message(
                ErrorKind::Credential,
                "the account key is empty; set it to the base64 key from the Azure portal",
            ));
        }
        Ok(Self(bytes))
    }

    /// Uses raw key bytes as they are.
    ///
    /// ```
    /// use azure_wasi_core::auth::SigningKey;
    /// let key = SigningKey::from_bytes(b"raw".to_vec());
    /// assert_eq!(key.sign_bytes(b"x").len(), 32);
    /// ```
    pub fn from_bytes(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// The raw HMAC-SHA256 of `message`.
    ///
    /// ```
    /// use azure_wasi_core::auth::SigningKey;
    /// // RFC 4231, test case 2.
    /// let mac: [u8; 32] = SigningKey::from_bytes(b"Jefe".to_vec()).sign_bytes(b"what do ya want for nothing?");
    /// assert_eq!(mac[..4], [0x5b, 0xdc, 0xc1, 0x46]);
    /// assert_eq!(mac[28..], [0x64, 0xec, 0x38, 0x43]);
    /// ```
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
        };
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// The base64 (standard alphabet, padded) HMAC-SHA256 of `message`.
    ///
    /// ```
    /// use azure_wasi_core::auth::SigningKey;
    /// let sig = SigningKey::from_bytes(b"k".to_vec()).sign("m");
    /// assert!(sig.ends_with('='));
    /// ```
    pub fn sign(&self, message: &str) -> String {
        azure_core::base64::encode(self.sign_bytes(message.as_bytes()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = SigningKey::from_bytes(b"Jefe".to_vec());
        let mac = key.sign_bytes(b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_hides_key() {
        let key = SigningKey::from_base64("c2VjcmV0").unwrap();
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
    }

    #[test]
    fn rejects_bad_and_empty_keys() {
        let err = SigningKey::from_base64("%%%").unwrap_err().to_string();
        assert!(err.contains("not valid base64"), "{err}");
        assert!(!err.contains("%%%"));
        assert!(SigningKey::from_base64("").is_err());
    }
}

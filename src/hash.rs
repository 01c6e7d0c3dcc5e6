//! The one way a SHA-256 digest is written as text: lower-case hexadecimal,
//! as in cache keys, prompt hashes, local model identities and output
//! fingerprints. Those are compared with values written by earlier runs, so
//! they must all keep spelling a digest the same way.
//!
//! A module of its own, depending on nothing in the crate, so that `cache`,
//! `chat`, `models` and `pipeline` can share it without depending on each
//! other.

use std::fmt::Write;

/// `bytes` as two lower-case hexadecimal digits each, in order.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut out, byte| {
            // Writing to a String cannot fail.
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn bytes_become_two_lower_case_digits_each() {
        assert_eq!(to_hex(&[]), "");
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn a_sha256_digest_reads_as_the_usual_64_digits() {
        assert_eq!(
            to_hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

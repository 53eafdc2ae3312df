//! The caller-id pseudonym: `u_` + the first 128 bits of HMAC-SHA256(key, id) in
//! hex. The service writes it as `user.id` (service/src/telemetry/pii.rs) and
//! `oncall logs --user-id` and the stack tests search by it, so all of them compute
//! it here: one same answer for one key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A key, ready to hash many ids (the keyed state is computed once).
#[derive(Clone)]
pub struct Keyed(Hmac<Sha256>);

impl Keyed {
    pub fn new(key: &[u8]) -> Keyed {
        match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(mac) => Keyed(mac),
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        }
    }

    pub fn pseudonym(&self, raw: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(raw.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut text = String::with_capacity(2 + 32);
        text.push_str("u_");
        for byte in &digest[..16] {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        text
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The pseudonym of `raw` under `key`.
pub fn pseudonym(key: &[u8], raw: &str) -> String {
    Keyed::new(key).pseudonym(raw)
}

/// Whether `text` has the shape of a pseudonym.
pub fn is_pseudonym(text: &str) -> bool {
    text.len() == 34
        && text.starts_with("u_")
        && text[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_4231_vector_and_the_shape() {
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let p = pseudonym(b"Jefe", "what do ya want for nothing?");
        assert_eq!(p, "u_5bdcc146bf60754e6a042426089575c7");
        assert!(is_pseudonym(&p));
        assert!(!is_pseudonym("alice"));
        assert_ne!(pseudonym(b"k1", "alice"), pseudonym(b"k2", "alice"));
    }
}

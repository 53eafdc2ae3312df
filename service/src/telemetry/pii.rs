//! PII kept out of telemetry at the source (the Collector's redaction processor
//! is the second line): caller ids become keyed-hash pseudonyms, so one user
//! stays searchable without the raw id being stored, and the free text that
//! reaches logs and spans (the URL path, server error messages) has emails,
//! card numbers, bearer tokens, API keys and secret-looking parameters masked.
//! Request and response bodies and the query string are never recorded at all.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};

use parking_lot::Mutex;
use regex::Regex;
use rustc_hash::FxBuildHasher;

/// What a masked value becomes (the Collector's redaction processor writes the same).
pub const MASK: &str = "****";
/// The environment variable holding the pseudonym key.
pub const KEY_ENV: &str = "ALERTINGSCOUT_PII_KEY";
/// Shorter keys are refused: a guessable key makes pseudonyms reversible by
/// hashing candidate ids.
pub const MIN_KEY_LEN: usize = 16;

/// Pseudonyms seen recently: a caller sends many requests, and a cache hit is
/// far cheaper than the two SHA-256 blocks of an HMAC.
const CACHE_CAP: usize = 4096;

pub struct Pseudonymiser {
    keyed: pseudonym::Keyed,
    cache: Mutex<HashMap<Arc<str>, Arc<str>, FxBuildHasher>>,
}

impl Pseudonymiser {
    pub fn new(key: &[u8]) -> Self {
        Pseudonymiser {
            keyed: pseudonym::Keyed::new(key),
            cache: Mutex::default(),
        }
    }

    /// `u_` and the first 128 bits of HMAC-SHA256(key, id), in hex (the
    /// `pseudonym` crate, which oncall and the tests search with).
    pub fn pseudonym(&self, raw: &str) -> Arc<str> {
        if let Some(known) = self.cache.lock().get(raw) {
            return Arc::clone(known);
        }
        let pseudonym: Arc<str> = Arc::from(self.keyed.pseudonym(raw));
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_CAP {
            cache.clear();
        }
        cache.insert(Arc::from(raw), Arc::clone(&pseudonym));
        pseudonym
    }
}

static PSEUDONYMISER: OnceLock<Pseudonymiser> = OnceLock::new();

/// Where the pseudonym key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    /// None configured: a random key for this process, so pseudonyms change
    /// at every restart (still never the raw id).
    Random,
}

#[derive(Debug, thiserror::Error)]
#[error("{KEY_ENV} must be at least {MIN_KEY_LEN} characters (a random hex string, e.g. `openssl rand -hex 32`)")]
pub struct KeyTooShort;

/// Installs the pseudonym key once per process (later calls keep the first).
pub fn configure(key: Option<&str>) -> Result<KeySource, KeyTooShort> {
    let key = key.map(str::trim).filter(|k| !k.is_empty());
    match key {
        Some(k) if k.len() < MIN_KEY_LEN => Err(KeyTooShort),
        Some(k) => {
            let _ = PSEUDONYMISER.set(Pseudonymiser::new(k.as_bytes()));
            Ok(KeySource::Configured)
        }
        None => {
            let _ = PSEUDONYMISER.get_or_init(random);
            Ok(KeySource::Random)
        }
    }
}

fn random() -> Pseudonymiser {
    let key: [u8; 32] = rand::random();
    Pseudonymiser::new(&key)
}

/// The caller id as telemetry records it.
pub fn pseudonym(raw: &str) -> Arc<str> {
    PSEUDONYMISER.get_or_init(random).pseudonym(raw)
}

struct Pattern {
    regex: Regex,
    replacement: &'static str,
}

fn pattern(regex: &str, replacement: &'static str) -> Pattern {
    Pattern {
        regex: Regex::new(regex).unwrap_or_else(|e| unreachable!("a fixed pattern: {e}")),
        replacement,
    }
}

/// The masked patterns; otel-collector/config.yaml's redaction processor masks
/// the same ones in every attribute (docs/security.md).
static PATTERNS: LazyLock<[Pattern; 5]> = LazyLock::new(|| {
    [
        // name=value pairs whose value is a secret: the name stays, for debugging.
        pattern(
            r"(?i)\b(password|passwd|pwd|secret|token|access_token|api_key|apikey|key)=[^&\s;,]+",
            "${1}=****",
        ),
        // Emails, also with the @ percent-encoded as in a URL path.
        pattern(
            r"(?i)[a-z0-9._%+-]+(?:@|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
            MASK,
        ),
        // Card numbers: 13-19 digits, optionally grouped by single spaces or dashes.
        pattern(r"\b(?:\d[ -]?){12,18}\d\b", MASK),
        pattern(r"(?i)\bbearer(?:\s|%20)+[a-z0-9._~+/=-]+", MASK),
        // Well-known API key shapes (Stripe, AWS access key ids, GitHub, Slack).
        pattern(
            r"\b(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,})",
            MASK,
        ),
    ]
});

/// Whether `text` can hold anything `PATTERNS` masks: one pass over the bytes,
/// so the usual URL path costs no regex at all.
fn suspicious(text: &str) -> bool {
    let mut digits = 0;
    for &b in text.as_bytes() {
        match b {
            b'@' | b'%' | b'=' => return true,
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 13 {
                    return true;
                }
            }
            _ => {}
        }
    }
    // Key shapes and bearer tokens are at least 16 characters long.
    if text.len() < 16 {
        return false;
    }
    ["bearer", "sk_", "pk_", "rk_", "akia", "gh", "xox"]
        .iter()
        .any(|needle| contains_ignore_case(text.as_bytes(), needle.as_bytes()))
}

/// `needle` (lower case) in `haystack`, ASCII case-insensitively, without a copy.
fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `text` holds anything `mask` would change.
pub fn has_pii(text: &str) -> bool {
    matches!(mask(text), Cow::Owned(_))
}

/// `text` with every masked pattern replaced (borrowed when nothing matched).
pub fn mask(text: &str) -> Cow<'_, str> {
    if !suspicious(text) {
        return Cow::Borrowed(text);
    }
    let mut out = Cow::Borrowed(text);
    for p in PATTERNS.iter() {
        if p.regex.is_match(&out) {
            out = Cow::Owned(p.regex.replace_all(&out, p.replacement).into_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_values() {
        let cases = [
            ("/projects/alice@example.com", "/projects/****"),
            (
                "/projects/alice%40example.co.uk/todos",
                "/projects/****/todos",
            ),
            ("/pay/4111111111111111", "/pay/****"),
            ("/pay/4111 1111 1111 1111/x", "/pay/****/x"),
            ("/pay/4111-1111-1111-1111", "/pay/****"),
            ("auth Bearer abc.def-ghi_123", "auth ****"),
            ("/k/sk_live_abcdefgh12345678", "/k/****"),
            ("/k/AKIAABCDEFGHIJKLMNOP", "/k/****"),
            ("/k/ghp_abcdefghijklmnopqrstuvwxyz0123", "/k/****"),
            ("/login;password=hunter2", "/login;password=****"),
            ("x?token=abc&api_key=def", "x?token=****&api_key=****"),
            (
                "database error for bob@example.org: duplicate",
                "database error for ****: duplicate",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(mask(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_values_are_left_alone_and_borrowed() {
        let cases = [
            "/projects/123/todos",
            "/todos/9",
            "/health",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
            "0192f0a4-7c1e-7b3a-9f1d-2b6c8e4a1d3f",
            "2026-12-01T18:11:34.123456789Z",
            "/projects/12345678901234567890",
            "request failed with a server error",
        ];
        for input in cases {
            let out = mask(input);
            assert_eq!(out, input);
            assert!(matches!(out, Cow::Borrowed(_)), "{input} was copied");
        }
    }

    #[test]
    fn control_characters_stay_one_value() {
        // Masking never splits or unescapes; encoders escape these later.
        let text = "/x\r\n{\"level\":\"error\"}\u{1b}[31m";
        assert_eq!(mask(text), text);
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_never_the_raw_id() {
        let a = Pseudonymiser::new(b"0123456789abcdef0123456789abcdef");
        let b = Pseudonymiser::new(b"another key, also long enough");
        let p = a.pseudonym("alice@example.com");
        assert_eq!(p, a.pseudonym("alice@example.com"), "stable (and cached)");
        assert_ne!(p, a.pseudonym("bob@example.com"));
        assert_ne!(p, b.pseudonym("alice@example.com"), "keyed");
        assert!(p.starts_with("u_") && p.len() == 34, "{p}");
        assert!(p[2..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!p.contains("alice"));
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        let rfc = Pseudonymiser::new(b"Jefe").pseudonym("what do ya want for nothing?");
        assert_eq!(&*rfc, "u_5bdcc146bf60754e6a042426089575c7");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let a = Pseudonymiser::new(b"0123456789abcdef");
        for i in 0..(CACHE_CAP + 10) {
            a.pseudonym(&format!("user-{i}"));
        }
        assert!(a.cache.lock().len() <= CACHE_CAP);
        assert_eq!(a.pseudonym("user-1"), a.pseudonym("user-1"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(configure(Some("short")).is_err());
    }
}

//! The message of a caught panic, for the two places that catch one: a handler's
//! (`startup::router`, answered as a 500) and the export thread's sender
//! (`telemetry::export::pipeline`, counted as a failed export).

use std::any::Any;

/// The panic's message when it carried one (`panic!` with a literal or a format).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::panic_message;

    #[test]
    fn literal_and_formatted_messages_are_read_and_others_named() {
        let literal = std::panic::catch_unwind(|| panic!("literal")).expect_err("panicked");
        let formatted =
            std::panic::catch_unwind(|| panic!("formatted {}", 7)).expect_err("panicked");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).expect_err("panicked");
        assert_eq!(panic_message(literal.as_ref()), "literal");
        assert_eq!(panic_message(formatted.as_ref()), "formatted 7");
        assert_eq!(panic_message(other.as_ref()), "a panic without a message");
    }
}

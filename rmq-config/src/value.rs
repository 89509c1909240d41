//! Parsing and printing of individual setting values.

use std::path::PathBuf;
use std::time::Duration;

/// A type a setting can have. `parse_value` returns, on failure, a description of the accepted
/// values, which the error message shows the user.
pub trait ConfigValue: Sized {
    /// Reads the value from its text form.
    fn parse_value(text: &str) -> Result<Self, String>;
    /// The text form, as `-p` prints it and `--help` shows defaults.
    fn render(&self) -> String;
}

/// Integers: the accepted range is part of the error.
macro_rules! integer_values {
    ($($ty:ty),*) => {$(
        impl ConfigValue for $ty {
            fn parse_value(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|_| format!("an integer from {} to {}", <$ty>::MIN, <$ty>::MAX))
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

integer_values!(u16, u32, u64, i32, i64, usize);

impl ConfigValue for bool {
    fn parse_value(text: &str) -> Result<Self, String> {
        // Java would read anything but "true" as false; a typo silently disabling a feature
        // is the trap, so rmq refuses it.
        match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("true or false".to_owned()),
        }
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for String {
    fn parse_value(text: &str) -> Result<Self, String> {
        Ok(text.trim().to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl ConfigValue for PathBuf {
    fn parse_value(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            Err("a file-system path".to_owned())
        } else {
            Ok(PathBuf::from(text))
        }
    }
    fn render(&self) -> String {
        self.display().to_string()
    }
}

/// Durations are written in milliseconds, as every RocketMQ interval key is
/// (`flushIntervalCommitLog=500`, `syncFlushTimeout=5000`, …).
impl ConfigValue for Duration {
    fn parse_value(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| "a whole number of milliseconds".to_owned())
    }
    fn render(&self) -> String {
        self.as_millis().to_string()
    }
}

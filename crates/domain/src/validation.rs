//! Per-field validation errors, collected so a caller can fix every field in one round.

use serde::Serialize;

/// One field that did not pass validation, named by its path in the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// All the fields of one input that did not pass validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} field(s) failed validation", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records the error of a parse under `field` and returns the parsed value, if any.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no error was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// The largest page a list returns.
pub const MAX_PAGE_SIZE: i64 = 200;

/// A list's zero-based page and page size, `default_size` when none is asked for; an
/// out-of-range value is recorded in `errors` under `page` or `size`.
pub fn page_window(
    page: Option<i64>,
    size: Option<i64>,
    default_size: i64,
    errors: &mut ValidationErrors,
) -> (i64, i64) {
    let page = page.unwrap_or(0);
    let size = size.unwrap_or(default_size);
    if !(0..=1_000_000).contains(&page) {
        errors.add("page", "must be between 0 and 1000000");
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        errors.add("size", format!("must be between 1 and {MAX_PAGE_SIZE}"));
    }
    (page, size)
}

/// Trims `raw` and checks it is a single line of 1..=`max` characters without control
/// characters: the shape of every name and title in the product.
pub fn single_line(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must be a single line without control characters".into());
    }
    Ok(value.to_owned())
}

/// Like [`single_line`] but allows line breaks and tabs, for instructions and notes.
pub fn multi_line(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_trims_and_bounds() {
        assert_eq!(single_line("  Acme  ", 10).as_deref(), Ok("Acme"));
        assert!(single_line("   ", 10).is_err());
        assert!(single_line("abcdefghijk", 10).is_err());
        assert!(single_line("a\nb", 10).is_err());
    }

    #[test]
    fn pages_are_bounded() {
        let mut errors = ValidationErrors::default();
        assert_eq!(page_window(None, None, 20, &mut errors), (0, 20));
        assert!(errors.is_empty());
        page_window(Some(-1), Some(MAX_PAGE_SIZE + 1), 20, &mut errors);
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["page", "size"]);
    }

    #[test]
    fn multi_line_keeps_breaks_but_refuses_other_controls() {
        assert!(multi_line("line one\nline two", 100).is_ok());
        assert!(multi_line("bell\u{7}", 100).is_err());
    }
}

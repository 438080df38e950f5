//! Bounded text fields: trimmed, non-control, counted in characters.

use crate::FieldError;

/// Trims `raw` and checks its length in characters; an empty result is `None`.
pub fn optional(field: &str, raw: &str, max: usize) -> Result<Option<String>, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    bounded(field, t, 1, max).map(Some)
}

/// Trims `raw` and requires `min..=max` characters without control characters.
pub fn bounded(field: &str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min {
        return Err(FieldError::new(field, "required", format!("{field} must not be empty")));
    }
    if n > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_counts_characters_not_bytes() {
        assert_eq!(bounded("name", "  Zoë  ", 1, 3).as_deref(), Ok("Zoë"));
        assert_eq!(bounded("name", "Zoëy", 1, 3).unwrap_err().code, "too_long");
        assert_eq!(bounded("name", "   ", 1, 3).unwrap_err().code, "required");
        assert_eq!(optional("x", " ", 3), Ok(None));
        assert_eq!(bounded("x", "a\u{0}b", 1, 9).unwrap_err().code, "invalid_characters");
    }
}

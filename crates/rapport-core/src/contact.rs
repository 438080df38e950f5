//! Contact points: email addresses and phone numbers, parsed and normalized.

use std::str::FromStr;

use crate::FieldError;

/// A syntactically valid email address as entered (trimmed), with its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    raw: String,
    normalized: String,
}

impl Email {
    pub const MAX_LEN: usize = 255;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let t = raw.trim();
        if t.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(field, "too_long", "email must be at most 255 characters"));
        }
        let invalid = || FieldError::new(field, "invalid_email", "email is not a valid address");
        let parsed = email_address::EmailAddress::from_str(t).map_err(|_| invalid())?;
        let domain = parsed.domain();
        // A bare host such as `localhost` is never a customer's address.
        if !domain.contains('.') || domain.starts_with('[') {
            return Err(invalid());
        }
        let ascii_domain = url::Host::parse(domain).map_err(|_| invalid())?.to_string();
        let normalized = format!("{}@{}", parsed.local_part().to_lowercase(), ascii_domain);
        Ok(Self { raw: t.to_string(), normalized })
    }

    /// Rebuilds an address read back from the store, already validated when written.
    pub fn from_stored(raw: String, normalized: String) -> Self {
        Self { raw, normalized }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Lowercase, with the domain in ASCII (IDNA): the form duplicates are found by.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// A phone number as entered, with its E.164 form when it parses for the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    raw: String,
    e164: String,
    verified: bool,
}

impl Phone {
    pub const MAX_LEN: usize = 50;

    /// Parses `raw` with libphonenumber's rules; `region` (ISO 3166 alpha-2) applies to
    /// national numbers. A number that does not parse, or whose length no country uses, is
    /// refused; one that parses but is not assigned in its numbering plan (the fictional
    /// 555 exchange, say) is kept with `verified` false.
    pub fn parse(field: &str, raw: &str, region: &str) -> Result<Self, FieldError> {
        let t = raw.trim();
        if t.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(field, "too_long", "phone must be at most 50 characters"));
        }
        let invalid = || FieldError::new(field, "invalid_phone", "phone is not a valid number for its region");
        let country = phonenumber::country::Id::from_str(region).ok();
        if t.chars().any(|c| c.is_alphabetic()) {
            return Err(invalid());
        }
        // "+44 (0)20 …": the trunk prefix in parentheses is dialled only within the country.
        let cleaned = if t.starts_with('+') { t.replace("(0)", "") } else { t.to_string() };
        let number = phonenumber::parse(country, &cleaned).map_err(|_| invalid())?;
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        let digits = e164.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) {
            return Err(invalid());
        }
        Ok(Self { raw: t.to_string(), e164, verified: number.is_valid() })
    }

    /// Rebuilds a number read back from the store, already validated when written.
    pub fn from_stored(raw: String, e164: String, verified: bool) -> Self {
        Self { raw, e164, verified }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// Whether the number is assigned in its country's numbering plan.
    pub fn verified(&self) -> bool {
        self.verified
    }
}

/// Checks an ISO 3166-1 alpha-2 region code, as used for a tenant's default phone region.
pub fn parse_region(field: &str, raw: &str) -> Result<String, FieldError> {
    let up = raw.trim().to_ascii_uppercase();
    if up.len() == 2 && phonenumber::country::Id::from_str(&up).is_ok() {
        Ok(up)
    } else {
        Err(FieldError::new(field, "invalid_region", "must be an ISO 3166 alpha-2 region code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_normalizes_case_and_idna_domain() {
        let e = Email::parse("email", "  John.Doe@Exämple.COM ").unwrap();
        assert_eq!(e.as_str(), "John.Doe@Exämple.COM");
        assert_eq!(e.normalized(), "john.doe@xn--exmple-cua.com");
    }

    #[test]
    fn email_rejects_garbage() {
        for bad in ["", "john", "john@", "@x.com", "a b@c.com", "john@localhost"] {
            assert_eq!(Email::parse("email", bad).unwrap_err().code, "invalid_email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse("email", &long).unwrap_err().code, "too_long");
    }

    #[test]
    fn phone_formats_of_several_countries_reach_e164() {
        let cases = [
            ("(555) 123-4567", "US", "+15551234567"),
            ("555.123.4567", "US", "+15551234567"),
            ("+1 555 123 4567", "DE", "+15551234567"),
            ("030 1234567", "DE", "+49301234567"),
            ("020 7946 0958", "GB", "+442079460958"),
            ("+44 (0)20-7946-0958", "US", "+442079460958"),
            ("06 12 34 56 78", "FR", "+33612345678"),
        ];
        for (raw, region, want) in cases {
            assert_eq!(Phone::parse("phone", raw, region).unwrap().e164(), want, "{raw}");
        }
    }

    #[test]
    fn phone_rejects_what_does_not_parse() {
        for bad in ["abc", "12", "+999 1"] {
            assert_eq!(Phone::parse("phone", bad, "US").unwrap_err().code, "invalid_phone");
        }
    }
}

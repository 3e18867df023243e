//! The password policy (NIST SP 800-63B): long passphrases welcome, known-bad ones refused.

/// Shortest password accepted.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted; far above any passphrase, low enough to bound hashing work.
pub const MAX_CHARS: usize = 1024;

/// Passwords seen most often in breach corpora, lower-cased; any of these is refused, as is
/// any password made of one of them with digits or punctuation appended.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890",
    "qwertyuiop",
    "password",
    "passw0rd",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome",
    "letmein",
    "trustno1",
    "dragon",
    "monkey",
    "shadow",
    "master",
    "superman",
    "michael",
    "abc123",
    "qwerty",
    "admin",
    "administrator",
    "changeme",
    "secret",
    "starwars",
    "whatever",
    "computer",
    "zaq12wsx",
    "1q2w3e4r5t6y",
    "qazwsxedc",
    "asdfghjkl",
    "access",
    "mustang",
    "correcthorsebatterystaple",
    "casebridge",
    "support",
    "summer",
    "winter",
    "spring",
    "autumn",
    "password1",
    "welcome1",
    "p@ssw0rd",
    "p@ssword",
    "hello",
    "freedom",
    "whatever",
    "ninja",
    "azerty",
    "solo",
    "login",
    "starwars",
    "test",
    "default",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("is too common; choose a longer passphrase")]
    Common,
    #[error("must not contain the account's email name")]
    ContainsAccountName,
}

/// Checks a new password for the account `email`.
pub fn check(password: &str, email: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    let repeated_char = lower.chars().all(|c| lower.starts_with(c));
    if repeated_char || COMMON.contains(&lower.as_str()) || COMMON.contains(&stem) {
        return Err(PasswordError::Common);
    }
    let account = email.split('@').next().unwrap_or_default().to_lowercase();
    if account.len() >= 4 && lower.contains(&account) {
        return Err(PasswordError::ContainsAccountName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passphrases_are_welcome() {
        let passphrase = "correct horse staple battery on a long afternoon walk by the river";
        assert!(passphrase.len() > 64);
        assert_eq!(check(passphrase, "ana@acme.example"), Ok(()));
    }

    #[test]
    fn short_long_common_and_personal_passwords_are_refused() {
        assert_eq!(check("short", "a@b.example"), Err(PasswordError::TooShort));
        assert_eq!(
            check(&"x".repeat(MAX_CHARS + 1), "a@b.example"),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            check("Password2024!", "a@b.example"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check("aaaaaaaaaaaaaa", "a@b.example"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check("ana.silva-rocks-2024", "ana.silva@acme.example"),
            Err(PasswordError::ContainsAccountName)
        );
    }
}

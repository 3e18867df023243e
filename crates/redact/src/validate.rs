//! Exact checks run on candidates only: checksums, parsers and context rules.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A card number: `min_digits` to 19 digits of `text` (separators ignored), not all one,
/// whose Luhn sum holds.
fn card_number(text: &[u8], min_digits: usize) -> bool {
    let digits = digits_of(text);
    (min_digits..=19).contains(&digits.len())
        && digits.iter().any(|d| *d != digits[0])
        && luhn_digits(&digits)
}

/// Whether the Luhn sum of `digits` is a multiple of ten.
fn luhn_digits(digits: &[u32]) -> bool {
    let doubled = |d: u32| if d * 2 > 9 { d * 2 - 9 } else { d * 2 };
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { doubled(d) } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card: Luhn-valid with a known issuer prefix, not all one digit.
pub fn payment_card(text: &[u8]) -> bool {
    let digits: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
    let starts = |prefix: &[u8]| digits.starts_with(prefix);
    let issuer = match digits.first() {
        // Visa; Mastercard 51-55 and 2221-2720; Maestro 50 and 56-58; Discover, UnionPay,
        // Maestro and others under 6.
        Some(b'4' | b'6') => true,
        Some(b'5') => matches!(digits.get(1), Some(b'0'..=b'8')),
        Some(b'2') => matches!(digits.get(1), Some(b'2'..=b'7')) || starts(b"2131"),
        // Amex 34 and 37, Diners 300-305, 309, 36, 38-39, JCB 3528-3589.
        Some(b'3') => match digits.get(1) {
            Some(b'4' | b'6' | b'7' | b'8' | b'9') => true,
            Some(b'0') => matches!(digits.get(2), Some(b'0'..=b'5' | b'9')),
            Some(b'5') => {
                digits.len() >= 4 && (b"28"[..] <= digits[2..4] && digits[2..4] <= b"89"[..])
            }
            _ => false,
        },
        // JCB's fifteen-digit numbers.
        Some(b'1') => starts(b"1800"),
        _ => false,
    };
    issuer && card_number(text, 13)
}

/// A number a card's label names (`card no 501803075628`): twelve to nineteen digits, not
/// all one, whose Luhn sum holds, whatever the issuer.
pub fn labelled_card(text: &[u8]) -> bool {
    card_number(text, 12)
}

/// IBAN: country letters, check digits, and the ISO 13616 mod-97 check.
pub fn iban(text: &[u8]) -> bool {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !(15..=34).contains(&compact.len()) || !compact[..2].iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    let rearranged = compact[4..].iter().chain(&compact[..4]);
    let mut remainder: u32 = 0;
    for &b in rearranged {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// US Social Security Number `AAA-GG-SSSS` with the SSA's never-issued ranges excluded.
pub fn us_ssn(text: &[u8]) -> bool {
    let digits: Vec<u8> = text.iter().copied().filter(u8::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let area = &digits[0..3];
    let group = &digits[3..5];
    let serial = &digits[5..9];
    area != b"000" && area != b"666" && area[0] != b'9' && group != b"00" && serial != b"0000"
}

fn digits_of(text: &[u8]) -> Vec<u32> {
    text.iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| u32::from(b - b'0'))
        .collect()
}

/// Dutch citizen service number (BSN): nine digits passing the "11-proof".
pub fn nl_bsn(text: &[u8]) -> bool {
    let d = digits_of(text);
    if d.len() != 9 || d.iter().all(|x| *x == 0) {
        return false;
    }
    let weighted: i64 = d[..8]
        .iter()
        .enumerate()
        .map(|(i, x)| i64::from(*x) * (9 - i as i64))
        .sum::<i64>()
        - i64::from(d[8]);
    weighted % 11 == 0
}

/// Canadian social insurance number: nine digits passing Luhn, not all zeros.
pub fn ca_sin(text: &[u8]) -> bool {
    let d = digits_of(text);
    d.len() == 9 && d.iter().any(|x| *x != 0) && luhn_digits(&d)
}

/// Indian Aadhaar number: twelve digits, not starting with 0 or 1, Verhoeff check digit.
pub fn in_aadhaar(text: &[u8]) -> bool {
    const D: [[usize; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[usize; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let d = digits_of(text);
    if d.len() != 12 || d[0] < 2 {
        return false;
    }
    let check = d
        .iter()
        .rev()
        .enumerate()
        .fold(0, |c, (i, &x)| D[c][P[i % 8][x as usize]]);
    check == 0
}

/// UK National Insurance number: two letters, six digits, a suffix A–D.
pub fn uk_nino(text: &[u8]) -> bool {
    let compact: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if compact.len() != 9 {
        return false;
    }
    let prefix = &compact[..2];
    let bad_prefix = [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"]
        .iter()
        .any(|p| prefix == &p[..]);
    !bad_prefix && !b"DFIQUV".contains(&prefix[0]) && !b"DFIQUVO".contains(&prefix[1])
}

/// Dotted-quad IPv4, rejecting version-like strings and parts of longer dotted numbers.
pub fn ipv4(text: &[u8], before: Option<u8>, after: &[u8]) -> Option<Ipv4Addr> {
    let s = std::str::from_utf8(text).ok()?;
    if s.split('.')
        .any(|part| part.len() > 1 && part.starts_with('0'))
    {
        return None;
    }
    let address: Ipv4Addr = s.parse().ok()?;
    // "1.2.3.4.5" (an OID or a longer version) is not an address.
    let continues = after.first() == Some(&b'.') && after.get(1).is_some_and(u8::is_ascii_digit);
    let preceded = matches!(before, Some(b'.') | Some(b'v') | Some(b'V'));
    (!continues && !preceded).then_some(address)
}

/// IPv6 in any of its textual forms; a bare `::` is not reported.
pub fn ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    let s = std::str::from_utf8(text).ok()?;
    if s == "::" || !s.contains(':') || s.matches(':').count() < 2 {
        return None;
    }
    let address: Ipv6Addr = s.parse().ok()?;
    // Times such as 12:30:45 do not parse; "::1" and friends do and are real addresses.
    Some(address)
}

/// Shannon entropy in bits per byte.
pub fn entropy(text: &[u8]) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in text {
        counts[usize::from(b)] += 1;
    }
    let n = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// File extensions that look like top-level domains in `name.ext` but are files.
static FILE_EXTENSIONS: WordList = WordList::new(&[
    "yaml",
    "yml",
    "json",
    "xml",
    "log",
    "txt",
    "conf",
    "cfg",
    "ini",
    "properties",
    "java",
    "class",
    "jar",
    "py",
    "rs",
    "go",
    "js",
    "ts",
    "sh",
    "bat",
    "ps1",
    "exe",
    "dll",
    "so",
    "tar",
    "gz",
    "tgz",
    "zip",
    "csv",
    "html",
    "htm",
    "css",
    "md",
    "pdf",
    "png",
    "jpg",
    "gif",
    "sql",
    "db",
    "bak",
    "tmp",
    "pid",
    "sock",
    "service",
    "rpm",
    "deb",
    "toml",
    "lock",
    "out",
    "err",
    "dat",
    "bin",
    "img",
    "iso",
    "key",
    "pem",
    "crt",
    "cer",
    "c",
    "h",
    "cpp",
    "hpp",
    "cc",
    "rb",
    "pl",
    "php",
    "swift",
    "kt",
    "scala",
    "cs",
    "vb",
    "zst",
    "xz",
    "bz2",
    "7z",
    "rar",
    "mp4",
    "mov",
    "sys",
    "cab",
    "msi",
    "pkg",
    "dmg",
    "vmdk",
    "ova",
    "ovf",
    "vhd",
    "qcow2",
]);

/// Top-level domains named like an object's member in code (`.name`, `.id`, `.data`,
/// `.read`), under which a bare name of two labels is code: `err.name`, `evt.data`.
static MEMBER_DOMAINS: WordList = WordList::new(&[
    "build", "call", "channel", "compare", "data", "foo", "id", "link", "map", "name", "now",
    "open", "play", "read", "report", "run", "safe", "save", "search", "shell", "show", "store",
    "stream", "style", "target", "watch",
]);

/// Suffixes used for internal networks, not in the public suffix list but host names all
/// the same.
static INTERNAL_SUFFIXES: WordList = WordList::new(&[
    "local",
    "lan",
    "internal",
    "intranet",
    "corp",
    "home",
    "localdomain",
    "private",
    "int",
]);

/// First labels of reverse-DNS identifiers (Java packages, bundle ids).
static REVERSE_DNS_ROOTS: WordList = WordList::new(&[
    "com", "org", "net", "io", "java", "javax", "edu", "gov", "de", "uk",
]);

/// First labels that make a dotted name a member of an object in code (`self.name`,
/// `this.data` in a traceback's source line), where a generic top-level domain is also a
/// field's name; no host is named so.
static CODE_RECEIVERS: WordList = WordList::new(&["cls", "self", "super", "this"]);

/// Whether `label` is a suffix only internal networks use (`internal`, `local`, `corp`), in
/// any letter case: not `.int` or `.home`, which code writes as members (`op1.int`,
/// `cmd.home`).
pub(crate) fn internal_suffix(label: &[u8]) -> bool {
    NETWORK_SUFFIXES.contains_lowered(label)
}

/// The [`INTERNAL_SUFFIXES`] that name nothing in code.
static NETWORK_SUFFIXES: WordList = WordList::new(&[
    "local",
    "lan",
    "internal",
    "intranet",
    "corp",
    "localdomain",
]);

/// Whether `label` is a file's extension (`log`, `gz`, `yaml`), in any letter case.
pub(crate) fn file_extension(label: &[u8]) -> bool {
    FILE_EXTENSIONS.contains_lowered(label)
}

/// Whether `text` is a host or domain name: at least two labels, ending in a known public
/// suffix or an internal one, not a file name or a Java package.
/// The domain an LDAP distinguished name's `DC=` parts spell, dotted (`acme,DC=corp,DC=com`,
/// the value after the first `DC=`, is `acme.corp.com`), with the separator its parts are
/// written with (`,DC=`, `, dc=`), if `value` is such a run.
pub fn dn_domain(value: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let comma = value.iter().position(|b| *b == b',')?;
    let equals = comma + value[comma..].iter().position(|b| *b == b'=')?;
    let mut domain = Vec::with_capacity(value.len());
    for (i, part) in value.split(|b| *b == b',').enumerate() {
        let label = if i == 0 {
            part
        } else {
            let (key, label) = part.split_at(part.iter().position(|b| *b == b'=')? + 1);
            if !key[..key.len() - 1]
                .trim_ascii()
                .eq_ignore_ascii_case(b"dc")
            {
                return None;
            }
            domain.push(b'.');
            label
        };
        domain.extend_from_slice(label);
    }
    Some((domain, &value[comma..=equals]))
}

pub fn hostname(text: &[u8]) -> bool {
    host_name(text, false)
}

/// Whether `text` is a host or domain name where no file name can stand (an email's
/// domain, a URL's host, a `www.` name): as [`hostname`], but a country's code that is
/// also a file's extension ends a domain (`firma.pl`, `portal.rs`, `shop.md`).
pub fn site_name(text: &[u8]) -> bool {
    host_name(text, true)
}

fn host_name(text: &[u8], site: bool) -> bool {
    // Host names are ASCII; checked without allocating, as this runs on every candidate.
    if text.len() > 253 || !text.is_ascii() {
        return false;
    }
    let mut buffer = [0u8; 253];
    let lower = &mut buffer[..text.len()];
    lower.copy_from_slice(text);
    lower.make_ascii_lowercase();
    let lower: &[u8] = lower;
    let (mut count, mut first, mut last): (usize, &[u8], &[u8]) = (0, b"", b"");
    for label in lower.split(|b| *b == b'.') {
        if label.is_empty() || label.len() > 63 || label.ends_with(b"-") {
            return false;
        }
        if count == 0 {
            first = label;
        }
        last = label;
        count += 1;
    }
    if count < 2 {
        return false;
    }
    if last.iter().all(u8::is_ascii_digit) || (!site && FILE_EXTENSIONS.contains(last)) {
        return false;
    }
    // `err.name`, `node.id`, `options.safe`, `fs.read`: an object's member in code or in
    // its docs, under a top-level domain named like one. Such a site is written in a URL,
    // after `www.` or in an address, or has a host before it (`jane.doe.name`).
    if !site && count == 2 && MEMBER_DOMAINS.contains(last) {
        return false;
    }
    if !site && CODE_RECEIVERS.contains(first) {
        return false;
    }
    // Java's own properties (`System.getProperty("user.home")`), under the internal `.home`.
    if !site && count == 2 && last == b"home" && (first == b"user" || first == b"java") {
        return false;
    }
    let package_root = count >= 3 && REVERSE_DNS_ROOTS.contains(first);
    if package_root && !psl_known(lower) {
        return false;
    }
    if package_root && REVERSE_DNS_ROOTS.contains(last) {
        // com.acme.app.io reads as a package; acme.app.io would not start with a root.
        return false;
    }
    if INTERNAL_SUFFIXES.contains(last) {
        return true;
    }
    psl_known(lower)
}

/// A fixed list of short ASCII words, each compared as one integer: a candidate checked
/// against it costs a binary search over numbers, no byte-by-byte comparison.
pub(crate) struct WordList {
    words: &'static [&'static str],
    /// Other lists whose words this one holds too: a word checked against many lists
    /// costs one search.
    also: &'static [&'static WordList],
    packed: std::sync::OnceLock<Vec<u128>>,
}

impl WordList {
    /// The longest word a list may hold.
    pub(crate) const MAX_LEN: usize = 15;

    pub(crate) const fn new(words: &'static [&'static str]) -> Self {
        Self::union(words, &[])
    }

    /// A list of `words` and of the words of the lists `also` (their own: a union of
    /// unions is not flattened).
    pub(crate) const fn union(
        words: &'static [&'static str],
        also: &'static [&'static WordList],
    ) -> Self {
        Self {
            words,
            also,
            packed: std::sync::OnceLock::new(),
        }
    }

    /// A word of at most [`Self::MAX_LEN`] bytes as one number (its length in the top byte,
    /// so no two words share one).
    fn pack(word: &[u8]) -> Option<u128> {
        Self::pack_as(word, |b| b)
    }

    /// [`Self::pack`] of `word` with each byte mapped by `map`, in one pass: a word is
    /// checked on every candidate, and copying it to lower case first, then again into the
    /// number, cost two calls to `memcpy` each time (twice the time, measured).
    fn pack_as(word: &[u8], map: impl Fn(u8) -> u8) -> Option<u128> {
        if word.len() > Self::MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (to, &b) in bytes.iter_mut().zip(word) {
            *to = map(b);
        }
        bytes[15] = word.len() as u8;
        Some(u128::from_le_bytes(bytes))
    }

    /// Whether the list holds `word` in ASCII lower case (the lists are lower case).
    pub(crate) fn contains_lowered(&self, word: &[u8]) -> bool {
        Self::pack_as(word, |b| b.to_ascii_lowercase()).is_some_and(|key| self.holds(key))
    }

    pub(crate) fn contains(&self, word: &[u8]) -> bool {
        Self::pack(word).is_some_and(|key| self.holds(key))
    }

    fn holds(&self, key: u128) -> bool {
        self.packed
            .get_or_init(|| {
                let lists = std::iter::once(self.words).chain(self.also.iter().map(|l| l.words));
                let mut packed: Vec<u128> = lists
                    .flatten()
                    .filter_map(|w| Self::pack(w.as_bytes()))
                    .collect();
                packed.sort_unstable();
                packed
            })
            .binary_search(&key)
            .is_ok()
    }

    #[cfg(test)]
    pub(crate) fn words(&self) -> &'static [&'static str] {
        self.words
    }
}

/// Whether `domain` ends in a known public suffix with a label before it.
fn psl_known(domain: &[u8]) -> bool {
    psl::domain(domain).is_some_and(|d| d.suffix().is_known())
}

/// A telephone number: 7 to 15 digits with phone-like separators, not a date, time or
/// version number.
pub fn phone(text: &[u8]) -> bool {
    let digits = text.iter().filter(|b| b.is_ascii_digit()).count();
    if !(7..=15).contains(&digits) {
        return false;
    }
    let s = crate::text_of(text);
    let international = s.starts_with('+');
    let separators = text
        .iter()
        .filter(|b| matches!(b, b' ' | b'-' | b'(' | b')'))
        .count();
    let dots = text.iter().filter(|b| **b == b'.').count();
    // France's pairs are a number; other dotted digits are addresses and versions
    // (`10.20.30.40`, `4.12.1203`).
    let french = french_pairs(text);
    if dots > 0 && separators == 0 && !international && !french {
        return false;
    }
    !dated(&s)
        && (international || french || separators >= 1 || s.starts_with('('))
        && (international || !number_data(&s))
}

/// Numbers a national telephone's shape also fits that are data: groups all alike
/// (`105 105 105`, a dump's `00 00 00 00 00`), a colour's three channels (`30 144 255`:
/// no group above 255 or with a trunk zero), or five pairs or more without France's trunk
/// zero (a dump's bytes, `20 74 65 73 74`; Nordic numbers are four pairs).
fn number_data(s: &str) -> bool {
    let groups: Vec<&str> = digit_groups(s).collect();
    let spaced = s
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b' ' || b == b'\t');
    let alike = groups.len() >= 3 && groups.iter().all(|g| *g == groups[0]);
    let channel = |g: &&str| g.len() <= 3 && (g.len() == 1 || !g.starts_with('0'));
    let channels = groups.len() == 3
        && groups
            .iter()
            .all(|g| channel(g) && g.parse::<u16>().is_ok_and(|n| n <= 255));
    let pairs = groups.len() >= 5
        && groups.iter().all(|g| g.len() == 2)
        && !(groups[0].starts_with('0') && groups[0] != "00");
    alike || (spaced && (channels || pairs))
}

/// A US ZIP+4 code after its state's abbreviation (`Boston, MA 02110-1301`, the GNU
/// licences' address): a telephone's shape, but a postal code.
pub fn zip_code(before: &[u8], value: &[u8]) -> bool {
    let zip = value.len() == 10
        && value[5] == b'-'
        && value
            .iter()
            .enumerate()
            .all(|(i, b)| i == 5 || b.is_ascii_digit());
    let state = before.trim_ascii_end();
    zip && state.len() < before.len()
        && state.len() >= 2
        && state[state.len() - 2..].iter().all(u8::is_ascii_uppercase)
        && state
            .len()
            .checked_sub(3)
            .is_none_or(|i| !state[i].is_ascii_alphanumeric())
}

/// France's national number in dotted pairs after a trunk zero: `05.53.18.69.64`.
fn french_pairs(text: &[u8]) -> bool {
    text.len() == 14
        && text[0] == b'0'
        && text[1] != b'0'
        && text.iter().enumerate().all(|(i, b)| {
            if i % 3 == 2 {
                *b == b'.'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// A number after a telephone's label (`Phone:`, `Mobile:`, `call me on`): the label
/// says what it is, so any grouping is taken (`96 771394`, `04.94.38.88.56`,
/// `07700070518`, `61 60 57`), but not a short code (`SMS: 123456`), a version, an IPv4
/// address or a date.
pub fn labelled_phone(text: &[u8]) -> bool {
    let s = crate::text_of(text);
    let groups: Vec<&str> = digit_groups(&s).collect();
    let digits: usize = groups.iter().map(|g| g.len()).sum();
    // Six digits only as three groups or more, as a short national number is written.
    let long_enough = (7..=15).contains(&digits) || (digits == 6 && groups.len() >= 3);
    // Dots alone: pairs and longer groups (`04.94.38.88.56`), not a version
    // (`4.12.1203`) or an address (`10.20.30.40`).
    let dotted = groups.len() > 1 && text.iter().all(|b| b.is_ascii_digit() || *b == b'.');
    let version_or_address = dotted
        && (groups.iter().any(|g| g.len() < 2)
            || (groups.len() == 4 && groups.iter().all(|g| g.len() <= 3)));
    long_enough && !version_or_address && !dated(&s)
}

fn digit_groups(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
}

/// A date or a timestamp that starts with one (year, month and day: `2024-01-31`,
/// `2024 01 31 10`), a range of years (`1996-2019`) or an ordinal date (`2022-049`): no
/// telephone number.
fn dated(s: &str) -> bool {
    let groups: Vec<&str> = digit_groups(s).collect();
    let year = |g: &str| g.len() == 4 && (g.starts_with("19") || g.starts_with("20"));
    // Two digits from 1 to `last` (a month, a day), not Belgium's `0477 82 93 97`.
    let up_to =
        |g: &str, last: u32| g.len() == 2 && g.parse().is_ok_and(|n| (1..=last).contains(&n));
    if let [y, m, d, ..] = groups[..] {
        if year(y) && up_to(m, 12) && up_to(d, 31) {
            return true;
        }
    }
    if let [first, second] = groups[..] {
        let day = second.len() == 3 && second.parse::<u32>().is_ok_and(|d| (1..=366).contains(&d));
        // Only the two groups and a hyphen between them.
        let hyphen_only =
            s.len() == first.len() + 1 + second.len() && s.as_bytes()[first.len()] == b'-';
        if hyphen_only && year(first) && ((year(second) && second >= first) || day) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_list_holds_its_words_whole_and_in_either_case_when_lowered() {
        static LIST: WordList = WordList::new(&["dear", "mx", "fifteen-letters"]);
        for word in ["dear", "mx", "fifteen-letters"] {
            assert!(LIST.contains(word.as_bytes()), "{word}");
        }
        for word in ["Dear", "DEAR", "MX", "Fifteen-Letters"] {
            assert!(!LIST.contains(word.as_bytes()), "{word}");
            assert!(LIST.contains_lowered(word.as_bytes()), "{word}");
        }
        // Not a word's start or end, nor a longer word (a NUL after it too), nor one too
        // long to pack, even where its length would wrap around to a listed word's.
        let wraps = format!("fifteen-letters{}", "x".repeat(256));
        for word in [
            "",
            "dea",
            "ear",
            "dears",
            "m",
            "mx\0",
            "fifteen-letterss",
            &wraps,
        ] {
            assert!(!LIST.contains(word.as_bytes()), "{word}");
            assert!(!LIST.contains_lowered(word.as_bytes()), "{word}");
        }
    }

    #[test]
    fn word_lists_hold_only_words_they_can_find() {
        for list in [&FILE_EXTENSIONS, &INTERNAL_SUFFIXES, &REVERSE_DNS_ROOTS] {
            for word in list.words() {
                assert!(word.len() <= WordList::MAX_LEN, "{word}");
                assert!(list.contains(word.as_bytes()), "{word}");
                assert!(!list.contains(format!("{word}~").as_bytes()), "{word}~");
            }
        }
        assert!(!FILE_EXTENSIONS.contains(b"a-word-longer-than-fifteen"));
    }

    #[test]
    fn cards_pass_luhn_and_issuer_checks() {
        assert!(payment_card(b"4111 1111 1111 1111"));
        assert!(payment_card(b"5500-0000-0000-0004"));
        assert!(payment_card(b"378282246310005"));
        // Diners, JCB (sixteen and fifteen digits), Maestro.
        assert!(payment_card(b"30569309025904"));
        assert!(payment_card(b"3530111333300000"));
        assert!(payment_card(b"180092617964050"));
        assert!(payment_card(b"5893804115457289"));
        assert!(!payment_card(b"3071111111111111"), "no issuer starts 307");
        assert!(!payment_card(b"3512111111111118"), "JCB starts at 3528");
        assert!(!payment_card(b"4111 1111 1111 1112"), "Luhn");
        assert!(!payment_card(b"1234567812345670"), "issuer");
        assert!(!payment_card(b"0000000000000000"));
    }

    #[test]
    fn ibans_pass_mod_97() {
        assert!(iban(b"GB82 WEST 1234 5698 7654 32"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(!iban(b"GB82 WEST 1234 5698 7654 33"));
        assert!(!iban(b"XX00"));
    }

    #[test]
    fn ssns_exclude_never_issued_ranges() {
        assert!(us_ssn(b"536-90-4399"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!us_ssn(bad.as_bytes()), "{bad}");
        }
        assert!(uk_nino(b"AB123456C"));
        assert!(nl_bsn(b"111222333") && !nl_bsn(b"111222334") && !nl_bsn(b"000000000"));
        assert!(ca_sin(b"046 454 286") && !ca_sin(b"046 454 287") && !ca_sin(b"000 000 000"));
        assert!(
            in_aadhaar(b"2341 2341 2346")
                && !in_aadhaar(b"2341 2341 2347")
                && !in_aadhaar(b"1341 2341 2346")
        );
        assert!(!uk_nino(b"GB123456A"));
    }

    #[test]
    fn ipv4_is_parsed_not_guessed() {
        assert!(ipv4(b"10.1.2.3", None, b" ").is_some());
        assert!(ipv4(b"10.1.2.350", None, b"").is_none());
        assert!(ipv4(b"1.3.6.1", None, b".4.1").is_none(), "an OID");
        assert!(ipv4(b"1.2.3.4", Some(b'v'), b"").is_none(), "a version");
        assert!(ipv4(b"010.1.2.3", None, b"").is_none());
    }

    #[test]
    fn ipv6_forms_parse_and_bare_colons_do_not() {
        assert!(ipv6(b"2001:db8::1").is_some());
        assert!(ipv6(b"fe80::1ff:fe23:4567:890a").is_some());
        assert!(ipv6(b"::ffff:192.0.2.1").is_some());
        assert!(ipv6(b"::").is_none());
        assert!(ipv6(b"12:30:45").is_none());
        assert!(ipv6(b"de:ad").is_none());
    }

    #[test]
    fn host_names_are_public_suffix_aware() {
        for good in [
            "db1.corp.acme.com",
            "acme.co.uk",
            "web01.prod.local",
            "api.example.org",
            "x.io",
        ] {
            assert!(hostname(good.as_bytes()), "{good}");
        }
        for bad in [
            "config.yaml",
            "app.log",
            "org.apache.commons.io",
            "com.acme.util.Helper",
            "1.2.3",
            "readme.md",
            "foo.notatld",
            // Members in code, under generic top-level domains (`.name`, `.data`, `.id`).
            "self.name",
            "this.data",
            "Self.id",
            "super.registry.storage",
        ] {
            assert!(!hostname(bad.as_bytes()), "{bad}");
        }
        // Hosts under those domains, and a site whose first label is one of those words.
        assert!(hostname(b"jane.doe.name") && hostname(b"db1.sensor.data"));
        // Two labels under a domain named like a member are code, but where only a site
        // can stand.
        assert!(!hostname(b"sensor.data") && site_name(b"sensor.data"));
        assert!(site_name(b"this.org"));
        // Where no file name can stand, a country's code ends a domain whatever else it is.
        for site in ["firma.pl", "portal.gov.rs", "shop.md", "www.acme.sh"] {
            assert!(
                !hostname(site.as_bytes()) && site_name(site.as_bytes()),
                "{site}"
            );
        }
        for bad in ["icon@2x.png", "app.log", "foo.notatld", "1.2.3"] {
            assert!(!site_name(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn phones_are_not_dates_or_versions() {
        for good in [
            "+1 555 010 0199",
            "(555) 010-0199",
            "+44 20 7946 0958",
            "030-1234567",
            "05.53.18.69.64",
        ] {
            assert!(phone(good.as_bytes()), "{good}");
        }
        for bad in [
            "2024-01-31 10",
            "1.2.3.4567",
            "12345",
            "20240131103000",
            // Dotted digits other than France's pairs.
            "05..53..18..69",
            "00.53.18.69.64",
            "15.53.18.69.64",
            "05.531.8.69.64",
            // Data a national number's shape fits: groups all alike, a colour's
            // channels, a dump's bytes.
            "105 105 105",
            "00 00 00 00 00",
            "61-61-61-61",
            "30 144 255",
            "0 128 255",
            "20 74 65 73 74",
            "12 34 56 78 90",
        ] {
            assert!(!phone(bad.as_bytes()), "{bad}");
        }
        // Shapes close to those that are numbers: a trunk zero or a group above 255 in
        // three groups, France's spaced pairs, four pairs (Norway, Denmark), an
        // international number whatever its groups.
        for good in [
            "030 144 255",
            "612 345 678",
            "105 105 1050",
            "01 23 45 67 89",
            "88 13 70 17",
            "+44 44 44 44 44",
            "30-144-255",
            "20-74-65-73-74",
            "+1 205 105 105",
        ] {
            assert!(phone(good.as_bytes()), "{good}");
        }
    }

    #[test]
    fn a_zip_code_after_its_state_is_no_telephone() {
        let zip = |before: &str, value: &str| zip_code(before.as_bytes(), value.as_bytes());
        assert!(zip("Boston, MA ", "02110-1301"));
        assert!(zip("MA  ", "02110-1301"));
        assert!(zip("Suite 200\nCA\t", "94105-1234"));
        // No state before it, a word ending in capitals, no space, another shape.
        assert!(!zip("call ", "02110-1301"));
        assert!(!zip("office UMA ", "02110-1301"));
        assert!(!zip("MA", "02110-1301"));
        assert!(!zip("MA ", "0211-01301"));
        assert!(!zip("MA ", "02110 1301"));
    }

    #[test]
    fn entropy_separates_keys_from_words() {
        assert!(entropy(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0);
        assert!(entropy(b"aaaaaaaaaaaaaaaa") < 1.0);
    }
}

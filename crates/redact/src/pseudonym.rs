//! Stable, keyed pseudonyms that keep the structure of what they replace.

use std::net::{Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::detect::Kind;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Derives every pseudonym from one secret key: the same value always gets the same
/// replacement, whatever order values are met in, and nobody without the key can link a
/// pseudonym back to its value.
#[derive(Clone)]
pub struct Pseudonymizer {
    /// HMAC with the key already absorbed: each derivation clones it.
    keyed: HmacSha256,
    /// The state of SHA-256 after one 64-byte block holding a subkey derived from the key:
    /// a keyed function of short inputs, one compression each where HMAC takes two, for
    /// the per-byte tables of addresses and the rounds of the numbers' permutation. Each
    /// input starts with its purpose and has that purpose's one length, so none is the
    /// start of another.
    keyed_block: [u32; 8],
    /// Tells this pseudonymizer's cached address prefixes from another's.
    id: u64,
}

/// Hex digits of a name's, user's or host label's tag: 40 bits, so that two of even a
/// hundred thousand distinct values share one with a chance under 1 % (six digits, 24
/// bits, gave two of five thousand users one pseudonym as likely as not).
const TAG_CHARS: usize = 10;

/// How many address-prefix tables each thread keeps: one per slot, the slot chosen by the
/// table's key, a table replaced by the next whose key falls in its slot. 256 KiB, within
/// a core's own cache, where each lookup that went to memory was a stall.
const PREFIX_SLOTS: usize = 1 << 12;

/// The key of one cached prefix table: pseudonymizer, address width, prefix bits, prefix.
type PrefixKey = (u64, u32, u32, u128);

/// A cached table and its key, in one cache line; empty while its width is 0 (no address
/// is 0 bits wide).
#[derive(Clone, Copy)]
#[repr(align(64))]
struct PrefixSlot {
    key: PrefixKey,
    table: [u8; 32],
}

thread_local! {
    /// Prefix-preserving addresses derive one table per byte, and addresses share their
    /// leading bytes (`10.`, `10.1.`, a site's /48): each thread remembers the tables of
    /// the first half of the addresses it met, so only the host half costs derivations.
    /// A fixed number of slots: a shared table pushed out by a subnet met once (a random
    /// client's /64) comes back at its next use, where a map that started over when full
    /// forgot every table at once. A forgotten table is derived again, identically.
    static PREFIXES: std::cell::RefCell<Vec<PrefixSlot>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The slot of `key`'s table: the prefix, its length and the width mixed by multiplication,
/// the top bits kept. Not the pseudonymizer: where one thread serves several keys, a
/// prefix's slot is the same for each, and one key's tables never depend on another's.
fn prefix_slot((_, width, bits, prefix): PrefixKey) -> usize {
    let mixed = (prefix as u64 ^ (prefix >> 64) as u64)
        .wrapping_add(u64::from(width) << 8 | u64::from(bits))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - PREFIX_SLOTS.trailing_zeros())) as usize
}

/// The block [`Pseudonymizer::keyed_block`] starts from: a subkey derived from the key by
/// HMAC, then zeros.
fn subkey_block(keyed: &HmacSha256) -> [u8; 64] {
    let mut mac = keyed.clone();
    mac.update(b"keyed block");
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&mac.finalize().into_bytes());
    block
}

impl Pseudonymizer {
    pub fn new(key: [u8; 32]) -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let keyed = <HmacSha256 as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut keyed_block = SHA256_INITIAL;
        sha2::compress256(&mut keyed_block, &[subkey_block(&keyed).into()]);
        Self {
            keyed,
            keyed_block,
            id,
        }
    }

    /// The keyed function of a fixed-length input (see [`Pseudonymizer::keyed_block`]):
    /// SHA-256 of the subkey's block and `input`, its one last block padded here and
    /// compressed from the state after the first, with nothing else to copy or buffer.
    fn keyed_block(&self, input: &[u8]) -> [u8; 32] {
        // Padding: a one bit, zeros, and the message's length in bits in the last 8 bytes.
        assert!(
            input.len() < 56,
            "a keyed block's input fits its last block"
        );
        let mut block = [0u8; 64];
        block[..input.len()].copy_from_slice(input);
        block[input.len()] = 0x80;
        let bits = (64 + input.len() as u64) * 8;
        block[56..].copy_from_slice(&bits.to_be_bytes());
        let mut state = self.keyed_block;
        sha2::compress256(&mut state, &[block.into()]);
        let mut digest = [0u8; 32];
        for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }

    fn prf(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// Appends the first `chars` hex digits of the value's keyed hash.
    fn push_tag(&self, out: &mut String, domain: &str, value: &[u8], chars: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.prf(domain, value);
        for i in 0..chars.min(64) {
            let byte = digest[i / 2];
            let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0xf };
            out.push(char::from(HEX[usize::from(nibble)]));
        }
    }

    /// The pseudonym of `value`, found as `kind`.
    pub fn pseudonym(&self, kind: Kind, value: &[u8]) -> String {
        let mut out = String::with_capacity(value.len() + 16);
        self.pseudonym_into(kind, value, &mut out);
        out
    }

    /// Appends the pseudonym of `value`, found as `kind`, to `out` (no allocation of its
    /// own for values of ordinary length).
    pub fn pseudonym_into(&self, kind: Kind, value: &[u8], out: &mut String) {
        use std::fmt::Write;
        let text = crate::text_of(value);
        match kind {
            Kind::Email => self.push_email(out, &text),
            Kind::Hostname if text.contains('=') => self.push_dn_domain(out, value),
            Kind::Hostname if !text.contains('.') => self.push_label(out, text.as_bytes()),
            Kind::Hostname => self.push_hostname(out, &text),
            Kind::Ipv4 | Kind::Ipv6 => {
                // A network (`10.20.0.0/16`) is a network's address in its pseudonym too:
                // the prefix as its addresses' prefix, the host's bits still zero. A host's
                // address with its network's length (`10.20.31.7/16`) stays the host's.
                let (address, length) = match text.split_once('/') {
                    Some((address, length)) => (address, length.parse::<u32>().ok()),
                    None => (text.as_ref(), None),
                };
                match address.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(ip)) => {
                        let kept = network_mask(u32::from(ip).into(), 32, length);
                        let bits = u128::from(u32::from(self.ipv4(ip))) & kept;
                        push_ipv4(out, (bits as u32).into());
                    }
                    Ok(std::net::IpAddr::V6(ip)) => {
                        let kept = network_mask(ip.into(), 128, length);
                        push_ipv6(out, (u128::from(self.ipv6(ip)) & kept).into());
                    }
                    Err(_) => self.push_opaque(out, "ip", value),
                }
                if let Some(length) = length {
                    let _ = write!(out, "/{length}");
                }
            }
            Kind::MacAddress => self.push_mac(out, value),
            Kind::PaymentCard
            | Kind::Iban
            | Kind::UsSsn
            | Kind::UkNino
            | Kind::NlBsn
            | Kind::CaSin
            | Kind::InAadhaar
            | Kind::Passport
            | Kind::DriverLicense
            | Kind::AccountNumber
            | Kind::DateOfBirth
            | Kind::Phone => self.push_same_shape(out, kind.name(), value),
            Kind::PersonName => {
                out.push_str("Person-");
                self.push_tag(out, "name", value, TAG_CHARS);
            }
            Kind::Username => {
                out.push_str("user-");
                self.push_tag(out, "user", value, TAG_CHARS);
            }
            Kind::Custom(i) => {
                let _ = write!(out, "REDACTED-{i}-");
                self.push_tag(out, "custom", value, 8);
            }
            _ => {
                out.push_str("SECRET-");
                self.push_tag(out, "secret", value, 10);
            }
        }
    }

    fn push_opaque(&self, out: &mut String, domain: &str, value: &[u8]) {
        out.push_str(domain);
        out.push('-');
        self.push_tag(out, domain, value, 8);
    }

    /// Local part replaced, domain mapped like a host name.
    fn push_email(&self, out: &mut String, email: &str) {
        // In a URL the `@` may be encoded (`jdoe%40acme.com`), and stays so.
        let (local, at, domain) = match email.rsplit_once('@') {
            Some((local, domain)) => (local, "@", domain),
            None => match email.rsplit_once("%40") {
                Some((local, domain)) => (local, "%40", domain),
                None => (email, "@", "example.com"),
            },
        };
        out.push_str("user-");
        with_lower(local.as_bytes(), |local| {
            self.push_tag(out, "user", local, TAG_CHARS)
        });
        out.push_str(at);
        self.push_hostname(out, domain);
    }

    /// Label by label, so that hosts in one domain stay in one domain; a public suffix
    /// becomes a tagged label of its own on `.example` (reserved, never a real host), so
    /// that sites told apart by it alone (`acme.com`, `acme.org`, `acme.co.uk`) stay apart;
    /// an internal suffix stays.
    pub fn hostname(&self, host: &str) -> String {
        let mut out = String::with_capacity(host.len() + 16);
        self.push_hostname(&mut out, host);
        out
    }

    fn push_hostname(&self, out: &mut String, host: &str) {
        with_lower(host.as_bytes(), |lower| {
            let known = psl::suffix(lower)
                .filter(|s| s.is_known())
                .map(|s| s.as_bytes().len());
            let suffix_len =
                known.unwrap_or_else(|| lower.rsplit(|b| *b == b'.').next().map_or(0, <[u8]>::len));
            let (labels, suffix) = lower.split_at(lower.len().saturating_sub(suffix_len));
            for label in labels.split(|b| *b == b'.').filter(|l| !l.is_empty()) {
                self.push_label(out, label);
                out.push('.');
            }
            if known.is_some() {
                // `s`, not `h`: no host label's pseudonym reads as a suffix's, so
                // `acme.com` and a name under an unlisted `.example` never meet.
                out.push('s');
                self.push_tag(out, "suffix", suffix, TAG_CHARS);
                out.push_str(".example");
            } else {
                // Lower-casing ASCII and cutting at a dot keep the text UTF-8.
                out.push_str(&String::from_utf8_lossy(suffix));
            }
        });
    }

    /// A distinguished name's `DC=` parts (`corp,DC=acme,DC=com`, after the first `DC=`):
    /// the dotted domain's pseudonym, its labels joined as the value joins its own.
    fn push_dn_domain(&self, out: &mut String, value: &[u8]) {
        let Some((domain, separator)) = crate::validate::dn_domain(value) else {
            return self.push_opaque(out, "dn", value);
        };
        let mut host = String::new();
        self.push_hostname(&mut host, &crate::text_of(&domain));
        let separator = crate::text_of(separator);
        for (i, label) in host.split('.').enumerate() {
            if i > 0 {
                out.push_str(&separator);
            }
            out.push_str(label);
        }
    }

    /// One host name label; a bare short name seen alone maps the same way.
    pub fn label(&self, label: &str) -> String {
        let mut out = String::with_capacity(7);
        self.push_label(&mut out, label.as_bytes());
        out
    }

    fn push_label(&self, out: &mut String, label: &[u8]) {
        out.push('h');
        with_lower(label, |label| self.push_tag(out, "label", label, TAG_CHARS));
    }

    /// Prefix-preserving: two addresses sharing their first n bits still do. Private,
    /// shared and link-local ranges keep their prefix so an engineer still sees them as
    /// such; loopback and the unspecified address stay unchanged.
    pub fn ipv4(&self, ip: Ipv4Addr) -> Ipv4Addr {
        let bits = u32::from(ip);
        if ip.is_loopback() || ip.is_unspecified() || ip.is_broadcast() {
            return ip;
        }
        let keep = match ip.octets() {
            [10, ..] => 8,
            [172, b, ..] if (16..32).contains(&b) => 12,
            [192, 168, ..] => 16,
            [169, 254, ..] => 16,
            [100, b, ..] if (64..128).contains(&b) => 10,
            _ => 0,
        };
        Ipv4Addr::from(self.permute_prefix("ipv4", u128::from(bits), 32, keep) as u32)
    }

    pub fn ipv6(&self, ip: Ipv6Addr) -> Ipv6Addr {
        if ip.is_loopback() || ip.is_unspecified() {
            return ip;
        }
        if let Some(v4) = ip.to_ipv4_mapped() {
            return self.ipv4(v4).to_ipv6_mapped();
        }
        let segments = ip.segments();
        let keep = if segments[0] & 0xffc0 == 0xfe80 {
            10
        } else if segments[0] & 0xfe00 == 0xfc00 {
            7
        } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
            32
        } else {
            0
        };
        Ipv6Addr::from(self.permute_prefix("ipv6", u128::from(ip), 128, keep))
    }

    /// Crypto-PAn's construction with HMAC as the pseudo-random function: bit i of the
    /// output is bit i of the input flipped by a function of the i bits before it. One
    /// HMAC per byte: keyed by the whole bytes before it, its 255 first bits form a table
    /// indexed by the bits of the current byte that precede bit i.
    fn permute_prefix(&self, domain: &str, value: u128, width: u32, keep: u32) -> u128 {
        let mut flips = 0u128;
        let mut i = keep;
        while i < width {
            // The byte holding bit i (the last one may be short), as a number of `len`
            // bits, and the bits before it.
            let within = i % 8;
            let byte_start = i - within;
            let byte_end = (byte_start + 8).min(width);
            let len = byte_end - byte_start;
            let prefix = value.checked_shr(width - byte_start).unwrap_or(0);
            let table = self.prefix_table(domain, width, prefix, byte_start);
            let byte = (value >> (width - byte_end)) as u32 & ((1 << len) - 1);
            let mut byte_flips = 0u32;
            for j in within..len {
                // Bit j's entry: after the 2^j - 1 entries of the bits before it, the
                // one its own j preceding bits pick.
                let index = (1usize << j) - 1 + (byte >> (len - j)) as usize;
                let flip = u32::from(table[index / 8] >> (index % 8) & 1);
                byte_flips |= flip << (len - 1 - j);
            }
            flips |= u128::from(byte_flips) << (width - byte_end);
            i = byte_end;
        }
        value ^ flips
    }

    /// The table that flips the bits of the byte after the first `prefix_bits` bits
    /// (`prefix`) of an address `width` bits wide.
    fn prefix_table(&self, domain: &str, width: u32, prefix: u128, prefix_bits: u32) -> [u8; 32] {
        let derive = || {
            // Purpose 1: an address table. The domain is a short name (`ipv4`, `mac`).
            let mut input = [0u8; 26];
            input[0] = 1;
            let name = &domain.as_bytes()[..domain.len().min(8)];
            input[1..1 + name.len()].copy_from_slice(name);
            input[9..25].copy_from_slice(&prefix.to_be_bytes());
            input[25] = prefix_bits as u8;
            self.keyed_block(&input)
        };
        // The network half of an address is shared by its neighbours; the host half is
        // mostly unique, and caching it would only push the shared tables out.
        if prefix_bits * 2 > width {
            return derive();
        }
        let key = (self.id, width, prefix_bits, prefix);
        PREFIXES.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.is_empty() {
                let empty = PrefixSlot {
                    key: (0, 0, 0, 0),
                    table: [0; 32],
                };
                cache.resize(PREFIX_SLOTS, empty);
            }
            let slot = &mut cache[prefix_slot(key)];
            if slot.key != key {
                *slot = PrefixSlot {
                    key,
                    table: derive(),
                };
            }
            slot.table
        })
    }

    /// The manufacturer prefix (OUI) stays; the device part is permuted under the key,
    /// prefix-preserving like an address: two devices never share a pseudonym (a hash of
    /// 24 bits would give two of a few thousand cards of one vendor the same one, and the
    /// map could reveal only one of them). Separators and letter case stay.
    fn push_mac(&self, out: &mut String, value: &[u8]) {
        let digits = || value.iter().filter_map(|b| char::from(*b).to_digit(16));
        let count = digits().count().min(32) as u32;
        let bits = digits()
            .take(32)
            .fold(0u128, |acc, d| (acc << 4) | u128::from(d));
        let width = count * 4;
        // The OUI: the first half of a 48-bit address (all the pattern finds).
        let permuted = self.permute_prefix("mac", bits, width, width / 2);
        let upper = value.iter().any(u8::is_ascii_uppercase);
        let mut nibble = count;
        out.extend(value.iter().map(|&b| {
            if !b.is_ascii_hexdigit() || nibble == 0 {
                return char::from(b);
            }
            nibble -= 1;
            let digit = ((permuted >> (4 * nibble)) & 0xf) as u32;
            let c = char::from_digit(digit, 16).unwrap_or('0');
            if upper {
                c.to_ascii_uppercase()
            } else {
                c
            }
        }));
    }

    /// Same length and separators; digits replaced by digits, letters by letters (an
    /// IBAN's country code and a phone's country code stay), hexadecimal digits by
    /// hexadecimal digits in a value that reads as hexadecimal (a tenant's UUID stays a
    /// UUID, a Twilio SID's `AC` and 32 digits stay so). A keyed permutation of the
    /// values of one shape, not a hash: two numbers never share a pseudonym (with a hash,
    /// a gigabyte's half a million distinct ten-digit phones gave 17 pairs one pseudonym
    /// each, and the map could reveal only one of each pair). Shapes with more values
    /// than 2^60, where a hash does not collide in practice, are hashed.
    fn push_same_shape(&self, out: &mut String, domain: &str, value: &[u8]) {
        let keep = if domain == "iban" {
            2.min(value.len())
        } else if value.first() == Some(&b'+') {
            1 + country_code_len(&value[1..])
        } else {
            // A type's mark in capitals before a hexadecimal id (`AC` of a Twilio SID).
            let capitals = value.iter().take_while(|b| b.is_ascii_uppercase()).count();
            match hex_case(&value[capitals..]) {
                Some(b'a') if (1..=4).contains(&capitals) => capitals,
                _ => 0,
            }
        };
        let (kept, rest) = value.split_at(keep);
        out.push_str(&String::from_utf8_lossy(kept));
        // Sixteen digits or more: far more values than a hash could collide among.
        if let Some(case) = hex_case(rest) {
            return self.push_hashed_hex(out, domain, value, keep, case);
        }
        // A digit or letter's alphabet; a phone's letters mark an extension (`x549`,
        // `ext.`) and stay, like separators.
        let alphabet = |b: u8| match b {
            b'0'..=b'9' => Some(Alphabet::Decimal),
            b'A'..=b'Z' if domain != "phone" => Some(Alphabet::Upper),
            b'a'..=b'z' if domain != "phone" => Some(Alphabet::Lower),
            _ => None,
        };
        let radix = |b: u8| alphabet(b).map_or(1, Alphabet::radix);
        let positions: Vec<usize> = (0..rest.len()).filter(|&i| radix(rest[i]) > 1).collect();
        // The number of values of this shape on each side of a balanced split.
        let (high, low) = positions.split_at(positions.len() / 2);
        let size = |part: &[usize]| {
            part.iter()
                .try_fold(1u64, |n, &i| n.checked_mul(radix(rest[i])))
                .filter(|n| *n <= 1 << 30)
        };
        let (Some(high_size), Some(low_size)) = (size(high), size(low)) else {
            return self.push_hashed_shape(out, domain, value, keep, alphabet);
        };
        let number = |part: &[usize]| {
            part.iter().fold(0u64, |n, &i| {
                n * radix(rest[i]) + alphabet(rest[i]).map_or(0, |a| a.digit(rest[i]))
            })
        };
        // The shape (which positions are digits, capitals or small letters, the kept
        // prefix, the kind) selects the permutation.
        let mut tweak = Vec::with_capacity(value.len() + domain.len() + 10);
        tweak.extend_from_slice(domain.as_bytes());
        tweak.push(0);
        tweak.extend_from_slice(kept);
        tweak.extend(rest.iter().map(|&b| alphabet(b).map_or(b, Alphabet::mark)));
        let (high_value, low_value) =
            self.permute_pair(&tweak, (number(high), high_size), (number(low), low_size));
        let mut replaced = rest.to_vec();
        for (part, mut n) in [(low, low_value), (high, high_value)] {
            for &i in part.iter().rev() {
                if let Some(a) = alphabet(rest[i]) {
                    replaced[i] = a.char(n % a.radix());
                    n /= a.radix();
                }
            }
        }
        out.push_str(&String::from_utf8_lossy(&replaced));
    }

    /// A keyed permutation of the pairs (a, b) with a < `a.1`, b < `b.1`: eight rounds of
    /// a Feistel network with modular addition (as FF1 does for decimal strings), each
    /// round's function the keyed block of the tweak's digest, the round and the other
    /// half.
    fn permute_pair(&self, tweak: &[u8], a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
        use sha2::Digest;
        let ((mut a, a_size), (mut b, b_size)) = (a, b);
        // Purpose 0: a round.
        let mut input = [0u8; 42];
        input[1..33].copy_from_slice(&Sha256::digest(tweak));
        for round in 0..8u8 {
            let (other, size) = if round % 2 == 0 {
                (b, a_size)
            } else {
                (a, b_size)
            };
            input[33] = round;
            input[34..].copy_from_slice(&other.to_be_bytes());
            let digest = self.keyed_block(&input);
            let f = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % size;
            if round % 2 == 0 {
                a = (a + f) % a_size;
            } else {
                b = (b + f) % b_size;
            }
        }
        (a, b)
    }

    /// Digits and letters after the first `keep` bytes replaced from a keyed hash of the
    /// whole value (shapes too large to collide), each in its own alphabet.
    fn push_hashed_shape(
        &self,
        out: &mut String,
        domain: &str,
        value: &[u8],
        keep: usize,
        alphabet: impl Fn(u8) -> Option<Alphabet>,
    ) {
        let digest = self.prf(domain, value);
        let mut stream = digest.iter().cycle().skip(keep);
        out.extend(value[keep..].iter().map(|&b| {
            let r = u64::from(*stream.next().unwrap_or(&0));
            alphabet(b).map_or(b, |a| a.char(r % a.radix())) as char
        }));
    }

    /// The hexadecimal digits after the first `keep` bytes replaced from a keyed hash of
    /// the whole value, half a byte each (a UUID's 32 take its 128 bits, none drawn
    /// twice), their letters in `case` (`a` or `A`); separators stay.
    fn push_hashed_hex(&self, out: &mut String, domain: &str, value: &[u8], keep: usize, case: u8) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.prf(domain, value);
        let mut nibbles = digest.iter().flat_map(|b| [b >> 4, b & 0xf]).cycle();
        out.extend(value[keep..].iter().map(|&b| match b.is_ascii_hexdigit() {
            true => {
                let digit = HEX[usize::from(nibbles.next().unwrap_or(0))];
                (if case == b'A' {
                    digit.to_ascii_uppercase()
                } else {
                    digit
                }) as char
            }
            false => b as char,
        }));
    }
}

/// The alphabet a same-shape pseudonym draws a character from: its value's own.
#[derive(Clone, Copy)]
enum Alphabet {
    Decimal,
    Upper,
    Lower,
}

impl Alphabet {
    fn radix(self) -> u64 {
        match self {
            Alphabet::Decimal => 10,
            Alphabet::Upper | Alphabet::Lower => 26,
        }
    }

    /// The character's place in the alphabet.
    fn digit(self, b: u8) -> u64 {
        u64::from(match self {
            Alphabet::Decimal => b - b'0',
            Alphabet::Upper => b - b'A',
            Alphabet::Lower => b - b'a',
        })
    }

    /// The alphabet's character at `digit` (below its radix).
    fn char(self, digit: u64) -> u8 {
        let d = digit as u8;
        match self {
            Alphabet::Decimal => b'0' + d,
            Alphabet::Upper => b'A' + d,
            Alphabet::Lower => b'a' + d,
        }
    }

    /// What stands for the character in the permutation's tweak: its alphabet's first.
    fn mark(self) -> u8 {
        match self {
            Alphabet::Decimal => b'0',
            Alphabet::Upper => b'A',
            Alphabet::Lower => b'a',
        }
    }
}

/// The case of a hexadecimal value's letters (`a` or `A`), where every digit and letter
/// of `value` is a hexadecimal digit in one case, sixteen of them or more, with a digit
/// and a letter among them (a UUID, a key's fingerprint): a shorter one (`D1234567`, a
/// licence's) is as likely a letter and digits of another alphabet.
fn hex_case(value: &[u8]) -> Option<u8> {
    let alphanumeric = || value.iter().filter(|b| b.is_ascii_alphanumeric());
    let (mut small, mut capital, mut digits) = (0, 0, 0);
    for &b in alphanumeric() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'a'..=b'f' => small += 1,
            b'A'..=b'F' => capital += 1,
            _ => return None,
        }
    }
    match (small, capital) {
        _ if digits == 0 || alphanumeric().count() < 16 => None,
        (0, 0) => None,
        (_, 0) => Some(b'a'),
        (0, _) => Some(b'A'),
        _ => None,
    }
}

/// How many of the digits after a `+` are the country code (ITU-T E.164: `1` and `7` have
/// one digit, the codes below two, every other three), never more than the first group
/// as written (`+1 555…`).
fn country_code_len(digits: &[u8]) -> usize {
    const TWO_DIGITS: &[&[u8]] = &[
        b"20", b"27", b"30", b"31", b"32", b"33", b"34", b"36", b"39", b"40", b"41", b"43", b"44",
        b"45", b"46", b"47", b"48", b"49", b"51", b"52", b"53", b"54", b"55", b"56", b"57", b"58",
        b"60", b"61", b"62", b"63", b"64", b"65", b"66", b"81", b"82", b"84", b"86", b"90", b"91",
        b"92", b"93", b"94", b"95", b"98",
    ];
    let group = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let code = match digits.first() {
        Some(b'1' | b'7') => 1,
        _ if digits.len() >= 2 && TWO_DIGITS.contains(&&digits[..2]) => 2,
        _ => 3,
    };
    code.min(group)
}

/// The bits of an address's pseudonym to keep: all of them, but for a network's address
/// (`address`, `width` bits wide, whose host's bits under `length` are zero) its prefix.
fn network_mask(address: u128, width: u32, length: Option<u32>) -> u128 {
    let host_bits = length.map_or(0, |l| width.saturating_sub(l));
    let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
    if address & !mask == 0 {
        mask
    } else {
        u128::MAX
    }
}

/// Appends `ip` as its `Display` writes it (`10.0.0.1`), without the formatting
/// machinery, which cost an access log's addresses more than writing them does.
fn push_ipv4(out: &mut String, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

/// Appends `ip` as its `Display` writes it: RFC 5952's form, the first of the longest
/// runs of two zero groups or more as `::`, an IPv4-mapped address as `::ffff:` and its
/// IPv4 address.
fn push_ipv6(out: &mut String, ip: Ipv6Addr) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if let Some(v4) = ip.to_ipv4_mapped() {
        out.push_str("::ffff:");
        push_ipv4(out, v4);
        return;
    }
    let groups = ip.segments();
    // (start, length) of the longest run of zero groups, and of the current one.
    let (mut longest, mut run) = ((0, 0), (0, 0));
    for (i, group) in groups.iter().enumerate() {
        if *group == 0 {
            run = (if run.1 == 0 { i } else { run.0 }, run.1 + 1);
            if run.1 > longest.1 {
                longest = run;
            }
        } else {
            run.1 = 0;
        }
    }
    let push_groups = |out: &mut String, groups: &[u16]| {
        for (i, group) in groups.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let digits = (16 - group.leading_zeros()).div_ceil(4).max(1);
            for k in (0..digits).rev() {
                out.push(char::from(HEX[usize::from(group >> (4 * k) & 0xf)]));
            }
        }
    };
    if longest.1 > 1 {
        push_groups(out, &groups[..longest.0]);
        out.push_str("::");
        push_groups(out, &groups[longest.0 + longest.1..]);
    } else {
        push_groups(out, &groups);
    }
}

/// Calls `f` with `bytes` in ASCII lower case, on the stack for ordinary lengths.
pub(crate) fn with_lower<R>(bytes: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    if !bytes.iter().any(u8::is_ascii_uppercase) {
        return f(bytes);
    }
    let mut stack = [0u8; 256];
    if let Some(lower) = stack.get_mut(..bytes.len()) {
        lower.copy_from_slice(bytes);
        lower.make_ascii_lowercase();
        return f(lower);
    }
    f(&bytes.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Pseudonymizer {
        Pseudonymizer::new([7; 32])
    }

    /// A map written by one version is read by the next: with the same key, every kind
    /// must get the pseudonym it got before, or a later run would give a value met again
    /// a second pseudonym (and `--reveal` would miss the partner's reply to the first).
    /// These were derived by the code as it stood when each was written (map format 3;
    /// the account numbers at format 4): a change here needs a new
    /// [`crate::MAP_VERSION`].
    #[test]
    fn pseudonyms_stay_the_same_from_version_to_version() {
        let p = p();
        let cases = [
            (Kind::Ipv4, "10.1.2.3", "10.253.88.17"),
            (Kind::Ipv4, "172.20.9.8", "172.22.94.224"),
            (Kind::Ipv4, "192.168.1.77", "192.168.195.12"),
            (Kind::Ipv4, "100.99.1.2", "100.88.172.159"),
            (Kind::Ipv4, "169.254.3.4", "169.254.231.178"),
            (Kind::Ipv4, "203.0.113.7", "254.83.227.95"),
            (
                Kind::Ipv6,
                "2001:db8:1:2::10",
                "2001:db8:6576:28be:e312:e0cc:140c:b82a",
            ),
            (
                Kind::Ipv6,
                "fe80::1ff:fe23:4567:890a",
                "fea1:229c:be4b:a4af:c595:d66f:bb89:f4e6",
            ),
            (
                Kind::Ipv6,
                "fd12:3456:789a:1::1",
                "fca3:e78d:a11b:c434:5bd7:b961:1af4:f31b",
            ),
            (
                Kind::Ipv6,
                "2a00:1450:4001:81c::200e",
                "8f12:ab03:2b9c:840b:b8a6:e1c8:cb3c:f22e",
            ),
            (Kind::Ipv6, "::ffff:198.51.100.9", "::ffff:246.35.135.170"),
            (Kind::MacAddress, "00:1a:2b:3c:4d:5e", "00:1a:2b:b9:c0:d0"),
            (Kind::MacAddress, "001A.2B3C.4D5E", "001A.2BB9.C0D0"),
            // Lengths the detector never finds, so a short last byte is covered too.
            (Kind::MacAddress, "001a.2b3c.4d5", "001a.29b9.c0d"),
            (
                Kind::MacAddress,
                "00:1a:2b:3c:4d:5e:6f",
                "00:1a:2b:39:c0:d0:03",
            ),
            (Kind::Phone, "+1 415-555-0132", "+1 970-233-0243"),
            (
                Kind::PaymentCard,
                "4111 1111 1111 1111",
                "5913 5700 4015 3520",
            ),
            (Kind::AccountNumber, "ACME-00912", "KNVQ-78582"),
            (
                Kind::AccountNumber,
                "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "fe44a7ff-23ff-a4b1-c7b3-18b932b4f1ba",
            ),
            (
                Kind::AccountNumber,
                "AC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
                "AC372918ea111d5600ad94f1688d4d386d",
            ),
            (Kind::PersonName, "Priya Raman", "Person-93517fbff5"),
            (Kind::Username, "jdoe", "user-80e07153e4"),
            (
                Kind::Hostname,
                "db1.corp.acme.com",
                "h327ccbdaf6.h9c425592a4.h3e06b75293.sdfc9b2c422.example",
            ),
            (Kind::Hostname, "web01", "hd128d62896"),
            (
                Kind::Email,
                "jane@acme.com",
                "user-4f3367f090@h3e06b75293.sdfc9b2c422.example",
            ),
        ];
        // The second time round, this thread has cached the addresses' prefixes.
        for round in ["derived", "cached"] {
            for (kind, value, pseudonym) in cases {
                let got = p.pseudonym(kind, value.as_bytes());
                assert_eq!(got, pseudonym, "{value}, {round}");
            }
        }
    }

    #[test]
    fn a_keyed_block_is_sha256_of_the_subkey_block_and_the_input() {
        use sha2::Digest;
        let p = p();
        let block = subkey_block(&p.keyed);
        // Every length that fits one last block, the padding's edge included.
        let input: Vec<u8> = (0..55u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..=55 {
            let whole = Sha256::new()
                .chain_update(block)
                .chain_update(&input[..len])
                .finalize();
            assert_eq!(p.keyed_block(&input[..len]), whole.as_slice(), "{len}");
        }
    }

    #[test]
    fn the_same_value_gets_the_same_pseudonym_and_another_key_another() {
        let a = p().pseudonym(Kind::Email, b"jane@acme.com");
        assert_eq!(a, p().pseudonym(Kind::Email, b"jane@acme.com"));
        assert_ne!(
            a,
            Pseudonymizer::new([8; 32]).pseudonym(Kind::Email, b"jane@acme.com")
        );
        assert!(a.starts_with("user-") && a.ends_with(".example"), "{a}");
    }

    #[test]
    fn hosts_stay_siblings_and_short_names_match_their_fqdn() {
        let db1 = p().hostname("db1.corp.acme.com");
        let db2 = p().hostname("DB2.corp.acme.com");
        let (_, parent1) = db1.split_once('.').unwrap();
        let (_, parent2) = db2.split_once('.').unwrap();
        assert_eq!(parent1, parent2);
        assert!(db1.ends_with(".example"));
        assert_eq!(db1.split('.').next().unwrap(), p().label("db1"));
        assert!(p().hostname("web01.prod.local").ends_with(".local"));
        assert!(p().hostname("acme.co.uk").ends_with(".example"));
    }

    #[test]
    fn sites_told_apart_by_their_public_suffix_alone_stay_apart() {
        let p = p();
        let sites = ["acme.com", "acme.org", "acme.co.uk", "acme.github.io"];
        let pseudonyms: std::collections::BTreeSet<String> =
            sites.iter().map(|site| p.hostname(site)).collect();
        assert_eq!(pseudonyms.len(), sites.len(), "{pseudonyms:?}");
        // The site's own label is the same in each, and so is one suffix's tag.
        let com = p.hostname("acme.com");
        let (acme, suffix) = com.split_once('.').unwrap();
        assert_eq!(acme, p.label("acme"));
        assert!(
            suffix.starts_with('s') && suffix.ends_with(".example"),
            "{com}"
        );
        assert!(p.hostname("db1.corp.acme.com").ends_with(suffix));
        // A host under a suffix the list does not know keeps it, after labels that all
        // read as a host's (`h`), never as a known suffix's (`s`).
        assert_eq!(
            p.hostname("acme.s.example"),
            format!("{}.{}.example", p.label("acme"), p.label("s"))
        );
        assert_ne!(
            p.pseudonym(Kind::Email, b"jane@acme.com"),
            p.pseudonym(Kind::Email, b"jane@acme.org")
        );
    }

    #[test]
    fn ipv4_keeps_subnets_and_private_ranges() {
        let a = p().ipv4("10.1.2.3".parse().unwrap());
        let b = p().ipv4("10.1.2.200".parse().unwrap());
        let c = p().ipv4("10.9.0.1".parse().unwrap());
        assert_eq!(a.octets()[0], 10);
        assert_eq!(
            a.octets()[..3],
            b.octets()[..3],
            "same /24 stays the same /24"
        );
        assert_eq!(c.octets()[0], 10);
        assert_ne!(a, "10.1.2.3".parse::<Ipv4Addr>().unwrap());
        assert_eq!(p().ipv4(Ipv4Addr::LOCALHOST), Ipv4Addr::LOCALHOST);
        let public = p().ipv4("203.0.113.7".parse().unwrap());
        let neighbour = p().ipv4("203.0.113.9".parse().unwrap());
        assert_eq!(public.octets()[..3], neighbour.octets()[..3]);
    }

    #[test]
    fn a_network_keeps_its_length_and_its_hosts_stay_inside() {
        let net = p().pseudonym(Kind::Ipv4, b"10.20.16.0/20");
        let (address, length) = net.split_once('/').unwrap();
        assert_eq!(length, "20");
        let network: std::net::Ipv4Addr = address.parse().unwrap();
        assert_eq!(u32::from(network) & 0xfff, 0, "host bits stay zero: {net}");
        // A host of the network is in the network's pseudonym.
        for host in ["10.20.17.5", "10.20.31.254"] {
            let host: std::net::Ipv4Addr =
                p().pseudonym(Kind::Ipv4, host.as_bytes()).parse().unwrap();
            assert_eq!(
                u32::from(host) >> 12,
                u32::from(network) >> 12,
                "{host} in {net}"
            );
        }
        let net6 = p().pseudonym(Kind::Ipv6, b"2001:db8:7::/48");
        let (address, length) = net6.split_once('/').unwrap();
        assert_eq!(length, "48");
        let network: std::net::Ipv6Addr = address.parse().unwrap();
        let host: std::net::Ipv6Addr = p()
            .pseudonym(Kind::Ipv6, b"2001:db8:7:1::5")
            .parse()
            .unwrap();
        assert_eq!(u128::from(network) << 48, 0, "{net6}");
        assert_eq!(u128::from(host) >> 80, u128::from(network) >> 80);
        // A host's address with its network's length stays the host's.
        assert_eq!(
            p().pseudonym(Kind::Ipv4, b"10.20.31.7/16"),
            format!("{}/16", p().pseudonym(Kind::Ipv4, b"10.20.31.7"))
        );
    }

    #[test]
    fn an_encoded_address_keeps_its_encoding_and_its_pseudonym() {
        let plain = p().pseudonym(Kind::Email, b"jdoe@acme.com");
        let encoded = p().pseudonym(Kind::Email, b"jdoe%40acme.com");
        assert_eq!(encoded, plain.replace('@', "%40"));
    }

    #[test]
    fn cached_address_prefixes_give_what_a_fresh_derivation_gives() {
        let warm = p();
        let other_key = Pseudonymizer::new([8; 32]);
        for ip in ["10.1.2.3", "203.0.113.7", "2001:db8:1:2::10"] {
            let _ = warm.pseudonym(Kind::Ipv4, ip.as_bytes());
            let _ = warm.pseudonym(Kind::Ipv6, ip.as_bytes());
        }
        // Same prefixes, now served from this thread's cache...
        let cached = [
            warm.ipv4("10.1.2.4".parse().unwrap()).to_string(),
            warm.ipv4("203.0.113.9".parse().unwrap()).to_string(),
            warm.ipv6("2001:db8:1:2::11".parse().unwrap()).to_string(),
        ];
        // ...and derived from nothing by a new pseudonymizer with the same key.
        let fresh = p();
        assert_eq!(
            cached,
            [
                fresh.ipv4("10.1.2.4".parse().unwrap()).to_string(),
                fresh.ipv4("203.0.113.9".parse().unwrap()).to_string(),
                fresh.ipv6("2001:db8:1:2::11".parse().unwrap()).to_string(),
            ]
        );
        // The network half is what is kept: three tables for an IPv4 address (before its
        // first, second and third byte), five for 2001:db8::/32 (bytes five to eight).
        let fresh = p();
        let tables = || {
            let cache = PREFIXES.with(|c| c.borrow().clone());
            cache.iter().filter(|s| s.key.0 == fresh.id).count()
        };
        fresh.ipv4("198.51.100.7".parse().unwrap());
        assert_eq!(tables(), 3);
        fresh.ipv6("2001:db8:7:8::1".parse().unwrap());
        assert_eq!(tables(), 8);
        // Another key never reads the first key's tables.
        assert_ne!(
            other_key.ipv4("10.1.2.4".parse().unwrap()).to_string(),
            cached[0]
        );
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let mut cases: Vec<Ipv6Addr> = [
            "::",
            "::1",
            "1::",
            "1::1",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::1.2.3.4",
            "0:0:1:0:0:1:0:0",
            "1:0:0:1:0:0:0:1",
            "1:0:1:0:1:0:1:0",
            "0:1:0:1:0:1:0:1",
            "fe80::1:0:0:0",
            "2001:db8:0:0:1:0:0:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "a:bc:def:1234::",
            "0:0:0:0:0:ffff:ffff:ffff",
            "0:0:0:0:0:fffe:1:1",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        // Groups zero or not at random, values of every width.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut groups = [0u16; 8];
            for group in &mut groups {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if !state.is_multiple_of(3) {
                    *group = (state >> 16) as u16 >> (state % 16);
                }
            }
            cases.push(Ipv6Addr::from(groups));
        }
        for ip in cases {
            let mut out = String::new();
            push_ipv6(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
        for n in (0..=u32::MAX)
            .step_by(65_521)
            .chain([0, 1, 10, 99, 100, 255, u32::MAX])
        {
            let (ip, mut out) = (Ipv4Addr::from(n), String::new());
            push_ipv4(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
    }

    #[test]
    fn ipv6_keeps_prefixes() {
        let a = p().ipv6("2001:db8:1:2::10".parse().unwrap());
        let b = p().ipv6("2001:db8:1:2::20".parse().unwrap());
        assert_eq!(a.segments()[..4], b.segments()[..4]);
        assert_eq!(a.segments()[0], 0x2001);
        let link = p().ipv6("fe80::1".parse().unwrap());
        assert_eq!(link.segments()[0] & 0xffc0, 0xfe80);
    }

    #[test]
    fn devices_of_one_vendor_never_share_a_pseudonym() {
        let p = p();
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000u32 {
            let [_, a, b, c] = (i * 7919).to_be_bytes();
            let mac = format!("00:1a:2b:{a:02x}:{b:02x}:{c:02x}");
            let pseudonym = p.pseudonym(Kind::MacAddress, mac.as_bytes());
            assert!(pseudonym.starts_with("00:1a:2b:"), "{pseudonym}");
            assert_eq!(pseudonym.len(), mac.len());
            assert!(seen.insert(pseudonym), "{mac}");
        }
        let cisco = p.pseudonym(Kind::MacAddress, b"001a.2b3c.4d5e");
        assert!(cisco.starts_with("001a.2b") && cisco.len() == 14, "{cisco}");
        assert_eq!(
            p.pseudonym(Kind::MacAddress, b"00-1A-2B-3C-4D-5E"),
            p.pseudonym(Kind::MacAddress, b"00:1a:2b:3c:4d:5e")
                .to_ascii_uppercase()
                .replace(':', "-")
        );
    }

    #[test]
    fn tags_are_long_enough_that_distinct_values_keep_apart() {
        let p = p();
        let name = p.pseudonym(Kind::PersonName, b"Jane Doe");
        assert_eq!(name.len(), "Person-".len() + 10, "{name}");
        let user = p.pseudonym(Kind::Username, b"jdoe");
        assert_eq!(user.len(), "user-".len() + 10, "{user}");
        assert_eq!(p.label("web01").len(), 11);
        let users: std::collections::HashSet<String> = (0..50_000)
            .map(|i| p.pseudonym(Kind::Username, format!("u{i}").as_bytes()))
            .collect();
        assert_eq!(users.len(), 50_000);
    }

    #[test]
    fn numbers_of_one_shape_never_share_a_pseudonym() {
        let p = p();
        // Every value of a small shape maps to another value of that shape, all distinct.
        let all: std::collections::HashSet<String> = (0..10_000)
            .map(|n| {
                let value = format!("{:02}-{:02}", n / 100, n % 100);
                let pseudonym = p.pseudonym(Kind::UsSsn, value.as_bytes());
                assert_eq!(pseudonym.len(), 5);
                assert_eq!(&pseudonym[2..3], "-");
                pseudonym
            })
            .collect();
        assert_eq!(all.len(), 10_000);
        let phones: std::collections::HashSet<String> = (0..100_000u64)
            .map(|n| {
                let value = format!("+1 555 {:03} {:04}", n / 10_000, n % 10_000);
                p.pseudonym(Kind::Phone, value.as_bytes())
            })
            .collect();
        assert_eq!(phones.len(), 100_000);
        assert!(phones
            .iter()
            .all(|ph| ph.starts_with("+1 ") && ph.len() == 15));
    }

    #[test]
    fn a_phone_keeps_its_country_code_however_it_is_written() {
        let p = p();
        for (value, code) in [
            ("+15550100199", "+1"),
            ("+447700900123", "+44"),
            ("+8613812345678", "+86"),
            ("+35312345678", "+353"),
            ("+44 20 7946 0958", "+44"),
            ("+4420 7946 0958", "+44"),
            ("+1-555-010-0199", "+1"),
        ] {
            let pseudonym = p.pseudonym(Kind::Phone, value.as_bytes());
            assert_eq!(pseudonym.len(), value.len(), "{value}");
            assert!(pseudonym.starts_with(code), "{value} -> {pseudonym}");
            assert_ne!(pseudonym[code.len()..], value[code.len()..], "{value}");
        }
        let extension = p.pseudonym(Kind::Phone, b"650-752-7354x549");
        assert_eq!(&extension[12..13], "x", "{extension}");
        assert_ne!(&extension[13..], "549");
        let iban = p.pseudonym(Kind::Iban, b"GB82 WEST 1234 5698 7654 32");
        assert!(iban.starts_with("GB") && iban.len() == 27, "{iban}");
        assert_ne!(iban, "GB82 WEST 1234 5698 7654 32");
    }

    #[test]
    fn numbers_keep_their_shape() {
        let card = p().pseudonym(Kind::PaymentCard, b"4111 1111 1111 1111");
        assert_eq!(card.len(), 19);
        assert_eq!(card.matches(' ').count(), 3);
        let iban = p().pseudonym(Kind::Iban, b"GB82 WEST 1234 5698 7654 32");
        assert!(iban.starts_with("GB"));
        let phone = p().pseudonym(Kind::Phone, b"+1 555 010 0199");
        assert!(phone.starts_with("+1 ") && phone.len() == 15);
        let mac = p().pseudonym(Kind::MacAddress, b"00:1A:2B:3C:4D:5E");
        assert!(mac.starts_with("00:1A:2B:"));
        assert_eq!(mac, mac.to_ascii_uppercase());
        assert_ne!(mac, "00:1A:2B:3C:4D:5E");
    }

    /// Each character's class in a same-shape pseudonym: `0` a decimal digit, `x`/`X` a
    /// hexadecimal one's letter in either case, `a`/`A` another letter, else itself.
    fn classes(value: &str) -> String {
        value
            .chars()
            .map(|c| match c {
                '0'..='9' => '0',
                'a'..='f' => 'x',
                'A'..='F' => 'X',
                'g'..='z' => 'a',
                'G'..='Z' => 'A',
                other => other,
            })
            .collect()
    }

    #[test]
    fn a_hexadecimal_id_keeps_hexadecimal_digits() {
        let p = p();
        let hex = |c: char| c.is_ascii_digit() || c.is_ascii_hexdigit() || c == '-';
        for (value, prefix) in [
            ("72f988bf-86f1-41af-91ab-2d7cd011db47", ""),
            ("3F2B8C1D-4E5A-4B6C-9D7E-8F9A0B1C2D3E", ""),
            ("AC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "AC"),
            ("0123456789abcdef0123", ""),
        ] {
            let got = p.pseudonym(Kind::AccountNumber, value.as_bytes());
            assert_eq!(got.len(), value.len(), "{value}: {got}");
            assert!(got.starts_with(prefix), "{value}: {got}");
            assert!(got[prefix.len()..].chars().all(hex), "{value}: {got}");
            let case = |s: &str| s.chars().any(|c| c.is_ascii_lowercase());
            assert_eq!(case(&got[prefix.len()..]), case(&value[prefix.len()..]));
            assert_eq!(
                got.match_indices('-').collect::<Vec<_>>(),
                value.match_indices('-').collect::<Vec<_>>()
            );
            assert_ne!(got, value);
            // 32 digits drawn from 128 bits: no stretch of the hash is used twice.
            if value.len() == 36 {
                let digits = got.replace('-', "");
                assert_ne!(&digits[..4], &digits[28..], "{got}");
            }
        }
        // Fewer than sixteen, letters of two cases or beyond `f`, or no digit: letters
        // stay letters and digits digits, as any other number's.
        for value in [
            "D1234567",
            "abc123def4567",
            "72f988bf-86F1-41af-91ab-2d7cd011db47",
            "ACME-00912-abcdef0123",
            "abcdefabcdefabcdefab",
        ] {
            let got = p.pseudonym(Kind::AccountNumber, value.as_bytes());
            assert_eq!(
                classes(&got).replace('x', "a").replace('X', "A"),
                classes(value).replace('x', "a").replace('X', "A"),
                "{value}: {got}"
            );
        }
    }
}

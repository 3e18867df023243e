//! Stable, keyed pseudonyms that keep the structure of what they replace.

use std::net::{Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::detect::Kind;

type HmacSha256 = Hmac<Sha256>;

/// Derives every pseudonym from one secret key: the same value always gets the same
/// replacement, whatever order values are met in, and nobody without the key can link a
/// pseudonym back to its value.
#[derive(Clone)]
pub struct Pseudonymizer {
    /// HMAC with the key already absorbed: each derivation clones it.
    keyed: HmacSha256,
}

impl Pseudonymizer {
    pub fn new(key: [u8; 32]) -> Self {
        let keyed = <HmacSha256 as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        Self { keyed }
    }

    fn prf(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    fn tag(&self, domain: &str, value: &[u8], chars: usize) -> String {
        let mut hex = hex::encode(self.prf(domain, value));
        hex.truncate(chars);
        hex
    }

    /// The pseudonym of `value`, found as `kind`.
    pub fn pseudonym(&self, kind: Kind, value: &[u8]) -> String {
        let text = String::from_utf8_lossy(value);
        match kind {
            Kind::Email => self.email(&text),
            Kind::Hostname if !text.contains('.') => self.label(&text),
            Kind::Hostname => self.hostname(&text),
            Kind::Ipv4 => text
                .parse()
                .map(|ip| self.ipv4(ip).to_string())
                .unwrap_or_else(|_| self.opaque("ip", value)),
            Kind::Ipv6 => text
                .parse()
                .map(|ip| self.ipv6(ip).to_string())
                .unwrap_or_else(|_| self.opaque("ip", value)),
            Kind::MacAddress => self.mac(value),
            Kind::PaymentCard
            | Kind::Iban
            | Kind::UsSsn
            | Kind::UkNino
            | Kind::NlBsn
            | Kind::CaSin
            | Kind::InAadhaar
            | Kind::Phone => self.same_shape(kind.name(), value),
            Kind::PersonName => format!("Person-{}", self.tag("name", value, 6)),
            Kind::Username => format!("user-{}", self.tag("user", value, 6)),
            Kind::Custom(i) => format!("REDACTED-{i}-{}", self.tag("custom", value, 8)),
            _ => format!("SECRET-{}", self.tag("secret", value, 10)),
        }
    }

    fn opaque(&self, domain: &str, value: &[u8]) -> String {
        format!("{domain}-{}", self.tag(domain, value, 8))
    }

    /// Local part replaced, domain mapped like a host name.
    fn email(&self, email: &str) -> String {
        let (local, domain) = email.rsplit_once('@').unwrap_or((email, "example.com"));
        format!(
            "user-{}@{}",
            self.tag("user", local.to_ascii_lowercase().as_bytes(), 6),
            self.hostname(domain)
        )
    }

    /// Label by label, so that hosts in one domain stay in one domain; a public suffix
    /// becomes `.example` (reserved, never a real host), an internal one stays.
    pub fn hostname(&self, host: &str) -> String {
        let lower = host.to_ascii_lowercase();
        let suffix_len = match psl::suffix(lower.as_bytes()) {
            Some(suffix) if suffix.is_known() => suffix.as_bytes().len(),
            _ => lower.rsplit('.').next().map_or(0, str::len),
        };
        let (labels, suffix) = lower.split_at(lower.len().saturating_sub(suffix_len));
        let public = psl::suffix(lower.as_bytes()).is_some_and(|s| s.is_known());
        let mapped: Vec<String> = labels
            .trim_end_matches('.')
            .split('.')
            .filter(|l| !l.is_empty())
            .map(|label| self.label(label))
            .collect();
        let suffix = if public { "example" } else { suffix };
        if mapped.is_empty() {
            suffix.to_owned()
        } else {
            format!("{}.{suffix}", mapped.join("."))
        }
    }

    /// One host name label; a bare short name seen alone maps the same way.
    pub fn label(&self, label: &str) -> String {
        format!(
            "h{}",
            self.tag("label", label.to_ascii_lowercase().as_bytes(), 6)
        )
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
        let mut out = value;
        let mut table = [0u8; 32];
        for i in keep..width {
            let within = i % 8;
            if within == 0 || i == keep {
                let whole_bytes = i - within;
                let prefix = if whole_bytes == 0 {
                    0
                } else {
                    value >> (width - whole_bytes)
                };
                let mut input = [0u8; 17];
                input[..16].copy_from_slice(&prefix.to_be_bytes());
                input[16] = whole_bytes as u8;
                table = self.prf(domain, &input);
            }
            let partial = ((value >> (width - i)) & ((1 << within) - 1)) as usize;
            let index = (1usize << within) - 1 + partial;
            let flip = u128::from((table[index / 8] >> (index % 8)) & 1);
            out ^= flip << (width - 1 - i);
        }
        out
    }

    /// The manufacturer prefix (OUI) stays; the device part is replaced.
    fn mac(&self, value: &[u8]) -> String {
        let digest = self.prf("mac", &value.to_ascii_lowercase());
        let mut nibbles = digest.iter().flat_map(|b| [b >> 4, b & 0xf]);
        let hex_digits = value.iter().filter(|b| b.is_ascii_hexdigit()).count();
        let upper = value.iter().any(u8::is_ascii_uppercase);
        let mut seen = 0;
        value
            .iter()
            .map(|&b| {
                if !b.is_ascii_hexdigit() {
                    return b as char;
                }
                seen += 1;
                if seen <= hex_digits / 2 {
                    return b as char;
                }
                let n = nibbles.next().unwrap_or(0);
                let c = char::from_digit(u32::from(n), 16).unwrap_or('0');
                if upper {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    /// Same length and separators; digits replaced by digits, letters by letters (an
    /// IBAN's country code stays).
    fn same_shape(&self, domain: &str, value: &[u8]) -> String {
        let digest = self.prf(domain, value);
        let mut stream = digest.iter().cycle();
        // An IBAN keeps its country; an international number its country code.
        let keep_prefix = if domain == "iban" {
            2
        } else if value.first() == Some(&b'+') {
            1 + value[1..].iter().take_while(|b| b.is_ascii_digit()).count()
        } else {
            0
        };
        value
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let r = *stream.next().unwrap_or(&0);
                if i < keep_prefix {
                    b as char
                } else if b.is_ascii_digit() {
                    (b'0' + r % 10) as char
                } else if b.is_ascii_uppercase() {
                    (b'A' + r % 26) as char
                } else if b.is_ascii_lowercase() {
                    (b'a' + r % 26) as char
                } else {
                    b as char
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Pseudonymizer {
        Pseudonymizer::new([7; 32])
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
    fn ipv6_keeps_prefixes() {
        let a = p().ipv6("2001:db8:1:2::10".parse().unwrap());
        let b = p().ipv6("2001:db8:1:2::20".parse().unwrap());
        assert_eq!(a.segments()[..4], b.segments()[..4]);
        assert_eq!(a.segments()[0], 0x2001);
        let link = p().ipv6("fe80::1".parse().unwrap());
        assert_eq!(link.segments()[0] & 0xffc0, 0xfe80);
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
}

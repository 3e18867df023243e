//! A text's bytes classified sixteen at a time (SIMD instructions where the processor has
//! them, through `wide`), one bit per byte: the passes that walk every byte of a text
//! (the runs of its words, where a name's words meet) read these bits instead, 64 bytes to
//! a word, with no branch per byte.

use wide::u8x16;

/// The classes of the 64 bytes of a block: bit `i` of a class is set where byte `i` is in
/// it. Bits past the end of a text are clear in every class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Block {
    /// `a`–`z`.
    pub lower: u64,
    /// `A`–`Z`.
    pub upper: u64,
    /// `0`–`9`.
    pub digit: u64,
    /// A space or a tab.
    pub blank: u64,
    /// `-`, `.` or `_`.
    pub joiner: u64,
    /// Any byte of a character beyond ASCII (0x80 and above).
    pub high: u64,
    /// The first byte of a letter beyond ASCII that a name may start with (0xC3 and
    /// above), or a backslash (a JSON escape's `\u00c9`).
    pub lead: u64,
}

impl Block {
    /// The classes of `bytes` (at most 64). Inlined where it is used, so that a caller
    /// that reads a few classes computes only those.
    #[inline(always)]
    fn of(bytes: &[u8]) -> Self {
        let mut padded = [0u8; 64];
        let bytes: &[u8] = if bytes.len() == 64 {
            bytes
        } else {
            padded[..bytes.len()].copy_from_slice(bytes);
            &padded
        };
        let mut block = Self::default();
        for (lane, sixteen) in bytes.chunks_exact(16).enumerate() {
            let x = u8x16::from(<[u8; 16]>::try_from(sixteen).expect("sixteen bytes"));
            // Whether each byte lies in lo..=hi: its distance from lo, wrapping, is within
            // the range's width.
            let within = |lo: u8, hi: u8| {
                let distance = x - u8x16::splat(lo);
                distance.min(u8x16::splat(hi - lo)).simd_eq(distance)
            };
            let is = |b: u8| x.simd_eq(u8x16::splat(b));
            let shift = 16 * lane;
            let set = |class: &mut u64, bytes: u8x16| {
                *class |= u64::from(bytes.to_bitmask()) << shift;
            };
            set(&mut block.lower, within(b'a', b'z'));
            set(&mut block.upper, within(b'A', b'Z'));
            set(&mut block.digit, within(b'0', b'9'));
            set(&mut block.blank, is(b' ') | is(b'\t'));
            set(&mut block.joiner, within(b'-', b'.') | is(b'_'));
            set(&mut block.high, within(0x80, 0xFF));
            set(&mut block.lead, within(0xC3, 0xFF) | is(b'\\'));
        }
        block
    }
}

/// What `each` makes of the classes of each block of 64 bytes of `text`, in order. The
/// classes are computed where `each` is called, so that only those it reads are.
#[inline]
pub(crate) fn per_block<T>(text: &[u8], mut each: impl FnMut(&Block) -> T) -> Vec<T> {
    let mut out = Vec::with_capacity(text.len().div_ceil(64));
    for bytes in text.chunks(64) {
        out.push(each(&Block::of(bytes)));
    }
    out
}

/// One bit per byte of `text`, 64 to a word: set where `class` of the byte's block sets it.
#[inline]
pub(crate) fn bitmap(text: &[u8], class: impl Fn(&Block) -> u64) -> Vec<u64> {
    per_block(text, class)
}

/// The first position at or after `from` whose bit in `bits` is `set`, if any; bits past
/// the end of the bitmap are clear.
pub(crate) fn next(bits: &[u64], from: usize, set: bool) -> Option<usize> {
    let word = |k: usize| if set { bits[k] } else { !bits[k] };
    let mut k = from / 64;
    if k >= bits.len() {
        return None;
    }
    let mut found = word(k) & (u64::MAX << (from % 64));
    while found == 0 {
        k += 1;
        if k == bits.len() {
            return None;
        }
        found = word(k);
    }
    Some(k * 64 + found.trailing_zeros() as usize)
}

/// The runs of set bits in the bitmap of a text `len` bytes long whose start `keep`
/// accepts, in order, as (start, end). A run passed over costs its start's bit and the
/// call: its end is never looked for (a log's words mostly start with bytes no learned
/// name starts with).
pub(crate) fn runs(
    bits: Vec<u64>,
    len: usize,
    keep: impl Fn(usize) -> bool,
) -> impl Iterator<Item = (usize, usize)> {
    // A run starts at a set bit after a clear one (or at the text's start).
    let starts: Vec<u64> = (0..bits.len())
        .map(|k| bits[k] & !(bits[k] << 1 | k.checked_sub(1).map_or(0, |j| bits[j] >> 63)))
        .collect();
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let start = next(&starts, at, true).filter(|&start| start < len)?;
        at = start + 1;
        if keep(start) {
            let end = next(&bits, start, false).map_or(len, |end| end.min(len));
            return Some((start, end));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A class's name, how a block gives it, and the bytes it holds, one at a time.
    type Class = (&'static str, fn(&Block) -> u64, fn(u8) -> bool);

    /// Every class, byte by byte, as the scalar definitions say.
    #[test]
    fn each_class_holds_its_bytes_and_no_other() {
        let text: Vec<u8> = (0..=255u8).chain(0..=255u8).chain(*b"tail").collect();
        let classes: [Class; 7] = [
            ("lower", |b| b.lower, |c| c.is_ascii_lowercase()),
            ("upper", |b| b.upper, |c| c.is_ascii_uppercase()),
            ("digit", |b| b.digit, |c| c.is_ascii_digit()),
            ("blank", |b| b.blank, |c| c == b' ' || c == b'\t'),
            ("joiner", |b| b.joiner, |c| b"-._".contains(&c)),
            ("high", |b| b.high, |c| c >= 0x80),
            ("lead", |b| b.lead, |c| c >= 0xC3 || c == b'\\'),
        ];
        for (name, class, scalar) in classes {
            let bits = bitmap(&text, class);
            assert_eq!(bits.len(), text.len().div_ceil(64), "{name}");
            for (i, &c) in text.iter().enumerate() {
                let set = bits[i / 64] >> (i % 64) & 1 == 1;
                assert_eq!(set, scalar(c), "{name} at {i}: {c:#04x}");
            }
            // The padding of the last block is in no class, not even a NUL's.
            let last = bits.last().copied().unwrap_or(0);
            assert_eq!(last >> (text.len() % 64), 0, "{name} past the end");
        }
    }

    #[test]
    fn next_finds_set_and_clear_bits_across_words() {
        let text = [b"a".repeat(70), b" ".repeat(60), b"b".to_vec()].concat();
        let letters = bitmap(&text, |b| b.lower);
        assert_eq!(next(&letters, 0, true), Some(0));
        assert_eq!(next(&letters, 3, false), Some(70));
        assert_eq!(next(&letters, 70, true), Some(130));
        assert_eq!(next(&letters, 131, true), None);
        // Past the text the bits are clear, so a run ends at the text's end.
        assert_eq!(next(&letters, 131, false), Some(131));
        assert_eq!(next(&letters, 10_000, true), None);
        assert_eq!(next(&[], 0, true), None);
    }

    #[test]
    fn runs_are_the_maximal_runs_of_set_bits() {
        let text = b"ab  cd\tefgh".repeat(20);
        let found: Vec<(usize, usize)> =
            runs(bitmap(&text, |b| b.lower), text.len(), |_| true).collect();
        let expected: Vec<(usize, usize)> = (0..20)
            .flat_map(|k| {
                let at = 11 * k;
                [(at, at + 2), (at + 4, at + 6), (at + 7, at + 11)]
            })
            .collect();
        // `efgh` of one repeat and `ab` of the next are one run.
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in expected {
            match merged.last_mut() {
                Some(last) if last.1 == start => last.1 = end,
                _ => merged.push((start, end)),
            }
        }
        assert_eq!(found, merged.clone());
        assert_eq!(runs(bitmap(b"", |b| b.lower), 0, |_| true).count(), 0);
        assert_eq!(runs(bitmap(b"  ", |b| b.lower), 2, |_| true).count(), 0);
        // Only the runs whose start is kept, each still whole.
        let kept: Vec<(usize, usize)> =
            runs(bitmap(&text, |b| b.lower), text.len(), |s| text[s] == b'c').collect();
        let expected: Vec<(usize, usize)> = merged
            .into_iter()
            .filter(|&(s, _)| text[s] == b'c')
            .collect();
        assert_eq!(kept, expected);
        assert_eq!(kept.len(), 20);
    }
}

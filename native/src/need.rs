//! What any match of a pattern must contain: a cheap, exact necessary condition checked
//! before a pattern set runs on a text.
//!
//! Most texts the sets see hit none of a set's patterns, and a `RegexSet` finds that only
//! by reading the whole text (about 30 sets, each a full pass). From a pattern's syntax
//! tree (`regex-syntax`, parsed exactly as the `regex` crate parses it) we derive the
//! ASCII characters (digits as one class, letters either case, punctuation, and the key
//! separators `=`/`:` as a group) every match contains, and how many digits at least. A
//! text lacking them cannot match, so the set is not run: a 15-digit IMEI pattern never
//! reads `29159us`, a `key=value` pattern never reads text without `=` or `:`.
//!
//! Exactness: a requirement is recorded only for a character class whose ASCII members
//! all fall in one feature. A class with non-ASCII members (`(?i)k` also matches the
//! Kelvin sign) counts only for ASCII texts (`ascii`); for other texts only classes
//! entirely inside a feature count (`strict`). Look-arounds and repetitions that may be
//! empty require nothing; an alternation requires what all its branches require. So the
//! condition is necessary: it may let a text through that then does not match, never the
//! reverse. Patterns that do not parse require nothing.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Feature bits of an ASCII byte: 0 digits, 1..=26 letters (either case), then
/// punctuation, then the key separator group.
const PUNCT: &[u8] = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const SEP_BIT: u32 = 27 + PUNCT.len() as u32;

/// Every feature bit a byte belongs to (the byte's own and the groups).
const fn byte_bits(b: u8) -> u64 {
    if b.is_ascii_digit() {
        return 1;
    }
    if b.is_ascii_alphabetic() {
        return 1 << (1 + (b.to_ascii_lowercase() - b'a') as u32);
    }
    let mut i = 0;
    while i < PUNCT.len() {
        if PUNCT[i] == b {
            let own = 1u64 << (27 + i as u32);
            return if b == b'=' || b == b':' { own | 1 << SEP_BIT } else { own };
        }
        i += 1;
    }
    0
}

const fn byte_table() -> [u64; 128] {
    let mut t = [0u64; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = byte_bits(b as u8);
        b += 1;
    }
    t
}

static BYTE_BITS: [u64; 128] = byte_table();

/// What one pattern's matches need.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Need {
    /// Features required in any text.
    strict: u64,
    /// Features required in an ASCII text (a superset of `strict`).
    ascii: u64,
    /// ASCII digits required.
    digits: u32,
}

/// What a text has (computed once per text, checked against many needs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Have {
    mask: u64,
    digits: u32,
    ascii: bool,
}

impl Have {
    pub(crate) fn of(text: &str) -> Have {
        let mut mask = 0u64;
        let mut digits = 0u32;
        let mut ascii = true;
        for &b in text.as_bytes() {
            if b < 128 {
                let bits = BYTE_BITS[b as usize];
                mask |= bits;
                digits += (bits & 1) as u32;
            } else {
                ascii = false;
            }
        }
        Have { mask, digits, ascii }
    }
}

impl Need {
    /// The need of `pattern` (nothing when it does not parse).
    pub(crate) fn of(pattern: &str) -> Need {
        match regex_syntax::ParserBuilder::new().build().parse(pattern) {
            Ok(hir) => need(&hir),
            Err(_) => Need::default(),
        }
    }

    pub(crate) fn may_match(&self, have: &Have) -> bool {
        let mask = if have.ascii { self.ascii } else { self.strict };
        mask & !have.mask == 0 && have.digits >= self.digits
    }
}

/// Whether any of `needs` (a set's patterns; empty: unknown) may match a text with `have`.
pub(crate) fn any_may_match(needs: &[Need], have: &Have) -> bool {
    needs.is_empty() || needs.iter().any(|n| n.may_match(have))
}

/// The features a class's every member has: (strict, ascii) bit masks.
fn class_bits(ranges: impl Iterator<Item = (u32, u32)>) -> (u64, u64) {
    let mut common = u64::MAX;
    let mut any_ascii = false;
    let mut non_ascii = false;
    for (lo, hi) in ranges {
        if hi > 0x7f {
            non_ascii = true;
        }
        if lo > 0x7f {
            continue;
        }
        for c in lo..=hi.min(0x7f) {
            any_ascii = true;
            common &= BYTE_BITS[c as usize];
        }
    }
    if !any_ascii {
        return (0, 0);
    }
    (if non_ascii { 0 } else { common }, common)
}

fn need(hir: &Hir) -> Need {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Need::default(),
        HirKind::Literal(lit) => {
            let mut n = Need::default();
            for &b in lit.0.iter() {
                if b < 128 {
                    let bits = BYTE_BITS[b as usize];
                    n.strict |= bits;
                    n.ascii |= bits;
                    n.digits += (bits & 1) as u32;
                }
            }
            n
        }
        HirKind::Class(class) => {
            let (strict, ascii) = match class {
                Class::Unicode(u) => {
                    class_bits(u.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)))
                }
                Class::Bytes(b) => {
                    class_bits(b.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)))
                }
            };
            Need { strict, ascii, digits: (strict & 1) as u32 }
        }
        HirKind::Repetition(rep) => {
            if rep.min == 0 {
                return Need::default();
            }
            let sub = need(&rep.sub);
            Need { digits: sub.digits.saturating_mul(rep.min), ..sub }
        }
        HirKind::Capture(cap) => need(&cap.sub),
        HirKind::Concat(items) => items.iter().map(need).fold(Need::default(), |a, b| Need {
            strict: a.strict | b.strict,
            ascii: a.ascii | b.ascii,
            digits: a.digits.saturating_add(b.digits),
        }),
        HirKind::Alternation(items) => {
            let all = Need { strict: u64::MAX, ascii: u64::MAX, digits: u32::MAX };
            items.iter().map(need).fold(all, |a, b| Need {
                strict: a.strict & b.strict,
                ascii: a.ascii & b.ascii,
                digits: a.digits.min(b.digits),
            })
        }
    }
}

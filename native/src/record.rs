//! The record gate: one native pass over a raw JSON record says which of its values the
//! Python engine has to look at, so that Python touches only those.
//!
//! A [`RecordGate`] reads a record's bytes once (a strict JSON reader of its own: it needs
//! every value, duplicate keys and the exact text of numbers, which a `serde` map would
//! hide), and for each value asks what the engine decided for its field path:
//!
//! * `KEEP`: the policy keeps it as it is;
//! * `SCAN`: scanned by the detectors, nothing else: the value is run through the
//!   prefilter's pattern sets (the same [`crate::PatternSet`] the scanner uses), and only a
//!   value that one of them matches goes to Python. A value no pattern can match cannot
//!   produce a finding there, so it stays as written;
//! * `PYTHON`: anything else (a field rule, a field name that says what the value is, free
//!   text for name detection, an unknown field to quarantine): goes to Python.
//!
//! Path decisions and the object keys known to hold no personal data are taught by the
//! engine (`set_path`, `add_plain_key`). A value at a path the gate has not been taught, or
//! an object member whose key it has not been taught, is *untaught*: it goes to Python
//! whole (checked to be valid JSON, not read), and the engine cleans it the slow way and
//! teaches the gate what it learnt; the rest of the record is gated as usual. Invalid or
//! unusual JSON (not an object, duplicate keys, too deep, too long, bytes that are not
//! UTF-8, escapes that make lone surrogates) makes the record *ineligible*: the engine
//! cleans all of it the slow way. String values the
//! detectors read through a transformation (non-ASCII text is folded, `%XX` escapes are
//! decoded, logscrub's own `<TOKEN>`s are masked, control characters are removed) go to
//! Python too, so the pattern sets only ever answer for exactly the text the scanner scans.
//!
//! The answer for a record is the list of values Python must look at, each as its path
//! from the root (keys and array indices), and whether some of them are untaught; an empty
//! list means "emit the record byte for byte as it came". Nothing here logs, panics on
//! input or puts a value into an error.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use regex::{Regex, RegexSet};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::need::{any_may_match, Have, Need};

/// How the engine treats a value at a field path.
const LEAF_KEEP: u8 = 0;
const LEAF_SCAN: u8 = 1;
#[allow(dead_code)] // sent by the engine: any value but KEEP and SCAN means Python
const LEAF_PYTHON: u8 = 2;
/// How the engine treats an object or array at a field path.
const CONTAINER_WALK: u8 = 0;
#[allow(dead_code)] // sent by the engine: neither WALK nor PYTHON means keep
const CONTAINER_KEEP: u8 = 1;
const CONTAINER_PYTHON: u8 = 2;

/// Separator of path segments in path keys (the engine joins its path tuples with it).
const SEP: u8 = 0x1f;
/// Separates a path key from the field name and the parent's name (as written).
const NAME_SEP: u8 = 0x1e;
/// The segment of an array item (the engine's `ARRAY`).
const ARRAY: &[u8] = b"[]";

/// Bounds of the taught tables: past them they are emptied and taught again.
const PATH_LIMIT: usize = 100_000;
const KEY_LIMIT: usize = 100_000;
/// Objects with more keys than this check duplicates with a hash set.
const FEW_KEYS: usize = 16;
/// Bound of the remembered verdicts (`Tables::verdicts`): past it they are emptied
/// (with `VERDICT_BYTES`, at most 4 MB of values).
const VERDICT_LIMIT: usize = 32_768;
/// Values longer than this are not remembered (long values rarely repeat).
const VERDICT_BYTES: usize = 128;
/// An integer literal with this many digits makes a record ineligible
/// (`_LONG_INTEGER` in pipeline/core/json_codec.py: 20 or more digits may not fit 64 bits).
const LONG_INTEGER_DIGITS: usize = 20;

/// The recognizers' pattern sets, each with what a match of it needs to count: the
/// scanner asks it which recognizers may find something in a text (its plan leaves the
/// others out), and the record gate is built on it.
#[pyclass(frozen, module = "pipeline.detection._native")]
pub struct GateSets {
    /// Shared with the record gates built on them: one `RegexSet` (and one lazy DFA
    /// cache) per set in the process, not one per user. A clone of a `RegexSet` has
    /// caches of its own; the gate's and the scanner's together were twice the memory
    /// the CPU caches had to hold, and the gate ran at twice its cost alone.
    sets: Arc<[GateSet]>,
}

#[pymethods]
impl GateSets {
    /// One tuple per pattern set, as `Scanner.gate_sets` describes them: patterns,
    /// recognizer bit, needs context, context words, validator, words that waive it.
    #[new]
    fn new(specs: Vec<(Vec<String>, u128, bool, Vec<String>, Option<String>, Vec<String>)>) -> PyResult<Self> {
        let mut sets = Vec::with_capacity(specs.len());
        for (patterns, bit, needs_context, needles, validator, waiver) in specs {
            let validator = match validator.as_deref() {
                None => None,
                Some("card") => Some(Validator::Card),
                Some("ipv6") => Some(Validator::Ipv6),
                Some(_) => return Err(PyValueError::new_err("unknown validator")),
            };
            sets.push(GateSet {
                set: crate::build_set(&patterns)?,
                needs: patterns.iter().map(|p| Need::of(p)).collect(),
                bit,
                needs_context,
                needles: words_regex(&needles)?,
                validator,
                waiver: words_regex(&waiver)?,
            });
        }
        Ok(GateSets { sets: sets.into() })
    }

    /// The bits of the recognizers that may find something in `text` under a field
    /// name that rules out `ruled_out` and is context for `context` (text the extension
    /// cannot read, such as lone surrogates: every bit).
    fn hits(&self, text: &Bound<'_, PyString>, ruled_out: u128, context: u128) -> u128 {
        let field = FieldBits { ruled_out, context, any_context: context != 0 };
        let Ok(text) = text.to_str() else {
            return self.sets.iter().fold(0, |acc, g| acc | g.bit);
        };
        let mut words = None;
        let have = Have::of(text);
        self.sets.iter().fold(0u128, |acc, g| {
            if acc & g.bit == 0 && g.may_find(text, &have, field, &mut words) {
                acc | g.bit
            } else {
                acc
            }
        })
    }
}

/// One set of a recognizer's (translated) patterns and what a match of it needs to count.
#[derive(Clone)]
struct GateSet {
    set: RegexSet,
    /// What a match of each pattern needs (see `crate::need`).
    needs: Vec<Need>,
    /// The recognizer's bit (0: the deny list, never ruled out).
    bit: u128,
    /// Matches count only with context: the field name, or one of `needles` in the value.
    needs_context: bool,
    /// Words that can be context, lower-cased letters and digits (see `normalized`).
    needles: Option<Regex>,
    /// A check every finding of this set passes, unless `waiver` is in the value.
    validator: Option<Validator>,
    waiver: Option<Regex>,
}

/// Validators repeated natively: necessary conditions of the detectors' own.
#[derive(Clone, Copy)]
enum Validator {
    /// `CreditCardRecognizer.validate_result`: 12-19 digits, an issuer prefix that
    /// allows that length, Luhn, not one digit repeated.
    Card,
    /// `IpAddressRecognizer`'s IPv6 patterns (`_is_host_address`): a colon address
    /// needs `::` or at least seven colons.
    Ipv6,
}

#[derive(Clone, Copy)]
struct FieldBits {
    ruled_out: u128,
    context: u128,
    /// The name is context for some entity (then the scanner reads even a benign value).
    any_context: bool,
}

struct PathInfo {
    leaf: u8,
    container: u8,
    /// Values the gate walked at this path since the last `take_path_counts` (drift).
    count: u64,
}

/// One segment of the way from the record's root to a value (keys shared with the
/// taught key table: a clone is a reference count).
#[derive(Clone)]
enum Seg {
    Key(Arc<str>),
    Index(usize),
}

/// Why a record is left to the engine's slow path (no detail leaves this module).
struct Ineligible;

type Res<T> = Result<T, Ineligible>;

/// Frozen, with its tables behind a mutex: the engine's thread scans while a metrics or
/// `/drift` thread may take the path counts.
#[pyclass(frozen, module = "pipeline.detection._native")]
pub struct RecordGate {
    /// The recognizers' pattern sets (see `GateSet`), shared with the `GateSets`.
    sets: Arc<[GateSet]>,
    /// The policy's deny list as one more set (then no value is benign by its shape alone).
    deny_set: Option<GateSet>,
    deny: bool,
    max_depth: usize,
    max_bytes: usize,
    tables: Mutex<Tables>,
}

struct Tables {
    paths: FxHashMap<Vec<u8>, u32>,
    infos: Vec<PathInfo>,
    /// Keys in which the engine found nothing, each with what the key says as a field
    /// name: the recognizer bits it rules out and those it is context for.
    plain_keys: FxHashMap<Arc<str>, FieldBits>,
    /// Whether one of the pattern sets may find something in a value to scan, per
    /// what its field name says (`FieldBits`) and the value. The answer depends on
    /// nothing else (the sets are fixed for the gate's life), and logs repeat values the
    /// gate cannot call benign by shape: thread and logger names, hosts, URL paths
    /// (about a third of the values the sets read on the generated corpus). A value
    /// seen before costs a hash lookup instead of up to 33 pattern-set passes.
    verdicts: FxHashMap<FieldKey, FxHashMap<Box<str>, bool>>,
    verdict_count: usize,
}

/// `FieldBits` as a map key.
type FieldKey = (u128, u128, bool);

#[pymethods]
impl RecordGate {
    /// `sets`: the recognizers' pattern sets (`GateSets`); `extra`: patterns that make
    /// a value go to Python in any case (the policy's deny list); limits as the engine's.
    #[new]
    fn new(
        sets: &GateSets,
        extra: Vec<String>,
        max_depth: usize,
        max_bytes: usize,
    ) -> PyResult<Self> {
        let deny = !extra.is_empty();
        let mut deny_set = None;
        if deny {
            deny_set = Some(GateSet {
                set: crate::build_set(&extra)?,
                needs: extra.iter().map(|p| Need::of(p)).collect(),
                bit: 0,
                needs_context: false,
                needles: None,
                validator: None,
                waiver: None,
            });
        }
        Ok(RecordGate {
            sets: Arc::clone(&sets.sets),
            deny_set,
            deny,
            max_depth,
            max_bytes,
            tables: Mutex::new(Tables {
                paths: FxHashMap::default(),
                infos: Vec::new(),
                plain_keys: FxHashMap::default(),
                verdicts: FxHashMap::default(),
                verdict_count: 0,
            }),
        })
    }

    /// Teach the decision for one field path: its lower-cased segments joined by U+001F,
    /// then U+001E, the field name as written, U+001E and the parent's name.
    fn set_path(&self, path: &str, leaf: u8, container: u8) {
        let mut tables = self.lock();
        if let Some(&id) = tables.paths.get(path.as_bytes()) {
            let info = &mut tables.infos[id as usize];
            info.leaf = leaf;
            info.container = container;
            return;
        }
        if tables.paths.len() >= PATH_LIMIT {
            tables.paths.clear();
            tables.infos.clear();
        }
        let id = tables.infos.len() as u32;
        tables.infos.push(PathInfo { leaf, container, count: 0 });
        tables.paths.insert(path.as_bytes().to_vec(), id);
    }

    /// Forget every taught path (the engine teaches them again as it walks).
    fn clear_paths(&self) {
        let mut tables = self.lock();
        tables.paths.clear();
        tables.infos.clear();
    }

    /// Teach an object key in which the engine found nothing: the bits of the
    /// recognizers that never run on a value under that field name, and of those for
    /// which the name is context.
    fn add_plain_key(&self, key: &str, ruled_out: u128, context: u128, any_context: bool) {
        let mut tables = self.lock();
        if tables.plain_keys.len() >= KEY_LIMIT {
            tables.plain_keys.clear();
        }
        tables.plain_keys.insert(Arc::from(key), FieldBits { ruled_out, context, any_context });
    }

    /// Forget the remembered verdicts on values (benchmarks start each timed pass cold,
    /// as they empty the engine's memo of scanned values).
    fn clear_verdicts(&self) {
        let mut tables = self.lock();
        tables.verdicts.clear();
        tables.verdict_count = 0;
    }

    /// Paths walked since the last call and how often (path key, count); counts reset.
    fn take_path_counts(&self) -> Vec<(String, u64)> {
        let mut guard = self.lock();
        let tables = &mut *guard;
        let mut out = Vec::new();
        for (path, &id) in tables.paths.iter() {
            let info = &mut tables.infos[id as usize];
            if info.count > 0 {
                // The path alone (without the names as written).
                let end = path.iter().position(|&b| b == NAME_SEP).unwrap_or(path.len());
                out.push((String::from_utf8_lossy(&path[..end]).into_owned(), info.count));
                info.count = 0;
            }
        }
        out
    }

    fn __len__(&self) -> usize {
        self.lock().paths.len()
    }

    /// The values of `record` that Python must look at (each a tuple of keys and
    /// indices from the root, in document order) and whether some of them are untaught,
    /// or None when the record is ineligible (see the module docs). Path counts are only
    /// taken for records that are eligible.
    fn scan<'py>(
        &self,
        py: Python<'py>,
        record: &Bound<'py, PyBytes>,
    ) -> PyResult<Option<(Bound<'py, PyList>, bool)>> {
        let bytes = record.as_bytes();
        if bytes.len() > self.max_bytes || std::str::from_utf8(bytes).is_err() {
            return Ok(None);
        }
        let mut tables = self.lock();
        let mut walk = Walk {
            gate: self,
            tables: &mut tables,
            src: bytes,
            pos: 0,
            path: Vec::with_capacity(64),
            segs: Vec::with_capacity(8),
            out: Vec::new(),
            buffer: String::with_capacity(bytes.len()),
            candidates: Vec::with_capacity(32),
            seq: 0,
            seen: Vec::with_capacity(32),
            text: String::with_capacity(64),
            field: FieldBits { ruled_out: 0, context: 0, any_context: false },
            name: None,
            parent: None,
            untaught: false,
        };
        if walk.record().is_err() {
            return Ok(None);
        }
        for &id in &walk.seen {
            walk.tables.infos[id as usize].count += 1;
        }
        let untaught = walk.untaught;
        let mut out = walk.decide();
        drop(tables);
        out.sort_by_key(|(seq, _)| *seq);
        let list = PyList::empty(py);
        for (_, segs) in &out {
            let items: Vec<Bound<'py, PyAny>> = segs
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => PyString::new(py, k).into_any(),
                    Seg::Index(i) => i.into_pyobject(py).expect("usize to int").into_any(),
                })
                .collect();
            list.append(PyTuple::new(py, items)?)?;
        }
        Ok(Some((list, untaught)))
    }
}

impl GateSet {
    /// Whether the scanner may find this set's recognizer in `text` under a field name
    /// that says `field`. `words` caches the normalized text.
    /// `have`: what `text` has (`Have::of(text)`).
    fn may_find(
        &self,
        text: &str,
        have: &Have,
        field: FieldBits,
        words: &mut Option<String>,
    ) -> bool {
        // The scanner's plan leaves out a recognizer the field name rules out; a text
        // without what every match needs is not read by the set at all.
        if self.bit & field.ruled_out != 0
            || !any_may_match(&self.needs, have)
            || !self.set.is_match(text)
        {
            return false;
        }
        if !text.is_ascii() {
            // Context words and field names are compared as the scanner normalizes
            // them (letters and digits, Unicode's idea of them): not repeated here.
            return true;
        }
        if self.needs_context && self.bit & field.context == 0 {
            let words = words.get_or_insert_with(|| normalized(text));
            if !self.needles.as_ref().is_some_and(|n| n.is_match(words)) {
                return false;
            }
        }
        if let Some(validator) = self.validator {
            if !validator.may_pass(text) {
                let words = words.get_or_insert_with(|| normalized(text));
                return self.waiver.as_ref().is_some_and(|w| w.is_match(words));
            }
        }
        true
    }
}

impl Validator {
    fn may_pass(self, text: &str) -> bool {
        match self {
            Validator::Card => card_possible(text.as_bytes()),
            Validator::Ipv6 => ipv6_possible(text.as_bytes()),
        }
    }
}

/// Whether some run of whole digit groups in `text` (groups: digit runs joined by one
/// space or dash) is a card number. Every match of the card patterns is such a run:
/// their boundaries forbid a digit before and after.
fn card_possible(text: &[u8]) -> bool {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if !text[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        groups.clear();
        loop {
            let start = i;
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            groups.push((start, i));
            let joined = i + 1 < text.len()
                && matches!(text[i], b' ' | b'-')
                && text[i + 1].is_ascii_digit();
            if !joined {
                break;
            }
            i += 1;
        }
        for first in 0..groups.len() {
            let mut digits: Vec<u8> = Vec::with_capacity(19);
            for &(start, end) in &groups[first..] {
                digits.extend_from_slice(&text[start..end]);
                if digits.len() > 19 {
                    break;
                }
                if digits.len() >= 12 && card_number(&digits) {
                    return true;
                }
            }
        }
    }
    false
}

/// Whether `text` holds `::` or a run of hex digits, colons and dots with at least seven
/// colons: every IPv6 match that `_is_host_address` accepts is in such a run (its
/// address part is hex groups, colons and maybe an IPv4 tail).
fn ipv6_possible(text: &[u8]) -> bool {
    if text.windows(2).any(|w| w == b"::") {
        return true;
    }
    let mut colons = 0;
    for &b in text {
        if b == b':' {
            colons += 1;
            if colons >= 7 {
                return true;
            }
        } else if !(b.is_ascii_hexdigit() || b == b'.') {
            colons = 0;
        }
    }
    false
}

/// `CreditCardRecognizer.validate_result` on ASCII digits.
fn card_number(digits: &[u8]) -> bool {
    let n = digits.len();
    if !(12..=19).contains(&n) || digits.iter().all(|&d| d == digits[0]) {
        return false;
    }
    let value = |k: usize| -> u32 {
        digits[..k].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    let (d1, d2, d3, d4) = (digits[0], value(2), value(3), value(4));
    let brand = if d1 == b'4' {
        matches!(n, 13 | 16 | 19)
    } else if (51..=55).contains(&d2) || (2221..=2720).contains(&d4) {
        n == 16
    } else if d2 == 34 || d2 == 37 {
        n == 15
    } else if d2 == 62 || d2 == 81 {
        (16..=19).contains(&n)
    } else if matches!(d2, 36 | 38 | 39) || (300..=305).contains(&d3) {
        (14..=19).contains(&n)
    } else if d4 == 6011 || d2 == 65 || (644..=649).contains(&d3) {
        (16..=19).contains(&n)
    } else if (3528..=3589).contains(&d4) {
        (16..=19).contains(&n)
    } else if matches!(d2, 50 | 56 | 57 | 58 | 60 | 63 | 67 | 69) {
        (12..=19).contains(&n)
    } else if d1 == b'1' {
        n == 15
    } else {
        false
    };
    brand && luhn(digits)
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// The value's ASCII letters (lower-cased) and digits, as the scanner normalizes a word
/// (`field_name_key`): a context word of the value is a substring of this.
fn normalized(text: &str) -> String {
    text.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// One regex finding any of `words` (None for none).
fn words_regex(words: &[String]) -> PyResult<Option<Regex>> {
    if words.is_empty() {
        return Ok(None);
    }
    let alternation: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
    regex::RegexBuilder::new(&alternation.join("|"))
        .size_limit(16 << 20)
        .build()
        .map(Some)
        .map_err(|e| PyValueError::new_err(format!("word set does not compile: {e}")))
}

impl RecordGate {
    /// The tables (nothing panics while holding the lock; a poisoned lock is taken over
    /// as it is).
    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A value to scan: its span in the walk's buffer and its way from the root.
struct Candidate {
    seq: usize,
    start: usize,
    end: usize,
    /// What its field name says.
    field: FieldBits,
    /// What its text has (see `crate::need`).
    have: Have,
    segs: Vec<Seg>,
}

struct Walk<'a> {
    gate: &'a RecordGate,
    tables: &'a mut Tables,
    /// The record (checked to be UTF-8).
    src: &'a [u8],
    pos: usize,
    /// The current path key (segments joined by SEP).
    path: Vec<u8>,
    /// The current way from the root.
    segs: Vec<Seg>,
    /// Values for Python, with their place in document order.
    out: Vec<(usize, Vec<Seg>)>,
    /// The texts of the values to scan, one after the other (`Candidate` spans).
    buffer: String,
    candidates: Vec<Candidate>,
    /// Values seen so far (document order).
    seq: usize,
    /// Ids of the paths walked (counted once the record turns out eligible).
    seen: Vec<u32>,
    /// The last string read, decoded.
    text: String,
    /// What the current value's field name says.
    field: FieldBits,
    /// The current value's field name and its parent's, as written (array items keep
    /// their array's).
    name: Option<Arc<str>>,
    parent: Option<Arc<str>>,
    /// Some value went to Python because its path or key was not taught.
    untaught: bool,
}

impl Walk<'_> {
    fn record(&mut self) -> Res<()> {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(Ineligible);
        }
        self.object(1)?;
        self.ws();
        if self.pos != self.src.len() {
            return Err(Ineligible);
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Res<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Ineligible)
        }
    }

    /// The decisions at the current path (None if not taught).
    fn decision(&mut self) -> Option<(u8, u8)> {
        // The engine decides per path *and* spelling: the field name and its parent's
        // name as written (`netBssid` names a MAC, `netbssid` does not).
        let mark = self.path.len();
        self.path.push(NAME_SEP);
        if let Some(name) = &self.name {
            self.path.extend_from_slice(name.as_bytes());
        }
        self.path.push(NAME_SEP);
        if let Some(parent) = &self.parent {
            self.path.extend_from_slice(parent.as_bytes());
        }
        let found = self.tables.paths.get(&self.path).copied();
        self.path.truncate(mark);
        let id = found?;
        self.seen.push(id);
        let info = &self.tables.infos[id as usize];
        Some((info.leaf, info.container))
    }

    /// Open a container at `depth` (the root is 1; deeper than the limit: ineligible),
    /// `self.pos` at `open`; true when it is empty (then it is read to its end).
    fn enter(&mut self, depth: usize, open: u8, close: u8) -> Res<bool> {
        if depth > self.gate.max_depth {
            return Err(Ineligible);
        }
        self.expect(open)?;
        self.ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// An object at `depth` (the root is 1), `self.pos` at its `{`.
    fn object(&mut self, depth: usize) -> Res<()> {
        if self.enter(depth, b'{', b'}')? {
            return Ok(());
        }
        // Keys of this object, for duplicates. Taught keys are shared, so one key is
        // one pointer; a hash set past a few (no quadratic time on a huge object).
        let mut keys: Vec<Arc<str>> = Vec::new();
        let mut many: FxHashSet<*const u8> = FxHashSet::default();
        let mut new_keys: FxHashSet<Box<str>> = FxHashSet::default();
        // Members are named by their key; their parent is this object's name.
        let own_name = self.name.clone();
        loop {
            self.ws();
            self.string()?;
            // The separators of path keys cannot be part of a key (no two paths may
            // spell the same table key).
            if self.text.bytes().any(|b| b == SEP || b == NAME_SEP) {
                return Err(Ineligible);
            }
            self.ws();
            self.expect(b':')?;
            self.ws();
            let taught = self
                .tables
                .plain_keys
                .get_key_value(self.text.as_str())
                .map(|(k, f)| (k.clone(), *f));
            if let Some((key, field)) = taught {
                let duplicate = if keys.len() < FEW_KEYS {
                    keys.iter().any(|k| Arc::ptr_eq(k, &key))
                } else {
                    if many.is_empty() {
                        many.extend(keys.iter().map(|k| k.as_ptr()));
                    }
                    !many.insert(key.as_ptr())
                };
                if duplicate {
                    return Err(Ineligible);
                }
                let mark = self.path.len();
                if !self.path.is_empty() {
                    self.path.push(SEP);
                }
                if key.is_ascii() {
                    self.path.extend(key.bytes().map(|b| b.to_ascii_lowercase()));
                } else {
                    self.path.extend(key.to_lowercase().bytes());
                }
                self.segs.push(Seg::Key(key.clone()));
                if keys.len() < FEW_KEYS {
                    keys.push(key.clone());
                }
                // A member's field name is its key; array items keep their array's.
                let outer = std::mem::replace(&mut self.field, field);
                let outer_name = std::mem::replace(&mut self.name, Some(key));
                let outer_parent = std::mem::replace(&mut self.parent, own_name.clone());
                self.value(depth)?;
                self.field = outer;
                self.name = outer_name;
                self.parent = outer_parent;
                self.segs.pop();
                self.path.truncate(mark);
            } else {
                // A key not taught: the member goes to Python whole (the engine cleans the
                // key as well). A taught key never has the text of one that is not, so
                // these are checked for duplicates among themselves, by their text.
                if !new_keys.insert(Box::from(self.text.as_str())) {
                    return Err(Ineligible);
                }
                self.segs.push(Seg::Key(Arc::from(self.text.as_str())));
                self.untaught(depth)?;
                self.segs.pop();
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Ineligible),
            }
        }
    }

    /// An array at `depth`, `self.pos` at its `[`.
    fn array(&mut self, depth: usize) -> Res<()> {
        if self.enter(depth, b'[', b']')? {
            return Ok(());
        }
        let mark = self.path.len();
        if !self.path.is_empty() {
            self.path.push(SEP);
        }
        self.path.extend_from_slice(ARRAY);
        let mut index = 0usize;
        loop {
            self.ws();
            self.segs.push(Seg::Index(index));
            self.value(depth)?;
            self.segs.pop();
            index += 1;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.path.truncate(mark);
                    return Ok(());
                }
                _ => return Err(Ineligible),
            }
        }
    }

    /// The value at the current path; `depth` is its container's.
    fn value(&mut self, depth: usize) -> Res<()> {
        let Some((leaf, container)) = self.decision() else {
            return self.untaught(depth);
        };
        match self.peek() {
            Some(b'{') | Some(b'[') => {
                if container == CONTAINER_WALK {
                    if self.peek() == Some(b'{') {
                        self.object(depth + 1)
                    } else {
                        self.array(depth + 1)
                    }
                } else {
                    // Kept whole, or one rule for the whole subtree: skipped here (the
                    // engine reads it again when it goes to Python), checked all the same.
                    if container == CONTAINER_PYTHON {
                        self.to_python();
                    }
                    self.skip(depth + 1)
                }
            }
            Some(b'"') => {
                self.string()?;
                let text = std::mem::take(&mut self.text);
                self.leaf_text(leaf, &text, false);
                self.text = text;
                Ok(())
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(leaf),
            _ => Err(Ineligible),
        }
    }

    /// Decide a string value (or a number's text when `number`).
    fn leaf_text(&mut self, leaf: u8, text: &str, number: bool) {
        match leaf {
            LEAF_KEEP => {}
            LEAF_SCAN if number || (plain_for_scan(text) && !may_hold_json(text)) => {
                if !self.field.any_context && !self.gate.deny && benign_shape(text) {
                    return; // the scanner answers such a value without any recognizer
                }
                self.seq += 1;
                let start = self.buffer.len();
                self.buffer.push_str(text);
                let end = self.buffer.len();
                self.candidates.push(Candidate {
                    seq: self.seq,
                    start,
                    end,
                    field: self.field,
                    have: Have::of(text),
                    segs: self.segs.clone(),
                });
            }
            _ => self.to_python(),
        }
    }

    fn to_python(&mut self) {
        self.seq += 1;
        self.out.push((self.seq, self.segs.clone()));
    }

    /// A value at a path or under a key the gate was not taught (`depth`: its
    /// container's): to Python whole, read only to check it is valid JSON. The engine
    /// walks it as it walks an ineligible record, and teaches the gate what it decides.
    fn untaught(&mut self, depth: usize) -> Res<()> {
        self.untaught = true;
        self.to_python();
        self.skip_value(depth)
    }

    /// The values to scan that a pattern set may find something in join those for Python.
    ///
    /// Each value is tried on its own, and only with the sets whose needs it meets
    /// (`crate::need`: most values lack the digits, `@` or `=` a set's every match has),
    /// stopping at the first set that may find something. (Running every set over all
    /// the record's values at once first read each value 30 times; with the needs, the
    /// values one by one read less: gate 17.1 -> 15.1 µs per record on the 30% corpus.)
    fn decide(mut self) -> Vec<(usize, Vec<Seg>)> {
        let gate = self.gate;
        let tables = &mut *self.tables;
        for c in self.candidates {
            let text = &self.buffer[c.start..c.end];
            let field: FieldKey = (c.field.ruled_out, c.field.context, c.field.any_context);
            let known = tables.verdicts.get(&field).and_then(|m| m.get(text)).copied();
            let may_find = known.unwrap_or_else(|| {
                let mut words: Option<String> = None;
                let mut sets = gate.sets.iter().chain(gate.deny_set.iter());
                let found = sets.any(|g| g.may_find(text, &c.have, c.field, &mut words));
                if text.len() <= VERDICT_BYTES {
                    if tables.verdict_count >= VERDICT_LIMIT {
                        tables.verdicts.clear();
                        tables.verdict_count = 0;
                    }
                    tables.verdicts.entry(field).or_default().insert(Box::from(text), found);
                    tables.verdict_count += 1;
                }
                found
            });
            if may_find {
                self.out.push((c.seq, c.segs));
            }
        }
        self.out
    }

    fn literal(&mut self, word: &[u8]) -> Res<()> {
        if self.src[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Ineligible)
        }
    }

    /// A JSON number. Integers below a million and floats whose absolute value is below
    /// it are not scanned (the engine's rule: counters and epoch seconds stay numbers);
    /// longer integers are scanned as their digits; larger floats go to Python.
    fn number(&mut self, leaf: u8) -> Res<()> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.pos += 1;
                }
            }
            _ => return Err(Ineligible),
        }
        let int_digits = self.pos - int_start;
        if int_digits >= LONG_INTEGER_DIGITS {
            // orjson reads such an integer as a float (digits lost); the engine's decoder
            // parses the record again to keep them. Left to the usual way, so that the
            // engine can parse a gated record with orjson alone (`Engine._apply_gated`).
            return Err(Ineligible);
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            float = true;
            self.pos += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            float = true;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        if leaf == LEAF_KEEP {
            return Ok(());
        }
        let text = std::str::from_utf8(&self.src[start..self.pos]).map_err(|_| Ineligible)?;
        if leaf != LEAF_SCAN {
            self.to_python();
        } else if float {
            match text.parse::<f64>() {
                Ok(v) if v.abs() < 1_000_000.0 => {}
                _ => self.to_python(),
            }
        } else if int_digits >= 7 {
            let text = text.to_owned();
            self.leaf_text(LEAF_SCAN, &text, true);
        }
        Ok(())
    }

    fn digits(&mut self) -> Res<()> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        if self.pos == start {
            Err(Ineligible)
        } else {
            Ok(())
        }
    }

    /// A JSON string, decoded into `self.text`; `self.pos` at its opening quote.
    fn string(&mut self) -> Res<()> {
        self.expect(b'"')?;
        self.text.clear();
        let mut run = self.pos;
        loop {
            let Some(byte) = self.peek() else {
                return Err(Ineligible);
            };
            match byte {
                b'"' => {
                    self.push_run(run)?;
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.push_run(run)?;
                    self.pos += 1;
                    let esc = self.peek().ok_or(Ineligible)?;
                    self.pos += 1;
                    let ch = match esc {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(Ineligible),
                    };
                    self.text.push(ch);
                    run = self.pos;
                }
                0x00..=0x1f => return Err(Ineligible),
                _ => self.pos += 1,
            }
        }
    }

    fn push_run(&mut self, run: usize) -> Res<()> {
        // The record is UTF-8 (checked first) and a run ends at an ASCII quote or
        // backslash, so the slice is UTF-8 too; checked again all the same (cheap).
        let piece = std::str::from_utf8(&self.src[run..self.pos]).map_err(|_| Ineligible)?;
        self.text.push_str(piece);
        Ok(())
    }

    fn hex4(&mut self) -> Res<u32> {
        let digits = self.src.get(self.pos..self.pos + 4).ok_or(Ineligible)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(Ineligible);
        }
        let text = std::str::from_utf8(digits).map_err(|_| Ineligible)?;
        let value = u32::from_str_radix(text, 16).map_err(|_| Ineligible)?;
        self.pos += 4;
        Ok(value)
    }

    /// `\uXXXX` (after the `u`), with surrogate pairs; a lone surrogate is ineligible.
    fn unicode_escape(&mut self) -> Res<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if !self.src[self.pos..].starts_with(b"\\u") {
                return Err(Ineligible);
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(Ineligible);
            }
            let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            return char::from_u32(code).ok_or(Ineligible);
        }
        char::from_u32(first).ok_or(Ineligible)
    }

    /// Skip any value in a container at `depth`, checking it is valid JSON within the
    /// depth limit (its numbers are checked as the gate's: no long integer).
    fn skip_value(&mut self, depth: usize) -> Res<()> {
        match self.peek() {
            Some(b'{' | b'[') => self.skip(depth + 1),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(LEAF_KEEP),
            _ => Err(Ineligible),
        }
    }

    /// Skip a container, checking it is valid JSON within the depth limit.
    fn skip(&mut self, depth: usize) -> Res<()> {
        let (open, close) = match self.peek() {
            Some(b'{') => (b'{', b'}'),
            Some(b'[') => (b'[', b']'),
            _ => return Err(Ineligible),
        };
        if self.enter(depth, open, close)? {
            return Ok(());
        }
        let object = close == b'}';
        loop {
            self.ws();
            if object {
                self.string()?;
                self.ws();
                self.expect(b':')?;
                self.ws();
            }
            self.skip_value(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Ineligible),
            }
        }
    }
}

/// `Scanner.scan`'s shortcut: a value whose shape is an ISO date or time, a clock time,
/// an integer of up to 10 digits, a short decimal, a UUID, a 16/32/40/64-hex id or a
/// word without digits is answered with no finding when its field name is context for
/// nothing and there is no deny list (`_BENIGN_SHAPE` in pipeline/detection/scanner.py, whose
/// `(?=[0a]*a)` lookahead is the `has_hex_letter` check here; a unit test compares the
/// two). ASCII text only.
#[pyfunction]
pub fn benign_shape(text: &str) -> bool {
    static BENIGN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let benign = BENIGN.get_or_init(|| {
        Regex::new(concat!(
            r"\A(?:0000-00-00(?:[x ]00:00(?::00)?(?:[.,]0{1,9})?)?(?:x|[+\-]00:?00)?",
            r"|00:00(?::00)?(?:[.,]0{1,9})?",
            r"|[+\-]?0{1,10}(?:\.0{1,2})?",
            r"|[0a]{8}-[0a]{4}-[0a]{4}-[0a]{4}-[0a]{12}",
            r"|[ax][ax\-_.]{0,63})\z",
        ))
        .expect("the benign shape pattern compiles")
    });
    if !text.is_ascii() || text.len() < 2 {
        return false;
    }
    let shape: String = text
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' => '0',
            b'a'..=b'f' | b'A'..=b'F' => 'a',
            b'g'..=b'z' | b'G'..=b'Z' => 'x',
            other => char::from(other),
        })
        .collect();
    if matches!(shape.len(), 16 | 32 | 40 | 64)
        && shape.bytes().all(|b| b == b'0' || b == b'a')
        && shape.contains('a')
    {
        return true;
    }
    benign.is_match(&shape)
}

/// Whether the engine reads `text` as JSON held in a string (`Engine._node`: it starts
/// with `{` or `[` and ends with `}` or `]`): its keys then name its values as a record's
/// do (`{"name":"Wang Lei"}`), which the pattern sets do not see.
fn may_hold_json(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 1
        && matches!(bytes[0], b'{' | b'[')
        && matches!(bytes[bytes.len() - 1], b'}' | b']')
}

/// Whether the scanner scans `text` exactly as written: ASCII without control characters
/// (folded away), written-out `\n`/`\t`/`\r` (folded to a space), `%XX` escapes (decoded
/// first) or a `<`...`>` pair (logscrub's own tokens are masked).
fn plain_for_scan(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut lt = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            // Kept by the folding: tab and line breaks.
            b'\t' | b'\n' | b'\r' => {}
            0x00..=0x1f | 0x7f..=0xff => return false,
            b'\\' => {
                if let Some(b'n' | b't' | b'r') = bytes.get(i + 1) {
                    return false;
                }
            }
            b'%' => {
                if bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
                {
                    return false;
                }
            }
            b'<' => lt = true,
            b'>' if lt => return false,
            _ => {}
        }
    }
    true
}

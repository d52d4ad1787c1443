//! logscrub's compiled prefilter: one `regex::RegexSet` pass over a text says which
//! recognizers can possibly match in it.
//!
//! The patterns given to [`PatternSet`] are *supersets* of the detectors' Python patterns
//! (translated in `pipeline/detection/prefilter.py`: lookarounds and anchors dropped, backreferences
//! replaced by the group they repeat), so a recognizer whose bit is not set cannot find
//! anything in the text, and the Python scanner skips it. The exact Python patterns still
//! decide every finding.
//!
//! Nothing here logs, panics on input or puts text into an error message.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use regex::{RegexSet, RegexSetBuilder};

mod need;
mod record;

/// Bits in a hit mask: recognizer `i` is bit `i % 128` (several recognizers may share a
/// bit when there are more than 128; a set bit then means "one of them may match").
pub(crate) const BITS: u32 = 128;

/// Compiled patterns, one `RegexSet` per recognizer bit.
///
/// One set of all patterns would be one pass, but its lazy DFA is the product of 77
/// patterns: on the generated corpus its cache thrashed and a 6-character text took up
/// to 40 ms (1,200 lines/s). One small set per recognizer, each stopping at its first
/// match, stays at a few hundred nanoseconds per text.
#[pyclass(frozen, module = "pipeline.detection._native")]
pub struct PatternSet {
    pub(crate) sets: Vec<(RegexSet, u128)>,
    len: usize,
    /// Bits reported for a text that cannot be scanned here (lone surrogates).
    all: u128,
}

#[pymethods]
impl PatternSet {
    /// `patterns[i]` belongs to recognizer `groups[i]`.
    #[new]
    fn new(patterns: Vec<String>, groups: Vec<u32>) -> PyResult<Self> {
        if patterns.len() != groups.len() {
            return Err(PyValueError::new_err("patterns and groups differ in length"));
        }
        let mut by_bit: Vec<(u128, Vec<&str>)> = Vec::new();
        for (pattern, group) in patterns.iter().zip(&groups) {
            let bit = 1u128 << (group % BITS);
            match by_bit.iter_mut().find(|(b, _)| *b == bit) {
                Some((_, members)) => members.push(pattern),
                None => by_bit.push((bit, vec![pattern])),
            }
        }
        let mut sets = Vec::with_capacity(by_bit.len());
        let mut all = 0u128;
        for (bit, members) in by_bit {
            sets.push((build_set(&members)?, bit));
            all |= bit;
        }
        Ok(PatternSet { sets, len: patterns.len(), all })
    }

    /// The mask of recognizers with at least one pattern matching somewhere in `text`.
    fn hits(&self, text: &Bound<'_, PyString>) -> u128 {
        match text.to_str() {
            Ok(s) => self.sets.iter().fold(0u128, |acc, (set, bit)| {
                if acc & bit == 0 && set.is_match(s) {
                    acc | bit
                } else {
                    acc
                }
            }),
            Err(_) => self.all,
        }
    }

    /// Whether any pattern matches somewhere in `text` (stops at the first match).
    fn is_match(&self, text: &Bound<'_, PyString>) -> bool {
        match text.to_str() {
            Ok(s) => self.sets.iter().any(|(set, _)| set.is_match(s)),
            Err(_) => true,
        }
    }

    /// The hit masks of many texts in one call.
    fn hits_many(&self, texts: Vec<Bound<'_, PyString>>) -> Vec<u128> {
        texts.iter().map(|t| self.hits(t)).collect()
    }

    fn __len__(&self) -> usize {
        self.len
    }
}

/// One set of patterns, with the limits every set here gets.
pub(crate) fn build_set<S: AsRef<str>>(patterns: &[S]) -> PyResult<RegexSet> {
    RegexSetBuilder::new(patterns)
        .size_limit(64 << 20)
        .dfa_size_limit(16 << 20)
        .build()
        .map_err(|e| PyValueError::new_err(format!("pattern set does not compile: {e}")))
}

/// `None` if `pattern` compiles with the Rust `regex` crate, else why not.
#[pyfunction]
fn compile_error(pattern: &str) -> Option<String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(256 << 20)
        .build()
        .err()
        .map(|e| e.to_string())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PatternSet>()?;
    m.add_class::<record::RecordGate>()?;
    m.add_class::<record::GateSets>()?;
    m.add_function(wrap_pyfunction!(record::benign_shape, m)?)?;
    m.add_function(wrap_pyfunction!(compile_error, m)?)?;
    // What a gated record guarantees beyond the module docs of `record.rs` (the engine
    // relies on it only when the compiled module says so): 2 = no integer literal of 20
    // or more digits; 3 = a value at a path or under a key not taught goes to Python
    // (`scan` answers the values and whether some are untaught) instead of making the
    // whole record ineligible.
    m.add("GATE_VERSION", 3)?;
    Ok(())
}

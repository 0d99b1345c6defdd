//! A name pattern, as routing rules, learned rules and agent-bound tokens
//! write it: an exact name (`payments-db`), or a prefix ending in `*`
//! (`payments-*`, and `*` alone for every name). Case matters, as in names.

/// Whether `name` is one the pattern names.
pub fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

/// Whether the pattern is a well-formed one: a name, or a name's prefix
/// followed by one `*`, nowhere else.
pub fn well_formed(pattern: &str) -> bool {
    !pattern.strip_suffix('*').unwrap_or(pattern).contains('*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_a_name_or_a_prefix() {
        assert!(matches("payments-db", "payments-db") && !matches("payments-db", "payments-db-2"));
        assert!(matches("payments-*", "payments-db") && matches("payments-*", "payments-"));
        assert!(!matches("payments-*", "Payments-db") && matches("*", "anything"));
        assert!(well_formed("deployer-*") && well_formed("x") && !well_formed("a*b") && !well_formed("**"));
    }
}

//! Numbered placeholders (`$1, $2, …`) for statements whose size depends on their input: a
//! multi-row insert, an `IN (…)` list. sqlx's query builder writes `?` for the `Any` driver,
//! which SQLite takes and PostgreSQL does not; `$n` both take.

/// `"$from, $from+1, …"` for `n` values.
pub fn list(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"($1, $2), ($3, $4)"` for `rows` rows of `columns` values each.
pub fn rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", list(1 + r * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered() {
        assert_eq!(list(1, 3), "$1, $2, $3");
        assert_eq!(list(4, 1), "$4");
        assert_eq!(list(1, 0), "");
        assert_eq!(rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}

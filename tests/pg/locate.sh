# Where the PostgreSQL server binaries are: on PATH, or in the places
# packages put them without linking them onto PATH. Sourced by
# tests/prerequisites and tests/pg/cluster.sh.
#
# MANDATE_PG_SEARCH (space-separated glob patterns) replaces the places
# searched besides PATH.

pg_search_dirs() {
    echo "${MANDATE_PG_SEARCH-/usr/lib/postgresql/*/bin /usr/pgsql-*/bin /usr/local/pgsql/bin /opt/homebrew/opt/postgresql*/bin /usr/local/opt/postgresql*/bin}"
}

# Prints the path of PostgreSQL binary $1, newest version first; fails quietly.
find_pg_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return 0; fi
    local pattern candidate
    for pattern in $(pg_search_dirs); do
        # Newest version first: sort the expanded directories in reverse version order.
        for candidate in $(printf '%s\n' $pattern/"$1" | sort -rV); do
            if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
        done
    done
    return 1
}

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   eval "$(tests/pg/cluster.sh start)"   # exports MANDATE_TEST_PG_URL, MANDATE_TEST_PG_DIR
#   tests/pg/cluster.sh stop "$MANDATE_TEST_PG_DIR"
#   tests/pg/cluster.sh down DIR | up DIR   # stop and start again on the same port (fault tests)
#
# PostgreSQL refuses to run as root, so as root the cluster runs as the
# unprivileged user `postgres` (or `nobody`). Fails loudly if it cannot start.
set -euo pipefail

# shellcheck source=locate.sh
. "$(dirname "$0")/locate.sh"

find_bin() {
    find_pg_bin "$1" || {
        echo "cluster.sh: $1 not found; run tests/prerequisites, which names or installs what is missing" >&2
        exit 1
    }
}

as_db_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$DB_USER" -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local initdb pg_ctl dir port
    initdb=$(find_bin initdb)
    pg_ctl=$(find_bin pg_ctl)
    DB_USER=postgres
    if [ "$(id -u)" -eq 0 ] && ! id -u "$DB_USER" >/dev/null 2>&1; then DB_USER=nobody; fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/mandate-pg.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then chown "$DB_USER" "$dir"; fi
    as_db_user "$initdb" -D "$dir/data" -U mandate -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        rm -rf "$dir"
        echo "cluster.sh: initdb failed" >&2
        exit 1
    }
    for _ in $(seq 1 20); do
        # Below the kernel's ephemeral range (32768 up), so that while a
        # fault test holds the cluster down no outgoing connection can take
        # its port before `up` starts it there again.
        port=$((20000 + RANDOM % 12000))
        port_in_use "$port" && continue
        if as_db_user "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null 2>&1; then
            echo "$port" >"$dir/port"
            echo "export MANDATE_TEST_PG_URL=postgres://mandate@127.0.0.1:$port/postgres"
            echo "export MANDATE_TEST_PG_DIR=$dir"
            return 0
        fi
    done
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    echo "cluster.sh: PostgreSQL did not start" >&2
    exit 1
}

stop() {
    local dir=${1:?usage: cluster.sh stop DIR}
    DB_USER=$(stat -c %U "$dir")
    as_db_user "$(find_bin pg_ctl)" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

# The server process only: the data stays, `up` starts it on the same port.
down() {
    local dir=${1:?usage: cluster.sh down DIR}
    DB_USER=$(stat -c %U "$dir")
    as_db_user "$(find_bin pg_ctl)" -D "$dir/data" -m fast -w stop >/dev/null
}

up() {
    local dir=${1:?usage: cluster.sh up DIR} port attempt
    DB_USER=$(stat -c %U "$dir")
    port=$(cat "$dir/port")
    for attempt in 1 2 3; do
        if as_db_user "$(find_bin pg_ctl)" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null; then
            return 0
        fi
        echo "cluster.sh: PostgreSQL did not start again on port $port (attempt $attempt); its log ends:" >&2
        tail -n 5 "$dir/server.log" >&2 || true
        sleep 1
    done
    return 1
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    down) down "${2:-}" ;;
    up) up "${2:-}" ;;
    *) echo "usage: cluster.sh start | stop DIR | down DIR | up DIR" >&2; exit 2 ;;
esac

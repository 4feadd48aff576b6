#!/usr/bin/env bash
# Throw-away PostgreSQL cluster for tests.
#
#   .ci/pg.sh start DIR PORT   # creates DIR/data, starts the server, prints its URL
#   .ci/pg.sh stop DIR         # stops it (DIR can then be removed)
#
# Listens on 127.0.0.1:PORT only, socket in DIR, trust authentication for the
# `postgres` role (loopback test use only). When run as root, initdb/pg_ctl run as the
# `postgres` OS user (PostgreSQL refuses to run as root), which must own DIR.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

find_bin() {
    local name=$1 dir
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
        return
    fi
    # Debian's postgresql packages keep the server binaries off PATH.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/$name" ]; then
            echo "$dir/$name"
            return
        fi
    done
    die "$name not found (install PostgreSQL: apt-get install -y postgresql)"
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cmd=${1:-}
case "$cmd" in
start)
    [ $# -eq 3 ] || die "usage: $0 start DIR PORT"
    dir=$2 port=$3
    case "$port" in ''|*[!0-9]*) die "PORT must be a number" ;; esac
    initdb=$(find_bin initdb)
    pg_ctl=$(find_bin pg_ctl)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -e "$dir/data" ] && die "$dir/data already exists (stop and remove it first)"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "no postgres OS user (install PostgreSQL)"
        chown postgres: "$dir"
        # The server user must be able to reach DIR through every parent directory.
        as_pg test -w "$dir" || die "user postgres cannot write to $dir (pick a directory under /tmp)"
    fi
    as_pg "$initdb" -D "$dir/data" -A trust -U postgres --encoding=UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    # fsync off: the cluster is disposable and tests create many databases.
    as_pg "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; die "pg_ctl start failed"; }
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    dir=$2
    [ -d "$dir/data" ] || die "no cluster in $dir"
    pg_ctl=$(find_bin pg_ctl)
    as_pg "$pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    echo "stopped"
    ;;
*)
    die "usage: $0 start DIR PORT | stop DIR"
    ;;
esac

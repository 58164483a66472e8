#!/usr/bin/env bash
# A local MariaDB server for CDC tests and the demo: Debian's mariadb-server package, our own data
# directory, loopback only, ROW binlog with full row images and full row metadata.
#
# Usage: scripts/mariadb.sh start   (idempotent: starts the server unless it already runs; prints
#                                    the exports below)
#        scripts/mariadb.sh stop
#        scripts/mariadb.sh kill    (kill -9, as a crash: no clean shutdown; for restart tests)
#        scripts/mariadb.sh env     (prints the exports of the running server)
#        scripts/mariadb.sh sql [ARGS...]   (the mariadb client as root, e.g. -e 'SELECT 1')
#
# Exports: MYSQL_HOST MYSQL_PORT MYSQL_USER MYSQL_PASSWORD (a CDC user with the privileges
# rust-mysql-cdc needs) MYSQL_ROOT_SOCKET.
# Environment: MARIADB_DIR (state directory, default ${TMPDIR:-/tmp}/flink-rust-mariadb),
#   MARIADB_PORT (default 3307), MARIADB_START_TIMEOUT (default 60 s),
#   MARIADB_EXTRA_CNF (extra [mysqld] lines appended to my.cnf, so they override the settings
#   above them; e.g. 'skip-log-bin' for a server without a binlog, as the preflight tests use).
# Installs mariadb-server with apt-get when mariadbd is missing (as root).
set -euo pipefail
cmd="${1:?usage: mariadb.sh start|stop|kill|env|sql}"
shift || true
dir="${MARIADB_DIR:-${TMPDIR:-/tmp}/flink-rust-mariadb}"
port="${MARIADB_PORT:-3307}"
timeout="${MARIADB_START_TIMEOUT:-60}"
sock="$dir/mysqld.sock"
cnf="$dir/my.cnf"
# The CDC user the tests and the demo connect as (loopback only; not a secret).
cdc_user="flinkcdc"
cdc_password="flinkcdc-pw"

log() { echo "mariadb: $*" >&2; }

print_env() {
  cat <<EOF
export MYSQL_HOST=127.0.0.1
export MYSQL_PORT=$(cat "$dir/port")
export MYSQL_USER=$cdc_user
export MYSQL_PASSWORD=$cdc_password
export MYSQL_ROOT_SOCKET=$sock
EOF
}

# -h localhost: MYSQL_HOST in the environment (as the exports below set it) would win over -S.
root_sql() { mariadb --no-defaults -h localhost --protocol=socket -S "$sock" -uroot "$@"; }

running() {
  [[ -f "$dir/mysqld.pid" ]] && kill -0 "$(cat "$dir/mysqld.pid")" 2>/dev/null \
    && root_sql -N -e 'SELECT 1' >/dev/null 2>&1
}

install_server() {
  command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] && return 0
  log "installing mariadb-server (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null
}

start() {
  if running; then
    print_env
    return 0
  fi
  install_server
  export PATH="$PATH:/usr/sbin"
  mkdir -p "$dir/binlog" "$dir/tmp"
  echo "$port" >"$dir/port"
  cat >"$cnf" <<EOF
[mysqld]
datadir=$dir/data
socket=$sock
pid-file=$dir/mysqld.pid
# A temporary directory per server: servers bootstrapping at once in a shared /tmp failed on
# each other's temporary tables ("Error on delete of '/tmp/#sql-temptable-...'").
tmpdir=$dir/tmp
port=$port
bind-address=127.0.0.1
skip-name-resolve
log_error=$dir/mysqld.err
server_id=1
log_bin=$dir/binlog/bin
binlog_format=ROW
binlog_row_image=FULL
binlog_row_metadata=FULL
max_connections=500
innodb_buffer_pool_size=256M
innodb_flush_log_at_trx_commit=2
sync_binlog=0
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
${MARIADB_EXTRA_CNF:-}
EOF
  if [[ ! -d "$dir/data/mysql" ]]; then
    mariadb-install-db --defaults-file="$cnf" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
      || { cat "$dir/install.log" >&2; exit 1; }
  fi
  log "starting on 127.0.0.1:$port (data in $dir)"
  nohup mariadbd --defaults-file="$cnf" --user="$(id -un)" >>"$dir/mysqld.out" 2>&1 &
  local deadline=$((SECONDS + timeout))
  until root_sql -N -e 'SELECT 1' >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      log "not accepting connections after ${timeout}s; log follows"
      tail -n 40 "$dir/mysqld.err" >&2 || true
      exit 1
    fi
    # Polling the socket with a deadline: the server has no readiness notification we can wait on.
    sleep 0.2
  done
  root_sql <<EOF
CREATE USER IF NOT EXISTS '$cdc_user'@'127.0.0.1' IDENTIFIED BY '$cdc_password';
CREATE USER IF NOT EXISTS '$cdc_user'@'localhost' IDENTIFIED BY '$cdc_password';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '$cdc_user'@'127.0.0.1';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '$cdc_user'@'localhost';
-- Optional: lets rust-mysql-cdc see other replicas' server ids at submission (SHOW SLAVE HOSTS).
GRANT REPLICATION MASTER ADMIN ON *.* TO '$cdc_user'@'127.0.0.1';
GRANT REPLICATION MASTER ADMIN ON *.* TO '$cdc_user'@'localhost';
FLUSH PRIVILEGES;
EOF
  print_env
}

stop() {
  if [[ -f "$dir/mysqld.pid" ]] && kill -0 "$(cat "$dir/mysqld.pid")" 2>/dev/null; then
    local pid
    pid="$(cat "$dir/mysqld.pid")"
    root_sql -e 'SHUTDOWN' >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
      ((SECONDS > deadline)) && { kill -9 "$pid" 2>/dev/null || true; break; }
      sleep 0.2
    done
    log "stopped"
  fi
}

# A crash: SIGKILL, then wait (bounded) until the process is gone so a start can take its files.
kill9() {
  if [[ -f "$dir/mysqld.pid" ]] && kill -0 "$(cat "$dir/mysqld.pid")" 2>/dev/null; then
    local pid
    pid="$(cat "$dir/mysqld.pid")"
    kill -9 "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS <= deadline)); do sleep 0.05; done
    log "killed"
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  kill) kill9 ;;
  env) running || { log "not running (scripts/mariadb.sh start)"; exit 1; }; print_env ;;
  sql) root_sql "$@" ;;
  *) echo "usage: mariadb.sh start|stop|kill|env|sql" >&2; exit 2 ;;
esac

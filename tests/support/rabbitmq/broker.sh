#!/usr/bin/env bash
# A private RabbitMQ 3.10 with the AMQP 1.0 plugin for the queue-worker tests and benchmark:
# loopback only, free ports, every file under DIR, no systemd, nothing shared with a system
# broker. Queues come from a definitions file loaded at boot (durable quorum queues; each lane
# NAME has NAME.requests with a dead-letter queue NAME.dlq and a delivery limit, NAME.results and
# NAME.replies), because AMQP 1.0 on 3.10 cannot declare them and a sender to a missing queue
# is silently dropped.
#
#   broker.sh start DIR [LANE...]   start with empty queues and wait until ready; writes
#                                   DIR/amqp_port. Default lanes: lane0..lane15
#   broker.sh restart DIR [LANE...] stop and start again with the same ports and data (durable
#                                   queues keep their messages)
#   broker.sh stop DIR              stop the broker and its epmd (safe when not running)
#
# Users: guest/guest (loopback) and refinery/secret. Exits non-zero with the log tail when the
# broker does not come up within 90 s.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: broker.sh start|restart|stop DIR [LANE...]" >&2; exit 2; }
shift 2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_broker() {
  if [ -f "$dir/server.pid" ]; then
    local pid
    pid=$(cat "$dir/server.pid")
    # The script's process group holds the Erlang VM and its helpers.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$dir/server.pid"
  fi
  if [ -f "$dir/epmd.pid" ]; then
    kill -KILL -- "-$(cat "$dir/epmd.pid")" 2>/dev/null || kill -KILL "$(cat "$dir/epmd.pid")" 2>/dev/null || true
    rm -f "$dir/epmd.pid"
  fi
}

if [ "$cmd" = stop ]; then
  stop_broker
  exit 0
fi
case "$cmd" in
  start) ;;
  restart) ;;
  *) echo "broker.sh: unknown command $cmd" >&2; exit 2 ;;
esac
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
  { echo "broker.sh: rabbitmq-server is not installed (tools/setup.sh --tests installs it)" >&2; exit 1; }
stop_broker
rm -f "$dir/amqp_port"
[ "$cmd" = restart ] || rm -rf "$dir/mnesia"

# Ports are chosen once per DIR, so a restart keeps them (clients reconnect to the same place).
if [ ! -f "$dir/ports" ]; then
  echo "$(free_port) $(free_port) $(free_port)" > "$dir/ports"
fi
read -r amqp_port dist_port epmd_port < "$dir/ports"

lanes=("$@")
if ((${#lanes[@]} == 0)); then
  for i in $(seq 0 15); do lanes+=("lane$i"); done
fi
mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
if [ ! -f "$dir/home/.erlang.cookie" ]; then
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/home/.erlang.cookie"
  chmod 400 "$dir/home/.erlang.cookie"
fi
echo '[rabbitmq_amqp1_0].' > "$dir/enabled_plugins"
cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$amqp_port
loopback_users = none
load_definitions = $dir/definitions.json
CONF
{
  echo '{"rabbit_version":"3.10.8","vhosts":[{"name":"/"}],'
  echo ' "users":[{"name":"guest","password":"guest","tags":"administrator"},'
  echo '          {"name":"refinery","password":"secret","tags":""}],'
  echo ' "permissions":[{"user":"guest","vhost":"/","configure":".*","write":".*","read":".*"},'
  echo '                {"user":"refinery","vhost":"/","configure":".*","write":".*","read":".*"}],'
  echo ' "queues":['
  sep=""
  for lane in "${lanes[@]}"; do
    q='"vhost":"/","durable":true,"auto_delete":false'
    printf '%s{"name":"%s.requests",%s,"arguments":{"x-queue-type":"quorum","x-delivery-limit":4,"x-dead-letter-exchange":"","x-dead-letter-routing-key":"%s.dlq"}}' "$sep" "$lane" "$q" "$lane"
    sep=","
    for tail in dlq results replies; do
      printf ',{"name":"%s.%s",%s,"arguments":{"x-queue-type":"quorum"}}' "$lane" "$tail" "$q"
    done
    echo
  done
  echo ']}'
} > "$dir/definitions.json"

# The node name's host must resolve without /etc/hosts (a debootstrap root has none): Erlang's
# own resolver gets the loopback entry from an inetrc file, so nothing outside DIR is touched.
cat > "$dir/inetrc" <<'INETRC'
{host, {127,0,0,1}, ["localhost"]}.
{lookup, [file, native]}.
INETRC
export ERL_INETRC=$dir/inetrc
export HOME=$dir/home
export RABBITMQ_NODENAME=refinery-test@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$amqp_port
export RABBITMQ_DIST_PORT=$dist_port
export ERL_EPMD_PORT=$epmd_port
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf
export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
export RABBITMQ_MNESIA_BASE=$dir/mnesia
export RABBITMQ_LOG_BASE=$dir/log
export RABBITMQ_LOGS=$dir/log/broker.log
export RABBITMQ_PID_FILE=$dir/mnesia/broker.pid
export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
[ -f "$dir/advanced.config" ] || echo '[].' > "$dir/advanced.config"

# All three std streams redirected: ctest waits for any child still holding its pipes.
setsid epmd -address 127.0.0.1 -port "$epmd_port" </dev/null >"$dir/log/epmd.out" 2>&1 &
echo $! > "$dir/epmd.pid"
: > "$dir/log/broker.log"
setsid /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$dir/log/server.out" 2>&1 &
echo $! > "$dir/server.pid"

for _ in $(seq 1 900); do
  if grep -q "Server startup complete" "$dir/log/broker.log" "$dir/log/server.out" 2>/dev/null; then
    echo "$amqp_port" > "$dir/amqp_port"
    exit 0
  fi
  if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then break; fi
  sleep 0.1
done
echo "broker.sh: RabbitMQ did not start (port $amqp_port); log tail:" >&2
tail -n 30 "$dir/log/broker.log" "$dir/log/server.out" >&2 || true
stop_broker
exit 1

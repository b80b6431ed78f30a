#!/bin/sh
# The Procfile's `driver-ruby` entry. The Ruby driver is optional: compute uses the TypeScript
# driver unless AGORA_COMPUTE_DRIVER names the Ruby one. On a machine without Debian's ruby,
# ruby-ffi-rzmq and ruby-msgpack this says so and stays out of the way until it is stopped,
# so `npm start` (or foreman) keeps the rest of the mesh running; it fails instead when
# compute has been told to use it.
ruby=${RUBY:-/usr/bin/ruby}
if "$ruby" -e 'require "ffi-rzmq"; require "msgpack"' >/dev/null 2>&1; then
  exec "$ruby" "$(dirname "$0")/driver.rb"
fi
need="it needs Debian's ruby, ruby-ffi-rzmq and ruby-msgpack (apt-get install ruby ruby-ffi-rzmq ruby-msgpack)"
if [ "${AGORA_COMPUTE_DRIVER:-}" = "${AGORA_RUBY_DRIVER_SERVICE:-driver.ruby}" ]; then
  echo "driver-ruby: cannot start: $need, and AGORA_COMPUTE_DRIVER names it" >&2
  exit 1
fi
# The trap comes before the line that tells the launcher (or a test) this entry is up.
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; exit 0' TERM INT
echo "driver-ruby: not started: $need; compute uses ${AGORA_COMPUTE_DRIVER:-driver.local}" >&2
while :; do
  sleep 3600 </dev/null >/dev/null 2>&1 &
  pid=$!
  wait "$pid"
done

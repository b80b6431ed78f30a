#!/bin/sh
# A client of the legacy messaging API (docs/API-LEGACY.md) with plain curl, as a shell
# user would write it: `curl -d` sends the JSON with curl's default Content-Type
# (application/x-www-form-urlencoded).
#
# Usage: legacy-curl.sh BASE_URL USERNAME CHANNEL
# Prints one line per call, "<step> <the server's answer>", so the caller can check every
# body byte for byte. Exits non-zero if curl fails or logon answers no key.
set -eu
BASE=${1:?usage: legacy-curl.sh BASE_URL USERNAME CHANNEL}
USER_NAME=${2:?username}
CHANNEL=${3:?channel}

call() { # step path json
  answer=$(curl -sS --max-time 10 -d "$3" "$BASE$2")
  printf '%s %s\n' "$1" "$answer"
}

call logon /logon "{\"username\":\"$USER_NAME\",\"password\":\"curl-secret\"}"
KEY=$(printf '%s' "$answer" | sed -n 's/^{"status":true,"data":\([0-9][0-9]*\)}$/\1/p')
[ -n "$KEY" ] || { echo "no session key in: $answer" >&2; exit 1; }
echo "key $KEY"
call create /create "{\"sesskey\":$KEY,\"channel\":\"$CHANNEL\"}"
call list /list "{\"sesskey\":$KEY}"
call post /post "{\"sesskey\":$KEY,\"channel\":\"$CHANNEL\",\"message\":\"hello from curl\"}"
call post /post "{\"sesskey\":$KEY,\"channel\":\"$CHANNEL\",\"message\":\"second\"}"
call lastmessage /lastmessage "{\"sesskey\":$KEY,\"channel\":\"$CHANNEL\"}"
call retrieve /retrieve "{\"sesskey\":$KEY,\"channel\":\"$CHANNEL\",\"first\":1,\"last\":2}"
call retrieve-empty /retrieve "{\"sesskey\":$KEY,\"channel\":\"$CHANNEL\",\"first\":2,\"last\":1}"
call bad-json /list "{\"sesskey\":$KEY"
call unknown-channel /post "{\"sesskey\":$KEY,\"channel\":\"no-such-channel\",\"message\":\"x\"}"
call logoff /logoff "{\"sesskey\":$KEY}"
call after-logoff /list "{\"sesskey\":$KEY}"

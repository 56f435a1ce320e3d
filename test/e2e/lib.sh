# Shared by the WSO2 IS curl walkthroughs (wso2-sequence.sh, wso2-groups.sh): sourced, never run on its own.
# Sets BASE, AUTH and OUT (the last answer's body, removed on exit) and the helpers below.
# shellcheck shell=bash

BASE="${SCIM_BASE:-http://127.0.0.1:8080/scim/v2}"
AUTH="${SCIM_USER:-wso2}:${SCIM_PASSWORD:-scimforce-demo-password}"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; printf 'last body: %s\n' "$(cat "$OUT")" >&2; exit 1; }

# WSO2's client: Basic auth, User-Agent wso2/scim2/client, Accept */*; POST/PUT/PATCH with application/scim+json,
# GET and DELETE with Content-Type application/json and no body.
call() { # method url [body] -> prints status, body in $OUT
  local method="$1" url="$2" body="${3:-}"
  local args=(-sS -o "$OUT" -w '%{http_code}' -X "$method" -u "$AUTH" -H 'User-Agent: wso2/scim2/client')
  if [ -n "$body" ]; then
    args+=(-H 'Accept: */*' -H 'Content-Type: application/scim+json' --data "$body")
  else
    args+=(-H 'Content-Type: application/json')
  fi
  curl "${args[@]}" "$url"
}
expect_status() { [ "$1" = "$2" ] || fail "expected HTTP $2, got $1"; }
expect_json() { # jq-expression expected-value
  local got; got="$(jq -r "$1" "$OUT")"
  [ "$got" = "$2" ] || fail "expected $1 = '$2', got '$got'"
}
enc() { jq -rn --arg v "$1" '$v|@uri'; }
# The connector never stores remote ids: it looks a user up before every update or delete (unquoted value,
# capitalised Eq, startIndex=1&count=1).
user_lookup() { # userName -> status; body in $OUT
  call GET "$BASE/Users?filter=userName%20Eq%20$(enc "$1")&startIndex=1&count=1"
}

#!/usr/bin/env bash
# Generates the TLS test fixtures in test/fixtures/tls/ ONCE (they are committed): a CA, a server
# certificate for 127.0.0.1 and localhost, and a client certificate (for mutual TLS), all signed by
# the CA, EC P-256, valid for 100 years. Also a second, unrelated CA ("other-ca") whose client
# certificate the server must refuse. Test fixtures only: never use these keys for anything else.
# Rerunning replaces every file.
set -euo pipefail
cd "$(dirname "$0")/.."
out=test/fixtures/tls
mkdir -p "$out"
cd "$out"
days=36500
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days "$days" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem"
}

leaf() { # name subject ca extfile-content
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$tmp/$1.csr"
  printf '%b' "$4" > "$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -sha256 \
    -days "$days" -extfile "$tmp/$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "ORLY test CA"
leaf server "orly-db test server" ca \
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
leaf client "orly test relay" ca \
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
ca other-ca "Unrelated test CA"
leaf other-client "unrelated client" other-ca \
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
# The CA keys are not needed by the tests: do not keep them (rerun this script to re-sign).
rm -f ./*.srl ca.key other-ca.key
echo "generated in $out: $(ls | tr '\n' ' ')"

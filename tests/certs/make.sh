#!/usr/bin/env bash
# Makes the test CA and a leaf certificate for localhost / 127.0.0.1 (valid 100 years).
set -euo pipefail
cd "$(dirname "$0")"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 36500 \
  -subj "/CN=anyevent-handle test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
  -subj "/CN=localhost" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' > leaf.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 36500 -extfile leaf.ext 2>/dev/null
# A second, unrelated CA for "wrong CA" tests.
openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 36500 \
  -subj "/CN=unrelated CA" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
rm -f server.csr leaf.ext ca.srl ca.key other-ca.key

#!/usr/bin/env bash
# Generates development TLS material into DIR (default ./dev-certs):
#   ca.pem / ca.key          a development certificate authority (trust this on clients)
#   server.pem / server.key  a server certificate for 127.0.0.1 and localhost, signed by the CA
# For development and tests only: never use these in production, never commit them.
# Usage: tools/gen-test-certs.sh [DIR] [DAYS]
set -euo pipefail

dir=${1:-dev-certs}
days=${2:-30}
mkdir -p "$dir"
cd "$dir"

# The CA: EC P-256, allowed to sign certificates.
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout ca.key -out ca.pem -days "$days" -subj "/CN=actorsync development CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null

# The server key and a certificate for 127.0.0.1 and localhost.
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
cat > server.ext <<'EXT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days "$days" -extfile server.ext 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
echo "generated in $(pwd): ca.pem ca.key server.pem server.key"

#!/usr/bin/env bash
# Is terra-mock's S3 endpoint as fast as s3s-fs 0.14.1, the fast local S3 server the upload
# bench could also use? Uploads the bench flight (400 x 8 MiB) with s5cmd and with
# terra-store into each server, interleaved, 4 rounds (each server first in two), and prints MiB/s. Run
# `cargo xtask bench upload` once first: it makes the flight, builds the bench binary and
# installs s5cmd. Needs about 7 GiB free under $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/target
s5cmd=$root/xtask/bench-venv/bin/s5cmd
flight=$root/bench-upload/flight-400x8MiB
child=$(ls -t "$root"/release/deps/upload-* | grep -v '\.d$' | head -1)
fs_bin=$root/xtask/s3s-fs/bin/s3s-fs
[ -x "$fs_bin" ] || cargo install s3s-fs --version 0.14.1 --features binary --locked --root "$root/xtask/s3s-fs"
cargo build -q --release -p terra-cli
work=$(mktemp -d)
fs="" mock=""
cleanup() {
  [ -z "$fs" ] || kill "$fs" 2>/dev/null || true
  [ -z "$mock" ] || { kill "$mock" 2>/dev/null && wait "$mock"; } || true
  rm -rf "$work"
}
trap cleanup EXIT
mb() { python3 -c "print(f'$1 {3200 / ($3 - $2):.1f} MiB/s')"; }
run() {
  local name=$1; shift
  sync # start each upload with no dirty pages of the previous one left to write back
  local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
  mb "$name" "$t0" "$t1"
}
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/mock.json" "$1"; }
for r in 1 2 3 4; do
  mkdir -p "$work/fs/bkt"
  "$fs_bin" --host 127.0.0.1 --port 9101 --access-key AKFS --secret-key SKFS "$work/fs" >/dev/null 2>&1 &
  fs=$!
  # A fresh mock per round; SIGTERM at the end of the round removes what it stored.
  "$root/release/terra" mock serve --addr 127.0.0.1:9102 --token-lifetime 86400 >/dev/null 2>&1 &
  mock=$!
  sleep 1
  DJI_APP_KEY=terra-mock-ak DJI_SECRET_KEY=terra-mock-sk \
    "$root/release/terra" --endpoint http://127.0.0.1:9102 token --json >"$work/mock.json"
  python3 - "$work" <<'PY'
import json, sys
t = json.load(open(sys.argv[1] + "/mock.json"))
t.update(accessKeyID="AKFS", secretAccessKey="SKFS", sessionToken="unused",
         cloudBucketName="bkt", storePath="{fileName}")
json.dump(t, open(sys.argv[1] + "/fs.json", "w"))
PY
  bucket=$(field cloudBucketName)
  prefix=$(field storePath); prefix=${prefix%\{fileName\}}
  s5_fs() {
    AWS_ACCESS_KEY_ID=AKFS AWS_SECRET_ACCESS_KEY=SKFS AWS_REGION=us-east-1 \
      run "round $r s5cmd -> s3s-fs" "$s5cmd" --endpoint-url http://127.0.0.1:9101 cp "$flight/*" "s3://bkt/s5/"
  }
  s5_mock() {
    AWS_ACCESS_KEY_ID=$(field accessKeyID) AWS_SECRET_ACCESS_KEY=$(field secretAccessKey) \
    AWS_SESSION_TOKEN=$(field sessionToken) AWS_REGION=$(field region) \
      run "round $r s5cmd -> terra-mock" "$s5cmd" --endpoint-url http://127.0.0.1:9102 cp "$flight/*" "s3://$bucket/${prefix}s5/"
  }
  ts_fs() { run "round $r terra-store -> s3s-fs" "$child" --child "$flight" http://127.0.0.1:9101 "$work/fs.json" "ts/"; }
  ts_mock() { run "round $r terra-store -> terra-mock" "$child" --child "$flight" http://127.0.0.1:9102 "$work/mock.json" "${prefix}ts/"; }
  # Which server goes first alternates, so that neither always runs on a warmer disk.
  if [ $((r % 2)) = 1 ]; then s5_fs; s5_mock; ts_fs; ts_mock; else s5_mock; s5_fs; ts_mock; ts_fs; fi
  echo "round $r: $(find "$work/fs/bkt" -type f | wc -l) objects in s3s-fs"
  kill "$fs" "$mock"; wait "$mock" || true; fs="" mock=""
  rm -rf "${work:?}/fs"
done

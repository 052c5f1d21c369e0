#!/usr/bin/env bash
# A TerraAPI flow the way a quick-start script does it: the host written in, the gateway
# signature with `openssl dgst`, curl for every call, OSS uploads signed by hand (V1).
# Run unmodified against terra-mock's proxy with nothing but the environment its banner
# prints (HTTPS_PROXY, CURL_CA_BUNDLE, ...). APP_KEY and SECRET_KEY name an OSS account.
set -euo pipefail

HOST=https://openapi-cn.dji.com
APP_KEY=${APP_KEY:?}
SECRET_KEY=${SECRET_KEY:?}
PHOTOS=${PHOTOS:?a folder of photos}

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d" + sys.argv[1]))' "$1"; }

# call METHOD PATH [BODY]: a signed TerraAPI call; prints the response body.
call() {
  local method=$1 target="/terra-rescon-be/v2$2" body=${3:-}
  local date digest signing signature
  date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
  digest="SHA-256=$(printf '%s' "$body" | openssl dgst -sha256 -binary | base64)"
  signing=$(printf 'date: %s\n@request-target: %s %s\ndigest: %s' \
    "$date" "$(echo "$method" | tr '[:upper:]' '[:lower:]')" "$target" "$digest")
  signature=$(printf '%s' "$signing" | openssl dgst -sha256 -hmac "$SECRET_KEY" -binary | base64)
  curl -sS --fail-with-body -X "$method" "$HOST$target" \
    -H "Date: $date" -H "Digest: $digest" \
    -H "Authorization: hmac username=\"$APP_KEY\", algorithm=\"hmac-sha256\", headers=\"date @request-target digest\", signature=\"$signature\"" \
    -H 'Content-Type: application/json;charset=UTF-8' \
    ${body:+--data-binary "$body"}
}

ok() { [ "$(echo "$1" | json '["result"]["code"]')" = 0 ] || { echo "failed: $1" >&2; exit 1; }; }

# 1. STS credentials for the bucket.
token=$(call POST /store/obtain_token); ok "$token"
AK=$(echo "$token" | json '["data"]["accessKeyID"]')
SK=$(echo "$token" | json '["data"]["secretAccessKey"]')
STS=$(echo "$token" | json '["data"]["sessionToken"]')
BUCKET=$(echo "$token" | json '["data"]["cloudBucketName"]')
REGION=$(echo "$token" | json '["data"]["region"]')
STORE=$(echo "$token" | json '["data"]["storePath"]')
CALLBACK=$(echo "$token" | json '["data"]["callbackParam"]')

# 2. Upload every photo to OSS (V1 signature), at https://<bucket>.<region>.aliyuncs.com.
files=""
for photo in "$PHOTOS"/*; do
  name=$(basename "$photo")
  key=${STORE/\{fileName\}/$name}
  date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
  sts="PUT\n\nimage/jpeg\n$date\nx-oss-security-token:$STS\n/$BUCKET/$key"
  sig=$(printf "$sts" | openssl dgst -sha1 -hmac "$SK" -binary | base64)
  etag=$(curl -sS --fail-with-body -X PUT "https://$BUCKET.$REGION.aliyuncs.com/$key" \
    -H "Date: $date" -H "Content-Type: image/jpeg" -H "x-oss-security-token: $STS" \
    -H "Authorization: OSS $AK:$sig" --data-binary "@$photo" -D - -o /dev/null \
    | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')
  files="$files{\"name\":\"$name\",\"etag\":$etag,\"checksum\":$etag},"
done
files="[${files%,}]"

# 3. A resource, the callback, a job.
res=$(call POST /resources '{"name":"quick start","type":"map"}'); ok "$res"
RESOURCE=$(echo "$res" | json '["data"]["uuid"]')
cb=$(call POST /store/upload_callback "{\"callbackParam\":\"$CALLBACK\",\"resourceUUID\":\"$RESOURCE\",\"files\":$files}"); ok "$cb"
job=$(call POST /jobs '{"name":"quick start job"}'); ok "$job"
JOB=$(echo "$job" | json '["data"]["uuid"]')
params='{\"parameter\":{\"map_mode\":1,\"quality_level\":3}}'
st=$(call POST "/jobs/$JOB/start" "{\"type\":14,\"resourceUuid\":\"$RESOURCE\",\"parameters\":\"$params\"}"); ok "$st"

# 4. Wait, then download the first output file by its link.
for _ in $(seq 1 300); do
  j=$(call GET "/jobs/$JOB"); ok "$j"
  status=$(echo "$j" | json '["data"]["status"]')
  [ "$status" = 6 ] && break
  [ "$status" = 5 ] || [ "$status" = 7 ] && { echo "job ended in status $status" >&2; exit 1; }
  sleep 0.2
done
[ "$status" = 6 ] || { echo "the job did not finish" >&2; exit 1; }
OUT=$(echo "$j" | json '["data"]["outputResourceUuid"]')
detail=$(call GET "/resources/$OUT"); ok "$detail"
FILE=$(echo "$detail" | json '["data"]["fileUuids"][0]')
f=$(call GET "/files/$FILE"); ok "$f"
URL=$(echo "$f" | json '["data"]["url"]')
bytes=$(curl -sS --fail-with-body "$URL" | wc -c)
[ "$bytes" -gt 0 ] || { echo "empty download" >&2; exit 1; }
echo "quick start: $(echo "$files" | grep -o '"name"' | wc -l) photos, job $JOB finished, $bytes bytes downloaded from $URL"

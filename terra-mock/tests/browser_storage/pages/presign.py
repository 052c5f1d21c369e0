"""Presigned links as an application's backend makes them with boto3, for a page to use:
a PUT URL (`generate_presigned_url`) and a POST form (`generate_presigned_post`).

Reads one JSON object on stdin (endpoint, region, bucket, credentials, keys, redirect)
and prints {"put_url": ..., "post": {"url": ..., "fields": {...}}}.
"""

import json
import sys

import boto3
from botocore.config import Config

args = json.load(sys.stdin)
s3 = boto3.client(
    "s3",
    endpoint_url=args["endpoint"],
    region_name=args["region"],
    aws_access_key_id=args["access_key"],
    aws_secret_access_key=args["secret_key"],
    aws_session_token=args["session_token"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
)
put_url = s3.generate_presigned_url(
    "put_object",
    Params={"Bucket": args["bucket"], "Key": args["put_key"]},
    ExpiresIn=600,
)
post = s3.generate_presigned_post(
    Bucket=args["bucket"],
    Key=args["post_key"],
    Fields={"success_action_redirect": args["redirect"]},
    Conditions=[
        {"success_action_redirect": args["redirect"]},
        ["content-length-range", 1, 10 * 1024 * 1024],
    ],
    ExpiresIn=600,
)
print(json.dumps({"put_url": put_url, "post": post}))

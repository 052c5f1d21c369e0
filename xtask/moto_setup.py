"""Prepares moto_server (auth mode) for terra-store's conformance tests.

moto enforces authentication after INITIAL_NO_AUTH_ACTION_COUNT requests. Those first
requests create the bucket, a role with an S3 policy, and assume that role --count times;
each AssumeRole yields real session credentials (ASIA key, secret, token) that moto then
checks on every S3 request.
"""
import argparse
import json

import boto3

parser = argparse.ArgumentParser()
parser.add_argument("--endpoint", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--count", type=int, default=12)
parser.add_argument("--bucket", default="terra-moto")
args = parser.parse_args()

kw = dict(endpoint_url=args.endpoint, region_name="us-east-1",
          aws_access_key_id="setup", aws_secret_access_key="setup")
boto3.client("s3", **kw).create_bucket(Bucket=args.bucket)
iam = boto3.client("iam", **kw)
role = iam.create_role(
    RoleName="terra-upload",
    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
)["Role"]["Arn"]
iam.put_role_policy(
    RoleName="terra-upload", PolicyName="s3",
    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
)
sts = boto3.client("sts", **kw)
creds = []
for i in range(args.count):
    c = sts.assume_role(RoleArn=role, RoleSessionName=f"terra-{i}")["Credentials"]
    creds.append({k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")})
with open(args.out, "w") as f:
    json.dump({"bucket": args.bucket, "credentials": creds}, f)
print(f"moto ready: bucket {args.bucket}, {len(creds)} role sessions")

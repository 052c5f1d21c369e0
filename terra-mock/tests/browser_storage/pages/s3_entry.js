// The AWS SDK for JavaScript v3 as a page bundles it (esbuild, for the browser): the
// client, the commands the test page uses and the multipart helper.
import {
  S3Client,
  PutObjectCommand,
  ListObjectsV2Command,
  GetObjectCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

window.S3Kit = { S3Client, PutObjectCommand, ListObjectsV2Command, GetObjectCommand, Upload };

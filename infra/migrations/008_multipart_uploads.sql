-- A large input is uploaded in parts (OSS multipart): the row keeps the store's UploadId and
-- the part size of the plan, so GET /v1/uploads/{id} can list what the store holds and
-- presign the remaining parts again. Both are NULL for a file sent in one PUT.
ALTER TABLE uploads
  ADD COLUMN store_upload_id VARCHAR(128) NULL,
  ADD COLUMN part_size       BIGINT       NULL;

#!/usr/bin/env bash
# LocalStack "ready" hook (the Docker image runs /etc/localstack/init/ready.d/*.sh once S3 and SQS
# are up; localstack/start.sh does too with LOCALSTACK_INIT_HOOKS=1): creates the default config's
# (mailbag.config.json) resources for gateway GW1, named as core/names.ts names them
# (`${prefix}-${gatewayId.toLowerCase()}`), with the attributes functions/local/provision.ts uses:
#   bucket  mailbag-gw1
#   FIFO    mailbag-gw1-route.fifo, mailbag-gw1-deliver.fifo
#           FifoQueue=true, ContentBasedDeduplication=false, VisibilityTimeout=60,
#           RedrivePolicy -> mailbag-gw1-{route,deliver}-dlq.fifo, maxReceiveCount 10 (config default)
#   DLQs    mailbag-gw1-route-dlq.fifo, mailbag-gw1-deliver-dlq.fifo (FifoQueue, no content dedup)
# The gateway creates the same on start, idempotently. SQS CreateQueue on an existing name only
# succeeds with identical attributes, so these must stay equal to provision.ts's (same JSON too).
# Idempotent. MAILBAG_PREFIX, MAILBAG_GATEWAYS (space-separated ids), MAILBAG_VISIBILITY_TIMEOUT
# and MAILBAG_MAX_RECEIVE_COUNT override the defaults for other configs.
set -euo pipefail

prefix="${MAILBAG_PREFIX:-mailbag}"
gateways="${MAILBAG_GATEWAYS:-GW1}"
visibility="${MAILBAG_VISIBILITY_TIMEOUT:-60}"
max_receive="${MAILBAG_MAX_RECEIVE_COUNT:-10}"

for gw in $gateways; do
  base="$prefix-$(printf '%s' "$gw" | tr '[:upper:]' '[:lower:]')"

  if awslocal s3api head-bucket --bucket "$base" >/dev/null 2>&1; then
    echo "mailbag: bucket $base exists"
  else
    awslocal s3api create-bucket --bucket "$base" >/dev/null
    echo "mailbag: created bucket $base"
  fi

  for role in route deliver; do
    dlq_url="$(awslocal sqs create-queue --queue-name "$base-$role-dlq.fifo" \
      --attributes FifoQueue=true,ContentBasedDeduplication=false \
      --query QueueUrl --output text)"
    dlq_arn="$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" \
      --attribute-names QueueArn --query Attributes.QueueArn --output text)"
    # RedrivePolicy exactly as JSON.stringify writes it in provision.ts (number, no spaces).
    redrive="{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":$max_receive}"
    awslocal sqs create-queue --queue-name "$base-$role.fifo" --attributes "{
      \"FifoQueue\": \"true\",
      \"ContentBasedDeduplication\": \"false\",
      \"VisibilityTimeout\": \"$visibility\",
      \"RedrivePolicy\": \"$redrive\"
    }" --query QueueUrl --output text >/dev/null
    echo "mailbag: queue $base-$role.fifo (dead letters: $base-$role-dlq.fifo after $max_receive receives)"
  done
done

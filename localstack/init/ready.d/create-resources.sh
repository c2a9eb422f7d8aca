#!/usr/bin/env bash
# LocalStack ready hook: the default config's (mailbag.config.json) gateway GW1 resources, named as
# core/names.ts names them: bucket mailbag-gw1, FIFO queues with explicit deduplication ids and
# dead-letter queues (maxReceiveCount 10, the config default).
set -euo pipefail
awslocal s3 mb s3://mailbag-gw1 || true
for role in route deliver; do
  dlq=$(awslocal sqs create-queue --queue-name "mailbag-gw1-$role-dlq.fifo" \
    --attributes FifoQueue=true,ContentBasedDeduplication=false --query QueueUrl --output text)
  arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq" --attribute-names QueueArn --query Attributes.QueueArn --output text)
  awslocal sqs create-queue --queue-name "mailbag-gw1-$role.fifo" --attributes "{
    \"FifoQueue\": \"true\", \"ContentBasedDeduplication\": \"false\", \"VisibilityTimeout\": \"60\",
    \"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$arn\\\",\\\"maxReceiveCount\\\":10}\"}" >/dev/null
done
echo "mailbag: created bucket mailbag-gw1 and queues mailbag-gw1-{route,deliver}[-dlq].fifo"

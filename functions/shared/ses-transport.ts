/**
 * Amazon SES as the smart host (SendRawEmail). The SES API takes the whole message in one
 * request, so this transport is the one place a body is held in memory: it reads at most
 * SES's own limit of 10 MB (https://docs.aws.amazon.com/ses/latest/dg/quotas.html) and refuses
 * larger messages for good (messageTooLarge) before buffering them. Use an SMTP smart host (SES's SMTP
 * interface works too) to relay larger mail as a stream.
 */

import type { Readable } from "node:stream";
import { SESClient, SendRawEmailCommand } from "@aws-sdk/client-ses";
import {
  BackendUnavailableError,
  MessageTooLargeError,
  okReply,
  smartHostRefused,
} from "../../core/errors.ts";
import type { SmartHostTransport } from "../../core/ports.ts";
import { type AwsSettings, clientOptions } from "./aws.ts";

export const SES_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

/** `maxBytes`: SES's limit; other values only for `npm run bench:memory` against an emulator. */
export function sesTransport(
  settings: AwsSettings,
  configurationSet?: string,
  maxBytes = SES_MAX_MESSAGE_BYTES,
): SmartHostTransport {
  const ses = new SESClient(clientOptions(settings));
  return {
    async send(from, to, body, size) {
      if (size > maxBytes) {
        body.destroy();
        throw new MessageTooLargeError(maxBytes);
      }
      const data = await readAll(body, maxBytes);
      try {
        const res = await ses.send(
          new SendRawEmailCommand({
            Source: from || undefined,
            Destinations: [...to],
            RawMessage: { Data: data },
            ConfigurationSetName: configurationSet,
          }),
        );
        return {
          accepted: [...to],
          refused: [],
          reply: okReply(`Ok: SES message id ${res.MessageId}`),
          remoteMta: `email.${settings.region}.amazonaws.com`,
          // SES takes no DSN parameters: NOTIFY=SUCCESS gets a "relayed" report from us.
          dsn: false,
        };
      } catch (err) {
        const e = err as {
          name?: string;
          message?: string;
          $metadata?: { httpStatusCode?: number };
        };
        const status = e.$metadata?.httpStatusCode ?? 0;
        // 4xx from the API (MessageRejected, MailFromDomainNotVerified...) will not succeed on retry.
        if (status >= 400 && status < 500 && e.name !== "ThrottlingException") {
          throw smartHostRefused(`SES ${e.name}: ${e.message}`);
        }
        throw new BackendUnavailableError(`SES unavailable: ${e.name}: ${e.message}`, {
          cause: err,
        });
      }
    },
  };
}

async function readAll(body: Readable, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      body.destroy();
      throw new MessageTooLargeError(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
